"""Shared by the MPI tests: how to start linbench under mpirun on this machine, and
whether that is possible at all (mpirun installed, linbench built with MPI)."""
import os
import shutil
import subprocess
import sys

from lbtest import LINBENCH

MPIRUN = shutil.which("mpirun")
# --oversubscribe: more ranks than cores (CI has 2); root in containers needs the flag.
MPI_FLAGS = ["--oversubscribe", "--allow-run-as-root", "--bind-to", "none"]
# One thread per rank (ranks share 2 cores); leaks inside Open MPI's own start-up are
# not ours to fix, so an ASan build checks leaks in the single-process runs only.
ENV = dict(os.environ, OMP_NUM_THREADS="1", OMPI_MCA_btl_vader_single_copy_mechanism="none",
           ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
TIMEOUT = 300  # a hang (a rank waiting for a dead one) fails instead of blocking CI


def skip_reason():
    """None when the MPI tests can run, else why not (printed, nothing counted)."""
    if not MPIRUN:
        return "mpirun not found (experiments/deps.sh --mpi installs Open MPI)"
    r = mpirun(2, [LINBENCH, "--version"])
    if r.returncode != 0:
        if "built without MPI" in r.stderr:
            return "linbench was built without MPI (make MPI=1)"
        return f"mpirun -np 2 linbench --version failed: {r.stderr.strip()[-300:]}"
    return None


def exit_if_skipped(test_file):
    """Print why and end the test counting nothing when the MPI tests cannot run."""
    why = skip_reason()
    if why:
        print(f"SKIP {os.path.basename(test_file)}: {why}")
        print("RESULT 0 0")
        sys.exit(0)


def mpirun(np_, argv, *more):
    """mpirun -np np_ argv [: -np k argv2 ...]; more is (k, argv2) pairs (MPMD)."""
    cmd = [MPIRUN, *MPI_FLAGS, "-np", str(np_), *argv]
    for k, a in more:
        cmd += [":", "-np", str(k), *a]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, 124, e.stdout or "", f"timed out: {e.stderr}")
