"""Reference figures for Vigil's int8 quantizer and its float-versus-int8 comparison.

Reads JSON on stdin, one of:
  {"task": "quantize", "rows": K, "columns": N, "weights": [K*N floats, row-major]}
    -> {"scales": [N], "values": [K*N]}: symmetric per-column int8 in numpy float32 arithmetic
       (scale = max|w| / 127, q = round-half-even(w / scale) clipped to [-127, 127]).
  {"task": "paired", "cases": [{"baseline": [0/1 correct per row], "candidate": [0/1 ...]}, ...]}
    -> [{"difference", "lower", "upper"}, ...]: candidate accuracy minus baseline accuracy with
       Bonett and Price's (2012) adjusted Wald 95% interval for paired proportions,
       z from scipy.stats.norm, clipped to [-1, 1].
"""
import json
import sys

import numpy as np
from scipy.stats import norm

d = json.load(sys.stdin)

if d["task"] == "quantize":
    w = np.array(d["weights"], dtype=np.float32).reshape(d["rows"], d["columns"])
    absmax = np.abs(w).max(axis=0)
    scales = (absmax / np.float32(127)).astype(np.float32)
    scales[scales < np.finfo(np.float32).tiny] = np.float32(1)
    values = np.clip(np.round(w / scales), -127, 127).astype(np.int8)
    print(json.dumps({"scales": [float(s) for s in scales], "values": values.reshape(-1).tolist()}))
elif d["task"] == "paired":
    z = norm.ppf(0.975)
    out = []
    for case in d["cases"]:
        base = np.array(case["baseline"], dtype=bool)
        cand = np.array(case["candidate"], dtype=bool)
        n = base.size
        n12 = np.count_nonzero(cand & ~base)
        n21 = np.count_nonzero(base & ~cand)
        p12, p21 = (n12 + 1) / (n + 2), (n21 + 1) / (n + 2)
        half = z * np.sqrt((p12 + p21 - (p12 - p21) ** 2) / (n + 2))
        out.append({"difference": float(cand.mean() - base.mean()), "lower": float(max(-1, p12 - p21 - half)), "upper": float(min(1, p12 - p21 + half))})
    print(json.dumps(out))
else:
    raise SystemExit(f"unknown task {d['task']!r}")
