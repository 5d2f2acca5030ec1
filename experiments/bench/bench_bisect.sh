#!/usr/bin/env bash
# The first commit where a point regressed, by bisection with the interleaved A/B:
#   experiments/bench/bench_bisect.sh GOOD BAD [-- bench options]
# The commits on BAD's first-parent chain after GOOD are searched; at each step the
# candidate is compared with GOOD by experiments/bench/bench_ab.sh (GOOD as base, the
# candidate as NEW, AB_ROUNDS rounds, builds kept across steps), and the candidate counts
# as regressed when compare flags a point whose key contains BISECT_POINT (any point when
# empty). BAD must show the regression; GOOD is taken not to. ceil(log2(commits)) + 1 A/B
# runs in all.
# Environment: BISECT_POINT; AB_ROUNDS (bench_ab.sh's default); BISECT_REPO (the repository, default this one);
# BISECT_AB (the A/B step as a command `CMD GOOD_SHA CANDIDATE_SHA VERDICTS_CSV` exiting as
# compare does and writing compare's --out CSV: for tests, or another harness).
# Exit: 0 found (the last line: "first bad commit: SHA"); 1 BAD shows no regression of the
# point; 64 bad arguments; otherwise the failing A/B step's status (3 other machine,
# 4 too few samples, ...).
set -euo pipefail
usage() { echo "usage: experiments/bench/bench_bisect.sh GOOD BAD [-- bench options]" >&2; exit 64; }
[ $# -ge 2 ] || usage
good_rev=$1 bad_rev=$2; shift 2
[ $# -ge 1 ] && { [ "$1" = "--" ] || usage; shift; }
[ -n "$good_rev" ] && [ -n "$bad_rev" ] || usage
here=$(cd "$(dirname "$0")/../.." && pwd)
repo=${BISECT_REPO:-$here}
point=${BISECT_POINT:-}
source "$(dirname "$0")/bench_ab_defaults.sh"
rounds=${AB_ROUNDS:-$ab_default_rounds}
g() { git -C "$repo" "$@"; }
good=$(g rev-parse --verify -q "$good_rev^{commit}") || { echo "bench_bisect.sh: GOOD '$good_rev' is not a commit" >&2; exit 64; }
bad=$(g rev-parse --verify -q "$bad_rev^{commit}") || { echo "bench_bisect.sh: BAD '$bad_rev' is not a commit" >&2; exit 64; }
mapfile -t list < <(g rev-list --reverse --first-parent "$good..$bad")
if [ "${#list[@]}" -eq 0 ] || [ "$(g rev-parse "${list[0]}^1" 2>/dev/null || true)" != "$good" ]; then
    echo "bench_bisect.sh: GOOD ($good_rev) is not an ancestor on BAD's ($bad_rev) first-parent chain" >&2
    exit 64
fi
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir -p "$t/cache"
default_ab() { # GOOD CANDIDATE CSV [bench options]
    local base=$1 cand=$2 csv=$3
    shift 3
    AB_CACHE=$t/cache AB_NEW_REV=$cand AB_OUT=$csv bash "$here/experiments/bench/bench_ab.sh" "$base" "$rounds" -- "$@"
}
steps=0
# regressed SHA: 0 when the A/B flags the point at SHA against GOOD, 1 when not; exits on
# a failed A/B.
regressed() {
    local sha=$1 csv=$t/step-$steps.csv rc=0
    steps=$((steps + 1))
    echo "step $steps: $(g log -1 --format='%h %s' "$sha")" >&2
    if [ -n "${BISECT_AB:-}" ]; then $BISECT_AB "$good" "$sha" "$csv" >"$t/ab.log" 2>&1 || rc=$?
    else default_ab "$good" "$sha" "$csv" "${bench_args[@]}" >"$t/ab.log" 2>&1 || rc=$?; fi
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
        echo "bench_bisect.sh: the A/B of $sha against GOOD failed (exit $rc):" >&2
        tail -n 5 "$t/ab.log" >&2
        exit "$rc"
    fi
    if awk -F, -v p="$point" '!/^#/ && $NF == "regression" && (p == "" || index($0, p)) {f = 1} END {exit !f}' "$csv"; then
        echo "  regressed" >&2; return 0
    fi
    echo "  not regressed" >&2; return 1
}
bench_args=("$@")
lo=-1 hi=$((${#list[@]} - 1))
if ! regressed "$bad"; then
    echo "bench_bisect.sh: BAD ($bad_rev) shows no regression${point:+ of '$point'} against GOOD ($good_rev)" >&2
    exit 1
fi
while [ $((hi - lo)) -gt 1 ]; do
    mid=$(( (lo + hi) / 2 ))
    if regressed "${list[$mid]}"; then hi=$mid; else lo=$mid; fi
done
echo "$steps A/B runs over ${#list[@]} commits"
echo "first bad commit: ${list[$hi]}"
