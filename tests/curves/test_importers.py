"""Importers: SkillCurves to and from pandas and xarray, and read_curves of tracker logs (CSV
exports, JSON lines, TensorBoard event files). Every expected array is written out by hand or
built independently of the code under test (numpy, the json module, TensorBoard's own writers).
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import warnings

import numpy as np
import pytest

import skillode as sk

pd = pytest.importorskip("pandas")

STEPS = np.array([0.0, 10.0, 20.0, 30.0, 40.0])
LOSS_A = np.array([1.0, 0.6, 0.35, 0.2, 0.1])
LOSS_B = np.array([0.9, 0.8, 0.6, 0.45, 0.3])


def curves() -> sk.SkillCurves:
    return sk.SkillCurves(STEPS, np.column_stack([LOSS_A, LOSS_B]), ("a", "b"), [0.75, 0.25], {"seed": 3})


def tracker_frame(**extra) -> pd.DataFrame:
    data = {"global_step": STEPS.astype(int), "loss/task_a": LOSS_A, "loss/task_b": LOSS_B}
    data.update(extra)
    return pd.DataFrame(data)


@contextlib.contextmanager
def no_warnings():
    """Any warning inside is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def check(c: sk.SkillCurves, times, loss, names) -> None:
    assert c.names == tuple(names)
    np.testing.assert_array_equal(c.times, np.asarray(times, dtype=float))
    np.testing.assert_array_equal(c.loss, np.asarray(loss, dtype=float))


# ------------------------------------------------------------------------ to / from pandas
def test_to_pandas_wide_and_long_hold_the_values():
    wide = curves().to_pandas()
    assert list(wide.columns) == ["step", "a", "b"]
    np.testing.assert_array_equal(wide["step"].to_numpy(), STEPS)
    np.testing.assert_array_equal(wide["a"].to_numpy(), LOSS_A)
    long = curves().to_pandas("long")
    assert list(long.columns) == ["step", "skill", "value"]
    np.testing.assert_array_equal(long["step"].to_numpy(), np.repeat(STEPS, 2))
    assert long["skill"].tolist() == ["a", "b"] * 5
    np.testing.assert_array_equal(long["value"].to_numpy(), np.column_stack([LOSS_A, LOSS_B]).reshape(-1))


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_to_pandas_from_pandas_round_trip(layout):
    with no_warnings():
        back = sk.SkillCurves.from_pandas(curves().to_pandas(layout))
    check(back, STEPS, np.column_stack([LOSS_A, LOSS_B]), ["a", "b"])
    np.testing.assert_array_equal(back.frequencies, [0.75, 0.25])
    assert back.metadata["seed"] == 3 and back.metadata["import"]["layout"] == layout


def test_long_frame_without_attrs_is_recognised():
    df = pd.DataFrame({"step": [0, 0, 5, 5], "skill": ["x", "y", "x", "y"], "loss": [1.0, 2.0, 0.5, 1.5]})
    with no_warnings():
        c = sk.SkillCurves.from_pandas(df)
    check(c, [0, 5], [[1.0, 2.0], [0.5, 1.5]], ["x", "y"])
    assert c.frequencies is None


def test_global_step_is_the_step_and_epoch_is_not():
    df = tracker_frame(epoch=[0, 0, 1, 1, 2])
    with pytest.warns(UserWarning, match="'epoch'"):
        c = sk.SkillCurves.from_pandas(df)
    check(c, STEPS, np.column_stack([LOSS_A, LOSS_B]), ["loss/task_a", "loss/task_b"])
    assert c.metadata["import"]["step"] == "global_step"
    # epoch alone is no step, unless named
    only_epoch = pd.DataFrame({"epoch": [1, 2, 3], "loss": [0.9, 0.5, 0.2]})
    with pytest.raises(ValueError, match="no step column.*'epoch', 'loss'.*step='epoch'"):
        sk.SkillCurves.from_pandas(only_epoch)
    check(sk.SkillCurves.from_pandas(only_epoch, step="epoch"), [1, 2, 3], [[0.9], [0.5], [0.2]], ["loss"])


def test_a_named_index_is_the_step():
    df = tracker_frame().set_index("global_step")
    with no_warnings():
        c = sk.SkillCurves.from_pandas(df)
    check(c, STEPS, np.column_stack([LOSS_A, LOSS_B]), ["loss/task_a", "loss/task_b"])


def test_pandas_default_to_csv_index_column(tmp_path):
    # a step column and pandas' row index 0..n-1 written as an unnamed first column: the index is ignored
    path = tmp_path / "run.csv"
    tracker_frame().to_csv(path)
    assert path.read_text().splitlines()[0] == ",global_step,loss/task_a,loss/task_b"
    with no_warnings():
        c = sk.read_curves(path)
    check(c, STEPS, np.column_stack([LOSS_A, LOSS_B]), ["loss/task_a", "loss/task_b"])
    # steps kept as an unnamed index: written as the unnamed column, used as the step (with a warning)
    df = pd.DataFrame({"loss/task_a": LOSS_A}, index=STEPS.astype(int))
    df.to_csv(path)
    with pytest.warns(UserWarning, match="unnamed first column 'Unnamed: 0'"):
        c = sk.read_curves(path)
    check(c, STEPS, LOSS_A[:, None], ["loss/task_a"])
    # only the row index 0..n-1: no step, said so
    pd.DataFrame({"loss/task_a": LOSS_A}).to_csv(path)
    with pytest.raises(ValueError, match=r"run\.csv: no step column.*'Unnamed: 0' is pandas' row index \(0\.\.4"):
        sk.read_curves(path)


def test_pattern_names_the_skills():
    df = pd.DataFrame(
        {
            "step": STEPS,
            "train/loss_task_a": LOSS_A,
            "train/loss_task_b": LOSS_B,
            "val/loss_task_a": LOSS_A + 1,
            "lr": 0.1,
        }
    )
    with no_warnings():
        c = sk.SkillCurves.from_pandas(df, pattern=r"train/loss_(.+)")
    check(c, STEPS, np.column_stack([LOSS_A, LOSS_B]), ["task_a", "task_b"])
    assert c.metadata["import"]["columns"] == {"task_a": "train/loss_task_a", "task_b": "train/loss_task_b"}
    # the group named 'skill' names it, whatever its position; skills= keeps those named
    c = sk.SkillCurves.from_pandas(df, pattern=r"^(?P<split>train)/loss_(?P<skill>.+)$", skills=["task_b"])
    check(c, STEPS, LOSS_B[:, None], ["task_b"])
    with pytest.raises(ValueError, match="names skill 'task_a' twice.*'train/loss_task_a'.*'val/loss_task_a'"):
        sk.SkillCurves.from_pandas(df, pattern=r"loss_(.+)")
    with pytest.raises(ValueError, match="pattern 'acc/.+' matches no column.*'train/loss_task_a'"):
        sk.SkillCurves.from_pandas(df, pattern="acc/.+")
    renamed = sk.SkillCurves.from_pandas(df, skills={"val/loss_task_a": "a_val"})
    check(renamed, STEPS, (LOSS_A + 1)[:, None], ["a_val"])


def test_wandb_chart_export_band_and_system_columns_are_not_skills(tmp_path):
    path = tmp_path / "wandb_export.csv"
    path.write_text(
        "Step,run-1 - loss/task_a,run-1 - loss/task_a__MIN,run-1 - loss/task_a__MAX,_runtime\n"
        "0,1.0,0.9,1.1,3\n100,0.5,0.4,0.6,7\n200,0.2,0.1,0.3,11\n"
    )
    with no_warnings():
        by_default = sk.read_curves(path)
        by_pattern = sk.read_curves(path, pattern=r"loss/(.+)")
    check(by_default, [0, 100, 200], [[1.0], [0.5], [0.2]], ["run-1 - loss/task_a"])
    check(by_pattern, [0, 100, 200], [[1.0], [0.5], [0.2]], ["task_a"])
    named = sk.read_curves(path, skills={"run-1 - loss/task_a__MAX": "upper"})
    check(named, [0, 100, 200], [[1.1], [0.6], [0.3]], ["upper"])


def test_left_out_numeric_columns_are_named_in_a_warning():
    df = tracker_frame(accuracy=np.linspace(0.1, 0.9, 5), lr=0.01, epoch=[0, 0, 1, 1, 2], run="x")
    with pytest.warns(UserWarning) as record:
        c = sk.SkillCurves.from_pandas(df)
    assert c.names == ("loss/task_a", "loss/task_b")
    msg = " ".join(str(w.message) for w in record)
    assert "left out the numeric columns ['accuracy', 'lr', 'epoch']" in msg
    assert "'run'" not in msg  # a text column is no candidate


def test_a_rising_loss_column_gives_a_warning():
    df = pd.DataFrame({"step": STEPS, "loss/task_a": LOSS_A, "loss/task_b": np.linspace(0.1, 0.9, 5)})
    with pytest.warns(UserWarning, match="column 'loss/task_b' rises overall.*may be an accuracy"):
        c = sk.SkillCurves.from_pandas(df)
    check(c, STEPS, np.column_stack([LOSS_A, np.linspace(0.1, 0.9, 5)]), ["loss/task_a", "loss/task_b"])


def test_nan_is_refused_by_name_or_dropped_and_counted():
    b = LOSS_B.copy()
    b[[1, 3]] = np.nan
    df = tracker_frame(**{"loss/task_b": b})
    with pytest.raises(ValueError, match=r"DataFrame: column 'loss/task_b' is NaN or missing at step 10 \(2 of 5"):
        sk.SkillCurves.from_pandas(df)
    with pytest.warns(UserWarning, match="dropped 2 of 5 rows"):
        c = sk.SkillCurves.from_pandas(df, nan="drop")
    check(c, [0, 20, 40], np.column_stack([LOSS_A[[0, 2, 4]], LOSS_B[[0, 2, 4]]]), ["loss/task_a", "loss/task_b"])
    assert c.metadata["import"]["dropped_rows"] == 2 and c.metadata["import"]["nan"] == "drop"
    inf = tracker_frame(**{"loss/task_a": [1.0, np.inf, 0.3, 0.2, 0.1]})
    with pytest.raises(ValueError, match="column 'loss/task_a' is inf at step 10"):
        sk.SkillCurves.from_pandas(inf)


def test_duplicate_steps_are_an_error_naming_the_step():
    df = pd.DataFrame({"step": [0, 10, 10, 20], "loss": [1.0, 0.5, 0.45, 0.2]})
    with pytest.raises(ValueError, match="step 10 appears 2 times with values in column 'loss'.*drop_duplicates"):
        sk.SkillCurves.from_pandas(df)
    long = pd.DataFrame({"step": [0, 0, 5], "skill": ["x", "x", "x"], "value": [1.0, 0.9, 0.5]})
    with pytest.raises(ValueError, match="step 0 has 2 records for skill 'x'"):
        sk.SkillCurves.from_pandas(long)


def test_rows_of_one_step_logged_separately_are_merged():
    df = pd.DataFrame(
        {"step": [0, 0, 10, 10], "loss/a": [1.0, np.nan, 0.5, np.nan], "loss/b": [np.nan, 2.0, np.nan, 1.0]}
    )
    c = sk.SkillCurves.from_pandas(df)
    check(c, [0, 10], [[1.0, 2.0], [0.5, 1.0]], ["loss/a", "loss/b"])
    assert c.metadata["import"]["merged_rows"] == 2


def test_unsorted_steps_are_sorted_and_said_so():
    order = [3, 0, 4, 1, 2]
    df = pd.DataFrame({"step": STEPS[order], "loss": LOSS_A[order]})
    c = sk.SkillCurves.from_pandas(df)
    check(c, STEPS, LOSS_A[:, None], ["loss"])
    assert c.metadata["import"]["sorted"] is True
    assert sk.SkillCurves.from_pandas(df.sort_values("step")).metadata["import"]["sorted"] is False


def test_unknown_names_are_listed_in_the_error():
    df = tracker_frame(accuracy=0.5)
    with pytest.raises(ValueError, match=r"no column 'loss/task_c'; columns: \['loss/task_a', 'loss/task_b', 'acc"):
        sk.SkillCurves.from_pandas(df, skills=["loss/task_a", "loss/task_c"])
    with pytest.raises(ValueError, match=r"no step column 'iteration'; columns: \['global_step', 'loss/task_a'"):
        sk.SkillCurves.from_pandas(df, step="iteration")
    with pytest.raises(ValueError, match=r"no numeric column has 'loss' in its name; columns: \['acc'\]"):
        sk.SkillCurves.from_pandas(pd.DataFrame({"step": [0, 1], "acc": [0.1, 0.2]}))
    text = pd.DataFrame({"step": [0, 1], "loss": [0.5, "oops"]})
    with pytest.raises(ValueError, match="column 'loss' at step 1 is 'oops', not a number"):
        sk.SkillCurves.from_pandas(text, skills=["loss"])
    # chosen by default, too: a 'loss' column with a bad cell is an error naming the cell, not a skill
    # silently left out (it was skipped as non-numeric, and the other loss columns fitted without it)
    two = pd.DataFrame({"step": [0, 1, 2], "loss/a": [1.0, 0.5, 0.3], "loss/b": [1.0, "x", 0.2]})
    with pytest.raises(ValueError, match="column 'loss/b' at step 1 is 'x', not a number"):
        sk.SkillCurves.from_pandas(two)
    # a text column (a tracker's config) with 'loss' in its name is not a metric: left out, as before
    config = pd.DataFrame({"step": [0, 1, 2], "loss/a": [1.0, 0.5, 0.3], "loss_fn": ["mse"] * 3})
    assert sk.SkillCurves.from_pandas(config).names == ("loss/a",)


def test_key_value_records_choose_loss_keys():
    # MLflow's metric history: key, value, step, timestamp
    df = pd.DataFrame(
        {
            "key": ["loss/a", "acc/a", "loss/a", "acc/a"],
            "value": [1.0, 0.1, 0.4, 0.8],
            "step": [0, 0, 100, 100],
            "timestamp": [1, 1, 2, 2],
        }
    )
    with pytest.warns(UserWarning, match=r"left out \['acc/a'\]"):
        c = sk.SkillCurves.from_pandas(df)
    check(c, [0, 100], [[1.0], [0.4]], ["loss/a"])
    c = sk.SkillCurves.from_pandas(df, pattern=r"acc/(.+)")
    check(c, [0, 100], [[0.1], [0.8]], ["a"])


# ------------------------------------------------------------------------------ xarray
def test_to_xarray():
    pytest.importorskip("xarray")
    da = curves().to_xarray()
    assert da.dims == ("step", "skill") and da.name == "loss"
    np.testing.assert_array_equal(da.coords["step"].to_numpy(), STEPS)
    assert da.coords["skill"].to_numpy().tolist() == ["a", "b"]
    np.testing.assert_array_equal(da.sel(skill="b").to_numpy(), LOSS_B)
    np.testing.assert_array_equal(da.attrs["frequencies"], [0.75, 0.25])
    assert json.loads(da.attrs["metadata"]) == {"seed": 3}


@pytest.mark.parametrize(
    "call, blocked, extra",
    [
        (lambda: curves().to_pandas(), ["pandas"], "skillode[pandas]"),
        (lambda: curves().to_xarray(), ["xarray"], "skillode[xarray]"),
        (lambda: sk.SkillCurves.from_pandas(None), ["pandas"], "skillode[pandas]"),
    ],
)
def test_a_missing_optional_library_names_its_extra(monkeypatch, call, blocked, extra):
    for name in blocked:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match="pip install " + re.escape(extra)):
        call()


def test_missing_tensorboard_names_its_extra(monkeypatch, tmp_path):
    (tmp_path / "events.out.tfevents.1.host").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "tensorboard.backend.event_processing", None)
    with pytest.raises(ImportError, match=r"pip install skillode\[tensorboard\]"):
        sk.read_curves(tmp_path)


# ------------------------------------------------------------------ our own CSV in pandas
def test_our_csv_reads_in_pandas_with_comment_hash(tmp_path):
    path = curves().save(tmp_path / "c.csv")
    df = pd.read_csv(path, comment="#")
    assert list(df.columns) == ["step", "a", "b"]
    np.testing.assert_array_equal(df["step"].to_numpy(), STEPS)
    np.testing.assert_array_equal(df[["a", "b"]].to_numpy(), np.column_stack([LOSS_A, LOSS_B]))


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_read_curves_reads_our_own_files_as_load_does(tmp_path, suffix):
    path = curves().save(tmp_path / f"c{suffix}")
    with no_warnings():
        c = sk.read_curves(path)
    check(c, STEPS, np.column_stack([LOSS_A, LOSS_B]), ["a", "b"])
    np.testing.assert_array_equal(c.frequencies, [0.75, 0.25])
    assert c.metadata == {"seed": 3}
    check(sk.read_curves(path, skills=["b"]), STEPS, LOSS_B[:, None], ["b"])
    with pytest.raises(ValueError, match=rf"c\{suffix}: a skillode file has its own step column"):
        sk.read_curves(path, step="epoch")


def test_read_curves_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        sk.read_curves(tmp_path / "nope.csv")
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    with pytest.raises(ValueError, match=r"x\.parquet: unknown kind of file"):
        sk.read_curves(tmp_path / "x.parquet")
    path = tmp_path / "w.csv"
    path.write_text("# exported by a tracker\nStep,loss/a,loss/b\n0,1.0,2.0\n10,0.5,\n")
    with pytest.raises(ValueError, match=r"w\.csv: column 'loss/b' is NaN or missing at step 10"):
        sk.read_curves(path)
    with pytest.warns(UserWarning, match=r"w\.csv: dropped 1 of 2 rows"):
        check(sk.read_curves(path, nan="drop"), [0], [[1.0, 2.0]], ["loss/a", "loss/b"])


# --------------------------------------------------------------------------- JSON lines
def test_jsonl_one_record_per_step(tmp_path):
    path = tmp_path / "log.jsonl"
    rows = [{"step": int(s), "loss/task_a": a, "loss": {"task_b": b}} for s, a, b in zip(STEPS, LOSS_A, LOSS_B)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")
    with no_warnings():
        c = sk.read_curves(path, pattern=r"^loss/(.+)$")
    check(c, STEPS, np.column_stack([LOSS_A, LOSS_B]), ["task_a", "task_b"])
    assert c.metadata["import"]["origin"] == "jsonl" and c.metadata["import"]["source"] == str(path)


def test_jsonl_long_records(tmp_path):
    path = tmp_path / "log.jsonl"
    rows = [
        {"step": int(s), "skill": k, "loss": v}
        for s, a, b in zip(STEPS, LOSS_A, LOSS_B)
        for k, v in (("a", a), ("b", b))
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    with no_warnings():
        c = sk.read_curves(path)
    check(c, STEPS, np.column_stack([LOSS_A, LOSS_B]), ["a", "b"])


def test_jsonl_bad_line_is_named_and_a_partial_last_line_skipped(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"step": 0, "loss": 1.0}\n{"step": 1, "loss": \n{"step": 2, "loss": 0.5}\n')
    with pytest.raises(ValueError, match=r"log\.jsonl line 2: not JSON"):
        sk.read_curves(path)
    path.write_text('{"step": 0, "loss": 1.0}\n[1, 2]\n')
    with pytest.raises(ValueError, match=r"log\.jsonl line 2: expected a JSON object per line, got list"):
        sk.read_curves(path)
    path.write_text('{"step": 0, "loss": 1.0}\n{"step": 1, "loss": 0.5}\n{"step": 2, "lo')
    with pytest.warns(UserWarning, match="incomplete last line 3"):
        check(sk.read_curves(path), [0, 1], [[1.0], [0.5]], ["loss"])


# --------------------------------------------------------------------------- TensorBoard
def test_tensorboard_event_files_written_by_tensorboards_writers(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary import Writer
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    # TF2-style scalar tensors
    v2 = tmp_path / "v2"
    w = Writer(str(v2))
    for s, a, b in zip(STEPS, LOSS_A, LOSS_B):
        w.add_scalar("loss/task_a", a, step=int(s))
        w.add_scalar("loss/task_b", b, step=int(s))
        w.add_scalar("lr", 0.01, step=int(s))
    w.close()
    expected = np.column_stack([LOSS_A, LOSS_B]).astype(np.float32).astype(np.float64)
    with pytest.warns(UserWarning, match=r"left out \['lr'\]"):
        c = sk.read_curves(v2)
    check(c, STEPS, expected, ["loss/task_a", "loss/task_b"])
    c = sk.read_curves(v2, pattern=r"loss/(.+)")
    check(c, STEPS, expected, ["task_a", "task_b"])
    assert c.metadata["import"]["origin"] == "tensorboard"
    # TF1-style simple_value scalars (torch.utils.tensorboard, tensorboardX), one event file by name
    v1 = tmp_path / "v1"
    fw = EventFileWriter(str(v1))
    for s, a in zip(STEPS, LOSS_A):
        value = summary_pb2.Summary.Value(tag="train/loss_task_a", simple_value=a)
        fw.add_event(event_pb2.Event(step=int(s), wall_time=1.0, summary=summary_pb2.Summary(value=[value])))
    fw.close()
    (event_file,) = v1.glob("events.out.tfevents.*")
    c = sk.read_curves(event_file, pattern=r"train/loss_(.+)")
    check(c, STEPS, LOSS_A.astype(np.float32).astype(np.float64)[:, None], ["task_a"])
    # a log folder of runs: pick one
    with pytest.raises(
        ValueError, match=r"no event files directly in this folder; runs in its subfolders: \['v1', 'v2'\]"
    ):
        sk.read_curves(tmp_path)
    with pytest.raises(ValueError, match=r"v2: no tag 'loss/task_c'; tags: \['loss/task_a', 'loss/task_b', 'lr'\]"):
        sk.read_curves(v2, skills=["loss/task_c"])


# --------------------------------------------------------------------------- fit on a frame
P3 = np.array([0.6, 0.3, 0.1])
T = np.linspace(0.0, 600.0, 61)


def _frame_of_resource_curves() -> pd.DataFrame:
    loss = sk.solve(sk.ResourceModel(P3, 0.01, 0.2), T).curves.loss
    return pd.DataFrame({"step": T, **{f"loss/s{k}": loss[:, k] for k in range(3)}})


def test_to_loss_and_prediction_error_take_a_frame():
    df = _frame_of_resource_curves()
    c = sk.to_loss(df)
    assert c.names == ("loss/s0", "loss/s1", "loss/s2")
    np.testing.assert_array_equal(c.loss, df[["loss/s0", "loss/s1", "loss/s2"]].to_numpy())
    with pytest.raises(ValueError, match=r"curves: DataFrame: no step column.*from_pandas\(df"):
        sk.to_loss(df.drop(columns="step"))


def test_fit_takes_a_dataframe():
    res = sk.fit(_frame_of_resource_curves(), "resource", ["eta", "N0"], frequencies=P3, n_bootstrap=0)
    assert res.estimates["eta"] == pytest.approx(0.01, rel=1e-6)
    assert res.estimates["N0"] == pytest.approx(0.2, rel=1e-6)
    ranked = sk.compare(_frame_of_resource_curves(), ("resource", "parallel"), frequencies=P3, n_bootstrap=0)
    assert ranked.ranking[0] == "resource"
