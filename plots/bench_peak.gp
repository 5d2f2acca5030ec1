# Fraction of the FP32 FMA peak vs n (log x), layer protocol: how far each kernel is
# from the limit of the machine it ran on (the peak is measured in the same run, at
# the point's thread count: summary.csv's frac_peak). Variables (gnuplot -e): dat (one
# block per series, separated by two blank lines, a quoted title line, then columns n,
# median seconds, fraction of peak; written by bench_plots.sh), kinds (the series'
# methods, one word each), out (file), ext ("png" or "svg"), grp ("d,H,B,threads").
if (ext eq "svg") { set terminal svg size 900,650 dynamic font 'sans,12' } else { set terminal pngcairo size 900,650 font 'sans,11' }
set output out
set logscale x 2
set yrange [0:100]
set format y '%.0f%%'
set xlabel 'sequence length n'
set ylabel 'GFLOP/s as % of the FP32 FMA peak (same run)'
set title sprintf("One attention layer (d,H,B,threads = %s): fraction of peak", grp)
set key left top
set grid
lin(i) = strstrt(word(kinds, i), "linformer") > 0
plot for [i=1:words(kinds)] dat index (i-1) using 1:($3*100) with linespoints \
     lw (lin(i) ? 1.5 : 2.5) pt (lin(i) ? 9 : 7) title columnheader(1)
