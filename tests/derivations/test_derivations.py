"""Every derivation's symbolic and numeric checks, the closed forms against independent values,
the renderers and the `skillode derive` command."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import sympy as sp
from scipy.special import zeta

import skillode as sk
from skillode import closed_forms as cf
from skillode import derivations
from skillode.cli import main
from skillode.derivations import _core


@pytest.fixture(scope="module")
def reports() -> dict[str, derivations.DerivationReport]:
    return {name: derivations.run(name) for name in derivations.names()}


def test_the_issue_s_results_are_registered():
    assert set(derivations.names()) >= {
        "exact_solution",
        "learning_time",
        "limits",
        "scaling",
        "compute_optimal",
        "ce_limits",
    }


@pytest.mark.parametrize("name", derivations.names())
def test_every_check_of_a_derivation_passes(reports, name):
    rep = reports[name]
    assert rep.symbolic and rep.numeric, "each result needs a symbolic and a numeric check"
    for check in rep.symbolic:
        assert check.passed, f"{name}: symbolic check failed: {check.description}; residual {check.residual}"
    for check in rep.numeric:
        assert math.isfinite(check.error), f"{name}: {check.description} gave a non-finite error"
        assert check.error <= check.tolerance, (
            f"{name}: {check.description}: error {check.error:.3g} > tolerance {check.tolerance:.3g}"
        )
    assert rep.passed


def test_scaling_exponents_fit_within_three_percent(reports):
    fits = [c for c in reports["scaling"].numeric if "fitted exponent of L(t)" in c.description]
    assert len(fits) == 3  # alpha = 1.5, 2, 3
    assert all(c.tolerance == 0.03 and c.error <= 0.03 for c in fits)


# ------------------------------------------------------------------ closed forms
def test_two_skill_ratio_matches_hand_evaluation_and_limits():
    r, eps, nu = 10.0, 0.1, 0.5
    lam = math.log(1 / eps)
    by_hand = (2 - eps - eps**r + r * nu * lam) / (2 - eps - eps ** (1 / r) + nu * lam)
    assert cf.two_skill_time_ratio(r, eps, nu) == pytest.approx(by_hand, rel=1e-14)
    assert cf.two_skill_time_ratio(1e9, 1e-6, 0.0) == pytest.approx(2.0, rel=1e-5)  # Domino: 2x, not 10x
    assert cf.two_skill_time_ratio(7.0, 0.01, 1e9) == pytest.approx(7.0, rel=1e-6)  # parallel: ratio r
    assert cf.two_skill_time_ratio(1.0, 0.3, 2.0) == pytest.approx(1.0, abs=1e-15)


def test_two_skill_ratio_slope_at_equal_frequencies():
    # by hand: at r = 1 numerator and denominator are both 2 - 2 eps + nu lam, so the slope is
    # (N' - D') / D with N' = (eps + nu) lam and D' = -eps lam; against a central difference
    for eps, nu in ((0.1, 3.0), (0.01, 0.0), (0.3, 0.5)):
        lam = math.log(1 / eps)
        by_hand = lam * (2 * eps + nu) / (2 * (1 - eps) + nu * lam)
        h = 1e-5
        central = (cf.two_skill_time_ratio(1 + h, eps, nu) - cf.two_skill_time_ratio(1 - h, eps, nu)) / (2 * h)
        assert central == pytest.approx(by_hand, rel=1e-8)


def test_learning_time_check_near_equal_frequencies_can_fail(monkeypatch):
    from skillode.derivations import learning_time as lt

    def near(checks):
        (check,) = [c for c in checks if c.description.startswith("near equal frequencies")]
        return check

    check = near(lt.numeric())
    # not the old r = 1 comparison (0 by symmetry): a real, small discrepancy under a tight tolerance
    assert 0 < check.error <= check.tolerance < 1e-4
    # a solver 1% off in N0 (nu) moves the slope by ~1% and must fail the check
    monkeypatch.setattr(lt, "_ode_ratio", lambda r, eps, nu, eta=1.0: float(cf.two_skill_time_ratio(r, eps, 1.01 * nu)))
    bad = near(lt.numeric())
    assert bad.error > 10 * bad.tolerance


def test_learning_times_match_the_ode_solver():
    p = np.array([0.6, 0.3, 0.1])
    model = sk.ResourceModel(p, 1.5, N0=0.2)
    closed = cf.mse_learning_times(p, 0.05, 1.5, 0.2)
    ode = sk.solve(model, [0.0, 1.1 * closed.max()], method="ode", rtol=1e-12, atol=1e-15).learning_times(0.05)
    np.testing.assert_allclose(closed, ode, rtol=1e-8)


def test_scaling_prefactor_at_alpha_two_is_pi_over_two():
    # Gamma(1/2)^2 = pi, so the prefactor is A pi / (2 eta)
    assert cf.scaling_prefactor(2.0, 0.7, 3.0) == pytest.approx(0.7 * math.pi / 2 / 3.0, rel=1e-14)
    with pytest.raises(ValueError, match="alpha"):
        cf.scaling_prefactor(1.0, 1.0)


def test_capacity_tail_is_the_hurwitz_zeta_and_its_asymptote():
    direct = sum(k**-2.5 for k in range(101, 2_000_001))
    assert float(cf.capacity_loss_exact(100, 2.5, 1.0)) == pytest.approx(direct, rel=1e-6)
    assert float(cf.capacity_loss(1e6, 2.0, 1.0)) == pytest.approx(float(zeta(2.0, 1e6 + 1)), rel=1e-5)


def test_chinchilla_optimum_against_a_brute_force_grid():
    E, A, B, a, b, budget = 1.69, 406.4, 410.7, 0.34, 0.28, 1e21
    n_opt, s_opt, l_opt = cf.chinchilla_optimum(budget, E, A, B, a, b)
    grid = np.geomspace(1e6, 1e15, 400_001)
    losses = E + A * grid**-a + B * (budget / grid) ** -b
    assert n_opt * s_opt == pytest.approx(budget, rel=1e-12)
    assert n_opt == pytest.approx(grid[np.argmin(losses)], rel=1e-4)
    assert l_opt == pytest.approx(losses.min(), rel=1e-10)
    with pytest.raises(ValueError, match="budget"):
        cf.chinchilla_optimum(-1.0, E, A, B, a, b)


def test_ce_logit_solves_its_implicit_equation_without_overflow():
    pt = np.array([0.0, 1e-3, 1.0, 50.0, 1e3, 1e8])
    z = cf.ce_logit(pt)
    np.testing.assert_allclose(z + np.exp(z), pt + 1.0, rtol=1e-13)
    tau = cf.ce_tau_at_loss(np.array([2.0]), 0.05)
    assert float(np.logaddexp(0.0, -cf.ce_logit(2.0 * tau))[0]) == pytest.approx(0.05, rel=1e-12)


# ------------------------------------------------------------------- the machinery
def test_a_wrong_statement_fails_its_checks():
    x = sp.Symbol("x", positive=True)
    assert not _core.simplifies_to_zero("x is zero", x).passed
    assert _core.equal("(x+1)^2 expands", (x + 1) ** 2, x**2 + 2 * x + 1).passed
    assert not _core.NumericCheck("too big", 2e-3, 1e-3).passed
    assert not _core.NumericCheck("nan is never within tolerance", float("nan"), 1.0).passed


def test_renderers_cover_each_format(reports):
    chosen = [reports["learning_time"], reports["compute_optimal"]]
    md = derivations.render(chosen, "markdown")
    assert "## learning_time" in md and "$$" in md and "| result | checks | passed |" in md
    assert md.count("[ok]") == sum(len(r.symbolic) + len(r.numeric) for r in chosen)
    # the summary table links to the headings; GitHub's slug of '## learning_time' keeps the underscore
    # (github-slugger: lower-case, spaces to '-', punctuation other than '-' and '_' dropped)
    for r in chosen:
        heading = f"## {r.derivation.name}"
        slug = re.sub(r"[^\w\- ]", "", heading[3:].lower()).replace(" ", "-")
        assert heading in md and f"](#{slug})" in md
    tex = derivations.render(chosen, "latex")
    assert "\\begin{equation*}" in tex and "\\frac" in tex
    text = derivations.render(chosen, "text")
    assert "Assumptions:" in text and "FAIL" not in text
    with pytest.raises(ValueError, match="format"):
        derivations.render(chosen, "html")


def test_cli_prints_one_result(capsys):
    assert main(["derive", "compute_optimal"]) == 0
    out = capsys.readouterr().out
    assert "N_opt" in out and "[ok] numeric" in out


def test_cli_writes_every_statement_to_markdown(tmp_path, capsys):
    out = tmp_path / "DERIVATIONS.md"
    assert main(["derive", "--all", "--no-check", "--out", str(out)]) == 0
    doc = out.read_text()
    for name in derivations.names():
        assert f"## {name}" in doc
    assert "Assumptions:" in doc and "Regime:" in doc


def test_cli_rejects_unknown_names_and_reports_failed_checks(capsys, monkeypatch):
    assert main(["derive", "no_such_result"]) == 2
    assert "unknown derivation 'no_such_result'" in capsys.readouterr().err
    failing = derivations.Derivation(
        name="broken",
        title="a deliberately wrong claim",
        assumptions=(),
        regime="exact",
        statements=lambda: (derivations.Statement("one", sp.Eq(sp.Integer(1), sp.Integer(2))),),
        symbolic=lambda: (_core.equal("1 = 2", sp.Integer(1), sp.Integer(2)),),
        numeric=lambda: (_core.NumericCheck("1 vs 2", 1.0, 0.5),),
    )
    monkeypatch.setitem(_core._REGISTRY, "broken", failing)
    assert main(["derive", "broken"]) == 1
    captured = capsys.readouterr()
    assert "[FAIL]" in captured.out and "checks FAILED in: broken" in captured.err
