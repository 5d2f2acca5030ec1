#!/usr/bin/env bash
# Interleaved A/B benchmark: builds BASE_REV in a temporary git worktree, then runs the base
# and the current build/linbench alternately, ROUNDS times each (the order swaps every
# round), pools each side's raw samples and hands them to `linbench compare`. A slow spell
# of the machine then lands on both sides instead of on one whole run, which is what makes
# a one-run-against-one-run comparison cry wolf on short points (README, Tracking regressions).
#   experiments/bench/bench_ab.sh BASE_REV [ROUNDS] [-- bench options]   (default ROUNDS 3)
# Exit status: that of `linbench compare` (0 nothing regressed, 1 regressed, 64/65/66 input).
set -euo pipefail
usage() { echo "usage: experiments/bench/bench_ab.sh BASE_REV [ROUNDS] [-- bench options]" >&2; exit 64; }
[ $# -ge 1 ] || usage
rev=$1; shift
rounds=3
if [ $# -ge 1 ] && [ "$1" != "--" ]; then rounds=$1; shift; fi
[ $# -ge 1 ] && { [ "$1" = "--" ] || usage; shift; }
case $rounds in '' | *[!0-9]* | 0) echo "bench_ab.sh: ROUNDS must be a positive integer" >&2; exit 64 ;; esac
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
new=$PWD/$BUILD/linbench
[ -x "$new" ] || { echo "bench_ab.sh: $new missing: run make first" >&2; exit 66; }
git rev-parse --verify -q "$rev^{commit}" >/dev/null || { echo "bench_ab.sh: '$rev' is not a commit" >&2; exit 64; }
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
t=$(mktemp -d)
cleanup() { git worktree remove --force "$t/base" >/dev/null 2>&1 || true; rm -rf "$t"; }
trap cleanup EXIT
git worktree add -q --detach "$t/base" "$rev"
make -s -C "$t/base" BUILD=build-ab -j2 build-ab/linbench >/dev/null
base=$t/base/build-ab/linbench
args=(--reps 3 --no-progress -q "$@")
for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) -eq 1 ]; then order="base new"; else order="new base"; fi
    for side in $order; do
        bin=$base; [ "$side" = new ] && bin=$new
        echo "round $r/$rounds: $side" >&2
        "$bin" bench "${args[@]}" --out "$t/$side-$r" >/dev/null
    done
done
# Pool: the first round's file whole, then the data rows of the others.
for side in base new; do
    mkdir -p "$t/$side"
    { cat "$t/$side-1/bench.csv"
      for r in $(seq 2 "$rounds"); do grep -v -e '^#' -e '^protocol,' "$t/$side-$r/bench.csv"; done
    } >"$t/$side/bench.csv"
done
set +e
"$new" compare "$t/base" "$t/new"
