#!/usr/bin/env bash
# Interleaved A/B benchmark of two versions of linbench on this machine:
#   experiments/bench/bench_ab.sh BASE_REV [ROUNDS] [-- bench options]   (default ROUNDS 8; paired 12)
# BASE is the commit BASE_REV; NEW is the working tree as it is (uncommitted and untracked
# files included), or the commit AB_NEW_REV. The two runs alternate ROUNDS times each (default
# 8) and each run gives one sample per point, the median of its repetitions; `linbench
# compare` judges the ROUNDS samples a side. (The paired mode below runs them side by side.)
#
# Why a run, not a repetition, is the sample: on a shared machine the noise comes in spells
# longer than a point's repetitions. Calibrated on a quiet Zen 3 with every repetition a
# sample (4 rounds x 3 reps, 12 a side), 5 A/A comparisons flagged 7 of 125 points (5.6%;
# results/ab-calibration-pooled/): all at n = 512, all on the side that happened to hit a slow
# spell there, since the 3 repetitions of one run are not independent and the U test takes
# them as if they were. With one sample per run the samples are exchangeable under A/A and
# the test's alpha is what it says.
#
# What keeps an A/A run (BASE = NEW) from showing a one-sided shift:
#   - identical builds: both sides are built the same way from a snapshot of their sources
#     in two temporary worktrees whose paths have the same length, into fresh build folders
#     by the same make command line (not NEW from whatever build/ happens to hold);
#   - counterbalanced order: rounds go base-new, new-base, base-new, new-base, ... and ROUNDS
#     must be even, so that both sides have the same mean position in the sequence: a drift
#     of the machine (another job ramping up, heat) and a "second in the pair" effect (the
#     memory a just-finished run left behind) cancel. With an odd count one side runs
#     second more often: an A/A run with 3 rounds showed NEW slower on 12 of 12 points;
#   - a discarded warm-up run of each side first, so that the first run of the session
#     (cold page cache, libraries, CPU power state, huge pages) is not a sample.
# Before building anything it checks that ROUNDS samples a side can reach compare's alpha
# at all (otherwise it stops with exit 4, saying how many rounds are needed).
#
# AB_PAIRED=1, the paired mode: each round runs the two builds at the same time, taking
# turns (`linbench bench --turn` over two FIFOs), so every call of one side is followed by
# the same call of the other, seconds apart at most and never overlapping, and a slow spell
# of the machine lands on both; the side that starts alternates between rounds (ROUNDS even,
# default 12). The sample is again the run: each side's median over its AB_REPS repetitions
# (paired default 3: one call in a round can take twice its time, and a single repetition
# lets that call decide the round; 12 rounds of 1 repetition caught 7 and 11 of 15 slowed
# points), and the two sides of one round are a pair, judged by `compare --paired`
# (signed-rank test on the rounds' log ratios; 10 pairs are the fewest that reach alpha
# 0.002). Why not every repetition a pair: a first version (2 rounds of 10 repetitions, 20
# pairs) flagged 3 of 150 A/A points (2.0%; results/ab-calibration-paired/), because what
# one process does to a point (where its buffers landed, say) is shared by all of that
# round's pairs, and the test took them as independent. Both sides run with
# OMP_WAIT_POLICY=passive: with the default policy a side's OpenMP threads keep spinning
# for a while after its call, on the cores the other side's next call needs, so each side
# slowed the other, and a side made slower (the test-only knob's spin) slowed the other
# less: the knob came out at 1.22x instead of 1.15x. No warm-up runs (both sides share the
# session's first moments).
# Environment: BUILD_JOBS (make -j, default 2); AB_NEW_REV (NEW from a commit); AB_CACHE
# (a folder that keeps builds by commit across calls, for the bisection); AB_NEW_ENV
# (assignments for NEW's runs only, e.g. LB_BENCH_TEST_SLOWDOWN=linformer:1.15, test only);
# AB_OUT (compare's verdicts as CSV); AB_KEEP (a folder to keep the pooled results in);
# AB_COMPARE (extra compare options, e.g. --alpha 0.01); AB_REPS (repetitions per run whose
# median is the run's sample, default 1; set them here, not with --reps among the bench options);
# AB_PAIRED=1 (the paired mode above).
# Exit status: that of `linbench compare` (0 nothing regressed, 1 regressed, 3 other
# machine, 4 too few samples, 64/65/66 input).
set -euo pipefail
usage() { echo "usage: experiments/bench/bench_ab.sh BASE_REV [ROUNDS] [-- bench options]" >&2; exit 64; }
[ $# -ge 1 ] || usage
rev=$1; shift
source "$(dirname "$0")/bench_ab_defaults.sh"
rounds=$ab_default_rounds
if [ $# -ge 1 ] && [ "$1" != "--" ]; then rounds=$1; shift; fi
[ $# -ge 1 ] && { [ "$1" = "--" ] || usage; shift; }
case $rounds in '' | *[!0-9]* | 0) echo "bench_ab.sh: ROUNDS must be a positive integer" >&2; exit 64 ;; esac
if [ $((rounds % 2)) -ne 0 ]; then
    echo "bench_ab.sh: ROUNDS must be even ($rounds given): the order base-new, new-base is only balanced over pairs of rounds" >&2
    exit 64
fi
paired=${AB_PAIRED:-0}
reps=${AB_REPS:-$ab_default_reps}
case $reps in '' | *[!0-9]* | 0) echo "bench_ab.sh: AB_REPS must be a positive integer" >&2; exit 64 ;; esac
cd "$(dirname "$0")/../.."
root=$PWD
git rev-parse --verify -q "$rev^{commit}" >/dev/null || { echo "bench_ab.sh: '$rev' is not a commit" >&2; exit 64; }
if [ -n "${AB_NEW_REV:-}" ]; then
    git rev-parse --verify -q "$AB_NEW_REV^{commit}" >/dev/null || { echo "bench_ab.sh: AB_NEW_REV '$AB_NEW_REV' is not a commit" >&2; exit 64; }
fi
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
t=$(mktemp -d)
cleanup() {
    for w in a b; do git -C "$root" worktree remove --force "$t/$w" >/dev/null 2>&1 || true; done
    rm -rf "$t"
}
trap cleanup EXIT

# The linbench of this tree, to check the power and to compare (any build will do: it
# only reads files).
cmp=$root/${BUILD:-build}/linbench
[ -x "$cmp" ] || { echo "bench_ab.sh: $cmp missing: run make first" >&2; exit 66; }
read -r -a cmp_opts <<<"${AB_COMPARE:-}"
# paired: sample i of a point on one side was timed right next to sample i on the other
[ "$paired" = 1 ] && cmp_opts+=(--paired)

# Power: ROUNDS samples a side (one per run; paired, ROUNDS pairs), completely separated;
# compare says whether that can reach alpha (exit 4 and the samples needed if not).
mkdir -p "$t/pa" "$t/pb"
{ echo "p,rep,seconds"; for i in $(seq 1 "$rounds"); do echo "x,$i,$i"; done; } >"$t/pa/s.csv"
{ echo "p,rep,seconds"; for i in $(seq 1 "$rounds"); do echo "x,$i,$((100000 + i))"; done; } >"$t/pb/s.csv"
set +e
"$cmp" compare -q "${cmp_opts[@]}" "$t/pa/s.csv" "$t/pb/s.csv" >/dev/null 2>"$t/power"
prc=$?
set -e
if [ "$prc" -eq 4 ]; then
    need=$(grep -o 'at least [0-9]*' "$t/power" | grep -o '[0-9]*$')
    r=$(( need + need % 2 ))
    echo "bench_ab.sh: refused: $rounds$([ "$paired" = 1 ] && echo " paired") rounds give $rounds samples a side (one per run), which cannot reach compare's alpha; it needs $need: use ROUNDS=$r (AB_ROUNDS=$r)" >&2
    exit 4
fi

# snapshot: the working tree (tracked changes and untracked, not ignored, files) as a
# commit object, through a temporary index; the real index and tree are not touched.
snapshot() {
    cp "$(git rev-parse --git-path index)" "$t/index" 2>/dev/null || true
    GIT_INDEX_FILE=$t/index git add -A
    local tree
    tree=$(GIT_INDEX_FILE=$t/index git write-tree)
    if [ "$tree" = "$(git rev-parse 'HEAD^{tree}')" ]; then git rev-parse HEAD; return; fi
    GIT_AUTHOR_NAME=bench-ab GIT_AUTHOR_EMAIL=bench-ab@localhost GIT_COMMITTER_NAME=bench-ab \
        GIT_COMMITTER_EMAIL=bench-ab@localhost git commit-tree "$tree" -p HEAD -m "bench-ab snapshot"
}

# build SHA DIR: the linbench of commit SHA, built in worktree $t/DIR (a or b: paths of one
# length) by the one make command line; from AB_CACHE when it holds it already.
build() {
    local sha=$1 w=$t/$2
    if [ -n "${AB_CACHE:-}" ] && [ -x "$AB_CACHE/$sha/linbench" ]; then echo "$AB_CACHE/$sha/linbench"; return; fi
    git worktree add -q --detach "$w" "$sha"
    echo "building $sha" >&2
    make -s -C "$w" BUILD=build-ab -j"${BUILD_JOBS:-2}" build-ab/linbench >/dev/null
    if [ -n "${AB_CACHE:-}" ]; then
        mkdir -p "$AB_CACHE/$sha"
        cp "$w/build-ab/linbench" "$AB_CACHE/$sha/linbench"
        echo "$AB_CACHE/$sha/linbench"
    else
        echo "$w/build-ab/linbench"
    fi
}

base_sha=$(git rev-parse "$rev^{commit}")
if [ -n "${AB_NEW_REV:-}" ]; then new_sha=$(git rev-parse "$AB_NEW_REV^{commit}"); else new_sha=$(snapshot); fi
base=$(build "$base_sha" a)
new=$(build "$new_sha" b)
read -r -a new_env <<<"${AB_NEW_ENV:-}"

args=(--reps "$reps" --sgemm-reps 0 --no-progress -q "$@")
# run SIDE OUT [extra bench options]. Each run is one sample per point by design, so the
# bench's warning that its few repetitions cannot be compared alone is dropped here (the
# pooled comparison's own power check below stands in for it); other messages pass.
run() {
    local side=$1 out=$2; shift 2
    if [ "$side" = new ]; then env "${new_env[@]}" "$new" bench "${args[@]}" "$@" --out "$out" >/dev/null
    else "$base" bench "${args[@]}" "$@" --out "$out" >/dev/null; fi 2> >(grep -v 'cannot flag changes reliably' >&2)
}
# paired_round R: both sides at once, taking turns; the first side alternates by round.
# When one side fails the other is stopped (it would wait for a token that never comes).
paired_round() {
    local r=$1 fb=ba fn=ab first=base
    rm -f "$t/ab" "$t/ba" && mkfifo "$t/ab" "$t/ba"
    [ $((r % 2)) -eq 0 ] && first=new
    echo "round $r/$rounds: paired, $first first" >&2
    local tb tn
    if [ "$first" = base ]; then tb="first:$t/ba:$t/ab"; tn="second:$t/ab:$t/ba"
    else tn="first:$t/ab:$t/ba"; tb="second:$t/ba:$t/ab"; fi
    OMP_WAIT_POLICY=passive run base "$t/base-$r" --turn "$tb" &
    local pb=$!
    OMP_WAIT_POLICY=passive run new "$t/new-$r" --turn "$tn" &
    local pn=$! rc=0
    wait -n "$pb" "$pn" || rc=$?
    if [ "$rc" -ne 0 ]; then kill "$pb" "$pn" 2>/dev/null || true; wait "$pb" "$pn" 2>/dev/null || true
        echo "bench_ab.sh: paired round $r failed (see above)" >&2; exit 70; fi
    wait "$pb" && wait "$pn" || { echo "bench_ab.sh: paired round $r failed (see above)" >&2; exit 70; }
}
if [ "$paired" = 1 ]; then
    for r in $(seq 1 "$rounds"); do paired_round "$r"; done
else
    echo "warm-up (discarded)" >&2
    run base "$t/warm-base" --reps 1 --warmup 1
    run new "$t/warm-new" --reps 1 --warmup 1
    for r in $(seq 1 "$rounds"); do
        if [ $((r % 2)) -eq 1 ]; then order="base new"; else order="new base"; fi
        for side in $order; do
            echo "round $r/$rounds: $side" >&2
            run "$side" "$t/$side-$r"
        done
    done
fi
# Pool: the first round's metadata (bench.json: fingerprint), then one row per run and
# point, the median of the run's repetitions (bench_ab_pool.sh); paired, row R of a side was
# timed beside row R of the other.
for side in base new; do
    mkdir -p "$t/$side"
    cp "$t/$side-1/bench.json" "$t/$side/bench.json"
    files=()
    for r in $(seq 1 "$rounds"); do files+=("$t/$side-$r/bench.csv"); done
    bash "$root/experiments/bench/bench_ab_pool.sh" "${files[@]}" >"$t/$side/bench.csv"
done
if [ -n "${AB_KEEP:-}" ]; then mkdir -p "$AB_KEEP"; cp -r "$t/base" "$t/new" "$AB_KEEP/"; fi
out=()
[ -n "${AB_OUT:-}" ] && out=(--out "$AB_OUT")
set +e
"$cmp" compare "${cmp_opts[@]}" "${out[@]}" "$t/base" "$t/new"
