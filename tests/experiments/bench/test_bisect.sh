#!/usr/bin/env bash
# experiments/bench/bench_bisect.sh on a synthetic history with a known culprit: a git
# repository whose file 'speed' sets how slow the 'linformer' point is at each commit,
# and a fake A/B step that writes synthetic bench results from it and runs the real
# `linbench compare --out`. No timing is measured.
source "$(dirname "$0")/../../lib/lib.sh"
BISECT=$PWD/experiments/bench/bench_bisect.sh

export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
# history N CULPRIT: commits 0..N; commit CULPRIT (1..N) makes linformer 1.3x slower
history() {
    local repo=$T/repo-$1-$2
    rm -rf "$repo"; git init -q "$repo"
    for i in $(seq 0 "$1"); do
        if [ "$i" -ge "$2" ] && [ "$2" -gt 0 ]; then echo 1.3 >"$repo/speed"; else echo 1.0 >"$repo/speed"; fi
        echo "$i" >"$repo/n"
        git -C "$repo" add speed n; git -C "$repo" commit -qm "commit $i"
    done
    echo "$repo"
}
# The fake A/B step: GOOD CAND CSV. 12 samples a side; exit as compare does.
cat >"$T/fake_ab.sh" <<'SH'
#!/usr/bin/env bash
set -u
good=$1 cand=$2 csv=$3
echo "$cand" >>"$FAKE_CALLS"
[ -n "${FAKE_RC:-}" ] && exit "$FAKE_RC"
d=$(mktemp -d)
for side in base new; do
    sha=$good; [ "$side" = new ] && sha=$cand
    s=$(git -C "$BISECT_REPO" show "$sha:speed")
    mkdir -p "$d/$side"
    { echo "protocol,method,share,n,k,d,heads,batch,layers,threads,rep,seconds"
      for r in $(seq 0 11); do
          awk -v r="$r" -v s="$s" -v o="$side" 'BEGIN { v = 1 + 0.001 * ((r * 5 + (o == "new")) % 12)
              printf "layer,linformer,kv,4096,128,64,12,1,1,2,%d,%.9g\n", r, v * s
              printf "layer,full,none,4096,0,64,12,1,1,2,%d,%.9g\n", r, v }'
      done; } >"$d/$side/bench.csv"
done
"$LB" compare --out "$csv" "$d/base" "$d/new"
rc=$?
rm -rf "$d"
exit $rc
SH
chmod +x "$T/fake_ab.sh"
export FAKE_CALLS=$T/calls BISECT_AB=$T/fake_ab.sh LB

# bisect N CULPRIT [POINT]: runs the bisection, checks the culprit and the number of steps
bisect() {
    local n=$1 c=$2 repo
    repo=$(history "$n" "$c")
    : >"$FAKE_CALLS"
    BISECT_REPO=$repo BISECT_POINT=${3:-} bash "$BISECT" "$(git -C "$repo" rev-list --max-parents=0 HEAD)" \
        "$(git -C "$repo" rev-parse HEAD)" >"$T/out" 2>"$T/err"
    local rc=$? want
    want=$(git -C "$repo" log --format=%H --grep="^commit $c\$")
    if [ "$rc" -eq 0 ] && grep -qx "first bad commit: $want" "$T/out"; then ok
    else bad "n=$n culprit=$c: exit $rc, $(tail -n 1 "$T/out")"; sed 's/^/    /' "$T/err" | tail -n 5; fi
    # one A/B for BAD, then ceil(log2 n) halvings at most
    local calls max=1 m=1
    calls=$(wc -l <"$FAKE_CALLS")
    while [ "$m" -lt "$n" ]; do m=$((m * 2)); max=$((max + 1)); done
    [ "$calls" -le "$max" ] && ok || bad "n=$n culprit=$c: $calls A/B runs, want <= $max"
}
bisect 9 6
bisect 9 1      # the first commit after GOOD
bisect 9 9      # BAD itself
bisect 1 1      # one commit
bisect 16 11
bisect 16 11 linformer
# a regression in another point than the one asked about: BAD shows none of 'full'
repo=$(history 5 3)
BISECT_REPO=$repo BISECT_POINT=full expect_rc 1 "no regression of the point" bash "$BISECT" \
    "$(git -C "$repo" rev-list --max-parents=0 HEAD)" HEAD
expect_msg "no regression named" "shows no regression of 'full'"
# no culprit at all
repo=$(history 5 0)
BISECT_REPO=$repo expect_rc 1 "no regression at all" bash "$BISECT" HEAD~5 HEAD
# a failing A/B step stops the bisection with its status
repo=$(history 5 3)
FAKE_RC=3 BISECT_REPO=$repo expect_rc 3 "A/B refused (other machine)" bash "$BISECT" HEAD~5 HEAD
expect_msg "A/B failure named" "failed (exit 3)"
# bad arguments
BISECT_REPO=$repo expect_rc 64 "GOOD after BAD" bash "$BISECT" HEAD HEAD~5
BISECT_REPO=$repo expect_rc 64 "GOOD = BAD" bash "$BISECT" HEAD HEAD
BISECT_REPO=$repo expect_rc 64 "not a commit" bash "$BISECT" nosuchrev HEAD
expect_rc 64 "one argument" bash "$BISECT" HEAD
finish
