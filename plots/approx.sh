#!/usr/bin/env bash
# Draw the approximation figures from a `linbench spectrum --out PREFIX` result:
#   PREFIX_theorem_{pv,p_v}_n<N>.{png,svg}  Theorems 1 and 2 as stated (approx_theorem.gp)
#   PREFIX_cost_n<N>.{png,svg}              error against time per method (approx_cost.gp)
#   PREFIX_entropy_n<N>.{png,svg}           each head's error vs row entropy (approx_entropy.gp)
# Methods come from the CSV: a method added to the analysis appears without a change here.
# Usage: plots/approx.sh PREFIX [TITLE]
set -euo pipefail
prefix=${1:?usage: plots/approx.sh PREFIX [TITLE]}
title=${2:-$(basename "$prefix")}
here=$(cd "$(dirname "$0")" && pwd)
gp=$(command -v gnuplot || command -v gnuplot-nox || true)
[ -n "$gp" ] || { echo "approx.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 69; }
all="${prefix}_approx_all.csv" per="${prefix}_approx.csv"
for f in "$all" "$per"; do [ -s "$f" ] || { echo "approx.sh: $f missing or empty" >&2; exit 66; }; done
data() { awk '!/^#/ { if (h) print; h = 1 }' "$1"; }
esc() { printf '%s' "$1" | sed "s/'/''/g"; }
draw() { # script, output stem, extra -e assignments
    for term in png svg; do
        "$gp" -e "term='$term'; out='$(esc "$2").$term'; title='$(esc "$title")'; $3" "$here/$1" </dev/null
    done
}
for n in $(data "$all" | cut -d, -f1 | sort -n -u); do
    for norm in pv p_v; do
        draw approx_theorem.gp "${prefix}_theorem_${norm}_n$n" "file='$(esc "$all")'; N=$n; norm='$norm'"
    done
    # attention-form methods present at n other than the exact one
    methods=$(data "$all" | awk -F, -v n="$n" '$1 == n && $6 == 1 && $4 != "full" { print $4 }' | sort -u | tr '\n' ' ')
    [ -n "$methods" ] || continue
    tfull=$(data "$all" | awk -F, -v n="$n" '$1 == n && $4 == "full" && $8 == "pv" { print $14 + 0; exit }')
    draw approx_cost.gp "${prefix}_cost_n$n" "file='$(esc "$all")'; N=$n; methods='$methods'; tfull=${tfull:-0}"
    # matched size: the largest analysed size <= n/4 (n/2 when none)
    K=$(data "$all" | awk -F, -v n="$n" '$1 == n && $4 == "jl" { s[$7] = 1 } END {
        for (k in s) if (k + 0 <= n / 4 && k + 0 > b) b = k + 0
        if (!b) for (k in s) if (k + 0 > b) b = k + 0
        print b }')
    draw approx_entropy.gp "${prefix}_entropy_n$n" "file='$(esc "$per")'; N=$n; K=$K; methods='$methods'"
done
echo "approx.sh: figures written next to $prefix"
