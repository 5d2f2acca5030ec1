"""GPT-2 byte-level BPE: our C tokenizer (through tests/analysis/text/tool_tokenize.c) against an
independent Python implementation on the same vocab.json + merges.txt.

The vocabulary is trained here (a small byte-level BPE, a few hundred merges, on the
text below), so the test needs no download. The oracle pre-tokenizes with the
`regex` module and the GPT-2 pattern, maps bytes through bytes_to_unicode and
applies the classic "merge the lowest-ranked pair everywhere, repeat" loop. Ids are
compared exactly: tokenization is discrete, so no tolerance applies."""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

import regex

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../lib"))
from gpt2_ref import B2U, PAT, apply_merge, pair_counts  # noqa: E402
from lbtest import BUILD, check, summary  # noqa: E402

TOOL = os.path.join(BUILD, "tools", "tool_tokenize")

TRAIN = """\
The quick brown fox jumps over the lazy dog. It's what they're saying: we've
known it, I'm sure, and you'll see they'd agree. Don't stop; won't stop!
Numbers: 12345, 3.14159, 2024-11-29, 1,000,000 and 42 again 42 42.
Français: élève, café, naïve, déjà vu, garçon. Deutsch: Straße, Größe, Fußball.
Ελληνικά: καλημέρα κόσμε, αλφάβητο. 日本語のテキストです。中文文本。한국어 텍스트.
Русский текст: привет, мир! Emoji 😀👍🏽 and symbols ©®™ → ← ∑ ∫.
    Indented code: def f(x): return x ** 2  # comment
\tTabs\tand  double  spaces   here.
the the the and and of of to to in in is is was was that that with with
attention attention matrix matrix low rank low rank linformer projection
"""




def to_alphabet(piece):
    return "".join(B2U[b] for b in piece.encode("utf-8"))


def train_bpe(text, n_merges):
    """Greedy byte-level BPE training: most frequent pair, ties by smallest pair."""
    words = {}
    for piece in PAT.findall(text):
        w = tuple(to_alphabet(piece))
        words[w] = words.get(w, 0) + 1
    merges = []
    for _ in range(n_merges):
        counts = pair_counts(words)
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        merges.append(best)
        words = apply_merge(words, best)
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for b in range(256):
        vocab[B2U[b]] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    vocab["<mask>"] = len(vocab)
    return vocab, merges


class Oracle:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ranks = {m: i for i, m in enumerate(merges)}

    def bpe(self, word):
        word = list(word)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = out
        return word

    def encode(self, text):
        ids = []
        for piece in PAT.findall(text):
            ids += [self.vocab[s] for s in self.bpe(to_alphabet(piece))]
        return ids


def write_records(path, items):
    with open(path, "wb") as f:
        for b in items:
            f.write(struct.pack("<I", len(b)) + b)


def tool(*args):
    return subprocess.run([TOOL] + [str(a) for a in args], capture_output=True, timeout=60)


def run_lines(mode, files, items, tmp):
    rec = os.path.join(tmp, "records.bin")
    write_records(rec, items)
    r = tool(mode, *files, rec)
    lines = r.stdout.decode("utf-8", "replace").split("\n")[:-1]
    return r.returncode, lines


CASES = [
    "", "a", " ", "  ", "hello world", "Hello  world", "trailing spaces   ", "   leading",
    "it's", "It'S", "they're we've I'm you'll he'd don't", "'s't're've'm'll'd", "'", "''", "'x",
    "Don'T", "rock'n'roll", "12345", "3.14159", "a1b2c3", " 42", "x  42", "1,000,000",
    "!!!", "...?!", " !!", "a!b", "hello, world.", "(nested [brackets] {here})",
    "line1\nline2", "a\n\nb", "\n", "\n\n\n", "tab\there", "\t\tdouble tab", "mixed \t\n end",
    "\r\n", "space then newline \nx", "ends with newline\n", "  \n  x", " \u00a0x", "\u3000日本",
    "élève café naïve", "Straße ß", "Ελληνικά καλημέρα", "日本語のテキスト", "中文", "한국어",
    "Привет, мир!", "e\u0301", " \u0301x", "٣٤٥ ١٢", "²³ ½ Ⅻ", "x²", "😀", "👍🏽 ok", "a😀b",
    "©®™ → ∑", "\u200bzero width", "\u2028sep", "ǅ title", "ʰmodifier", "ﬁ ligature",
    "The quick brown fox jumps over the lazy dog.", "low rank attention matrix",
    "\x00nul\x00", "\x7f\x1f\x1c control", "$100 & 50% off #tag @user",
    "=" * 200, "the" * 60, " " + "é" * 70, "1" * 100, " " * 100 + "x",  # past the word cache limit
]

ALPHABET = ["a", "b", "Z", "the", "é", "ß", "Ω", "日", "本", " ", " ", " ", "  ", "\t", "\n", "\r",
            "'", "'s", "'S", "'ll", "'re", "'ve", "'m", "'d", "'t", "1", "9", "٣", "²", "Ⅻ",
            "!", "?", ".", "...", "😀", "👍🏽", "\u00a0", "\u2003", "\u3000", "\u200b", "\u0301",
            "-", "_", "@", "#", "$", "\x00", "\x0b", "\x85", "ǅ"]


def main():
    if not os.path.exists(TOOL):
        check(False, f"{TOOL} not built")
        summary()
    tmp = tempfile.mkdtemp(prefix="lbtok")
    vocab, merges = train_bpe(TRAIN, 400)
    check(len(merges) >= 300, f"trained {len(merges)} merges")
    vpath, mpath = os.path.join(tmp, "vocab.json"), os.path.join(tmp, "merges.txt")
    with open(vpath, "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(mpath, "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    oracle = Oracle(vocab, merges)
    files = (vpath, mpath)

    r = tool("load", *files)
    check(r.returncode == 0 and r.stdout.startswith(b"ok gpt2-bpe"), f"load: {r.stdout!r} {r.stderr!r}")
    r = tool("special", *files, "<s>", "</s>", "<pad>", "<unk>", "<mask>", "[CLS]")
    want = [0, 2, 1, 3, vocab["<mask>"], -1]
    check(r.stdout.decode().split() == [str(x) for x in want], f"special ids {r.stdout!r} want {want}")

    # Every code point's class against the regex module's \p{L}, \p{N} and \s (both
    # follow the Unicode data; a newer regex release may add newly assigned letters).
    r = tool("classes")
    ref = bytearray(b"0" * 0x110000)
    every = "".join(map(chr, range(0x110000)))
    for pat, c in ((r"\p{L}", b"1"), (r"\p{N}", b"2"), (r"\s", b"3")):
        for mt in regex.finditer(pat, every):
            ref[mt.start()] = c[0]
    diff = [i for i in range(0x110000) if r.stdout[i:i + 1] != ref[i:i + 1]] if len(r.stdout) == 0x110000 else [-1]
    check(not diff, f"Unicode classes differ from regex at {len(diff)} code points, e.g. {diff[:5]}")

    # Named cases: pre-tokens and ids, one check each so a failure names its string.
    rng = random.Random(7)
    randoms = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 24))) for _ in range(3000)]
    texts = CASES + randoms
    lic = "/usr/share/common-licenses/GPL-3"
    if os.path.exists(lic):  # a longer real text when the machine has it
        with open(lic, encoding="utf-8") as f:
            texts.append(f.read())
    items = [t.encode("utf-8") for t in texts]
    rc, pre = run_lines("pretok", [], items, tmp)
    rc2, enc = run_lines("encode", files, items, tmp)
    rc3, dec = run_lines("decode", files, items, tmp)
    check(rc == 0 and rc2 == 0 and rc3 == 0 and len(pre) == len(enc) == len(dec) == len(texts),
          f"tool runs: rc {rc} {rc2} {rc3}, lines {len(pre)} {len(enc)} {len(dec)} of {len(texts)}")
    bad_pre = bad_enc = bad_dec = 0
    for i, t in enumerate(texts):
        want_pre = " ".join(str(len(p.encode("utf-8"))) for p in PAT.findall(t))
        want_ids = " ".join(map(str, oracle.encode(t)))
        got_pre = pre[i] if i < len(pre) else None
        got_ids = enc[i] if i < len(enc) else None
        ok = got_pre == want_pre and got_ids == want_ids
        ok_dec = i < len(dec) and dec[i] == t.encode("utf-8").hex()
        if i < len(CASES):
            check(ok, f"case {t!r}: pretok {got_pre!r} want {want_pre!r}; ids {got_ids!r} want {want_ids!r}")
            check(ok_dec, f"case {t!r}: decode(encode) round trip")
        else:
            if not ok and bad_pre + bad_enc < 5:
                print(f"random {t!r}: pretok {got_pre!r} want {want_pre!r}; ids {got_ids!r} want {want_ids!r}")
            bad_pre += got_pre != want_pre
            bad_enc += got_ids != want_ids
            bad_dec += not ok_dec
    check(bad_pre == 0, f"random strings: {bad_pre} of {len(texts) - len(CASES)} pre-tokenized differently")
    check(bad_enc == 0, f"random strings: {bad_enc} of {len(texts) - len(CASES)} encoded differently")
    check(bad_dec == 0, f"random strings: {bad_dec} decode(encode) round trips failed")

    # Invalid UTF-8: no oracle (Python refuses to decode it); each bad byte is its own
    # character, so the run must succeed, pieces must cover the input, and decoding
    # the ids must give the bytes back.
    invalid = [b"\xff", b"\x80abc", b"abc\xc3", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80 x",
               b"\xf4\x90\x80\x80", b"\xc0\xaf", b"a \xfe\xfe b", b"caf\xe9 ol\xe9", b"\xf0\x9f\x98"]
    invalid += [bytes(rng.randrange(256) for _ in range(rng.randint(1, 40))) for _ in range(300)]
    rc, pre = run_lines("pretok", [], invalid, tmp)
    rc2, dec = run_lines("decode", files, invalid, tmp)
    cover = all(sum(map(int, p.split())) == len(b) for p, b in zip(pre, invalid)) and len(pre) == len(invalid)
    check(rc == 0 and cover, "invalid UTF-8: pre-tokens cover every byte")
    check(rc2 == 0 and dec == [b.hex() for b in invalid], "invalid UTF-8: decode(encode) gives the bytes back")
    # A bad byte is class "other": it joins a punctuation run and a leading space.
    rc, pre = run_lines("pretok", [], [b"a \xff!b", b"\xffx"], tmp)
    check(pre == ["1 3 1", "1 1"], f"invalid byte as punctuation: {pre}")

    # Byte tokenizer: id = byte + offset.
    rc, out = run_lines("bytes", ["4"], [b"Az\x00\xff"], tmp)
    check(out == ["69 126 4 259"], f"byte tokenizer ids {out}")

    # Malformed files: a message naming the file (and line), exit 65, no crash.
    def bad(name, vtext, mtext, expect):
        v, m = os.path.join(tmp, "bad_vocab.json"), os.path.join(tmp, "bad_merges.txt")
        for p, text in ((v, vtext), (m, mtext)):
            if text is None:
                if os.path.exists(p):
                    os.remove(p)
            else:
                with open(p, "wb") as f:
                    f.write(text.encode("utf-8") if isinstance(text, str) else text)
        r = tool("load", v, m)
        out = r.stdout.decode("utf-8", "replace")
        check(r.returncode == 65 and all(e in out for e in expect),
              f"{name}: exit {r.returncode}, output {out!r}, want {expect}")

    good_v = json.dumps({"a": 0, "b": 1, "ab": 2})
    bad("missing vocab", None, "a b\n", ["bad_vocab.json", "cannot open"])
    bad("missing merges", good_v, None, ["bad_merges.txt", "cannot open"])
    bad("vocab not JSON", '{"a": 0,\n "b": }', "a b\n", ["bad_vocab.json", "line 2", "JSON"])
    bad("vocab not object", "[1, 2]", "a b\n", ["bad_vocab.json", "object"])
    bad("vocab empty", "{}", "", ["bad_vocab.json", "empty"])
    bad("id not integer", '{"a": 0.5}', "", ["bad_vocab.json", '"a"', "integer"])
    bad("id string", '{"a": "0"}', "", ["bad_vocab.json", '"a"', "integer"])
    bad("id negative", '{"a": -1}', "", ["bad_vocab.json", "integer"])
    bad("id absurd", '{"a": 1e12}', "", ["bad_vocab.json", "integer"])
    bad("duplicate id", '{"a": 0, "b": 0}', "", ["bad_vocab.json", "duplicate id 0"])
    bad("duplicate token", '{"a": 0, "a": 1}', "", ["bad_vocab.json", '"a"', "twice"])
    bad("merge one token", good_v, "#version: 0.2\na b\nab\n", ["bad_merges.txt", "line 3", "two tokens"])
    bad("merge three tokens", good_v, "a b ab\n", ["bad_merges.txt", "line 1"])
    bad("merge double space", good_v, "a  b\n", ["bad_merges.txt", "line 1"])
    bad("merge unknown left", good_v, "a b\nc b\n", ["bad_merges.txt", "line 2", "left token", "c b"])
    bad("merge unknown right", good_v, "a c\n", ["bad_merges.txt", "line 1", "right token"])
    bad("merge result missing", json.dumps({"a": 0, "b": 1}), "a b\n", ["line 1", "merged token"])
    bad("binary junk", b"\x00\xff\xfe{", b"\xff \xfe\n", ["bad_vocab.json"])
    r = tool("load", vpath, os.path.join(tmp, "nope.txt"))
    check(r.returncode == 65 and b"nope.txt" in r.stdout, "missing merges file named")

    # Duplicate merges take the later rank (GPT-2's dict(zip()) and HuggingFace agree),
    # and blank lines / CRLF endings are accepted.
    v = os.path.join(tmp, "v2.json")
    m = os.path.join(tmp, "m2.txt")
    with open(v, "w") as f:
        json.dump({"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4}, f)
    with open(m, "w") as f:
        f.write("a b\r\n\r\nb c\r\na b\r\n")
    rc, out = run_lines("encode", [v, m], [b"abc"], tmp)
    check(out == ["0 4"], f"duplicate merge takes the later rank: {out}")
    summary()


if __name__ == "__main__":
    main()
