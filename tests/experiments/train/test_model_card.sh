#!/usr/bin/env bash
# The default model's card pipeline (make model-card): the unigram baseline script on a
# corpus whose answer is known, the training-curve plot, and the card itself on a tiny
# run; bad input to each gets a message and a non-zero exit, and leaves no file behind.
source "$(dirname "$0")/../../lib/lib.sh"
TOK=results/models/linbench-small
TOOL=${BUILD:-build}/tools/tool_tokenize

# Train: "the" once, " the" three times, " cat" once; valid: "the", " the", " the". The
# most frequent train token is " the", so always guessing it is right on 2 of 3 valid
# tokens. The perplexity is checked against the add-one formula on the same counts.
printf 'the the the the cat\n' >"$T/train.txt"
printf 'the the the\n' >"$T/valid.txt"
expect_rc 0 "unigram baseline" "$PY" experiments/train/unigram_baseline.py "$TOOL" "$TOK" "$T/train.txt" "$T/valid.txt"
"$PY" - "$T/out" "$TOK/vocab.json" <<'PY' && ok || bad "unigram baseline values"
import json, math, sys
d = json.load(open(sys.argv[1])); v = len(json.load(open(sys.argv[2], encoding="utf-8")))
want_acc = 2 / 3                       # exact: counts of whole tokens
total = 5                              # "the", " the" x3, " cat"
want_nll = -(math.log(2 / (total + v)) + 2 * math.log(4 / (total + v))) / 3
# the acc is a ratio of small integers; the loss a sum of three logs: 1e-12 covers rounding
ok = abs(d["unigram_acc"] - want_acc) <= 1e-12 and abs(d["unigram_loss"] - want_nll) <= 1e-12 * want_nll
ok = ok and d["train_tokens"] == total and d["valid_tokens"] == 3
print(d, want_acc, want_nll) if not ok else None
sys.exit(0 if ok else 1)
PY
expect_rc 1 "unigram baseline, missing valid" "$PY" experiments/train/unigram_baseline.py "$TOOL" "$TOK" "$T/train.txt" "$T/none.txt"
expect_msg "unigram baseline, missing valid" "none.txt"
: >"$T/empty.txt"
expect_rc 1 "unigram baseline, empty train" "$PY" experiments/train/unigram_baseline.py "$TOOL" "$TOK" "$T/empty.txt" "$T/valid.txt"
expect_msg "unigram baseline, empty train" "empty"

# A tiny run to draw and describe.
expect_rc 0 "tiny run" "$LB" train --tokenizer "$TOK" --train "$T/train.txt" --valid "$T/train.txt" --layers 1 \
    --hidden 16 --heads 2 --ffn 32 --n 16 --max-pos 40 --pos-shift --batch 2 --steps 4 --warmup 1 --eval-every 2 --eval-batches 1 \
    --log-every 1 --threads 1 --no-progress --out "$T/run" --log "$T/run/log.csv"
mkdir -p "$T/plots"
expect_rc 0 "curves" bash plots/train_curves.sh "$T/run/log.csv" "$T/plots/c" "tiny"
[ -s "$T/plots/c.png" ] && [ -s "$T/plots/c.svg" ] && ok || bad "curves: no png/svg"
printf 'a,b\n1,2\n' >"$T/notlog.csv"
expect_rc 65 "curves of a CSV that is not a log" bash plots/train_curves.sh "$T/notlog.csv" "$T/plots/d"
expect_msg "curves of a CSV that is not a log" "notlog.csv"
[ -z "$(ls "$T/plots" | grep -v '^c\.')" ] && ok || bad "curves left files: $(ls -A "$T/plots")"

# The card: export, entropy, baseline, card; then a missing checkpoint is refused.
expect_rc 0 "export" "$LB" train --resume "$T/run/checkpoint-4" --export-bf16 "$T/model"
expect_rc 0 "entropy" "$LB" spectrum --model "$T/model" --text "$T/train.txt" --n 8 --sequences 2 \
    --proj-sequences 0 --quiet --out "$T/ent"
"$PY" experiments/train/unigram_baseline.py "$TOOL" "$TOK" "$T/train.txt" "$T/valid.txt" >"$T/uni.json"
CARD=(--log "$T/run/log.csv" --spectrum "$T/ent_summary.csv" --unigram "$T/uni.json" --curves "$T/plots/c.png"
      --model "$T/model" --out "$T/model/MODEL.md")
expect_rc 0 "card" "$PY" experiments/train/model_card.py --checkpoint "$T/run/checkpoint-4" "${CARD[@]}"
for want in "--layers 1" "--hidden 16" "--max-pos 40" "--pos-shift" "n = 8" "layer mean" "accuracy 0.667"; do
    grep -q -e "$want" "$T/model/MODEL.md" && ok || bad "card lacks '$want'"
done
# one row per layer, one cell per head, in [0, 1]
awk -F'|' '/^\| 0 \|/ { for (i = 3; i <= 4; i++) if (!($i + 0 >= 0 && $i + 0 <= 1)) exit 1; f = 1 } END { exit !f }' \
    "$T/model/MODEL.md" && ok || bad "card entropy row"
# a run made in stages lists each stage's command, in order
expect_rc 0 "card with stages" "$PY" experiments/train/model_card.py --checkpoint "$T/run/checkpoint-4" "${CARD[@]}" \
    --stage "stage-one --n 8" --stage "stage-two --resume x --n 8:2,16"
grep -q "In 2 stages" "$T/model/MODEL.md" && awk '/stage-one/ {a = NR} /stage-two/ {b = NR} END {exit !(a && b > a)}' \
    "$T/model/MODEL.md" && ok || bad "card does not list the two stages in order"
# the acceptance section from `linbench eval` and the held-out window counts
for i in $(seq 1 20); do printf 'the cat the the cat the\n\n'; done >"$T/evaltext.txt"
expect_rc 0 "eval" "$LB" eval --model "$T/model" --text "$T/evaltext.txt" --n 8,16 --buckets 4 --max-tokens 0 \
    --threads 1 --out "$T/eval.json"
expect_rc 0 "card with eval" "$PY" experiments/train/model_card.py --checkpoint "$T/run/checkpoint-4" "${CARD[@]}" \
    --eval "$T/eval.json" --held-out "tiny=$TOOL:$TOK:$T/valid.txt"
for want in "Valid at every analysed length" "n = 16" "minus first bucket" "every position learned at n = 16" \
            "longer context does not hurt" "held-out tiny" "neighbours"; do
    grep -q -e "$want" "$T/model/MODEL.md" && ok || bad "card with eval lacks '$want'"
done
# the rule on synthetic results: a bucket clearly above the limit is "NOT met", one that
# straddles it "undecided", one below "met"
for case in "0.50 0.40 0.60 NOT met" "0.09 0.05 0.13 undecided" "0.02 -0.03 0.07 met"; do
    read -r m lo hi want <<<"$case"
    "$PY" - "$T/eval.json" "$T/syn.json" "$m" "$lo" "$hi" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
m, lo, hi = map(float, sys.argv[3:6])
top = max(d["lengths"], key=lambda l: l["n"])
for b in top["buckets"][1:]:
    b["minus_first"] = {"mean": m, "lo": lo, "hi": hi}
json.dump(d, open(sys.argv[2], "w"))
PY
    "$PY" experiments/train/model_card.py --checkpoint "$T/run/checkpoint-4" "${CARD[@]}" --eval "$T/syn.json" >/dev/null
    grep "every position learned" "$T/model/MODEL.md" | grep -q "\*\*$want" && ok || bad "bucket rule $m [$lo, $hi]: want $want"
done
# a table fixed until update 3 (--pos-fixed --pos-learn-from 3, written into a copy of the
# run's trainer.json): the command lists both flags and the position section says where
# every row started: norm 0.05·√16 = 0.200 and, for sinusoids of 8 frequency pairs
# 10000^(-2j/16), the neighbour cosine numpy computes here
cp -r "$T/run/checkpoint-4" "$T/fixl"
"$PY" - "$T/fixl/trainer.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["options"].update({"pos-fixed": 1, "pos-learn-from": 3})
json.dump(t, open(sys.argv[1], "w"), indent=1)
PY
cos=$("$PY" -c 'import numpy as np; print(f"{np.cos(10000.0 ** (-2.0 * np.arange(8) / 16)).mean():.3f}")')
expect_rc 0 "card of a table learned from update 3" "$PY" experiments/train/model_card.py --checkpoint "$T/fixl" \
    "${CARD[@]}" --eval "$T/eval.json"
for want in "--pos-fixed" "--pos-learn-from 3" "until update 3" "norm 0.200 and neighbour cosine $cos"; do
    grep -q -e "$want" "$T/model/MODEL.md" && ok || bad "card of a table learned from update 3 lacks '$want'"
done
rm -f "$T/model/MODEL.md"
expect_rc 1 "card without a checkpoint" "$PY" experiments/train/model_card.py --checkpoint "$T/nope" "${CARD[@]}"
expect_msg "card without a checkpoint" "nope"
[ ! -e "$T/model/MODEL.md" ] && ok || bad "a failed card left MODEL.md"

echo "test_model_card.sh: $pass passed, $fail failed"
finish
