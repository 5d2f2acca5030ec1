# Each head against its row entropy (1 = uniform rows, 0 = one-hot), at n:
#   top     each attention-form method's error at the matched size K, one series per
#           method (the lowest point of a head is its best method at that size);
#   bottom  each head's best method at a fixed cost (the budget is a Linformer head's
#           flops at K; every method at its largest size within 1.25 × that, as the
#           report's verdicts take it), from plots/approx.sh's per-head file.
# Inputs: PREFIX_approx.csv (per head): 1 n, 4 method, 7 size, 8 norm, 9 err_mean,
#   15 row_entropy; best (entropy,index,method,err per head, CSV; index = position in
#   methods). Variables: file, best, out, term, N, K, methods, title.
if (!exists("title")) title = ''
if (term eq 'svg') { set terminal svg size 800,900 dynamic font 'sans,12' } else { set terminal pngcairo size 1000,1100 font 'sans,11' }
set output out
set termoption noenhanced
set datafile separator ','
set datafile commentschars '#'
set multiplot layout 2,1 title sprintf("%s n = %d: heads against their row entropy", title, N) noenhanced
set xlabel 'row entropy / log n of the head (mean over held-out windows)'
set ylabel '|PV - Y|_F / |PV|_F' noenhanced
set logscale y
set grid
set key outside right
set title sprintf('each method at size %d', K) noenhanced
plot for [i=1:words(methods)] file skip 1 using (($1 == N && strcol(4) eq word(methods, i) && \
         strcol(8) eq 'pv' && ($7 == K || strcol(4) eq 'learned') && $9 > 0) ? $15 : NaN):9 \
         with points pt (i + 5) ps 1.2 title word(methods, i) noenhanced
unset logscale y
set title 'each head''s best method at a fixed cost (a Linformer head''s flops at K, 1.25x slack)' noenhanced
set ylabel 'best method' noenhanced
set yrange [0.5:words(methods) + 0.5]
set ytics 1
set ytics ()
do for [i=1:words(methods)] { set ytics add (word(methods, i) i) }
set key off
plot best using 1:2:2 with points pt 7 ps 1.5 lc variable notitle
unset multiplot
