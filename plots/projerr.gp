# Projection error vs k: ‖PV − Ŷ‖_F / ‖PV‖_F for each stand-in of P (mean over layers,
# heads and sequences, error bars ± one s.d.), and Eckart–Young (best rank k).
# Input: PREFIX_projerr_all.csv: 1 n, 2 k, then mean/std pairs: 3/4 gauss, 5/6 pool,
#   7/8 linformer_gauss, 9/10 linformer_pool, 11/12 svd_pv, 13/14 svd_p, 15 count
# The paper's bound k = 5 ln n / (eps² − eps³) (Theorem 1's proof) is drawn where it
# falls at k <= n: no eps < 1 is guaranteed below k = 5 ln n · 27/4.
# Variables: file, out, term, N, title.
if (!exists("title")) title = ''
if (term eq 'svg') { set terminal svg size 800,560 dynamic font 'sans,12' } else { set terminal pngcairo size 1000,700 font 'sans,11' }
set output out
set datafile separator ','
set datafile commentschars '#'
set title sprintf("%s n = %d: relative error of the attention output", title, N) noenhanced
set xlabel 'k (projected length / rank)'
set ylabel '|PV - Y|_F / |PV|_F' noenhanced
set logscale x 2
set logscale y 10
set format y '%g'
set grid
set key outside right
lab(i) = i == 1 ? 'P RᵀR V (Gaussian R, Theorem 1)' : i == 2 ? 'P with mean pooling' : \
         i == 3 ? 'Linformer head, E = F = R' : i == 4 ? 'Linformer head, mean pooling' : \
         i == 5 ? 'best rank-k P_k V (Eckart–Young)' : '|P − P_k|_F / |P|_F (tail of σ)'
# Exact stand-ins (k = n) give 0 up to rounding: below the floor they are left out.
set yrange [1e-4:*]
kmin = 5 * log(N) * 27.0 / 4
kb02 = 5 * log(N) / (0.04 - 0.008)
if (kmin <= N) { set arrow 1 from kmin, graph 0 to kmin, graph 1 nohead dt 2 lc 'black'; \
    set label 1 sprintf('paper bound: any eps needs k >= %.0f', kmin) at kmin, graph 0.95 rotate by 90 right offset -1,0 } \
else { set label 1 sprintf('paper bound: k >= %.0f > n for any eps < 1 (no guarantee here)', kmin) at graph 0.02, graph 0.04 }
if (kb02 <= N) { set arrow 2 from kb02, graph 0 to kb02, graph 1 nohead dt 3 lc 'black'; \
    set label 2 'paper bound at eps = 0.2' at kb02, graph 0.5 rotate by 90 offset -1,0 }
plot for [i=1:6] file skip 1 using ($1 == N ? $2 : NaN):(column(2*i+1) > 0 ? column(2*i+1) : NaN):(column(2*i+2)) \
         with yerrorlines lw 2 pt 7 ps 0.8 title lab(i) noenhanced
