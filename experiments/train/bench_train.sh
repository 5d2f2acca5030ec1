#!/usr/bin/env bash
# Training throughput side by side: `linbench train` and the same model, batch and
# optimiser in PyTorch on the CPU (experiments/train/bench_train_torch.py, Debian's
# python3-torch), run alternately REPS times at each n so that a load change on a
# shared machine hits both; prints each run, then per n both medians and the ratio.
#   experiments/train/bench_train.sh            (make bench-train sets the variables below)
# Environment: LINBENCH (binary), TOK (tokenizer folder), DATA (text the linbench runs
# read; the model sees real windows, torch random ids: same shapes, same work),
# NS ("128 512"), REPS (5), BATCH (8), THREADS (2), WARM (warm-up steps, 2), STEPS
# (timed steps per run; default 24 at n <= 128, else 6: about 10 s, as linbench's log
# times to 0.1 s), OMP_WAIT_POLICY (passed through to both). On a shared machine set
# OMP_WAIT_POLICY=passive: with the default spin-waiting, a preempted thread stalls every
# parallel region, and both programs ran 2-13x slower here next to other jobs.
# A benchmark only: tests never run it. tokens/s = batch·n·timed steps / their time.
set -eu
cd "$(dirname "$0")/../.."
LB=${LINBENCH:-build/linbench}
TOK=${TOK:-results/models/linbench-small}
DATA=${DATA:-experiments/corpora/all/valid.txt}
NS=${NS:-128 512}
REPS=${REPS:-5}
BATCH=${BATCH:-8}
THREADS=${THREADS:-2}
WARM=${WARM:-2}
PY=/usr/bin/python3
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
[ -x "$LB" ] || { echo "bench_train.sh: $LB not built (make)" >&2; exit 66; }
[ -f "$DATA" ] || { echo "bench_train.sh: $DATA not found (make corpora)" >&2; exit 66; }
"$PY" -c 'import torch' 2>/dev/null ||
    { echo "bench_train.sh: PyTorch not found for $PY (apt-get install python3-torch)" >&2; exit 69; }
case $REPS in '' | *[!0-9]* | 0) echo "bench_train.sh: REPS must be a positive integer, got '$REPS'" >&2; exit 64 ;; esac
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
MODEL=(--layers 4 --hidden 256 --heads 4 --ffn 1024)

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "# bench-train: default model (4 layers, hidden 256, 4 heads, FFN 1024, vocab 8192), batch $BATCH,"
echo "# $THREADS threads, $WARM warm-up + timed steps per run, $REPS runs each, alternating; $(date -u +%FT%TZ)"
echo "# OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-unset}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $NS; do
    steps=${STEPS:-$([ "$n" -le 128 ] && echo 24 || echo 6)}
    : >"$T/lb.$n" && : >"$T/pt.$n"
    for r in $(seq "$REPS"); do
        # linbench: rate over the timed steps from the log's tokens and elapsed_s columns
        rm -rf "$T/run"
        "$LB" train --tokenizer "$TOK" --train "$DATA" "${MODEL[@]}" --n "$n" --batch "$BATCH" \
            --steps $((WARM + steps)) --warmup 1 --eval-every 0 --log-every 1 --threads "$THREADS" \
            --no-progress --quiet --out "$T/run" --log "$T/log.csv" >"$T/out" 2>&1 ||
            { echo "bench_train.sh: linbench train failed:" >&2; tail -5 "$T/out" >&2; exit 70; }
        lb=$(awk -F, -v w="$WARM" -v e=$((WARM + steps)) 'NR > 1 && $1 == w { t0 = $2; s0 = $11 }
              NR > 1 && $1 == e { t1 = $2; s1 = $11 } END { if (s1 > s0) printf "%.1f", (t1 - t0) / (s1 - s0); else print "nan" }' "$T/log.csv")
        echo "$lb" >>"$T/lb.$n"
        pt=$("$PY" experiments/train/bench_train_torch.py --n "$n" --batch "$BATCH" --threads "$THREADS" \
            --warmup-steps "$WARM" --steps "$steps" 2>"$T/err") ||
            { echo "bench_train.sh: the torch script failed:" >&2; tail -5 "$T/err" >&2; exit 70; }
        echo "$pt" | sed -n 's/.* tokens_per_s=\([0-9.]*\).*/\1/p' >>"$T/pt.$n"
        echo "n=$n run $r: linbench $lb tokens/s, torch $(tail -1 "$T/pt.$n") tokens/s"
    done
    ml=$(median <"$T/lb.$n") mp=$(median <"$T/pt.$n")
    echo "n=$n median tokens/s: linbench $ml torch $mp ratio linbench/torch $(awk -v a="$ml" -v b="$mp" 'BEGIN { printf "%.2f", a / b }')"
done
