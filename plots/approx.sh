#!/usr/bin/env bash
# Draw the approximation figures from a `linbench spectrum --out PREFIX` result:
#   PREFIX_theorem_{pv,p_v}_n<N>.{png,svg}  Theorems 1 and 2 as stated (approx_theorem.gp)
#   PREFIX_cost_n<N>.{png,svg}              error against cost (flops; median time), every
#                                           method and size (approx_cost.gp)
#   PREFIX_entropy_n<N>.{png,svg}           each head's error, and its best method at a fixed
#                                           cost, against its row entropy (approx_entropy.gp)
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
# Each head's best attention-form method at a fixed cost, as the report takes it: the
# budget is thm2's flops at K (a Linformer head's 8nKd), each method enters at its
# largest size with flops <= 1.25 x budget, the least mean error wins. Prints
# entropy,index,method,err per head (index: the method's position in $3).
best_per_head() {
    data "$per" | awk -F, -v n="$1" -v K="$2" -v list="$3" '
        BEGIN { nm = split(list, ms, " "); for (i = 1; i <= nm; i++) idx[ms[i]] = i }
        $1 != n || $8 != "pv" { next }
        $4 == "thm2" && $7 == K && !budget { budget = $18 }
        { rows[NR] = $0 }
        END {
            for (r in rows) {
                split(rows[r], f, ",")
                if (!(f[4] in idx) || f[18] + 0 > 1.25 * budget) continue
                key = f[2] "," f[3] SUBSEP f[4]
                if (!(key in size) || f[7] + 0 > size[key]) { size[key] = f[7] + 0; err[key] = f[9] }
                ent[f[2] "," f[3]] = f[15]
            }
            for (key in size) {
                split(key, hk, SUBSEP)
                if (!(hk[1] in best) || err[key] + 0 < besterr[hk[1]]) { best[hk[1]] = hk[2]; besterr[hk[1]] = err[key] + 0 }
            }
            for (h in best) printf "%s,%d,%s,%s\n", ent[h], idx[best[h]], best[h], besterr[h]
        }'
}
draw() { # script, output stem, extra -e assignments
    for term in png svg; do
        "$gp" -e "term='$term'; out='$(esc "$2").$term'; title='$(esc "$title")'; $3" "$here/$1" </dev/null
    done
}
# The cost columns (time_median_s 17, flops 18) exist in files from this version on.
has_cost=$(awk -F, '!/^#/ { print $17, $18; exit }' "$all")
[ "$has_cost" = "time_median_s flops" ] ||
    echo "approx.sh: $all predates the cost columns: no cost or best-method figures" >&2
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
for n in $(data "$all" | cut -d, -f1 | sort -n -u); do
    for norm in pv p_v; do
        draw approx_theorem.gp "${prefix}_theorem_${norm}_n$n" "file='$(esc "$all")'; N=$n; norm='$norm'"
    done
    [ "$has_cost" = "time_median_s flops" ] || continue
    # every method at n but the exact one, and whether each runs from q, k, v alone
    pairs=$(data "$all" | awk -F, -v n="$n" '$1 == n && $4 != "full" && !s[$4]++ { print $4, $6 }')
    methods=$(echo "$pairs" | cut -d' ' -f1 | tr '\n' ' ') atts=$(echo "$pairs" | cut -d' ' -f2 | tr '\n' ' ')
    [ -n "$methods" ] || continue
    # (awk reads to the end: an early exit would SIGPIPE the writer under pipefail.)
    full=$(data "$all" | awk -F, -v n="$n" '$1 == n && $4 == "full" && $8 == "pv" && !f { print $18 + 0, $17 + 0; f = 1 }')
    draw approx_cost.gp "${prefix}_cost_n$n" "file='$(esc "$all")'; N=$n; methods='$methods'; atts='$atts'; ffull=${full%% *}; tfull=${full##* }"
    # matched size: the largest analysed size <= n/4 (n/2 when none)
    K=$(data "$all" | awk -F, -v n="$n" '$1 == n && $4 == "jl" { s[$7] = 1 } END {
        for (k in s) if (k + 0 <= n / 4 && k + 0 > b) b = k + 0
        if (!b) for (k in s) if (k + 0 > b) b = k + 0
        print b }')
    att_methods=$(echo "$pairs" | awk '$2 == 1 { printf "%s ", $1 }')
    best_per_head "$n" "$K" "$att_methods" >"$tmp/best.csv"
    draw approx_entropy.gp "${prefix}_entropy_n$n" "file='$(esc "$per")'; best='$(esc "$tmp/best.csv")'; N=$n; K=$K; methods='$att_methods'"
done
echo "approx.sh: figures written next to $prefix"
