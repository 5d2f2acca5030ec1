#!/usr/bin/env bash
# Runs every test program and sums their "RESULT <passed> <failed>" lines:
#   $BUILD/tests/test_*   C tests (under valgrind when VALGRIND=1)
#   tests/**/test_*.py    numpy oracles, run with Debian's /usr/bin/python3
#   tests/**/test_*.sh    command-line tests
# (tests/ mirrors the source folders; tests/lib/ holds the shared helpers)
# A program that crashes, exits non-zero or prints no RESULT line counts as a failure.
# Closing line: "N passed, N failed"; exit status 1 when anything failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD LINBENCH="$PWD/$BUILD/linbench" OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
PY=/usr/bin/python3
passed=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run_one() { # name, command...
    local name=$1; shift
    local log="$tmp/$(basename "$name").log" t0=$SECONDS
    "$@" >"$log" 2>&1
    local rc=$? line p f
    line=$(grep -E '^RESULT [0-9]+ [0-9]+$' "$log" | tail -n 1)
    if [ -n "$line" ]; then read -r _ p f <<<"$line"; else p=0 f=0; fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    [ -z "$line" ] && [ "$rc" -eq 0 ] && f=1   # silence is not success
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        echo "FAIL $name ($p passed, $f failed, exit $rc, $((SECONDS - t0))s)"
        grep -v '^RESULT' "$log" | tail -n 40 | sed 's/^/    /'
    else
        echo "ok   $name ($p checks, $((SECONDS - t0))s)"
    fi
}

vg=()
if [ "${VALGRIND:-0}" = 1 ]; then
    vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)
fi
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.d) continue ;; esac
    run_one "$t" "${vg[@]}" "$t"
done
if [ "${VALGRIND:-0}" != 1 ]; then
    for t in $(find tests -name 'test_*.py' | sort); do run_one "$t" "$PY" "$t"; done
    for t in $(find tests -name 'test_*.sh' | sort); do run_one "$t" bash "$t"; done
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
