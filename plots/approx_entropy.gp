# Each head's error at one matched size K against its row entropy (1 = uniform rows,
# 0 = one-hot), one series per method: the lowest point of a head is its best method.
# Input: PREFIX_approx.csv (per head): 1 n, 4 method, 6 attention, 7 size, 8 norm,
#   9 err_mean, 15 row_entropy. Variables: file, out, term, N, K, methods, title.
if (!exists("title")) title = ''
if (term eq 'svg') { set terminal svg size 800,560 dynamic font 'sans,12' } else { set terminal pngcairo size 1000,700 font 'sans,11' }
set output out
set datafile separator ','
set datafile commentschars '#'
set title sprintf("%s n = %d, size %d: each head's error against its row entropy", title, N, K) noenhanced
set xlabel 'row entropy / log n of the head (mean over held-out windows)'
set ylabel '|PV - Y|_F / |PV|_F' noenhanced
set logscale y
set grid
set key outside right
plot for [i=1:words(methods)] file skip 1 using (($1 == N && strcol(4) eq word(methods, i) && \
         strcol(8) eq 'pv' && ($7 == K || strcol(4) eq 'learned') && $9 > 0) ? $15 : NaN):9 \
         with points pt (i + 5) ps 1.2 title word(methods, i) noenhanced
