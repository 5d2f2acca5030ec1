"""Pieces of an independent GPT-2 byte-level BPE, shared by the tokenizer and BPE-trainer
oracles (tests/analysis/text/test_tokenizer.py, tests/analysis/text/test_bpe_train.py): the pre-tokenizer pattern
through the `regex` module, the bytes_to_unicode alphabet, and one greedy merge step."""
import regex

PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    keep = set(range(ord("!"), ord("~") + 1)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    table, k = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + k)
            k += 1
    return table


B2U = bytes_to_unicode()


def pair_counts(words):
    """words: {tuple of tokens: count} -> {(a, b): count of adjacent occurrences}."""
    counts = {}
    for w, c in words.items():
        for a, b in zip(w, w[1:]):
            counts[(a, b)] = counts.get((a, b), 0) + c
    return counts


def apply_merge(words, best):
    """Merge every occurrence of the pair best, left to right, in every word."""
    new_tok, new = best[0] + best[1], {}
    for w, c in words.items():
        out, i = [], 0
        while i < len(w):
            if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                out.append(new_tok)
                i += 2
            else:
                out.append(w[i])
                i += 1
        new[tuple(out)] = new.get(tuple(out), 0) + c
    return new
