# The interleaved A/B's defaults, sourced by bench_ab.sh, bench_calibrate.sh and
# bench_bisect.sh so that the three (and make, which passes an empty AB_ROUNDS through) agree.
# With AB_PAIRED=1: 12 paired runs (the signed-rank test needs 10 pairs at alpha 0.002; 12
# lets two runs go the other way) of 3 repetitions each (one slow call must not decide a
# run); unpaired: 8 runs a side (the U test needs 7 at alpha 0.002, and rounds are even) of
# one repetition. Why, measured: bench_ab.sh's header and the README.
if [ "${AB_PAIRED:-0}" = 1 ]; then ab_default_rounds=12 ab_default_reps=3
else ab_default_rounds=8 ab_default_reps=1; fi
