"""Generate the small fixture files in tests/data (run once; the files are committed)."""

# Run from the repository root: .venv/bin/python tests/data/make_fixtures.py (bad_*.csv are hand-written).
import numpy as np

import skillode as sk

rng = np.random.default_rng(20250101)
t = np.arange(0, 601, 20.0)
p = np.array([0.6, 0.3, 0.1])
c = sk.solve(sk.ResourceModel(p, 0.01, 0.2, names=["add", "mul", "mod"]), t).curves
noisy = np.round(c.loss + 0.01 * rng.standard_normal(c.loss.shape), 5)
lines = ["# Resource model p=0.6,0.3,0.1 eta=0.01 N0=0.2, noise sd 0.01, seed 20250101", "step,add,mul,mod"]
lines += [f"{int(ti)},{a},{b},{d}" for ti, (a, b, d) in zip(t, noisy)]
open("tests/data/resource_wide.csv", "w").write("\n".join(lines) + "\n")
# long form accuracy of a binary task: acc = 0.5 + 0.5 * (1 - loss)
acc = np.clip(np.round(0.5 + 0.5 * (1 - c.loss) + 0.005 * rng.standard_normal(c.loss.shape), 5), 0, 1)
lines = ["step,skill,value"]
for i, ti in enumerate(t):
    for k, name in enumerate(c.names):
        lines.append(f"{int(ti)},{name},{acc[i, k]}")
open("tests/data/resource_accuracy_long.csv", "w").write("\n".join(lines) + "\n")
