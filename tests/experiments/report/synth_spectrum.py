"""Writes a synthetic `linbench spectrum` result whose verdicts are known, for
tests/experiments/report/test_report.sh:
  synth_spectrum.py PREFIX CASE
CASE up      layers skew upwards (all three readings), pooled σ at n/4 ≈ 0.93 with a
             tight interval, idx90 grows slowly, near-uniform rows (the entropy warning)
     down    the reverse: layers skew downwards, pooled 0.60, idx90 grows faster than n
     wide    pooled σ at n/4 around 0.90 with noise wide enough to straddle 0.90
     short   as up, but the model trained only at n <= 128 (recorded): every verdict at
             n = 512 is outside the model's trained length
Only up gets PREFIX_eval.json (masked-token loss 4.0 at n = 128, 3.75 at 512, +-0.1).
Every window gets the stated value plus seeded normal noise (sd 0.005, 0.08 for wide)."""
import json
import sys

import numpy as np

pre, case = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(3)
NS, W, L, H = (128, 512), 40, 4, 2
up = case != "down"
sd = 0.08 if case == "wide" else 0.005
trained = 128 if case == "short" else 512
at = {"up": [0.90, 0.92, 0.94, 0.96], "short": [0.90, 0.92, 0.94, 0.96], "wide": [0.90] * 4,
      "down": [0.66, 0.62, 0.58, 0.54]}[case]
STATS = ["at_index_sigma", "at_index_energy", "idx90_sigma", "idx99_sigma", "idx90_energy",
         "idx99_energy", "eff_rank", "row_entropy_ratio"]
json.dump({"meta": {"date": "2026-01-01T00:00:00Z", "git_commit": "abc", "cpu_model": "test cpu"},
           "params": {"model": "m", "input": "i", "tokenizer": "t", "policy": "pack",
                      "trained": {"recorded": True, "max_n": trained, "updates": 300,
                                  "curriculum": [[128, 200]] + ([[512, 100]] if trained == 512 else []),
                                  "valid_loss": [[128, 4.25]] + ([[512, 4.125]] if trained == 512 else [])}},
           "runs": [{"n": n, "index": n // 4, "sequences": W} for n in NS]}, open(pre + ".json", "w"))
if case == "up":  # `linbench eval` of the same model ("m") on the same text ("i")
    json.dump({"model": "m", "text": "i", "tokens": 20480, "passes": 1, "seed": 1,
               "lengths": [{"n": n, "windows": 20480 // n, "loss": {"mean": m, "lo": m - 0.1, "hi": m + 0.1}}
                           for n, m in ((128, 4.0), (512, 3.75))]}, open(pre + "_eval.json", "w"))
with open(pre + "_windows.csv", "w") as f:
    f.write("# synthetic\nn,layer,head,window," + ",".join(STATS) + "\n")
    for n in NS:
        for l in range(L):
            rank = l if up else L - 1 - l          # 0 = least skewed
            base_idx = {128: 22.0, 512: 33.0}[n] if up else {128: 16.0, 512: 80.0}[n]
            idx = base_idx * (1.15 - 0.1 * rank)
            for h in range(H):
                for w in range(W):
                    e = rng.normal(0, sd)
                    v = [min(at[l] + e, 1), min(at[l] + 0.05 + e, 1), idx * (1 + e), idx * 2, idx / 2,
                         idx * 1.5, idx * 1.1 * (1 + e), 0.95 if up else 0.5]
                    f.write(f"{n},{l},{h},{w}," + ",".join(f"{x:.9g}" for x in v) + "\n")
with open(pre + "_controls.csv", "w") as f:
    f.write("n,control,index,sigma,energy," + ",".join(STATS) + "\n")
    for n in NS:
        for c, v in (("uniform", [1, 1, 1, 1, 1, 1, 1, 1]), ("band", [0.45, 0.63, 0.8 * n, n, 0.5 * n, n, 0.85 * n, 0.4])):
            for i in range(1, n + 1):
                f.write(f"{n},{c},{i},{min(1, i / n + 0.3)},{min(1, i / n + 0.4)}," + ",".join(map(str, v)) + "\n")
with open(pre + "_projerr_all.csv", "w") as f:
    pe = 0.05 if up else 0.5
    f.write("n,k,svd_p_mean,svd_pv_mean,gauss_mean,pool_mean,linformer_gauss_mean,linformer_pool_mean\n")
    f.write(f"512,64,0.2,0.1,0.9,{pe},0.9,0.9\n512,128,0.1,0.02,0.9,{pe},0.9,0.9\n")
