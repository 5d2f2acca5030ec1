"""What the attention oracles (tests/attention/test_attention*.py) share: the tools they
drive, how a tool is run, and the inputs: a padding mask of a named kind and the
Linformer projections for a sharing mode, written as raw float32 files for the tools."""
import os
import subprocess

import numpy as np

from lbtest import BUILD, ROOT, check


def tool_path(name):
    """The tool build/tools/NAME of the build under test."""
    return os.path.join(ROOT, BUILD, "tools", name)


def run_tool(args):
    """Run a tool with args (each made a string); the CompletedProcess, in text mode."""
    return subprocess.run([str(a) for a in args], capture_output=True, text=True)


def run_forward(args, kernel, shape, d_, expect_rc):
    """Run a forward tool that writes d_/out.f32. Returns (r, out): out of shape
    (B,H,n,d) when the run was to succeed (expect_rc 0) and did; None otherwise, after a
    failed check when it was to succeed."""
    r = run_tool(args)
    if expect_rc != 0 or not check(r.returncode == 0, f"{kernel} {shape} exit {r.returncode}: "
                                                      f"{r.stderr.strip()}"):
        return r, None
    return r, np.fromfile(os.path.join(d_, "out.f32"), np.float32).reshape(shape)


def write_mask_and_proj(rng, d_, B, H, n, kp, share, mask_kind, tail_step):
    """mask_kind: "none"; "tail" (real lengths n, n - tail_step, ..., the last batch
    element all padding); "holes" (random 40% padding, key 0 always real).
    E, F ~ N(0, 1/k) of shape (H,k,n) for share "none", (k,n) otherwise; F is E for the
    kv and layerwise modes. Returns (mask or None, E, F)."""
    mask = None
    if mask_kind == "tail":
        mask = np.zeros((B, n), np.float32)
        for b in range(B - 1):
            mask[b, : max(1, n - tail_step * b)] = 1
    elif mask_kind == "holes":
        mask = (rng.random((B, n)) < 0.6).astype(np.float32)
        mask[:, 0] = 1
    if mask is not None:
        mask.tofile(os.path.join(d_, "mask.f32"))
    eshape = (H, kp, n) if share == "none" else (kp, n)
    E = (rng.standard_normal(eshape) / np.sqrt(kp)).astype(np.float32)
    F = (rng.standard_normal(eshape) / np.sqrt(kp)).astype(np.float32)
    if share in ("kv", "layerwise"):
        F = E
    E.tofile(os.path.join(d_, "E.f32"))
    F.tofile(os.path.join(d_, "F.f32"))
    return mask, E, F
