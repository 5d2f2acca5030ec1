"""Oracle test for common/stats.c: Mann–Whitney U p-values against
scipy.stats.mannwhitneyu (exact and asymptotic, with and without ties, sizes 1..20)
and quartiles against numpy.percentile, on the same samples, through
$BUILD/tools/tool_stats."""
import os
import subprocess

import numpy as np
import warnings
from scipy.stats import bootstrap, mannwhitneyu, norm, wilcoxon

warnings.filterwarnings("ignore", "Sample size too small")  # scipy on the tiny tied cases

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

# Bootstrap of the mean of known distributions (normal, exponential; sizes 40..400):
# the interval against scipy.stats.bootstrap (percentile method) and numpy's own
# percentile bootstrap (independent random streams), and, for the normal, against the
# analytic interval mean ± z·s/√n.
BOOT_B = 4000
for dist, n in (("normal", 400), ("normal", 100), ("exponential", 200), ("exponential", 40)):
    x = rng.normal(3.0, 2.0, n) if dist == "normal" else rng.exponential(1.5, n)
    jobs.append(f"boot {BOOT_B} 7 0.95 {n} {fmt(x)}")
    means = x[rng.integers(0, n, (BOOT_B, n))].mean(axis=1)
    npi = np.percentile(means, [2.5, 97.5])
    spi = bootstrap((x,), np.mean, confidence_level=0.95, n_resamples=BOOT_B, method="percentile",
                    random_state=np.random.default_rng(5)).confidence_interval
    se = x.std(ddof=1) / np.sqrt(n)
    want.append(("boot", dist, n, npi, (spi.low, spi.high), se,
                 x.mean() + norm.ppf([0.025, 0.975]) * se))


# Hodges–Lehmann ratio and its distribution-free interval. Oracle: the null distribution of
# U enumerated by brute force (every placement of the x among the pooled ranks, sizes up
# to 16 in all), the order c read from it, numpy's sorted ratios; above the exact limit
# (n1 + n2 > 50) the normal approximation's c from scipy's norm.ppf.
from itertools import combinations
from math import comb, floor, sqrt

def u_null_cdf(m, n):
    """P(U <= u) for u = 0..m·n, U = #(x_i > y_j), by enumerating placements."""
    counts = np.zeros(m * n + 1)
    for pos in combinations(range(m + n), m):
        counts[sum(p - i for i, p in enumerate(pos))] += 1  # y values below each x
    return np.cumsum(counts) / comb(m + n, m)

def hl_order(m, n, tail):
    if m + n <= 50:
        cdf = u_null_cdf(min(m, n), max(m, n))
        c = 0
        while c < m * n and cdf[c] <= tail:
            c += 1
        return c
    mn = m * n
    return max(0, floor(mn / 2 - norm.ppf(1 - tail) * sqrt(mn * (m + n + 1) / 12)))

def hl_oracle(x, y, level):
    r = np.sort((y[None, :] / x[:, None]).ravel())
    c = hl_order(len(x), len(y), (1 - level) / 2)
    lo, hi = (0.0, np.inf) if c < 1 else (r[c - 1], r[len(r) - c])
    return np.median(r), lo, hi, c

for n1, n2, level in ((1, 1, 0.95), (3, 3, 0.95), (4, 5, 0.95), (8, 8, 0.95), (8, 8, 0.9), (6, 10, 0.99),
                      (30, 30, 0.95), (40, 25, 0.95)):
    x = rng.lognormal(0.0, 0.1, n1)
    y = 1.15 * rng.lognormal(0.0, 0.1, n2)
    jobs.append(f"hl {level} {n1} {n2} {fmt(x)} {fmt(y)}")
    want.append(("hl", n1, n2, level, hl_oracle(x, y, level)))
# bad input: a zero timing
jobs.append("hl 0.95 2 2 1 0 1 1")
want.append(("hlbad",))
# Coverage: 400 data sets of 8 against 8 where y is exactly 1.15 times a draw of the same
# lognormal as x; the interval must cover 1.15 as often as the exact null distribution
# says, 1 − 2·P(U <= c − 1) (the rule is conservative by discreteness).
COV_N, COV_R = 400, 1.15
for t in range(COV_N):
    x = rng.lognormal(0.0, 0.15, 8)
    y = COV_R * rng.lognormal(0.0, 0.15, 8)
    jobs.append(f"hl 0.95 8 8 {fmt(x)} {fmt(y)}")
    want.append(("hlcov", t))


# Signed-rank test of paired differences against scipy.stats.wilcoxon (zero_method
# "wilcox", no continuity correction): exact without ties, sizes 1..30, and the normal
# approximation with ties and zeros; plus the paired Hodges–Lehmann interval against the
# Walsh averages and an order read from the enumerated null of W+ (sizes <= 14).
def w_null_cdf(m):
    counts = np.zeros(m * (m + 1) // 2 + 1)
    counts[0] = 1
    for r in range(1, m + 1):
        counts[r:] = counts[r:] + counts[:-r].copy()
    return np.cumsum(counts) / 2.0 ** m

for m in list(range(1, 31)) + [45, 60]:
    for tied in (False, True):
        d = rng.normal(0.3, 1.0, m)
        if tied:
            d = np.round(d * 2) / 2  # ties and zeros
        meth = "asymp" if tied or m > 50 else "exact"
        if np.all(d == 0):
            continue
        r = wilcoxon(d, zero_method="wilcox", correction=False, method="approx" if meth == "asymp" else "exact")
        jobs.append(f"wsr {meth} {m} {fmt(d)}")
        want.append(("wsr", meth, m, tied, float(r.statistic), float(r.pvalue)))
for n, level in ((1, 0.95), (5, 0.95), (8, 0.95), (12, 0.9), (14, 0.99), (30, 0.95), (70, 0.95)):
    d = rng.normal(0.14, 0.06, n)
    walsh = np.sort([(d[i] + d[j]) / 2 for i in range(n) for j in range(i, n)])
    tail = (1 - level) / 2
    if n <= 50:
        cdf = w_null_cdf(n) if n <= 30 else None
        c = 0
        while c < len(walsh) and cdf[c] <= tail:
            c += 1
    else:
        mean, sd = n * (n + 1) / 4, sqrt(n * (n + 1) * (2 * n + 1) / 24)
        c = max(0, floor(mean - norm.ppf(1 - tail) * sd))
    lo, hi = (-np.inf, np.inf) if c < 1 else (walsh[c - 1], walsh[len(walsh) - c])
    jobs.append(f"hlp {level} {n} {fmt(d)}")
    want.append(("hlp", n, level, (np.median(walsh), lo, hi, c)))

p = subprocess.run([TOOL], input="\n".join(jobs) + "\n", capture_output=True, text=True)
check(p.returncode == 0, f"tool_stats exit {p.returncode}: {p.stderr}")
lines = p.stdout.splitlines()
check(len(lines) == len(jobs), f"{len(lines)} answers for {len(jobs)} jobs")
cov_hits = 0
for w, line in zip(want, lines):
    if w[0] == "hlbad":
        check(line == "error", f"HL of a zero timing: {line} (want error)")
        continue
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
    elif w[0] == "boot":
        _, dist, n, npi, spi, se, ana = w
        # Each end is a Monte Carlo quantile of B = 4000 replicates: its sd is about
        # sqrt(.025·.975/B)/φ(1.96)·se ≈ 0.042·se, so two independent streams differ by
        # about 0.06·se; 0.25·se is 4 sd of that and still catches a wrong level (90%
        # would move the ends by 0.32·se) or a biased resample.
        check_close(f"bootstrap vs numpy {dist} n={n}", vals, npi, 0.25 * se, 0)
        check_close(f"bootstrap vs scipy {dist} n={n}", vals, list(spi), 0.25 * se, 0)
        if dist == "normal":  # the bootstrap distribution of a normal mean is normal
            check_close(f"bootstrap vs analytic {dist} n={n}", vals, list(ana), 0.3 * se, 0)
    elif w[0] == "hl":
        _, n1, n2, level, (est, lo, hi, c) = w
        tag = f"n1={n1} n2={n2} level={level} (order {c})"
        # the same divisions and order statistics: identical; the median of an even count
        # is a mean of two ratios, a few ulp apart between numpy and the C
        check_close(f"HL estimate {tag}", vals[0], est, 0, 1e-14)
        check(vals[1] == lo and vals[2] == hi, f"HL interval {tag}: {vals[1:]} vs {[lo, hi]}")
    elif w[0] == "wsr":
        _, meth, m, tied, T, pv = w
        tag = f"{meth} m={m} ties={tied}"
        # T = min(W+, W-) from the tool's W+ and the count of non-zero differences
        nz = vals[2]
        check_close(f"signed-rank T {tag}", min(vals[0], nz * (nz + 1) / 2 - vals[0]), T, 0, 0)
        # exact: integer subset counts over 2^m; normal: erfc vs scipy's norm.sf
        check_close(f"signed-rank p {tag}", vals[1], pv, 1e-15, 1e-9)
        check(vals[3] == (1 if meth == "exact" else 0), f"signed-rank method flag {tag}")
    elif w[0] == "hlp":
        _, n, level, (est, lo, hi, c) = w
        tag = f"paired HL n={n} level={level} (order {c})"
        check_close(f"{tag} estimate", vals[0], est, 0, 1e-14)
        check(vals[1] == lo and vals[2] == hi, f"{tag} interval: {vals[1:]} vs {[lo, hi]}")
    elif w[0] == "hlcov":
        cov_hits += vals[1] <= COV_R <= vals[2]
    else:
        _, n, q = w
        # interpolation of a few doubles: a few ulp
        check_close(f"quartiles n={n}", vals[:3], q, 1e-15, 1e-13)
        check_close(f"iqr n={n}", vals[3], q[2] - q[0], 1e-15, 1e-12)

# 8 v 8 at 95%: c from the enumerated null; coverage 1 − 2·P(U <= c − 1) ≈ 0.95. The
# simulated rate over 400 sets has sd sqrt(p(1−p)/400) ≈ 0.011; 3.5 sd is the band, and a
# wrong order (c ± 1) moves the coverage by ~0.02-0.04, a 90% interval by 0.05.
c8 = hl_order(8, 8, 0.025)
want_cov = 1 - 2 * u_null_cdf(8, 8)[c8 - 1]
sd = sqrt(want_cov * (1 - want_cov) / COV_N)
check(abs(cov_hits / COV_N - want_cov) <= 3.5 * sd,
      f"HL coverage {cov_hits}/{COV_N} vs {want_cov:.4f} (band {3.5 * sd:.3f})")
print(f"HL coverage 8 v 8: {cov_hits}/{COV_N} (theory {want_cov:.4f}, order {c8})")

summary()
