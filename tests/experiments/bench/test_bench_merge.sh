#!/usr/bin/env bash
# The parts of a resumable Table 3 run (make bench-table3-paper: one bench per n) merge
# with `linbench merge` into one folder the report reads: rows of every part in the order
# given, the header once, the points and each part's grid, machine, streaming kernel and
# wall time in bench.json; a part from another machine is refused by its fingerprint
# unless --allow-mixed (one n from two machines even so), and the report then says the
# rows are not one machine's.
source "$(dirname "$0")/../../lib/lib.sh"
for n in 64 96; do
    expect_rc 0 "part n = $n" "$LB" bench --preset quick --protocol table3 --t3-n $n --t3-k 16 \
        --no-progress -q --out "$T/parts/n$n"
    echo 12 >"$T/parts/n$n/elapsed_s"
done
expect_rc 0 "merge" "$LB" merge --out "$T/m" "$T/parts/n64" "$T/parts/n96"
[ ! -s "$T/err" ] && ok || bad "a merge of one machine's parts warned: $(cat "$T/err")"
"$PY" - "$T" <<'PYEOF' && ok || bad "merged files have the wrong rows"
import csv, json, sys
t = sys.argv[1]
d = t + "/m"
t3 = [r for r in csv.DictReader(l for l in open(d + "/table3.csv") if not l.startswith("#"))]
assert [r["n"] for r in t3] == ["64"] * 3 + ["96"] * 3, t3
summ = [r for r in csv.DictReader(l for l in open(d + "/summary.csv") if not l.startswith("#"))]
assert len(summ) == 8, len(summ)
j = json.load(open(d + "/bench.json"))
assert len(j["points"]) == 8 and "git_commit" in j["meta"]
mf = j["merged_from"]
assert [p["folder"] for p in mf] == [t + "/parts/n64", t + "/parts/n96"], mf
assert [p["table3_n"] for p in mf] == [[64], [96]] and [p["elapsed_s"] for p in mf] == [12, 12], mf
assert mf[0]["machine"] == j["meta"]["fingerprint"]["id"] and mf[0]["stream_kernel"], mf
assert j["mixed_machine"] is False and j["mixed_stream_kernel"] is False, j
import re
fp = j["meta"]["fingerprint"]
assert mf[0]["cpu"] == "%s family %d model %d" % (fp["vendor"], fp["family"], fp["model"]), mf[0]
best = max(v for e in fp["fma_peak"] for v in (e["fma256_gflops"], e["fma512_gflops"]) if v is not None)
assert mf[0]["fma_peak_gflops"] == best, (mf[0], best)
PYEOF
grep -q '^# table3' "$T/m/table3.csv" && ok || bad "merged table3.csv lost its definitions"
expect_rc 0 "report on the merged folder" "$LB" report --bench "$T/m" --out "$T/R.md"
grep -q '| 96 | 16 | materialise |' "$T/R.md" && bad "materialise is the paper's table, not a modern row" || ok
grep -q '| 96 | 16 | full |' "$T/R.md" && ok || bad "report lacks the n = 96 row of the merged folder"

# Table 3 is rebuilt from the merged points, not joined: one folder alone gives its own
# rows back (to the 9 digits the points are written with), and one n split into a
# baseline part and a Linformer part (make bench-table3-paper's long lengths) gives
# the rows of the pair, time_saved the ratio of their medians per sequence.
expect_rc 0 "merge of one folder" "$LB" merge --out "$T/m1" "$T/parts/n64"
"$PY" - "$T/parts/n64/table3.csv" "$T/m1/table3.csv" <<'PYEOF' && ok || bad "one folder's Table 3 changed in the rebuild"
import csv, math, sys
rd = lambda f: list(csv.DictReader(l for l in open(f) if not l.startswith("#")))
a, b = rd(sys.argv[1]), rd(sys.argv[2])
assert len(a) == len(b) == 3, (a, b)
for x, y in zip(a, b):
    assert x.keys() == y.keys()
    for key in x:
        try:
            u, v = float(x[key]), float(y[key])
        except ValueError:
            assert x[key] == y[key], (key, x[key], y[key])
            continue
        # medians are read back from bench.json's 9 significant digits
        assert (math.isnan(u) and math.isnan(v)) or abs(u - v) <= 1e-7 * abs(u), (key, u, v)
PYEOF
Q=(bench --preset quick --protocol table3 --t3-n 80 --t3-k 16 --no-progress -q)
expect_rc 0 "n = 80 baselines" "$LB" "${Q[@]}" --t3-methods materialise,full,stream --out "$T/parts/n80-base"
expect_rc 0 "n = 80 linformer" "$LB" "${Q[@]}" --t3-methods linformer --out "$T/parts/n80-linformer"
[ "$(grep -vc '^#' "$T/parts/n80-base/table3.csv")" = 1 ] && ok || bad "a baseline-only part has Table 3 rows"
expect_rc 0 "merge a split n" "$LB" merge --out "$T/ms" "$T/parts/n64" "$T/parts/n80-base" "$T/parts/n80-linformer"
"$PY" - "$T/ms" <<'PYEOF' && ok || bad "the split n's Table 3 rows are wrong"
import csv, json, sys
d = sys.argv[1]
rows = [r for r in csv.DictReader(l for l in open(d + "/table3.csv") if not l.startswith("#")) if r["n"] == "80"]
assert sorted(r["baseline"] for r in rows) == ["full", "materialise", "stream"], rows
pts = {p["method"]: p for p in json.load(open(d + "/bench.json"))["points"] if p["n"] == 80}
lin = pts["linformer"]
for r in rows:
    b = pts[r["baseline"]]
    want = (b["median_s"] / b["batch"]) / (lin["median_s"] / lin["batch"])
    assert r["status"] == "ok" and abs(float(r["time_saved_x"]) - want) <= 1e-6 * want, (r, want)
    assert int(r["batch_fit_baseline"]) == b["batch_fit"] and int(r["batch_fit_linformer"]) == lin["batch_fit"]
PYEOF
expect_rc 65 "a point in two folders" "$LB" merge --out "$T/md" "$T/parts/n80-base" "$T/parts/n80-base"
expect_msg "a point in two folders" "point full (k = 0, n = 80, 1-layer encoder) is in two of the folders"
[ ! -e "$T/md" ] && ok || bad "a refused merge left output behind"

# a Table 3 point that cannot be read back: refused, the file and field named
cp -r "$T/parts/n80-base" "$T/parts/bad80"
"$PY" - "$T/parts/bad80/bench.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
del j["points"][1]["batch_fit"]
json.dump(j, open(sys.argv[1], "w"))
PYEOF
expect_rc 65 "a point without batch_fit" "$LB" merge --out "$T/mb" "$T/parts/n64" "$T/parts/bad80"
expect_msg "a point without batch_fit" "bad80/bench.json: points\[1\].batch_fit: expected a count (absent)"
[ ! -e "$T/mb" ] && ok || bad "a refused merge left output behind"

# A part from another processor of the same model name (the fingerprint tells them apart)
# with another streaming kernel and no elapsed_s: refused by the fingerprint, joined with
# --allow-mixed and a warning naming both differences.
cp -r "$T/parts/n96" "$T/parts/o96" && rm "$T/parts/o96/elapsed_s"
"$PY" - "$T/parts/o96/bench.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
j["meta"]["fingerprint"]["id"] = "0000other0000"
j["meta"]["fingerprint"]["model"] = 17
j["params"]["stream_kernel"] = "other-kernel"
json.dump(j, open(sys.argv[1], "w"))
PYEOF
expect_rc 65 "another machine" "$LB" merge --out "$T/mx" "$T/parts/n64" "$T/parts/o96"
expect_msg "another machine" "fingerprint.id is 0000other0000.*model ('17' vs '1*[0-9]*')"
[ ! -e "$T/mx" ] && ok || bad "a refused merge left output behind"
expect_rc 0 "--allow-mixed" "$LB" merge --allow-mixed --out "$T/mx" "$T/parts/n64" "$T/parts/o96"
expect_msg "mixed machines named" "differ in machine.*o96 \"0000other0000\""
expect_msg "mixed kernels named" "differ in streaming kernel.*o96 \"other-kernel\""
"$PY" -c "
import json, sys
j = json.load(open(sys.argv[1]))
assert j['mixed_machine'] and j['mixed_stream_kernel'] and j['merged_from'][1]['elapsed_s'] is None
" "$T/mx/bench.json" && ok || bad "mixed parts are not recorded in bench.json"
# ... but one n's baseline and Linformer from two machines: refused even so, since the
# row's ratios would divide one processor's seconds by another's
cp -r "$T/parts/n80-linformer" "$T/parts/o80-linformer"
"$PY" - "$T/parts/o80-linformer/bench.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
j["meta"]["fingerprint"]["id"] = "0000other0000"
json.dump(j, open(sys.argv[1], "w"))
PYEOF
expect_rc 65 "one n from two machines" "$LB" merge --allow-mixed --out "$T/m2" "$T/parts/n80-base" "$T/parts/o80-linformer"
expect_msg "one n from two machines" "o80-linformer/bench.json: its Table 3 points at n = 80 (1-layer encoder) ran on machine 0000other0000, another folder's on "
[ ! -e "$T/m2" ] && ok || bad "a refused merge left output behind"

# The report shows a merged folder as Table 3 at the paper's scale: its rows, its parts
# and what they do not share, and the paper's lengths it lacks.
expect_rc 0 "report with --table3-paper" "$LB" report --bench "$T/parts/n64" --table3-paper "$T/mx" \
    --table3-paper-figures "$T/nofigs" --out "$T/R3.md"
sed -n '/^### Table 3 at the paper/,/^## /p' "$T/R3.md" >"$T/sec.md"
grep -q '^| n64 | 64 | .* | 12 s | ' "$T/sec.md" && grep -q '^| o96 | 96 | .* | – | other-kernel | 0000other0000 | .* model 17, [0-9]* GFLOP/s |' "$T/sec.md" \
    && ok || bad "the paper-scale section lacks its parts table"
grep -q 'more than one machine' "$T/sec.md" && grep -q 'different streaming kernels' "$T/sec.md" \
    && ok || bad "mixed parts are not said in the report"
grep -q '| 96 | 16 | full |' "$T/sec.md" && ok || bad "the paper-scale section lacks the n = 96 row"
grep -q "Not run yet at the paper's scale: n = 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536 " "$T/sec.md" \
    && ok || bad "the paper's lengths without a part are not listed"
expect_rc 0 "report with a one-machine merge" "$LB" report --bench "$T/parts/n64" --table3-paper "$T/m" --out "$T/R4.md"
grep -q 'more than one machine\|different streaming kernels' "$T/R4.md" && bad "one machine reported as mixed" || ok
expect_rc 0 "report without --table3-paper" "$LB" report --bench "$T/parts/n64" --out "$T/R5.md"
grep -A8 '^### Table 3 at the paper' "$T/R5.md" | grep -q 'not run yet' && ok || bad "no paper-scale 'not run yet' line"
mkdir -p "$T/empty"
expect_rc 66 "--table3-paper without table3.csv" "$LB" report --bench "$T/parts/n64" --table3-paper "$T/empty" --out "$T/R6.md"
expect_msg "--table3-paper without table3.csv" "empty/table3.csv: cannot open"
[ ! -e "$T/R6.md" ] && ok || bad "a refused report was written"

# a part whose header differs: refused, named, nothing written
sed -i '/^protocol,/s/^protocol,/proto,/' "$T/parts/n96/summary.csv"
expect_rc 65 "header mismatch" "$LB" merge --out "$T/m2" "$T/parts/n64" "$T/parts/n96"
expect_msg "header mismatch" "n96/summary.csv: header differs"
[ ! -e "$T/m2" ] && ok || bad "header mismatch left output behind"
finish
