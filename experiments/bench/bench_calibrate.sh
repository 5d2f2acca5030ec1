#!/usr/bin/env bash
# How honest is the interleaved A/B? Measures, on this machine, with the A/B's own
# settings:
#   - the false-alarm rate: N_AA A/A comparisons (BASE and NEW the same commit, the same
#     binary), the fraction of compared points flagged (regressed or improved);
#   - the power: N_INJ comparisons in which NEW runs with the test-only knob
#     LB_BENCH_TEST_SLOWDOWN=SLOW (default linformer:1.15: every Linformer call 15%
#     longer); the fraction of slowed points flagged as regressions, the fraction of
#     runs in which every slowed point was, and the other points flagged.
#   experiments/bench/bench_calibrate.sh [N_AA] [N_INJ] [-- bench options]
# Defaults: 20 and 20, the A/B's default grid (the layer protocol of the default preset up
# to n = 4096, as `make bench-ab`), AB_ROUNDS (8) rounds each. Environment: CAL_SLOW
# (METHOD:FACTOR), CAL_OUT (folder for every comparison's verdicts and summary.txt; default
# results/ab-calibration), AB_ROUNDS, and everything bench_ab.sh reads (AB_PAIRED=1
# calibrates the paired mode; give it its own CAL_OUT). Run it on a quiet
# machine. It resumes: a comparison whose verdicts are in CAL_OUT already is not run again,
# so an interrupted calibration goes on where it stopped. A calibration describes one
# machine: CAL_OUT/machine.txt records the processor (/proc/cpuinfo), core count and memory
# of its first run, and a run on another machine is refused (exit 3) instead of pooled;
# CAL_OUT/settings.txt the rounds, repetitions, slowdown and grid, and other settings are
# refused (exit 64).
# Each comparison leaves its verdicts (NAME.csv), its log (NAME.txt) and the samples it
# judged (NAME.d/{base,new}: one row per run and point), so that its spread can be studied.
# Exit 0 when it ran (the verdict is in the summary), 3 other machine, 64 bad arguments.
set -euo pipefail
usage() { echo "usage: experiments/bench/bench_calibrate.sh [N_AA] [N_INJ] [-- bench options]" >&2; exit 64; }
naa=20 ninj=20
if [ $# -ge 1 ] && [ "$1" != "--" ]; then naa=$1; shift; fi
if [ $# -ge 1 ] && [ "$1" != "--" ]; then ninj=$1; shift; fi
[ $# -ge 1 ] && { [ "$1" = "--" ] || usage; shift; }
for v in "$naa" "$ninj"; do case $v in '' | *[!0-9]*) usage ;; esac; done
[ $# -ge 1 ] || set -- --protocol layer -n 256,512,1024,2048,4096
slow=${CAL_SLOW:-linformer:1.15}
smethod=${slow%%:*}
source "$(dirname "$0")/bench_ab_defaults.sh"
rounds=${AB_ROUNDS:-$ab_default_rounds}
cd "$(dirname "$0")/../.."
out=${CAL_OUT:-results/ab-calibration}
mkdir -p "$out"
# machine: what makes two machines' timings incomparable (the processor, its microcode,
# cores, memory); the model name alone is not enough (two different "AMD EPYC"s seen)
machine() {
    awk -F'\t*: ' '/^(vendor_id|cpu family|model|model name|stepping|microcode)\t/ && !seen[$1]++ { printf "%s: %s\n", $1, $2 }' /proc/cpuinfo
    echo "cpus: $(nproc)"
    awk '/^MemTotal:/ { print "memory_kib: " $2 }' /proc/meminfo
}
# settings: what the comparisons measure; a folder holds one design's calibration
# (AB_PAIRED only when on, so that folders of the unpaired design written before it resume;
# "paired sample: run" marks the paired design whose pairs are rounds, not repetitions, so
# that the first paired design's folder is not pooled with it; AB_REPS defaults as
# bench_ab.sh's)
settings() {
    [ "${AB_PAIRED:-0}" != 1 ] || printf 'AB_PAIRED: 1\npaired sample: run\n'
    printf 'AB_ROUNDS: %s\nAB_REPS: %s\nCAL_SLOW: %s\nbench options: %s\n' "$rounds" "${AB_REPS:-$ab_default_reps}" "$slow" "$*"
}
# same_as FILE CODE WHAT CMD...: record CMD's output in FILE on the folder's first call; on a
# later one refuse (exit CODE, the differing lines listed) when it no longer matches
same_as() {
    local file=$1 code=$2 what=$3; shift 3
    if [ ! -f "$file" ]; then "$@" >"$file"; return; fi
    "$@" | cmp -s - "$file" && return
    echo "bench_calibrate.sh: $out holds comparisons of $what; they cannot be pooled (use another CAL_OUT). Differing fields:" >&2
    "$@" | diff "$file" - | grep '^[<>]' >&2 || true
    exit "$code"
}
same_as "$out/machine.txt" 3 "another machine" machine
same_as "$out/settings.txt" 64 "other settings" settings "$@"
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
head=$(git rev-parse HEAD)
# one build, reused by every comparison (AB_CACHE): A/A is the same binary on both sides
ab() { AB_CACHE=$cache AB_NEW_REV=$head bash experiments/bench/bench_ab.sh "$head" "$rounds" -- "$@"; }
t0=$SECONDS
# compare writes its verdicts whole or not at all: a CSV there is a finished comparison
for i in $(seq 1 "$naa"); do
    [ -f "$out/aa-$i.csv" ] && continue
    echo "A/A $i/$naa ($((SECONDS - t0)) s)" >&2
    AB_OUT=$out/aa-$i.csv AB_KEEP=$out/aa-$i.d ab "$@" >"$out/aa-$i.txt" 2>&1 || true
done
for i in $(seq 1 "$ninj"); do
    [ -f "$out/inj-$i.csv" ] && continue
    echo "injected $slow $i/$ninj ($((SECONDS - t0)) s)" >&2
    AB_NEW_ENV="LB_BENCH_TEST_SLOWDOWN=$slow" AB_OUT=$out/inj-$i.csv AB_KEEP=$out/inj-$i.d ab "$@" >"$out/inj-$i.txt" 2>&1 || true
done
# verdict columns: method is the 2nd key column, verdict the last; either list may be empty
shopt -s nullglob
aa_files=("$out"/aa-*.csv)
inj_files=("$out"/inj-*.csv)
{
    echo "# bench_calibrate.sh $naa $ninj -- $*; AB_ROUNDS=$rounds; CAL_SLOW=$slow; commit $head; $(date -u +%FT%TZ); this call $((SECONDS - t0)) s"
    cat "${aa_files[@]}" /dev/null | awk -F, '!/^#/ && !/^protocol,/ && $NF != "only_base" && $NF != "only_new" {
        n++; if ($NF != "same") f++ } END {
        printf "A/A: %d points compared, %d flagged: false-alarm rate %.2f%% (target < 1%%)\n", n, f, n ? 100 * f / n : 0 }'
    for f in "${inj_files[@]}"; do echo "== $f"; cat "$f"; done | awk -F, -v m="$smethod" '
        /^== / { runs++; next } /^#/ || /^protocol,/ || $NF == "only_base" || $NF == "only_new" { next }
        $2 == m { s++; if ($NF == "regression") d++; else miss[runs] = 1; next }
        { o++; if ($NF != "same") of++ }
        END { allc = 0; for (r = 1; r <= runs; r++) if (!(r in miss)) allc++
              printf "injected %s: %d slowed points, %d flagged: detection %.1f%%; all slowed points caught in %d of %d runs (%.1f%%, target >= 95%%); other points flagged: %d of %d\n",
                     "'"$slow"'", s, d, s ? 100 * d / s : 0, allc, runs, runs ? 100 * allc / runs : 0, of, o }'
    # the knob's stretch as the A/B saw it: the ratio column (13th) of the slowed points and
    # of the others, median and 10th-90th percentile
    for who in slowed other; do
        for f in "${inj_files[@]}"; do cat "$f"; done | awk -F, -v m="$smethod" -v who="$who" \
            '!/^#/ && !/^protocol,/ && $NF != "only_base" && $NF != "only_new" && ($2 == m) == (who == "slowed") { print $13 }' |
            sort -g | awk -v who="$who" '{ v[++n] = $1 } END { if (n) printf "injected: ratio new/base of the %s points: median %.3f (10th-90th percentile %.3f-%.3f, %d points)\n",
                who, v[int((n + 1) / 2)], v[int(0.1 * (n - 1)) + 1], v[int(0.9 * (n - 1)) + 1], n }'
    done
} | tee "$out/summary.txt"
