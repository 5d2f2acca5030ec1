# Projection error vs k: ‖PV − Ŷ‖_F / ‖PV‖_F for each stand-in of P (mean over layers,
# heads and sequences, error bars ± one s.d.), and Eckart–Young (best rank k).
# Input: PREFIX_projerr_all.csv: 1 n, 2 k, then mean/std pairs: 3/4 gauss, 5/6 pool,
#   7/8 linformer_gauss, 9/10 linformer_pool, 11/12 svd_pv, 13/14 svd_p, 15 count
# Variables: file, out, term, N, title.
if (!exists("title")) title = ''
if (term eq 'svg') { set terminal svg size 800,560 dynamic font 'sans,12' } else { set terminal pngcairo size 1000,700 font 'sans,11' }
set output out
set datafile separator ','
set datafile commentschars '#'
set title sprintf("%s n = %d: relative error of the attention output", title, N) noenhanced
set xlabel 'k (projected length / rank)'
set ylabel '|PV - Y|_F / |PV|_F' noenhanced
set logscale xy 2
set format y '%g'
set grid
set key outside right
names = "gauss pool linformer_gauss linformer_pool svd_pv svd_p"
labels = "P·RᵀR·V_(Gaussian,_Thm_1) P·mean-pool linformer_(E=F=R) linformer_(mean_pool) best_rank-k_P_k·V |P-P_k|/|P|_(tail_σ)"
lab(i) = system(sprintf("echo '%s' | cut -d' ' -f%d | tr _ ' '", labels, i))
plot for [i=1:6] file skip 1 using ($1 == N ? $2 : NaN):(column(2*i+1) > 0 ? column(2*i+1) : NaN):(column(2*i+2)) \
         with yerrorlines lw 2 pt 7 ps 0.8 title lab(i)
