"""numpy oracle for the approximate attentions (local, nystrom, performer,
scatterbrain): tool_attn_approx runs each kernel and each scalar reference on inputs
written here with ndarray.tofile; numpy recomputes the same method in float64 from its
definition (dense matrices, numpy's own order of products) and the results are compared.
Also: window >= n and landmarks = n against numpy's full attention, the Nyström
iteration against numpy's SVD pseudo-inverse, and the features the kernel drew.

Tolerances |x - ref| <= atol + rtol*|ref| (why: see tests/attention/test_attention_approx.c):
  local        2e-5, 2e-4  as full attention (float dot products, P V sums);
  performer    5e-5, 5e-4  float error of the feature exponents (~1e-5 relative);
  scatterbrain 1e-3, 1e-2  with N(0,1) inputs: C = exp(s) - estimate cancels, float
                           error eps x (estimate / true row sum); 5e-5, 5e-4 at scale 0.5;
  nystrom      1e-4, 1e-3  float Z after 6 iterations; at m = n the kernel gets
                           2e-5 + 2e-6 cond(A~) and the double reference 1e-6.
"""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../lib"))
from attn_case import run_forward, tool_path, write_mask_and_proj  # noqa: E402
from lbtest import check, check_close, summary  # noqa: E402

TOOL = tool_path("tool_attn_approx")
LOC_TOL = (2e-5, 2e-4)
FAV_TOL = (5e-5, 5e-4)
SB_TOL = (1e-3, 1e-2)
NYS_TOL = (1e-4, 1e-3)


def softmax_rows(s, allowed):
    """s (r, c) float64; allowed (r, c) or (c,) bool. Not allowed -> 0; rows with
    nothing allowed -> all 0."""
    allowed = np.broadcast_to(allowed, s.shape)
    z = np.where(allowed, s, -np.inf)
    m = z.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    e = np.where(allowed, np.exp(z - m), 0)
    tot = e.sum(axis=-1, keepdims=True)
    return np.where(tot > 0, e / np.where(tot > 0, tot, 1), 0)


def real_keys(mask, b, n):
    return np.ones(n, bool) if mask is None else mask[b] != 0


def window(n, w):
    i = np.arange(n)
    return np.abs(i[:, None] - i[None, :]) <= w


def local_np(q, k, v, mask, w):
    B, H, n, d = q.shape
    out = np.zeros((B, H, n, d))
    for b in range(B):
        allowed = window(n, w) & real_keys(mask, b, n)[None, :]
        for h in range(H):
            p = softmax_rows(q[b, h] @ k[b, h].T / np.sqrt(d), allowed)
            out[b, h] = p @ v[b, h]
    return out


def pinv_iter(A, iters):
    """The Nyströmformer iteration, in float64."""
    Z = A.T / (np.abs(A).sum(0).max() * np.abs(A).sum(1).max())
    I = np.eye(len(A))
    for _ in range(iters):
        AZ = A @ Z
        Z = 0.25 * Z @ (13 * I - AZ @ (15 * I - AZ @ (7 * I - AZ)))
    return Z


def nystrom_np(q, k, v, mask, m, iters, exact_pinv=False):
    B, H, n, d = q.shape
    out = np.zeros((B, H, n, d))
    for b in range(B):
        real = real_keys(mask, b, n)
        pos = np.flatnonzero(real)
        r = len(pos)
        if r == 0:
            continue
        mm = min(m, r)
        bounds = [(l * r) // mm for l in range(mm + 1)]  # segments of the real keys
        for h in range(H):
            qt = np.stack([q[b, h, pos[bounds[l]:bounds[l + 1]]].mean(0) for l in range(mm)])
            kt = np.stack([k[b, h, pos[bounds[l]:bounds[l + 1]]].mean(0) for l in range(mm)])
            F = softmax_rows(q[b, h] @ kt.T / np.sqrt(d), np.ones(mm, bool))
            A = softmax_rows(qt @ kt.T / np.sqrt(d), np.ones(mm, bool))
            Bm = softmax_rows(qt @ k[b, h].T / np.sqrt(d), real)
            Z = np.linalg.pinv(A) if exact_pinv else pinv_iter(A, iters)
            out[b, h] = F @ (Z @ (Bm @ v[b, h]))
    return out


def features(x, omega):
    """log of the positive features (without 1/sqrt(m)), x (r, d)."""
    d = x.shape[-1]
    xs = x / d ** 0.25
    return xs @ omega.T - 0.5 * (xs * xs).sum(-1, keepdims=True)


def favor_np(q, k, v, mask, omega, w=None):
    """performer (w None) or scatterbrain (the window exact, the estimate elsewhere)."""
    B, H, n, d = q.shape
    omega = omega.astype(np.float64)
    m = len(omega)
    out = np.zeros((B, H, n, d))
    for b in range(B):
        real = real_keys(mask, b, n)
        if not real.any():
            continue
        for h in range(H):
            lq, lk = features(q[b, h], omega), features(k[b, h], omega)
            cq = lq.max(1, keepdims=True)
            ck = lk[real].max()
            A = (np.exp(lq - cq) @ np.exp(lk - ck).T) / m  # est. exp(s) e^(-cq-ck)
            if w is not None:
                exact = np.exp(q[b, h] @ k[b, h].T / np.sqrt(d) - cq - ck)
                A = np.where(window(n, w), exact, A)
            A = A * real[None, :]
            out[b, h] = (A @ v[b, h]) / A.sum(1, keepdims=True)
    return out


def full_np(q, k, v, mask):
    return local_np(q, k, v, mask, q.shape[2])


def tool(kernel, shape, kk, win, iters, seed, threads, d_, mask, expect_rc=0):
    B, H, n, d = shape
    args = [TOOL, kernel, B, H, n, d, kk, win, iters, seed, threads, d_, int(mask is not None)]
    r, out = run_forward(args, kernel, shape, d_, expect_rc)
    if out is None:
        return r if expect_rc != 0 else (None, None)
    om = None
    if kernel.startswith(("performer", "scatterbrain")):
        om = np.fromfile(os.path.join(d_, "omega.f32"), np.float32).reshape(kk, d)
    return out, om


def make_case(rng, d_, shape, mask_kind, scale=1.0):
    B, H, n, d = shape
    q, k = ((rng.standard_normal(shape) * scale).astype(np.float32) for _ in range(2))
    v = rng.standard_normal(shape).astype(np.float32)
    for name, x in (("q", q), ("k", k), ("v", v)):
        x.tofile(os.path.join(d_, name + ".f32"))
    mask, _, _ = write_mask_and_proj(rng, d_, B, 1, n, 1, "kv", mask_kind, tail_step=13)
    return q.astype(np.float64), k.astype(np.float64), v.astype(np.float64), mask


def check_omega(om, d, tag):
    """Rows of each block of d are orthogonal; lengths are not all equal (chi draws)."""
    worst = 0.0
    for r0 in range(0, len(om), d):
        blk = om[r0:r0 + d].astype(np.float64)
        g = blk @ blk.T
        nrm = np.sqrt(np.diag(g))
        c = np.abs(g / np.outer(nrm, nrm) - np.eye(len(blk)))
        worst = max(worst, c.max())
    check(worst < 1e-5, f"{tag}: features orthogonal within blocks (worst |cos| {worst:.2g})")


def kernels_vs_numpy(rng, d_):
    shapes = [(2, 3, 97, 40), (3, 2, 130, 64), (1, 1, 1, 5), (2, 2, 33, 1)]
    for si, shape in enumerate(shapes):
        n = shape[2]
        for mk in (None, "tail", "holes"):
            tag = f"{shape} mask={mk}"
            q, k, v, mask = make_case(rng, d_, shape, mk)
            for w in (0, 7, n + 3):  # itself only, odd, beyond n
                want = local_np(q, k, v, mask, w)
                for kern, th in (("local", 1 + si % 2), ("local_ref", 1)):
                    out, _ = tool(kern, shape, w, 0, 0, 0, th, d_, mask)
                    if out is not None:
                        check_close(f"{kern} t{th} w={w} {tag}", out, want, *LOC_TOL)
            for m in sorted({1, max(1, n // 3) | 1, n}):
                want = nystrom_np(q, k, v, mask, m, 6)
                for kern in ("nystrom", "nystrom_ref"):
                    out, _ = tool(kern, shape, m, 0, 0, 0, 2, d_, mask)
                    if out is not None:
                        check_close(f"{kern} m={m} {tag}", out, want, *NYS_TOL)
            for m in ((1, 100) if si % 2 else (31, 100)):  # one, odd, more than d (blocks)
                for kern in ("performer", "performer_ref"):
                    out, om = tool(kern, shape, m, 0, 0, 11 + si, 2, d_, mask)
                    if out is not None:
                        check_close(f"{kern} m={m} {tag}", out, favor_np(q, k, v, mask, om), *FAV_TOL)
                        if kern == "performer" and m == 100:
                            check_omega(om, shape[3], f"{kern} {tag}")
            for m, w in ((8, 5), (40, 2 * n // 3)):
                for kern in ("scatterbrain", "scatterbrain_ref"):
                    out, om = tool(kern, shape, m, w, 0, 5, 2, d_, mask)
                    if out is not None:
                        want = favor_np(q, k, v, mask, om, w)
                        check_close(f"{kern} m={m} w={w} {tag}", out, want, *SB_TOL)
            # smaller logits: a fair estimate, little cancellation, the tight tolerance
            q, k, v, mask = make_case(rng, d_, shape, mk, 0.5)
            out, om = tool("scatterbrain", shape, 16, 3, 0, 6, 2, d_, mask)
            if out is not None:
                want = favor_np(q, k, v, mask, om, 3)
                check_close(f"scatterbrain m=16 w=3 scale 0.5 {tag}", out, want, *FAV_TOL)


def limits(rng, d_):
    for shape in ((2, 2, 37, 16), (3, 1, 20, 9)):
        n = shape[2]
        for mk in (None, "tail", "holes"):
            tag = f"{shape} mask={mk}"
            q, k, v, mask = make_case(rng, d_, shape, mk)
            full = full_np(q, k, v, mask)
            for w in (n - 1, n + 50):
                out, _ = tool("local", shape, w, 0, 0, 0, 2, d_, mask)
                if out is not None:
                    check_close(f"local w={w} = full {tag}", out, full, *LOC_TOL)
                out, _ = tool("scatterbrain", shape, 4, w, 0, 1, 2, d_, mask)
                if out is not None:
                    check_close(f"scatterbrain w={w} = full {tag}", out, full, *SB_TOL)
            # the iteration reaches the SVD pseudo-inverse: Nyström with exact pinv at m = n
            # is full attention, and 30 iterations give the same
            exact = nystrom_np(q, k, v, mask, n, 0, exact_pinv=True)
            check_close(f"numpy nystrom m=n exact pinv = full {tag}", exact, full, 1e-9, 1e-9)
            it30 = nystrom_np(q, k, v, mask, n, 30)
            check_close(f"numpy nystrom m=n 30 iterations = full {tag}", it30, full, 1e-9, 1e-9)
            out, _ = tool("nystrom_ref", shape, n, 0, 30, 0, 1, d_, mask)
            if out is not None:
                check_close(f"nystrom_ref m=n 30 iterations = full {tag}", out, full, 1e-6, 1e-6)
            kappa = 1.0
            for b in range(shape[0]):
                real = real_keys(mask, b, n)
                if real.any():
                    for h in range(shape[1]):
                        P = softmax_rows(q[b, h] @ k[b, h].T / np.sqrt(shape[3]), real)
                        kappa = max(kappa, np.linalg.cond(P[np.ix_(real, real)]))
            out, _ = tool("nystrom", shape, n, 0, 30, 0, 2, d_, mask)
            if out is not None:
                tol = 2e-5 + 2e-6 * kappa
                check_close(f"nystrom m=n 30 iterations = full (cond {kappa:.3g}) {tag}", out, full,
                            tol, tol)


def bad_input(rng, d_):
    shape = (1, 2, 16, 8)
    make_case(rng, d_, shape, None)
    os.remove(os.path.join(d_, "out.f32"))
    r = tool("nystrom", shape, 17, 0, 0, 0, 1, d_, None, expect_rc=64)
    check(r.returncode == 64 and "k = 17 (landmarks m)" in r.stderr, f"m > n: {r.returncode} {r.stderr!r}")
    r = tool("local", shape, 3, 0, 0, 0, 1, d_, None, expect_rc=64)  # fine: expect 0
    check(r.returncode == 0, f"local w=3: {r.returncode} {r.stderr!r}")
    os.remove(os.path.join(d_, "out.f32"))
    r = tool("linformer", shape, 3, 0, 0, 0, 1, d_, None, expect_rc=64)
    check(r.returncode == 64 and "unknown kernel" in r.stderr, f"linformer: {r.stderr!r}")
    r = tool("performer", shape, 0, 0, 0, 0, 1, d_, None, expect_rc=64)
    check(r.returncode == 64 and "k = 0" in r.stderr, f"m = 0: {r.stderr!r}")
    with open(os.path.join(d_, "v.f32"), "r+b") as f:
        f.truncate(100)
    r = tool("local", shape, 2, 0, 0, 0, 1, d_, None, expect_rc=65)
    check(r.returncode == 65 and "v.f32" in r.stderr, f"truncated v: {r.returncode} {r.stderr!r}")
    os.remove(os.path.join(d_, "k.f32"))
    r = tool("performer", shape, 4, 0, 0, 0, 1, d_, None, expect_rc=66)
    check(r.returncode == 66 and "k.f32" in r.stderr, f"missing k: {r.returncode} {r.stderr!r}")
    check(not os.path.exists(os.path.join(d_, "out.f32")), "no output written on bad input")


def main():
    rng = np.random.default_rng(2021_02_01)
    with tempfile.TemporaryDirectory() as d_:
        kernels_vs_numpy(rng, d_)
        limits(rng, d_)
        bad_input(rng, d_)
    summary()


if __name__ == "__main__":
    main()
