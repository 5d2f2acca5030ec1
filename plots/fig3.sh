#!/usr/bin/env bash
# Draw Figure 3 (small scale) from the training logs of `make fig3`:
#   plots/fig3.sh [RESULTS_DIR] [OUT_DIR] [SHARE] [SHARE_K]
# RESULTS_DIR holds fig3-LABEL/log.csv (LABEL: standard, or kK-SHARE). Two figures, PNG
# and SVG, into OUT_DIR (default plots/out):
#   fig3_k      validation perplexity vs updates: standard and Linformer at each k with
#               sharing SHARE (default headwise)
#   fig3_share  the same for the sharing modes at k = SHARE_K (default 128)
# Only the logs present are drawn; a figure with no Linformer curve is skipped with a note.
set -eu
cd "$(dirname "$0")/.."
res=${1:-results}
out=${2:-plots/out}
share=${3:-headwise}
sk=${4:-128}
GP=$(command -v gnuplot || command -v gnuplot-nox || true)
[ -n "$GP" ] || { echo "fig3.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 69; }
[ -f "$res/fig3-standard/log.csv" ] || ls "$res"/fig3-*/log.csv >/dev/null 2>&1 ||
    { echo "fig3.sh: no $res/fig3-*/log.csv; run make fig3 first" >&2; exit 66; }
mkdir -p "$out"
tmp=$(mktemp -d "$out/.fig3.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# One block per run: a quoted title line, then "step val_ppl" for the evaluated rows.
# Columns are found by name in the header, so a reordered log still reads right.
block() { # log, title
    awk -F, -v t="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i
                                 if (!c["step"] || !c["val_ppl"]) exit 2
                                 printf "\"%s\" ppl\n", t; next }
                       $c["val_ppl"] != "" { print $c["step"], $c["val_ppl"] }
                       END { printf "\n\n" }' "$1" ||
        { echo "fig3.sh: $1: no step/val_ppl columns (not a linbench train log)" >&2; exit 65; }
}
nval() { awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "n") c = i; next } c { v = $c } END { print v }' "$1"; }

draw() { # name, title, labels...
    local name=$1 title=$2 dat="$tmp/$1.dat" n="" count=0 lin=0; shift 2
    : >"$dat"
    for l in "$@"; do
        f="$res/fig3-$l/log.csv"
        [ -f "$f" ] || continue
        case $l in
            standard) t="standard (full attention)" ;;
            *) k=${l%%-*} t="Linformer k=${k#k}, ${l#*-}"; lin=$((lin + 1)) ;;
        esac
        block "$f" "$t" >>"$dat"
        count=$((count + 1))
        [ -n "$n" ] || n=$(nval "$f")
    done
    if [ "$lin" -eq 0 ]; then echo "fig3.sh: $name: no Linformer log yet, skipped" >&2; return 0; fi
    for ext in png svg; do
        "$GP" -e "dat='$dat'; nrun=$count; out='$tmp/$name.$ext'; ext='$ext'; ttl='$title (n = $n)'" \
            plots/fig3.gp </dev/null
        mv -f "$tmp/$name.$ext" "$out/$name.$ext"
    done
    echo "fig3.sh: $out/$name.png, $out/$name.svg ($count runs)"
}

ks=$(for d in "$res"/fig3-k*-"$share"; do [ -f "$d/log.csv" ] || continue
         l=${d##*/fig3-}; echo "${l%%-*}"; done | tr -d k | sort -n | sed 's/^/k/')
draw fig3_k "Validation perplexity: standard vs Linformer ($share sharing)" standard \
    $(for k in $ks; do echo "$k-$share"; done)
others=$(for d in "$res"/fig3-k"$sk"-*; do [ -f "$d/log.csv" ] || continue; l=${d##*/fig3-k$sk-}
             case $l in none|headwise|kv|layerwise) ;; *) echo "k$sk-$l" ;; esac; done)
draw fig3_share "Validation perplexity: Linformer sharing modes at k = $sk" standard \
    "k$sk-none" "k$sk-headwise" "k$sk-kv" "k$sk-layerwise" $others
