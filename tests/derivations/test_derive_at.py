"""`skillode derive NAME --at ...` evaluates the closed forms; checked against the exact solver."""

from __future__ import annotations

import re

import numpy as np
import pytest

import skillode as sk
from skillode.cli import main


def test_learning_time_ratio_at_given_values_matches_the_solver(capsys):
    assert main(["derive", "learning_time", "--at", "r=10", "eps=0.05", "nu=0.01"]) == 0
    out = capsys.readouterr().out
    ratio = float(re.search(r"t2/t1: ([0-9.eE+-]+)", out).group(1))
    # independent: two skills p = (1, 0.1), N0 = nu * p1, learning times to loss 0.05
    sol = sk.solve(sk.ResourceModel([1.0, 0.1], 0.02, 0.01), np.linspace(0, 1e4, 3), method="exact")
    t1, t2 = sol.learning_times(0.05)
    assert ratio == pytest.approx(t2 / t1, rel=1e-9)
    assert "Domino: r -> oo at N0 = 0 (then eps -> 0 gives 2): 2.052631579" in out  # (2 - eps) / (1 - eps)
    assert "learning time of skill i (MSE, C = I): needs" in out


@pytest.mark.parametrize(
    "args, match",
    [
        (["learning_time", "--at", "x=1"], "x not used by 'learning_time'"),
        (["learning_time", "--at", "r"], "expected NAME=VALUE"),
        (["learning_time", "--at", "r=ten"], "'ten' is not a number"),
        (["learning_time", "limits", "--at", "r=1"], "exactly one NAME"),
    ],
)
def test_bad_values_are_named(capsys, args, match):
    assert main(["derive", *args]) == 2
    assert match in capsys.readouterr().err
