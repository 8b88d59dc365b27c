"""`skillode solve` expresses what the API expresses: gates, an overlap matrix, skill names."""

from __future__ import annotations

import numpy as np
import pytest

import skillode as sk
from skillode.cli import main


def _solve(tmp_path, *extra):
    out = tmp_path / "out"
    rc = main(["solve", "resource", "--eta", "0.01", "--N0", "0.01", "--steps", "400", "--out", str(out), *extra])
    assert rc == 0
    return sk.SkillCurves.load(out / "curves.npz")


def test_gates_and_names_match_the_api(tmp_path):
    curves = _solve(tmp_path, "--p", "1,1,1", "--names", "a,b,ab", "--gates", "ab:a,b:and:0.5")
    model = sk.ResourceModel(
        [1, 1, 1], 0.01, 0.01, gates=[sk.Gate("ab", ("a", "b"), "and", 0.5)], names=("a", "b", "ab")
    )
    api = sk.solve(model, steps=400, method="ode").curves
    assert curves.names == ("a", "b", "ab")
    np.testing.assert_allclose(curves.loss, api.loss, rtol=0, atol=1e-12)
    assert curves.loss[100, 2] > curves.loss[100, 0]  # the composite waits for its parents


@pytest.mark.parametrize("suffix", [".csv", ".npy"])
def test_overlap_matrix_from_a_file_matches_the_api(tmp_path, suffix):
    C = np.array([[1.0, 0.3], [0.3, 1.0]])
    path = tmp_path / f"C{suffix}"
    if suffix == ".npy":
        np.save(path, C)
    else:
        np.savetxt(path, C, delimiter=",")
    curves = _solve(tmp_path, "--p", "1,0.2", "--C", str(path))
    api = sk.solve(sk.ResourceModel([1, 0.2], 0.01, 0.01, C=C), steps=400, method="ode").curves
    np.testing.assert_allclose(curves.loss, api.loss, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--gates", "2"], "--gates '2': expected SKILL:PARENT"),
        (["--gates", "1:0:xor"], "--gates '1:0:xor': Gate mode must be one of"),
        (["--gates", "1:0:and:x"], "exponent 'x' is not a number"),
        (["--gates", "1:7"], "gates: parent 7 is not a skill index"),
    ],
)
def test_bad_gates_are_named(tmp_path, capsys, extra, match):
    rc = main(["solve", "resource", "--p", "1,1", "--eta", "0.1", "--steps", "5", "--out", str(tmp_path), *extra])
    assert rc == 2
    assert match in capsys.readouterr().err


def test_a_bad_overlap_file_is_named(tmp_path, capsys):
    path = tmp_path / "C.csv"
    np.savetxt(path, np.eye(3), delimiter=",")
    rc = main(
        ["solve", "resource", "--p", "1,1", "--eta", "0.1", "--steps", "5", "--C", str(path), "--out", str(tmp_path)]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert str(path) in err and "C must have shape (2, 2)" in err


def test_resource_options_are_refused_for_the_limits(tmp_path, capsys):
    rc = main(
        ["solve", "domino", "--p", "1,1", "--eta", "0.1", "--steps", "5", "--gates", "1:0", "--out", str(tmp_path)]
    )
    assert rc == 2
    assert "--gates does not apply to the domino model" in capsys.readouterr().err
