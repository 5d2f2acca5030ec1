"""numpy oracle for the attention backward: tool_attn_bwd runs the float kernel (after
its own forward) and the scalar reference on inputs written here; numpy computes the
same gradients in float64 by the chain rule and the results are compared.

Tolerances |x - ref| <= atol + rtol*|ref|:
  kernel     atol 2e-4, rtol 2e-3: four float32 GEMMs after float32 probabilities;
             dS = P*(dP - rowsum) cancels, so its error is ~1e-6*|dP| (|dP| ~ 6 for
             N(0,1) inputs, d <= 32) and dq, dk, dE sum up to n = 64 such terms (the
             C test measured worst errors ~1e-5..1e-4);
  reference  atol 1e-6, rtol 1e-5: double inside, rounded to float32 once (6e-8
             relative), so only that rounding and numpy's summation order differ.
"""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../lib"))
from attn_case import run_tool, tool_path, write_mask_and_proj  # noqa: E402
from lbtest import check, check_close, summary  # noqa: E402

TOOL = tool_path("tool_attn_bwd")
KERN_TOL = (2e-4, 2e-3)
REF_TOL = (1e-6, 1e-5)


def softmax_rows(s, real):
    """s (n, c) float64; real (c,) bool. Padding -> 0; no real key -> all 0."""
    if not real.any():
        return np.zeros_like(s)
    s = np.where(real, s, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attn_grad(q, kc, vc, dout, real):
    """Gradients of sum(dout * softmax(q kc^T / sqrt d) vc) in q, kc, vc."""
    d = q.shape[1]
    p = softmax_rows(q @ kc.T / np.sqrt(d), real)
    dvc = p.T @ dout
    dp = dout @ vc.T
    ds = p * (dp - (dp * p).sum(axis=1, keepdims=True)) / np.sqrt(d)
    return ds @ kc, ds.T @ q, dvc


def grads_np(q, k, v, dout, mask, E, F, share, lin):
    B, H, n, d = q.shape
    q, k, v, dout = (x.astype(np.float64) for x in (q, k, v, dout))
    dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
    dE = np.zeros(E.shape) if lin else None
    dF = np.zeros(F.shape) if lin else None
    for b in range(B):
        real = np.ones(n, bool) if mask is None else mask[b] != 0
        for h in range(H):
            if not lin:
                dq[b, h], dk[b, h], dv[b, h] = attn_grad(q[b, h], k[b, h], v[b, h], dout[b, h], real)
                continue
            Eh = (E[h] if share == "none" else E).astype(np.float64)
            Fh = (F[h] if share == "none" else F).astype(np.float64)
            km, vm = k[b, h] * real[:, None], v[b, h] * real[:, None]  # diag(mask)
            rk = np.full(Eh.shape[0], real.any())
            dq[b, h], dkb, dvb = attn_grad(q[b, h], Eh @ km, Fh @ vm, dout[b, h], rk)
            dk[b, h] = (Eh.T @ dkb) * real[:, None]
            dv[b, h] = (Fh.T @ dvb) * real[:, None]
            (dE[h] if share == "none" else dE)[...] += dkb @ km.T
            (dF[h] if share == "none" else dF)[...] += dvb @ vm.T
    return dq, dk, dv, dE, dF


def tool(kernel, shape, kp, share, threads, d_, use_mask):
    B, H, n, d = shape
    args = [TOOL, kernel, B, H, n, d, kp, share, threads, d_, int(use_mask)]
    return run_tool(args)


def load(d_, name, shape):
    return np.fromfile(os.path.join(d_, name), np.float32).reshape(shape)


def make_case(rng, d_, shape, mask_kind, kp, share):
    B, H, n, d = shape
    q, k, v, dout = (rng.standard_normal(shape).astype(np.float32) for _ in range(4))
    for name, x in (("q", q), ("k", k), ("v", v), ("dout", dout)):
        x.tofile(os.path.join(d_, name + ".f32"))
    mask, E, F = write_mask_and_proj(rng, d_, B, H, n, kp, share, mask_kind, tail_step=7)
    return q, k, v, dout, mask, E, F


def compare(d_, kern, tag, shape, want, share, lin):
    tol = REF_TOL if kern.endswith("_ref") else KERN_TOL
    for name, w in zip(("dq", "dk", "dv"), want[:3]):
        check_close(f"{kern} {name} {tag}", load(d_, name + ".f32", shape), w, *tol)
    if not lin:
        return
    dE, dF = want[3], want[4]
    if share in ("kv", "layerwise"):  # dE == dF in the tool: one array holds both
        check_close(f"{kern} dE+dF {tag}", load(d_, "dE.f32", dE.shape), dE + dF, *tol)
    else:
        check_close(f"{kern} dE {tag}", load(d_, "dE.f32", dE.shape), dE, *tol)
        check_close(f"{kern} dF {tag}", load(d_, "dF.f32", dF.shape), dF, *tol)


def main():
    rng = np.random.default_rng(2006_04768 + 5)
    cases = [((2, 3, 37, 16), 9), ((1, 2, 64, 32), 64), ((2, 1, 5, 3), 1)]
    with tempfile.TemporaryDirectory() as d_:
        for shape, kp in cases:
            for mk in (None, "tail", "holes"):
                for sh in ("full", "none", "headwise", "kv", "layerwise"):
                    lin = sh != "full"
                    share = sh if lin else "none"
                    q, k, v, dout, mask, E, F = make_case(rng, d_, shape, mk, kp, share)
                    want = grads_np(q, k, v, dout, mask, E, F, share, lin)
                    tag = f"{shape} k={kp} {sh} mask={mk}"
                    base = "linformer" if lin else "full"
                    for kern in (base, base + "_ref"):
                        r = tool(kern, shape, kp, share, 2, d_, mask is not None)
                        if check(r.returncode == 0, f"{kern} {tag}: exit {r.returncode} {r.stderr.strip()}"):
                            compare(d_, kern, tag, shape, want, share, lin)

        # bad input: a clear message, the right exit code, no output file
        shape = (1, 2, 16, 8)
        make_case(rng, d_, shape, None, 4, "headwise")
        for f in ("dq.f32", "dk.f32", "dv.f32", "dE.f32", "dF.f32"):
            if os.path.exists(os.path.join(d_, f)):
                os.remove(os.path.join(d_, f))
        r = tool("stream", shape, 0, "none", 1, d_, False)
        check(r.returncode == 64 and "stream" in r.stderr, f"stream: exit {r.returncode} {r.stderr!r}")
        r = tool("linformer", shape, 17, "headwise", 1, d_, False)
        check(r.returncode == 64 and "k = 17" in r.stderr, f"k > n: exit {r.returncode} {r.stderr!r}")
        with open(os.path.join(d_, "dout.f32"), "r+b") as f:
            f.truncate(100)
        r = tool("full", shape, 0, "none", 1, d_, False)
        check(r.returncode == 65 and "dout.f32" in r.stderr, f"truncated dout: {r.returncode} {r.stderr!r}")
        make_case(rng, d_, shape, None, 4, "headwise")
        os.remove(os.path.join(d_, "F.f32"))
        r = tool("linformer", shape, 4, "headwise", 1, d_, False)
        check(r.returncode == 66 and "F.f32" in r.stderr, f"missing F: {r.returncode} {r.stderr!r}")
        check(not os.path.exists(os.path.join(d_, "dq.f32")), "no output written on bad input")
    summary()


if __name__ == "__main__":
    main()
