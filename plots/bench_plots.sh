#!/usr/bin/env bash
# Redraw the benchmark plots from a results folder:
#   plots/bench_plots.sh [RESULTS_DIR] [OUT_DIR] [PAPER_CSV]
# RESULTS_DIR holds summary.csv (and table3.csv) from `linbench bench`; PNG and SVG
# files go to OUT_DIR (default plots/out).
set -eu
cd "$(dirname "$0")/.."
res=${1:-results/latest}
out=${2:-plots/out}
paper=${3:-results/paper/linformer_table3.csv}
GP=$(command -v gnuplot || command -v gnuplot-nox || true)
[ -n "$GP" ] || { echo "bench_plots: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 69; }
[ -f "$res/summary.csv" ] || { echo "bench_plots: $res/summary.csv not found; run linbench bench first" >&2; exit 66; }
mkdir -p "$out"
[ -f "$paper" ] || paper=""
# summ AWK_PROGRAM: run awk over summary.csv's data rows with every column reachable by
# its header name, c["median_s"], so that added columns never shift what is read.
summ() {
    awk -F, -v OFS=, "!/^#/ && !h { for (i = 1; i <= NF; i++) c[\$i] = i; h = 1; next } !/^#/ { $1 }" "$res/summary.csv"
}
# layer groups (d,H,B,threads) and the Linformer k values present
key='$c["d"]","$c["heads"]","$c["batch"]","$c["threads"]'
groups=$(summ 'if ($c["protocol"] == "layer") print '"$key" | sort -u)
ks=$(summ 'if ($c["protocol"] == "layer" && $c["method"] == "linformer") print $c["k"]' | sort -n -u | tr '\n' ' ')
for g in $groups; do
    tag=$(echo "$g" | tr , _)
    # one block per series, in a fixed order: full, stream, then Linformer by k
    # columns n, median seconds, fraction of the FMA peak
    dat="$out/.time_$tag.dat" titles=""
    : >"$dat"
    for series in full:0 stream:0 $(for k in $ks; do echo "linformer:$k"; done); do
        m=${series%%:*} k=${series#*:}
        summ 'if ($c["protocol"] == "layer" && $c["method"] == "'"$m"'" && $c["k"] == '"$k"' &&
            $c["status"] == "ok" && '"$key"' == "'"$g"'") print $c["n"] " " $c["median_s"] " " $c["frac_peak"]' |
            sort -n >"$dat.one"
        [ -s "$dat.one" ] || continue
        case $m in full) t="full (materialised)";; stream) t="stream (online softmax)";; *) t="linformer k=$k";; esac
        { echo "\"$t\" ms frac"; cat "$dat.one"; printf '\n\n'; } >>"$dat"
        titles="$titles $m"
    done
    rm -f "$dat.one"
    if [ -n "$titles" ]; then
        for ext in png svg; do
            "$GP" -e "dat='$dat'; kinds='$titles'; out='$out/time_vs_n_$tag.$ext'; ext='$ext'; grp='$g'" \
                plots/bench_time.gp </dev/null
            "$GP" -e "dat='$dat'; kinds='$titles'; out='$out/peak_vs_n_$tag.$ext'; ext='$ext'; grp='$g'" \
                plots/bench_peak.gp </dev/null
        done
    fi
    rm -f "$dat"
    # the layer grid: Linformer rows of this group, speed-up and memory saved vs full
    summ 'if ($c["protocol"] == "layer" && $c["method"] == "linformer" && $c["status"] == "ok" &&
        '"$key"' == "'"$g"'") print $c["n"], $c["k"], $c["speedup_vs_full"], $c["mem_saved_vs_full"]' \
        >"$out/.layer_grid_$tag.csv"
    if [ -s "$out/.layer_grid_$tag.csv" ]; then
        for ext in png svg; do
            "$GP" -e "data='$out/.layer_grid_$tag.csv'; paper=''; out='$out/layer_grid_$tag.$ext'; ext='$ext'; title_s='One attention layer ($g): Linformer vs full'; cn=1; ck=2; ct=3; cm=4; filter=0" \
                plots/bench_heatmap.gp </dev/null
        done
    fi
    rm -f "$out/.layer_grid_$tag.csv"
done
if [ -f "$res/table3.csv" ] && grep -q ',ok,' "$res/table3.csv"; then
    # one row per (n, k, baseline): draw against the paper's baseline (materialise) when
    # it was measured, else the first baseline there
    base=$(awk -F, '!/^#/ && $1 == "n" { for (i = 1; i <= NF; i++) if ($i == "baseline") c = i; next }
        c && !/^#/ { if ($c == "materialise") m = 1; if (!f) f = $c } END { print m ? "materialise" : f }' "$res/table3.csv")
    t3="$out/.table3_$base.csv"
    awk -F, -v b="$base" '/^#/ || $1 == "n" || $4 == b' "$res/table3.csv" >"$t3"
    # a window covering our grid and the paper's (log2 units, half a cell of margin)
    read -r xr yr < <(awk -F, '!/^#/ && $1+0>0 && $2+0>0 {x=log($1)/log(2); y=log($2)/log(2);
        if(!s||x<x0)x0=x; if(!s||x>x1)x1=x; if(!s||y<y0)y0=y; if(!s||y>y1)y1=y; s=1}
        END{printf "%g:%g %g:%g\n", x0-0.5, x1+0.5, y0-0.5, y1+0.5}' "$t3" ${paper:+"$paper"})
    for ext in png svg; do
        "$GP" -e "data='$t3'; paper='$paper'; out='$out/table3.$ext'; ext='$ext'; title_s='Table 3 protocol (encoder; memory: ratio of the largest batches under the budget): Linformer vs $base, ours vs the paper'; cn=1; ck=2; ct=5; cm=6; filter=11; xr='$xr'; yr='$yr'" \
            plots/bench_heatmap.gp </dev/null
    done
    rm -f "$t3"
fi
ls "$out"
