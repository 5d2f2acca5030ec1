#!/usr/bin/env bash
# The Debian packages linbench needs, installed when missing (as root), or the exact
# apt-get line printed (otherwise). One list for `make` targets, .ci/run and README.
#   deps.sh          build + run: compiler, OpenBLAS (OpenMP build), LAPACKE, cJSON, gnuplot
#   deps.sh --tests  also the test oracles (numpy, scipy, regex for /usr/bin/python3), valgrind
#   deps.sh --fuzz   also clang's libFuzzer runtime
#   deps.sh --mpi    also Open MPI (mpirun, mpi.h): linbench across ranks (README, "More
#                    than one machine"); `make` then builds with MPI
set -euo pipefail
pkgs=(gcc make git libopenblas-openmp-dev liblapacke-dev libcjson-dev gnuplot-nox)
for a in "$@"; do
    case "$a" in
    --tests) pkgs+=(python3-numpy python3-scipy python3-regex valgrind) ;;
    --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    --mpi) pkgs+=(openmpi-bin libopenmpi-dev pkg-config) ;;
    *) echo "deps.sh: unknown option '$a' (expected --tests, --fuzz or --mpi)" >&2; exit 64 ;;
    esac
done
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "linbench needs these Debian packages; run as root:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 69 # EX_UNAVAILABLE
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
