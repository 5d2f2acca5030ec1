#!/usr/bin/env bash
# A run's outputs appear whole or not at all. Faults over a previous good result of
# `linbench dump` and `linbench spectrum`: a sidecar's name taken by a folder, a file-size
# limit (ulimit -f: the disk "fills" after a few KiB), an unwritable destination, SIGINT
# and SIGTERM at several moments. Each asserts that the previous files are byte for
# byte as they were and that no temporary file is left. Also: ready ids carry their own
# n, a BERT model with a small vocabulary takes ready ids without --bos/--eos, --out
# takes a folder, and the JSON records what the run used. Never asserts on timing.
source "$(dirname "$0")/../../lib/lib.sh"

M="$T/model" B="$T/bert"
$PY - "$M" "$B" "$T" <<'EOF' || { echo "cannot write the tiny models"; echo "RESULT 0 1"; exit 1; }
import sys, numpy as np
sys.path.insert(0, "tests/lib")
import hf_tiny
m, b, t = sys.argv[1:4]
hf_tiny.write_checkpoint(m, kind="roberta", seed=5, vocab=300, max_pos=40)
hf_tiny.write_checkpoint(b, kind="bert", seed=6, vocab=60, max_pos=40)
rng = np.random.default_rng(3)
np.save(t + "/ids.npy", rng.integers(3, 300, 60000).astype(np.int32))
np.save(t + "/ready.npy", rng.integers(3, 60, (5, 24)).astype(np.int64))
EOF

sums() { (cd "$1" && find . -type f | sort | xargs -r sha256sum); }
inodes() { (cd "$1" && find . -type f | sort | xargs -r stat -c '%n %i'); } # a rename gives new ones
no_litter() { # name, folder
    local left
    left=$(find "$2" -name '*.tmp.*' | head -n 3)
    [ -z "$left" ] && ok || bad "$1: temporaries left: $left"
}
intact() { # name, folder, saved sums
    [ "$(sums "$2")" = "$3" ] && ok || bad "$1: the previous result changed"
    no_litter "$1" "$2"
}

DUMP=(dump --model "$M" --ids "$T/ids.npy" --n 32 --quiet)
SPEC=(spectrum --model "$M" --ids "$T/ids.npy" --n 16,32 --sequences 6 --proj-sequences 2 --quiet)

# ---- a first good result of each ----
mkdir -p "$T/d" "$T/s"
expect_rc 0 "first dump" "$LB" "${DUMP[@]}" --sequences 3 --out "$T/d/P.npy"
expect_rc 0 "first spectrum" "$LB" "${SPEC[@]}" --out "$T/s/r"
D0=$(sums "$T/d") S0=$(sums "$T/s")
# spectrum: 7 result files, per-window statistics, controls, and 5 approximation tables
[ "$(ls "$T/d" | wc -l)" -eq 4 ] && [ "$(ls "$T/s" | wc -l)" -eq 14 ] && ok || bad "file counts"

# ---- a sidecar's name taken by a folder (the rerun used to delete P.npy and more) ----
mv "$T/d/P_mask.npy" "$T/mask.keep" && mkdir "$T/d/P_mask.npy"
D1=$(sums "$T/d")
expect_rc 73 "dump with a folder in the way" "$LB" "${DUMP[@]}" --sequences 4 --out "$T/d/P.npy"
expect_msg "dump with a folder in the way" "P_mask.npy: cannot write the result there: a folder"
intact "folder in the way" "$T/d" "$D1"
rmdir "$T/d/P_mask.npy" && mv "$T/mask.keep" "$T/d/P_mask.npy"
mv "$T/s/r_vs_n.csv" "$T/vs.keep" && mkdir "$T/s/r_vs_n.csv"
S1=$(sums "$T/s")
expect_rc 73 "spectrum with a folder in the way" "$LB" "${SPEC[@]}" --out "$T/s/r"
expect_msg "spectrum with a folder in the way" "r_vs_n.csv"
intact "spectrum folder in the way" "$T/s" "$S1"
rmdir "$T/s/r_vs_n.csv" && mv "$T/vs.keep" "$T/s/r_vs_n.csv"

# ---- out of space: a file-size limit (bash ulimit -f counts 1024-byte blocks) ----
expect_rc 74 "dump past the size limit" bash -c 'ulimit -f 16; exec "$@"' _ "$LB" "${DUMP[@]}" \
    --sequences 20 --out "$T/d/P.npy"
expect_msg "dump past the size limit" "P.npy: write failed: File too large"
intact "dump size limit" "$T/d" "$D0"
expect_rc 74 "spectrum past the size limit" bash -c 'ulimit -f 4; exec "$@"' _ "$LB" "${SPEC[@]}" \
    --out "$T/s/r"
expect_msg "spectrum past the size limit" "File too large"
intact "spectrum size limit" "$T/s" "$S0"

# ---- unwritable destinations (/proc takes no files, even from root) ----
expect_rc 73 "dump into /proc" "$LB" "${DUMP[@]}" --out /proc/lb_P.npy
expect_msg "dump into /proc" "/proc/lb_P.npy"
expect_rc 73 "spectrum into /proc" "$LB" "${SPEC[@]}" --out /proc/lb_s
expect_msg "spectrum into /proc" "/proc/lb_s"
if [ "$(id -u)" != 0 ]; then # a read-only folder stops only other users
    chmod a-w "$T/d"
    expect_rc 73 "dump into a read-only folder" "$LB" "${DUMP[@]}" --out "$T/d/P.npy"
    chmod u+w "$T/d"
    intact "read-only folder" "$T/d" "$D0"
fi

# ---- interrupts at several moments: before the outputs exist, while P streams, late
# in the analysis. Wherever one lands, the run either finished (exit 0, whole new
# files) or the previous result is as it was; at least one must land mid-run. ----
interrupted=0
interrupt() { # name, signal, delay, folder, saved sums, command...
    local name=$1 sig=$2 delay=$3 dir=$4 saved=$5; shift 5
    local ino0; ino0=$(inodes "$dir")
    "$@" >"$T/out" 2>"$T/err" &
    local pid=$!
    sleep "$delay"
    kill -"$sig" "$pid" 2>/dev/null
    wait "$pid"
    local rc=$? want=$((128 + $(kill -l "$sig")))
    echo "$name: exit $rc"
    if [ "$rc" -eq "$want" ] && grep -q "after its results were written" "$T/err"; then
        # the signal came after the commit: the new result is whole and in place
        no_litter "$name (after the commit)" "$dir"
        [ "$(inodes "$dir")" != "$ino0" ] && ok || bad "$name: says its results were written, none were replaced"
        saved=$(sums "$dir")
    elif [ "$rc" -eq "$want" ]; then
        interrupted=$((interrupted + 1))
        cp "$T/err" "$T/err_int" # the message of a run that was interrupted
        intact "$name" "$dir" "$saved"
    elif [ "$rc" -eq 0 ]; then
        # finished before the signal: whole new files in place (two checks, as in the other
        # outcomes, so the suite's count does not depend on where the signal lands)
        no_litter "$name (finished first)" "$dir"
        [ "$(inodes "$dir")" != "$ino0" ] && ok || bad "$name: finished, but no result was replaced"
        saved=$(sums "$dir") # the new result is the previous one for the next case
    else
        bad "$name: exit $rc, want $want or 0"; tail -n 3 "$T/err"
    fi
    LAST=$saved
}
LAST=$D0
for delay in 0 0.05 0.3 1; do
    interrupt "dump SIGINT after ${delay}s" INT "$delay" "$T/d" "$LAST" "$LB" "${DUMP[@]}" \
        --sequences 1500 --out "$T/d/P.npy"
done
interrupt "dump SIGTERM" TERM 0.3 "$T/d" "$LAST" "$LB" "${DUMP[@]}" --sequences 1500 --out "$T/d/P.npy"
LAST=$S0
for delay in 0.05 0.5 1.5; do
    interrupt "spectrum SIGINT after ${delay}s" INT "$delay" "$T/s" "$LAST" "$LB" spectrum \
        --model "$M" --ids "$T/ids.npy" --n 16,32 --sequences 1500 --threads 1 --quiet --out "$T/s/r"
done
[ "$interrupted" -ge 1 ] && ok || bad "no interrupt landed while a run was going"
grep -q "interrupted" "$T/err_int" && ok || bad "no 'interrupted' message"

# ---- the other commands that write results: bench, bpe-train (report: one file, same set) ----
expect_rc 0 "first bench" "$LB" bench --preset quick --n 64 --k 16 --out "$T/b" --no-progress --quiet
B0=$(sums "$T/b")
mv "$T/b/summary.csv" "$T/sum.keep" && mkdir "$T/b/summary.csv"
B1=$(sums "$T/b")
expect_rc 73 "bench with a folder in the way" "$LB" bench --preset quick --n 64 --k 16 --out "$T/b" \
    --no-progress --quiet
intact "bench folder in the way" "$T/b" "$B1"
rmdir "$T/b/summary.csv" && mv "$T/sum.keep" "$T/b/summary.csv"
interrupt "bench SIGINT" INT 0.5 "$T/b" "$B0" "$LB" bench --preset quick --out "$T/b" --no-progress --quiet
head -c 3000000 /dev/urandom | od -An -tx1 | tr -d '\n' | tr '0-9' ' ' >"$T/text.txt"
mkdir "$T/bpe"
expect_rc 0 "first bpe-train" "$LB" bpe-train --vocab-size 300 --out "$T/bpe" "$T/ids.npy"
P0=$(sums "$T/bpe")
interrupt "bpe-train SIGTERM" TERM 0.3 "$T/bpe" "$P0" "$LB" bpe-train --vocab-size 5000 --out "$T/bpe" \
    "$T/text.txt"

# ---- ready ids carry their n; ready sequences need no bos/eos (BERT, vocabulary 60) ----
mkdir "$T/r" "$T/sr"
expect_rc 0 "dump ready ids without --n" "$LB" dump --model "$B" --ids "$T/ready.npy" \
    --sequences 5 --quiet --out "$T/r/"
$PY -c "import numpy as np, sys; a = np.load(sys.argv[1]); sys.exit(a.shape != (5, 2, 4, 24, 24))" \
    "$T/r/P.npy" && ok || bad "folder --out: DIR/P.npy of shape (5, 2, 4, 24, 24)"
expect_rc 64 "ready ids with another --n" "$LB" dump --model "$B" --ids "$T/ready.npy" --n 16 \
    --out "$T/r2.npy"
expect_msg "ready ids with another --n" "ready sequences of length 24"
expect_rc 0 "spectrum on ready ids" "$LB" spectrum --model "$B" --ids "$T/ready.npy" \
    --sequences 5 --proj-sequences 1 --quiet --out "$T/sr/"
[ -s "$T/sr/spectrum.csv" ] && ! ls -A "$T/sr" | grep -q '^\.' && ok ||
    bad "spectrum --out DIR/ writes DIR/spectrum.csv, no hidden files"
$PY - "$T/sr/spectrum.json" <<'EOF' && ok || bad "spectrum JSON records what a ready-ids run used"
import json, sys
p = json.load(open(sys.argv[1]))["params"]
sys.exit(not (p["policy"] == "ready" and p["bos"] is None and p["eos"] is None
              and p["stride"] is None and p["pad"] == 0))
EOF

# ---- an over-long id is quoted as written ----
printf '5 6 123456789012345678901234567890\n' >"$T/long.txt"
expect_rc 65 "over-long id" "$LB" dump --model "$M" --ids "$T/long.txt" --out "$T/l.npy"
expect_msg "over-long id" '"123456789012345678901234567890" is past the vocabulary'
finish
