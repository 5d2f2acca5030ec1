#!/usr/bin/env bash
# Loss and perplexity curves of a `linbench train --log` CSV:
#   plots/train_curves.sh LOG.csv OUT_PREFIX [TITLE]   -> OUT_PREFIX.png, OUT_PREFIX.svg
# Columns are found by name in the header; images are drawn to temp names, then renamed.
set -eu
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: plots/train_curves.sh LOG.csv OUT_PREFIX [TITLE]" >&2; exit 64; }
log=$1 prefix=$2 title=${3:-$(basename "$(dirname "$1")")}
GP=$(command -v gnuplot || command -v gnuplot-nox || true)
[ -n "$GP" ] || { echo "train_curves.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 69; }
[ -f "$log" ] || { echo "train_curves.sh: $log: not found" >&2; exit 66; }
mkdir -p "$(dirname "$prefix")"
tmp=$(mktemp -d "$(dirname "$prefix")/.curves.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i
                   if (!c["step"] || !c["train_loss"] || !c["val_loss"] || !c["val_ppl"]) exit 2; next }
         { v = $c["val_loss"] == "" ? "NaN" : $c["val_loss"]; p = $c["val_ppl"] == "" ? "NaN" : $c["val_ppl"]
           print $c["step"], $c["tokens"], $c["train_loss"], v, p; rows++ }
         END { if (!rows) exit 3 }' "$log" >"$tmp/dat" ||
    { echo "train_curves.sh: $log: not a linbench train log (step, train_loss, val_loss, val_ppl columns and rows)" >&2; exit 65; }
for ext in png svg; do
    "$GP" -e "dat='$tmp/dat'; out='$tmp/c.$ext'; ext='$ext'; ttl='$title'" plots/train_curves.gp </dev/null
    mv -f "$tmp/c.$ext" "$prefix.$ext"
done
echo "train_curves.sh: $prefix.png, $prefix.svg"
