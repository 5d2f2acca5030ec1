"""Oracle test for common/stats.c: Mann–Whitney U p-values against
scipy.stats.mannwhitneyu (exact and asymptotic, with and without ties, sizes 1..20)
and quartiles against numpy.percentile, on the same samples, through
$BUILD/tools/tool_stats."""
import os
import subprocess

import numpy as np
from scipy.stats import mannwhitneyu

import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../lib"))
from lbtest import check, check_close, summary

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", os.environ.get("BUILD", "build"), "tools", "tool_stats")
rng = np.random.default_rng(20240611)

jobs, want = [], []


def fmt(v):
    return " ".join(repr(float(t)) for t in v)


# Samples: continuous (no ties) and rounded to a coarse grid (ties), sizes 1..20,
# plus shifted alternatives so that small p-values are exercised too.
for n1 in range(1, 21):
    for n2 in (1, 2, 3, 5, 8, 9, 13, 20):
        for tied in (False, True):
            for shift in (0.0, 1.5):
                x = rng.normal(shift, 1.0, n1)
                y = rng.normal(0.0, 1.0, n2)
                if tied:
                    x, y = np.round(x * 2) / 2, np.round(y * 2) / 2
                methods = ["asymp"] + ([] if tied else ["exact"])
                for m in methods:
                    sm = "exact" if m == "exact" else "asymptotic"
                    r = mannwhitneyu(x, y, alternative="two-sided", method=sm, use_continuity=True)
                    jobs.append(f"mwu {m} {n1} {n2} {fmt(x)} {fmt(y)}")
                    want.append(("mwu", m, n1, n2, tied, float(r.statistic), float(r.pvalue)))
# every value tied: the asymptotic variance is 0; scipy answers p = 1
jobs.append("mwu asymp 4 5 " + " ".join(["2.0"] * 9))
want.append(("mwu", "asymp", 4, 5, True, 10.0, 1.0))
# auto picks exact only without ties
jobs.append("mwu auto 9 9 " + fmt(np.arange(9) + 100.0) + " " + fmt(np.arange(9)))
want.append(("auto", 9, 9))
jobs.append("mwu auto 9 9 " + fmt(np.ones(9)) + " " + fmt(np.arange(9)))
want.append(("autotie", 9, 9))

for n in (1, 2, 3, 4, 5, 9, 10, 17):
    x = rng.exponential(1.0, n)
    jobs.append(f"quart {n} {fmt(x)}")
    q = np.percentile(x, [25, 50, 75])
    want.append(("quart", n, q))

p = subprocess.run([TOOL], input="\n".join(jobs) + "\n", capture_output=True, text=True)
check(p.returncode == 0, f"tool_stats exit {p.returncode}: {p.stderr}")
lines = p.stdout.splitlines()
check(len(lines) == len(jobs), f"{len(lines)} answers for {len(jobs)} jobs")
for w, line in zip(want, lines):
    if line == "error":
        check(False, f"tool error on {w}")
        continue
    vals = [float(t) for t in line.split()]
    if w[0] == "mwu":
        _, m, n1, n2, tied, u, pv = w
        tag = f"{m} n1={n1} n2={n2} ties={tied}"
        # U is a sum of (half-)integer ranks: exact in double.
        check_close(f"U {tag}", vals[0], u, 0, 0)
        # p: the exact path sums integer counts (exact up to 2^53) and divides by a
        # binomial via lgamma (relative error ~1e-13); the normal path differs from
        # scipy only in erfc vs norm.sf rounding. 1e-9 relative leaves a wide margin
        # while still catching any off-by-one in U or a missing correction (>= 1e-3).
        check_close(f"p {tag}", vals[1], pv, 1e-15, 1e-9)
        check(vals[2] == (1 if m == "exact" else 0), f"method flag {tag}")
    elif w[0] == "auto":
        check(vals[2] == 1 and vals[3] == 0, "auto uses exact without ties")
        # complete separation, 9 vs 9: p = 2 / C(18, 9)
        check_close("auto p separated", vals[1], 2 / 48620, 0, 1e-12)
    elif w[0] == "autotie":
        check(vals[2] == 0 and vals[3] == 1, "auto uses the normal approximation with ties")
    else:
        _, n, q = w
        # interpolation of a few doubles: a few ulp
        check_close(f"quartiles n={n}", vals[:3], q, 1e-15, 1e-13)
        check_close(f"iqr n={n}", vals[3], q[2] - q[0], 1e-15, 1e-12)

summary()
