# Each point's median time (ms) and interquartile range against the runs of the history
# store, one panel per point; a red triangle marks a run compare's rule flags as a
# regression against the previous run on the same machine, a green one an improvement.
# Variables (gnuplot -e): dat (written by `linbench history`: one block per point, a
# header line with the point's key in quotes, then seq, median s, q1 s, q3 s, change
# -1/0/1, short commit), out (PNG file).
stats dat using 1 nooutput
n = STATS_blocks
cols = ceil(sqrt(n))
rows = ceil(n * 1.0 / cols)
set terminal pngcairo size (cols * 420),(rows * 300 + 40) font 'sans,8'
set output out
set multiplot layout rows,cols title 'linbench history: median and IQR per run (ms); red: regression, green: improvement'
set grid
set xtics rotate by -45
set offsets 0.5, 0.5, 0, 0
set key top left box opaque
do for [i=0:n-1] {
    plot dat index i using 1:($2*1e3):($3*1e3):($4*1e3):xtic(6) with yerrorlines lw 1.5 pt 7 ps 0.6 title columnheader(1), \
         '' index i every ::1 using 1:($5 > 0 ? $2*1e3 : NaN) with points pt 9 ps 2 lc rgb '#d62728' notitle, \
         '' index i every ::1 using 1:($5 < 0 ? $2*1e3 : NaN) with points pt 11 ps 2 lc rgb '#2ca02c' notitle
}
unset multiplot
