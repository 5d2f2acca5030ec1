#!/usr/bin/env bash
# Smoke test of the Figure 3 machinery (experiments/train/fig3.mk, plots/fig3.sh) on a tiny
# model for a few steps, set through the FIG3_* variables: every run's log.csv appears
# only when finished, a run stopped early (FIG3_STOP_AFTER) resumes to the same log as
# an unbroken one (training is deterministic for a fixed seed and thread count), a bad
# label is refused, and the three figures appear with seed bands. Never asserts on timing values.
source "$(dirname "$0")/../../lib/lib.sh"

mkdir -p "$T/data"
head -c 20000 experiments/corpora/informal/train.txt >"$T/data/train.txt" 2>/dev/null ||
    for i in $(seq 200); do printf 'the cat %d sat on the mat.\n\na dog ran to door %d.\n\n' "$i" "$i"; done >"$T/data/train.txt"
head -c 6000 experiments/corpora/informal/valid.txt >"$T/data/valid.txt" 2>/dev/null ||
    cp "$T/data/train.txt" "$T/data/valid.txt"
# A sub-make must not inherit the calling make's flags (BUILD, SAN, jobserver); FIG3_LB
# points at the built binary so that make never tries to rebuild it. Curriculum: 2 steps
# at n = 16, then 2 at the arm's n (32, or 16 for the -n16 panel arm).
fig3make() { # out-dir, make arguments...
    local dir=$1; shift
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s FIG3_LB="$LB" \
        FIG3_DATA="$T/data" FIG3_DIR="$dir" FIG3_PLOTS="$dir/plots" \
        FIG3_MODEL="--layers 1 --hidden 16 --heads 2 --ffn 32" FIG3_N0=16 FIG3_S0=2 FIG3_N=32 \
        FIG3_S1=2 FIG3_BATCH=2 FIG3_WARMUP=1 FIG3_EVAL=2 FIG3_EVAL_BATCHES=1 FIG3_CKPT=2 \
        FIG3_KS="8 16" FIG3_SHARE_K=8 FIG3_PANEL_NS=16 FIG3_SEEDS="1 2" \
        FIG3_ARGS="--no-progress --quiet --log-every 1" "$@"
}
ARMS="standard k8-headwise k16-headwise k8-none k8-kv k8-layerwise control-k1 k8-headwise-n16"

# 1. One run stopped after 2 of 4 steps: no log.csv yet, a checkpoint; the rerun resumes.
fig3make "$T/a" FIG3_STOP_AFTER=2 "$T/a/fig3-k8-kv-s1/log.csv" >"$T/out" 2>&1
[ $? -eq 0 ] && ok || { bad "stopped run failed"; tail -5 "$T/out"; }
[ ! -e "$T/a/fig3-k8-kv-s1/log.csv" ] && ok || bad "log.csv written before the run finished"
[ -f "$T/a/fig3-k8-kv-s1/checkpoint-2/trainer.json" ] && ok || bad "no checkpoint-2 after the stop"
grep -q "at step 2 of 4" "$T/out" && ok || bad "no 'at step 2 of 4' note"
fig3make "$T/a" FIG3_STOP_AFTER=2 "$T/a/fig3-k8-kv-s1/log.csv" >"$T/out" 2>&1
[ $? -eq 0 ] && ok || { bad "resumed run failed"; tail -5 "$T/out"; }
grep -q "resuming at step 2" "$T/out" && ok || bad "the rerun did not resume"
[ -f "$T/a/fig3-k8-kv-s1/log.csv" ] && ok || bad "no log.csv after the resumed run"
[ ! -e "$T/a/fig3-k8-kv-s1/checkpoint-2" ] && [ -d "$T/a/fig3-k8-kv-s1/checkpoint-4" ] && ok ||
    bad "older checkpoint not removed or final one missing"

# 2. All runs in one go, then the figures.
fig3make "$T/b" fig3 >"$T/out" 2>&1
[ $? -eq 0 ] && ok || { bad "make fig3 failed"; tail -10 "$T/out"; }
for a in $ARMS; do
    for s in 1 2; do
        f="$T/b/fig3-$a-s$s/log.csv"
        if [ -f "$f" ] && head -1 "$f" | grep -q '^step,.*val_ppl' &&
            awk -F, 'END { exit !($1 == 4 && $8 + 0 > 1) }' "$f"; then ok
        else bad "$a seed $s: log.csv missing, or its last row is not step 4 with a perplexity > 1"; fi
    done
done
n=$(ls -d "$T"/b/fig3-* | wc -l)
[ "$n" -eq 16 ] && ok || bad "$n run folders, want 16 (8 arms x 2 seeds; k8-headwise shared)"
tj() { cat "$T/b/fig3-$1/checkpoint-4/trainer.json"; }
tj k16-headwise-s1 | grep -Eq '"k":[[:space:]]*16[,[:space:]]' && ok || bad "k16 run not trained with k = 16"
tj standard-s1 | grep -Eq '"attention":[[:space:]]*"full"' && ok || bad "standard run not full attention"
tj k8-layerwise-s2 | grep -Eq '"share":[[:space:]]*"layerwise"' && ok || bad "k8-layerwise not layerwise"
tj control-k1-s1 | grep -Eq '"k":[[:space:]]*1[,[:space:]]' && ok || bad "control not trained with k = 1"
tj standard-s2 | grep -Eq '"seed":[[:space:]]*"?2"?[,[:space:]]' && ok || bad "seed 2 run not trained with seed 2"
# the curriculum: n = 16 then the arm's n
awk -F, 'NR == 2 { a = $3 } END { exit !(a == 16 && $3 == 32) }' "$T/b/fig3-standard-s1/log.csv" && ok ||
    bad "standard: not n = 16 then 32"
awk -F, 'END { exit !($3 == 16) }' "$T/b/fig3-k8-headwise-n16-s1/log.csv" && ok || bad "the n16 panel arm does not end at n = 16"
# seeds differ, and resumed == unbroken: every column but the timing ones
cmp -s <(cut -d, -f1-9 "$T/b/fig3-standard-s1/log.csv") <(cut -d, -f1-9 "$T/b/fig3-standard-s2/log.csv") &&
    bad "seeds 1 and 2 gave the same log" || ok
if cmp -s <(cut -d, -f1-9 "$T/a/fig3-k8-kv-s1/log.csv") <(cut -d, -f1-9 "$T/b/fig3-k8-kv-s1/log.csv"); then ok
else bad "stopped + resumed log differs from the unbroken one"; fi
if command -v gnuplot >/dev/null || command -v gnuplot-nox >/dev/null; then
    for f in fig3_k.png fig3_k.svg fig3_share.png fig3_share.svg fig3_n.png fig3_n.svg; do
        [ -s "$T/b/plots/$f" ] && ok || bad "no figure $f"
    done
    grep -q "control: Linformer k=1 (2 seeds)" "$T/b/plots/fig3_k.svg" && ok || bad "fig3_k lacks the control arm with its seeds"
    grep -q "n=16" "$T/b/plots/fig3_n.svg" && ok || bad "fig3_n lacks the n = 16 arm"
    [ -z "$(ls -A "$T/b/plots" | grep -v '^fig3_')" ] && ok || bad "temp files left in the figure folder"
else
    echo "note: gnuplot not installed, figures not checked"
fi
# a second make fig3 trains nothing
fig3make "$T/b" fig3 >"$T/out" 2>&1
! grep -q "done,\|resuming" "$T/out" && ok || bad "a second make fig3 trained again"
# the report groups the seeds into arms
L=$(for d in "$T"/b/fig3-*-s*; do l=${d##*/fig3-}; echo "$l=$d/log.csv"; done | sort -t= -k1,1 |
    awk -F= '/^standard/ { s = s (s ? "," : "") $0; next } { o = o "," $0 } END { print s o }')
"$LB" report --train-log "$L" --out "$T/b/R.md" >"$T/out" 2>&1 && ok || bad "report on the fig3 logs failed"
grep -q "| control-k1 | 2 | 32 |" "$T/b/R.md" && ok || bad "report: no control-k1 arm of 2 seeds at n = 32"

# 3. Refusals: a bad label, a run without a seed; a figure folder without logs.
for r in k8-diagonal-s1 standard; do
    fig3make "$T/c" "$T/c/fig3-$r/log.csv" >"$T/out" 2>&1
    [ $? -ne 0 ] && grep -q "is not ARM-sSEED" "$T/out" && ok || bad "run '$r' not refused"
    [ ! -e "$T/c/fig3-$r" ] && ok || bad "run '$r' left a folder"
done
bash plots/fig3.sh "$T/none" "$T/none-out" >"$T/out" 2>&1
[ $? -eq 66 ] && ok || bad "fig3.sh without logs: want exit 66"

finish
