"""Tiny HuggingFace-layout checkpoints and a float64 numpy oracle of the HF forward.

Shared by the model tests (tests/analysis/model/test_model.py) and the spectrum tests; numpy only,
run with /usr/bin/python3. The interface below is stable:

  write_checkpoint(dirpath, kind="roberta"|"bert", prefix=True, dtype="F32"|"F16"|"BF16",
                   gamma_beta=False, seed=0, vocab=50, hidden=16, layers=2, heads=4,
                   ffn=24, max_pos=40, type_vocab=None) -> weights
      Writes dirpath/config.json and dirpath/model.safetensors. Returns a dict of
      float64 arrays under canonical names (no "roberta."/"bert." prefix, LayerNorm
      .weight/.bias), holding exactly the values stored (after rounding to F16/BF16),
      so the oracle sees what the C reader sees.
  read_config(dirpath) -> dict (the config.json written above)
  make_config(kind, vocab, hidden, layers, heads, ffn, max_pos, type_vocab) -> dict
  forward(weights, config, ids, mask=None, token_types=None)
      -> (hidden (B,n,hidden), probs (L,B,H,n,n), q, k, v (L,B,H,n,d)), all float64.
  positions(config, ids) -> (B,n) position ids as HuggingFace makes them.
  write_safetensors(path, tensors, metadata=None, raw=None)
      tensors: dict name -> (dtype, numpy array); raw: bytes appended as-is for bad-file
      tests (see the function).
  read_npy / write_npy are numpy's np.load / np.save; nothing special here.
  read_safetensors(path) -> (dict name -> float64 array, dict name -> dtype, metadata)
  canonical(name) -> the name without prefix, BERT head names as lm_head.*
  load_checkpoint(dirpath) -> (weights under canonical names, config): what
      lb_model_save writes (prefix stripped; BERT head names mapped to lm_head.*).
  mlm_loss(weights, config, ids, mask, labels) -> (mean CE over labels != -100,
      n_pred, n_correct): the RoBERTa MLM head (dense, GELU, LayerNorm, decoder tied
      to the word embeddings, lm_head.bias) on forward()'s output.
  Linformer (config "attention_type": "linformer"): forward() uses the learned
  encoder.layer.{i}.attention.self.linformer_E/_F (or encoder.linformer_E), first n
  columns, padding keys removed before projecting; probs are then (L,B,H,n,k).

Conventions of the oracle (HuggingFace BERT/RoBERTa, post-LayerNorm):
  RoBERTa positions: pad_id + 1 + (index among tokens whose id != pad_id); tokens equal
  to pad_id get position pad_id (create_position_ids_from_input_ids). BERT: 0..n-1.
  Attention mask: keys with mask 0 get probability exactly 0 (HF adds the most negative
  float, whose exp underflows to 0). A query whose keys are all padding gets all-zero
  probabilities — the lb_attn convention; HF would give a uniform row there, so tests
  should not compare such rows (they only occur for an all-padding sequence).
  GELU is the exact erf form (hidden_act "gelu").
"""
import json
import math
import os
import struct

import numpy as np

_DTYPE_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
               "I8": 1, "U8": 1, "BOOL": 1}

_erf = np.vectorize(math.erf, otypes=[np.float64])


def make_config(kind="roberta", vocab=50, hidden=16, layers=2, heads=4, ffn=24, max_pos=40,
                type_vocab=None):
    """The config.json dict HuggingFace would write for this shape."""
    roberta = kind == "roberta"
    if type_vocab is None:
        type_vocab = 1 if roberta else 2
    return {
        "architectures": ["RobertaForMaskedLM" if roberta else "BertForMaskedLM"],
        "model_type": kind,
        "vocab_size": vocab,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": max_pos,
        "type_vocab_size": type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-05 if roberta else 1e-12,
        "pad_token_id": 1 if roberta else 0,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "transformers_version": "4.30.0",
    }


def read_config(dirpath):
    with open(os.path.join(dirpath, "config.json")) as f:
        return json.load(f)


def layer_names(i):
    p = f"encoder.layer.{i}."
    return [p + s for s in (
        "attention.self.query.weight", "attention.self.query.bias",
        "attention.self.key.weight", "attention.self.key.bias",
        "attention.self.value.weight", "attention.self.value.bias",
        "attention.output.dense.weight", "attention.output.dense.bias",
        "attention.output.LayerNorm.weight", "attention.output.LayerNorm.bias",
        "intermediate.dense.weight", "intermediate.dense.bias",
        "output.dense.weight", "output.dense.bias",
        "output.LayerNorm.weight", "output.LayerNorm.bias")]


def _bf16_bits(x):
    """float -> bfloat16 bits, round to nearest even (as torch does)."""
    b = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    return b.astype(np.uint16)


def encode(arr, dtype):
    """(little-endian bytes, float64 values actually stored) of arr in dtype."""
    a = np.asarray(arr)
    if dtype == "F32":
        s = a.astype("<f4")
        return s.tobytes(), s.astype(np.float64)
    if dtype == "F64":
        s = a.astype("<f8")
        return s.tobytes(), s.astype(np.float64)
    if dtype == "F16":
        s = a.astype("<f2")
        return s.tobytes(), s.astype(np.float64)
    if dtype == "BF16":
        bits = _bf16_bits(a).astype("<u2")
        back = (bits.astype(np.uint32) << 16).view(np.float32)
        return bits.tobytes(), back.astype(np.float64)
    if dtype in ("I64", "I32", "I16", "I8", "U8"):
        np_t = {"I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1"}[dtype]
        s = a.astype(np_t)
        return s.tobytes(), s.astype(np.float64)
    raise ValueError(f"encode: dtype {dtype}")


def write_safetensors(path, tensors, metadata=None, raw=None, header_override=None):
    """Write a safetensors file the way the reference writer does: u64 header length,
    JSON header padded with spaces to a multiple of 8, then the tensors back to back in
    the order given. tensors: dict name -> (dtype, array). Returns the stored float64
    values by name.

    For bad-file tests: header_override (a dict) replaces the computed header, and raw
    (bytes) replaces the computed data buffer."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    chunks, stored, off = [], {}, 0
    for name, (dt, arr) in tensors.items():
        data, vals = encode(arr, dt)
        header[name] = {"dtype": dt, "shape": list(np.shape(arr)),
                        "data_offsets": [off, off + len(data)]}
        chunks.append(data)
        stored[name] = vals
        off += len(data)
    if header_override is not None:
        header = header_override
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    body = b"".join(chunks) if raw is None else raw
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        f.write(body)
    return stored


def random_weights(config, seed=0):
    """Canonical-name float64 weights. Scales are larger than HF's 0.02 so that the
    attention is far from uniform and a wrong kernel cannot hide behind flat rows."""
    rng = np.random.default_rng(seed)
    hd, ff = config["hidden_size"], config["intermediate_size"]
    w = {
        "embeddings.word_embeddings.weight": rng.normal(0, 1.0, (config["vocab_size"], hd)),
        "embeddings.position_embeddings.weight":
            rng.normal(0, 0.5, (config["max_position_embeddings"], hd)),
        "embeddings.token_type_embeddings.weight":
            rng.normal(0, 0.5, (config["type_vocab_size"], hd)),
        "embeddings.LayerNorm.weight": 1 + rng.normal(0, 0.1, hd),
        "embeddings.LayerNorm.bias": rng.normal(0, 0.1, hd),
    }
    shapes = {"query": (hd, hd), "key": (hd, hd), "value": (hd, hd),
              "attention.output.dense": (hd, hd), "intermediate.dense": (ff, hd),
              "output.dense": (hd, ff)}
    for i in range(config["num_hidden_layers"]):
        for name in layer_names(i):
            short = name[len(f"encoder.layer.{i}."):].rsplit(".", 1)
            base, kind = short[0], short[1]
            if "LayerNorm" in base:
                w[name] = (1 + rng.normal(0, 0.1, hd)) if kind == "weight" else rng.normal(0, 0.1, hd)
                continue
            key = base.replace("attention.self.", "")
            out_f, in_f = shapes[key]
            # 0.6/sqrt(in) keeps activations O(1) and attention logits O(1..3).
            scale = 1.5 / math.sqrt(in_f) if key in ("query", "key") else 0.6 / math.sqrt(in_f)
            w[name] = rng.normal(0, scale, (out_f, in_f)) if kind == "weight" \
                else rng.normal(0, 0.1, out_f)
    return w


def write_checkpoint(dirpath, kind="roberta", prefix=True, dtype="F32", gamma_beta=False, seed=0,
                     vocab=50, hidden=16, layers=2, heads=4, ffn=24, max_pos=40, type_vocab=None):
    """Write config.json + model.safetensors in HF layout; return the stored weights
    (float64, canonical names). Extra tensors HF checkpoints carry (position_ids buffer,
    pooler, MLM head) are included so that readers must ignore them."""
    os.makedirs(dirpath, exist_ok=True)
    config = make_config(kind, vocab, hidden, layers, heads, ffn, max_pos, type_vocab)
    with open(os.path.join(dirpath, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    w = random_weights(config, seed)
    pre = (kind + ".") if prefix else ""
    tensors = {}
    rng = np.random.default_rng(seed + 1000)
    # Unknown tensors first, so the needed ones do not sit at offset 0.
    tensors[pre + "embeddings.position_ids"] = ("I64", np.arange(max_pos).reshape(1, max_pos))
    for name, arr in w.items():
        out = name
        if gamma_beta and "LayerNorm" in name:
            out = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias",
                                                                               "LayerNorm.beta")
        tensors[pre + out] = (dtype, arr)
    tensors[pre + "pooler.dense.weight"] = (dtype, rng.normal(0, 0.1, (hidden, hidden)))
    if prefix:
        head = "lm_head.bias" if kind == "roberta" else "cls.predictions.bias"
        tensors[head] = (dtype, rng.normal(0, 0.1, vocab))
    stored = write_safetensors(os.path.join(dirpath, "model.safetensors"), tensors,
                               metadata={"format": "pt"})
    result = {}
    for name in w:
        out = name
        if gamma_beta and "LayerNorm" in name:
            out = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias",
                                                                               "LayerNorm.beta")
        result[name] = stored[pre + out]
    return result


def positions(config, ids):
    ids = np.asarray(ids)
    B, n = ids.shape
    if config["model_type"] == "bert":
        return np.broadcast_to(np.arange(n), (B, n)).copy()
    pad = config["pad_token_id"]
    real = (ids != pad).astype(np.int64)
    return np.cumsum(real, axis=1) * real + pad


def _layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def forward(weights, config, ids, mask=None, token_types=None):
    """float64 HF forward. ids (B,n) ints; mask (B,n) 1 real / 0 padding or None;
    token_types (B,n) or None (zeros). Returns (hidden (B,n,hidden), probs (L,B,H,n,n),
    q, k, v (L,B,H,n,d))."""
    w = weights
    ids = np.asarray(ids, dtype=np.int64)
    B, n = ids.shape
    hd, H, L = config["hidden_size"], config["num_attention_heads"], config["num_hidden_layers"]
    d = hd // H
    eps = config["layer_norm_eps"]
    tt = np.zeros_like(ids) if token_types is None else np.asarray(token_types, dtype=np.int64)
    m = np.ones((B, n)) if mask is None else np.asarray(mask, dtype=np.float64)
    pos = positions(config, ids)
    x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][pos]
         + w["embeddings.token_type_embeddings.weight"][tt])
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    use_lin = config.get("attention_type", "full") == "linformer"
    probs_all = []
    qs, ks, vs = (np.zeros((L, B, H, n, d)) for _ in range(3))
    keymask = (m > 0)[:, None, None, :]  # (B,1,1,n)
    for i in range(L):
        p = f"encoder.layer.{i}."

        def lin(t, name):
            return t @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        def heads(t):
            return t.reshape(B, n, H, d).transpose(0, 2, 1, 3)

        q = heads(lin(x, "attention.self.query"))
        k = heads(lin(x, "attention.self.key"))
        v = heads(lin(x, "attention.self.value"))
        kk, vv, km = k, v, keymask
        if use_lin:
            E, F = linformer_proj(w, config, i, n)  # (H,k,n) each
            real = (m > 0)[:, None, :, None]  # (B,1,n,1): padding removed first
            kk = np.einsum("hjn,bhnd->bhjd", E, k * real)
            vv = np.einsum("hjn,bhnd->bhjd", F, v * real)
            km = np.ones((B, 1, 1, E.shape[1]), dtype=bool)
        s = q @ kk.transpose(0, 1, 3, 2) / math.sqrt(d)
        s = np.where(km, s, -np.inf)
        smax = s.max(-1, keepdims=True)
        smax = np.where(np.isfinite(smax), smax, 0.0)
        e = np.where(km, np.exp(s - smax), 0.0)
        tot = e.sum(-1, keepdims=True)
        pr = np.divide(e, tot, out=np.zeros_like(e), where=tot > 0)
        ctx = (pr @ vv).transpose(0, 2, 1, 3).reshape(B, n, hd)
        a = lin(ctx, "attention.output.dense")
        x = _layer_norm(a + x, w[p + "attention.output.LayerNorm.weight"],
                        w[p + "attention.output.LayerNorm.bias"], eps)
        f = lin(gelu(lin(x, "intermediate.dense")), "output.dense")
        x = _layer_norm(f + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        probs_all.append(pr)
        qs[i], ks[i], vs[i] = q, k, v
    return x, np.array(probs_all), qs, ks, vs


def linformer_proj(w, config, i, n):
    """Layer i's learned E, F as (H,k,n): the first n columns, broadcast over heads
    for the shared modes (F = E for kv and layerwise)."""
    H, share = config["num_attention_heads"], config["linformer_share"]
    p = f"encoder.layer.{i}.attention.self."
    E = w["encoder.linformer_E"] if share == "layerwise" else w[p + "linformer_E"]
    F = E if share in ("kv", "layerwise") else w[p + "linformer_F"]
    if E.ndim == 2:
        E, F = (np.broadcast_to(t, (H,) + t.shape) for t in (E, F))
    return E[..., :n], F[..., :n]


def mlm_loss(weights, config, ids, mask, labels):
    """Mean cross-entropy of the RoBERTa MLM head over positions with label != -100,
    float64; also the count and the argmax hits."""
    w = weights
    x = forward(weights, config, ids, mask)[0]
    labels = np.asarray(labels)
    sel = labels != -100
    xp, lab = x[sel], labels[sel]
    eps = config["layer_norm_eps"]
    z = gelu(xp @ w["lm_head.dense.weight"].T + w["lm_head.dense.bias"])
    z = _layer_norm(z, w["lm_head.layer_norm.weight"], w["lm_head.layer_norm.bias"], eps)
    logits = z @ w["embeddings.word_embeddings.weight"].T + w["lm_head.bias"]
    mx = logits.max(-1, keepdims=True)
    lse = np.log(np.exp(logits - mx).sum(-1)) + mx[:, 0]
    ce = lse - logits[np.arange(len(lab)), lab]
    return ce.mean(), len(lab), int((logits.argmax(-1) == lab).sum())


_NP_DTYPE = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4"}


def read_safetensors(path):
    """(tensors as float64 by name, dtypes by name, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    hn = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + hn])
    meta = header.pop("__metadata__", None)
    body = raw[8 + hn:]
    out, dts = {}, {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        buf = body[b:e]
        if t["dtype"] == "BF16":
            a = (np.frombuffer(buf, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(buf, _NP_DTYPE[t["dtype"]])
        out[name] = a.astype(np.float64).reshape(t["shape"])
        dts[name] = t["dtype"]
    return out, dts, meta


_BERT_HEAD = {"cls.predictions.transform.dense.": "lm_head.dense.",
              "cls.predictions.transform.LayerNorm.": "lm_head.layer_norm.",
              "cls.predictions.bias": "lm_head.bias"}


def canonical(name):
    """A stored tensor name without the model prefix, BERT head names as lm_head.*."""
    for pre in ("roberta.", "bert."):
        if name.startswith(pre):
            name = name[len(pre):]
    for b, r in _BERT_HEAD.items():
        if name.startswith(b):
            name = r + name[len(b):]
    return name


def load_checkpoint(dirpath):
    """(weights under canonical names, config) of a checkpoint folder."""
    config = read_config(dirpath)
    t = read_safetensors(os.path.join(dirpath, "model.safetensors"))[0]
    return {canonical(name): a for name, a in t.items()}, config


if __name__ == "__main__":
    import sys
    import tempfile
    # Self-check: rows of P sum to 1 (or 0 for an all-padding row), padded keys get 0.
    with tempfile.TemporaryDirectory() as t:
        for kind in ("roberta", "bert"):
            for dt in ("F32", "F16", "BF16"):
                w = write_checkpoint(t, kind=kind, dtype=dt, gamma_beta=(kind == "bert"))
                cfg = read_config(t)
                ids = np.array([[0, 5, 7, 9, 2], [0, 8, 2, 1, 1]]) if kind == "roberta" else \
                    np.array([[2, 5, 7, 9, 3], [2, 8, 3, 0, 0]])
                mask = (ids != cfg["pad_token_id"]).astype(np.float32)
                h, P, q, k, v = forward(w, cfg, ids, mask)
                assert h.shape == (2, 5, 16) and P.shape == (2, 2, 4, 5, 5) and q.shape == (2, 2, 4, 5, 4)
                assert np.allclose(P.sum(-1), 1.0) and np.all(P[:, 1, :, :, 3:] == 0)
                assert np.all(np.isfinite(h))
    print("hf_tiny self-check ok")
    sys.exit(0)
