"""Oracle test for analysis/spectrum/svd.c, spectrum_acc.c and projerr.c through
$BUILD/tools/tool_svd: singular values against numpy.linalg.svd, curves, indices,
effective rank, row entropy and the streaming accumulator against numpy on the same
inputs, and every projection-error method against a float64 numpy computation."""
import os
import subprocess
import tempfile

import numpy as np

import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../lib"))
from lbtest import check, check_close, summary

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", os.environ.get("BUILD", "build"), "tools",
                    "tool_svd")
rng = np.random.default_rng(20261129)
tmp = tempfile.mkdtemp(prefix="lbspec_")
NSTATS = 8
AT_S, AT_E, I90S, I99S, I90E, I99E, EFF, RENT = range(NSTATS)
GAUSS, POOL, LGAUSS, LPOOL, SVDPV, SVDP = range(6)


def tool(*args):
    r = subprocess.run([TOOL] + [str(a) for a in args], capture_output=True, text=True)
    return r


def softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def curves(s, length):
    s = np.asarray(s, np.float64)
    c = np.ones(length)
    e = np.ones(length)
    r = min(len(s), length)
    if s.sum() > 0:
        c[:r] = np.cumsum(s)[:r] / s.sum()
        e[:r] = np.cumsum(s * s)[:r] / (s * s).sum()
    if len(s) <= length:
        c[len(s) - 1:] = 1
        e[len(s) - 1:] = 1
    return c, e


def first_reach(curve, level):
    i = np.nonzero(curve >= level)[0]
    return (i[0] + 1) if len(i) else len(curve)


def eff_rank(s):
    s = np.asarray(s, np.float64)
    p = s / s.sum()
    p = p[p > 0]
    return np.exp(-(p * np.log(p)).sum())


def row_entropy(P):
    P = np.asarray(P, np.float64)
    if P.shape[1] == 1:
        return 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(P > 0, P * np.log(P), 0).sum(axis=1)
    return h.mean() / np.log(P.shape[1])


def stats_case(name, mats, index):
    mats = np.asarray(mats, np.float32)
    if mats.ndim == 2:
        mats = mats[None]
    B, R, C = mats.shape
    inp = os.path.join(tmp, name + ".npy")
    out = os.path.join(tmp, name)
    np.save(inp, mats)
    r = tool("stats", inp, index, out)
    if not check(r.returncode == 0, f"{name}: tool_svd stats exit {r.returncode}: {r.stderr}"):
        return
    sig = np.load(out + "_sigma.npy")
    cur = np.load(out + "_curves.npy")
    st = np.load(out + "_stats.npy")
    acc = np.load(out + "_acc.npy")
    accst = np.load(out + "_accstats.npy")
    want_st = []
    for b in range(B):
        ref = np.linalg.svd(mats[b].astype(np.float64), compute_uv=False)
        # sgesdd is backward stable in float32: each singular value is off by about
        # ε_f·‖P‖₂·(small factor), i.e. absolutely, relative to σ_max; the small ones
        # carry no relative accuracy, so the tolerance is 1e-4·σ_max, not relative.
        smax = max(ref[0], 1e-30)
        check_close(f"{name}[{b}] sigma", sig[b], ref, 1e-4 * smax, 0)
        check(np.all(np.diff(sig[b].astype(np.float64)) <= 0), f"{name}[{b}] sigma descending")
        # Curves from numpy's σ: differences come only from the σ differences above,
        # which move a normalised partial sum by at most ~1e-4.
        c, e = curves(ref, C)
        check_close(f"{name}[{b}] sigma curve", cur[b, 0], c, 2e-4, 0)
        check_close(f"{name}[{b}] energy curve", cur[b, 1], e, 2e-4, 0)
        check(cur[b, 0, -1] == 1.0 and cur[b, 1, -1] == 1.0, f"{name}[{b}] curves end at 1")
        check(np.all(np.diff(cur[b, 0]) >= 0) and np.all(np.diff(cur[b, 1]) >= 0),
              f"{name}[{b}] curves non-decreasing")
        # Indices, effective rank: the same σ (ours) through numpy in float64, so the
        # only difference is summation order (1e-12) and thresholds cannot flip.
        c2, e2 = curves(sig[b], C)
        ws = [c2[index - 1], e2[index - 1], first_reach(c2, 0.9), first_reach(c2, 0.99),
              first_reach(e2, 0.9), first_reach(e2, 0.99), eff_rank(sig[b]), row_entropy(mats[b])]
        want_st.append(ws)
        check_close(f"{name}[{b}] stats", st[b], np.array(ws), 1e-9, 1e-9)
        # effective rank with numpy's own σ: tolerance from the 1e-4·σ_max above.
        check_close(f"{name}[{b}] eff rank vs numpy sigma", st[b, EFF], eff_rank(ref), 0, 2e-3)
    # The streaming accumulator (Welford) against numpy's two-pass mean/std (ddof=1)
    # of the per-matrix curves the tool returned: 1e-9 covers the order of summation.
    ddof = 1 if B > 1 else 0
    check_close(f"{name} acc sigma mean", acc[0], cur[:, 0].mean(axis=0), 1e-9, 1e-9)
    check_close(f"{name} acc energy mean", acc[2], cur[:, 1].mean(axis=0), 1e-9, 1e-9)
    sd = cur.std(axis=0, ddof=ddof) if B > 1 else np.zeros((2, C))
    check_close(f"{name} acc sigma std", acc[1], sd[0], 1e-9, 1e-7)
    check_close(f"{name} acc energy std", acc[3], sd[1], 1e-9, 1e-7)
    ws = np.array(want_st)
    check_close(f"{name} acc stats mean", accst[:, 0], ws.mean(axis=0), 1e-9, 1e-9)
    check_close(f"{name} acc stats std", accst[:, 1],
                ws.std(axis=0, ddof=1) if B > 1 else np.zeros(NSTATS), 1e-9, 1e-7)
    return sig


# Singular values: edge sizes, odd sizes, rank-deficient, identity, softmax rows.
stats_case("one", [[3.5]], 1)
stats_case("row", rng.normal(size=(1, 5)), 1)
stats_case("col", rng.normal(size=(5, 1)), 1)
stats_case("wide", rng.normal(size=(7, 13)), 3)
stats_case("tall", rng.normal(size=(13, 7)), 7)
stats_case("identity", np.eye(33), 8)
s = stats_case("uniform", np.full((3, 100, 100), 0.01), 25)  # uniform rows: rank 1, σ₁ = 1
if s is not None:
    check_close("uniform rank 1: sigma_1", s[:, 0], np.ones(3), 0, 1e-5)
    check(np.all(np.abs(s[:, 1:]) < 1e-5), "uniform rank 1: the rest ~0")
stats_case("softmax", softmax(rng.normal(0, 3, size=(6, 64, 64))), 16)
stats_case("softmax_odd", softmax(rng.normal(0, 2, size=(3, 129, 129))), 33)
stats_case("onehot", np.eye(17)[rng.permutation(17)], 4)  # permutation: full rank, entropy 0

# Right singular vectors: orthonormal rows, ‖P v_i‖ = σ_i, P = Σ σ u vᵀ reconstructs.
P = softmax(rng.normal(0, 2, size=(37, 37))).astype(np.float32)
np.save(os.path.join(tmp, "right.npy"), P)
r = tool("right", os.path.join(tmp, "right.npy"), os.path.join(tmp, "right"))
if check(r.returncode == 0, f"right: exit {r.returncode} {r.stderr}"):
    sig = np.load(os.path.join(tmp, "right_sigma.npy")).astype(np.float64)
    vt = np.load(os.path.join(tmp, "right_vt.npy")).astype(np.float64)
    # float32 singular vectors are orthonormal to a few ε_f·n.
    check_close("vt orthonormal", vt @ vt.T, np.eye(37), 1e-5, 0)
    check_close("|P v_i| = sigma_i", np.linalg.norm(P.astype(np.float64) @ vt.T, axis=0), sig,
                1e-5 * sig[0], 0)

# Bad input: a NaN is refused with a message, not fed to LAPACK.
bad = np.ones((4, 4), np.float32)
bad[2, 1] = np.nan
np.save(os.path.join(tmp, "nan.npy"), bad)
r = tool("stats", os.path.join(tmp, "nan.npy"), 1, os.path.join(tmp, "nan"))
check(r.returncode != 0 and "non-finite" in r.stderr, f"NaN refused: {r.returncode} {r.stderr}")
check(not os.path.exists(os.path.join(tmp, "nan_sigma.npy")), "NaN: no output")


# ---- projection error ----
def pe_ref(P, q, k, v, ks, Rs, real_m):
    P, q, k, v = (np.asarray(a, np.float64) for a in (P, q, k, v))
    m, d = v.shape
    PV = P @ v
    npv = np.linalg.norm(PV)
    U, S, Vt = np.linalg.svd(P)
    out = np.zeros((len(ks), 6))
    for j, kk in enumerate(ks):
        R = Rs[j].astype(np.float64)
        out[j, GAUSS] = np.linalg.norm(PV - P @ R.T @ R @ v) / npv
        out[j, LGAUSS] = np.linalg.norm(PV - softmax(q @ (R @ k).T / np.sqrt(d)) @ (R @ v)) / npv
        kp = min(kk, m)
        M = np.zeros((kp, m))
        for b in range(kp):
            lo, hi = b * m // kp, (b + 1) * m // kp
            M[b, lo:hi] = 1.0 / (hi - lo)
        S_ = (M > 0).astype(np.float64)
        out[j, POOL] = np.linalg.norm(PV - (P @ S_.T) @ (M @ v)) / npv
        out[j, LPOOL] = np.linalg.norm(PV - softmax(q @ (M @ k).T / np.sqrt(d)) @ (M @ v)) / npv
        Pk = (U[:, :kk] * S[:kk]) @ Vt[:kk]
        out[j, SVDPV] = np.linalg.norm(PV - Pk @ v) / npv
        out[j, SVDP] = np.linalg.norm(P - Pk) / np.linalg.norm(P)  # directly, not the tail formula
    return out


def pe_case(name, m, d, ks, seed, n_full=None, scale=1.0):
    q = rng.normal(0, scale, size=(m, d)).astype(np.float32)
    k = rng.normal(0, scale, size=(m, d)).astype(np.float32)
    v = rng.normal(size=(m, d)).astype(np.float32)
    P = softmax(q.astype(np.float64) @ k.T.astype(np.float64) / np.sqrt(d)).astype(np.float32)
    files = []
    for nm, a in (("P", P), ("Q", q), ("K", k), ("V", v)):
        f = os.path.join(tmp, f"{name}_{nm}.npy")
        np.save(f, a)
        files.append(f)
    out = os.path.join(tmp, name)
    extra = []
    real = np.arange(m)
    if n_full is not None:
        real = np.sort(rng.choice(n_full, m, replace=False)).astype(np.int32)
        np.save(out + "_real.npy", real)
        extra = [out + "_real.npy", n_full]
    r = tool("projerr", *files, ",".join(map(str, ks)), seed, 1, out, *extra)
    if not check(r.returncode == 0, f"{name}: projerr exit {r.returncode}: {r.stderr}"):
        return None
    err = np.load(out + "_err.npy")
    Rs = [np.load(f"{out}_R{kk}.npy")[:, real] for kk in ks]
    for kk, R in zip(ks, Rs):
        if R.size < 200:  # too few entries for a meaningful spread
            continue
        check_close(f"{name} R{kk} ~ N(0,1/k) scale", R.std() * np.sqrt(kk), 1.0, 0.25, 0)
    ref = pe_ref(P, q, k, v, ks, Rs, m)
    # float32 products of O(1) numbers over m terms: relative residuals ~1e-7·√m, so
    # an error near 0 is matched within 1e-4 absolute and larger ones within 1e-3
    # relative (the Gaussian and softmax paths amplify rounding by at most ~k).
    check_close(f"{name} errors vs numpy float64", err, ref, 1e-4, 1e-3)
    return err


e = pe_case("pe_small", 48, 8, [1, 5, 16, 48], 7)
if e is not None:
    check(np.all(np.abs(e[-1, [POOL, LPOOL, SVDPV, SVDP]]) < 1e-4),
          "k = m: mean pooling, pooled Linformer and rank-m SVD are exact")
    check(np.all(np.diff(e[:, SVDP]) <= 1e-7) and np.all(np.diff(e[:, SVDPV]) <= 1e-6),
          "Eckart-Young error non-increasing in k")
pe_case("pe_odd", 37, 5, [3, 8, 37], 11, scale=2.0)
pe_case("pe_one", 1, 3, [1], 3)
pe_case("pe_padded", 40, 8, [4, 16, 40, 64], 5, n_full=64)  # k past the real keys: allowed
# Theorem 1 in practice: the Gaussian error shrinks as k grows, on average over seeds.
errs = np.array([pe_case(f"pe_shrink{s}", 128, 16, [4, 16, 64], 100 + s)[:, GAUSS]
                 for s in range(4)])
check(np.all(np.diff(errs.mean(axis=0)) < 0), f"Gaussian error shrinks with k: {errs.mean(axis=0)}")

summary()
