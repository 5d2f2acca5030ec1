#!/usr/bin/python3
"""Benchmark (not a test): singular values of COUNT attention-like matrices n × n,
our path (analysis/spectrum/svd.c through $BUILD/tools/tool_svd bench: sgesdd('N') on
per-thread workspaces, matrices in parallel, BLAS single-threaded inside) against
numpy.linalg.svd(compute_uv=False) on the same matrices, measured side by side.

The matrices are row softmaxes of Gaussian logits N(0, scale²) (scale 2.5 gives rows
about as peaked as mid layers of a pretrained encoder), saved as one float32 .npy
that both sides read; loading is not timed. Each variant runs --repeat times and the
median is reported, with the min and max.

Usage: /usr/bin/python3 experiments/bench/bench_svd.py [--build build] [--count 144] [--n 512]
           [--scale 2.5] [--repeat 3] [--threads 2] [--json FILE]
Run with OPENBLAS_CORETYPE=Haswell (see common/README.md); the script sets it if unset."""
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
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds allowed per run of our variants (threaded BLAS on a busy "
                         "machine can be very slow)")
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

    def ours(threads, blas=None):
        out = os.path.join(tmp, f"sigma_{threads}.npy")
        cmd = [tool, "bench", path, str(threads), out] + ([str(blas)] if blas else [])
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout)
        except subprocess.TimeoutExpired:
            return None, None
        if r.returncode:
            sys.exit(f"bench_svd: tool_svd failed: {r.stderr}")
        t = float(next(ln.split()[1] for ln in r.stdout.splitlines() if ln.startswith("seconds")))
        return t, np.load(out)

    def numpy_svd():
        t0 = time.perf_counter()
        s = np.linalg.svd(x, compute_uv=False)
        return time.perf_counter() - t0, s

    variants = [(f"ours: {a.threads} workers, 1-thread BLAS each", lambda: ours(a.threads)),
                ("ours: one at a time, 1-thread BLAS", lambda: ours(1, 1)),
                (f"ours: one at a time, {a.threads}-thread BLAS", lambda: ours(1, a.threads)),
                ("numpy.linalg.svd(compute_uv=False)", numpy_svd)]
    try:
        from scipy.linalg import svdvals

        def scipy_svd():  # float32 input: LAPACK sgesdd, one matrix per call
            t0 = time.perf_counter()
            s = np.stack([svdvals(m, check_finite=False) for m in x])
            return time.perf_counter() - t0, s
        variants.append(("scipy.linalg.svdvals (sgesdd, per matrix)", scipy_svd))
    except ImportError:
        pass

    results, ref = [], None
    print(f"{a.count} matrices of {a.n} x {a.n} (softmax of N(0, {a.scale}^2) logits), "
          f"{a.repeat} runs each, OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}")
    for name, fn in variants:
        ts, s = [], None
        for _ in range(a.repeat):
            t, s = fn()
            if t is None:
                break
            ts.append(t)
        if s is not None and ref is None and name.startswith("numpy"):
            ref = s
        results.append({"variant": name, "seconds": ts, "sigma": s,
                        "median": float(np.median(ts)) if len(ts) == a.repeat else None})
    ref = ref.astype(np.float64)
    base = results[0]["median"]
    for r in results:
        if r["median"] is None:
            print(f"  {r['variant']:<48} timed out (> {a.timeout:g} s)")
            del r["sigma"]
            continue
        dev = np.max(np.abs(r["sigma"] - ref) / ref[:, :1])
        print(f"  {r['variant']:<48} median {r['median']:7.3f} s  (min {min(r['seconds']):.3f}, "
              f"max {max(r['seconds']):.3f})  {r['median'] / base:5.2f}x ours  "
              f"max|s - s_numpy|/s_max {dev:.1e}")
        r["max_rel_dev_vs_numpy"] = float(dev)
        del r["sigma"]
    load = os.getloadavg()[0]
    print(f"  load average at the end: {load:.2f} on {os.cpu_count()} CPUs")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"count": a.count, "n": a.n, "scale": a.scale, "repeat": a.repeat,
                       "threads": a.threads, "numpy": np.__version__,
                       "machine": platform.processor() or platform.machine(),
                       "OPENBLAS_CORETYPE": os.environ["OPENBLAS_CORETYPE"],
                       "loadavg_end": load,
                       "results": results}, f, indent=2)
    os.remove(path)
    for f in os.listdir(tmp):
        os.remove(os.path.join(tmp, f))
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
