#!/usr/bin/env bash
# Draw Figure 3 from the training logs of `make fig3`:
#   plots/fig3.sh [RESULTS_DIR] [OUT_DIR] [SHARE] [SHARE_K] [N]
# RESULTS_DIR holds fig3-ARM-sSEED/log.csv (ARM: standard, kK-SHARE, kK-SHARE-nN,
# control-kK; a folder fig3-ARM without a seed counts as one seed). Each arm is drawn as
# the geometric mean over its seeds with a band from the lowest to the highest seed, at
# the steps every seed evaluated. Three figures, PNG and SVG, into OUT_DIR (default
# plots/out):
#   fig3_k      validation perplexity vs updates: standard, Linformer at each k with
#               sharing SHARE (default headwise), and the negative control
#   fig3_share  the sharing modes at k = SHARE_K (default 32), with standard
#   fig3_n      k = SHARE_K, SHARE at each final n (N, default 128, and the -nN arms)
# Only the arms present are drawn; a figure with no Linformer arm is skipped with a note.
set -eu
cd "$(dirname "$0")/.."
res=${1:-results/fig3}
out=${2:-plots/out}
share=${3:-headwise}
sk=${4:-32}
n0=${5:-128}
GP=$(command -v gnuplot || command -v gnuplot-nox || true)
[ -n "$GP" ] || { echo "fig3.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 69; }
ls "$res"/fig3-*/log.csv >/dev/null 2>&1 ||
    { echo "fig3.sh: no $res/fig3-*/log.csv; run make fig3 first" >&2; exit 66; }
mkdir -p "$out"
tmp=$(mktemp -d "$out/.fig3.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

seeds() { # arm -> its log files
    for f in "$res/fig3-$1"/log.csv "$res/fig3-$1"-s*/log.csv; do
        [ -f "$f" ] || continue
        case ${f#"$res/fig3-$1"} in /log.csv|-s[0-9]*/log.csv) ;; *) continue ;; esac
        case ${f#"$res/fig3-$1"} in -s*[!0-9]*/log.csv) continue ;; esac
        echo "$f"
    done
}

# One block per arm: a quoted title line, then "step geomean min max" at the steps every
# seed evaluated. Columns are found by name in each header.
block() { # title, files...
    local t=$1; shift
    awk -F, -v t="$t" -v nf=$# '
        FNR == 1 { delete c; for (i = 1; i <= NF; i++) c[$i] = i
                   if (!c["step"] || !c["val_ppl"]) { bad = FILENAME; exit 2 }; next }
        $c["val_ppl"] != "" && $c["val_ppl"] + 0 > 0 {
            s = $c["step"] + 0; p = $c["val_ppl"] + 0
            if (!(s in cnt)) { order[++ns] = s; lo[s] = p; hi[s] = p }
            cnt[s]++; sum[s] += log(p); if (p < lo[s]) lo[s] = p; if (p > hi[s]) hi[s] = p }
        END { if (bad != "") exit 2
              printf "\"%s (%d seed%s)\" ppl lo hi\n", t, nf, nf == 1 ? "" : "s"
              for (i = 1; i <= ns; i++) { s = order[i]
                  if (cnt[s] == nf) print s, exp(sum[s] / nf), lo[s], hi[s] }
              printf "\n\n" }' "$@" ||
        { echo "fig3.sh: $t: a log without step/val_ppl columns (not a linbench train log)" >&2; exit 65; }
}

title() {
    case $1 in
        standard) echo "standard (full attention)" ;;
        control-k*) echo "control: Linformer k=${1#control-k}" ;;
        *-n*) a=${1%-n*} k=${a%%-*}; echo "Linformer k=${k#k}, ${a#*-}, n=${1##*-n}" ;;
        *) k=${1%%-*}; echo "Linformer k=${k#k}, ${1#*-}" ;;
    esac
}

draw() { # name, title, arms...
    local name=$1 ttl=$2 dat="$tmp/$1.dat" count=0 lin=0; shift 2
    : >"$dat"
    for a in "$@"; do
        files=$(seeds "$a")
        [ -n "$files" ] || continue
        # shellcheck disable=SC2086
        block "$(title "$a")" $files >>"$dat"
        count=$((count + 1))
        case $a in standard) ;; *) lin=$((lin + 1)) ;; esac
    done
    if [ "$lin" -eq 0 ]; then echo "fig3.sh: $name: no Linformer arm yet, skipped" >&2; return 0; fi
    for ext in png svg; do
        "$GP" -e "dat='$dat'; nrun=$count; out='$tmp/$name.$ext'; ext='$ext'; ttl='$ttl'" \
            plots/fig3.gp </dev/null
        mv -f "$tmp/$name.$ext" "$out/$name.$ext"
    done
    echo "fig3.sh: $out/$name.png, $out/$name.svg ($count arms)"
}

ks=$(for d in "$res"/fig3-k*-"$share" "$res"/fig3-k*-"$share"-s*; do [ -f "$d/log.csv" ] || continue
         l=${d##*/fig3-}; echo "${l%%-*}"; done | tr -d k | sort -nu | sed 's/^/k/')
ctl=$(for d in "$res"/fig3-control-k*; do [ -f "$d/log.csv" ] || continue; l=${d##*/fig3-}
          echo "${l%-s*}"; done | sort -u)
draw fig3_k "Validation perplexity: standard vs Linformer ($share sharing), n = $n0" standard \
    $(for k in $ks; do echo "$k-$share"; done) $ctl
draw fig3_share "Validation perplexity: Linformer sharing modes at k = $sk, n = $n0" standard \
    "k$sk-none" "k$sk-headwise" "k$sk-kv" "k$sk-layerwise"
ns=$(for d in "$res"/fig3-k"$sk-$share"-n*; do [ -f "$d/log.csv" ] || continue; l=${d##*/fig3-}
         l=${l%-s*}; echo "${l##*-n}"; done | sort -nu)
draw fig3_n "Validation perplexity: Linformer k = $sk ($share) as n grows" \
    $(for m in $(printf '%s\n' $ns $n0 | sort -nu); do
          if [ "$m" = "$n0" ]; then echo "k$sk-$share"; else echo "k$sk-$share-n$m"; fi; done)
