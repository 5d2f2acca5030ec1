# Heatmaps of speed-up and memory saved over (n, k). Variables: data (CSV), paper
# (the paper's Table 3 CSV, or "" for none), out, ext ("png"/"svg"), title_s,
# cn, ck, ct, cm (columns of n, k, time ratio, memory ratio in data),
# filter (column number of a status column that must read "ok", or 0).
set datafile separator ','
h = (paper eq "") ? 500 : 900
if (ext eq "svg") { set terminal svg size 1200,h dynamic font 'sans,11' } else { set terminal pngcairo size 1200,h font 'sans,10' }
set output out
# viridis-like; `set palette viridis` does not exist in gnuplot 5.4
set palette defined (0 '#440154', 1 '#3b528b', 2 '#21918c', 3 '#5ec962', 4 '#fde725')
set logscale cb
set cbrange [0.25:128]
set xlabel 'n'
set ylabel 'k'
# cells sit at log2 n, log2 k; the tics name the sizes
set xtics () rotate by -45
set ytics ()
do for [i=4:17] { set xtics add (sprintf('%d', 2**i) i); set ytics add (sprintf('%d', 2**i) i) }
# the same window for ours and the paper, so that cells line up panel to panel
if (exists("xr")) { eval sprintf("set xrange [%s]", xr) }
if (exists("yr")) { eval sprintf("set yrange [%s]", yr) }
set size ratio -1
unset key
L2(x) = log(x) / log(2)
lab(x) = x >= 99.5 ? sprintf('%.0f', x) : sprintf('%.2g', x)
okrow(x) = (filter == 0 || strcol(filter) eq "ok") ? x : NaN
npanels = (paper eq "") ? 2 : 4
if (npanels == 4) { set multiplot layout 2,2 title title_s } else { set multiplot layout 1,2 title title_s }
set title 'speed-up vs full: ours'
plot data using (L2(column(cn))):(okrow(L2(column(ck)))):(0.5):(0.5):(column(ct)) with boxxyerror fs solid fc palette, \
     '' using (L2(column(cn))):(okrow(L2(column(ck)))):(lab(column(ct))) with labels tc 'white' font ',9'
if (npanels == 4) {
set title 'time saved: paper (V100)'
plot paper using (L2($1)):(L2($2)):(0.5):(0.5):3 with boxxyerror fs solid fc palette, \
     '' using (L2($1)):(L2($2)):(lab($3)) with labels tc 'white' font ',9'
}
set title 'memory saved vs full: ours'
plot data using (L2(column(cn))):(okrow(L2(column(ck)))):(0.5):(0.5):(column(cm)) with boxxyerror fs solid fc palette, \
     '' using (L2(column(cn))):(okrow(L2(column(ck)))):(lab(column(cm))) with labels tc 'white' font ',9'
if (npanels == 4) {
set title 'memory saved: paper (V100)'
plot paper using (L2($1)):(L2($2)):(0.5):(0.5):4 with boxxyerror fs solid fc palette, \
     '' using (L2($1)):(L2($2)):(lab($4)) with labels tc 'white' font ',9'
}
unset multiplot
