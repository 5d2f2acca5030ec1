#!/usr/bin/env bash
# Build the libFuzzer targets (clang -fsanitize=fuzzer,address,undefined) and run each
# for SECONDS (default 60) from its seed corpus:
#   bash tests/common/fuzz/run.sh [SECONDS] [target...]        targets: safetensors npy
# New inputs go to build-fuzz/corpus_<target>/ (the seeds in tests/common/fuzz/ stay as they
# are); crashes are saved as build-fuzz/crash-* and make the script exit 1.
set -eu
cd "$(dirname "$0")/../../.."
secs=${1:-60}
shift || true
targets=${*:-safetensors npy}
out=${FUZZ_BUILD:-build-fuzz}
mkdir -p "$out"
CC=${FUZZ_CC:-clang}
flags=(-std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -D_GNU_SOURCE -Icommon -Icommon/format)
status=0
for t in $targets; do
    case $t in
        safetensors) srcs=(common/format/safetensors.c) ;;
        npy) srcs=(common/format/npy.c) ;;
        *) echo "unknown fuzz target $t" >&2; exit 64 ;;
    esac
    echo "== building fuzz_$t"
    "$CC" "${flags[@]}" "tests/common/fuzz/fuzz_$t.c" "${srcs[@]}" common/util.c -lcjson -lm \
        -o "$out/fuzz_$t"
    mkdir -p "$out/corpus_$t"
    dict=()
    [ -f "tests/common/fuzz/$t.dict" ] && dict=(-dict="tests/common/fuzz/$t.dict")
    echo "== running fuzz_$t for ${secs}s"
    if ! "$out/fuzz_$t" "${dict[@]}" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
            -artifact_prefix="$out/crash-$t-" -print_final_stats=1 \
            "$out/corpus_$t" "tests/common/fuzz/corpus_$t" 2>"$out/fuzz_$t.log"; then
        echo "fuzz_$t FOUND A PROBLEM (see $out/fuzz_$t.log and $out/crash-$t-*)"
        tail -n 40 "$out/fuzz_$t.log"
        status=1
    else
        grep -E "^stat::number_of_executed_runs|^stat::peak_rss|cov:" "$out/fuzz_$t.log" | tail -n 3
    fi
done
exit $status
