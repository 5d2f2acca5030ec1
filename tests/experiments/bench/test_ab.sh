#!/usr/bin/env bash
# The A/B scripts' refusals, which come before anything is built or timed, and the
# calibration's counting on synthetic verdict files. No benchmark runs here.
source "$(dirname "$0")/../../lib/lib.sh"
AB=experiments/bench/bench_ab.sh
CAL=experiments/bench/bench_calibrate.sh

expect_rc 64 "odd rounds refused" bash "$AB" HEAD 3
expect_msg "odd rounds" "ROUNDS must be even"
expect_rc 64 "zero rounds" bash "$AB" HEAD 0
expect_rc 64 "not a commit" bash "$AB" nosuchrev 2
AB_NEW_REV=nosuchrev expect_rc 64 "AB_NEW_REV not a commit" bash "$AB" HEAD 2
# one sample a side per round (a run's median): 6 rounds give 2/C(12,6) = 0.0022 > alpha
# 0.002, so 6 is refused and 8 asked for (7 needed, rounds even); 4 at alpha 0.05 reaches
# 2/C(8,4) = 0.029; the repetitions per run do not count
expect_rc 4 "6 rounds cannot reach alpha" bash "$AB" HEAD 6
expect_msg "rounds needed" "needs 7: use ROUNDS=8"
AB_REPS=9 expect_rc 4 "repetitions are not samples" bash "$AB" HEAD 4
expect_msg "rounds needed" "use ROUNDS=8"
AB_COMPARE="--alpha 0.05" expect_rc 4 "alpha passed to the power check" bash "$AB" HEAD 2
expect_msg "rounds needed at alpha 0.05" "needs 4: use ROUNDS=4"

# paired: the sample is again the run (its median over AB_REPS), a round's two sides a pair;
# the signed-rank test needs 10 pairs at alpha 0.002 (2/2^10 = 0.00195), so 8 paired rounds
# are refused and 10 asked for, and repetitions do not make up for rounds
AB_PAIRED=1 expect_rc 4 "8 paired rounds cannot reach alpha" bash "$AB" HEAD 8
expect_msg "paired rounds needed" "8 paired rounds give 8 samples a side.*needs 10: use ROUNDS=10"
AB_PAIRED=1 AB_REPS=15 expect_rc 4 "paired repetitions are not pairs" bash "$AB" HEAD 2
expect_msg "paired repetitions" "needs 10: use ROUNDS=10"

# the pooling: one row per run and point, rep = the run, seconds = the median of the run's
# repetitions (odd count: the middle one; even: the mean of the middle two); the first
# file's comment and header lines kept once
POOL=experiments/bench/bench_ab_pool.sh
printf '# c\nprotocol,method,n,rep,seconds\nlayer,full,256,0,3\nlayer,full,256,1,1\nlayer,full,256,2,2\nlayer,lin,256,0,7\n' >"$T/r1.csv"
printf '# c\nprotocol,method,n,rep,seconds\nlayer,full,256,0,5\nlayer,full,256,1,4\nlayer,lin,256,0,8\n' >"$T/r2.csv"
expect_rc 0 "pool two runs" bash "$POOL" "$T/r1.csv" "$T/r2.csv"
want=$'# c\nprotocol,method,n,rep,seconds\nlayer,full,256,1,2\nlayer,lin,256,1,7\nlayer,full,256,2,4.5\nlayer,lin,256,2,8'
[ "$(cat "$T/out")" = "$want" ] && ok || bad "pooled rows: $(tr '\n' '|' <"$T/out")"
expect_rc 64 "pool without files" bash "$POOL"
expect_rc 66 "pool an unreadable file" bash "$POOL" "$T/nosuch.csv"

# paired pooling, why: 12 A/A rounds of 5 repetitions in which each round's new side carries
# an offset of its own shared by its 5 repetitions (where its buffers landed), 0.85-1.30x,
# above 1 in 9 rounds of 12 (chance does that: p = 0.07 by the sign test), plus 0.4% jitter.
# Every repetition a pair (60 pairs), the signed-rank test takes the offsets for an effect
# and flags the point (ratio ~1.15); one pair per round (the medians) it sees 12 exchangeable
# log ratios, p ~0.04, and says "same".
$PY - "$T/rep" "$T/run" <<'PYEOF'
import os, sys
off = [1.30, 1.18, 0.85, 1.25, 1.12, 0.90, 1.22, 1.15, 1.28, 0.88, 1.20, 1.10]
jit = [1.000, 1.004, 0.996, 1.002, 0.998]
for d in sys.argv[1:]:
    os.makedirs(d + "/base", exist_ok=True); os.makedirs(d + "/new", exist_ok=True)
h = "protocol,method,n,rep,seconds\n"
rep_b = open(sys.argv[1] + "/base/bench.csv", "w"); rep_n = open(sys.argv[1] + "/new/bench.csv", "w")
run_b = open(sys.argv[2] + "/base/bench.csv", "w"); run_n = open(sys.argv[2] + "/new/bench.csv", "w")
for f in (rep_b, rep_n, run_b, run_n): f.write(h)
med = lambda v: sorted(v)[len(v) // 2]
for r in range(12):
    b = [1 + 0.3 * ((r * 5 + j) % 7) for j in range(5)]  # the machine's spells, shared by a pair
    n = [b[j] * off[r] * jit[j] for j in range(5)]
    for j in range(5):
        rep_b.write(f"layer,full,512,{r * 5 + j},{b[j]:.6f}\n"); rep_n.write(f"layer,full,512,{r * 5 + j},{n[j]:.6f}\n")
    run_b.write(f"layer,full,512,{r},{med(b):.6f}\n"); run_n.write(f"layer,full,512,{r},{med(n):.6f}\n")
PYEOF
expect_rc 1 "per-repetition pairs take a round's offset for an effect" "$LB" compare --paired "$T/rep/base" "$T/rep/new"
expect_rc 0 "per-round pairs: an A/A with round offsets is same" "$LB" compare --paired "$T/run/base" "$T/run/new"

# calibration summary: 2 A/A files (1 of 6 points flagged), 2 injected runs (the slowed
# linformer points: 3 of 4 caught, all of them in 1 of 2 runs; 1 other point flagged)
out=$T/cal; mkdir -p "$out"
h="protocol,method,share,n,k,d,heads,batch,layers,threads,base_median,new_median,ratio,ratio_lo,ratio_hi,p,verdict"
row() { echo "layer,$1,none,$2,0,64,12,1,1,2,1,1,${4:-1},0.5,1.5,0.001,$3"; }
{ echo "# x"; echo "$h"; row full 512 same; row stream 512 same; row linformer 512 improved; } >"$out/aa-1.csv"
{ echo "$h"; row full 512 same; row stream 512 same; row linformer 512 same; row full 1024 only_new; } >"$out/aa-2.csv"
{ echo "$h"; row linformer 512 regression 1.2; row linformer 1024 regression 1.1; row full 512 same 1.0; } >"$out/inj-1.csv"
{ echo "$h"; row linformer 512 regression 1.3; row linformer 1024 same 1.15; row full 512 regression 0.9; } >"$out/inj-2.csv"
CAL_OUT=$out expect_rc 0 "calibration summary of existing verdicts" bash "$CAL" 0 0
grep -q "A/A: 6 points compared, 1 flagged: false-alarm rate 16.67%" "$out/summary.txt" && ok || bad "A/A count: $(cat "$out/summary.txt")"
grep -q "4 slowed points, 3 flagged: detection 75.0%; all slowed points caught in 1 of 2 runs (50.0%.*other points flagged: 1 of 2" \
    "$out/summary.txt" && ok || bad "injected count: $(cat "$out/summary.txt")"
# the knob's stretch as seen: the ratios (13th column) of the 4 slowed points (1.1, 1.15,
# 1.2, 1.3: lower median 1.15, 10th and 90th percentiles the 1st and 3rd) and the 2 others
grep -q "ratio new/base of the slowed points: median 1.150 (10th-90th percentile 1.100-1.200, 4 points)" "$out/summary.txt" &&
    grep -q "ratio new/base of the other points: median 0.900 (10th-90th percentile 0.900-0.900, 2 points)" "$out/summary.txt" && ok ||
    bad "injected ratios: $(cat "$out/summary.txt")"
# it resumes: with every comparison asked for already there (2 + 2), it runs none (no
# build, no bench: the "A/A 1/2" progress line never appears) and sums the same files
cp "$out/summary.txt" "$T/summary0"
CAL_OUT=$out expect_rc 0 "calibration resumed with nothing left to run" bash "$CAL" 2 2
grep -q 'A/A [0-9]\|injected linformer:1.15 [0-9]' "$T/err" && bad "resumed calibration ran a comparison again" || ok
diff <(grep -v '^#' "$T/summary0") <(grep -v '^#' "$out/summary.txt") >/dev/null && ok ||
    bad "resumed calibration's summary differs"
# no A/A comparisons yet: the injected ones are still summed
mkdir -p "$T/cal2"; cp "$out"/inj-*.csv "$out/machine.txt" "$out/settings.txt" "$T/cal2/"
CAL_OUT=$T/cal2 expect_rc 0 "summary without A/A files" bash "$CAL" 0 2
grep -q "A/A: 0 points compared" "$T/cal2/summary.txt" && grep -q "4 slowed points, 3 flagged" "$T/cal2/summary.txt" && ok ||
    bad "summary without A/A files: $(cat "$T/cal2/summary.txt")"
# other settings than the folder's comparisons are refused (exit 64), naming the field
CAL_OUT=$out AB_ROUNDS=16 expect_rc 64 "calibration with other rounds" bash "$CAL" 2 2
expect_msg "differing setting" "AB_ROUNDS: 16"
# a folder measured on another machine is refused (exit 3), naming the differing field
sed -i 's/^cpus: .*/cpus: 4096/' "$out/machine.txt"
CAL_OUT=$out expect_rc 3 "calibration folder of another machine" bash "$CAL" 2 2
expect_msg "differing field" "cpus: 4096"
# the first paired design's folder (pairs were repetitions) is not pooled with the current one
printf 'AB_PAIRED: 1\nAB_ROUNDS: 12\nAB_REPS: 3\nCAL_SLOW: linformer:1.15\nbench options: --protocol layer -n 256,512,1024,2048,4096\n' >"$T/cal2/settings.txt"
CAL_OUT=$T/cal2 AB_PAIRED=1 expect_rc 64 "paired calibration folder of the first design" bash "$CAL" 0 2
expect_msg "first paired design" "paired sample: run"
expect_rc 64 "calibration: bad count" bash "$CAL" x
finish
