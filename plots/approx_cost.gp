# Error against cost, per n: every method and size, pooled over layers and heads: mean
# error (‖PV‖_F normalisation, 95% interval) against the analytic flops of one
# application to one head (left) and against the measured median seconds of its timed
# runs (right; only as good as the machine was quiet). One series per method, its sizes
# along it (labelled); attention-form methods (they run from q, k, v) solid, the probes
# that need P itself (jl, fitted, pool, svd; flops given P) dashed. Methods are read from
# the data: a new method in the CSV is a new series without a change here.
# Input: PREFIX_approx_all.csv: 1 n, 2 layer, 4 method, 7 size, 8 norm, 9 err_mean,
#   10 err_lo, 11 err_hi, 17 time_median_s, 18 flops. Variables: file, out, term, N,
#   methods (space-separated names at N, full excluded), atts (1/0 per method: attention
#   form), ffull and tfull (exact attention's flops and median seconds, 0 = unknown), title.
if (!exists("title")) title = ''
if (term eq 'svg') { set terminal svg size 1200,560 dynamic font 'sans,12' } else { set terminal pngcairo size 1500,700 font 'sans,11' }
set output out
set datafile separator ','
set datafile commentschars '#'
set ylabel '|PV - Y|_F / |PV|_F (mean, 95% interval)' noenhanced
set logscale xy
set grid
set key outside right
sel(m) = ($1 == N && $2 == -1 && strcol(4) eq m && strcol(8) eq 'pv' && $9 > 0)
dtf(i) = (word(atts, i) eq '1' ? 1 : 2)
# 12 colours that stay apart (the default cycle repeats after 8)
col(i) = word('#9400d3 #009e73 #56b4e9 #e69f00 #c8b400 #0072b2 #e51e10 #000000 #c04000 #808080 #ff69b4 #2f4f4f', (i - 1) % 12 + 1)
lab(i) = word(methods, i) . (word(atts, i) eq '1' ? '' : ' (needs P)')
set multiplot layout 1,2 title sprintf("%s n = %d: error against cost, every method and size", title, N) noenhanced
set xlabel 'analytic flops of one head (2 per multiply-add)'
if (exists("ffull") && ffull > 0) { set arrow 1 from ffull, graph 0 to ffull, graph 1 nohead dt 2 lc 'black'; \
    set label 1 'exact attention' at ffull, graph 0.95 rotate by 90 right offset -1,0 }
set key off
plot for [i=1:words(methods)] file skip 1 using (sel(word(methods, i)) && $18 > 0 ? $18 : NaN):9:10:11 \
         with yerrorlines lw 2 lc rgb col(i) dt dtf(i) pt 7 ps 0.8 title lab(i) noenhanced, \
     for [i=1:words(methods)] file skip 1 using (sel(word(methods, i)) && $18 > 0 ? $18 : NaN):9:(sprintf('%d', $7)) \
         with labels offset 0.8,0.6 notitle
unset arrow 1; unset label 1
set xlabel 'median seconds of the timed runs on one head (one thread, this machine)'
if (exists("tfull") && tfull > 0) { set arrow 1 from tfull, graph 0 to tfull, graph 1 nohead dt 2 lc 'black'; \
    set label 1 'exact attention' at tfull, graph 0.95 rotate by 90 right offset -1,0 }
set key on
plot for [i=1:words(methods)] file skip 1 using (sel(word(methods, i)) && $17 > 0 ? $17 : NaN):9:10:11 \
         with yerrorlines lw 2 lc rgb col(i) dt dtf(i) pt 7 ps 0.8 title lab(i) noenhanced, \
     for [i=1:words(methods)] file skip 1 using (sel(word(methods, i)) && $17 > 0 ? $17 : NaN):9:(sprintf('%d', $7)) \
         with labels offset 0.8,0.6 notitle
unset multiplot
