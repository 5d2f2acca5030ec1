"""The encoder against an independent float64 numpy implementation of the HuggingFace
forward (tests/lib/hf_tiny.py), through tests/analysis/model/tool_forward.c on tiny checkpoints in HF
layout, plus bad checkpoints and inputs that must be refused with a message naming
the problem and no output file."""
import json
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
TOOL = os.path.join(ROOT, BUILD, "tools", "tool_forward")

# Tolerances. The C encoder computes in float32 (sgemm, float LayerNorm output) what
# the oracle computes in float64; with hidden 16, FFN 24 and 2 layers the observed
# error is ~1e-6 of values O(1). rtol 1e-5 is the brief's bound; atol 1e-5 covers
# elements that are near 0 by cancellation (LayerNorm outputs, q/k/v), where relative
# error is meaningless. Probabilities lie in [0, 1]: atol 1e-6.
RTOL, ATOL, PATOL = 1e-5, 1e-5, 1e-6


def run_tool(args):
    return subprocess.run([TOOL] + [str(a) for a in args], capture_output=True, text=True,
                          env=dict(os.environ, OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE",
                                                                               "Haswell")))


def forward_c(ck, t, ids, mask=None, types=None, extra=(), qkv=False):
    np.save(os.path.join(t, "ids.npy"), ids)
    args = [ck, os.path.join(t, "ids.npy"), os.path.join(t, "h.npy"), "--probs", os.path.join(t, "p.npy")]
    if mask is not None:
        np.save(os.path.join(t, "mask.npy"), mask)
        args += ["--mask", os.path.join(t, "mask.npy")]
    if types is not None:
        np.save(os.path.join(t, "types.npy"), types)
        args += ["--types", os.path.join(t, "types.npy")]
    if qkv:
        args += ["--qkv", t]
    r = run_tool(args + list(extra))
    if not check(r.returncode == 0 and not r.stderr,
                 f"tool_forward failed ({r.returncode}): {r.stderr.strip()}"):
        return None
    out = [np.load(os.path.join(t, "h.npy")), np.load(os.path.join(t, "p.npy"))]
    if qkv:
        out += [np.load(os.path.join(t, f"{c}.npy")) for c in "qkv"]
    return out


def make_ids(cfg, B, n, seed, pad_from=None):
    """Random ids avoiding the special low ids; row 1 padded from pad_from on."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(4, cfg["vocab_size"], (B, n)).astype(np.int32)
    if pad_from is not None and B > 1:
        ids[1, pad_from:] = cfg["pad_token_id"]
    return ids


def test_oracle(t):
    cases = [("roberta", True, "F32", False), ("roberta", False, "F16", False),
             ("roberta", True, "BF16", True), ("bert", True, "F32", True),
             ("bert", False, "BF16", False), ("bert", True, "F16", False)]
    for kind, prefix, dt, gb in cases:
        name = f"{kind} prefix={prefix} {dt} gamma_beta={gb}"
        ck = os.path.join(t, f"ck_{kind}_{prefix}_{dt}_{gb}")
        w = H.write_checkpoint(ck, kind=kind, prefix=prefix, dtype=dt, gamma_beta=gb, seed=3)
        cfg = H.read_config(ck)
        # odd n, padding in one row, a one-token row elsewhere in the suite
        ids = make_ids(cfg, 3, 13, seed=5, pad_from=6)
        mask = (ids != cfg["pad_token_id"]).astype(np.float32)
        types = None
        if kind == "bert":
            types = np.zeros_like(ids)
            types[:, 7:] = 1
        got = forward_c(ck, t, ids, mask, types, qkv=True)
        if got is None:
            continue
        h, P, q, k, v = got
        rh, rP, rq, rk, rv = H.forward(w, cfg, ids, mask, types)
        check_close(f"{name}: hidden", h, rh, ATOL, RTOL)
        check_close(f"{name}: probs", P, rP, PATOL, RTOL)
        check_close(f"{name}: q", q, rq, ATOL, RTOL)
        check_close(f"{name}: k", k, rk, ATOL, RTOL)
        check_close(f"{name}: v", v, rv, ATOL, RTOL)
        check_close(f"{name}: rows of P sum to 1", P.sum(-1), np.ones(P.shape[:-1]), 1e-5, 0)
        check(np.all(P[:, 1, :, :, 6:] == 0), f"{name}: padded keys get probability exactly 0")


def test_sizes(t):
    ck = os.path.join(t, "ck_sizes")
    w = H.write_checkpoint(ck, kind="roberta", seed=9, hidden=12, heads=3, ffn=20, layers=3,
                           max_pos=40)
    cfg = H.read_config(ck)
    for B, n in ((1, 1), (2, 1), (1, 37), (4, 5)):  # n = 37 is the longest: 37 + pad 1 + 1 = 39 < 40
        ids = make_ids(cfg, B, n, seed=B * 100 + n)
        got = forward_c(ck, t, ids)
        if got is None:
            continue
        rh, rP = H.forward(w, cfg, ids)[:2]
        check_close(f"B={B} n={n}: hidden", got[0], rh, ATOL, RTOL)
        check_close(f"B={B} n={n}: probs", got[1], rP, PATOL, RTOL)
    # padding is invisible: a padded row's real tokens equal the same row run alone
    ids = make_ids(cfg, 2, 11, seed=4, pad_from=5)
    mask = (ids != cfg["pad_token_id"]).astype(np.float32)
    full = forward_c(ck, t, ids, mask)
    alone = forward_c(ck, t, ids[1:2, :5].copy())
    if full is not None and alone is not None:
        check_close("padded row == unpadded row", full[0][1, :5], alone[0][0], 1e-5, 1e-5)
    # large logits: scale query/key weights so scores reach hundreds
    w2 = dict(w)
    for i in range(cfg["num_hidden_layers"]):
        for nm in ("query", "key"):
            w2[f"encoder.layer.{i}.attention.self.{nm}.weight"] = w[f"encoder.layer.{i}.attention.self.{nm}.weight"] * 8
    ck2 = os.path.join(t, "ck_large")
    os.makedirs(ck2, exist_ok=True)
    with open(os.path.join(ck2, "config.json"), "w") as f:
        json.dump(cfg, f)
    H.write_safetensors(os.path.join(ck2, "model.safetensors"),
                        {"roberta." + k: ("F32", a) for k, a in w2.items()})
    w2 = {k: a.astype(np.float32).astype(np.float64) for k, a in w2.items()}
    ids = make_ids(cfg, 2, 9, seed=8, pad_from=4)
    mask = (ids != cfg["pad_token_id"]).astype(np.float32)
    got = forward_c(ck2, t, ids, mask)
    if got is not None:
        rh, rP = H.forward(w2, cfg, ids, mask)[:2]
        check(np.all(np.isfinite(got[0])) and rP.max() > 0.999, "large logits: finite, peaked P")
        # peaked softmax amplifies float32 score error (|Δs| ~ 1e-5 at |s| ~ 300): looser
        check_close("large logits: probs", got[1], rP, 1e-4, 1e-4)
        check_close("large logits: hidden", got[0], rh, 1e-4, 1e-4)


def test_methods(t):
    ck = os.path.join(t, "ck_methods")
    w = H.write_checkpoint(ck, kind="roberta", seed=11)
    cfg = H.read_config(ck)
    ids = make_ids(cfg, 2, 16, seed=12, pad_from=10)
    mask = (ids != cfg["pad_token_id"]).astype(np.float32)
    np.save(os.path.join(t, "ids.npy"), ids)
    np.save(os.path.join(t, "mask.npy"), mask)
    r = run_tool([ck, os.path.join(t, "ids.npy"), os.path.join(t, "hs.npy"), "--method", "stream",
                  "--mask", os.path.join(t, "mask.npy")])
    if check(r.returncode == 0, f"stream: {r.stderr.strip()}"):
        rh = H.forward(w, cfg, ids, mask)[0]
        check_close("stream attention: hidden", np.load(os.path.join(t, "hs.npy")), rh, ATOL, RTOL)
    prev = None
    for share in ("none", "headwise", "kv", "layerwise"):
        got = forward_c(ck, t, ids, mask, extra=["--method", "linformer", "--k", "4", "--share", share,
                                                 "--seed", "7"])
        if got is None:
            continue
        h, P = got
        check(P.shape == (2, 2, 4, 16, 4), f"linformer {share}: probs shape {P.shape}")
        check_close(f"linformer {share}: rows sum to 1", P.sum(-1), np.ones(P.shape[:-1]), 1e-5, 0)
        check(np.all(np.isfinite(h)), f"linformer {share}: finite")
        again = forward_c(ck, t, ids, mask, extra=["--method", "linformer", "--k", "4", "--share",
                                                   share, "--seed", "7"])
        if again is not None:
            check(np.array_equal(again[0], h), f"linformer {share}: deterministic in the seed")
        if prev is not None:
            check(not np.allclose(prev, h), f"linformer {share}: differs from the previous mode")
        prev = h
    r = run_tool([ck, os.path.join(t, "ids.npy"), os.path.join(t, "hx.npy"), "--method", "linformer",
                  "--k", "17"])
    check(r.returncode != 0 and "k" in r.stderr and not os.path.exists(os.path.join(t, "hx.npy")),
          f"k > n refused: {r.stderr.strip()}")


def test_npy_forms(t):
    """ids as int64 in a v2.0 file and the mask as ints: the reader takes numpy's forms."""
    ck = os.path.join(t, "ck_npy")
    w = H.write_checkpoint(ck, kind="bert", seed=2)
    cfg = H.read_config(ck)
    ids = make_ids(cfg, 2, 7, seed=1, pad_from=3).astype(np.int64)
    p = os.path.join(t, "ids2.npy")
    with open(p, "wb") as f:
        np.lib.format.write_array(f, ids, version=(2, 0))
    mask = (ids != 0).astype(np.int32)
    np.save(os.path.join(t, "m32.npy"), mask)
    r = run_tool([ck, p, os.path.join(t, "h2.npy"), "--mask", os.path.join(t, "m32.npy")])
    if check(r.returncode == 0, f"v2 int64 ids: {r.stderr.strip()}"):
        h = np.load(os.path.join(t, "h2.npy"))
        check(h.dtype == np.float32 and h.shape == (2, 7, 16), "output dtype/shape as numpy reads it")
        check_close("v2 int64 ids: hidden", h, H.forward(w, cfg, ids, mask)[0], ATOL, RTOL)


def read_st(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]), b[8 + n:]


def expect_refused(t, name, ck, want, ids=None, extra=()):
    if ids is None:
        ids = np.array([[5, 6, 7]], dtype=np.int32)
    ip = os.path.join(t, "bad_ids.npy")
    np.save(ip, ids)
    out = os.path.join(t, "bad_h.npy")
    pp = os.path.join(t, "bad_p.npy")
    r = run_tool([ck, ip, out, "--probs", pp] + list(extra))
    ok = r.returncode not in (0,) and r.returncode < 128  # < 128: not killed by a signal
    check(ok, f"{name}: exit {r.returncode}, want a sysexits code")
    # under SAN=1 a sanitizer report also exits 1: a refusal must come without one
    check("Sanitizer" not in r.stderr and "runtime error" not in r.stderr,
          f"{name}: sanitizer report: {r.stderr[-2000:]}")
    check(want.lower() in r.stderr.lower(), f"{name}: message {r.stderr.strip()!r} lacks {want!r}")
    check(not os.path.exists(out) and not os.path.exists(pp), f"{name}: left an output file")
    left = [f for f in os.listdir(t) if ".tmp." in f]
    check(not left, f"{name}: left temporary files {left}")


def test_bad(t):
    base = os.path.join(t, "ck_base")
    H.write_checkpoint(base, kind="roberta", seed=1)
    st = os.path.join(base, "model.safetensors")
    hdr0, data0 = read_st(st)
    raw = open(st, "rb").read()

    def variant(name, hdr=None, data=None, rawbytes=None, cfg=None):
        d = os.path.join(t, "v_" + name)
        os.makedirs(d, exist_ok=True)
        c = H.read_config(base)
        if cfg:
            c.update(cfg)
            c = {k: v for k, v in c.items() if v is not None}
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(c, f)
        p = os.path.join(d, "model.safetensors")
        if rawbytes is not None:
            open(p, "wb").write(rawbytes)
        else:
            H.write_safetensors(p, {}, header_override=hdr if hdr is not None else hdr0,
                                raw=data if data is not None else data0)
        return d

    def edit(fn):
        h = json.loads(json.dumps(hdr0))
        fn(h)
        return h

    wq = "roberta.encoder.layer.0.attention.self.query.weight"
    wk = "roberta.encoder.layer.1.attention.self.key.bias"
    expect_refused(t, "truncated file", variant("trunc", rawbytes=raw[:-10]), "truncated")
    expect_refused(t, "header longer than file",
                   variant("hlong", rawbytes=struct.pack("<Q", len(raw)) + raw[8:]), "runs past")
    expect_refused(t, "overlapping offsets", variant("overlap", hdr=edit(
        lambda h: h[wq]["data_offsets"].__setitem__(0, h[wq]["data_offsets"][0] - 4) or
        h[wq]["data_offsets"].__setitem__(1, h[wq]["data_offsets"][1] - 4))), "overlap")
    expect_refused(t, "out-of-bounds offsets", variant("oob", data=data0[:-8]), "truncated")
    expect_refused(t, "holey offsets", variant("hole", data=data0 + b"\0" * 8, hdr=edit(
        lambda h: [h[k]["data_offsets"].__setitem__(j, h[k]["data_offsets"][j] + 8)
                   for k in h if k != "__metadata__" and h[k]["data_offsets"][0] >= 4096
                   for j in (0, 1)])), "hole")
    expect_refused(t, "unknown dtype", variant("dtype", hdr=edit(
        lambda h: h[wq].__setitem__("dtype", "F24"))), "unknown dtype")
    expect_refused(t, "shape vs byte size", variant("shape", hdr=edit(
        lambda h: h[wq].__setitem__("shape", [16, 15]))), "data_offsets span")
    expect_refused(t, "non-float tensor", variant("i32", hdr=edit(
        lambda h: h[wq].__setitem__("dtype", "I32"))), "only F32, F16, BF16")
    # rename the tensor (its bytes stay, so the file is valid) to test the lookup alone
    h_missing = edit(lambda h: (h.pop(wk), h.__setitem__("zz_pad", {
        "dtype": "F32", "shape": [16], "data_offsets": hdr0[wk]["data_offsets"]})))
    expect_refused(t, "missing tensor", variant("missing", hdr=h_missing),
                   "encoder.layer.1.attention.self.key.bias' not found")
    expect_refused(t, "config disagrees with tensors (hidden)",
                   variant("hidden", cfg={"hidden_size": 32}), "disagree")
    expect_refused(t, "config disagrees (vocab)", variant("vocab", cfg={"vocab_size": 60}),
                   "expected (60, 16)")
    expect_refused(t, "config disagrees (layers)", variant("layers", cfg={"num_hidden_layers": 3}),
                   "encoder.layer.2.")
    expect_refused(t, "hidden % heads", variant("heads", cfg={"num_attention_heads": 3}),
                   "not a multiple of num_attention_heads")
    expect_refused(t, "absurd hidden", variant("absurd", cfg={"hidden_size": 10 ** 9}), "hidden_size")
    expect_refused(t, "unknown model_type", variant("gpt", cfg={"model_type": "gpt2"}), "model_type")
    expect_refused(t, "relu", variant("relu", cfg={"hidden_act": "relu"}), "hidden_act")
    expect_refused(t, "missing field", variant("nofield", cfg={"vocab_size": None}),
                   "\"vocab_size\" is missing")
    expect_refused(t, "string field", variant("strfield", cfg={"hidden_size": "16"}),
                   "\"hidden_size\" must be an integer")
    expect_refused(t, "non-positive", variant("zero", cfg={"num_hidden_layers": 0}), "num_hidden_layers")
    expect_refused(t, "NaN weight", variant("nan", data=data0[:hdr0[wq]["data_offsets"][0]] +
                                            struct.pack("<f", float("nan")) +
                                            data0[hdr0[wq]["data_offsets"][0] + 4:]), "NaN")
    cfgbad = os.path.join(t, "v_cfgjson")
    os.makedirs(cfgbad, exist_ok=True)
    open(os.path.join(cfgbad, "config.json"), "w").write("{\"model_type\": \"roberta\", ")
    expect_refused(t, "config not JSON", cfgbad, "config.json")
    expect_refused(t, "missing model dir", os.path.join(t, "nope"), "config.json")
    nost = os.path.join(t, "v_nost")
    os.makedirs(nost, exist_ok=True)
    open(os.path.join(nost, "config.json"), "w").write(json.dumps(H.read_config(base)))
    expect_refused(t, "missing model.safetensors", nost, "model.safetensors: not found")
    expect_refused(t, "id past the vocabulary", base, "ids[0][2] = 50 is outside the vocabulary",
                   ids=np.array([[5, 6, 50]], dtype=np.int32))
    expect_refused(t, "negative id", base, "ids[0][0] = -1",
                   ids=np.array([[-1, 6, 7]], dtype=np.int32))
    expect_refused(t, "n past the position table", base, "max_position_embeddings = 40",
                   ids=np.full((1, 39), 5, dtype=np.int32))
    expect_refused(t, "float ids", base, "integer", ids=np.ones((1, 3), dtype=np.float32))
    expect_refused(t, "1-D ids", base, "shape must be (B,n)", ids=np.ones(3, dtype=np.int32))
    bert = os.path.join(t, "ck_bert_types")
    H.write_checkpoint(bert, kind="bert", seed=1)
    np.save(os.path.join(t, "tt.npy"), np.array([[0, 2, 1]], dtype=np.int32))
    expect_refused(t, "token type past type_vocab", bert, "token_types[0][1] = 2",
                   extra=["--types", os.path.join(t, "tt.npy")])
    np.save(os.path.join(t, "mk.npy"), np.array([[1, 0.5, 1]], dtype=np.float32))
    expect_refused(t, "mask not 0/1", bert, "mask[0][1] = 0.5",
                   extra=["--mask", os.path.join(t, "mk.npy")])
    np.save(os.path.join(t, "mk2.npy"), np.ones((1, 4), dtype=np.float32))
    expect_refused(t, "mask shape", bert, "matching the ids", extra=["--mask", os.path.join(t, "mk2.npy")])
    expect_refused(t, "bert n past positions", bert, "exceeds max_position_embeddings = 40",
                   ids=np.full((1, 41), 5, dtype=np.int32))


def main():
    if not check(os.access(TOOL, os.X_OK), f"{TOOL} not built"):
        summary()
    with tempfile.TemporaryDirectory() as t:
        test_oracle(t)
        test_sizes(t)
        test_methods(t)
        test_npy_forms(t)
        test_bad(t)
    summary()


if __name__ == "__main__":
    main()
