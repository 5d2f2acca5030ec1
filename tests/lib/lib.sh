# Shared by the command-line tests (tests/test_*.sh): source it first. It moves to the
# repository root, names the binary ($LB), makes a temp folder ($T, removed at exit) and
# counts checks; finish prints the RESULT line tests/run.sh sums and sets the exit status.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
LB=${LINBENCH:-$PWD/${BUILD:-build}/linbench}
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
expect_rc() { # want, name, command...: stdout to $T/out, stderr to $T/err
    local want=$1 name=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok; else bad "$name: exit $rc, want $want"; sed 's/^/    /' "$T/err" | tail -n 5; fi
}
expect_msg() { # name [pattern]: the last command's stderr is not empty [and matches pattern]
    if [ $# -lt 2 ]; then
        if [ -s "$T/err" ]; then ok; else bad "$1: no message on stderr"; fi
    elif grep -q -- "$2" "$T/err"; then ok; else
        bad "$1: stderr lacks '$2'"; sed 's/^/    /' "$T/err" | head -n 3
    fi
}
finish() {
    echo "RESULT $pass $fail"
    [ "$fail" -eq 0 ]
}
