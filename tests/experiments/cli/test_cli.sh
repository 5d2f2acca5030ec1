#!/usr/bin/env bash
# The command-line surface every subcommand shares: --help and --version answer with exit 0,
# an unknown command or option is a usage error (64) with a message.
source "$(dirname "$0")/../../lib/lib.sh"

expect_rc 64 "no command" "$LB"
expect_msg "no command" "usage"
expect_rc 0 "--help" "$LB" --help
expect_rc 0 "--version" "$LB" --version
grep -q '^linbench [0-9]' "$T/out" && ok || bad "--version prints the version"
expect_rc 64 "unknown command" "$LB" frobnicate
expect_msg "unknown command" "frobnicate"
for c in bench compare dump spectrum train bpe-train report; do
    expect_rc 0 "$c --help" "$LB" "$c" --help
    grep -qi 'usage' "$T/out" "$T/err" && ok || bad "$c --help says usage"
    expect_rc 0 "$c --version" "$LB" "$c" --version
    grep -q '^linbench [0-9]' "$T/out" && ok || bad "$c --version prints the version"
    "$LB" "$c" --no-such-option >"$T/out" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 64 ] && ok || bad "$c --no-such-option: exit $rc, want 64"
    expect_msg "$c --no-such-option"
done
# experiments/bench/bench_ab.sh refuses bad arguments before it builds anything
expect_rc 64 "bench_ab.sh without BASE" bash experiments/bench/bench_ab.sh
expect_rc 64 "bench_ab.sh ROUNDS 0" bash experiments/bench/bench_ab.sh HEAD 0
expect_rc 64 "bench_ab.sh unknown revision" bash experiments/bench/bench_ab.sh no-such-rev-xyz
expect_msg "bench_ab.sh unknown revision" "not a commit"
echo "test_cli.sh: $pass passed, $fail failed"
finish
