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

# calibration summary: 2 A/A files (1 of 6 points flagged), 2 injected runs (the slowed
# linformer points: 3 of 4 caught, all of them in 1 of 2 runs; 1 other point flagged)
out=$T/cal; mkdir -p "$out"
h="protocol,method,share,n,k,d,heads,batch,layers,threads,base_median,new_median,ratio,ratio_lo,ratio_hi,p,verdict"
row() { echo "layer,$1,none,$2,0,64,12,1,1,2,1,1,1,0.5,$3"; }
{ echo "# x"; echo "$h"; row full 512 same; row stream 512 same; row linformer 512 improved; } >"$out/aa-1.csv"
{ echo "$h"; row full 512 same; row stream 512 same; row linformer 512 same; row full 1024 only_new; } >"$out/aa-2.csv"
{ echo "$h"; row linformer 512 regression; row linformer 1024 regression; row full 512 same; } >"$out/inj-1.csv"
{ echo "$h"; row linformer 512 regression; row linformer 1024 same; row full 512 regression; } >"$out/inj-2.csv"
CAL_OUT=$out expect_rc 0 "calibration summary of existing verdicts" bash "$CAL" 0 0
grep -q "A/A: 6 points compared, 1 flagged: false-alarm rate 16.67%" "$out/summary.txt" && ok || bad "A/A count: $(cat "$out/summary.txt")"
grep -q "4 slowed points, 3 flagged: detection 75.0%; all slowed points caught in 1 of 2 runs (50.0%.*other points flagged: 1 of 2" \
    "$out/summary.txt" && ok || bad "injected count: $(cat "$out/summary.txt")"
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
expect_rc 64 "calibration: bad count" bash "$CAL" x
finish
