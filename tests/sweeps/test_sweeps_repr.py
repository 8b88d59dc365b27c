"""Printed forms of the sweep results: one short line, arrays elided (shape only)."""

from __future__ import annotations

import numpy as np

from skillode.sweeps import (
    ScalingSweepConfig,
    ScalingSweepResults,
    TwoSkillSweep,
    fit_chinchilla,
    fit_power_law,
    summarize_scaling,
)


def _assert_compact(text: str, limit: int = 600) -> None:
    assert "\n" not in text, text
    assert "array(" not in text, text
    assert len(text) < limit, text


def _planted_results() -> ScalingSweepResults:
    # no simulation: a planted law L = 0.05 + N^-0.5 + 5 S^-0.7 on the sweep's grid
    cfg = ScalingSweepConfig(
        alphas=(1.5, 2.0),
        Ns=(8, 16, 32, 64),
        seeds=(0, 1),
        steps=1500,
        n_skills=100,
        lr=1e-3,
        n_record=30,
        dtype="float64",
    )
    steps = cfg.record_steps()
    N = np.array(cfg.Ns, dtype=np.float64)[:, None, None]
    S = np.maximum(steps, 1).astype(np.float64)[None, None, :]
    law = 0.05 + N**-0.5 + 5.0 * S**-0.7
    total = np.stack([np.broadcast_to(law * (1 + 0.1 * i), (len(cfg.Ns), 2, steps.size)) for i in range(2)])
    return ScalingSweepResults(cfg, steps, np.array(total), ())


def test_scaling_results_and_summary_reprs_are_short():
    res = _planted_results()
    text = repr(res)
    _assert_compact(text)
    assert text.startswith("ScalingSweepResults(alphas=(1.5, 2), Ns=(8, 16, 32, 64), seeds=(0, 1)")
    assert f"total_loss=<array 2x4x2x{res.steps.size} float64>" in text and "missing=()" in text

    summary = summarize_scaling(res)
    text = repr(summary)
    _assert_compact(text)
    assert text.startswith("ScalingSummary(alphas=(1.5, 2), n_exponent=(")
    assert "PowerLawFit(" not in text and "ChinchillaFit(" not in text
    assert f"{summary.n_exponent[0].exponent:.6g}" in text
    assert repr(summary.n_exponent[0].exponent) not in text  # the short form, not the full float


def test_law_fit_reprs_show_short_numbers():
    x = np.geomspace(1, 100, 10)
    power = fit_power_law(x, 3 * x**-0.5 * (1 + 0.01 * np.sin(x)))
    text = repr(power)
    _assert_compact(text)
    assert f"exponent={power.exponent:.6g}" in text and repr(power.exponent) not in text
    assert f"exponent_ci=({power.exponent_ci[0]:.6g}, {power.exponent_ci[1]:.6g})" in text

    N, S = np.meshgrid(np.geomspace(10, 1000, 5), np.geomspace(10, 1000, 5), indexing="ij")
    rng = np.random.default_rng(0)
    chin = fit_chinchilla(N, S, (0.1 + 2 * N**-0.3 + 3 * S**-0.6) * np.exp(0.01 * rng.standard_normal(N.shape)))
    text = repr(chin)
    _assert_compact(text)
    assert text.startswith("ChinchillaFit(params={'E': ") and f"'a': {chin.params['a']:.6g}" in text
    assert repr(chin.params["a"]) not in text and "ci=" not in text


def test_two_skill_sweep_repr_elides_its_arrays():
    ratios = np.geomspace(1, 100, 9)
    t1 = np.full((2, 9), 100.0)
    sweep = TwoSkillSweep(
        ratios,
        ("sgd", "signgd"),
        t1,
        t1 * ratios,
        ratios * np.ones((2, 1)),
        0.1,
        {"N": 64, "lr": {"sgd": 1e-2, "signgd": 3e-4}, "seed": 0},
    )
    text = repr(sweep)
    _assert_compact(text)
    assert "ratios=<array 9 float64>" in text and "time_ratio=<array 2x9 float64>" in text
    assert "optimizers=('sgd', 'signgd')" in text and "threshold=0.1" in text
