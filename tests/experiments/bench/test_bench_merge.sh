#!/usr/bin/env bash
# The parts of a resumable Table 3 run (make bench-table3-paper: one bench per n) merge
# into one folder the report reads: rows of every part, the header once, the points and
# wall times in bench.json; a part with another header is refused with its name.
source "$(dirname "$0")/../../lib/lib.sh"
for n in 64 96; do
    expect_rc 0 "part n = $n" "$LB" bench --preset quick --protocol table3 --t3-n $n --t3-k 16 \
        --no-progress -q --out "$T/parts/n$n"
    echo 12 >"$T/parts/n$n/elapsed_s"
done
expect_rc 0 "merge" "$PY" experiments/bench/bench_merge.py "$T/m" "$T/parts/n64" "$T/parts/n96"
"$PY" - "$T/m" <<'PYEOF' && ok || bad "merged files have the wrong rows"
import csv, json, sys
d = sys.argv[1]
t3 = [r for r in csv.DictReader(l for l in open(d + "/table3.csv") if not l.startswith("#"))]
assert sorted({r["n"] for r in t3}) == ["64", "96"] and len(t3) == 6, t3
summ = [r for r in csv.DictReader(l for l in open(d + "/summary.csv") if not l.startswith("#"))]
assert len(summ) == 8, len(summ)
j = json.load(open(d + "/bench.json"))
assert j["params"]["table3_n"] == [64, 96] and len(j["points"]) == 8, j["params"]
assert j["elapsed_s_total"] == 24 and [p["folder"] for p in j["parts"]] == ["n64", "n96"], j["parts"]
assert "git_commit" in j["meta"]
PYEOF
grep -q '^# table3' "$T/m/table3.csv" && ok || bad "merged table3.csv lost its definitions"
expect_rc 0 "report on the merged folder" "$LB" report --bench "$T/m" --out "$T/R.md"
grep -q '| 96 | 16 | materialise |' "$T/R.md" && bad "materialise is the paper's table, not a modern row" || ok
grep -q '| 96 | 16 | full |' "$T/R.md" && ok || bad "report lacks the n = 96 row of the merged folder"
# a part whose header differs: refused, named, nothing written
sed -i '/^n,k,/s/^n,k,/n,kk,/' "$T/parts/n96/table3.csv"
rm -rf "$T/m2"
expect_rc 65 "header mismatch" "$PY" experiments/bench/bench_merge.py "$T/m2" "$T/parts/n64" "$T/parts/n96"
expect_msg "header mismatch" "n96/table3.csv: header differs"
[ ! -e "$T/m2/table3.csv" ] && ok || bad "header mismatch left output behind"
finish
