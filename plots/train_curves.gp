# Training curves of one `linbench train` log (plots/train_curves.sh sets dat, out, ext,
# ttl). dat holds "step tokens train_loss val_loss val_ppl"; val columns are NaN between
# evaluations, so those rows draw only the training loss.
if (ext eq 'svg') { set terminal svg size 900,640 dynamic background rgb 'white' } \
else { set terminal pngcairo size 900,640 }
set output out
set datafile missing 'NaN'
set multiplot layout 2,1 title ttl
set grid
set key top right
set ylabel 'loss (nats, masked tokens)'
plot dat using 1:3 with lines lc rgb '#bbbbbb' title 'train loss (per logged step)', \
     dat using 1:4 with linespoints pt 7 ps 0.6 lc rgb '#1f77b4' title 'validation loss'
set xlabel 'update'
set logscale y
set ylabel 'validation perplexity'
plot dat using 1:5 with linespoints pt 7 ps 0.6 lc rgb '#d62728' title 'validation perplexity'
unset multiplot
