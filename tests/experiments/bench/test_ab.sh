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
# 2 rounds x 3 reps = 6 samples a side: 2/C(12,6) = 0.0022 > alpha 0.002
expect_rc 4 "6 samples a side cannot reach alpha" bash "$AB" HEAD 2
expect_msg "rounds needed" "needs 7: use ROUNDS=4"
AB_REPS=1 expect_rc 4 "1 rep x 4 rounds" bash "$AB" HEAD 4
expect_msg "rounds needed" "use ROUNDS=8"
AB_COMPARE="--alpha 0.05" AB_REPS=1 expect_rc 4 "alpha passed to the power check" bash "$AB" HEAD 2
expect_msg "rounds needed at alpha 0.05" "needs 4: use ROUNDS=4"

# calibration summary: 2 A/A files (1 of 6 points flagged), 2 injected runs (the slowed
# linformer points: 3 of 4 caught, all of them in 1 of 2 runs; 1 other point flagged)
out=$T/cal; mkdir -p "$out"
h="protocol,method,share,n,k,d,heads,batch,layers,threads,base_median,new_median,ratio,p,verdict"
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
# a folder measured on another machine is refused (exit 3), naming the differing field
sed -i 's/^cpus: .*/cpus: 4096/' "$out/machine.txt"
CAL_OUT=$out expect_rc 3 "calibration folder of another machine" bash "$CAL" 2 2
expect_msg "differing field" "cpus: 4096"
expect_rc 64 "calibration: bad count" bash "$CAL" x
finish
