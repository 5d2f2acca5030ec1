"""WordPiece (analysis/text/wordpiece.c) against an independent Python implementation of
the same algorithm: BERT's basic tokenizer (clean, CJK spacing, whitespace split,
str.lower(), NFD minus Mn, punctuation split) and greedy longest-match-first pieces.
The oracle is written from the rules, with unicodedata and str.lower() (what the
reference BERT tokenizer calls); the C side uses tables generated from the same module.
Adversarial text: accents composed and decomposed, CJK, Hangul, Greek final sigma,
special casings, punctuation, control and format characters, separators, invalid
UTF-8, very long words, and random strings from every plane; six tokenizer settings.
Then the folder rules (tokenizer_config.json, a bad vocab.txt) and `linbench spectrum
--text` on a tiny BERT whose folder has vocab.txt."""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import unicodedata

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../lib"))
from lbtest import ROOT, BUILD, check, run, summary

TOOL = os.path.join(ROOT, BUILD, "tools", "tool_wordpiece")
tmp = tempfile.mkdtemp(prefix="lbwp_")


# ---- the oracle ----
def is_ws(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def is_control(c):
    return c not in "\t\n\r" and unicodedata.category(c)[0] == "C"


def is_punct(c):
    o = ord(c)
    return 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126 or \
        unicodedata.category(c)[0] == "P"


def is_cjk(o):
    return any(lo <= o <= hi for lo, hi in (
        (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


def basic(text, lower, strip, chinese):
    out = []
    for c in text:
        if ord(c) in (0, 0xFFFD) or is_control(c):
            continue
        c = " " if is_ws(c) else c
        out.append(" " + c + " " if chinese and is_cjk(ord(c)) else c)
    words = []
    for w in "".join(out).split():
        if lower:
            w = w.lower()
        if strip:
            w = "".join(c for c in unicodedata.normalize("NFD", w)
                        if unicodedata.category(c) != "Mn")
        cur = ""
        for c in w:
            if is_punct(c):
                words += [cur, c] if cur else [c]
                cur = ""
            else:
                cur += c
        if cur:
            words.append(cur)
    return words


def pieces(word, vocab, max_chars):
    if len(word) > max_chars:
        return ["[UNK]"]
    got, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            sub = ("##" if start else "") + word[start:end]
            if sub in vocab:
                got.append(sub)
                start = end
                break
        else:
            return ["[UNK]"]
    return got


def oracle_ids(data, vocab, lower, strip, chinese, max_chars):
    text = data.decode("utf-8", errors="replace")
    return [vocab[p] for w in basic(text, lower, strip, chinese)
            for p in pieces(w, vocab, max_chars)]


# ---- adversarial text ----
FIXED = [
    "Hello, World! Héllo wörld — naïve café, résumé; ÅNGSTRÖM Ångström.",
    "e\u0301te\u0301 (decomposed) vs été; Z\u0308\u0301 stacked marks a\u0328\u0301\u0323",
    "中文字符测试，你好世界。日本語のテキスト、カタカナ。한국어 텍스트 각",
    "ΟΔΟΣ Σ ΣΑΣ Σ. aΣ aΣb aΣ'b a'Σ ΑΣ\u0345 ΑΣ\u0301 Σ\u0301a ΌΣΟΣ",
    "İstanbul ıi ẞtraße ß ﬁnance ǅ ǈ ᾈ ΐ Ω K Å",
    "tab\there\nnew\rline\x0bvt\x0cff\x1cfs\x85nel\u2028ls\u2029ps end",
    "ctrl\x00nul\x07bel\x7fdel\u200bzwsp\u200dzwj\ufeffbom\ufffdrep\U000e0001tag",
    "punct!!??...;;::''\"\"(())[[]]{{}}<<>>@@##$$%%^^&&**--__++==||\\\\//~~``",
    "unicode punct «quotes» „low“ ‘single’ ¿qué? ¡sí! ‐‑‒–—― … ‰ § ¶ † ‡ • ※",
    "emoji 😀🎉👍🏽 👨‍👩‍👧 flags 🇫🇷 math 𝐀𝐁𝐂 𝔸 ①②③ ½ ² x²",
    "a" * 99 + " " + "b" * 100 + " " + "c" * 101 + " " + "é" * 150 + " " + "中" * 5,
    "unaffable unbelievable running runner ##un un## ##",
    "[CLS] [MASK] [SEP] [UNK] [PAD] <s> </s>",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ ｶﾀｶﾅ",
    "\u0e01\u0e34\u0e19 ภาษาไทย हिन्दी العربية עִבְרִית",
    "",
    "   \t\n  ",
    "x\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308\u0309y",
    "\u0f71\u0f72\u0f74 \U0001d165\U0001d16d\U0001d166 \u0345\u0300",
]
FIXED_BYTES = [s.encode() for s in FIXED] + [
    b"invalid \xff\xfe bytes \xc3 lone \xe2\x82 cut \xed\xa0\x80 surrogate \xf4\x90\x80\x80 big",
    b"\xc0\xaf overlong \xe0\x80\xaf mixed\xc3\xa9\xff\xe4\xb8\xad",
]


def random_text(rng):
    pools = [
        lambda: chr(rng.randint(0x20, 0x7E)),
        lambda: chr(rng.randint(0xA0, 0x24F)),
        lambda: chr(rng.randint(0x300, 0x36F)),
        lambda: chr(rng.randint(0x370, 0x3FF)),
        lambda: chr(rng.choice([0x3A3, 0x3C3, 0x3C2, 0x27, 0x2E, 0x345])),
        lambda: chr(rng.randint(0x4E00, 0x4E40)),
        lambda: chr(rng.randint(0xAC00, 0xD7A3)),
        lambda: chr(rng.randint(0x1E00, 0x1FFF)),
        lambda: chr(rng.randint(0x2000, 0x206F)),
        lambda: chr(rng.randint(0, 0x1F)),
        lambda: " ",
        lambda: chr(rng.choice([rng.randint(0x80, 0xD7FF), rng.randint(0xE000, 0x10FFFF)])),
    ]
    weights = [30, 10, 5, 6, 4, 4, 3, 4, 3, 2, 15, 5]
    return "".join(rng.choices(pools, weights)[0]() for _ in range(rng.randint(0, 80)))


rng = random.Random(12)
TEXTS = FIXED_BYTES + [random_text(rng).encode("utf-8", errors="surrogatepass")
                       for _ in range(400)]
# surrogates cannot be UTF-8: keep those bytes as the invalid input they are
SETTINGS = [  # lower, strip_accents (None = as lower), chinese, max_chars
    (True, None, True, None), (False, None, True, None), (True, False, True, None),
    (False, True, True, None), (True, None, False, None), (True, None, True, 10)]


def build_vocab(seed):
    """Specials, single characters and ## characters of the corpus, and random
    sub-strings of its words (prefixes and ## continuations), so that greedy matching
    meets long, partial and missing matches."""
    r = random.Random(seed)
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "run",
            "##ning", "##n", "##er", "##", "#"]
    seen = set(toks)
    words = set()
    for lower, strip in ((True, True), (False, False), (True, False), (False, True)):
        for t in TEXTS[:60]:
            words.update(basic(t.decode("utf-8", errors="replace"), lower, strip, True))
    for w in sorted(words):
        for c in w:
            for t in (c, "##" + c):
                if r.random() < 0.85 and t not in seen:
                    seen.add(t), toks.append(t)
        for _ in range(3):
            i = r.randrange(len(w))
            j = r.randint(i + 1, min(len(w), i + 8))
            t = ("##" if i else "") + w[i:j]
            if t not in seen:
                seen.add(t), toks.append(t)
    r.shuffle(toks)
    return toks


def write_model(d, toks, cfg, crlf=False):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "vocab.txt"), "wb") as f:
        f.write(("\r\n" if crlf else "\n").join(toks).encode() + (b"\r\n" if crlf else b"\n"))
    p = os.path.join(d, "tokenizer_config.json")
    if cfg is None:
        if os.path.exists(p):
            os.remove(p)
    else:
        with open(p, "w") as f:
            json.dump(cfg, f)


RECS = os.path.join(tmp, "records.bin")
with open(RECS, "wb") as f:
    for t in TEXTS:
        f.write(struct.pack("<I", len(t)) + t)


def tool(d):
    return subprocess.run([TOOL, d, RECS], capture_output=True)


toks = build_vocab(3)
# a token listed twice maps to its last line, as the reference loader does
toks_dup = toks + [toks[7]]
vocab = {t: i for i, t in enumerate(toks_dup)}
for si, (lower, strip, chinese, maxc) in enumerate(SETTINGS):
    d = os.path.join(tmp, f"m{si}")
    cfg = {"do_lower_case": lower, "tokenize_chinese_chars": chinese}
    if strip is not None:
        cfg["strip_accents"] = strip
    if maxc:
        cfg["max_input_chars_per_word"] = maxc
    write_model(d, toks_dup, cfg if si else None, crlf=si == 2)  # m0: no config = defaults
    r = tool(d)
    lines = r.stdout.decode().split("\n")
    if not check(r.returncode == 0 and lines[0].startswith("ok wordpiece"),
                 f"setting {si}: tool exit {r.returncode}: {r.stdout[:200]!r} {r.stderr[:200]!r}"):
        continue
    eff_strip = lower if strip is None else strip
    bad = 0
    for k, t in enumerate(TEXTS):
        want = oracle_ids(t, vocab, lower, eff_strip, chinese, maxc or 100)
        got = [int(x) for x in lines[1 + k].split()]
        if got != want:
            bad += 1
            if bad <= 3:
                print(f"  setting {si} text {k} {t[:60]!r}:\n    got  {got[:20]}\n    want {want[:20]}")
    check(bad == 0, f"setting {si} (lower={lower} strip={strip} chinese={chinese} "
                    f"max={maxc}): {bad} of {len(TEXTS)} texts differ from the oracle")

# The oracle itself on a known case (BERT's documented example).
v = {t: i for i, t in enumerate(["[UNK]", "un", "##aff", "##able"])}
check(pieces("unaffable", v, 100) == ["un", "##aff", "##able"], "oracle: un ##aff ##able")
check(basic("Héllo, WORLD!", True, True, True) == ["hello", ",", "world", "!"], "oracle: basic")

# ---- folder rules ----
d = os.path.join(tmp, "bad")
write_model(d, ["[PAD]", "a", "b"], None)
r = tool(d)
check(r.returncode == 65 and b"[UNK]" in r.stdout and b"vocab.txt" in r.stdout,
      f"vocab.txt without [UNK] refused: {r.stdout!r}")
write_model(d, ["[UNK]", "a"], {"do_lower_case": "yes"})
r = tool(d)
check(r.returncode == 65 and b"do_lower_case" in r.stdout and b"tokenizer_config.json" in r.stdout,
      f"a bad do_lower_case refused by name: {r.stdout!r}")
with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
    f.write("{not json")
r = tool(d)
check(r.returncode == 65 and b"tokenizer_config.json" in r.stdout, f"bad JSON refused: {r.stdout!r}")
with open(os.path.join(d, "vocab.txt"), "wb") as f:
    f.write(b"[UNK]\nok\n\xff\xfe\n")
os.remove(os.path.join(d, "tokenizer_config.json"))
r = tool(d)
check(r.returncode == 65 and b"line 3" in r.stdout and b"UTF-8" in r.stdout,
      f"invalid UTF-8 in vocab.txt named by line: {r.stdout!r}")
os.remove(os.path.join(d, "vocab.txt"))
r = tool(d)
check(r.returncode == 65 and b"vocab.txt" in r.stdout, f"no tokenizer files: {r.stdout!r}")

# ---- used automatically: spectrum --text on a tiny BERT whose folder has vocab.txt ----
import hf_tiny  # noqa: E402
M = os.path.join(tmp, "bert")
small = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz.,") + \
    ["##" + c for c in "abcdefghijklmnopqrstuvwxyz"] + ["the", "cat", "sat", "on", "mat", "##s"]
hf_tiny.write_checkpoint(M, kind="bert", seed=2, vocab=len(small), max_pos=40)
write_model(M, small, {"do_lower_case": True})
TXT = os.path.join(tmp, "t.txt")
with open(TXT, "w") as f:
    f.write("The Cat sat on the Mats.\n\nCafé crème, ÉTÉ!\n")
pre = os.path.join(tmp, "s")
r = run(["spectrum", "--model", M, "--text", TXT, "--n", "16", "--sequences", "2",
         "--proj-sequences", "0", "--quiet", "--out", pre])
if check(r.returncode == 0, f"spectrum --text on a BERT folder: {r.stderr}"):
    p = json.load(open(pre + ".json"))["params"]
    check(p["tokenizer"].startswith("wordpiece") and p["bos"] == 2 and p["eos"] == 3 and
          p["pad"] == 0, f"JSON: WordPiece with [CLS]/[SEP]/[PAD]: {p}")
D = os.path.join(tmp, "d.npy")
r = run(["dump", "--model", M, "--text", TXT, "--n", "16", "--policy", "pad", "--sequences", "2",
         "--quiet", "--out", D])
if check(r.returncode == 0, f"dump --text on a BERT folder: {r.stderr}"):
    import numpy as np
    ids = np.load(D[:-4] + "_ids.npy")
    vs = {t: i for i, t in enumerate(small)}
    want = [2] + oracle_ids(b"The Cat sat on the Mats.", vs, True, True, True, 100) + [3]
    check(ids[0, :len(want)].tolist() == want, f"dump ids {ids[0].tolist()} start {want}")
summary()
