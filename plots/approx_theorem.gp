# Theorems 1 and 2 as stated, per n: error of each stand-in for PV against k, pooled over
# layers and heads (mean and 95% interval), in the normalisation `norm` ('pv': ‖PV‖_F,
# Theorem 1's statement; 'p_v': ‖P‖_F‖V‖_F, what the JL argument bounds), with the
# paper's k bound k = 5 ln n / (eps² − eps³) drawn where it falls in range.
# Input: PREFIX_approx_all.csv: 1 n, 4 method, 5 kind, 7 size, 8 norm, 9 err_mean,
#   10 err_lo, 11 err_hi (19 k_bound_01, 20 k_bound_02 are not read: the bound is computed
#   from N here). Variables: file, out, term, N,
#   norm, title.
if (!exists("title")) title = ''
if (!exists("norm")) norm = 'pv'
if (term eq 'svg') { set terminal svg size 800,560 dynamic font 'sans,12' } else { set terminal pngcairo size 1000,700 font 'sans,11' }
set output out
set datafile separator ','
set datafile commentschars '#'
set title sprintf("%s n = %d: stand-ins for PV (%s)", title, N, norm eq 'pv' ? '|PV - Y| / |PV|' : '|PV - Y| / (|P| |V|)') noenhanced
set xlabel 'k (projected length / rank)'
set ylabel norm eq 'pv' ? '|PV - Y|_F / |PV|_F' : '|PV - Y|_F / (|P|_F |V|_F)' noenhanced
set logscale xy
set grid
set key outside right
kmin = 5 * log(N) * 27.0 / 4 # least k for which the bound guarantees any eps < 1
kb02 = 5 * log(N) / (0.04 - 0.008)
set xrange [8:N]
if (kmin <= N) { set arrow 1 from kmin, graph 0 to kmin, graph 1 nohead dt 2 lc 'black'; \
    set label 1 sprintf('bound: any eps needs k >= %.0f', kmin) at kmin, graph 0.95 rotate by 90 right offset -1,0 } \
else { set label 1 sprintf('the bound needs k >= %.0f > n for any eps < 1: no guarantee at any k here', kmin) at graph 0.02, graph 0.04 }
if (kb02 <= N) { set arrow 2 from kb02, graph 0 to kb02, graph 1 nohead dt 3 lc 'black'; set label 2 'bound at eps = 0.2' at kb02, graph 0.5 rotate by 90 offset -1,0 }
set arrow 3 from graph 0, first 0.1 to graph 1, first 0.1 nohead dt 4 lc 'gray'
set arrow 4 from graph 0, first 0.2 to graph 1, first 0.2 nohead dt 4 lc 'gray'
m(i) = word('jl thm2 linf_rand fitted pool svd', i)
lab(i) = word('jl:_P_R^TR_V_(Theorem_1,_random) thm2:_E=dR,F=e^-dR_(Theorem_2,_random) linf_rand:_E=F=R_(random) fitted:_top-k_eigvecs_of_sum_P^TP_(fitted) pool:_exact_block_sums_(oracle) svd:_best_rank-k_(oracle)', i)
plot for [i=1:6] file skip 1 using (($1 == N && strcol(4) eq m(i) && strcol(8) eq norm) ? $7 : NaN):9:10:11 \
         with yerrorlines lw 2 pt 7 ps 0.8 title system(sprintf("echo '%s' | tr _ ' '", lab(i))) noenhanced
