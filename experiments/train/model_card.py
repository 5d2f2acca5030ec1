#!/usr/bin/python3
"""Write the default model's card (MODEL.md) from the files of its training run, never
by hand: the exact command, corpus and tokenizer checksums, the commit of its training
log and of the card, the final validation numbers against the unigram baseline, and the mean
row entropy of P / log n per layer and head (the issue's test that attention is far from
uniform). Called by `make model-card` (experiments/train/train.mk).

usage: model_card.py --checkpoint DIR --log CSV --spectrum SUMMARY.csv --unigram JSON
                     --curves PNG --model DIR --out MODEL.md [--stage CMD]...
A run made in stages (a resume that changed --n or --steps) names each stage's command
with --stage, in order; the card prints them beside the final options.
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unigram_baseline import encode  # noqa: E402  (the tokenizer tool's encoder, shared)

AIM_LAYER, AIM_HEAD = 0.8, 0.5  # most layers below 0.8 of log n, at least two heads below 0.5
AIM_BUCKET = 0.10  # no position bucket more than 0.1 nats above the first
AIM_LONGER = 0.05  # validation loss at the longest n at most 0.05 nats above the shortest
AIM_WINDOWS = 200  # non-overlapping held-out windows of 512 tokens per corpus


def judge(lo, hi, limit):
    """A limit on an interval: met when the whole interval is below it, not met when the
    whole interval is above, undecided when it straddles."""
    if hi <= limit:
        return "met"
    if lo > limit:
        return "NOT met"
    return "undecided (the interval straddles the limit)"


def sinusoid_start(opts):
    """(norm, neighbour cosine) of every row of a --pos-fixed table, or None without the flag.
    Row p holds rms·√2·(sin, cos)(p·f_j) over h/2 frequency pairs f_j = 10000^(-2j/h), so its
    norm is rms·√h and the cosine of neighbours is the mean of cos(f_j) over the pairs."""
    if opts.get("pos-fixed") != 1:
        return None
    h, rms = int(opts["hidden"]), float(opts.get("pos-rms") or 0.05)  # 0.05: the flag's own
    pairs = [10000.0 ** (-2.0 * j / h) for j in range(h // 2)]
    return rms * math.sqrt(h), sum(math.cos(f) for f in pairs) / len(pairs)


def acceptance(ev, ent, held, L, H, fixed_pos, learn_from):
    """The card's acceptance section: positions, longer context, sharp attention, held-out
    size; each line a measurement with its interval against its limit. fixed_pos: the run's
    table started as fixed sinusoids; learn_from: the update it was trained from (0: never)."""
    out = ["## Valid at every analysed length\n",
           f"From `linbench eval` (`{ev['text']}`, the first {ev['tokens']:,} tokens, the same "
           f"tokens at every n, {ev['passes']} masking draws per window; intervals are 95% over "
           f"windows). Loss per position bucket of the window, and its difference from the first "
           f"bucket (paired over windows):\n"]
    lens = sorted(ev["lengths"], key=lambda l: l["n"])
    for l in lens:
        out.append(f"\n**n = {l['n']}** ({l['windows']} windows): loss {l['loss']['mean']:.3f} "
                   f"[{l['loss']['lo']:.3f}, {l['loss']['hi']:.3f}], masked accuracy {l['acc']:.3f}\n")
        out.append("| positions | loss | 95% interval | minus first bucket | 95% interval |")
        out.append("|---|---|---|---|---|")
        for b in l["buckets"]:
            d = b["minus_first"]
            out.append(f"| {b['lo']}-{b['hi']} | {b['loss']['mean']:.3f} | [{b['loss']['lo']:.3f}, "
                       f"{b['loss']['hi']:.3f}] | {d['mean']:+.3f} | [{d['lo']:+.3f}, {d['hi']:+.3f}] |")
    pe = ev.get("position_embeddings", [])
    if pe:
        if fixed_pos and learn_from:
            out.append(f"\nPosition embeddings of the longest n, per bucket. The table was fixed sinusoids "
                       f"(--pos-fixed) until update {learn_from} and trained from then on "
                       f"(--pos-learn-from): every row started at norm {fixed_pos[0]:.3f} and neighbour "
                       f"cosine {fixed_pos[1]:.3f} (the sinusoids), so a bucket still there was not "
                       f"trained:\n")
        elif fixed_pos:
            out.append("\nPosition embeddings of the longest n, per bucket. The table is fixed sinusoids "
                       "(--pos-fixed), never trained: norm and neighbour cosine are the same in every "
                       "bucket by construction, and only the losses above show whether the layers use "
                       "every position:\n")
        else:
            out.append("\nPosition embeddings of the longest n, per bucket (a learned table has neighbour "
                       "cosine well above 0; one left at its initialisation has ≈ 0):\n")
        out.append("| positions | mean norm | mean cosine of neighbours |")
        out.append("|---|---|---|")
        for p in pe:
            out.append(f"| {p['lo']}-{p['hi']} | {p['norm']:.3f} | {p['neighbour_cos']:.3f} |")
    checks = []
    top = lens[-1]
    worst = max(top["buckets"][1:], key=lambda b: b["minus_first"]["hi"], default=None)
    if worst:
        d = worst["minus_first"]
        checks.append(f"every position learned at n = {top['n']}: worst bucket {worst['lo']}-{worst['hi']} "
                      f"is {d['mean']:+.3f} [{d['lo']:+.3f}, {d['hi']:+.3f}] nats from the first, limit "
                      f"+{AIM_BUCKET}: **{judge(d['lo'], d['hi'], AIM_BUCKET)}**")
    if len(lens) > 1:
        a, b = lens[0]["loss"], top["loss"]
        diff = b["mean"] - a["mean"]
        half = ((b["hi"] - b["lo"]) ** 2 + (a["hi"] - a["lo"]) ** 2) ** 0.5 / 2
        checks.append(f"longer context does not hurt: loss at n = {top['n']} minus loss at n = "
                      f"{lens[0]['n']} is {diff:+.3f} [{diff - half:+.3f}, {diff + half:+.3f}] (intervals "
                      f"combined as independent: conservative), limit +{AIM_LONGER}: "
                      f"**{judge(diff - half, diff + half, AIM_LONGER)}**")
    sub = [r for r in ent if r[0] == top["n"]]
    if sub:
        means = [sum(r[3] for r in sub if r[1] == l) / max(1, sum(1 for r in sub if r[1] == l)) for l in range(L)]
        low_l = sum(m < AIM_LAYER for m in means)
        low_h = sum(r[3] < AIM_HEAD for r in sub)
        ok = low_l * 2 > L and low_h >= 2
        checks.append(f"attention far from uniform at n = {top['n']}: {low_l} of {L} layers below "
                      f"{AIM_LAYER} of log n in mean row entropy, {low_h} of {L * H} heads below "
                      f"{AIM_HEAD} (aim: most layers, at least two heads): **{'met' if ok else 'NOT met'}**")
    for name, toks in held:
        win = toks // 510
        checks.append(f"held-out {name}: {toks:,} tokens, {win} non-overlapping windows of 512 "
                      f"(aim {AIM_WINDOWS}): **{'met' if win >= AIM_WINDOWS else 'NOT met'}**")
    out.append("\n**Acceptance.**\n")
    out += [f"- {c}" for c in checks]
    return out


def die(msg):
    sys.exit(f"model_card.py: {msg}")


def load_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        die(f"{path}: cannot read the {what}: {e}")


def git(*args):
    r = subprocess.run(["git", *args], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "unknown"


def command(opts, tokenizer):
    """The `linbench train` command line that trainer.json's options stand for."""
    flags = ["tokenizer", "train", "valid", "layers", "hidden", "heads", "ffn", "max-pos", "attention",
             "n", "batch", "steps", "lr", "warmup", "decay", "min-lr", "wd", "beta1", "beta2",
             "eps", "clip", "eval-every", "eval-batches", "ckpt-every", "threads", "seed", "out", "log"]
    parts = ["build/linbench train", f"--tokenizer {tokenizer}"]
    for k in flags:
        if k in opts and opts[k] not in (None, ""):
            parts.append(f"--{k} {opts[k]}")
    for k in ("ids", "pos-sinusoid", "pos-shift", "pos-fixed"):  # switches: trainer.json holds 1 when given
        if opts.get(k) == 1:
            parts.append(f"--{k}")
    for k in ("pos-shift-from", "pos-learn-from"):  # numbers that qualify a switch; 0 = off
        if opts.get(k):
            parts.append(f"--{k} {opts[k]}")
    if opts.get("attention") == "linformer":
        parts.append(f"--k {opts['k']} --share {opts['share']}")
    lines, cur = [], ""
    for p in parts:  # wrapped at 88 columns, continuation lines indented
        if cur and len(cur) + 1 + len(p) > 88:
            lines.append(cur)
            cur = "    " + p
        else:
            cur = f"{cur} {p}" if cur else p
    return " \\\n".join(lines + [cur])


def entropy_rows(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for r in csv.DictReader(line for line in f if not line.startswith("#")):
            try:
                rows.append((int(r["n"]), int(r["layer"]), int(r["head"]),
                             float(r["row_entropy_ratio_mean"]), int(r["count"])))
            except (KeyError, ValueError) as e:
                die(f"{path}: not a spectrum summary (n, layer, head, count, row_entropy_ratio_mean): {e}")
    if not rows:
        die(f"{path}: no rows")
    return rows


def main():
    ap = argparse.ArgumentParser()
    for a in ("checkpoint", "log", "spectrum", "unigram", "curves", "model", "out"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--stage", action="append", default=[])
    ap.add_argument("--eval", help="linbench eval JSON (loss by length and position bucket)")
    ap.add_argument("--held-out", action="append", default=[], metavar="NAME=TOOL:TOKDIR:PATH",
                    help="a held-out split whose windows of 512 are counted")
    a = ap.parse_args()
    tr = load_json(os.path.join(a.checkpoint, "trainer.json"), "trainer state")
    cfg = load_json(os.path.join(a.model, "config.json"), "model config")
    uni = load_json(a.unigram, "unigram baseline")
    opts = tr.get("options", {})
    with open(a.log, encoding="utf-8") as f:
        evals = [r for r in csv.DictReader(f) if r.get("val_loss")]
    if not evals:
        die(f"{a.log}: no evaluated rows (val_loss)")
    last = evals[-1]
    ent = entropy_rows(a.spectrum)
    ns = sorted({r[0] for r in ent})
    L, H = cfg["num_hidden_layers"], cfg["num_attention_heads"]
    # the commit that holds this log as it is now (the folder may have held an earlier run's)
    dirty = git("status", "--porcelain", "--", a.log)
    logged = "not committed yet" if dirty else git("log", "-1", "--format=%h %ad", "--date=short", "--", a.log)
    out = []
    w = out.append
    w(f"# {os.path.basename(os.path.normpath(a.model))}: the default reference model\n")
    w("Generated by `make model-card` (experiments/train/model_card.py) from the training run's files; "
      "do not edit by hand.\n")
    w("## What it is\n")
    w(f"A RoBERTa-style post-LayerNorm masked-LM encoder with HuggingFace RoBERTa tensor names: "
      f"{L} layers, hidden {cfg['hidden_size']}, {H} heads, FFN {cfg['intermediate_size']}, "
      f"vocabulary {cfg['vocab_size']} (byte-level BPE, see TOKENIZER.md), "
      f"{cfg['max_position_embeddings']} positions; `model.safetensors` in BF16, `config.json`. "
      f"`linbench dump` and `linbench spectrum` load it like any HuggingFace checkpoint.\n")
    w("## How it was trained\n")
    if a.stage:
        w(f"In {len(a.stage)} stages (`make train-small` runs them; the later ones resume the "
          f"previous stage's last checkpoint with a longer curriculum or another schedule length):\n")
        w("```sh\n" + "\n".join(a.stage) + "\n```\n")
        w("The options of the last stage, as the final checkpoint's trainer.json records them:\n")
    w("```sh\n" + command(opts, a.model) + "\n```\n")
    seen = int(float(tr["log"][-1].split(",")[1])) if tr.get("log") else int(last["tokens"])
    w(f"(`make train-small`; OMP_WAIT_POLICY=passive, 2 cores.) {tr['step']} updates, "
      f"{seen:,} tokens seen ({seen / uni['train_tokens']:.1f} passes over "
      f"the {uni['train_tokens']:,}-token train split), {float(tr.get('elapsed_s', 0)) / 3600:.1f} h of "
      f"training time (a run stopped at any point resumes from its latest checkpoint; with the same "
      f"code and thread count a resume is bit-exact).\n")
    ck = tr.get("checksums", {})
    w(f"- Corpus and tokenizer checksums (FNV-1a 64 of the bytes read): train `{ck.get('train_corpus')}`, "
      f"valid `{ck.get('valid_corpus')}`, tokenizer `{ck.get('tokenizer')}`; the corpora's SHA-256 "
      f"and Debian package versions: `analysis/text/corpora.sha256`, `experiments/corpora/MANIFEST` "
      f"(`make corpora` rebuilds them).\n")
    if a.stage:
        w(f"- Commits: the code of each stage is named beside its command above; card written at "
          f"{git('rev-parse', '--short', 'HEAD')}.\n")
    else:
        w(f"- Commits: training log committed at {logged or 'unknown'}; "
          f"card written at {git('rev-parse', '--short', 'HEAD')}.\n")
    w(f"- Curves: `{a.log}` (CSV), ![loss and perplexity]({os.path.relpath(a.curves, os.path.dirname(a.out))})\n")
    w("## Quality on the validation split\n")
    acc, ua = float(last["val_masked_acc"]), uni["unigram_acc"]
    w(f"At update {last['step']} (n = {last['n']}): validation loss {float(last['val_loss']):.3f}, "
      f"perplexity {float(last['val_ppl']):.1f}, masked-token accuracy {acc:.3f}. "
      f"Unigram baseline (experiments/train/unigram_baseline.py, train-split frequencies): accuracy {ua:.3f} "
      f"(always the most frequent token), perplexity {uni['unigram_ppl']:.0f}. Note that 10% of the "
      f"masked positions keep their token, so copying the input alone is worth up to 0.10 of accuracy.\n")
    w("## Attention: mean row entropy of P / log n\n")
    w(f"From `linbench spectrum` on the validation split (`{a.spectrum}`): the mean over rows and "
      f"sequences of H(P_i) / log n, per layer and head; 1 is uniform attention. The aim (issue 5): "
      f"most layers below {AIM_LAYER}, several heads below {AIM_HEAD}.\n")
    verdicts = []
    for n in ns:
        sub = {(r[1], r[2]): r for r in ent if r[0] == n}
        cnt = next(iter(sub.values()))[4]
        w(f"\n**n = {n}** ({cnt} sequences)\n")
        w("| layer | " + " | ".join(f"head {h}" for h in range(H)) + " | layer mean |")
        w("|---|" + "---|" * (H + 1))
        low_layers, low_heads, means = 0, 0, []
        for l in range(L):
            vals = [sub[(l, h)][3] for h in range(H) if (l, h) in sub]
            m = sum(vals) / len(vals)
            means.append(m)
            low_layers += m < AIM_LAYER
            low_heads += sum(v < AIM_HEAD for v in vals)
            w(f"| {l} | " + " | ".join(f"{v:.3f}" for v in vals) + f" | {m:.3f} |")
        mn = min(sub.values(), key=lambda r: r[3])
        verdicts.append(f"n = {n}: {low_layers} of {L} layers below {AIM_LAYER}, {low_heads} of {L * H} "
                        f"heads below {AIM_HEAD} (lowest: layer {mn[1]} head {mn[2]}, {mn[3]:.3f})")
    w("\n" + ". ".join(verdicts) + ".\n")
    if a.eval:
        held = []
        for h in a.held_out:
            name, _, spec = h.partition("=")
            tool, tokdir, path = spec.split(":", 2)
            held.append((name, len(encode(tool, tokdir, path))))
        out.extend(acceptance(load_json(a.eval, "eval results"), ent, held, L, H, sinusoid_start(opts),
                              opts.get("pos-learn-from") or 0))
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(a.out) or ".", prefix=".card.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, a.out)
    print(f"model_card.py: {a.out}")


if __name__ == "__main__":
    main()
