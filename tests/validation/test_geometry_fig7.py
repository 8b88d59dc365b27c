"""The Fig 7 top experiment: the notebook's setup, its Resource map, the variants and the fits."""

from __future__ import annotations

import numpy as np
import pytest

import skillode as sk
from skillode.validation import geometry as geo

SMALL = geo.GeometryConfig(variants=("orig", "noise"), seeds=(2,))  # the notebook's setup: its N0 apply


def test_default_is_the_notebooks_setup():
    cfg = geo.GeometryConfig()
    assert cfg.matches_notebook() and cfg.variants == tuple(geo.FIG7_VARIANTS)
    m = cfg.model()
    # the notebook: 10 tasks, p ~ k^-2 normalised, N 1000, torch Adam betas (0, 0) eps 1e-8, lr 3e-4, batch 1024
    ks = np.arange(1, 11, dtype=float)
    np.testing.assert_allclose(m.p, ks**-2 / np.sum(ks**-2), rtol=1e-14)
    assert (m.N, m.optimizer, tuple(m.betas), m.eps, m.lr, m.batch, m.noise) == (
        1000, "adam", (0.0, 0.0), 1e-8, 3e-4, 1024, 0.0
    )  # fmt: skip
    # each variant changes one thing
    assert cfg.model("ntask").p.size == 100 and cfg.model("dim").N == 100 and cfg.model("bs").batch == 16
    assert tuple(cfg.model("betas").betas) == (0.9, 0.999) and cfg.model("noise").noise == 2e-3
    assert cfg.variant("lr").lr == 1e-4 and not cfg.variant("lr").matches_notebook()
    with pytest.raises(ValueError, match="variants must be distinct names"):
        geo.GeometryConfig(variants=("orig", "nonsense"))
    with pytest.raises(ValueError, match="batch"):
        geo.GeometryConfig(batch=0)


def test_skillode_gradient_is_twice_the_notebooks_so_its_noise_is_doubled():
    # the notebook's update direction is mean_b t (1 - s); skillode's MSE gradient is -2 mean_b t (1 - s).
    # One exact-gradient SGD step from x = 0 on orthonormal tasks: s_k = lr * 2 p_k (the notebook's: lr p_k)
    p = sk.zipf_frequencies(10, 2.0)
    model = sk.GeometryModel(p, 50, tasks="orthogonal", optimizer="sgd", lr=1e-3)
    s1 = 1.0 - np.sqrt(sk.simulate(model, 1, seeds=[0], device="cpu").loss()[0, 1])
    np.testing.assert_allclose(s1, 2 * 1e-3 * p, rtol=1e-9)
    assert geo.FIG7_VARIANTS["noise"] == {"noise": 2e-3}  # the notebook's 1e-3, relative to its gradient


def _notebook_map(p: np.ndarray, eta: float, n0: float, steps: int) -> np.ndarray:
    """The notebook's theory cell, written out: l -= eta p l / (sum p l + N0), clipped at 0."""
    l, out = np.ones_like(p), [np.ones_like(p)]
    for _ in range(steps):
        fg = p * l
        l = np.maximum(l - eta * fg / (fg.sum() + n0), 0.0)
        out.append(l.copy())
    return np.array(out)


def test_paper_mapping_is_the_notebooks_iteration():
    res = geo.run(SMALL)
    for name in SMALL.variants:
        v = res.metrics["variants"][name]
        assert v["paper_N0"] == geo.FIG7_N0[name]
        model = SMALL.model(name)
        eta = 2 * model.lr * np.sqrt(model.N)
        assert v["paper_mapping"]["eta"] == pytest.approx(eta, rel=1e-12)
        ref = _notebook_map(model.p, eta, geo.FIG7_N0[name], SMALL.steps)
        np.testing.assert_allclose(res.curves[f"{name}_resource_paper"].loss, ref, rtol=1e-9, atol=1e-12)
    # the fit with c = 2 fixed can only improve on the paper's N0
    for v in res.metrics["variants"].values():
        assert v["fixed_constant"]["rmse"] <= v["paper_mapping"]["rmse"] + 1e-9
        assert v["fixed_constant"]["eta_constant"] == 2.0
    # gradient noise wastes resource: its N0 is larger
    assert res.metrics["wasteful_N0_above_orig"] == {"noise": True}


def test_fitted_n0_recovers_a_resource_run():
    # a "Geometry" run that is exactly a Resource model (residual = l) gives back its N0 at c = 2
    model = SMALL.model("orig")
    truth = sk.resource_model_for(model, N0=0.004, seed=2)
    times = np.arange(SMALL.steps + 1, dtype=float)
    l = sk.solve(truth, times=times, method="ode").curves.loss
    curves = sk.SkillCurves(times, l**2, model.names, model.p)  # the loss is the residual squared
    fit = sk.fit_resource_mapping(model, curves, seed=2, fit_eta=False)
    assert fit.N0 == pytest.approx(0.004, rel=1e-3)


def test_report_section_names_the_paper_values(tmp_path):
    res = geo.run(geo.GeometryConfig(variants=("orig",), seeds=(2,)))
    assert "| default setup | 0.003 |" in res.markdown
    paths = geo.plot(res, tmp_path)
    assert all(p.exists() and p.stat().st_size > 1000 for p in paths)
    other = geo.run(geo.GeometryConfig(variants=("orig",), N=100, steps=200, seeds=(2,), zipf_alpha=1.5))
    assert not other.metrics["applies"] and other.metrics["variants"]["orig"]["paper_N0"] is None
    assert "not the notebook's setup" in other.markdown
