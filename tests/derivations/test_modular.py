"""`skillode derive modular`: its statements against the numpy closed forms, its LP, and that its checks can fail.

(Every check of every derivation passing is tests/derivations/test_derivations.py's job.)
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from skillode import derivations
from skillode.cli import main
from skillode.derivations import modular as md
from skillode.sweeps import halfspace_probability, modular_plateau


def test_registered_with_symbolic_and_numeric_checks():
    assert "modular" in derivations.names()
    rep = derivations.run("modular", check=False)
    assert len(rep.statements) == 8


def test_statements_evaluate_to_the_numpy_closed_forms(capsys):
    # the Hurwitz-zeta statement (sympy, mpmath) against the direct tail sum (numpy), and the binomial sum
    assert main(["derive", "modular", "--at", "n_tasks=1000", "N=100", "alpha=1.5", "l_0=0.6931471805599453"]) == 0
    out = capsys.readouterr().out
    zeta_form = float(re.search(r"\.\.\. in Hurwitz zeta functions: ([0-9.eE+-]+)", out).group(1))
    assert zeta_form == pytest.approx(float(modular_plateau(1000, 100, 1.5)), rel=1e-9)
    law = float(re.search(r"\.\.\. n -> oo, N >> 1: ([0-9.eE+-]+)", out).group(1))
    from scipy.special import zeta

    assert law == pytest.approx(math.log(2) * 100**-0.5 / (0.5 * zeta(1.5)), rel=1e-9)
    wendel = float(re.search(r"incomplete beta function: ([0-9.eE+-]+)", out).group(1))
    assert wendel == pytest.approx(float(halfspace_probability(1000, 100)), rel=1e-9)


def test_halfspace_lp_on_constructed_cases():
    assert md._in_halfspace(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))  # all in the positive quadrant
    assert not md._in_halfspace(np.array([[1.0, 0.0], [-1.0, 0.0]]))  # opposite vectors
    assert not md._in_halfspace(np.array([[1.0, 0.0], [-0.5, 0.8], [-0.5, -0.8]]))  # they surround 0
    rng = np.random.default_rng(0)
    assert all(md._in_halfspace(rng.standard_normal((5, 5))) for _ in range(20))  # n <= N: always


def test_the_plateau_check_fails_for_a_plateau_one_percent_off(monkeypatch):
    good = md._plateau_checks()
    assert all(c.passed for c in good)
    real = md.modular_plateau
    monkeypatch.setattr(md, "modular_plateau", lambda *a, **k: 1.01 * real(*a, **k))
    bad = md._plateau_checks()
    assert all(c.error > 10 * c.tolerance for c in bad)


def test_the_wendel_check_fails_for_a_shifted_formula(monkeypatch):
    # (that it passes with the right formula is test_derivations.py's every-check test)
    monkeypatch.setattr(md, "halfspace_probability", lambda n, N: halfspace_probability(n, np.asarray(N) + 1))
    assert not md._wendel_check().passed
