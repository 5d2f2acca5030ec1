#!/usr/bin/env bash
# Build the public-domain / free corpora from Debian packages (licences: analysis/text/README.md):
#   encyclopedic  FOLDOC + the Jargon File        (dict-foldoc, dict-jargon)
#   narrative     the King James Bible, by chapter (bible-kjv, bible-kjv-text)
#   informal      fortunes + the Devil's Dictionary (fortunes, fortunes-min, dict-devil)
# into OUTDIR/<name>/{train,valid}.txt (default experiments/corpora, git-ignored):
# UTF-8, one document per entry / chapter / fortune, documents separated by one
# blank line (lb_docs_read_text's paragraph mode), exact duplicates dropped (first
# kept, order unchanged), about 1 document in 7 to valid.txt chosen by a hash of their
# text (corpus_extract/finish.awk). OUTDIR/MANIFEST records sizes, sha256 and package
# versions; the sha256 are compared with analysis/text/corpora.sha256 (a mismatch is a
# warning: other package versions give other text).
#
# usage: analysis/text/corpus.sh [OUTDIR]
# As root, missing packages are installed with apt-get; otherwise the script prints
# the apt-get line and exits 69. Outputs appear only complete (temp file + mv).
set -euo pipefail
export LC_ALL=C # byte semantics for awk offsets, sort and the split hash

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ex=$here/corpus_extract
out=${1:-$here/corpora}
pkgs=(dict-foldoc dict-jargon dict-devil bible-kjv bible-kjv-text fortunes fortunes-min)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    line="apt-get install -y --no-install-recommends ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        echo "corpus.sh: missing Debian packages: ${missing[*]}" >&2
        echo "corpus.sh: install them with:  sudo $line" >&2
        exit 69
    fi
    echo "corpus.sh: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive $line >&2
fi
for tool in zcat bible iconv sha256sum awk; do
    command -v "$tool" >/dev/null || { echo "corpus.sh: '$tool' not found" >&2; exit 69; }
done

mkdir -p "$out"
work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Remove overstrike (x BACKSPACE), other control characters but tab and newline, and
# bytes that are not UTF-8; then re-squeeze what that leaves.
clean() { sed 's/.\x08//g' | tr -d '\000-\010\013-\037\177' | iconv -c -f UTF-8 -t UTF-8; }

dictd() { # NAME: one document per dictd entry
    local name=$1 dir=/usr/share/dictd
    zcat "$dir/$name.dict.dz" > "$work/$name.dict"
    awk -v mode=offsets -f "$ex/dictd.awk" "$dir/$name.index" | sort -n -u > "$work/$name.off"
    awk -v mode=extract -v offsets="$work/$name.off" -f "$ex/dictd.awk" "$work/$name.dict" | clean
    rm -f "$work/$name.dict" "$work/$name.off"
}

kjv() {
    bible -l100000 Gen1:1-Rev22:21 | clean | awk -f "$ex/kjv.awk"
}

fortunes() { # every fortune file but the pictures (ascii-art), in name order
    local f
    for f in $(find /usr/share/games/fortunes -maxdepth 1 -type f ! -name '*.dat' ! -name '*.u8' \
                   ! -name 'ascii-art' | sort); do
        clean < "$f" | awk -f "$ex/fortune.awk"
    done
}

build() { # NAME SOURCE...: documents of the sources, in order, to train/valid
    local name=$1 s
    shift
    mkdir -p "$work/$name"
    for s in "$@"; do "$s"; done > "$work/$name.docs"
    awk -v train="$work/$name/train.txt" -v valid="$work/$name/valid.txt" \
        -v stats="$work/$name/stats" -f "$ex/finish.awk" "$work/$name.docs"
    rm -f "$work/$name.docs"
    if [ ! -s "$work/$name/train.txt" ]; then
        echo "corpus.sh: $name: no text extracted (sources: $*)" >&2
        exit 65
    fi
}
foldoc() { dictd foldoc; }
jargon() { dictd jargon; }
devil() { dictd devil; }

build encyclopedic foldoc jargon
build narrative kjv
build informal fortunes devil

{
    echo "# linbench corpora, built by analysis/text/corpus.sh on $(date -u +%Y-%m-%d)"
    echo "# packages:"
    dpkg-query -W -f='#   ${Package} ${Version}\n' "${pkgs[@]}"
    echo "# name/split: bytes words documents (duplicates dropped in the corpus)"
    for name in encyclopedic narrative informal; do
        read -r _ docs _ dups _ nt _ nv < "$work/$name/stats"
        for split in train valid; do
            n=$nt; [ $split = valid ] && n=$nv
            printf '#   %s/%s.txt: %s bytes, %s words, %s documents (%s duplicates dropped)\n' \
                "$name" "$split" "$(wc -c < "$work/$name/$split.txt")" \
                "$(wc -w < "$work/$name/$split.txt")" "$n" "$dups"
        done
    done
    echo "# sha256 (check with: cd OUTDIR && sha256sum -c MANIFEST)"
    (cd "$work" && sha256sum {encyclopedic,narrative,informal}/{train,valid}.txt)
} > "$work/MANIFEST"

for name in encyclopedic narrative informal; do
    mkdir -p "$out/$name"
    for split in train valid; do mv -f "$work/$name/$split.txt" "$out/$name/$split.txt"; done
done
mv -f "$work/MANIFEST" "$out/MANIFEST"
grep '^#   ' "$out/MANIFEST" | sed 's/^#   //'

if [ -f "$here/corpora.sha256" ]; then
    if (cd "$out" && sha256sum --quiet -c "$here/corpora.sha256" >/dev/null 2>&1); then
        echo "corpus.sh: checksums match analysis/text/corpora.sha256"
    else
        echo "corpus.sh: WARNING: checksums differ from analysis/text/corpora.sha256" \
             "(other package versions?); compare the versions in $out/MANIFEST" >&2
    fi
fi

echo "licences (first matching lines of /usr/share/doc/PKG/copyright):"
for p in dict-foldoc dict-jargon dict-devil bible-kjv-text fortunes; do
    lic=$(grep -m2 -iE 'public domain|Free Documentation|BSD copyright|copyright .*expired' \
              "/usr/share/doc/$p/copyright" 2>/dev/null | tr -s ' \t' ' ' | paste -sd '/' -) || true
    echo "  $p: ${lic:-see /usr/share/doc/$p/copyright}"
done
