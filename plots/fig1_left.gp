# Figure 1 (left): normalised cumulative singular value vs index, one curve per layer
# (mean over heads and sequences, band = ± one standard deviation pooled over them).
# Input: PREFIX_layers.csv from `linbench spectrum`
#   columns: 1 n, 2 layer, 3 index, 4 sigma_mean, 5 sigma_std, 6 energy_mean, 7 energy_std
# Variables (gnuplot -e): file, out, term ('png' or 'svg'), N (sequence length),
#   layers (space-separated list, e.g. "0 1 2"), which ('sigma' or 'energy'), title;
#   optional controls (PREFIX_controls.csv: 1 n, 2 control, 3 index, 4 sigma, 5 energy):
#   the uniform (rank 1) and band (full rank) curves, dashed; optional init (a file of
#   index,sigma,energy): the same architecture at random init, pooled over layers, dotted.
# The controls are what trivially low and high rank look like at this n.
if (!exists("which")) which = 'sigma'
if (!exists("title")) title = ''
if (!exists("controls")) controls = ''
if (!exists("init")) init = ''
mc = (which eq 'energy') ? 6 : 4
sc = mc + 1
if (term eq 'svg') { set terminal svg size 800,560 dynamic font 'sans,12' } else { set terminal pngcairo size 1000,700 font 'sans,11' }
set output out
set datafile separator ','
set datafile commentschars '#'
set key bottom right title 'layer'
set grid
set xlabel 'index of singular value'
set ylabel (which eq 'energy' ? 'normalized cumulative squared singular value' : 'normalized cumulative singular value')
set title sprintf("%s n = %d (%s curve; band: ±1 s.d. over heads and sequences)", title, N, which) noenhanced
set xrange [1:N]
set yrange [0:1.02]
nl = words(layers)
set palette defined (0 '#440154', 0.25 '#3b528b', 0.5 '#21908d', 0.75 '#5dc963', 1 '#fde725')
unset colorbox
col(i) = nl > 1 ? (i - 1.0) / (nl - 1.0) * 0.9 : 0
L(i) = word(layers, i) + 0
cc = (which eq 'energy') ? 5 : 4
# The plot is assembled as macros so that absent controls leave no empty data file.
LAYERS = "for [i=1:nl] file skip 1 using (($1 == N && $2 == L(i)) ? $3 : NaN):(column(mc) - column(sc)):(column(mc) + column(sc) > 1 ? 1 : column(mc) + column(sc)) with filledcurves fs transparent solid 0.18 noborder lc palette frac col(i) notitle, for [i=1:nl] file skip 1 using (($1 == N && $2 == L(i)) ? $3 : NaN):(column(mc)) with lines lw 2 lc palette frac col(i) title word(layers, i)"
CTRL = ", for [c in 'uniform band'] controls skip 1 using (($1 == N && strcol(2) eq c) ? $3 : NaN):(column(cc)) with lines lw 2 dt 2 lc rgb (c eq 'uniform' ? '#555555' : '#cc3311') title (c eq 'uniform' ? 'control: uniform rows (rank 1)' : 'control: local band (full rank)')"
INIT = ", init using 1:(which eq 'energy' ? $3 : $2) with lines lw 2 dt 3 lc rgb '#0077bb' title 'control: random init (all layers)'"
if (controls ne '' && init ne '') { plot @LAYERS @CTRL @INIT }
if (controls ne '' && init eq '') { plot @LAYERS @CTRL }
if (controls eq '' && init ne '') { plot @LAYERS @INIT }
if (controls eq '' && init eq '') { plot @LAYERS }
