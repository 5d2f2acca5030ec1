# Figure 1 (right): heatmap over layers × heads of the normalised cumulative singular
# value at the chosen index (the paper: the 128th of 512). Mean over sequences.
# Input: PREFIX_summary.csv: 1 n, 2 layer, 3 head, 4 count, 5 index,
#   6 at_index_sigma_mean, 7 _std, 8 at_index_energy_mean, 9 _std
# Variables: file, out, term, N, index, which ('sigma' or 'energy'), title.
if (!exists("which")) which = 'sigma'
if (!exists("title")) title = ''
mc = (which eq 'energy') ? 8 : 6
if (term eq 'svg') { set terminal svg size 760,600 dynamic font 'sans,12' } else { set terminal pngcairo size 900,720 font 'sans,11' }
set output out
set datafile separator ','
set datafile commentschars '#'
set palette defined (0 '#440154', 0.25 '#3b528b', 0.5 '#21908d', 0.75 '#5dc963', 1 '#fde725')
set title sprintf("%s n = %d: %s curve at index %d", title, N, which, index) noenhanced
set xlabel 'head'
set ylabel 'layer'
set cblabel 'normalized cumulative value'
set autoscale xfix
set autoscale yfix
set offsets 0, 0, 0, 0
set xtics 1
set ytics 1
set tics out
set key off
plot file skip 1 using ($1 == N ? $3 : NaN):2:(0.5):(0.5):(column(mc)) with boxxyerror fs solid 1.0 noborder fc palette, \
     file skip 1 using ($1 == N ? $3 : NaN):2:(sprintf("%.2f", column(mc))) with labels tc rgb '#ffffff' font ',9'
