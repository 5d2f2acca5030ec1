#!/usr/bin/env bash
# Command-line tests of `linbench eval` on the shipped default model and a small text:
# the JSON's structure and internal consistency (bucket counts add up to the total,
# every interval contains its estimate), and refusals that leave no output file.
source "$(dirname "$0")/../../lib/lib.sh"
M=results/models/linbench-small
for i in $(seq 1 60); do
    printf 'The %d quick brown foxes jump over the lazy dog near the river bank today.\n\n' "$i"
done > "$T/text.txt"

# batches of 8 windows; at n = 192 the text gives a few windows, so the one batch is
# short (rows past the last window must not be read)
expect_rc 0 "eval runs" "$LB" eval --model "$M" --text "$T/text.txt" --n 32,64,192 --buckets 4 \
    --passes 2 --threads 1 --out "$T/e.json"
"$PY" - "$T/e.json" <<'PY' && ok || bad "eval JSON consistent"
import json, math, sys
d = json.load(open(sys.argv[1]))
L = d["lengths"]
assert [l["n"] for l in L] == [32, 64, 192], L
for l in L:
    b = l["buckets"]
    assert len(b) == 4 and b[0]["lo"] == 0 and b[-1]["hi"] == l["n"] - 1
    assert sum(x["n_pred"] for x in b) == l["n_pred"] > 0
    tot = sum(x["loss"]["mean"] * x["n_pred"] for x in b) / l["n_pred"]
    assert abs(tot - l["loss"]["mean"]) <= 1e-9 * abs(tot), (tot, l["loss"])
    for x in [l["loss"]] + [y["loss"] for y in b] + [y["minus_first"] for y in b[1:]]:
        assert x["lo"] <= x["mean"] <= x["hi"], x
    assert b[0]["minus_first"]["mean"] == 0
    assert l["windows"] >= 2 and 0 <= l["acc"] <= 1
assert len(d["position_embeddings"]) == 4
for p in d["position_embeddings"]:
    assert p["norm"] > 0 and -1 <= p["neighbour_cos"] <= 1
PY

expect_rc 65 "n not a multiple of the buckets" "$LB" eval --model "$M" --text "$T/text.txt" \
    --n 30 --buckets 4 --out "$T/bad.json"
expect_msg "n not a multiple" "multiple of buckets"
[ ! -e "$T/bad.json" ] && ok || bad "refused run left $T/bad.json"
expect_rc 65 "missing model" "$LB" eval --model "$T/nope" --text "$T/text.txt" --n 32 --out "$T/bad.json"
expect_msg "missing model" "$T/nope"
head -c 300 "$T/text.txt" > "$T/short.txt"
expect_rc 65 "too few windows" "$LB" eval --model "$M" --text "$T/short.txt" --n 256 --out "$T/bad.json"
expect_msg "too few windows" "need at least 2"
expect_rc 64 "missing --out" "$LB" eval --model "$M" --text "$T/text.txt" --n 32
expect_rc 64 "bad --buckets" "$LB" eval --model "$M" --text "$T/text.txt" --n 32 --buckets 0 --out "$T/x.json"
[ -z "$(ls "$T" | grep -E '\.tmp\.|bad.json|x.json')" ] && ok || bad "litter: $(ls "$T")"
finish
