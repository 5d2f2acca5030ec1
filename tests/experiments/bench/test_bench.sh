#!/usr/bin/env bash
# Command-line tests of `linbench compare` (synthetic results) and `linbench bench`
# (--preset quick output files, bad arguments). Never asserts on timing values.
source "$(dirname "$0")/../../lib/lib.sh"

# --- compare on synthetic results --------------------------------------------
# csv FILE SCALE VALUES...: one point (layer,full,...) with the samples VALUES*SCALE,
# plus a second point that never changes.
csv() {
    local f=$1 s=$2; shift 2
    { echo "# synthetic"; echo "protocol,method,share,n,k,d,heads,batch,layers,threads,rep,seconds"
      local r=0
      for v in "$@"; do
          awk -v v="$v" -v s="$s" -v r="$r" 'BEGIN{printf "layer,full,none,512,0,64,12,1,1,2,%d,%.9g\n", r, v*s}'
          awk -v v="$v" -v r="$r" 'BEGIN{printf "layer,stream,none,512,0,64,12,1,1,2,%d,%.9g\n", r, v}'
          r=$((r + 1))
      done; } >"$f"
}
clean="1.000 1.003 1.001 1.006 1.002 1.004 1.008 1.005 1.007"
csv "$T/base.csv" 1 $clean
csv "$T/same.csv" 1 $clean
csv "$T/slow.csv" 1.5 $clean
csv "$T/bit.csv" 1.05 $clean
csv "$T/fast.csv" 0.5 $clean
expect_rc 0 "identical results" "$LB" compare "$T/base.csv" "$T/same.csv"
# nine clean samples pin the ratio: the 95% interval lies inside [1/1.1, 1.1], no caveat
grep -q "cannot rule out" "$T/out" && bad "identical clean results called inconclusive" || ok
expect_rc 1 "1.5x slower, 9 clean samples" "$LB" compare "$T/base.csv" "$T/slow.csv"
grep -q REGRESSION "$T/out" && ok || bad "regression not named in the table"
expect_rc 0 "1.05x slower is under the factor" "$LB" compare "$T/base.csv" "$T/bit.csv"
expect_rc 0 "2x faster is an improvement, not a failure" "$LB" compare "$T/base.csv" "$T/fast.csv"
grep -q improved "$T/out" && ok || bad "improvement not named"
expect_rc 1 "factor option" "$LB" compare --factor 1.01 "$T/base.csv" "$T/bit.csv"
# noisy: the medians differ by ~1.4x but the samples overlap: U test does not reject
{ echo "protocol,method,share,n,k,d,heads,batch,layers,threads,rep,seconds"; r=0
  for v in 1.0 1.02 1.04 1.06 1.08 1.6 1.7 1.8 1.9; do echo "layer,full,none,512,0,64,12,1,1,2,$r,$v"; r=$((r+1)); done; } >"$T/noisyA.csv"
{ echo "protocol,method,share,n,k,d,heads,batch,layers,threads,rep,seconds"; r=0
  for v in 1.01 1.03 1.05 1.07 1.5 1.55 1.65 1.75 1.85; do echo "layer,full,none,512,0,64,12,1,1,2,$r,$v"; r=$((r+1)); done; } >"$T/noisyB.csv"
expect_rc 0 "noisy large ratio with overlap" "$LB" compare "$T/noisyA.csv" "$T/noisyB.csv"
# ... and says that "same" here only means "not flagged": the interval reaches past 1.1
grep -q "1 of the 1 unchanged cannot rule out a change past the factor" "$T/out" && ok ||
    bad "noisy 'same' without the caveat that its interval is wide"
# --paired: 15 pairs whose members share a slow spell (the spell factor runs 0.6-1.6, so
# the two sides' samples overlap and the unpaired test cannot separate them), the new
# member 1.15x the base one within 1%: paired, every log ratio is ~0.14, so the
# Hodges-Lehmann ratio is 1.15 and the signed-rank p is 2/2^15: flagged. The same pairs
# without the slowdown (the 1% jitter only) are "same".
spells="1.0 1.6 0.7 1.3 0.6 1.1 1.5 0.8 1.2 0.9 1.4 0.65 1.05 1.35 0.75"
csv "$T/pb.csv" 1 $spells
set -- $spells; jit=(1.004 0.997 1.009 0.992 1.001 1.006 0.995 1.008 0.993 1.002 0.999 1.007 0.994 1.003 0.996)
sl=(); aa=(); i=0
for s in "$@"; do sl+=("$(awk -v s="$s" -v j="${jit[$i]}" 'BEGIN{printf "%.6f", s * 1.15 * j}')")
    aa+=("$(awk -v s="$s" -v j="${jit[$i]}" 'BEGIN{printf "%.6f", s * j}')"); i=$((i + 1)); done
csv "$T/pslow.csv" 1 "${sl[@]}"
csv "$T/paa.csv" 1 "${aa[@]}"
expect_rc 0 "shared spells, 15% slower: unpaired test cannot see it" "$LB" compare "$T/pb.csv" "$T/pslow.csv"
expect_rc 1 "shared spells, 15% slower: paired test flags it" "$LB" compare --paired --out "$T/pv.csv" "$T/pb.csv" "$T/pslow.csv"
$PY - "$T/pv.csv" <<'PYEOF' && ok || bad "--paired verdict CSV: wrong ratio, interval or p"
import csv, sys
v = {r["method"]: r for r in csv.DictReader(l for l in open(sys.argv[1]) if not l.startswith("#"))}
f = v["full"]
assert f["verdict"] == "regression" and abs(float(f["ratio"]) - 1.15) < 0.01, f
assert 1.13 < float(f["ratio_lo"]) <= 1.15 <= float(f["ratio_hi"]) < 1.17, f
assert abs(float(f["p"]) - 2 / 2 ** 15) < 1e-12, f  # every log ratio positive: exact p
assert v["stream"]["verdict"] == "regression", v["stream"]  # csv() gives it the same samples
PYEOF
expect_rc 0 "shared spells, A/A with 1% jitter: paired says same" "$LB" compare --paired "$T/pb.csv" "$T/paa.csv"
csv "$T/p9.csv" 1 1 2 3 4 5 6 7 8 9
expect_rc 4 "9 pairs cannot reach alpha 0.002" "$LB" compare --paired "$T/p9.csv" "$T/p9.csv"
expect_msg "9 pairs cannot reach alpha 0.002" "at least 10 pairs"
expect_rc 65 "--paired with unequal counts" "$LB" compare --paired "$T/pb.csv" "$T/p9.csv"
expect_msg "--paired with unequal counts" "same count"
# few samples: a comparison that cannot reach alpha refuses (exit 4) and says how many
csv "$T/few.csv" 1 1.0 1.001 1.002
csv "$T/fewslow.csv" 2 1.0 1.001 1.002
expect_rc 4 "3 samples cannot reach alpha: refused" "$LB" compare "$T/few.csv" "$T/fewslow.csv"
expect_msg "3 samples refused" "at least 7 samples"
expect_rc 0 "3 samples reach alpha = 0.2" "$LB" compare --alpha 0.2 "$T/few.csv" "$T/few.csv"
# the issue's case: 6 a side, smallest p 2/C(12,6) = 0.0022 > 0.002; 7 a side reaches it
six="1.000 1.003 1.001 1.006 1.002 1.004"
csv "$T/six.csv" 1 $six; csv "$T/sixslow.csv" 1.5 $six
expect_rc 4 "6 samples a side cannot reach 0.002" "$LB" compare "$T/six.csv" "$T/sixslow.csv"
csv "$T/seven.csv" 1 $six 1.005; csv "$T/sevenslow.csv" 1.5 $six 1.005
expect_rc 1 "7 samples a side flag a 1.5x slowdown" "$LB" compare "$T/seven.csv" "$T/sevenslow.csv"
grep -q "fewer than 9" "$T/err" && ok || bad "no warning for < 9 samples"

# --- compare: machine fingerprints (bench.json beside bench.csv) ------------------
# res DIR SCALE MODEL PEAK: a bench folder of 9 clean samples x SCALE for two points and
# a bench.json whose fingerprint has cpuid model MODEL and FMA peak PEAK at 2 threads
# (PEAK "none": no peak; MODEL "none": metadata written before fingerprints).
res() {
    mkdir -p "$1"; csv "$1/bench.csv" "$2" $clean
    $PY - "$1/bench.json" "$3" "$4" <<'PYEOF'
import json, sys
path, model, peak = sys.argv[1:4]
fp = {"id": "x", "vendor": "AuthenticAMD", "family": 25, "model": 0, "stepping": 1,
      "model_name": "AMD EPYC", "flags": "avx fma avx2", "microcode": "0x1", "l1d_kib": 32,
      "l1i_kib": 32, "l2_kib": 512, "l3_kib": 32768, "cores": 2, "threads": 2, "mem_mib": 24105,
      "kernel": "Linux 6 x86_64", "blas_core": "Haswell", "blas_threads": 2, "compiler": "gcc 12",
      "cflags": "-O2", "fma_peak": []}
meta = {"git_commit": "x"}
if model != "none":
    fp["model"] = int(model)
    if peak != "none":
        fp["fma_peak"] = [{"threads": 2, "fma256_gflops": float(peak), "fma512_gflops": None}]
    meta["fingerprint"] = fp
json.dump({"meta": meta}, open(path, "w"))
PYEOF
}
res "$T/m1" 1 1 200
res "$T/m1same" 1 1 190       # same machine, a slightly different measured peak
res "$T/m1slow" 1.5 1 200
res "$T/m17" 1 17 200         # another model: family 25 model 17
res "$T/m17slow2" 2 17 100    # twice the time on a machine of half the peak: same fraction
res "$T/m17slow" 2 17 200     # twice the time at the same peak: a regression
res "$T/m17nopeak" 1 17 none
res "$T/old" 1 none none
expect_rc 0 "same fingerprint" "$LB" compare "$T/m1" "$T/m1same"
expect_rc 1 "same fingerprint, 1.5x slower" "$LB" compare "$T/m1" "$T/m1slow"
expect_rc 1 "bench.csv named as a file finds its bench.json" "$LB" compare "$T/m1/bench.csv" "$T/m1slow/bench.csv"
expect_rc 3 "different cpuid model: refused" "$LB" compare "$T/m1" "$T/m17"
expect_msg "refusal lists the field" "model ('1' vs '17')"
expect_rc 3 "one side without a fingerprint: refused" "$LB" compare "$T/old" "$T/m1"
expect_msg "refusal says why" "BASE has no fingerprint (bench.json written before fingerprints)"
expect_rc 0 "other machine allowed: 2x time at half the peak is the same fraction" \
    "$LB" compare --allow-other-machine "$T/m1" "$T/m17slow2"
expect_msg "machine-relative announced" "fraction of its own run's FMA peak"
expect_rc 1 "other machine allowed: 2x time at the same peak regressed" \
    "$LB" compare --allow-other-machine "$T/m1" "$T/m17slow"
expect_rc 65 "other machine allowed but no peak" "$LB" compare --allow-other-machine "$T/m1" "$T/m17nopeak"
expect_msg "missing peak named" "NEW lacks it for 2 threads"
echo '{"meta": ' >"$T/m1same/bench.json"
expect_rc 65 "malformed bench.json" "$LB" compare "$T/m1" "$T/m1same"
expect_msg "malformed bench.json named" "m1same/bench.json"
# --out: the verdicts as CSV, key columns first
expect_rc 1 "compare --out" "$LB" compare --out "$T/verdicts.csv" "$T/m1" "$T/m1slow"
$PY - "$T/verdicts.csv" <<'PYEOF' && ok || bad "--out CSV has the wrong rows"
import csv, sys
rows = list(csv.DictReader(l for l in open(sys.argv[1]) if not l.startswith("#")))
v = {r["method"]: r for r in rows}
assert len(rows) == 2 and v["full"]["verdict"] == "regression" and v["stream"]["verdict"] == "same", rows
assert abs(float(v["full"]["ratio"]) - 1.5) < 1e-6 and v["full"]["threads"] == "2", v["full"]
# the 95% interval of new/base holds the true 1.5 and excludes 1; the unchanged point's holds 1
lo, hi = float(v["full"]["ratio_lo"]), float(v["full"]["ratio_hi"])
assert 1 < lo <= 1.5 <= hi < 2, (lo, hi)
lo, hi = float(v["stream"]["ratio_lo"]), float(v["stream"]["ratio_hi"])
assert lo <= 1 <= hi, (lo, hi)
PYEOF

# bad input
expect_rc 66 "missing file" "$LB" compare "$T/nope.csv" "$T/base.csv"
expect_msg "missing file"
printf 'protocol,method,seconds\nlayer,full\n' >"$T/short.csv"
expect_rc 65 "row with too few fields" "$LB" compare "$T/short.csv" "$T/base.csv"
printf 'protocol,method,seconds\nlayer,full,abc\n' >"$T/nan.csv"
expect_rc 65 "non-numeric seconds" "$LB" compare "$T/base.csv" "$T/nan.csv"
printf 'a,b,c\n1,2,3\n' >"$T/nosec.csv"
expect_rc 65 "no seconds column" "$LB" compare "$T/nosec.csv" "$T/base.csv"
: >"$T/empty.csv"
expect_rc 65 "empty file" "$LB" compare "$T/empty.csv" "$T/base.csv"
expect_msg "empty file"
expect_rc 64 "one argument" "$LB" compare "$T/base.csv"
expect_rc 64 "bad factor" "$LB" compare --factor 0.5 "$T/base.csv" "$T/same.csv"
expect_rc 0 "compare --help" "$LB" compare --help

# --- bench --preset quick ------------------------------------------------------
expect_rc 0 "bench --preset quick" "$LB" bench --preset quick --out "$T/q" --no-progress
for f in bench.csv summary.csv table3.csv bench.json; do
    [ -s "$T/q/$f" ] && ok || bad "quick: $f missing"
done
# quick: layer n = 64,96 with full, stream, linformer k = 16,32 (8 points) and table3
# n = 64 with full, stream, linformer k = 16, materialise (4 points); 3 repetitions each.
$PY - "$T/q" <<'PYEOF' && ok || bad "quick: result files do not parse or have the wrong rows"
import csv, json, sys
d = sys.argv[1]
j = json.load(open(d + "/bench.json"))
assert "git_commit" in j["meta"] and j["params"]["reps"] == 3, j["params"]
pts = j["points"]
assert len(pts) == 12, len(pts)
p = j["params"]
assert p["table3_budget_bytes"] == 256 * 2**20 and p["table3_budget_note"], p
assert p["table3_methods"] == ["full", "stream", "linformer", "materialise"], p
assert p["stream_kernel"] in ("sgemm", "fused-avx2", "fused-avx512"), p
t3p = [x for x in pts if x["protocol"] == "table3"]
assert all(x["batch_fit"] >= x["batch"] >= 1 for x in t3p), t3p
assert all(p["status"] == "ok" and len(p["samples_s"]) == 3 for p in pts), pts
rows = [r for r in csv.DictReader(l for l in open(d + "/bench.csv") if not l.startswith("#"))]
assert len(rows) == 36, len(rows)
assert all(float(r["seconds"]) > 0 for r in rows)
summ = [r for r in csv.DictReader(l for l in open(d + "/summary.csv") if not l.startswith("#"))]
assert len(summ) == 12 and {r["method"] for r in summ} == {"full", "stream", "linformer", "materialise"}
t3 = [r for r in csv.DictReader(l for l in open(d + "/table3.csv") if not l.startswith("#"))]
# one row per baseline; the ratios follow from the points' batches and times
assert [r["baseline"] for r in t3] == ["materialise", "full", "stream"], t3
by = {(x["method"]): x for x in t3p}
for r in t3:
    b, l = by[r["baseline"]], by["linformer"]
    assert r["status"] == "ok" and r["k"] == "16", r
    assert abs(float(r["memory_saved_batch_x"]) - l["batch_fit"] / b["batch_fit"]) < 1e-6, r
    want = (b["median_s"] / b["batch"]) / (l["median_s"] / l["batch"])
    assert abs(float(r["time_saved_x"]) / want - 1) < 1e-6, (r, want)
    want = (b["flops"] / b["batch"]) / (l["flops"] / l["batch"])
    assert abs(float(r["predicted_compute_x"]) / want - 1) < 1e-6, (r, want)
assert len(j["crossovers"]) == 4, j["crossovers"]
# the fingerprint: cpuid facts and the FMA peak at the run's thread count (2 here, from
# the preset's omp threads), with every point's frac_peak = gflops / peak_gflops
fp = j["meta"]["fingerprint"]
for key in ("vendor", "family", "model", "stepping", "flags", "microcode", "l1d_kib", "l3_kib",
            "cores", "threads", "mem_mib", "kernel", "blas_core", "blas_threads", "compiler", "cflags", "id"):
    assert key in fp, key
ts = {p["threads"] for p in pts}
peaks = {e["threads"]: e for e in fp["fma_peak"]}
assert ts <= set(peaks), (ts, peaks)
for p in pts:
    e = peaks[p["threads"]]
    best = max(x for x in (e["fma256_gflops"], e["fma512_gflops"]) if x is not None)
    assert best > 0 and abs(p["peak_gflops"] - best) <= 1e-6 * best, (p, e)
    assert abs(p["frac_peak"] - p["gflops"] / p["peak_gflops"]) <= 1e-6 * p["frac_peak"], p
for r in summ:
    assert abs(float(r["frac_peak"]) - float(r["gflops"]) / float(r["peak_gflops"])) <= 1e-6 * float(r["frac_peak"]), r
assert j["params"]["test_slowdown"] is None
assert len(j["sgemm_rates"]) == 2 and all(r["gflops"] > 0 for r in j["sgemm_rates"]), j["sgemm_rates"]
PYEOF
grep -q "^# fingerprint: [0-9a-f]\{16\}$" "$T/q/bench.csv" && ok || bad "quick: no fingerprint comment in bench.csv"
grep -q "^# git_commit" "$T/q/bench.csv" && ok || bad "quick: no metadata comments in bench.csv"
# the approximations: layer protocol only, sized by the same -k grid (k = w = m)
expect_rc 0 "bench quick, approximations" "$LB" bench --preset quick --protocol layer \
    --methods full,local,nystrom,performer,scatterbrain --out "$T/qa" --no-progress
$PY - "$T/qa" <<'PYEOF' && ok || bad "quick approximations: wrong points or flop counts"
import json, sys
pts = json.load(open(sys.argv[1] + "/bench.json"))["points"]
# n = 64, 96: full + 4 methods x k = 16, 32
assert len(pts) == 18 and all(p["status"] == "ok" for p in pts), [(p["method"], p["status"]) for p in pts]
B, H, d = 1, 2, 16
for p in pts:
    n, k, m = p["n"], p["k"], p["method"]
    c = min(k, n - 1)
    W = n * (2 * c + 1) - c * (c + 1)
    want = {"full": 4 * B * H * n * n * d, "local": 4 * B * H * W * d,
            "nystrom": B * H * (8 * n * k * d + 4 * k * k * d + 48 * k ** 3),
            "performer": B * H * (8 * n * k * d + 4 * n * k),
            "scatterbrain": B * H * (8 * n * k * d + 4 * n * k + W * (4 * d + 2 * k))}[m]
    assert abs(p["flops"] - want) <= 1e-9 * want, (m, n, k, p["flops"], want)
PYEOF
# --turn: two runs on one grid take turns over two FIFOs (bench-ab's paired mode). Both
# finish with results whose bench.json records the side and the same number of turns:
# 1 (FMA peaks) + per group 1 (inputs) + 3 starts + 3 reps x 3 points = 1 + 2 x 13 = 27.
# Grids that differ stop both at the first unlike turn (exit 70, no output: the diverging
# side names the turn, and its stop token ends the other at once, not after its timeout);
# a side alone waits --turn-timeout for a token that never comes, then fails the same way.
PAIR=(bench --protocol layer -n 64,96 -k 16 --reps 3 --sgemm-reps 0 --no-progress -q)
mkfifo "$T/ab" "$T/ba"
"$LB" "${PAIR[@]}" --turn "first:$T/ba:$T/ab" --out "$T/p1" >"$T/p1.log" 2>&1 & pid=$!
expect_rc 0 "paired run, second side" "$LB" "${PAIR[@]}" --turn "second:$T/ab:$T/ba" --out "$T/p2"
wait "$pid" && ok || bad "paired run, first side failed: $(cat "$T/p1.log")"
$PY - "$T/p1" "$T/p2" <<'PYEOF' && ok || bad "paired runs: sides or turn counts wrong"
import json, sys
a, b = (json.load(open(d + "/bench.json"))["params"]["paired"] for d in sys.argv[1:3])
assert a == {"side": "first", "turns": 27} and b == {"side": "second", "turns": 27}, (a, b)
PYEOF
rm -f "$T/ab" "$T/ba"; mkfifo "$T/ab" "$T/ba"
"$LB" "${PAIR[@]}" --turn "first:$T/ba:$T/ab" --turn-timeout 60 --out "$T/p3" >"$T/p3.log" 2>&1 & pid=$!
expect_rc 70 "paired runs on different grids" "$LB" "${PAIR[@]/64,96/64,128}" --turn "second:$T/ab:$T/ba" \
    --turn-timeout 60 --out "$T/p4"
expect_msg "paired runs on different grids" "diverged"
wait "$pid"; [ $? -eq 70 ] && grep -q "the other side failed" "$T/p3.log" && ok ||
    bad "paired: the first side did not stop on the other's failure: $(cat "$T/p3.log")"
[ ! -e "$T/p3" ] && [ ! -e "$T/p4" ] && ok || bad "a failed paired run left results"
rm -f "$T/ab" "$T/ba"; mkfifo "$T/ab" "$T/ba"
expect_rc 70 "paired run alone" "$LB" "${PAIR[@]}" --turn "first:$T/ba:$T/ab" --turn-timeout 1 --out "$T/p5"
expect_msg "paired run alone" "no token within the timeout"
expect_rc 64 "bad --turn" "$LB" "${PAIR[@]}" --turn "third:a:b" --out "$T/p6"
expect_msg "bad --turn" "first|second"
expect_rc 4 "quick (3 reps) compared with itself: refused, too few samples" "$LB" compare "$T/q" "$T/q"
expect_rc 0 "quick compared with itself at alpha 0.2" "$LB" compare --alpha 0.2 "$T/q" "$T/q"
expect_rc 0 "bench --help" "$LB" bench --help
grep -q -- "--preset" "$T/out" && ok || bad "bench --help does not list --preset"
expect_rc 0 "bench --version" "$LB" bench --version
# --plan: the cells and batches without running; a cell that cannot fit says why
expect_rc 0 "bench --plan" "$LB" bench --preset paper --plan
grep -q "materialise .*does not fit: one sequence needs" "$T/out" && ok || bad "plan: no unfit materialise cell"
grep -q "estimated total" "$T/out" && ok || bad "plan: no estimate"

# --- bench: bad arguments -> message, non-zero exit, no output folder ------------
badarg() { # name, args...
    local name=$1; shift
    rm -rf "$T/bad"
    "$LB" bench --preset quick --out "$T/bad" --no-progress "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" -ne 0 ]; then ok; else bad "bench $name: exit 0"; fi
    expect_msg "bench $name"
    [ ! -e "$T/bad" ] && ok || bad "bench $name: left output behind"
}
badarg "k > n" --n 128 --k 256
badarg "n = 0" --n 0
badarg "n = -1" --n -1
badarg "malformed list" --n 12,,4
badarg "unknown method" --methods full,fast
badarg "k > n, approximations" --methods local,performer --protocol layer --n 64 --k 65
badarg "unknown t3 method" --t3-methods materialise,fast
badarg "t3 k not below n" --protocol table3 --t3-n 64 --t3-k 64
badarg "budget too small" --budget 1K
badarg "t3 budget too small" --protocol table3 --t3-budget 64K
badarg "bad size" --budget lots
badarg "unknown preset" --preset huge
badarg "unknown share" --share diagonal
badarg "zero reps" --reps 0
badarg "unknown option" --frobnicate
badarg "stray argument" extra
export LB_BENCH_TEST_SLOWDOWN=fast:2; badarg "test slowdown: unknown method"
export LB_BENCH_TEST_SLOWDOWN=full:0.5; badarg "test slowdown: factor below 1"
export LB_BENCH_TEST_SLOWDOWN=full; badarg "test slowdown: no factor"
# the test-only knob: recorded wherever the results go, so they are never taken for real
export LB_BENCH_TEST_SLOWDOWN=stream:1.5
expect_rc 0 "bench with the test-only slowdown" "$LB" bench --preset quick --protocol layer --out "$T/slow" --no-progress -q
unset LB_BENCH_TEST_SLOWDOWN
expect_msg "test slowdown announced" "TEST ONLY"
grep -q "^# TEST ONLY: .*stream" "$T/slow/bench.csv" && ok || bad "slowdown not noted in bench.csv"
grep -q "^# TEST ONLY" "$T/slow/summary.csv" && ok || bad "slowdown not noted in summary.csv"
$PY -c 'import json,sys; t=json.load(open(sys.argv[1]))["params"]["test_slowdown"]; assert t=={"method":"stream","factor":1.5}, t' \
    "$T/slow/bench.json" && ok || bad "slowdown not in bench.json params"

# A k grid sizes Linformer and the approximations only: full and materialise run once per
# n, not once per k (materialise was counted as sized, making one identical cell per k).
expect_rc 0 "bench materialise with a k grid" "$LB" bench --protocol layer --methods full,materialise,linformer \
    --k 4,8 --n 16 --d 8 --heads 1 --batch 1 --threads 1 --reps 3 --out "$T/mk" --no-progress -q
$PY -c '
import csv, sys
rows = [r for r in csv.reader(l for l in open(sys.argv[1]) if not l.startswith("#"))]
head, body = rows[0], rows[1:]
m = [r[head.index("method")] for r in body]  # one row per point
assert sorted(m) == ["full", "linformer", "linformer", "materialise"], m' "$T/mk/summary.csv" && ok ||
    bad "full/materialise should run once per n under a k grid"

echo "test_bench.sh: $pass passed, $fail failed"
finish
