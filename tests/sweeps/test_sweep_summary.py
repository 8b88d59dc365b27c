"""summarize_scaling's N window and its check that the loss is one power law of N."""

from __future__ import annotations

import numpy as np
import pytest

from skillode.cli import main
from skillode.sweeps import ScalingSweepConfig, ScalingSweepResults, summarize_scaling

NS = (20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 300, 400)


def _planted(law) -> ScalingSweepResults:
    # no simulation: final loss law(N) times a seed factor, and S^-0.5 over the steps
    cfg = ScalingSweepConfig(alphas=(1.5,), Ns=NS, seeds=(0, 1), steps=1000, n_skills=100, n_record=30)
    steps = cfg.record_steps()
    N = np.array(NS, dtype=np.float64)[:, None, None]
    S = np.maximum(steps, 1).astype(np.float64)[None, None, :]
    seed_factor = np.array([1.0, 1.05])[None, :, None]
    total = (law(N) * seed_factor * (S / S[..., -1:]) ** -0.5)[None]
    return ScalingSweepResults(cfg, steps, np.array(total), ())


def test_a_single_power_law_has_one_slope_on_both_halves():
    summary = summarize_scaling(_planted(lambda N: 3.0 * N**-0.7))
    assert summary.n_exponent[0].exponent == pytest.approx(0.7, abs=1e-9)
    low, high = summary.n_halves[0]
    assert low.exponent == pytest.approx(0.7, abs=1e-9) and high.exponent == pytest.approx(0.7, abs=1e-9)
    assert summary.n_curved == (False,) and summary.N_window == (20.0, 400.0)


def test_a_loss_that_steepens_is_flagged_and_a_window_recovers_its_first_law():
    # N^-0.4 up to N = 120 (the lower half of the N), then falling as N^-3: one slope over 20 .. 400 fits neither
    law = lambda N: np.where(N <= 120, N**-0.4, 120.0**-0.4 * (N / 120.0) ** -3.0)  # noqa: E731
    summary = summarize_scaling(_planted(law))
    assert summary.n_curved == (True,)
    low, high = summary.n_halves[0]
    assert low.exponent == pytest.approx(0.4, abs=1e-9) and high.exponent > 1.0
    windowed = summarize_scaling(_planted(law), N_window=(20, 120))
    assert windowed.n_exponent[0].exponent == pytest.approx(0.4, abs=1e-9)
    assert windowed.n_exponent[0].n_points == 6 * 2 and windowed.n_curved == (False,)
    assert windowed.to_dict()["N_window"] == [20.0, 120.0]
    for bad in ((100, 20), (0, 50)):
        with pytest.raises(ValueError, match="N_window"):
            summarize_scaling(_planted(law), N_window=bad)
    with pytest.raises(ValueError, match="at least 3"):
        summarize_scaling(_planted(law), N_window=(25, 50))


def test_cli_refuses_a_bad_window_before_running_anything(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", "scaling", "--out", str(out), "--N", "20", "40", "60", "--N-window", "30", "100"]) == 2
    assert "--N-window 30 100 holds fewer than 3" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())  # no config, no points
