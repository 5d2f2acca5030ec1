"""`linbench train` data-parallel across MPI ranks: one update of a global batch of 4 on
2 (and 3: unequal shares) ranks equals one update of the same batch in one process
(gradient through AdamW's first moment, the weights, the loss); rank 0 alone prints and
writes checkpoints; a resume needs the same rank count. Skips (counting nothing) when
mpirun or an MPI build is missing."""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lbtest import LINBENCH, ROOT, check, check_close, summary
from mpi_lib import ENV, exit_if_skipped, mpirun

exit_if_skipped(__file__)

tmp = tempfile.mkdtemp(prefix="lbmpit_")
TRAIN = os.path.join(tmp, "train.txt")
with open(TRAIN, "w") as f:
    for i in range(40):
        f.write(f"the cat number {i} sat on the mat and the dog ran to door {i % 7}.\n\n")


def args(out, steps=1, extra=()):
    return [LINBENCH, "train", "--tokenizer", os.path.join(ROOT, "results/models/linbench-small"),
            "--train", TRAIN, "--layers", "1", "--hidden", "16", "--heads", "2", "--ffn", "32",
            "--n", "32", "--batch", "4", "--steps", str(steps), "--warmup", "1",
            "--eval-every", "0", "--log-every", "1", "--threads", "1", "--no-progress",
            "--out", out, *extra]


def tensors(path):
    with open(path, "rb") as f:
        hl = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(hl))
        data = f.read()
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        assert v["dtype"] == "F32", v["dtype"]
        out[k] = np.frombuffer(data[a:b], dtype=np.float32).astype(np.float64)
    return out


def loss_of(stdout):
    for ln in stdout.splitlines():
        if ln.startswith("step 1/"):
            return float(ln.split(" loss ")[1].split()[0])
    return float("nan")


ref = os.path.join(tmp, "ref")
r = subprocess.run(args(ref), capture_output=True, text=True, env=ENV)
check(r.returncode == 0, f"one process: exit {r.returncode}: {r.stderr}")
ref_loss = loss_of(r.stdout)
R_OPT = tensors(os.path.join(ref, "checkpoint-1", "optimizer.safetensors"))
R_W = tensors(os.path.join(ref, "checkpoint-1", "model.safetensors"))

for np_ in (2, 3):
    out = os.path.join(tmp, f"np{np_}")
    r = mpirun(np_, args(out))
    if not check(r.returncode == 0, f"-np {np_}: exit {r.returncode}: {r.stderr[-2000:]}"):
        continue
    check(r.stdout.count("step 1/1") == 1 and r.stdout.count("checkpoint ") == 1,
          f"-np {np_}: rank 0 alone reports: {r.stdout[-800:]}")
    files = sorted(f for f in os.listdir(out) if f != ".train.lock")
    check(files == ["checkpoint-1"], f"-np {np_}: files {files}")
    # The loss is a sum of the same per-token terms in another order: float rounding.
    check_close(f"-np {np_}: loss of step 1", loss_of(r.stdout), ref_loss, 1e-4, 1e-4)
    opt = tensors(os.path.join(out, "checkpoint-1", "optimizer.safetensors"))
    w = tensors(os.path.join(out, "checkpoint-1", "model.safetensors"))
    check(sorted(opt) == sorted(R_OPT) and sorted(w) == sorted(R_W), f"-np {np_}: tensor names")
    # First moments are (1 − β1)·(clipped gradient): float32 gradients of the same batch
    # summed in another order (per-rank partial sums, then the allreduce). Relative 1e-3
    # of the largest entry bounds that rounding (gradients here are ~1e-2, float eps 6e-8
    # times a few hundred terms), while a missing rank or a wrong scale is off by >= 25%.
    for k in sorted(R_OPT):
        ref_t = R_OPT[k]
        scale = np.abs(ref_t).max() if ref_t.size else 1.0
        check_close(f"-np {np_}: {k}", opt[k], ref_t, 1e-3 * scale + 1e-12, 1e-3)
    # Weights after one AdamW step move by about lr·sign(g) (5e-4), so they barely see
    # the gradient's size (the first moments above do); measured differences are ~6e-8,
    # 1e-5 (2% of a step) leaves room for a gradient entry near eps changing direction.
    for k in sorted(R_W):
        check_close(f"-np {np_}: weights {k}", w[k], R_W[k], 1e-5, 0)

def one_vs_two_ranks(label, name, steps, extra):
    """Train `steps` updates in one process and on 2 ranks; the first moments must agree
    within the rounding bound above."""
    ref_dir, two_dir = os.path.join(tmp, name + "1"), os.path.join(tmp, name + "2")
    r = subprocess.run(args(ref_dir, steps=steps, extra=extra), capture_output=True, text=True, env=ENV)
    check(r.returncode == 0, f"{label}, one process: exit {r.returncode}: {r.stderr[-800:]}")
    r2 = mpirun(2, args(two_dir, steps=steps, extra=extra))
    if not check(r.returncode == 0 and r2.returncode == 0, f"{label} on 2 ranks: exit {r2.returncode}: {r2.stderr[-800:]}"):
        return
    ck = f"checkpoint-{steps}"
    a = tensors(os.path.join(ref_dir, ck, "optimizer.safetensors"))
    b = tensors(os.path.join(two_dir, ck, "optimizer.safetensors"))
    for k in sorted(a):
        scale = np.abs(a[k]).max() if a[k].size else 1.0
        check_close(f"{label}, 2 ranks: {k}", b[k], a[k], 1e-3 * scale + 1e-12, 1e-3)


# A batch per curriculum phase: step 1 is 4 x 16, step 2 is 2 x 32, each split over 2
# ranks (2 rows, then 1 each); a rank dropping its rows of the smaller phase is off by ~50%.
one_vs_two_ranks("phase batch", "ph", 2, ["--n", "16:1:4,32:1:2"])
# --pos-shift: each rank must shift its own rows by the shifts of their global row
# numbers (rank 1 taking rows 0-1's shifts puts gradient into other position rows: the
# position table's first moments then differ by whole entries, far past 1e-3).
one_vs_two_ranks("pos-shift", "sh", 1, ["--pos-shift", "--max-pos", "120"])
r = mpirun(2, args(os.path.join(tmp, "ph3"), extra=["--n", "16:1:4,32:1:1"]))
check(r.returncode == 64 and "a phase's batch of 1" in r.stderr, f"a phase batch below the ranks: {r.returncode} "
      f"{r.stderr[-400:]}")

# A resume needs as many ranks as trained the checkpoint.
ck2 = os.path.join(tmp, "np2", "checkpoint-1")
r = subprocess.run(args(os.path.join(tmp, "np2"), steps=2, extra=["--resume", ck2]),
                   capture_output=True, text=True, env=ENV)
check(r.returncode == 64 and "2 ranks" in r.stderr, f"resume on 1 rank refused: {r.returncode} "
      f"{r.stderr}")
r = mpirun(2, args(os.path.join(tmp, "np2"), steps=2, extra=["--resume", ck2]))
check(r.returncode == 0 and "step 2/2" in r.stdout, f"resume on 2 ranks: {r.returncode} "
      f"{r.stderr[-1000:]}")
r = mpirun(3, args(os.path.join(tmp, "np2"), steps=2, extra=["--resume", ck2]))
check(r.returncode != 0 and "2 ranks" in r.stderr, f"resume on 3 ranks refused: {r.returncode}")
# Too small a batch for the ranks: refused before any work.
bdir = os.path.join(tmp, "b1")
r = mpirun(2, args(bdir, extra=["--batch", "1"]))
check(r.returncode != 0 and "--batch 1" in r.stderr, f"batch 1 on 2 ranks: {r.returncode} "
      f"{r.stderr[-800:]}")
check(not os.path.exists(bdir) or os.listdir(bdir) == [], "batch 1: no output")
# SIGTERM to rank 1 alone: every rank stops after the same step, rank 0 writes that
# checkpoint (rather than an abort cutting it short), and the run resumes from it.
sdir = os.path.join(tmp, "stop")
wrapper = ["bash", "-c", '(sleep 3; kill -TERM $$) & exec "$@"', "stopper",
           *args(sdir, steps=10**6)]
r = mpirun(1, args(sdir, steps=10**6), (1, wrapper))
stops = sorted(set(ln.split("interrupted after step ")[1].split(";")[0]
                   for ln in r.stderr.splitlines() if "interrupted after step" in ln))
check(r.returncode == 75 and len(stops) == 1 and r.stderr.count("interrupted after") == 2,
      f"stop: exit {r.returncode}, both ranks after one step: {r.stderr[-1500:]}")
ck = os.path.join(sdir, f"checkpoint-{stops[0] if stops else 0}")
check(os.path.isfile(os.path.join(ck, "trainer.json")), f"stop: {ck} written")
if stops:
    r = mpirun(2, args(sdir, steps=int(stops[0]) + 2, extra=["--resume", ck]))
    check(r.returncode == 0 and f"step {int(stops[0]) + 2}/" in r.stdout,
          f"resume after the stop: {r.returncode} {r.stderr[-800:]}")
summary()
