# Spectrum statistics vs sequence length n, one line per layer (thin) and all layers
# pooled (thick black): value of the σ-curve at index n/4 (or --index), the index
# where the σ-curve reaches 0.9 as a fraction of n, the effective rank, and the row
# entropy ratio (1 = uniform rows: a trivially low-rank P).
# Input: PREFIX_vs_n.csv: 1 n, 2 layer (-1 = all), 3 count, 4 index, then mean/std:
#   5/6 at_index_sigma, 7/8 at_index_energy, 9/10 idx90_sigma, 11/12 idx99_sigma,
#   13/14 idx90_energy, 15/16 idx99_energy, 17/18 eff_rank, 19/20 row_entropy_ratio
# Variables: rows, out, term, layers, title: rows is the stem of one file per layer,
#   ROWS_L.csv holding PREFIX_vs_n.csv's rows of layer L (ROWS_-1.csv: all layers),
#   which plots/spectrum.sh writes (a filter inside `using` would leave undefined points
#   between them, and gnuplot breaks lines at those); optional controls: the stem of
#   CONTROLS_uniform.csv and CONTROLS_band.csv, PREFIX_controls.csv's rows of the uniform
#   (rank 1) and band (full rank) controls at index 1 (1 n, 2 control, 3 index, then the
#   statistics from column 6), drawn dashed.
if (!exists("title")) title = ''
if (!exists("controls")) controls = ''
if (term eq 'svg') { set terminal svg size 1000,760 dynamic font 'sans,11' } else { set terminal pngcairo size 1200,900 font 'sans,10' }
set output out
set datafile separator ','
set datafile commentschars '#'
set palette defined (0 '#440154', 0.25 '#3b528b', 0.5 '#21908d', 0.75 '#5dc963', 1 '#fde725')
unset colorbox
nl = words(layers)
col(i) = nl > 1 ? (i - 1.0) / (nl - 1.0) * 0.9 : 0
L(i) = word(layers, i) + 0
rows_of(l) = sprintf("%s_%d.csv", rows, l)
ctl(c) = sprintf("%s_%s.csv", controls, c)
set logscale x 2
set offsets graph 0.05, graph 0.05, 0, 0
set grid
set key left top font ',8'
set multiplot layout 2,2 title sprintf("%s spectrum vs n", title) noenhanced
set xlabel 'n'
# Macros are expanded when the loop is read: defined here, evaluated per panel.
MAIN = "for [i=1:nl] rows_of(L(i)) using 1:(sc ? column(c) / $1 : column(c)) with linespoints lw 1 pt 7 ps 0.6 lc palette frac col(i) title 'layer '.word(layers, i), rows_of(-1) using 1:(sc ? column(c) / $1 : column(c)):(sc ? column(c+1) / $1 : column(c+1)) with yerrorlines lw 3 pt 7 lc rgb 'black' title 'all (± 1 s.d.)'"
CTRL = ", for [k in 'uniform band'] ctl(k) using 1:(sc ? column(cc) / $1 : column(cc)) with linespoints lw 2 dt 2 pt 4 lc rgb (k eq 'uniform' ? '#555555' : '#cc3311') title 'control: '.k"
do for [p=1:4] {
    if (p == 1) { set key left top } else { unset key }
    if (p == 1) { c = 5; set ylabel 'σ-curve at the index (n/4)'; set yrange [*:*] }
    if (p == 2) { c = 9; set ylabel 'index reaching 0.9 (σ) / n'; set yrange [0:*] }
    if (p == 3) { c = 17; set ylabel 'effective rank / n'; set yrange [0:*] }
    if (p == 4) { c = 19; set ylabel 'row entropy / log(keys)'; set yrange [0:1] }
    sc = (p == 2 || p == 3) ? 1 : 0
    cc = p == 1 ? 6 : p == 2 ? 8 : p == 3 ? 12 : 13
    if (controls ne '') { plot @MAIN @CTRL } else { plot @MAIN }
}
unset multiplot
