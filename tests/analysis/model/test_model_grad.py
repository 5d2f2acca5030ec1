"""The whole model's MLM gradient (lb_mlm_step, through tests/analysis/model/tool_grad.c) against
float64 numpy finite differences of the loss (tests/lib/hf_tiny.py mlm_loss), for full
attention and Linformer in every sharing mode (learned E/F), RoBERTa and BERT; plus
checkpoints written by lb_model_save reproduced by the numpy forward.

Tolerances (why): the C gradient is float32 through two layers, the head and a
30-way softmax; float32 rounding (2^-24 ≈ 6e-8 per operation, grown by depth and
sums of ~10..50 terms) leaves errors ~1e-6 of the largest gradient entries. The
finite differences are float64 central differences with step 1e-5: truncation
~1e-10·|f'''|, rounding ~1e-16/1e-5 = 1e-11, negligible. So each entry must satisfy
|g − fd| <= 2e-5·max|g of its tensor| + 1e-3·|fd| (atol scaled by the tensor so a
tiny tensor is not judged by another's scale, rtol for the large entries), plus
1e-9 absolute: the key biases' gradient is exactly 0 in exact arithmetic (softmax is
invariant to a shift of all scores of a row), which float leaves at ~1e-11. A
directional derivative over ALL parameters at once (random unit-variance direction)
must agree to 1e-4 relative. The loss itself: float32 forward vs float64, rtol 1e-5.
"""
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../lib"))
import hf_tiny as H  # noqa: E402
from lbtest import check, check_close, summary, BUILD  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
TOOL = os.path.join(ROOT, BUILD, "tools", "tool_grad")
FWD = os.path.join(ROOT, BUILD, "tools", "tool_forward")
ENV = dict(os.environ, OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE", "Haswell"))
FD_STEP = 1e-5


def tool(args):
    return subprocess.run([TOOL] + [str(a) for a in args], capture_output=True, text=True, env=ENV)


def write_inputs(path, ids, mask, labels):
    B, n = ids.shape
    with open(path, "wb") as f:
        f.write(struct.pack("<ii", B, n))
        f.write(ids.astype("<i4").tobytes())
        f.write(mask.astype("<f4").tobytes())
        f.write(labels.astype("<i4").tobytes())


def make_batch(rng, kind, V, B, n, pad_tail):
    pad = 1 if kind == "roberta" else 0
    ids = rng.integers(3, V, (B, n))
    mask = np.ones((B, n))
    if pad_tail:
        ids[-1, n - pad_tail:] = pad
        mask[-1, n - pad_tail:] = 0
    labels = np.where((rng.random((B, n)) < 0.45) & (mask > 0), rng.integers(0, V, (B, n)), -100)
    labels[0, 1] = 5  # at least one prediction
    return ids, mask, labels


def case(t, name, kind="roberta", attn="full", k=0, share="none", lin_n=0, B=2, n=6, pad_tail=2,
         threads=2, seed=1):
    V, h, L, Hh, f = 30, 8, 2, 2, 12
    ck = os.path.join(t, name)
    r = tool(["init", ck, kind, V, h, L, Hh, f, 12, attn, k, share, lin_n, seed, 0.1, "f32"])
    if not check(r.returncode == 0, f"{name}: init: {r.stderr.strip()}"):
        return
    w, cfg = H.load_checkpoint(ck)
    rng = np.random.default_rng(seed)
    ids, mask, labels = make_batch(rng, kind, V, B, n, pad_tail)
    inp, gpath = os.path.join(t, name + ".in"), os.path.join(t, name + ".grad")
    write_inputs(inp, ids, mask, labels)
    r = tool(["step", ck, inp, gpath, threads])
    if not check(r.returncode == 0, f"{name}: step: {r.stderr.strip()}"):
        return
    parts = r.stdout.split()
    loss_c, npred_c, corr_c = float(parts[1]), int(parts[3]), int(parts[5])
    loss, npred, corr = H.mlm_loss(w, cfg, ids, mask, labels)
    check_close(f"{name}: loss", loss_c, loss, 0, 1e-5)
    check(npred_c == npred and corr_c == corr, f"{name}: n_pred {npred_c}/{npred} correct {corr_c}/{corr}")
    g = H.read_safetensors(gpath)[0]
    gw = {}
    for nm, a in g.items():  # gradient under the canonical names load_checkpoint uses
        gw[H.canonical(nm)] = a
    check(set(gw) == set(w), f"{name}: gradient tensors {sorted(set(gw) ^ set(w))}")

    def lossf(ww):
        return H.mlm_loss(ww, cfg, ids, mask, labels)[0]

    worst = 0.0
    for nm in sorted(w):
        a = w[nm]
        flat = a.reshape(-1)
        picks = rng.choice(flat.size, size=min(flat.size, 5), replace=False)
        scale = np.abs(gw[nm]).max() + 1e-12
        fds, gs = [], []
        for p in picks:
            old = flat[p]
            flat[p] = old + FD_STEP
            lp = lossf(w)
            flat[p] = old - FD_STEP
            lm = lossf(w)
            flat[p] = old
            fds.append((lp - lm) / (2 * FD_STEP))
            gs.append(gw[nm].reshape(-1)[p])
        fds, gs = np.array(fds), np.array(gs)
        worst = max(worst, float((np.abs(gs - fds) / scale).max()))
        check_close(f"{name}: grad {nm}", gs, fds, 2e-5 * scale + 1e-9, 1e-3)
    # every parameter at once: the directional derivative along a random direction
    u = {nm: rng.normal(0, 1, a.shape) for nm, a in w.items()}
    wp = {nm: a + FD_STEP * u[nm] for nm, a in w.items()}
    wm = {nm: a - FD_STEP * u[nm] for nm, a in w.items()}
    dd = (lossf(wp) - lossf(wm)) / (2 * FD_STEP)
    gu = sum(float((gw[nm] * u[nm]).sum()) for nm in w)
    check_close(f"{name}: directional derivative", gu, dd, 0, 1e-4)
    if os.environ.get("VERBOSE"):
        print(f"{name}: loss {loss_c:.6f} worst |g-fd|/max|g| {worst:.2e}")
    # the checkpoint we wrote, run by the encoder (tool_forward: the dump/spectrum
    # forward) and by the numpy oracle: same hidden states (test_model.py's bounds)
    np.save(os.path.join(t, "ids.npy"), ids.astype(np.int32))
    np.save(os.path.join(t, "mask.npy"), mask.astype(np.float32))
    r = subprocess.run([FWD, ck, os.path.join(t, "ids.npy"), os.path.join(t, "h.npy"), "--mask",
                        os.path.join(t, "mask.npy")], capture_output=True, text=True, env=ENV)
    if check(r.returncode == 0, f"{name}: tool_forward: {r.stderr.strip()}"):
        check_close(f"{name}: hidden states of the saved checkpoint vs numpy",
                    np.load(os.path.join(t, "h.npy")), H.forward(w, cfg, ids, mask)[0], 1e-5, 1e-5)


def dtypes(t):
    """BF16/F16 checkpoints hold exactly numpy's round-to-nearest-even of the F32 one
    (same seed); the header is padded to 8 and carries the metadata."""
    ws = {}
    for dt in ("f32", "bf16", "f16"):
        ck = os.path.join(t, "dt-" + dt)
        r = tool(["init", ck, "roberta", 30, 8, 2, 2, 12, 12, "linformer", 3, "kv", 6, 4, 0.1, dt])
        if not check(r.returncode == 0, f"init {dt}: {r.stderr.strip()}"):
            return
        path = os.path.join(ck, "model.safetensors")
        ws[dt], kinds, meta = H.read_safetensors(path)
        check(set(kinds.values()) == {dt.upper()}, f"{dt}: dtypes {set(kinds.values())}")
        check(meta == {"format": "pt", "producer": "tool_grad"}, f"{dt}: metadata {meta}")
        with open(path, "rb") as f:
            hn = struct.unpack("<Q", f.read(8))[0]
        check(hn % 8 == 0, f"{dt}: header length {hn} is a multiple of 8")
        cfg = H.read_config(ck)
        check(cfg["attention_type"] == "linformer" and cfg["linformer_k"] == 3 and
              cfg["linformer_share"] == "kv" and cfg["linformer_seq_len"] == 6 and
              cfg["layer_norm_eps"] == 1e-05 and cfg["architectures"] == ["RobertaForMaskedLM"],
              f"{dt}: config.json {cfg}")
    if len(ws) < 3:
        return
    bad_b = bad_h = 0
    for nm, a in ws["f32"].items():
        bits = H._bf16_bits(a)
        want_b = (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        bad_b += int((ws["bf16"][nm] != want_b).sum())
        bad_h += int((ws["f16"][nm] != a.astype(np.float32).astype(np.float16).astype(np.float64)).sum())
    check(bad_b == 0, f"BF16 values equal numpy's rounding ({bad_b} differ)")
    check(bad_h == 0, f"F16 values equal numpy's rounding ({bad_h} differ)")


def main():
    with tempfile.TemporaryDirectory() as t:
        dtypes(t)
        case(t, "full")
        case(t, "full-1thread", threads=1, seed=2)
        case(t, "bert", kind="bert")
        case(t, "lin-none", attn="linformer", k=3, share="none", lin_n=6)
        case(t, "lin-headwise-slice", attn="linformer", k=2, share="headwise", lin_n=8)
        case(t, "lin-kv", attn="linformer", k=4, share="kv", lin_n=6)
        case(t, "lin-layerwise", attn="linformer", k=3, share="layerwise", lin_n=6)
        case(t, "lin-layerwise-slice-k=n", attn="linformer", k=6, share="layerwise", lin_n=9, pad_tail=0)
    summary()


if __name__ == "__main__":
    main()
