"""`linbench spectrum` across MPI ranks: the same inputs on 1 process and on 1, 2 and 3
ranks give the same window set and the same statistics (every CSV value); a bad input on
one rank's slice and a killed rank end the job with a message naming the rank and no
output. Skips (counting nothing) when mpirun or an MPI build is missing."""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_tiny
from lbtest import LINBENCH, check, check_close, summary
from mpi_lib import ENV, exit_if_skipped, mpirun

exit_if_skipped(__file__)

tmp = tempfile.mkdtemp(prefix="lbmpi_")
MODEL = os.path.join(tmp, "model")
hf_tiny.write_checkpoint(MODEL, kind="roberta", seed=5, vocab=300, max_pos=40)
IDS = os.path.join(tmp, "ids.npy")
np.save(IDS, np.random.default_rng(11).integers(3, 300, 400).astype(np.int32))
FILES = ["", "_layers", "_summary", "_vs_n", "_projerr", "_projerr_all"]


def args(out, ids=IDS, extra=()):
    # 7 windows: not a multiple of 2 or 3, so ranks get unequal shares; 3 of them with
    # the projection error, so its windows fall on different ranks too.
    return [LINBENCH, "spectrum", "--model", MODEL, "--ids", ids, "--n", "16,24",
            "--sequences", "7", "--seed", "3", "--proj-k", "4,16", "--proj-sequences", "3",
            "--heads", "0,2", "--threads", "1", "--quiet", "--out", out, *extra]


def read_csv(path):
    with open(path) as f:
        lines = [ln.rstrip("\n") for ln in f if not ln.startswith("#")]
    return lines[0].split(","), [ln.split(",") for ln in lines[1:]]


def compare(case, ref, got):
    for suf in FILES:
        h0, r0 = read_csv(ref + suf + ".csv")
        h1, r1 = read_csv(got + suf + ".csv")
        if not check(h0 == h1 and len(r0) == len(r1) and len(r0) > 0,
                     f"{case}{suf}: header/rows {len(r0)} vs {len(r1)}"):
            continue
        num = [j for j, v in enumerate(r0[0]) if v.lstrip("-").replace(".", "").replace("e", "")
               .replace("+", "").isdigit() or v in ("nan", "-nan")]
        keys = [j for j in range(len(h0)) if j not in num]
        check(all([a[j] for j in keys] == [b[j] for j in keys] for a, b in zip(r0, r1)),
              f"{case}{suf}: text columns equal")
        x = np.array([[float(b[j]) for j in num] for b in r1])
        y = np.array([[float(a[j]) for j in num] for a in r0])
        # Chan's merge reorders the same double sums (7 windows): differences are a few
        # ulps of values <= n, and of standard deviations from m2 sums that may cancel
        # to ~1e-17; 1e-9 absolute, 1e-9 relative is far below any real difference (a
        # window more or less moves the means by > 1e-3). NaN (no finite projection
        # error) must be NaN in both.
        both_nan = np.isnan(x) & np.isnan(y)
        check_close(f"{case}{suf}: values", np.where(both_nan, 0, x), np.where(both_nan, 0, y),
                    1e-9, 1e-9)


ref = os.path.join(tmp, "ref")
r = subprocess.run(args(ref), capture_output=True, text=True, env=ENV)
check(r.returncode == 0, f"single process: exit {r.returncode}: {r.stderr}")
for np_ in (1, 2, 3):
    out = os.path.join(tmp, f"np{np_}")
    r = mpirun(np_, args(out))
    if not check(r.returncode == 0, f"-np {np_}: exit {r.returncode}: {r.stderr[-2000:]}"):
        continue
    js = __import__("json").load(open(out + ".json"))
    check([x["sequences"] for x in js["runs"]] == [7, 7], f"-np {np_}: 7 sequences per n: "
          f"{[x.get('sequences') for x in js['runs']]}")
    check(r.stdout.count("wrote ") == 1, f"-np {np_}: rank 0 alone writes: {r.stdout}")
    compare(f"-np {np_}", ref, out)
    check(not [f for f in os.listdir(tmp) if ".tmp." in f], f"-np {np_}: no temporaries")

# Bad input on rank 1's slice only: rank 1 reads ids with a token past the vocabulary.
bad_ids = os.path.join(tmp, "bad.npy")
b = np.load(IDS)
b[16:24] = 100000  # window 1 at n = 16 (rank 1 of 2); window 0 stays clean
np.save(bad_ids, b)
fdir = os.path.join(tmp, "fail")
os.mkdir(fdir)
r = mpirun(1, args(os.path.join(fdir, "s")), (1, args(os.path.join(fdir, "s"), ids=bad_ids)))
check(r.returncode != 0, f"bad slice: exit {r.returncode}")
check("rank 1/2" in r.stderr, f"bad slice: the message names rank 1: {r.stderr[-1500:]}")
check(os.listdir(fdir) == [], f"bad slice: no output: {os.listdir(fdir)}")

# A killed rank: rank 1 blocks on a FIFO nobody writes and is killed with SIGKILL after
# a second; rank 0 is waiting in the merge (or still working) and must go down too.
fifo = os.path.join(tmp, "never.npy")
os.mkfifo(fifo)
kdir = os.path.join(tmp, "kill")
os.mkdir(kdir)
k_argv = args(os.path.join(kdir, "s"), ids=fifo)
wrapper = ["bash", "-c", '(sleep 1; kill -9 $$) & exec "$@"', "killer", *k_argv]
r = mpirun(1, args(os.path.join(kdir, "s")), (1, wrapper))
check(r.returncode != 0 and r.returncode != 124, f"killed rank: exit {r.returncode}")
check("rank 1" in r.stderr and ("signal 9" in r.stderr or "Killed" in r.stderr),
      f"killed rank: mpirun names rank 1 and the signal: {r.stderr[-1500:]}")
check(os.listdir(kdir) == [], f"killed rank: no output: {os.listdir(kdir)}")

summary()
