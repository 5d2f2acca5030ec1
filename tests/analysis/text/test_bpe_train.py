"""`linbench bpe-train` against an independent Python BPE trainer on generated text.

The oracle pre-tokenizes with the `regex` module and the GPT-2 pattern, counts words,
and recounts every pair from scratch before each merge (no incremental updates), with
the same rules as analysis/text/lb_bpe_train.h: most frequent pair, ties to the
smallest (left, right) pair of strings, merge left to right without overlap, a
merge whose result already exists adds no vocabulary entry, stop at the vocabulary
size or below min_frequency. merges.txt and vocab.json must be identical byte for
byte (training is discrete: no tolerance). Then the result is loaded by our
tokenizer (tests/tool_tokenize) and must round-trip text, and bad input must give
a clear message, a non-zero exit and no output files."""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../lib"))
from gpt2_ref import B2U, PAT, apply_merge, pair_counts  # noqa: E402
from lbtest import BUILD, check, run, summary  # noqa: E402

TOOL = os.path.join(BUILD, "tools", "tool_tokenize")
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]




def oracle(texts, vocab_size, min_freq):
    """Returns (vocab.json text, merges.txt text)."""
    words = {}
    for text in texts:  # a pre-token never spans two files
        for piece in PAT.findall(text):
            w = tuple(B2U[b] for b in piece.encode("utf-8"))
            words[w] = words.get(w, 0) + 1
    tokens = sorted(B2U.values())  # byte tokens in code point order
    known = set(tokens)
    merges = []
    while len(tokens) < vocab_size - 5:
        counts = pair_counts(words)
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        if counts[best] < min_freq:
            break
        merges.append(best)
        new_tok = best[0] + best[1]
        if new_tok not in known:
            known.add(new_tok)
            tokens.append(new_tok)
        words = apply_merge(words, best)
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    for t in tokens:
        vocab[t] = len(vocab)
    vocab["<mask>"] = len(vocab)
    vj = json.dumps(vocab, ensure_ascii=False, separators=(",", ":")) + "\n"
    mt = "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)
    return vj, mt


def gen_text(rng, n_words, alphabet=None):
    """Random prose: frequent and rare words, contractions, numbers, punctuation,
    accents, CJK, emoji, quotes and backslashes, runs of spaces and blank lines."""
    if alphabet:
        return " ".join("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 7)))
                        for _ in range(n_words))
    common = "the of and to in is was that with attention matrix low rank projection".split()
    extra = ["it's", "we've", "they'll", "I'm", "don't", "café", "naïve", "Straße", "καλημέρα",
             "привет", "日本語", "😀👍🏽", '"quoted"', "back\\slash", "x**2", "3.14159", "2026",
             "aaaa", "abab", "--", "...", "(see", "also)", "{link}"]
    out = []
    for i in range(n_words):
        r = rng.random()
        if r < 0.6:
            w = rng.choice(common)
        elif r < 0.85:
            w = rng.choice(extra)
        else:
            w = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
        out.append(w)
        out.append(rng.choice([" "] * 12 + ["  ", "\n", "\n\n", ", ", ". ", "\t"]))
    return "".join(out)


def bpe_train(args):
    return run(["bpe-train"] + [str(a) for a in args], timeout=120)


def read(path, mode="r"):
    with open(path, mode, **({"encoding": "utf-8", "newline": ""} if mode == "r" else {})) as f:
        return f.read()


def compare(name, tmp, texts, vocab, minf, extra=()):
    files = []
    for i, t in enumerate(texts):
        p = os.path.join(tmp, f"{name}-{i}.txt")
        with open(p, "w", encoding="utf-8", newline="") as f:
            f.write(t)
        files.append(p)
    out = os.path.join(tmp, name)
    r = bpe_train(["--vocab-size", vocab, "--min-frequency", minf, "--out", out, *extra] + files)
    if not check(r.returncode == 0, f"{name}: exit {r.returncode}: {r.stderr}"):
        return None
    vj, mt = oracle(texts, vocab, minf)
    got_v, got_m = read(os.path.join(out, "vocab.json")), read(os.path.join(out, "merges.txt"))
    nm = mt.count("\n") - 1
    check(got_m == mt, f"{name}: merges.txt differs from the oracle ({got_m.count(chr(10)) - 1} vs {nm} merges)")
    check(got_v == vj, f"{name}: vocab.json differs from the oracle")
    v = json.loads(got_v)
    check(len(set(v.values())) == len(v) and sorted(v.values()) == list(range(len(v))),
          f"{name}: ids not 0..{len(v) - 1}")
    check([v[s] for s in SPECIALS] == [0, 1, 2, 3] and v["<mask>"] == len(v) - 1,
          f"{name}: special ids")
    return out


def tool(*args):
    return subprocess.run([TOOL] + [str(a) for a in args], capture_output=True, timeout=60)


def round_trip(name, tmp, out, items):
    vocab, merges = os.path.join(out, "vocab.json"), os.path.join(out, "merges.txt")
    r = tool("load", vocab, merges)
    check(r.returncode == 0 and r.stdout.startswith(b"ok gpt2-bpe"), f"{name}: load: {r.stdout!r}")
    rec = os.path.join(tmp, "records.bin")
    with open(rec, "wb") as f:
        for s in items:
            f.write(struct.pack("<I", len(s)) + s)
    r = tool("decode", vocab, merges, rec)
    lines = r.stdout.decode().split("\n")[: len(items)]
    ok = r.returncode == 0 and len(lines) == len(items) and all(
        bytes.fromhex(h) == s for h, s in zip(lines, items))
    check(ok, f"{name}: decode(encode(x)) != x")
    r = tool("encode", vocab, merges, rec)
    n_vocab = len(json.loads(read(vocab)))
    ids = [int(x) for line in r.stdout.decode().split("\n") for x in line.split()]
    check(r.returncode == 0 and ids and max(ids) < n_vocab - 1 and min(ids) >= 4,
          f"{name}: encode ids outside the byte/merge range")
    total = sum(len(s) for s in items)
    check(len(ids) < total, f"{name}: no compression ({len(ids)} tokens for {total} bytes)")


def refused(name, tmp, args, code, words):
    out = os.path.join(tmp, "refused-" + name)
    r = bpe_train(args + ["--out", out] if "--out" not in args else args)
    check(r.returncode == code, f"{name}: exit {r.returncode}, want {code}: {r.stderr.strip()}")
    check(all(w in r.stderr for w in words), f"{name}: message {r.stderr.strip()!r} lacks {words}")
    check(not os.path.exists(out) or not os.listdir(out), f"{name}: left output in {out}")


def main():
    if not os.path.exists(TOOL):
        check(False, f"{TOOL} not built")
        summary()
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        a, b = gen_text(rng, 3000), gen_text(rng, 1500)
        out = compare("prose", tmp, [a, b], 700, 2)
        if out:
            held = [gen_text(rng, 200).encode(), "naïve café — “quotes” ½ ①".encode(), b"",
                    b"\xff\xfe invalid \xc3", "  \n\n\t end  ".encode()]
            round_trip("prose", tmp, out, held)
            # determinism: a second run writes the same bytes
            r = bpe_train(["--vocab-size", 700, "--min-frequency", 2, "--out", out + "2",
                           os.path.join(tmp, "prose-0.txt"), os.path.join(tmp, "prose-1.txt")])
            check(r.returncode == 0 and all(
                read(os.path.join(out, f), "rb") == read(os.path.join(out + "2", f), "rb")
                for f in ("vocab.json", "merges.txt")), "same input, same files")
        # min_frequency 1 runs until the vocabulary is full
        compare("minf1", tmp, [gen_text(rng, 400)], 400, 1)
        # tiny alphabet: many ties and merges that re-spell an existing token
        out = compare("ab", tmp, [gen_text(rng, 600, "ab"), gen_text(rng, 300, "abc")], 600, 1)
        if out:
            nm = read(os.path.join(out, "merges.txt")).count("\n") - 1
            nv = len(json.loads(read(os.path.join(out, "vocab.json"))))
            print(f"ab: {nm} merges, {nv - 261} new tokens (duplicate spellings: {nm - (nv - 261)})")
            round_trip("ab", tmp, out, [b"abcabc abba", b"cab aab"])
        # --max-bytes: the same as training on the text cut after its last newline
        text = gen_text(rng, 800)
        cut = text.encode()[:3000]
        cut = cut[: cut.rfind(b"\n") + 1].decode()
        p = os.path.join(tmp, "full.txt")
        with open(p, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        o2 = os.path.join(tmp, "maxbytes")
        r = bpe_train(["--vocab-size", 500, "--max-bytes", 3000, "--out", o2, p])
        vj, mt = oracle([cut], 500, 2)
        check(r.returncode == 0 and read(os.path.join(o2, "merges.txt")) == mt and
              read(os.path.join(o2, "vocab.json")) == vj, f"--max-bytes: {r.stderr}")
        # bad input: clear message, non-zero exit (sysexits), no files
        empty = os.path.join(tmp, "empty.txt")
        open(empty, "w").close()
        refused("missing", tmp, ["--vocab-size", 300, os.path.join(tmp, "nope.txt")], 66,
                ["nope.txt", "cannot open"])
        refused("empty", tmp, ["--vocab-size", 300, empty], 65, ["empty"])
        refused("small", tmp, ["--vocab-size", 260, p], 64, ["--vocab-size", "260"])
        refused("absurd", tmp, ["--vocab-size", 10 ** 12, p], 64, ["--vocab-size"])
        refused("notnum", tmp, ["--vocab-size", "lots", p], 64, ["--vocab-size"])
        refused("minfreq", tmp, ["--vocab-size", 300, "--min-frequency", 0, p], 64,
                ["--min-frequency"])
        refused("nofile", tmp, ["--vocab-size", 300], 64, ["no input FILE"])
        refused("noout", tmp, ["--vocab-size", 300, "--out", "", p], 64, ["--out"])
        refused("novocab", tmp, [p], 64, ["--vocab-size"])
        # output folder that cannot be created: a file is in the way
        r = bpe_train(["--vocab-size", 300, "--out", os.path.join(p, "sub"), p])
        check(r.returncode != 0 and "sub" in r.stderr, f"unwritable --out: {r.returncode} {r.stderr}")
    summary()


if __name__ == "__main__":
    main()
