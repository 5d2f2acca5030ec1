"""Shared helpers for the numpy oracle tests (run with /usr/bin/python3).

check_close uses |x - ref| <= atol + rtol*|ref| written so that NaN fails, and every
test file ends with summary(), which prints the RESULT line tests/run.sh sums and
exits non-zero on any failure."""
import os
import subprocess
import sys

import numpy as np

_passed = 0
_failed = 0
# The repository root (tests/lib/ is two levels below it) and the build folder in it.
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("BUILD", "build")
LINBENCH = os.environ.get("LINBENCH", os.path.join(ROOT, BUILD, "linbench"))


def check(cond, msg):
    global _passed, _failed
    if cond:
        _passed += 1
    else:
        _failed += 1
        print("FAIL", msg)
    return bool(cond)


def check_close(name, x, ref, atol, rtol):
    x = np.asarray(x, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if x.shape != ref.shape:
        return check(False, f"{name}: shape {x.shape} != {ref.shape}")
    ok = np.abs(x - ref) <= atol + rtol * np.abs(ref)  # NaN compares False
    if ok.all():
        return check(True, name)
    i = np.unravel_index(np.argmin(ok), ok.shape) if ok.size else ()
    return check(False, f"{name}: at {i}: got {x[i]!r}, want {ref[i]!r} (atol {atol}, rtol {rtol}); "
                        f"{(~ok).sum()} of {ok.size} off")


def read_csv(path):
    """The rows of a CSV file that linbench wrote ('#' lines skipped), each a dict from
    the header's names to the values, numbers as float and the rest as text."""
    with open(path) as f:
        lines = [ln.rstrip("\n") for ln in f if not ln.startswith("#")]
    head = lines[0].split(",")
    out = []
    for ln in lines[1:]:
        row = {}
        for h, v in zip(head, ln.split(",")):
            try:
                row[h] = float(v)
            except ValueError:
                row[h] = v
        out.append(row)
    return out


def run(args, **kw):
    """Run linbench with args; returns CompletedProcess (text mode)."""
    return subprocess.run([LINBENCH] + list(args), capture_output=True, text=True, **kw)


def summary():
    print(f"{os.path.basename(sys.argv[0])}: {_passed} passed, {_failed} failed")
    print(f"RESULT {_passed} {_failed}")
    sys.exit(1 if _failed else 0)
