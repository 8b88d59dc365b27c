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


def test_no_clip_iterates_the_papers_unclipped_overlap_map(tmp_path):
    # skills 1 and 2 overlap strongly: skill 1's progress overshoots skill 2 below zero
    C = np.array([[1.0, 0.7], [0.7, 1.0]])
    path = tmp_path / "C.npy"
    np.save(path, C)
    p, eta, N0 = np.array([1.0, 0.2]), 0.05, 0.1
    out = tmp_path / "out"
    args = ["--p", "1,0.2", "--eta", str(eta), "--N0", str(N0), "--steps", "300", "--C", str(path)]
    assert main(["solve", "resource", *args, "--method", "map", "--no-clip", "--out", str(out)]) == 0
    curves = sk.SkillCurves.load(out / "curves.npz")
    loop = [np.ones(2)]  # the paper's iteration without np.maximum, written out
    for _ in range(300):
        l = loop[-1]
        loop.append(l - eta * C @ (p * l) / (p @ l + N0))
    np.testing.assert_allclose(curves.loss, np.array(loop), rtol=0, atol=1e-12)
    assert curves.loss.min() < -0.01  # the signed residual does go below zero here
    clipped = tmp_path / "clipped"
    assert main(["solve", "resource", *args, "--method", "map", "--out", str(clipped)]) == 0
    assert sk.SkillCurves.load(clipped / "curves.npz").loss.min() >= 0.0


def test_no_clip_is_refused_for_the_limits(tmp_path, capsys):
    rc = main(["solve", "parallel", "--p", "1,1", "--eta", "0.1", "--steps", "5", "--no-clip", "--out", str(tmp_path)])
    assert rc == 2
    assert "--no-clip does not apply to the parallel model" in capsys.readouterr().err


def test_reweight_solves_the_closed_form_of_the_api(tmp_path):
    curves = _solve(tmp_path, "--p", "1,0.1", "--reweight", "loss")
    api = sk.solve(sk.ResourceModel([1, 0.1], 0.01, 0.01, reweight="loss"), steps=400, method="exact").curves
    np.testing.assert_allclose(curves.loss, api.loss, rtol=0, atol=1e-12)
    plain = sk.solve(sk.ResourceModel([1, 0.1], 0.01, 0.01), steps=400, method="exact").curves
    assert curves.loss[-1, 1] < plain.loss[-1, 1]  # the rare skill is further along
