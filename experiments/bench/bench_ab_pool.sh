#!/usr/bin/env bash
# One sample per run and point: the A/B's pooling (see bench_ab.sh for why a run, not a
# repetition, is the sample).
#   experiments/bench/bench_ab_pool.sh RUN1/bench.csv [RUN2/bench.csv ...] > pooled.csv
# Writes the first file's comment and header lines, then for every run R (1, 2, ... in the
# order given) and point one row: the point's key columns (all but rep and seconds, the last
# two), rep = R, seconds = the median of the run's repetitions (the mean of the middle two
# for an even count). Exit 64 without files, 66 when one cannot be read.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: experiments/bench/bench_ab_pool.sh RUN.csv..." >&2; exit 64; }
for f in "$@"; do [ -r "$f" ] || { echo "bench_ab_pool.sh: cannot read $f" >&2; exit 66; }; done
grep -e '^#' -e '^protocol,' "$1" || true
r=0
for f in "$@"; do
    r=$((r + 1))
    awk -F, -v OFS=, -v r="$r" '/^#/ || /^protocol,/ { next }
        { k = $1; for (c = 2; c <= NF - 2; c++) k = k OFS $c
          if (!(k in n)) order[++m] = k
          v[k, ++n[k]] = $NF + 0 }
        END { for (i = 1; i <= m; i++) {
                  k = order[i]; c = n[k]
                  # insertion sort of the point'"'"'s few repetitions
                  for (a = 2; a <= c; a++) {
                      x = v[k, a]
                      for (b = a - 1; b >= 1 && v[k, b] > x; b--) v[k, b + 1] = v[k, b]
                      v[k, b + 1] = x
                  }
                  med = c % 2 ? v[k, (c + 1) / 2] : (v[k, c / 2] + v[k, c / 2 + 1]) / 2
                  printf "%s,%d,%.9g\n", k, r, med
              } }' "$f"
done
