"""SkillCurves: derived quantities, files, and the solve CLI."""

import json

import numpy as np
import pytest

import skillode as sk
from skillode.cli import main


def linear_curves():
    t = np.arange(0.0, 11.0)
    loss = np.column_stack([1.0 - 0.1 * t, 1.0 - 0.05 * t])
    return sk.SkillCurves(t, loss, ("fast", "slow"), [2.0, 1.0], {"seed": 3})


def test_learning_times_interpolate_linear_losses_exactly():
    c = linear_curves()
    # l = 1 - 0.1 t reaches 0.35 at t = 6.5; l = 1 - 0.05 t reaches it at t = 13 (never here)
    lt = c.learning_times(0.35)
    assert lt[0] == pytest.approx(6.5, abs=1e-12)
    assert np.isnan(lt[1])
    assert c.learning_times(0.5, relative=True) == pytest.approx([5.0, 10.0])


def test_total_loss_and_skill_level():
    c = linear_curves()
    assert c.total_loss()[4] == pytest.approx((2 * 0.6 + 1 * 0.8) / 3)
    assert c.total_loss(weights=[1.0, 1.0])[4] == pytest.approx(0.7)
    assert c.skill_level()[4] == pytest.approx([0.4, 0.2])
    with pytest.raises(ValueError, match="weights must be 2"):
        c.total_loss(weights=[1.0])


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_save_load_roundtrip(tmp_path, suffix):
    model = sk.ResourceModel([1.0, 0.3, 0.01], 0.05, 0.02, names=["a", "b", "c"])
    curves = sk.solve(model, steps=100).curves
    back = sk.SkillCurves.load(curves.save(tmp_path / f"curves{suffix}"))
    assert back.names == ("a", "b", "c")
    assert np.array_equal(back.times, curves.times)
    assert np.array_equal(back.loss, curves.loss)  # repr() round-trips float64 exactly
    assert np.array_equal(back.frequencies, curves.frequencies)
    assert back.metadata["model"]["eta"] == 0.05


def test_long_csv_is_read_into_the_same_curves():
    text = "step,skill,value\n0,a,1.0\n0,b,1.0\n5,b,0.7\n5,a,0.4\n10,a,0.1\n10,b,0.5\n"
    c = sk.SkillCurves.from_csv_text(text)
    assert c.names == ("a", "b")
    assert np.array_equal(c.times, [0.0, 5.0, 10.0])
    assert np.array_equal(c.loss, [[1.0, 1.0], [0.4, 0.7], [0.1, 0.5]])


@pytest.mark.parametrize(
    "text, match",
    [
        ("step,a\n", "needs a header row and at least one data row"),
        ("epoch,a\n0,1\n", "first column must be 'step'"),
        ("step,a\n0,1\n0,0.5\n", "steps must be strictly increasing"),
        ("step,a,b\n0,1\n", "row 1 has 2 columns, header has 3"),
        ("step,a\n0,nan\n", "not finite"),
        ("step,a\n0,x\n", "'x' is not a number"),
        ("step,skill,value\n0,a,1\n5,b,1\n", "skill 'b' has no value at step 0"),
        ("step,skill,value\n0,a,1\n0,a,2\n", "duplicate entry"),
        ("# skillode-meta {bad\nstep,a\n0,1\n", "malformed skillode-meta"),
    ],
)
def test_malformed_csv_gets_a_clear_error(text, match):
    with pytest.raises(ValueError, match=match):
        sk.SkillCurves.from_csv_text(text)


def test_constructor_rejects_inconsistent_arrays(tmp_path):
    with pytest.raises(ValueError, match="loss must have shape"):
        sk.SkillCurves([0.0, 1.0], np.ones((3, 2)))
    with pytest.raises(ValueError, match="loss must be finite"):
        sk.SkillCurves([0.0, 1.0], [[1.0], [np.nan]])
    with pytest.raises(ValueError, match="frequencies must have 1 entries"):
        sk.SkillCurves([0.0, 1.0], [[1.0], [0.5]], frequencies=[1.0, 2.0])
    with pytest.raises(ValueError, match="path must end in .npz or .csv"):
        linear_curves().save(tmp_path / "x.txt")
    with pytest.raises(ValueError, match="does not exist"):
        sk.SkillCurves.load(tmp_path / "missing.csv")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable npz"):
        sk.SkillCurves.load(tmp_path / "bad.npz")


def test_select_and_at():
    c = linear_curves()
    s = c.select(["slow"])
    assert s.names == ("slow",) and s.frequencies.tolist() == [1.0]
    assert c.at([2.5]).loss[0] == pytest.approx([0.75, 0.875])
    with pytest.raises(ValueError, match="unknown skill"):
        c.select(["medium"])
    with pytest.raises(ValueError, match="times must lie within"):
        c.at([11.0])


def test_cli_solve_writes_curves_meta_and_plot(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(
        ["solve", "resource", "--p", "1,0.1", "--eta", "0.019", "--N0", "0.003", "--steps", "300", "--out", str(out)]
    )
    assert rc == 0
    meta = json.loads((out / "meta.json").read_text())
    expected = sk.solve(sk.ResourceModel([1.0, 0.1], 0.019, 0.003), steps=300).learning_times(0.1)
    assert meta["learning_times"] == pytest.approx(expected.tolist(), rel=1e-12)
    curves = sk.SkillCurves.load(out / "curves.csv")
    assert curves.n_times == 301 and curves.n_skills == 2
    assert np.array_equal(curves.loss, sk.SkillCurves.load(out / "curves.npz").loss)
    assert (out / "skills.png").read_bytes()[:4] == b"\x89PNG"
    assert "learning time" in capsys.readouterr().out


@pytest.mark.parametrize("model", ["domino", "parallel"])
def test_cli_solve_limit_models(tmp_path, model):
    n0 = ["--N0", "1"] if model == "parallel" else []  # the Domino model has no N0 (and refuses one)
    rc = main(
        ["solve", model, "--power-law", "2", "--n", "5", "--eta", "0.05", *n0, "--steps", "200", "--out", str(tmp_path)]
    )
    assert rc == 0
    assert json.loads((tmp_path / "meta.json").read_text())["model"]["model"] == model


def test_cli_solve_reports_bad_input_without_traceback(tmp_path, capsys):
    rc = main(["solve", "resource", "--p", "1,-0.1", "--eta", "0.1", "--steps", "10", "--out", str(tmp_path)])
    assert rc == 2
    assert "p[1] = -0.1; frequencies must be positive" in capsys.readouterr().err
