# Figure 3: validation perplexity against updates, log y, one curve per arm (geometric
# mean over seeds) with a band from the lowest to the highest seed. Variables (gnuplot
# -e): dat (one block per arm, separated by two blank lines: a quoted title line, then
# columns step, mean, min, max; written by plots/fig3.sh from the training logs), nrun
# (blocks), out (file), ext ("png" or "svg"), ttl (title).
if (ext eq "svg") { set terminal svg size 900,600 dynamic font 'sans,12' } else { set terminal pngcairo size 900,600 font 'sans,11' }
set output out
set logscale y
set format y '%g'
set xlabel 'updates (training steps)'
set ylabel 'validation perplexity (masked LM)'
set title ttl
set key right top
set grid
set style fill transparent solid 0.2 noborder
# the first arm (standard, when present) drawn thicker
plot for [i=1:nrun] dat index (i-1) using 1:3:4 with filledcurves lc i notitle, \
     for [i=1:nrun] dat index (i-1) using 1:2 with linespoints lc i lw (i == 1 ? 2.5 : 1.5) \
     pt (i == 1 ? 7 : 9) ps 0.6 title columnheader(1)
