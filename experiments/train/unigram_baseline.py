#!/usr/bin/python3
"""The unigram baseline of a masked-LM validation set, for the default model's card
(experiments/model_card.sh). Token frequencies are counted on the train split with
linbench's own tokenizer (build/tools/tool_tokenize, the encoder `linbench train` uses)
and scored on the valid split:
  acc = share of valid tokens equal to the most frequent train token (the accuracy of
        always guessing it at a masked position; positions are masked uniformly);
  ppl = exp(cross-entropy of the valid tokens under the train unigram, add-one smoothed).
Documents are split on blank lines, as `linbench train` splits them; special ids are
not counted. Prints one JSON object.
usage: unigram_baseline.py TOOL TOKENIZER_DIR TRAIN VALID
"""
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
from collections import Counter


def docs(path):
    with open(path, "rb") as f:
        text = f.read()
    return [d.strip(b"\n") for d in text.replace(b"\r\n", b"\n").split(b"\n\n") if d.strip()]


def encode(tool, tok, path):
    with tempfile.NamedTemporaryFile(delete=False) as rec:
        for d in docs(path):
            rec.write(struct.pack("<I", len(d)) + d)
    try:
        out = subprocess.run([tool, "encode", os.path.join(tok, "vocab.json"),
                              os.path.join(tok, "merges.txt"), rec.name],
                             check=True, capture_output=True).stdout
    finally:
        os.unlink(rec.name)
    return [int(t) for t in out.split()]


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__.strip().splitlines()[-1])
    tool, tok, train, valid = sys.argv[1:]
    for p in (tool, train, valid, os.path.join(tok, "vocab.json")):
        if not os.path.exists(p):
            sys.exit(f"unigram_baseline.py: {p}: not found")
    with open(os.path.join(tok, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    special = {vocab[t] for t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>") if t in vocab}
    tr = Counter(t for t in encode(tool, tok, train) if t not in special)
    va = [t for t in encode(tool, tok, valid) if t not in special]
    if not tr or not va:
        sys.exit("unigram_baseline.py: empty train or valid split after tokenization")
    top, total, v = tr.most_common(1)[0][0], sum(tr.values()), len(vocab)
    nll = -sum(math.log((tr[t] + 1) / (total + v)) for t in va) / len(va)
    print(json.dumps({"most_frequent_id": top, "unigram_acc": sum(t == top for t in va) / len(va),
                      "unigram_loss": nll, "unigram_ppl": math.exp(nll),
                      "train_tokens": total, "valid_tokens": len(va)}))


if __name__ == "__main__":
    main()
