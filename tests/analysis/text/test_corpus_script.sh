#!/usr/bin/env bash
# The text extraction steps of analysis/text/corpus.sh (analysis/text/corpus_extract/*.awk)
# on small hand-made inputs: offline and fast, no Debian packages needed. The full
# script needs the packages; it is run by hand (make corpora) and checked against
# analysis/text/corpora.sha256.
set -u
cd "$(dirname "$0")/../../.."
export LC_ALL=C
ex=analysis/text/corpus_extract
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { # name, condition result (0 = pass)
    if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1"; fi
}
same() { # name, got-file, want-file
    if cmp -s "$2" "$3"; then ok "$1" 0; else ok "$1" 1; diff "$3" "$2" | head -20; fi
}

# ---- dictd: index offsets in dictd's base64, header entries skipped, braces gone,
# lines trimmed and joined per paragraph, two headwords on one entry give one document
b64() { # non-negative integer → dictd base64 (most significant digit first)
    local n=$1 s="" d=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/
    while :; do s=${d:n%64:1}$s; n=$((n / 64)); [ "$n" -eq 0 ] && break; done
    printf %s "$s"
}
e0=$'00-database-short\n     A test dictionary\n'
e1=$'alpha\n\n   First  {link}   line\n   continues here.\n\n   Second\tparagraph.  \n\n'
e2=$'Beta, n.  A {second} entry,\nwith a wrapped line.\n\n'
printf %s "$e0$e1$e2" > "$tmp/t.dict"
o1=${#e0} o2=$((${#e0} + ${#e1}))
{
    printf '00-database-short\t%s\t%s\n' "$(b64 0)" "$(b64 ${#e0})"
    printf 'alpha\t%s\t%s\n' "$(b64 $o1)" "$(b64 ${#e1})"
    printf 'beta\t%s\t%s\n' "$(b64 $o2)" "$(b64 ${#e2})"
    printf 'second name\t%s\t%s\n' "$(b64 $o2)" "$(b64 ${#e2})"
} > "$tmp/t.index"
awk -v mode=offsets -f $ex/dictd.awk "$tmp/t.index" | sort -n -u > "$tmp/t.off"
ok "dictd offsets: 2 entries" $([ "$(wc -l < "$tmp/t.off")" -eq 2 ]; echo $?)
ok "dictd offset decode" $([ "$(head -1 "$tmp/t.off")" = "$o1"$'\t'"${#e1}" ]; echo $?)
ok "dictd b64 multi-digit" $([ "$(echo "x	BAA	Z" | awk -v mode=offsets -f $ex/dictd.awk)" = $'4096\t25' ]; echo $?)
awk -v mode=extract -v offsets="$tmp/t.off" -f $ex/dictd.awk "$tmp/t.dict" > "$tmp/t.docs"
printf '%s\n' 'alpha' 'First link line continues here.' 'Second paragraph.' '' \
    'Beta, n. A second entry, with a wrapped line.' '' > "$tmp/t.want"
same "dictd documents" "$tmp/t.docs" "$tmp/t.want"

# ---- KJV: headings and verse numbers dropped, one paragraph per chapter
printf '\nGenesis 1\n\n  1 In the beginning.\n  2 And the earth.\n\n1 Samuel 2\n\n  1 And Hannah prayed.\n' |
    awk -f $ex/kjv.awk > "$tmp/k.docs"
printf '%s\n' 'In the beginning. And the earth.' '' 'And Hannah prayed.' '' > "$tmp/k.want"
same "kjv chapters" "$tmp/k.docs" "$tmp/k.want"

# ---- fortunes: items split on %, lines kept but trimmed, inner blank lines dropped
printf 'One line.\n%%\n  Two\tlines,\n\n\t\t-- Someone  \n%%\n%%\nLast\n' | awk -f $ex/fortune.awk > "$tmp/f.docs"
printf '%s\n' 'One line.' '' 'Two lines,' '-- Someone' '' 'Last' '' > "$tmp/f.want"
same "fortune items" "$tmp/f.docs" "$tmp/f.want"

# ---- finish: duplicates dropped (first kept, order kept), split by text hash
for i in $(seq 1 400); do printf 'document number %d\nsecond line\n\n' "$i"; done > "$tmp/d.docs"
printf 'document number 7\nsecond line\n\n\n\ndocument number 3\nsecond line\n' >> "$tmp/d.docs"
awk -v train="$tmp/tr" -v valid="$tmp/va" -v stats="$tmp/st" -f $ex/finish.awk "$tmp/d.docs"
read -r _ docs _ dups _ nt _ nv < "$tmp/st"
ok "finish stats $docs $dups $nt $nv" $([ "$docs" -eq 400 ] && [ "$dups" -eq 2 ] && [ $((nt + nv)) -eq 400 ]; echo $?)
ok "finish: about 1 in 7 to validation ($nv of 400)" $([ "$nv" -ge 35 ] && [ "$nv" -le 80 ]; echo $?)
# independent check of the split rule and of the order
/usr/bin/python3 - "$tmp" <<'EOF' > "$tmp/py.out"
import sys
d = sys.argv[1]
docs, seen = [], set()
for x in open(d + "/d.docs", "rb").read().split(b"\n\n"):
    x = x.strip(b"\n")
    if x and x not in seen:
        seen.add(x)
        docs.append(x)
def h(s):
    v = 0
    for b in s:
        v = (v * 31 + b) % 2147483647
    return v
for name, want in (("tr", [x for x in docs if h(x) % 7]), ("va", [x for x in docs if h(x) % 7 == 0])):
    got = [x for x in open(d + "/" + name, "rb").read().split(b"\n\n") if x.strip(b"\n")]
    print("ok" if got == want else "differ", name, len(got), len(want))
EOF
ok "finish split = python ($(tr '\n' ' ' < "$tmp/py.out"))" $([ "$(grep -c '^ok' "$tmp/py.out")" -eq 2 ]; echo $?)
awk -v train="$tmp/tr2" -v valid="$tmp/va2" -v stats="$tmp/st2" -f $ex/finish.awk "$tmp/d.docs"
ok "finish deterministic" $(cmp -s "$tmp/tr" "$tmp/tr2" && cmp -s "$tmp/va" "$tmp/va2"; echo $?)
# a document keeps its side when others are added or removed
head -c 2000 "$tmp/d.docs" | awk -v train="$tmp/tr3" -v valid="$tmp/va3" -v stats="$tmp/st3" -f $ex/finish.awk
moved=$( { grep '^document' "$tmp/va3" | grep -vxFf <(grep '^document' "$tmp/va")
          grep '^document' "$tmp/tr3" | grep -vxFf <(grep '^document' "$tmp/tr"); } | wc -l)
ok "finish split stable ($moved moved)" $([ "$moved" -eq 0 ] && [ -s "$tmp/tr3" ]; echo $?)

# ---- corpus.sh without its packages and not root: prints the apt-get line, exits 69
# (EX_UNAVAILABLE) and creates nothing. Stand-ins for dpkg-query and id fake both.
mkdir -p "$tmp/bin"
printf '#!/bin/sh\nexit 1\n' > "$tmp/bin/dpkg-query"
printf '#!/bin/sh\necho 1000\n' > "$tmp/bin/id"
chmod +x "$tmp/bin/dpkg-query" "$tmp/bin/id"
PATH="$tmp/bin:$PATH" bash analysis/text/corpus.sh "$tmp/c" > "$tmp/c.out" 2>&1
rc=$?
ok "corpus.sh without packages: exit $rc, apt-get line, no output" \
    $([ $rc -eq 69 ] && grep -q 'sudo apt-get install -y --no-install-recommends dict-foldoc' "$tmp/c.out" &&
      [ ! -e "$tmp/c" ]; echo $?)

echo "test_corpus_script.sh: $pass passed, $fail failed"
echo "RESULT $pass $fail"
[ "$fail" -eq 0 ]
