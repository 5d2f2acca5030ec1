#!/usr/bin/env bash
# `linbench bench --shard i/N` and `linbench merge`: two shards merged give the points
# (keys, not timings) of the unsharded grid; merge refuses other machines' folders
# unless --allow-mixed and bad arguments; under mpirun (when installed and linbench has
# MPI) ranks on one host are refused for timing unless --allow-shared-host.
source "$(dirname "$0")/../../lib/lib.sh"
G=(bench --preset quick --reps 1 --warmup 1 --sgemm-reps 0 --n 64,96,128 --quiet --no-progress)
keys() { # the point keys of a folder: protocol..layers of summary.csv, sorted (threads
    # left out: under mpirun OMP_NUM_THREADS=1 makes the quick preset pick 1)
    grep -v '^#' "$1/summary.csv" | tail -n +2 | cut -d, -f1-9 | sort
}
expect_rc 0 "unsharded" "$LB" "${G[@]}" --out "$T/all"
expect_rc 0 "shard 0/2" "$LB" "${G[@]}" --shard 0/2 --out "$T/s0"
expect_rc 0 "shard 1/2" "$LB" "${G[@]}" --shard 1/2 --out "$T/s1"
expect_rc 0 "merge" "$LB" merge --out "$T/m" "$T/s0" "$T/s1"
[ -n "$(keys "$T/all")" ] && [ "$(keys "$T/all")" = "$(keys "$T/m")" ] && ok ||
    bad "merged points differ from the unsharded grid: $(diff <(keys "$T/all") <(keys "$T/m") | head -5)"
[ "$(keys "$T/s0")" != "$(keys "$T/m")" ] && ok || bad "shard 0 alone already holds every point"
/usr/bin/python3 - "$T" <<'PY' && ok || bad "bench.json of the merge"
import json, sys
t = sys.argv[1]
key = lambda p: tuple(p[k] for k in ("protocol", "method", "share", "n", "k", "d", "heads", "batch", "layers", "threads"))
a = sorted(map(key, json.load(open(t + "/all/bench.json"))["points"]))
m = json.load(open(t + "/m/bench.json"))
assert sorted(map(key, m["points"])) == a, "points differ"
assert [e["folder"] for e in m["merged_from"]] == [t + "/s0", t + "/s1"], m["merged_from"]
assert [e["n"] for e in m["merged_from"]] == [[64, 128], [96]] and m["mixed_machine"] is False, m["merged_from"]
assert "crossovers" not in m
PY
for f in bench.csv table3.csv; do
    [ "$(grep -vc '^#' "$T/all/$f")" = "$(grep -vc '^#' "$T/m/$f")" ] && ok || bad "$f rows differ"
done
# Another machine: refused by name unless --allow-mixed, and nothing is written.
cp -r "$T/s1" "$T/other"
sed -i 's/"cpu_model": "[^"]*"/"cpu_model": "Other CPU 9000"/' "$T/other/bench.json"
expect_rc 65 "mixed machines" "$LB" merge --out "$T/mx" "$T/s0" "$T/other"
expect_msg "mixed machines" "cpu_model"
[ ! -e "$T/mx/bench.json" ] && ok || bad "a refused merge wrote files"
expect_rc 0 "--allow-mixed" "$LB" merge --allow-mixed --out "$T/mx" "$T/s0" "$T/other"
expect_rc 66 "missing folder" "$LB" merge --out "$T/mm" "$T/s0" "$T/none"
expect_msg "missing folder" "none/bench.json"
expect_rc 64 "bad shard" "$LB" "${G[@]}" --shard 2/2 --out "$T/b"
expect_msg "bad shard" "I/N"
expect_rc 64 "empty shard" "$LB" "${G[@]}" --n 64 --shard 1/2 --protocol layer --out "$T/b"
expect_msg "empty shard" "empty"
expect_rc 64 "merge without --out" "$LB" merge "$T/s0"

# Under MPI: two ranks on this one host are refused for timing, allowed when asked.
if command -v mpirun >/dev/null && ! mpirun --oversubscribe --allow-run-as-root -np 2 "$LB" --version 2>&1 | grep -q "built without MPI"; then
    MR=(mpirun --oversubscribe --allow-run-as-root --bind-to none -np 2)
    export OMP_NUM_THREADS=1 ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
    expect_rc 64 "mpi: shared host refused" "${MR[@]}" "$LB" "${G[@]}" --protocol layer --out "$T/mp"
    expect_msg "mpi: shared host refused" "share the host"
    [ ! -e "$T/mp" ] && ok || bad "a refused MPI bench wrote $T/mp"
    expect_rc 0 "mpi: --allow-shared-host" "${MR[@]}" "$LB" "${G[@]}" --protocol layer --allow-shared-host --out "$T/mp"
    expect_rc 0 "mpi: merge the ranks" "$LB" merge --out "$T/mpm" "$T/mp/rank-0" "$T/mp/rank-1"
    [ "$(grep '^layer' <(keys "$T/all"))" = "$(keys "$T/mpm")" ] && ok || bad "MPI shards differ from the layer grid"
else
    echo "SKIP the MPI part: mpirun missing or linbench built without MPI"
fi
finish
