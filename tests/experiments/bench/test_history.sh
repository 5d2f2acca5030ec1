#!/usr/bin/env bash
# `linbench history` on a synthetic store: runs appended with their commit and
# fingerprint, a known regression at one commit flagged and nowhere else, machine
# changes and too-small samples not judged, bad input refused. No timing is measured.
source "$(dirname "$0")/../../lib/lib.sh"

# run DIR COMMIT SCALE [MODEL] [DIRTY] [N]: a bench folder whose 'full' point has N (9)
# clean samples x SCALE and whose 'stream' point never changes; bench.json with the
# commit, the dirty flag (false) and a fingerprint of cpuid model MODEL (1; "none": no
# fingerprint).
run() {
    local d=$1 commit=$2 scale=$3 model=${4:-1} dirty=${5:-false} n=${6:-9}
    mkdir -p "$d"
    { echo "# synthetic"; echo "protocol,method,share,n,k,d,heads,batch,layers,threads,rep,seconds"
      for r in $(seq 0 $((n - 1))); do
          awk -v r="$r" -v s="$scale" 'BEGIN{ v = 1 + 0.001 * ((r * 7) % 9)
              printf "layer,full,none,512,0,64,12,1,1,2,%d,%.9g\n", r, v * s
              printf "layer,stream,none,512,0,64,12,1,1,2,%d,%.9g\n", r, v }'
      done; } >"$d/bench.csv"
    $PY - "$d/bench.json" "$commit" "$model" "$dirty" <<'PYEOF'
import json, sys
path, commit, model, dirty = sys.argv[1:5]
meta = {"git_commit": commit, "git_dirty": dirty == "true", "date": "2026-01-01T00:00:00Z"}
if model != "none":
    meta["fingerprint"] = {"vendor": "AuthenticAMD", "family": 25, "model": int(model), "stepping": 1,
        "model_name": "AMD EPYC", "flags": "avx fma avx2", "microcode": "0x1", "l1d_kib": 32, "l1i_kib": 32,
        "l2_kib": 512, "l3_kib": 32768, "cores": 2, "threads": 2, "mem_mib": 24105, "kernel": "Linux",
        "blas_core": "Haswell", "blas_threads": 2, "compiler": "gcc", "cflags": "-O2", "fma_peak": []}
json.dump({"meta": meta}, open(path, "w"))
PYEOF
}
S=$T/store
# commits c1..c6: c3 makes 'full' 1.5x slower (the culprit), c4 keeps it, c5 moves to
# another machine (model 17) twice as slow, c6 has 3 samples only
run "$T/r1" c1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1
run "$T/r2" c2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 1.01
run "$T/r3" c3cccccccccccccccccccccccccccccccccccccc 1.5
run "$T/r4" c4dddddddddddddddddddddddddddddddddddddd 1.5
run "$T/r5" c5eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee 3 17
run "$T/r6" c6ffffffffffffffffffffffffffffffffffffff 6 17 false 3
for i in 1 2 3 4 5 6; do
    expect_rc 0 "add run $i" "$LB" history add --store "$S" "$T/r$i"
done
grep -q "added $S/runs/0003-c3cccccccccc" "$T/out" || true
[ -f "$S/runs/0003-c3cccccccccc/bench.csv" ] && [ -f "$S/runs/0003-c3cccccccccc/bench.json" ] && ok || bad "run 3 not stored"
[ "$(grep -vc '^#' "$S/index.csv")" -eq 7 ] && ok || bad "index: want a header and 6 rows"
awk -F, '!/^#/ && $1 == 5 && $2 ~ /^c5/ && $3 == 0 && length($5) == 16 {f = 1} END {exit !f}' "$S/index.csv" \
    && ok || bad "index row 5 lacks seq, commit, dirty, fingerprint"

expect_rc 0 "history show" "$LB" history --store "$S" --out "$T/h" --no-plot
grep -q "1 regressions flagged" "$T/out" && ok || bad "want exactly one regression flagged"
grep -q "layer,full.*regression at run 3 (c3cccccccccc)" "$T/out" && ok || bad "the culprit c3 not named"
$PY - "$T/h/history.csv" <<'PYEOF' && ok || bad "history.csv: wrong changes"
import csv, sys
rows = list(csv.DictReader(l for l in open(sys.argv[1]) if not l.startswith("#")))
ch = {(r["method"], int(r["seq"])): r["change"] for r in rows}
want_full = {1: "first", 2: "same", 3: "regression", 4: "same", 5: "other_machine", 6: "underpowered"}
assert all(ch[("full", s)] == c for s, c in want_full.items()), ch
assert all(ch[("stream", s)] in ("first", "same", "other_machine", "underpowered") for s in range(1, 7)), ch
r3 = [r for r in rows if r["method"] == "full" and r["seq"] == "3"][0]
assert abs(float(r3["ratio"]) - 1.5 / 1.01) < 1e-6 and float(r3["p"]) < 0.002, r3
assert float(r3["q1_s"]) <= float(r3["median_s"]) <= float(r3["q3_s"]) and r3["samples"] == "9", r3
assert len(rows) == 12
PYEOF
expect_rc 0 "history --match" "$LB" history --store "$S" --out "$T/hm" --match stream --no-plot
[ "$(grep -vc -e '^#' -e '^protocol' "$T/hm/history.csv")" -eq 6 ] && ok || bad "--match stream: want 6 rows"
grep -q "0 regressions" "$T/out" && ok || bad "--match stream flags nothing"
if command -v gnuplot >/dev/null; then
    expect_rc 0 "history plot" "$LB" history --store "$S" --out "$T/hp"
    [ -s "$T/hp/history.png" ] && ok || bad "history.png not drawn"
fi

# refusals: no message-less failures, nothing added
run "$T/dirty" c7 1 1 true
expect_rc 65 "dirty run refused" "$LB" history add --store "$S" "$T/dirty"
expect_msg "dirty run" "uncommitted"
expect_rc 0 "dirty run with --allow-dirty" "$LB" history add --store "$T/s2" --allow-dirty "$T/dirty"
run "$T/nofp" c8 1 none
expect_rc 65 "run without a fingerprint refused" "$LB" history add --store "$S" "$T/nofp"
expect_msg "no fingerprint" "fingerprint"
expect_rc 66 "missing result folder" "$LB" history add --store "$S" "$T/nope"
[ "$(grep -vc '^#' "$S/index.csv")" -eq 7 ] && ok || bad "refused runs changed the index"
expect_rc 66 "missing store" "$LB" history --store "$T/none" --out "$T/x" --no-plot
printf 'a,b\n1,2\n' >"$T/bad.csv"; mkdir -p "$T/badstore"; cp "$T/bad.csv" "$T/badstore/index.csv"
expect_rc 65 "malformed index" "$LB" history --store "$T/badstore" --out "$T/x" --no-plot
expect_msg "malformed index" "index.csv"
expect_rc 65 "no point matches" "$LB" history --store "$S" --out "$T/x" --match nothing --no-plot
expect_rc 64 "add without a folder" "$LB" history add --store "$S"
expect_rc 64 "unknown word" "$LB" history frobnicate
expect_rc 0 "history --help" "$LB" history --help
finish
