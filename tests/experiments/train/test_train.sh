#!/usr/bin/env bash
# Command-line tests of `linbench train`: help, bad options, a tiny run with the
# linbench-small tokenizer, the checkpoint loading in `linbench dump` (as a user's
# HuggingFace folder would), the CSV log, resume refusing a changed option and a
# changed corpus, and the BF16 export. Never asserts on timing values.
source "$(dirname "$0")/../../lib/lib.sh"
TOK=results/models/linbench-small

# A small corpus: paragraphs of the informal split (documents split on blank lines).
head -c 30000 experiments/corpora/informal/train.txt >"$T/train.txt" 2>/dev/null ||
    printf 'the cat sat on the mat.\n\na dog ran to the red door.\n' >"$T/train.txt"
head -c 8000 experiments/corpora/informal/valid.txt >"$T/valid.txt" 2>/dev/null ||
    cp "$T/train.txt" "$T/valid.txt"
BASE=(--tokenizer "$TOK" --train "$T/train.txt" --valid "$T/valid.txt" --layers 1 --hidden 16
      --heads 2 --ffn 32 --n 32 --batch 2 --steps 4 --warmup 1 --eval-every 2 --eval-batches 1
      --log-every 1 --threads 2 --no-progress)

expect_rc 0 "help" "$LB" train --help
grep -q -e '--resume' "$T/out" && ok || bad "help does not mention --resume"
expect_rc 64 "unknown option" "$LB" train --bogus
expect_rc 64 "missing --train" "$LB" train --tokenizer "$TOK" --out "$T/x"
expect_msg "missing --train" "--train"
expect_rc 64 "bad curriculum" "$LB" train "${BASE[@]}" --n 32:0 --out "$T/x"
expect_msg "bad curriculum" "--n"
expect_rc 64 "bad decay" "$LB" train "${BASE[@]}" --decay sideways --out "$T/x"
expect_rc 64 "linformer without k" "$LB" train "${BASE[@]}" --attention linformer --out "$T/x"
expect_rc 64 "k > n" "$LB" train "${BASE[@]}" --attention linformer --k 33 --out "$T/x"
expect_msg "k > n" "k <= n"
expect_rc 64 "n past the position table" "$LB" train "${BASE[@]}" --max-pos 30 --out "$T/x"
expect_msg "n past the position table" "position"
: >"$T/empty.txt"
expect_rc 65 "empty corpus" "$LB" train "${BASE[@]}" --train "$T/empty.txt" --out "$T/x"
expect_msg "empty corpus" "empty.txt"
expect_rc 65 "missing tokenizer" "$LB" train "${BASE[@]}" --tokenizer "$T/none" --out "$T/x"
[ ! -e "$T/x" ] || [ -z "$(ls -A "$T/x")" ] && ok || bad "failed runs left files in $T/x"

# A tiny run: checkpoint folder, log, export.
expect_rc 0 "tiny run" "$LB" train "${BASE[@]}" --out "$T/run" --log "$T/run/log.csv" \
    --export-bf16 "$T/ship"
grep -q 'step 4/4' "$T/out" && ok || bad "no progress line for step 4"
grep -q 'tok/s' "$T/out" && ok || bad "no tokens/s"
C="$T/run/checkpoint-4"
for f in config.json model.safetensors optimizer.safetensors trainer.json vocab.json merges.txt; do
    [ -s "$C/$f" ] && ok || bad "checkpoint lacks $f"
done
[ "$(head -1 "$T/run/log.csv")" = "step,tokens,n,lr,train_loss,grad_norm,val_loss,val_ppl,val_masked_acc,tokens_per_s,elapsed_s" ] &&
    ok || bad "log header"
[ "$(grep -c . "$T/run/log.csv")" -eq 5 ] && ok || bad "log should have 4 lines after the header"
awk -F, 'NR==3 && $7+0 > 0 && $8+0 > 1 {f=1} END {exit !f}' "$T/run/log.csv" && ok || bad "val loss/ppl at step 2"
grep -q '"attention_type"' "$C/config.json" && grep -q '"model_type"' "$C/config.json" && ok ||
    bad "config.json lacks HF fields"
ls "$T/run" | grep -q tmp && bad "temporary folder left in $T/run" || ok
[ -s "$T/ship/model.safetensors" ] && [ -s "$T/ship/vocab.json" ] && ok || bad "export incomplete"

# dump loads the checkpoint like any HuggingFace folder.
printf 'The quick brown fox jumps over the lazy dog.\n' >"$T/s.txt"
expect_rc 0 "dump on the checkpoint" "$LB" dump --model "$C" --text "$T/s.txt" --n 16 --out "$T/P.npy"
expect_rc 0 "dump on the BF16 export" "$LB" dump --model "$T/ship" --text "$T/s.txt" --n 16 --out "$T/P2.npy"

# Resume: a changed shaping option is refused by name; a changed corpus is refused.
expect_rc 64 "resume with another --batch" "$LB" train --resume "$C" --batch 3 --steps 6 --no-progress
expect_msg "resume with another --batch" "--batch"
cp "$T/train.txt" "$T/train2.txt"
echo "one more paragraph" >>"$T/train2.txt"
expect_rc 64 "resume with another corpus" "$LB" train --resume "$C" --train "$T/train2.txt" --steps 6 --no-progress
expect_msg "resume with another corpus" "train2.txt"
# A checkpoint written before a flag existed (here --pos-sinusoid) resumes with it off.
cp -r "$C" "$T/old-ckpt"
/usr/bin/python3 -c 'import json,sys; p=sys.argv[1]; j=json.load(open(p)); del j["options"]["pos-sinusoid"]; json.dump(j,open(p,"w"))' \
    "$T/old-ckpt/trainer.json"
expect_rc 0 "resume a checkpoint older than a flag" "$LB" train --resume "$T/old-ckpt" --steps 5 --no-progress \
    --out "$T/old-run"
expect_rc 0 "resume to 6 steps" "$LB" train --resume "$C" --steps 6 --no-progress
[ -s "$T/run/checkpoint-6/trainer.json" ] && ok || bad "no checkpoint-6 after resume"
[ "$(grep -c . "$T/run/log.csv")" -eq 7 ] && ok || bad "resumed log should hold 6 lines"

# A resume may lengthen the curriculum (n = 32 for the 4 steps taken, then 16), but
# not change the n of a step already taken.
expect_rc 64 "resume with --n that changes a step taken" "$LB" train --resume "$C" --n 32:2,16 --steps 6 \
    --no-progress --out "$T/curr"
expect_msg "resume with --n that changes a step taken" "at step 2"
expect_rc 64 "resume with another single --n" "$LB" train --resume "$C" --n 16 --steps 6 --no-progress --out "$T/curr"
expect_msg "resume with another single --n" "at step 0"
expect_rc 0 "resume with a longer curriculum" "$LB" train --resume "$C" --n 32:4,16 --steps 6 --no-progress \
    --out "$T/curr" --log "$T/curr/log.csv"
grep -q "new curriculum" "$T/err" && ok || bad "no note for the new curriculum"
# Linformer's E and F are (k, n) for the longest n it was made for: no longer n on resume.
expect_rc 0 "linformer run" "$LB" train "${BASE[@]}" --n 16 --max-pos 40 --attention linformer --k 8 --steps 2 --out "$T/lin"
expect_rc 64 "linformer resume with a longer n" "$LB" train --resume "$T/lin/checkpoint-2" --n 16:2,32 --steps 4 \
    --no-progress
expect_msg "linformer resume with a longer n" "Linformer projections"
awk -F, 'NR>1 {n[$1]=$3} END {exit !(n[5]==16 && n[6]==16)}' "$T/curr/log.csv" && ok ||
    bad "steps 5 and 6 did not run at n = 16: $(cat "$T/curr/log.csv")"

# --resume with --export-bf16 exports the weights as saved: it neither trains on to
# --steps nor touches the run's log (a checkpoint mid-run is exported as it is).
cp "$T/run/log.csv" "$T/log.before"
expect_rc 0 "export-only from a mid-run checkpoint" "$LB" train --resume "$C" --steps 8 --export-bf16 "$T/ship4"
grep -q 'step 4 to' "$T/out" && ok || bad "export-only did not report step 4"
[ ! -e "$T/run/checkpoint-8" ] && cmp -s "$T/run/log.csv" "$T/log.before" && ok || bad "export-only trained on"
[ -s "$T/ship4/model.safetensors" ] && [ -s "$T/ship4/config.json" ] && ok || bad "export-only wrote no model"
[ "$(stat -c %a "$T/ship4")" = 755 ] && ok || bad "export folder mode $(stat -c %a "$T/ship4"), want 755"

# Two trainers on one folder: the second stops (75) before touching the log.
exec 9>"$T/run/.train.lock"
flock -n 9 || bad "cannot take the lock for the test"
expect_rc 75 "a second trainer on a locked folder" "$LB" train --resume "$T/run/checkpoint-6" --steps 8 --no-progress
expect_msg "a second trainer on a locked folder" "another linbench train"
cmp -s "$T/run/log.csv" "$T/log.before" && [ ! -e "$T/run/checkpoint-8" ] && ok || bad "the locked-out trainer wrote"
exec 9>&-

# Token-id input (--ids): one document of whitespace-separated ids per line.
for d in 1 2 3 4 5 6; do seq -s ' ' $((100 + d)) $((140 + d)); done >"$T/ids.txt"
expect_rc 0 "--ids input" "$LB" train "${BASE[@]}" --ids --train "$T/ids.txt" --valid "$T/ids.txt" --steps 2 \
    --out "$T/idsrun"
printf '1 2 99999\n' >"$T/badids.txt"
expect_rc 65 "--ids with an id past the vocabulary" "$LB" train "${BASE[@]}" --ids --train "$T/badids.txt" \
    --valid "$T/ids.txt" --out "$T/idsbad"
expect_msg "--ids with an id past the vocabulary" "99999"

# numpy oracle of AdamW and the LR schedule on a real run: from the saved state at
# step 2 (p, m, v) and step 3 (p', m', v'), AdamW says p' = p(1 − lr·wd) −
# lr·m̂'/(sqrt(v̂') + eps) with the step-3 bias corrections, decay only for tensors of
# 2+ dimensions, and lr from the schedule (warm-up 1, linear decay over 6 steps), and
# v' − β2·v = (1 − β2)·g² with g = (m' − β1·m)/(1 − β1).
A=(--tokenizer "$TOK" --train "$T/train.txt" --layers 1 --hidden 16 --heads 2 --ffn 32 --n 32
   --batch 2 --steps 6 --warmup 1 --lr 0.01 --wd 0.1 --beta1 0.9 --beta2 0.98 --eps 1e-6
   --eval-every 0 --threads 2 --no-progress --out "$T/adam")
expect_rc 0 "2 steps" "$LB" train "${A[@]}" --stop-after 2
expect_rc 0 "1 more" "$LB" train --resume "$T/adam/checkpoint-2" --stop-after 1 --no-progress
/usr/bin/python3 - "$T/adam/checkpoint-2" "$T/adam/checkpoint-3" <<'PY' >"$T/py" 2>&1
import json, struct, sys
import numpy as np
def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    h.pop("__metadata__", None)
    return {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
                             dtype="<f4").reshape(v["shape"]).astype(np.float64) for k, v in h.items()}
a, b = sys.argv[1], sys.argv[2]
p0, p1 = load(a + "/model.safetensors"), load(b + "/model.safetensors")
o0, o1 = load(a + "/optimizer.safetensors"), load(b + "/optimizer.safetensors")
lr_max, wd, b1, b2, eps, t, steps, warm = 0.01, 0.1, 0.9, 0.98, 1e-6, 3, 6, 1
lr = lr_max * (1 - (t - 1 - warm) / (steps - 1 - warm))      # step index 2, linear decay to 0
bad = 0
for name in p0:
    m0, v0 = o0["exp_avg." + name], o0["exp_avg_sq." + name]
    m1, v1 = o1["exp_avg." + name], o1["exp_avg_sq." + name]
    d = wd if p0[name].ndim >= 2 else 0.0
    want = p0[name] * (1 - lr * d) - lr * (m1 / (1 - b1 ** t)) / (np.sqrt(v1 / (1 - b2 ** t)) + eps)
    # float32 arithmetic of a few operations on values of size |p| and lr: 1e-6 of |p|
    # plus 1e-4 of the step lr (the ratio m̂/sqrt(v̂) is formed in float).
    err = np.abs(p1[name] - want) - (1e-6 * np.abs(want) + 1e-4 * lr)
    if not (err <= 0).all():
        bad += 1; print("param", name, float(np.nanmax(err)))
    g = (m1 - b1 * m0) / (1 - b1)
    ok = np.abs(m1 - b1 * m0) > 0.5 * np.abs(m1) + 1e-30          # well-conditioned elements
    lhs, rhs = (v1 - b2 * v0)[ok], ((1 - b2) * g * g)[ok]
    if not (np.abs(lhs - rhs) <= 1e-4 * np.abs(rhs) + 1e-30).all():
        bad += 1; print("second moment", name)
print("adamw oracle: %d tensors, %d bad" % (len(p0), bad))
sys.exit(1 if bad else 0)
PY
[ $? -eq 0 ] && ok || { bad "numpy AdamW oracle"; sed 's/^/    /' "$T/py" | tail -5; }

echo "test_train.sh: $pass passed, $fail failed"
# A batch per phase (--n N:STEPS:BATCH): 2 updates of 4 x 16 tokens, then 2 of 2 x 32
# (the --batch 3 unused); the log's token count says which batch ran, and stopping at
# the phase change and resuming gives the same bits as running straight through.
PB=(--tokenizer "$TOK" --train "$T/train.txt" --valid "$T/valid.txt" --layers 1 --hidden 16 --heads 2
    --ffn 32 --n 16:2:4,32:2:2 --batch 3 --steps 4 --warmup 1 --eval-every 2 --eval-batches 1
    --log-every 1 --threads 2 --no-progress)
expect_rc 0 "batch per phase" "$LB" train "${PB[@]}" --out "$T/pb" --log "$T/pb/log.csv"
[ "$(cut -d, -f1,2,3 "$T/pb/log.csv" | tail -n 4 | tr '\n' ' ')" = "1,64,16 2,128,16 3,192,32 4,256,32 " ] && ok ||
    bad "batch per phase: tokens per step $(cut -d, -f1,2,3 "$T/pb/log.csv" | tr '\n' ' ')"
expect_rc 0 "batch per phase, 2 steps" "$LB" train "${PB[@]}" --out "$T/pb2" --stop-after 2
expect_rc 0 "batch per phase, resumed" "$LB" train --resume "$T/pb2/checkpoint-2" --no-progress
cmp -s "$T/pb/checkpoint-4/model.safetensors" "$T/pb2/checkpoint-4/model.safetensors" && ok ||
    bad "batch per phase: resuming at the phase change changed the weights"
expect_rc 64 "resume with another phase batch" "$LB" train --resume "$T/pb2/checkpoint-2" \
    --n 16:2:3,32:2:2 --no-progress --out "$T/pb3"
expect_msg "resume with another phase batch" "--n"
expect_rc 64 "phase batch 0" "$LB" train "${PB[@]}" --n 16:2:0,32 --out "$T/pb4"
expect_msg "phase batch 0" "batch at '0,32' must be an integer in 1..65536"
expect_rc 64 "phase batch without steps" "$LB" train "${PB[@]}" --n 16::4 --out "$T/pb4"

# sinusoids_match CHECKPOINT RMS: the checkpoint's position table equals numpy's sinusoids
# of position row - (pad + 1) with RMS per entry (amplitude RMS·√2) to float32 rounding
# (atol 1e-8: entries are <= 0.071, float32 keeps ~7 digits). The pad row is not compared
# (it keeps its random init).
sinusoids_match() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
import numpy as np
sys.path.insert(0, "tests/lib")
from hf_tiny import read_safetensors
d, rms = sys.argv[1], float(sys.argv[2])
cfg = json.load(open(d + "/config.json"))
w = read_safetensors(d + "/model.safetensors")[0]["roberta.embeddings.position_embeddings.weight"]
pad, h = cfg["pad_token_id"], w.shape[1]
rows = [r for r in range(w.shape[0]) if r != pad]
i = np.array(rows, dtype=np.float64)[:, None] - (pad + 1)
j = np.arange(h)
f = 10000.0 ** (-(j - j % 2) / h)
ref = rms * np.sqrt(2.0) * np.where(j % 2 == 1, np.cos(i * f), np.sin(i * f))
err = np.abs(w[rows] - ref)
ok = bool(np.all(err <= 1e-8 + 1e-6 * np.abs(ref)))
if not ok:
    print("max error", np.nanmax(err))
sys.exit(0 if ok else 1)
PY
}

# --pos-sinusoid: the position table starts from sinusoids of RMS 0.02 (the random init's
# std); a step at lr 1e-12 moves each entry by at most lr, within float rounding.
expect_rc 0 "sinusoid run" "$LB" train "${BASE[@]}" --pos-sinusoid --steps 1 --lr 1e-12 --eval-every 0 \
    --out "$T/sin"
sinusoids_match "$T/sin/checkpoint-1" 0.02 && ok || bad "--pos-sinusoid table differs from numpy's sinusoids"
grep -q '"pos-sinusoid":[[:space:]]*1' "$T/sin/checkpoint-1/trainer.json" && ok ||
    bad "trainer.json does not record --pos-sinusoid"

# --pos-fixed: the table is sinusoids of RMS 0.05 and never changes, not even by weight
# decay (the default 0.01 would shrink it by lr·wd = 1e-4 of itself per step, 70x the
# tolerance): after 3 steps at lr 1e-2 it still equals numpy's sinusoids. Together with
# --pos-sinusoid it is refused.
expect_rc 64 "--pos-fixed with --pos-sinusoid" "$LB" train "${BASE[@]}" --pos-fixed --pos-sinusoid --out "$T/x"
expect_rc 0 "fixed-position run" "$LB" train "${BASE[@]}" --pos-fixed --steps 3 --warmup 0 --lr 1e-2 \
    --eval-every 0 --out "$T/fix"
sinusoids_match "$T/fix/checkpoint-3" 0.05 && ok || bad "--pos-fixed table moved or is not the sinusoids"
grep -q '"pos-fixed":[[:space:]]*1' "$T/fix/checkpoint-3/trainer.json" && ok ||
    bad "trainer.json does not record --pos-fixed"

# --pos-learn-from S: the fixed table stays the sinusoids for updates 0..S-1 and is trained
# (AdamW, weight decay included) from update S on; without --pos-fixed it is refused. Four
# steps at lr 1e-2 decaying linearly (update 3's rate is 0), learning from update 2:
# checkpoint 2 still holds the sinusoids, checkpoint 4 does not (update 2 moves each entry
# by about its rate, 5e-3: thousands of times the check's tolerance of 1e-6 of an entry).
expect_rc 64 "--pos-learn-from without --pos-fixed" "$LB" train "${BASE[@]}" --pos-learn-from 2 --out "$T/x"
expect_rc 0 "fixed table learned from update 2" "$LB" train "${BASE[@]}" --pos-fixed --pos-learn-from 2 --steps 4 \
    --warmup 0 --lr 1e-2 --eval-every 0 --ckpt-every 1 --keep-all --out "$T/fixl"
sinusoids_match "$T/fixl/checkpoint-2" 0.05 && ok || bad "--pos-learn-from 2: table moved before update 2"
if sinusoids_match "$T/fixl/checkpoint-4" 0.05 >/dev/null 2>&1; then bad "--pos-learn-from 2: table not trained at update 2"; else ok; fi
grep -q '"pos-learn-from":[[:space:]]*2' "$T/fixl/checkpoint-4/trainer.json" && ok ||
    bad "trainer.json does not record --pos-learn-from"

# --pos-rms R: the sinusoids at RMS R instead of the flag's own (here twice the fixed
# table's 0.05), recorded; alone it is refused. A checkpoint from before the option (no
# "pos-rms" in trainer.json) resumes with the flag's own RMS: the fixed table stays 0.05.
expect_rc 64 "--pos-rms without a sinusoid table" "$LB" train "${BASE[@]}" --pos-rms 0.1 --out "$T/x"
expect_rc 0 "fixed table at RMS 0.1" "$LB" train "${BASE[@]}" --pos-fixed --pos-rms 0.1 --steps 2 --warmup 0 \
    --lr 1e-2 --eval-every 0 --out "$T/fixr"
sinusoids_match "$T/fixr/checkpoint-2" 0.1 && ok || bad "--pos-rms 0.1: table is not numpy's sinusoids of RMS 0.1"
grep -q '"pos-rms":[[:space:]]*0.1' "$T/fixr/checkpoint-2/trainer.json" && ok ||
    bad "trainer.json does not record --pos-rms"
/usr/bin/python3 - "$T/fix/checkpoint-3/trainer.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["options"].pop("pos-rms")
json.dump(t, open(sys.argv[1], "w"), indent=1)
PY
expect_rc 0 "resume a checkpoint without pos-rms" "$LB" train --resume "$T/fix/checkpoint-3" --steps 4 --no-progress --quiet
sinusoids_match "$T/fix/checkpoint-4" 0.05 && ok || bad "resumed pre-pos-rms checkpoint: fixed table is not RMS 0.05"

# --pos-shift: each training sequence sits at a random offset of the position table.
# With weight decay 0 a row that no sequence touched keeps its value exactly (AdamW moves
# it by 0 / (0 + eps)); at n = 32 an unshifted run touches rows 2..33 only, a shifted one
# must also train rows past 33. Shifts come from (seed, step, row) alone: 1 step + resume
# gives the same weights as 2 steps in one go (bit for bit).
SH=("${BASE[@]}" --max-pos 100 --wd 0 --eval-every 0)
expect_rc 0 "unshifted 2 steps" "$LB" train "${SH[@]}" --steps 2 --out "$T/nosh"
expect_rc 0 "shifted 2 steps" "$LB" train "${SH[@]}" --pos-shift --steps 2 --out "$T/sh"
expect_rc 0 "shifted 1 step" "$LB" train "${SH[@]}" --pos-shift --steps 1 --out "$T/sh1"
expect_rc 0 "shifted resume to 2" "$LB" train --resume "$T/sh1/checkpoint-1" --steps 2 --no-progress
cmp -s "$T/sh/checkpoint-2/model.safetensors" "$T/sh1/checkpoint-2/model.safetensors" && ok ||
    bad "--pos-shift: 1 step + resume differs from 2 steps"
grep -q '"pos-shift":[[:space:]]*1' "$T/sh/checkpoint-2/trainer.json" && ok ||
    bad "trainer.json does not record --pos-shift"
expect_rc 0 "unshifted 1 step" "$LB" train "${SH[@]}" --steps 1 --out "$T/nosh1"
if /usr/bin/python3 - "$T/nosh1/checkpoint-1" "$T/nosh/checkpoint-2" "$T/sh/checkpoint-2" <<'PY'; then ok; else bad "--pos-shift does not train the rows past n (or the unshifted run does)"; fi
import sys
import numpy as np
sys.path.insert(0, "tests/lib")
from hf_tiny import read_safetensors
name = "roberta.embeddings.position_embeddings.weight"
nosh1, nosh, sh = (read_safetensors(d + "/model.safetensors")[0][name] for d in sys.argv[1:4])
past = slice(34, nosh.shape[0])  # rows past pad + 1 + 31, the last one n = 32 uses unshifted
still = np.array_equal(nosh1[past], nosh[past])  # unshifted: untouched at step 1 and 2
moved = int(np.any(nosh[past] != sh[past], axis=1).sum())  # same init: shifted trained these
print("unshifted rows past 33 unchanged:", still, "; shifted run moved", moved, "of them")
sys.exit(0 if still and moved > 0 else 1)
PY

# --pos-shift-from S: unshifted before update S, shifted from it. Update 0 of a run
# shifting from 1 equals the unshifted run's (the same bits); its second update trains
# rows past 33 as the shifted run does. Without --pos-shift it is refused.
expect_rc 64 "--pos-shift-from without --pos-shift" "$LB" train "${SH[@]}" --pos-shift-from 1 --out "$T/x"
expect_rc 0 "shift from update 1" "$LB" train "${SH[@]}" --pos-shift --pos-shift-from 1 --steps 2 --ckpt-every 1 --keep-all \
    --out "$T/shf"
cmp -s "$T/shf/checkpoint-1/model.safetensors" "$T/nosh1/checkpoint-1/model.safetensors" && ok ||
    bad "--pos-shift-from 1: update 0 differs from the unshifted run's"
if /usr/bin/python3 - "$T/nosh/checkpoint-2" "$T/shf/checkpoint-2" <<'PY'; then ok; else bad "--pos-shift-from 1 does not shift update 1"; fi
import sys
import numpy as np
sys.path.insert(0, "tests/lib")
from hf_tiny import read_safetensors
name = "roberta.embeddings.position_embeddings.weight"
nosh, shf = (read_safetensors(d + "/model.safetensors")[0][name] for d in sys.argv[1:3])
moved = int(np.any(nosh[34:] != shf[34:], axis=1).sum())
print("rows past 33 moved by the shifted update:", moved)
sys.exit(0 if moved > 0 else 1)
PY

finish
