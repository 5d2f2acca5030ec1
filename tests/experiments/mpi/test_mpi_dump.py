"""`linbench dump` across MPI ranks: the same inputs on 1 process and on 1, 2 and 3 ranks
give byte-identical P.npy, P_ids.npy and P_mask.npy (each rank writes its windows into the
one file at their offsets); a rank failing early (bad input), late (after writing some
windows) or killed ends the job with no output and leaves the earlier dump as it was.
Skips (counting nothing) when mpirun or an MPI build is missing."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_tiny
from lbtest import LINBENCH, check, check_close, summary
from mpi_lib import ENV, mpirun, skip_reason

why = skip_reason()
if why:
    print(f"SKIP {os.path.basename(__file__)}: {why}")
    print("RESULT 0 0")
    sys.exit(0)

tmp = tempfile.mkdtemp(prefix="lbmpid_")
MODEL = os.path.join(tmp, "model")
hf_tiny.write_checkpoint(MODEL, kind="roberta", seed=5, vocab=300, max_pos=40)
IDS = os.path.join(tmp, "ids.npy")
np.save(IDS, np.random.default_rng(11).integers(3, 300, 400).astype(np.int32))
FILES = ["P.npy", "P_ids.npy", "P_mask.npy"]


def args(out, ids=IDS):
    # 7 windows: not a multiple of 2 or 3, so ranks get unequal shares
    return [LINBENCH, "dump", "--model", MODEL, "--ids", ids, "--n", "16", "--sequences", "7",
            "--seed", "3", "--heads", "0,2", "--threads", "1", "--quiet", "--out", out]


def snapshot(folder):
    """{name: bytes} of every file in folder: the 'earlier result' a failure must keep."""
    return {f: open(os.path.join(folder, f), "rb").read() for f in sorted(os.listdir(folder))}


ref = os.path.join(tmp, "ref")
os.mkdir(ref)
r = subprocess.run(args(ref + "/"), capture_output=True, text=True, env=ENV)
check(r.returncode == 0, f"single process: exit {r.returncode}: {r.stderr}")
REF = snapshot(ref)
# Every window was written: each real query row of P sums to 1 over the keys (a window
# missing from the file would read as zeros).
P = np.load(os.path.join(ref, "P.npy"))
mask = np.load(os.path.join(ref, "P_mask.npy"))
check(P.shape == (7, 2, 2, 16, 16), f"shape {P.shape}")
sums = P.sum(axis=-1)  # (S, L, H, n)
real = np.broadcast_to(mask[:, None, None, :] > 0, sums.shape)
check(real.any(), "some real rows")
check_close("rows of P sum to 1", sums[real], np.ones(int(real.sum())), 1e-5, 0)

for np_ in (1, 2, 3):
    out = os.path.join(tmp, f"np{np_}")
    os.mkdir(out)
    r = mpirun(np_, args(out + "/"))
    if not check(r.returncode == 0, f"-np {np_}: exit {r.returncode}: {r.stderr[-2000:]}"):
        continue
    check(r.stdout.count("wrote ") == 1, f"-np {np_}: rank 0 alone writes: {r.stdout}")
    got = snapshot(out)
    check(sorted(got) == sorted(REF), f"-np {np_}: files {sorted(got)}")
    for f in FILES:
        check(got.get(f) == REF[f], f"-np {np_}: {f} byte-identical to one process")
    js, js0 = json.loads(got.get("P.json", b"{}")), json.loads(REF["P.json"])
    check(all(js.get(k) == js0[k] for k in ("shape", "layers", "heads", "policy")) and
          js.get("ranks") == np_, f"-np {np_}: P.json shape, subsets, policy, ranks {js.get('ranks')}")

# The earlier result every failure below must leave as it was.
keep = os.path.join(tmp, "keep")
shutil.copytree(ref, keep)


def failed_cleanly(case, r, rank_text, causes):
    """causes: texts of which the message must hold one."""
    check(r.returncode != 0 and r.returncode != 124, f"{case}: exit {r.returncode}")
    check(rank_text in r.stderr and any(c in r.stderr for c in causes),
          f"{case}: the message names {rank_text} and one of {causes}: {r.stderr[-1500:]}")
    check(snapshot(keep) == REF, f"{case}: the earlier dump is intact: {sorted(os.listdir(keep))}")


# Late: window 5 is rank 2's second (after window 2, already written into P's temporary).
fail = ["env", "LB_DUMP_TEST_FAIL=5"]
r = mpirun(3, fail + args(keep + "/"))
failed_cleanly("late failure on rank 2", r, "rank 2/3", ["sequence 5: failed on purpose"])
# The same without MPI: one process, its fourth window.
r = subprocess.run(fail[:1] + ["LB_DUMP_TEST_FAIL=3"] + args(keep + "/"), capture_output=True,
                   text=True, env=ENV)
check(r.returncode == 65, f"one process, window 3 fails: exit {r.returncode}")
check(snapshot(keep) == REF, "one process failure: the earlier dump is intact")

# Early: rank 1 alone reads ids past the vocabulary, while rank 0 has its set open.
bad_ids = os.path.join(tmp, "bad.npy")
np.save(bad_ids, np.full(400, 100000, np.int32))
r = mpirun(1, args(keep + "/"), (1, args(keep + "/", ids=bad_ids)))
failed_cleanly("bad input on rank 1", r, "rank 1/2", ["past the"])

# Killed: rank 1 blocks on a FIFO nobody writes and gets SIGKILL after a second; rank 0
# waits for it with P's temporary open, and must take it away when mpirun ends it.
fifo = os.path.join(tmp, "never.npy")
os.mkfifo(fifo)
wrapper = ["bash", "-c", '(sleep 1; kill -9 $$) & exec "$@"', "killer", *args(keep + "/", ids=fifo)]
r = mpirun(1, args(keep + "/"), (1, wrapper))
failed_cleanly("killed rank 1", r, "rank 1", ["signal 9", "Killed"])

summary()
