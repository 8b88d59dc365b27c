"""Fig 7 bottom: the notebook's N0 grid search, the setup, and the claims."""

from __future__ import annotations

import math

import numpy as np
import pytest

import skillode as sk
from skillode.validation import n0_dependence as nd
from skillode.validation import reproduction as rp


def _map_curves(p, eta, n0, steps):
    model = sk.ResourceModel(p / p.sum(), eta, n0)
    return sk.solve(model, times=np.arange(steps + 1.0), method="map").curves.loss


def test_grid_search_is_the_notebooks_with_its_pairing():
    p = sk.zipf_frequencies(5, 2.0)
    eta, steps = 0.05, 200
    truth = _map_curves(p, eta, 0.05, steps)  # rows: after 0..steps updates
    # row t of the residual is compared with the map after t + 1 updates (the notebook's pairing),
    # so a residual equal to the map one row ahead gives back its N0 (the last row is not used)
    residual = np.vstack([truth[1:], truth[-1:]])
    grid = tuple(float(x) for x in 10 ** np.linspace(-3, 0, 61))
    best = nd.notebook_best_n0(residual, p, eta, grid)
    assert best["N0"] == pytest.approx(0.05, rel=0.06) and best["error"] < 1e-6 and not best["at_edge"]
    # the error at each grid value equals a per-value loop over skillode's own map solver
    for n0 in grid[::15]:
        mine = nd.notebook_best_n0(residual, p, eta, (n0,))["error"]
        ref = np.mean((residual[:steps] - _map_curves(p, eta, n0, steps)[1:]) ** 2)
        assert mine == pytest.approx(ref, rel=1e-12)


def test_default_is_the_notebooks_setup():
    cfg = nd.N0DependenceConfig()
    assert cfg.matches_notebook() and len(cfg.noises) == 10 and cfg.learning_rates[0] == pytest.approx(1e-5)
    m = cfg.model()
    assert (m.N, m.batch, m.lr, m.noise, m.optimizer, tuple(m.betas), m.eps) == (
        1000,
        128,
        1e-3,
        0.0,
        "adam",
        (0, 0),
        1e-8,
    )
    assert cfg.settings("batch")[0] == {"batch": 8} and cfg.settings("lr")[-1] == {"lr": pytest.approx(0.1)}
    with pytest.raises(ValueError, match="sweeps must be distinct"):
        nd.N0DependenceConfig(sweeps=("noise", "width"))


def test_quick_run_reproduces_the_printed_noise_sweep(tmp_path):
    res = nd.run(nd.QUICK)
    pn = res.metrics["paper_noise"]
    assert all(pn["within_factor"])  # each printed N0 within a factor 2 (measured: 0.87 .. 1.17 at seed 2)
    slope = res.metrics["sweeps"]["noise"]["slope"]
    assert math.isfinite(slope["median"])
    claims = rp.n0_dependence_claims(res)
    assert [c.figure for c in claims] == ["Fig 7 (bottom)"] * 2
    paths = nd.plot(res, tmp_path)
    assert all(p.exists() and p.stat().st_size > 1000 for p in paths)
    # another sweep: the printed numbers do not apply, only the slope row
    other = nd.run(nd.N0DependenceConfig(sweeps=("noise",), noises=(0.01, 0.1), N=200, steps=300, seeds=(0,)))
    assert "paper_noise" not in other.metrics and len(rp.n0_dependence_claims(other)) == 1
