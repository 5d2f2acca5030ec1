"""numpy oracle for attention/: tool_attn runs each kernel (and each scalar reference)
on inputs written here with ndarray.tofile; numpy recomputes the same attention in
float64 and the results are compared.

Tolerances |x - ref| <= atol + rtol*|ref|:
  outputs atol 2e-5, rtol 2e-4: the kernels compute in float32; scores are dot products
          over d <= 64 terms (~1e-6 relative error each), O = P V sums n float32 terms
          of size <= |v| ~ 4, and Linformer adds the projection sums over n terms
          (E ~ N(0, 1/k)), all far below 2e-5 for n <= 130;
  probs   atol 2e-6, rtol 2e-4: each probability inherits its score's error times p.
"""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../lib"))
from attn_case import run_forward, tool_path, write_mask_and_proj  # noqa: E402
from lbtest import check, check_close, summary  # noqa: E402

TOOL = tool_path("tool_attn")
OUT_TOL = (2e-5, 2e-4)
P_TOL = (2e-6, 2e-4)


def softmax_rows(s, real):
    """s (..., n, c) float64; real (c,) bool. Padding → 0; no real key → all 0."""
    s = np.where(real, s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    if not real.any():
        return np.zeros_like(s)
    e = np.exp(s - m)
    return e / e.sum(axis=-1, keepdims=True)


def full_np(q, k, v, mask):
    B, H, n, d = q.shape
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    out = np.zeros((B, H, n, d))
    probs = np.zeros((B, H, n, n))
    for b in range(B):
        real = np.ones(n, bool) if mask is None else mask[b] != 0
        p = softmax_rows(q[b] @ k[b].transpose(0, 2, 1) / np.sqrt(d), real)
        probs[b] = p
        out[b] = p @ v[b]
    return out, probs


def linformer_np(q, k, v, mask, E, F, share, kp):
    B, H, n, d = q.shape
    q, k, v, E, F = (x.astype(np.float64) for x in (q, k, v, E, F))
    out = np.zeros((B, H, n, d))
    probs = np.zeros((B, H, n, kp))
    for b in range(B):
        real = np.ones(n, bool) if mask is None else mask[b] != 0
        if not real.any():
            continue
        for h in range(H):
            Eh = E[h] if share == "none" else E
            Fh = F[h] if share == "none" else F
            kb = Eh @ (k[b, h] * real[:, None])  # E·diag(mask)·K
            vb = Fh @ (v[b, h] * real[:, None])
            p = softmax_rows(q[b, h] @ kb.T / np.sqrt(d), np.ones(kp, bool))
            probs[b, h] = p
            out[b, h] = p @ vb
    return out, probs


def tool(kernel, shape, kp, share, threads, d_, mask, probs, expect_rc=0):
    B, H, n, d = shape
    args = [TOOL, kernel, B, H, n, d, kp, share, threads, d_, int(mask is not None), int(probs)]
    r, out = run_forward(args, kernel, shape, d_, expect_rc)
    if out is None:
        return r if expect_rc != 0 else (None, None)
    p = None
    if probs:
        cols = kp if kernel.startswith("linformer") else n
        p = np.fromfile(os.path.join(d_, "probs.f32"), np.float32).reshape(B, H, n, cols)
    return out, p


def make_case(rng, d_, shape, mask_kind, kp, share):
    B, H, n, d = shape
    q, k, v = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    for name, x in (("q", q), ("k", k), ("v", v)):
        x.tofile(os.path.join(d_, name + ".f32"))
    mask, E, F = write_mask_and_proj(rng, d_, B, H, n, kp, share, mask_kind, tail_step=13)
    return q, k, v, mask, E, F


def main():
    rng = np.random.default_rng(2006_04768)
    shapes = [(2, 3, 97, 40), (3, 2, 130, 64), (1, 1, 1, 5), (2, 2, 33, 1)]
    with tempfile.TemporaryDirectory() as d_:
        for si, shape in enumerate(shapes):
            n = shape[2]
            kp = [31, n, 1, 7][si]  # odd k, k = n, k = 1
            for mk in (None, "tail", "holes"):
                tag = f"{shape} mask={mk}"
                q, k, v, mask, _, _ = make_case(rng, d_, shape, mk, kp, "none")
                want, pwant = full_np(q, k, v, mask)
                for kern in ("full", "full_ref"):
                    for th in (1, 2):
                        out, p = tool(kern, shape, 0, "none", th, d_, mask, True)
                        if out is not None:
                            check_close(f"{kern} t{th} {tag}", out, want, *OUT_TOL)
                            check_close(f"{kern} probs t{th} {tag}", p, pwant, *P_TOL)
                for kern in ("stream", "stream_ref"):
                    out, _ = tool(kern, shape, 0, "none", 2, d_, mask, False)
                    if out is not None:
                        check_close(f"{kern} {tag}", out, want, *OUT_TOL)
                for sh in ("none", "headwise", "kv", "layerwise"):
                    # fresh inputs with E/F of this mode's shape (F = E for kv/layerwise)
                    q, k, v, mask, E, F = make_case(rng, d_, shape, mk, kp, sh)
                    lw, lp = linformer_np(q, k, v, mask, E, F, sh, kp)
                    for kern in ("linformer", "linformer_ref"):
                        out, p = tool(kern, shape, kp, sh, 2, d_, mask, True)
                        if out is not None:
                            check_close(f"{kern} k={kp} {sh} {tag}", out, lw, *OUT_TOL)
                            check_close(f"{kern} probs k={kp} {sh} {tag}", p, lp, *P_TOL)

        # bad input: a clear message and the right exit code, no output file
        shape = (1, 2, 16, 8)
        make_case(rng, d_, shape, None, 4, "kv")
        os.remove(os.path.join(d_, "out.f32"))
        r = tool("linformer", shape, 17, "kv", 1, d_, None, False, expect_rc=64)
        check(r.returncode == 64 and "k = 17" in r.stderr, f"k > n: exit {r.returncode} {r.stderr!r}")
        r = tool("stream", shape, 0, "none", 1, d_, None, True, expect_rc=64)
        check(r.returncode == 64 and "probs" in r.stderr, f"stream+probs: {r.returncode} {r.stderr!r}")
        r = tool("full", (1, 2, 0, 8), 0, "none", 1, d_, None, False, expect_rc=64)
        check(r.returncode == 64 and "n (sequence length) = 0" in r.stderr, f"n = 0: {r.stderr!r}")
        with open(os.path.join(d_, "v.f32"), "r+b") as f:
            f.truncate(100)
        r = tool("full", shape, 0, "none", 1, d_, None, False, expect_rc=65)
        check(r.returncode == 65 and "v.f32" in r.stderr, f"truncated v: {r.returncode} {r.stderr!r}")
        os.remove(os.path.join(d_, "k.f32"))
        r = tool("full", shape, 0, "none", 1, d_, None, False, expect_rc=66)
        check(r.returncode == 66 and "k.f32" in r.stderr, f"missing k: {r.returncode} {r.stderr!r}")
        check(not os.path.exists(os.path.join(d_, "out.f32")), "no output written on bad input")
    summary()


if __name__ == "__main__":
    main()
