#!/usr/bin/env bash
# Smoke test of the Figure 3 machinery (experiments/train/fig3.mk, plots/fig3.sh) on a tiny
# model for a few steps, set through the FIG3_* variables: every run's log.csv appears
# only when finished, a run stopped early (FIG3_STOP_AFTER) resumes to the same log as
# an unbroken one (training is deterministic for a fixed seed and thread count), a bad
# label is refused, and the two figures appear. Never asserts on timing values.
source "$(dirname "$0")/../../lib/lib.sh"

mkdir -p "$T/data"
head -c 20000 experiments/corpora/informal/train.txt >"$T/data/train.txt" 2>/dev/null ||
    for i in $(seq 200); do printf 'the cat %d sat on the mat.\n\na dog ran to door %d.\n\n' "$i" "$i"; done >"$T/data/train.txt"
head -c 6000 experiments/corpora/informal/valid.txt >"$T/data/valid.txt" 2>/dev/null ||
    cp "$T/data/train.txt" "$T/data/valid.txt"
# A sub-make must not inherit the calling make's flags (BUILD, SAN, jobserver); FIG3_LB
# points at the built binary so that make never tries to rebuild it.
fig3make() { # out-dir, make arguments...
    local dir=$1; shift
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s FIG3_LB="$LB" \
        FIG3_DATA="$T/data" FIG3_DIR="$dir" FIG3_PLOTS="$dir/plots" \
        FIG3_MODEL="--layers 1 --hidden 16 --heads 2 --ffn 32" FIG3_N=32 FIG3_BATCH=2 \
        FIG3_STEPS=4 FIG3_WARMUP=1 FIG3_EVAL=2 FIG3_EVAL_BATCHES=1 FIG3_CKPT=2 \
        FIG3_KS="8 16" FIG3_SHARE_K=8 FIG3_ARGS="--no-progress --quiet --log-every 1" "$@"
}
LABELS="standard k8-headwise k16-headwise k8-none k8-kv k8-layerwise"

# 1. One run stopped after 2 of 4 steps: no log.csv yet, a checkpoint; the rerun resumes.
fig3make "$T/a" FIG3_STOP_AFTER=2 "$T/a/fig3-k8-kv/log.csv" >"$T/out" 2>&1
[ $? -eq 0 ] && ok || { bad "stopped run failed"; tail -5 "$T/out"; }
[ ! -e "$T/a/fig3-k8-kv/log.csv" ] && ok || bad "log.csv written before the run finished"
[ -f "$T/a/fig3-k8-kv/checkpoint-2/trainer.json" ] && ok || bad "no checkpoint-2 after the stop"
grep -q "at step 2 of 4" "$T/out" && ok || bad "no 'at step 2 of 4' note"
fig3make "$T/a" FIG3_STOP_AFTER=2 "$T/a/fig3-k8-kv/log.csv" >"$T/out" 2>&1
[ $? -eq 0 ] && ok || { bad "resumed run failed"; tail -5 "$T/out"; }
grep -q "resuming at step 2" "$T/out" && ok || bad "the rerun did not resume"
[ -f "$T/a/fig3-k8-kv/log.csv" ] && ok || bad "no log.csv after the resumed run"
[ ! -e "$T/a/fig3-k8-kv/checkpoint-2" ] && [ -d "$T/a/fig3-k8-kv/checkpoint-4" ] && ok ||
    bad "older checkpoint not removed or final one missing"

# 2. All runs in one go (the resumed one is reused, not rerun), then the figures.
fig3make "$T/b" fig3 >"$T/out" 2>&1
[ $? -eq 0 ] && ok || { bad "make fig3 failed"; tail -10 "$T/out"; }
for l in $LABELS; do
    f="$T/b/fig3-$l/log.csv"
    if [ -f "$f" ] && head -1 "$f" | grep -q '^step,.*val_ppl' &&
        awk -F, 'END { exit !($1 == 4 && $8 + 0 > 1) }' "$f"; then ok
    else bad "$l: log.csv missing, or its last row is not step 4 with a perplexity > 1"; fi
done
n=$(ls -d "$T"/b/fig3-* | wc -l)
[ "$n" -eq 6 ] && ok || bad "$n run folders, want 6 (k8-headwise shared by both sets)"
grep -Eq '"k":[[:space:]]*16[,[:space:]]' "$T/b/fig3-k16-headwise/checkpoint-4/trainer.json" && ok ||
    bad "k16 run not trained with k = 16"
grep -Eq '"attention":[[:space:]]*"full"' "$T/b/fig3-standard/checkpoint-4/trainer.json" && ok ||
    bad "standard run not full attention"
grep -Eq '"share":[[:space:]]*"layerwise"' "$T/b/fig3-k8-layerwise/checkpoint-4/trainer.json" && ok ||
    bad "k8-layerwise run not trained with layerwise sharing"
# resumed == unbroken: every column but the timing ones (tokens_per_s, elapsed_s)
if cmp -s <(cut -d, -f1-9 "$T/a/fig3-k8-kv/log.csv") <(cut -d, -f1-9 "$T/b/fig3-k8-kv/log.csv"); then ok
else bad "stopped + resumed log differs from the unbroken one"; diff <(cut -d, -f1-9 "$T/a/fig3-k8-kv/log.csv") <(cut -d, -f1-9 "$T/b/fig3-k8-kv/log.csv") | head; fi
if command -v gnuplot >/dev/null || command -v gnuplot-nox >/dev/null; then
    for f in fig3_k.png fig3_k.svg fig3_share.png fig3_share.svg; do
        [ -s "$T/b/plots/$f" ] && ok || bad "no figure $f"
    done
    [ -z "$(ls -A "$T/b/plots" | grep -v '^fig3_')" ] && ok || bad "temp files left in the figure folder"
else
    echo "note: gnuplot not installed, figures not checked"
fi
# a second make fig3 trains nothing
fig3make "$T/b" fig3 >"$T/out" 2>&1
! grep -q "done,\|resuming" "$T/out" && ok || bad "a second make fig3 trained again"

# 3. Refusals: a bad label; a figure folder without logs.
fig3make "$T/c" "$T/c/fig3-k8-diagonal/log.csv" >"$T/out" 2>&1
[ $? -ne 0 ] && grep -q "neither 'standard'" "$T/out" && ok || bad "bad label not refused"
[ ! -e "$T/c/fig3-k8-diagonal" ] && ok || bad "bad label left a folder"
bash plots/fig3.sh "$T/none" "$T/none-out" >"$T/out" 2>&1
[ $? -eq 66 ] && ok || bad "fig3.sh without logs: want exit 66"

finish
