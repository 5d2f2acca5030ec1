#!/usr/bin/env bash
# Crash consistency of training checkpoints: a tiny model writes a checkpoint after
# every step while it is killed with SIGKILL at random moments, many times. After each
# kill every checkpoint-STEP folder must load with its checksums (an export-only
# --resume reads and checks every file), and training must go on with --resume from
# the latest one. Then SIGINT and SIGTERM: the run finishes its step, writes a
# checkpoint and exits 75. Kill times are random (seeded) but nothing asserts on timing:
# wherever a kill lands, the invariant must hold.
source "$(dirname "$0")/../../lib/lib.sh"
TOK=results/models/linbench-small
printf 'the cat sat on the mat. a dog ran to the red door.\n\nthe end of a short story.\n' >"$T/train.txt"
BASE=(--tokenizer "$TOK" --train "$T/train.txt" --valid "$T/train.txt" --layers 1 --hidden 16
      --heads 2 --ffn 32 --n 16 --batch 2 --steps 1000000 --warmup 1 --eval-every 0 --log-every 0
      --ckpt-every 1 --threads 1 --no-progress --quiet)
OUT="$T/run"
RANDOM=7

latest() { # the checkpoint folder with the highest step, or nothing
    ls -d "$OUT"/checkpoint-* 2>/dev/null | grep -E '/checkpoint-[0-9]+$' | sort -t- -k2 -n | tail -n 1
}

kills=0 loads=0
for round in $(seq 1 12); do
    C=$(latest)
    if [ -n "$C" ]; then
        "$LB" train --resume "$C" --steps 1000000 --threads 1 --no-progress --quiet >"$T/out" 2>"$T/err" &
    else
        "$LB" train "${BASE[@]}" --out "$OUT" >"$T/out" 2>"$T/err" &
    fi
    pid=$!
    sleep "0.$((RANDOM % 6 + 2))$((RANDOM % 10))"
    kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
    wait "$pid" 2>/dev/null
    for c in $(ls -d "$OUT"/checkpoint-* 2>/dev/null | grep -E '/checkpoint-[0-9]+$'); do
        rm -rf "$T/exp"
        if "$LB" train --resume "$c" --export-bf16 "$T/exp" >"$T/out2" 2>"$T/err2"; then
            loads=$((loads + 1))
        else
            bad "round $round: $c does not load after kill -9: $(tail -n 1 "$T/err2")"
        fi
    done
done
[ "$kills" -ge 8 ] && ok || bad "only $kills of 12 runs were still going when killed"
[ "$loads" -ge 8 ] && ok || bad "only $loads checkpoint loads checked"
C=$(latest)
[ -n "$C" ] && ok || bad "no checkpoint after 12 rounds"
step=${C##*-}
expect_rc 0 "resume after the kills" "$LB" train --resume "$C" --steps $((step + 2)) --threads 1 \
    --no-progress --quiet
[ -s "$OUT/checkpoint-$((step + 2))/trainer.json" ] && ok || bad "resume did not reach step $((step + 2))"

# SIGINT / SIGTERM: finish the step, write a checkpoint, exit 75 (EX_TEMPFAIL).
for sig in INT TERM; do
    C=$(latest)
    "$LB" train --resume "$C" --steps 1000000 --threads 1 --no-progress --quiet >"$T/out" 2>"$T/err" &
    pid=$!
    sleep 0.5
    kill -"$sig" "$pid"
    wait "$pid"
    rc=$?
    [ "$rc" -eq 75 ] && ok || bad "SIG$sig: exit $rc, want 75"
    grep -q "continue with --resume" "$T/err" && ok || bad "SIGINT: no resume hint"
    N=$(latest)
    "$LB" train --resume "$N" --export-bf16 "$T/exp2" >/dev/null 2>&1 && ok ||
        bad "SIGINT: the checkpoint written on the way out does not load"
done
finish
