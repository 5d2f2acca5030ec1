# Error against cost, per n: every method that runs from q, k, v alone (column 6 = 1),
# pooled over layers and heads: mean error (‖PV‖_F normalisation) against the measured
# seconds per head; one series per method, the sizes along it. Methods are read from
# the data: a new attention in the CSV is a new series without a change here.
# Input: PREFIX_approx_all.csv. Variables: file, out, term, N, methods (space-separated
# names present at N), tfull (seconds of exact attention per head, 0 = unknown), title.
if (!exists("title")) title = ''
if (term eq 'svg') { set terminal svg size 800,560 dynamic font 'sans,12' } else { set terminal pngcairo size 1000,700 font 'sans,11' }
set output out
set datafile separator ','
set datafile commentschars '#'
set title sprintf("%s n = %d: error against time, per method and size", title, N) noenhanced
set xlabel 'seconds per head (this machine, one thread)'
set ylabel '|PV - Y|_F / |PV|_F (mean, 95% interval)' noenhanced
set logscale xy
set grid
set key outside right
if (exists("tfull") && tfull > 0) { set arrow 1 from tfull, graph 0 to tfull, graph 1 nohead dt 2 lc 'black'; \
    set label 1 'exact attention' at tfull, graph 0.95 rotate by 90 right offset -1,0 }
plot for [i=1:words(methods)] file skip 1 using (($1 == N && $2 == -1 && strcol(4) eq word(methods, i) && \
         strcol(8) eq 'pv' && $6 == 1 && $9 > 0) ? $14 : NaN):9:10:11 with yerrorlines lw 2 pt 7 ps 0.8 \
         title word(methods, i) noenhanced, \
     for [i=1:words(methods)] file skip 1 using (($1 == N && $2 == -1 && strcol(4) eq word(methods, i) && \
         strcol(8) eq 'pv' && $6 == 1 && $9 > 0) ? $14 : NaN):9:(sprintf('%d', $7)) with labels offset 0.8,0.6 \
         notitle
