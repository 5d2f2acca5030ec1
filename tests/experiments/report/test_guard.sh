#!/usr/bin/env bash
# The trained-length guard end to end: a tiny model trained by `linbench train` at
# n = 16 then 32 records that in config.json ("linbench_trained"); `linbench spectrum`
# and `dump` warn at n = 48 (past it) and not at 32; the report marks every verdict
# at n = 48 "outside the model's trained length" and none at 32, with the eval and training
# losses per n beside them; a checkpoint without the record is taken at its position
# table, and the report says so.
source "$(dirname "$0")/../../lib/lib.sh"
TOK=results/models/linbench-small
head -c 20000 experiments/corpora/informal/train.txt >"$T/train.txt" 2>/dev/null ||
    printf 'the cat sat on the mat.\n\na dog ran to the red door.\n' >"$T/train.txt"
cp "$T/train.txt" "$T/valid.txt"
expect_rc 0 "tiny curriculum run" "$LB" train --tokenizer "$TOK" --train "$T/train.txt" --valid "$T/valid.txt" \
    --layers 2 --hidden 16 --heads 2 --ffn 32 --n 16:3,32:3 --max-pos 66 --batch 2 --steps 6 --warmup 1 \
    --eval-every 2 --eval-batches 1 --threads 2 --no-progress --quiet --out "$T/run" --export-bf16 "$T/m"
"$PY" - "$T/m/config.json" <<'PY' && ok || bad "config.json linbench_trained"
import json, sys
t = json.load(open(sys.argv[1]))["linbench_trained"]
assert t["curriculum"] == [[16, 3], [32, 3]], t
assert t["updates"] == 6 and [v[0] for v in t["valid_loss"]] == [16, 32], t
PY
# export-only from a mid-run checkpoint: the curriculum is cut at its step
expect_rc 0 "resume tiny run to 8" "$LB" train --resume "$T/run/checkpoint-6" --steps 8 --quiet --no-progress
expect_rc 0 "export-only" "$LB" train --resume "$T/run/checkpoint-8" --export-bf16 "$T/m8"
grep -A4 linbench_trained "$T/m8/config.json" | tr -d ' \t\n' | grep -q '"curriculum":\[\[16,3\],\[32,5\]\]' && ok ||
    bad "export-only: curriculum cut at step 8"
printf 'w%d ' $(seq 1 400) >"$T/text.txt"
expect_rc 0 "spectrum within and past" "$LB" spectrum --model "$T/m" --text "$T/text.txt" --n 32,48 --sequences 6 \
    --proj-k 4,8 --proj-sequences 2 --quiet --out "$T/s"
grep -q "n = 48 is outside the model's trained length (it trained at n <= 32" "$T/err" && ok || bad "spectrum warns at 48"
grep -q "n = 32 is outside" "$T/err" && bad "spectrum warns at 32" || ok
"$PY" -c "import json; t = json.load(open('$T/s.json'))['params']['trained']; assert t['recorded'] and t['max_n'] == 32, t" &&
    ok || bad "PREFIX.json params.trained"
expect_rc 0 "dump past" "$LB" dump --model "$T/m" --text "$T/text.txt" --n 48 --sequences 1 --quiet --out "$T/d.npy"
grep -q "dump: warning: n = 48 is outside" "$T/err" && ok || bad "dump warns at 48"
expect_rc 0 "dump within" "$LB" dump --model "$T/m" --text "$T/text.txt" --n 32 --sequences 1 --quiet --out "$T/d2.npy"
[ ! -s "$T/err" ] && ok || bad "dump at 32 warns: $(cat "$T/err")"
# the model's masked-token loss on the same text, beside each Figure 1 (make reproduce's step)
expect_rc 0 "eval on the spectrum's text" "$LB" eval --model "$T/m" --text "$T/text.txt" --n 32,48 --passes 1 \
    --out "$T/s_eval.json"
expect_rc 0 "report" "$LB" report --spectrum "$T/s" --corpus-names tiny --bootstrap 200 --out "$T/R.md"
R=$T/R.md
for c in "P is low rank: most of its spectrum lies in the first n/4 singular values" \
    "higher layers are more skewed (lower rank)"; do
    grep -qF "| $c — tiny, n = 48 | outside the model's trained length |" "$R" && ok || bad "n = 48 marked: $c"
    grep -F "| $c — tiny, n = 32 |" "$R" | grep -q "outside" && bad "n = 32 marked: $c" || ok
done
grep -qF "| PV is well approximated through a k-dimensional projection (Theorem 1) — tiny | outside the model's trained length |" "$R" &&
    ok || bad "projection error at 48 marked"
grep -qF "**Trained length:** n ≤ 32. Updates per length (config.json \`linbench_trained\`): n = 16: 3, n = 32: 3." "$R" &&
    ok || bad "trained length paragraph"
grep -q '^| 32 | 6 | [0-9.]* \[[0-9.]*, [0-9.]*\] | [0-9.]* | yes |$' "$R" && ok || bad "eval and training loss at 32 shown"
grep -q '^| 48 | 6 | [0-9.]* \[[0-9.]*, [0-9.]*\] | — (not a training length) | \*\*no\*\* |$' "$R" && ok ||
    bad "eval loss at 48 shown, no training loss"
# a user's checkpoint without the record: the position table, said so
"$PY" -c "import sys; sys.path.insert(0, 'tests/lib'); import hf_tiny
hf_tiny.write_checkpoint('$T/hf', kind='roberta', seed=3, vocab=300, max_pos=40, layers=2)" || bad "hf_tiny"
expect_rc 0 "spectrum on a checkpoint without the record" "$LB" spectrum --model "$T/hf" --text "$T/text.txt" \
    --byte-tokenizer 4 --n 16,38 --sequences 3 --proj-sequences 0 --quiet --out "$T/h"
[ ! -s "$T/err" ] && ok || bad "no warning without a record: $(cat "$T/err")"
expect_rc 0 "report without the record" "$LB" report --spectrum "$T/h" --bootstrap 200 --out "$T/H.md"
grep -q "records none (no \`linbench_trained\`.*n ≤ 38 (max_position_embeddings − 2" "$T/H.md" && ok ||
    bad "report says the length is assumed"
grep -q "outside the model's trained length |" "$T/H.md" && bad "no verdict marked without a record" || ok
# a malformed record is an error naming the file and the field
"$PY" - "$T/m/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["linbench_trained"] = {"curriculum": "32"}; json.dump(c, open(sys.argv[1], "w"))
PY
expect_rc 65 "malformed record" "$LB" spectrum --model "$T/m" --text "$T/text.txt" --n 32 --quiet --out "$T/bad"
expect_msg "malformed record" "config.json: \"linbench_trained\""
[ ! -e "$T/bad.json" ] && ok || bad "malformed record left output"
finish
