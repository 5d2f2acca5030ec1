#!/usr/bin/env bash
# Draw every spectrum figure from a `linbench spectrum --out PREFIX` result:
#   PREFIX_fig1_left_{sigma,energy}_n<N>.{png,svg}   Figure 1 left, per n
#   PREFIX_fig1_right_n<N>.{png,svg}                 Figure 1 right (heatmap), per n
#   PREFIX_projerr_n<N>.{png,svg}                    projection error vs k, per n
#   PREFIX_spectrum_vs_n.{png,svg}                   statistics vs n (when > 1 n)
# Figure 1 left carries the controls: uniform and band from PREFIX_controls.csv, and
# the same architecture at random init from INIT (a `linbench spectrum --random-init`
# prefix), pooled over its layers, when given.
# Usage: plots/spectrum.sh PREFIX [TITLE] [INIT]
set -euo pipefail
prefix=${1:?usage: plots/spectrum.sh PREFIX [TITLE] [INIT]}
title=${2:-$(basename "$prefix")}
init=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
gp=$(command -v gnuplot || command -v gnuplot-nox || true)
[ -n "$gp" ] || { echo "spectrum.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 69; }
for s in _layers.csv _summary.csv _projerr_all.csv _vs_n.csv; do
    [ -s "$prefix$s" ] || { echo "spectrum.sh: $prefix$s missing or empty" >&2; exit 66; }
done
# Values of a column over the data rows (comment and header lines skipped).
# (awk reads to the end: an early exit would SIGPIPE the writer under pipefail.)
data() { awk '!/^#/ { if (h) print; h = 1 }' "$1"; }
col() { data "$1" | cut -d, -f"$2" | sort -n -u | tr '\n' ' '; }
ns=$(col "${prefix}_vs_n.csv" 1)
layers=$(col "${prefix}_layers.csv" 2)
esc() { printf '%s' "$1" | sed "s/'/''/g"; }
draw() { # script, output stem, extra -e assignments
    local script=$1 stem=$2 extra=$3
    for term in png svg; do
        "$gp" -e "term='$term'; out='$(esc "$stem").$term'; title='$(esc "$title")'; $extra" \
            "$here/$script" </dev/null ||
            { rc=$?; echo "spectrum.sh: gnuplot $script ($term) exited with $rc" >&2; exit "$rc"; }
    done
}
controls=""
[ -s "${prefix}_controls.csv" ] && controls="${prefix}_controls.csv"
[ -z "$init" ] || [ -s "${init}_layers.csv" ] || { echo "spectrum.sh: ${init}_layers.csv missing or empty" >&2; exit 66; }
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
for n in $ns; do
    initf=""
    if [ -n "$init" ]; then # random init pooled over its layers: index,sigma,energy
        data "${init}_layers.csv" | awk -F, -v n="$n" '$1 == n { s[$3] += $4; e[$3] += $6; c[$3]++ }
            END { for (i in s) print i "," s[i] / c[i] "," e[i] / c[i] }' | sort -t, -k1,1n >"$tmp/init_$n.csv"
        [ -s "$tmp/init_$n.csv" ] && initf="$tmp/init_$n.csv"
    fi
    idx=$(data "${prefix}_summary.csv" | awk -F, -v n="$n" '!f && $1 == n { print $5; f = 1 }')
    for which in sigma energy; do
        draw fig1_left.gp "${prefix}_fig1_left_${which}_n$n" \
            "file='$(esc "${prefix}_layers.csv")'; N=$n; layers='$layers'; which='$which'; controls='$(esc "$controls")'; init='$(esc "$initf")'"
    done
    draw fig1_right.gp "${prefix}_fig1_right_n$n" \
        "file='$(esc "${prefix}_summary.csv")'; N=$n; index=${idx:-1}; which='sigma'"
    if [ "$(data "${prefix}_projerr_all.csv" | awk -F, -v n="$n" '$1 == n' | wc -l)" -gt 0 ]; then
        draw projerr.gp "${prefix}_projerr_n$n" "file='$(esc "${prefix}_projerr_all.csv")'; N=$n"
    fi
done
if [ "$(echo $ns | wc -w)" -gt 1 ]; then
    # one file per layer and control, filtered here: no pipes inside gnuplot
    for l in $layers -1; do
        data "${prefix}_vs_n.csv" | awk -F, -v l="$l" '$2 == l' >"$tmp/vsn_$l.csv"
    done
    ctlstem=""
    if [ -n "$controls" ]; then
        ctlstem="$tmp/ctl"
        for c in uniform band; do
            data "$controls" | awk -F, -v c="$c" '$2 == c && $3 == 1' >"${ctlstem}_$c.csv"
        done
    fi
    draw spectrum_vs_n.gp "${prefix}_spectrum_vs_n" \
        "rows='$(esc "$tmp/vsn")'; layers='$layers'; controls='$(esc "$ctlstem")'"
fi
[ -s "${prefix}_approx_all.csv" ] && bash "$here/approx.sh" "$prefix" "$title" >/dev/null
echo "spectrum.sh: figures written next to $prefix"
