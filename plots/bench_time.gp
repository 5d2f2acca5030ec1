# Time per call vs n (log-log), layer protocol: each full-attention variant and
# Linformer at each k. Variables (gnuplot -e): dat (one block per series, separated
# by two blank lines, a quoted title line, then columns n, median seconds (and the
# fraction of peak, unused here);
# written by bench_plots.sh from summary.csv), kinds (the series' methods, one
# word each), out (file),
# ext ("png" or "svg"), grp (the group "d,H,B,threads" drawn).
if (ext eq "svg") { set terminal svg size 900,650 dynamic font 'sans,12' } else { set terminal pngcairo size 900,650 font 'sans,11' }
set output out
set logscale xy 2
set format y '%g'
set xlabel 'sequence length n'
set ylabel 'median time per call (ms)'
set title sprintf("One attention layer (d,H,B,threads = %s): time vs n", grp)
set key left top
set grid
lin(i) = strstrt(word(kinds, i), "linformer") > 0
plot for [i=1:words(kinds)] dat index (i-1) using 1:($2*1e3) with linespoints \
     lw (lin(i) ? 1.5 : 2.5) pt (lin(i) ? 9 : 7) title columnheader(1)
