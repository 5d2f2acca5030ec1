#!/usr/bin/python3
"""Benchmark (not a test): singular values of COUNT attention-like matrices n × n,
our path (analysis/svd.c through $BUILD/tools/tool_svd bench: sgesdd('N') on
per-thread workspaces, matrices in parallel, BLAS single-threaded inside) against
numpy.linalg.svd(compute_uv=False) on the same matrices, measured side by side.

The matrices are row softmaxes of Gaussian logits N(0, scale²) (scale 2.5 gives rows
about as peaked as mid layers of a pretrained encoder), saved as one float32 .npy
that both sides read; loading is not timed. Each variant runs --repeat times and the
median is reported, with the min and max.

Usage: /usr/bin/python3 experiments/bench_svd.py [--build build] [--count 144] [--n 512]
           [--scale 2.5] [--repeat 3] [--threads 2] [--json FILE]
Run with OPENBLAS_CORETYPE=Haswell (DESIGN.md §6); the script sets it if unset."""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--count", type=int, default=144)
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--scale", type=float, default=2.5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    if a.count < 1 or a.n < 1 or a.repeat < 1 or a.threads < 1:
        sys.exit("bench_svd: --count, --n, --repeat and --threads must be >= 1")
    os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    tool = os.path.join(root, a.build, "tools", "tool_svd")
    if not os.access(tool, os.X_OK):
        sys.exit(f"bench_svd: {tool} not found: run make BUILD={a.build} first")

    rng = np.random.default_rng(a.seed)
    x = rng.normal(0, a.scale, size=(a.count, a.n, a.n)).astype(np.float32)
    x -= x.max(axis=-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=-1, keepdims=True)
    tmp = tempfile.mkdtemp(prefix="bench_svd_")
    path = os.path.join(tmp, "P.npy")
    np.save(path, x)

    def ours(threads):
        out = os.path.join(tmp, f"sigma_{threads}.npy")
        r = subprocess.run([tool, "bench", path, str(threads), out], capture_output=True,
                           text=True)
        if r.returncode:
            sys.exit(f"bench_svd: tool_svd failed: {r.stderr}")
        t = float(next(ln.split()[1] for ln in r.stdout.splitlines() if ln.startswith("seconds")))
        return t, np.load(out)

    def numpy_svd():
        t0 = time.perf_counter()
        s = np.linalg.svd(x, compute_uv=False)
        return time.perf_counter() - t0, s

    variants = [(f"ours: {a.threads} workers, 1-thread BLAS each", lambda: ours(a.threads)),
                ("ours: one matrix at a time, multi-thread BLAS", lambda: ours(1)),
                ("numpy.linalg.svd(compute_uv=False)", numpy_svd)]
    try:
        from scipy.linalg import svdvals
        variants.append(("scipy.linalg.svdvals (sgesdd, per matrix)",
                         lambda: (lambda t0: (lambda s: (time.perf_counter() - t0, s))(
                             np.stack([svdvals(m) for m in x])))(time.perf_counter())))
    except ImportError:
        pass

    results, ref = [], None
    print(f"{a.count} matrices of {a.n} x {a.n} (softmax of N(0, {a.scale}^2) logits), "
          f"{a.repeat} runs each, OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}")
    for name, fn in variants:
        ts = []
        for _ in range(a.repeat):
            t, s = fn()
            ts.append(t)
        if ref is None and name.startswith("numpy"):
            ref = s
        results.append({"variant": name, "seconds": ts, "median": float(np.median(ts)),
                        "sigma": s})
    ref = ref.astype(np.float64)
    base = results[0]["median"]
    for r in results:
        dev = np.max(np.abs(r["sigma"] - ref) / ref[:, :1])
        print(f"  {r['variant']:<48} median {r['median']:7.3f} s  (min {min(r['seconds']):.3f}, "
              f"max {max(r['seconds']):.3f})  {r['median'] / base:5.2f}x ours  "
              f"max|s - s_numpy|/s_max {dev:.1e}")
        r["max_rel_dev_vs_numpy"] = float(dev)
        del r["sigma"]
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"count": a.count, "n": a.n, "scale": a.scale, "repeat": a.repeat,
                       "threads": a.threads, "numpy": np.__version__,
                       "machine": platform.processor() or platform.machine(),
                       "OPENBLAS_CORETYPE": os.environ["OPENBLAS_CORETYPE"],
                       "results": results}, f, indent=2)
    os.remove(path)
    for f in os.listdir(tmp):
        os.remove(os.path.join(tmp, f))
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
