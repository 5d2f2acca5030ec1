"""End to end: `linbench dump` and `linbench spectrum` on a tiny checkpoint written by
tests/lib/hf_tiny.py, against its float64 numpy oracle of the HuggingFace forward and
numpy.linalg.svd; then bad inputs (non-zero exit, a message, no output files)."""
import glob
import json
import os
import tempfile

import numpy as np

import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../lib"))
import hf_tiny
from lbtest import check, check_close, read_csv, run, summary

tmp = tempfile.mkdtemp(prefix="lbdump_")
rng = np.random.default_rng(77)
MODEL = os.path.join(tmp, "model")
# vocab 300 so that the byte-level tokenizer (offset 4: 260 ids) fits; max_pos 40 gives
# RoBERTa n <= 38 (positions start after the pad id).
W = hf_tiny.write_checkpoint(MODEL, kind="roberta", seed=5, vocab=300, max_pos=40)
CFG = hf_tiny.read_config(MODEL)
IDS = os.path.join(tmp, "ids.npy")
np.save(IDS, rng.integers(3, 300, 700).astype(np.int32))
TEXT = os.path.join(tmp, "docs.txt")
with open(TEXT, "w") as f:  # paragraphs of different lengths: padding under --policy pad
    for i in range(9):
        f.write(("word%d " % i) * (1 + 2 * i) + "end.\n\n")
STATS = ["at_index_sigma", "at_index_energy", "idx90_sigma", "idx99_sigma", "idx90_energy",
         "idx99_energy", "eff_rank", "row_entropy_ratio"]


def oracle(stem):
    ids = np.load(stem + "_ids.npy")
    mask = np.load(stem + "_mask.npy")
    _, probs, q, k, v = hf_tiny.forward(W, CFG, ids.astype(np.int64), mask)
    return ids, mask, probs, q, k, v


def curves(s, n):
    c, e = np.ones(n), np.ones(n)
    r = len(s)
    c[:r] = np.cumsum(s) / s.sum()
    e[:r] = np.cumsum(s * s) / (s * s).sum()
    return c, e


def first(curve, level):
    i = np.nonzero(curve >= level - 1e-12)[0]
    return i[0] + 1


def ref_stats(P, n, index):
    s = np.linalg.svd(P, compute_uv=False)
    c, e = curves(s, n)
    p = s / s.sum()
    p = p[p > 0]
    m = P.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(P > 0, P * np.log(P), 0).sum(axis=1).mean() / np.log(m) if m > 1 else 1.0
    return c, e, [c[index - 1], e[index - 1], first(c, 0.9), first(c, 0.99), first(e, 0.9),
                  first(e, 0.99), np.exp(-(p * np.log(p)).sum()), h]


# ---- dump: P against the oracle ----
D = os.path.join(tmp, "d.npy")
r = run(["dump", "--model", MODEL, "--ids", IDS, "--n", "20", "--sequences", "3", "--layers", "1",
         "--heads", "2,0", "--seed", "4", "--out", D, "--quiet"])
if check(r.returncode == 0, f"dump ids: exit {r.returncode}: {r.stderr}"):
    P = np.load(D)
    check(P.shape == (3, 1, 2, 20, 20) and P.dtype == np.float32, f"dump shape {P.shape} {P.dtype}")
    ids, mask, probs, _, _, _ = oracle(D[:-4])
    # float32 forward vs the float64 oracle: probabilities are <= 1 and the model
    # tests hold the encoder to ~1e-5 relative; 2e-5 absolute covers their sum.
    check_close("dump P vs oracle", P[:, 0], probs[1][:, [0, 2]], 2e-5, 0)
    meta = json.load(open(D[:-4] + ".json"))
    check(meta["shape"] == [3, 1, 2, 20, 20] and meta["heads"] == [0, 2], "dump json shape, heads")

TXT_IDS = os.path.join(tmp, "ids.txt")
with open(TXT_IDS, "w") as f:
    f.write(" ".join(map(str, np.load(IDS))) + "\n")
DT = os.path.join(tmp, "dt.npy")
r = run(["dump", "--model", MODEL, "--ids", TXT_IDS, "--n", "20", "--sequences", "3", "--layers",
         "1", "--heads", "2,0", "--seed", "4", "--out", DT, "--quiet"])
if check(r.returncode == 0, f"dump text ids: exit {r.returncode}: {r.stderr}") and os.path.exists(D):
    check(np.array_equal(np.load(DT), np.load(D)), "integer text ids give the same dump as .npy")

DP = os.path.join(tmp, "dp.npy")
r = run(["dump", "--model", MODEL, "--text", TEXT, "--byte-tokenizer", "4", "--policy", "pad",
         "--n", "24", "--sequences", "5", "--out", DP, "--quiet"])
if check(r.returncode == 0, f"dump text/pad: exit {r.returncode}: {r.stderr}"):
    P = np.load(DP)
    ids, mask, probs, _, _, _ = oracle(DP[:-4])
    check(P.shape == (5, 2, 4, 24, 24), f"dump pad shape {P.shape}")
    check((mask == 0).any(), "pad policy produced padding")
    real = mask[:, None, None, :, None] * mask[:, None, None, None, :]
    Pr = np.transpose(probs, (1, 0, 2, 3, 4))
    check_close("dump pad: P vs oracle on real rows", P * real, Pr * real, 2e-5, 0)
    keys0 = np.broadcast_to(mask[:, None, None, None, :] == 0, P.shape)
    check(np.all(P[keys0] == 0), "padded keys have probability exactly 0")

# ---- spectrum: files, counts and values against numpy ----
for case, extra, n_list, stem_args in (
        ("ids", ["--ids", IDS], [16, 32], ["--ids", IDS]),
        ("pad", ["--text", TEXT, "--byte-tokenizer", "4", "--policy", "pad"], [24],
         ["--text", TEXT, "--byte-tokenizer", "4", "--policy", "pad"])):
    S, PS, index = 4, 2, 5
    pre = os.path.join(tmp, "s_" + case)
    r = run(["spectrum", "--model", MODEL, *extra, "--n", ",".join(map(str, n_list)),
             "--sequences", str(S), "--seed", "3", "--index", str(index), "--proj-k", "4,16",
             "--proj-sequences", str(PS), "--layers", "all", "--heads", "1,3", "--quiet",
             "--out", pre])
    if not check(r.returncode == 0, f"spectrum {case}: exit {r.returncode}: {r.stderr}"):
        continue
    check("tokens/s" in r.stdout, f"spectrum {case} prints tokens/s: {r.stdout}")
    js = json.load(open(pre + ".json"))
    check([x["n"] for x in js["runs"]] == n_list, f"{case}: json runs {[x['n'] for x in js['runs']]}")
    check(js["params"]["sequences"] == S and js["meta"]["command"][0] == "spectrum",
          f"{case}: json params")
    for f in js["files"]:
        check(os.path.exists(f), f"{case}: listed file {f} exists")
    summ = read_csv(pre + "_summary.csv")
    cur = read_csv(pre + ".csv")
    pe = read_csv(pre + "_projerr.csv")
    lay = read_csv(pre + "_layers.csv")
    check(len(summ) == len(n_list) * 2 * 2, f"{case}: summary rows {len(summ)}")
    check(len(cur) == sum(n_list) * 2 * 2, f"{case}: curve rows {len(cur)}")
    check(len(lay) == sum(n_list) * 2, f"{case}: layer rows {len(lay)}")
    check(len(pe) == len(n_list) * 2 * 2 * 2 * 6, f"{case}: projerr rows {len(pe)}")
    for n in n_list:
        # The same windows through dump (same policy, n, seed and count).
        stem = os.path.join(tmp, f"w_{case}_{n}")
        r = run(["dump", "--model", MODEL, *stem_args, "--n", str(n), "--sequences", str(S),
                 "--seed", "3", "--out", stem + ".npy", "--quiet"])
        if not check(r.returncode == 0, f"dump for {case} n={n}: {r.stderr}"):
            continue
        ids, mask, probs, q, k, v = oracle(stem)
        for layer in (0, 1):
            for head in (1, 3):
                cs, es, st, pes = [], [], [], {}
                for s in range(S):
                    real = np.nonzero(mask[s])[0]
                    P = probs[layer, s, head][np.ix_(real, real)]
                    c, e, x = ref_stats(P, n, index)
                    cs.append(c), es.append(e), st.append(x)
                    if s < PS:
                        V = v[layer, s, head][real]
                        PV = P @ V
                        U, sv, Vt = np.linalg.svd(P)
                        for kk in (4, 16):
                            m = len(real)
                            kp = min(kk, m)
                            M = np.zeros((kp, m))
                            for b in range(kp):
                                M[b, b * m // kp:(b + 1) * m // kp] = 1
                            Pk = (U[:, :kk] * sv[:kk]) @ Vt[:kk]
                            pes.setdefault((kk, "pool"), []).append(
                                np.linalg.norm(PV - (P @ M.T) @ ((M / M.sum(1, keepdims=True)) @ V))
                                / np.linalg.norm(PV))
                            pes.setdefault((kk, "svd_pv"), []).append(
                                np.linalg.norm(PV - Pk @ V) / np.linalg.norm(PV))
                            pes.setdefault((kk, "svd_p"), []).append(
                                np.linalg.norm(P - Pk) / np.linalg.norm(P))
                st = np.array(st)
                row = [x for x in summ if x["n"] == n and x["layer"] == layer and x["head"] == head]
                if not check(len(row) == 1, f"{case} n={n} L{layer}H{head}: one summary row"):
                    continue
                row = row[0]
                check(row["count"] == S and row["index"] == index, f"{case}: count/index {row}")
                got = np.array([[row[s_ + "_mean"], row[s_ + "_std"]] for s_ in STATS])
                want = np.stack([st.mean(0), st.std(0, ddof=1)], 1)
                tag = f"{case} n={n} L{layer}H{head}"
                # σ from float32 sgesdd on float32 P (off ~1e-4·σ_max) move the curves by
                # < 2e-4; an index can flip by one in one sequence when its curve sits
                # that close to 0.9/0.99 (mean off by 1/S, std by about as much).
                check_close(tag + " at-index", got[:2], want[:2], 3e-4, 0)
                check_close(tag + " idx90/99", got[2:6], want[2:6], 1.0 / S + 1e-9, 0)
                check_close(tag + " eff rank", got[6], want[6], 1e-3, 1e-3)
                check_close(tag + " row entropy", got[7], want[7], 1e-4, 1e-4)
                cr = sorted((x for x in cur if x["n"] == n and x["layer"] == layer
                             and x["head"] == head), key=lambda x: x["index"])
                check_close(tag + " sigma curve mean", [x["sigma_mean"] for x in cr],
                            np.mean(cs, 0), 3e-4, 0)
                check_close(tag + " energy curve std", [x["energy_std"] for x in cr],
                            np.std(es, 0, ddof=1), 3e-4, 0)
                for (kk, meth), vals in pes.items():
                    pr = [x for x in pe if x["n"] == n and x["layer"] == layer and
                          x["head"] == head and x["k"] == kk and x["method"] == meth]
                    # float32 pipeline vs float64: relative errors agree to ~1e-4 (the
                    # float32 forward already differs from the oracle by ~1e-6).
                    if check(len(pr) == 1 and pr[0]["count"] == PS, f"{tag} {meth} k={kk} row"):
                        check_close(f"{tag} {meth} k={kk}", [pr[0]["mean"], pr[0]["std"]],
                                    [np.mean(vals), np.std(vals, ddof=1)], 2e-4, 2e-3)
                for meth in ("gauss", "linformer_gauss", "linformer_pool"):
                    pr = [x for x in pe if x["n"] == n and x["layer"] == layer and
                          x["head"] == head and x["method"] == meth]
                    check(all(np.isfinite(x["mean"]) and x["mean"] >= 0 for x in pr),
                          f"{tag} {meth} finite and >= 0")

# ---- plots from the "ids" result (needs gnuplot; skipped without it) ----
import shutil
import subprocess
if shutil.which("gnuplot") or shutil.which("gnuplot-nox"):
    pre = os.path.join(tmp, "s_ids")
    r = subprocess.run(["bash", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "plots", "spectrum.sh"),
                        pre, "tiny"], capture_output=True, text=True)
    check(r.returncode == 0 and "warning" not in r.stderr.lower(),
          f"plots/spectrum.sh: exit {r.returncode}: {r.stderr}")
    # A figure whose rows were missing is still a valid image of ~20 kB with axes and a
    # key, so a size check alone would pass; the SVG must also hold a data line of enough
    # points: a curve over the n indices, or more than the 5 of a point symbol. (The
    # heatmap has no line; its summary rows are checked one by one above.)
    import re
    def data_points(svg):
        text = open(svg).read() if os.path.exists(svg) else ""
        best = 0
        for g in re.split(r'<g id="gnuplot_plot_', text)[1:]:
            for d in re.findall(r"d='([^']*)'", g):
                best = max(best, len(re.findall(r"[ML]\s*-?[\d.]+,-?[\d.]+", d)))
        return best
    for stem, want in (("fig1_left_sigma_n16", 16), ("fig1_left_energy_n32", 32), ("fig1_right_n16", 0),
                       ("projerr_n32", 6), ("spectrum_vs_n", 6)):
        for ext in ("png", "svg"):
            f = f"{pre}_{stem}.{ext}"
            check(os.path.exists(f) and os.path.getsize(f) > 1000, f"plot {f} drawn")
        got = data_points(f"{pre}_{stem}.svg")
        check(got >= want, f"plot {stem}: a data line of {got} points, want >= {want}")
else:
    print("note: gnuplot not found; the plot checks did not run")
    r = subprocess.run(["bash", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "plots", "spectrum.sh"),
                        os.path.join(tmp, "nothing")], capture_output=True, text=True)
    check(r.returncode != 0 and "missing" in r.stderr, f"spectrum.sh on a missing prefix: {r.stderr}")

# ---- bad inputs: non-zero exit, a message, no output files ----
def bad(name, args, want=""):
    pre = os.path.join(tmp, "bad_" + name)
    r = run(args + ["--out", pre + (".npy" if args[0] == "dump" else "")])
    check(r.returncode != 0, f"{name}: exit {r.returncode}")
    check("linbench" in r.stderr and want in r.stderr, f"{name}: message {r.stderr!r}")
    left = glob.glob(pre + "*")
    check(not left, f"{name}: no output files, found {left}")


base = ["spectrum", "--model", MODEL, "--ids", IDS, "--sequences", "2", "--quiet"]
bad("nomodel", ["spectrum", "--model", os.path.join(tmp, "nope"), "--ids", IDS], "nope")
bad("n_past", base + ["--n", "64"], "position")
bad("n_zero", base + ["--n", "0"], "--n")
bad("n_malformed", base + ["--n", "16,x"], "--n")
bad("n_twice", base + ["--n", "16,16"], "twice")
bad("projk", base + ["--n", "16", "--proj-k", "4,32"], "--proj-k")
bad("index", base + ["--n", "16", "--index", "17"], "--index")
bad("noids", ["spectrum", "--model", MODEL, "--ids", os.path.join(tmp, "missing.npy")], "missing")
bad("layers", base + ["--n", "16", "--layers", "2"], "--layers")
bad("unknown", base + ["--frobnicate", "1"], "frobnicate")
bad("text_no_tok", ["spectrum", "--model", MODEL, "--text", TEXT], "tokenizer")
bad("dump_n", ["dump", "--model", MODEL, "--ids", IDS, "--n", "39"], "position")
bad("dump_nomodel", ["dump", "--model", os.path.join(tmp, "nope"), "--ids", IDS], "nope")
r = run(base + ["--n", "16", "--out", os.path.join(tmp, "no", "such", "dir", "x")])
check(r.returncode != 0 and "no/such/dir" in r.stderr, f"unwritable --out: {r.stderr}")
r = run(["dump", "--model", MODEL, "--ids", IDS, "--out", os.path.join(tmp, "x.bin")])
check(r.returncode != 0 and ".npy" in r.stderr, f"dump --out must end in .npy: {r.stderr}")
r = run(["spectrum", "--model", MODEL, "--ids", IDS])
check(r.returncode != 0 and "--out" in r.stderr, f"spectrum without --out: {r.stderr}")
check(not glob.glob(os.path.join(tmp, "*.tmp.*")), "no temporaries left behind")

summary()
