"""Fig 10's exponents (validation.scaling_laws): the notebook's estimators and the sweep they read."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")

from skillode.sweeps import load_scaling_sweep, run_scaling_sweep  # noqa: E402
from skillode.validation import reproduction as rp  # noqa: E402
from skillode.validation import scaling_laws as sl  # noqa: E402

TINY = sl.ScalingLawsConfig(alphas=(1.0, 2.0), Ns=(20, 40), seeds=(0, 1), steps=300, read_step=250, s_N=20)


def test_estimators_recover_exact_power_laws():
    # L = A N^-a and L = B t^-b: both slopes are the exponents, whatever the prefactor
    Ns = np.array([40.0, 60.0, 220.0])
    loss = np.stack([3.0 * Ns**-0.62, 0.5 * Ns**-1.3])
    np.testing.assert_allclose(sl.n_exponent(Ns, loss), [0.62, 1.3], rtol=1e-13)
    np.testing.assert_allclose(sl.s_exponent(80, 200, 7.0 * 80.0**-0.45, 7.0 * 200.0**-0.45), 0.45, rtol=1e-13)


def test_config_errors_name_the_argument():
    for kwargs, word in (
        ({"panels": ("sgd",)}, "panels"),
        ({"Ns": (40,)}, "Ns"),
        ({"Ns": (220, 40)}, "Ns"),
        ({"read_step": 200_000}, "read_step"),
        ({"s_N": 30}, "s_N"),
        ({"s_steps": (200, 80)}, "s_steps"),
        ({"alphas": (-1.0,)}, "alphas"),
        ({"seeds": ()}, "seeds"),
    ):
        with pytest.raises(ValueError, match=word):
            sl.ScalingLawsConfig(**kwargs)
    assert sl.ScalingLawsConfig().matches_notebook() and not sl.QUICK.matches_notebook()


def test_default_panels_are_the_papers_presets():
    cfg = sl.ScalingLawsConfig()
    adam, signgd = cfg.sweep_config("adam"), cfg.sweep_config("signgd")
    assert adam.betas == (0.9, 0.999) and signgd.betas == (0.0, 0.0)
    for sweep in (adam, signgd):
        assert (sweep.optimizer, sweep.lr, sweep.loss, sweep.batch, sweep.n_skills, sweep.steps) == (
            "adam",
            0.01,
            "ce",
            1024,
            1000,
            100_000,
        )
        assert sweep.Ns == tuple(range(40, 221, 20)) and {80, 200, 99_000} <= set(sweep.record_steps().tolist())


def test_run_reads_the_sweeps_numbers_with_the_notebooks_estimators(tmp_path):
    res = sl.run(TINY)
    for panel in TINY.panels:
        # the same grid through `sweep scaling`: identical arrays, and the exponents by hand from them
        run_scaling_sweep(TINY.sweep_config(panel), tmp_path / panel)
        sweep = load_scaling_sweep(tmp_path / panel)
        np.testing.assert_array_equal(res.arrays[f"total_loss_{panel}"], sweep.total_loss)
        steps = list(sweep.steps)
        at = sweep.total_loss[..., steps.index(250)]  # (A, nN, S)
        med = np.median(at, axis=2)
        pm = res.metrics["panels"][panel]
        for a, row in enumerate(pm["per_alpha"]):
            by_hand = -(math.log(med[a, 1]) - math.log(med[a, 0])) / (math.log(40) - math.log(20))
            assert row["alpha_N"]["notebook"] == pytest.approx(by_hand, rel=1e-12)
            l80, l200 = sweep.total_loss[a, 0, 0, steps.index(80)], sweep.total_loss[a, 0, 0, steps.index(200)]
            assert row["alpha_S"]["seed0"] == pytest.approx(math.log(l80 / l200) / math.log(200 / 80), rel=1e-12)
            assert row["alpha_N"]["line"] == row["alpha"] - 1
        assert pm["alpha_N_within_tolerance"] == (pm["alpha_N_max_abs_diff"] <= sl.N_TOLERANCE)
    assert not res.metrics["applies"]
    claims = rp.scaling_laws_claims(res)
    # per panel: alpha_N and alpha_S against the figure's points, and the line alpha_S follows
    assert [c.figure for c in claims] == ["Fig 10"] * 6
    assert all(c.verdict in ("reproduced", "differs") and "provisional" in c.criterion for c in claims)


def test_a_figure_point_is_matched_only_inside_the_spread_over_seeds():
    cfg = sl.ScalingLawsConfig(alphas=(1.0, 2.0), Ns=(40, 220), seeds=(0, 1), steps=300, read_step=250, s_N=40)
    steps = np.array([0, 80, 200, 250])
    # loss = c_seed N^-e t^-f: every seed's alpha_N is e, its alpha_S is f; seeds differ by the prefactor
    # only, so the spread over seeds is a point and the figure's value must sit within its reading uncertainty
    Ns = np.array([40.0, 220.0])
    e = {1.0: 0.352 + 0.005, 2.0: 1.128 + 0.05}  # adam's points: the first within 0.01, the second not
    f = {1.0: 0.163, 2.0: 0.706}
    total = np.empty((2, 2, 2, 4))
    for a, alpha in enumerate(cfg.alphas):
        for s, c in enumerate((1.0, 1.3)):
            total[a, :, s, :] = c * Ns[:, None] ** -e[alpha] * np.maximum(steps, 1.0)[None, :] ** -f[alpha]
    pm = sl.panel_metrics(cfg, steps, total, "adam")
    first, second = (r["alpha_N"]["figure"] for r in pm["per_alpha"])
    assert first["within_seed_range"] and not second["within_seed_range"]
    assert second["difference"] == pytest.approx(0.05, abs=1e-9)
    assert pm["figure"]["alpha_N"] == {
        "n_compared": 2,
        "max_abs_difference": pytest.approx(0.05, abs=1e-9),
        "n_within_seed_range": 1,
        "matches": False,
    }
    assert pm["figure"]["alpha_S"]["matches"] and pm["figure"]["alpha_S_nearer_line"] == "quanta"
    assert sl.panel_metrics(cfg, steps, total, "signgd")["figure"]["alpha_S_nearer_line"] == "domino"
    assert sl.panel_metrics(cfg, steps, total, "")["per_alpha"][0]["alpha_N"]["figure"] is None


def test_plot_writes_the_figure(tmp_path):
    res = sl.run(
        sl.ScalingLawsConfig(
            panels=("signgd",), alphas=(1.5,), Ns=(20, 30), seeds=(0,), steps=210, read_step=210, s_N=20
        )
    )
    paths = sl.plot(res, tmp_path)
    assert [p.name for p in paths] == ["scaling_laws.png"] and paths[0].stat().st_size > 10_000


def test_report_by_name_only(tmp_path):
    from skillode.validation import resolve_names, write_report

    assert "scaling_laws" not in resolve_names("all") and resolve_names("scaling_laws") == ["scaling_laws"]
    rep = write_report("scaling_laws", tmp_path, configs={"scaling_laws": TINY})
    table = (tmp_path / "reproduction.md").read_text()
    assert table.count("| Fig 10 |") == 6 and "`skillode validate scaling_laws`" in table
    assert (tmp_path / "scaling_laws.png").exists() and rep.figures[0].name == "scaling_laws.png"
    with np.load(tmp_path / "arrays_scaling_laws.npz") as arrays:
        assert arrays["total_loss_adam"].shape == (2, 2, 2, TINY.sweep_config("adam").record_steps().size)
