"""Properties of SkillCurves and of the file loaders under random shapes, names and bytes.

- SkillCurves(times, loss, names, frequencies): random shapes and values give a ValueError that
  names the argument, or an object holding exactly the values given (the caller's arrays neither
  changed nor frozen);
- save -> load (npz and csv) gives identical arrays, names (unicode, commas, quotes, newlines,
  spaces, '#') and metadata; a name with NUL is refused;
- a corrupted or truncated file, or random bytes, is a ValueError/OSError whose message names the
  file, or loads data identical to what was saved: never different data, never a raw traceback.
  The same for a scaling sweep's config.json and point files (load_scaling_sweep).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, example, given, note, settings
from hypothesis import strategies as st

import skillode as sk

from . import budget, mentions, non_numeric, numeric_argument

FILE_ERRORS = (ValueError, OSError)


# ------------------------------------------------------------------------- strategies
finite = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True)
positive = st.floats(min_value=5e-324, max_value=1.7976931348623157e308, allow_subnormal=True)
tricky_names = st.sampled_from(
    [",", '"', "'", "a,b", 'say "hi"', "line\nbreak", "cr\rlf\r\n", " padded ", "\t", "", "#hash", "# skillode-meta x"]
    + ["step", "skill", "value", "ü", "名前", "\u2028", "\ufeffbom", "a\x1cb", "😀", "x" * 60, "1e5", "nan"]
)
names_text = st.one_of(
    tricky_names,
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**60), 2**60), finite, st.text(max_size=8))
metadata = st.dictionaries(
    st.text(max_size=6),
    st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner)),
    max_size=4,
)


@st.composite
def valid_curves(draw, *, max_times: int = 6, max_skills: int = 4) -> sk.SkillCurves:
    """Any valid SkillCurves: increasing finite times, finite losses of any size and sign, tricky
    names, frequencies (tiny to huge) or none, and JSON metadata."""
    n_t = draw(st.integers(1, max_times))
    n = draw(st.integers(1, max_skills))
    times = np.array(sorted(draw(st.lists(finite, min_size=n_t, max_size=n_t, unique=True))))
    assume(np.all(np.diff(times) > 0))  # 0.0 and -0.0 are not distinct
    loss = np.array(draw(st.lists(finite, min_size=n_t * n, max_size=n_t * n))).reshape(n_t, n)
    names = tuple(draw(st.lists(names_text, min_size=n, max_size=n, unique=True)))
    freqs = draw(st.one_of(st.none(), st.lists(positive, min_size=n, max_size=n)))
    return sk.SkillCurves(times, loss, names, freqs, draw(metadata))


def same_bits(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def identical(a: sk.SkillCurves, b: sk.SkillCurves) -> bool:
    """The same data, bit for bit (-0.0 is not 0.0), the same names and the same metadata."""
    return (
        same_bits(a.times, b.times)
        and same_bits(a.loss, b.loss)
        and same_bits(a.frequencies, b.frequencies)
        and a.names == b.names
        and a.metadata == b.metadata
    )


def fresh_dir(factory) -> Path:
    return factory.mktemp("prop", numbered=True)


# ----------------------------------------------------------------------- constructor
def ok_array(value) -> np.ndarray | None:
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None


def constructor_faults(times, loss, names, frequencies) -> tuple[set[str], int | None]:
    """The arguments SkillCurves must refuse (any of them may be the one named), and n_skills if none."""
    bad: set[str] = set()
    t, l = ok_array(times), ok_array(loss)
    if t is None:
        bad.add("times")
    else:
        t = t.reshape(1) if t.ndim == 0 else t
        if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            bad.add("times")
    if l is None:
        bad.add("loss")
    else:
        l = l[:, None] if l.ndim == 1 else l
        if l.ndim != 2 or not np.all(np.isfinite(l)):
            bad.add("loss")
        elif t is not None and t.ndim == 1 and l.shape[0] != t.size:
            bad |= {"loss", "times"}  # the shapes disagree: either may be named
    if bad or l is None:
        return bad or {"loss"}, None
    n = l.shape[1]
    if names:  # None, () and [] mean the default names
        given_names = [str(v) for v in names]
        if len(given_names) != n or len(set(given_names)) != n or any("\x00" in s for s in given_names):
            bad.add("names")
    if frequencies is not None:
        f = ok_array(frequencies)
        if f is None or f.size != n or not np.all(np.isfinite(f)) or np.any(f <= 0):
            bad.add("frequencies")
    return bad, (None if bad else n)


names_argument = st.one_of(
    st.none(),
    st.just(()),
    st.lists(st.one_of(names_text, st.integers(0, 3), st.just("a\x00b")), max_size=5),
)


@settings(max_examples=budget(5))
@given(
    times=numeric_argument,
    loss=st.one_of(
        numeric_argument,
        st.integers(1, 4).flatmap(lambda n: st.lists(st.lists(finite, min_size=n, max_size=n), max_size=4)),
    ),
    names=names_argument,
    frequencies=st.one_of(st.none(), numeric_argument),
)
@example(times=[0.0, 1.0], loss=[[1.0], [0.5]], names=["a\x00"], frequencies=None)
@example(times=[0.0, 0.0], loss=[[1.0], [0.5]], names=None, frequencies=None)
@example(times=[[0.0, 1.0]], loss=[[1.0], [0.5]], names=None, frequencies=None)
@example(times=[], loss=[], names=None, frequencies=None)
@example(times=[0.0, 1.0], loss=[[1.0], [0.5]], names=None, frequencies=[0.0])
@example(times=[0.0, 1.0], loss=[[1.0, 2.0], [0.5, np.inf]], names=None, frequencies=None)
def test_skill_curves_names_a_bad_argument_or_keeps_the_values(times, loss, names, frequencies):
    # (an empty list of skills, loss of shape (n_t, 0), is tested on its own below)
    assume(not (ok_array(loss) is not None and ok_array(loss).ndim == 2 and ok_array(loss).shape[1] == 0))
    saved = {
        k: v.copy() for k, v in (("times", times), ("loss", loss), ("f", frequencies)) if isinstance(v, np.ndarray)
    }
    bad, n = constructor_faults(times, loss, names, frequencies)
    if bad:
        with pytest.raises(ValueError) as info:
            sk.SkillCurves(times, loss, names, frequencies)
        assert any(mentions(str(info.value), a) for a in bad), f"{info.value} names none of {sorted(bad)}"
    else:
        c = sk.SkillCurves(times, loss, names, frequencies)
        assert c.n_skills == n
        assert np.array_equal(c.times, np.array(times, dtype=np.float64).reshape(-1))
        assert np.array_equal(c.loss, np.array(loss, dtype=np.float64).reshape(c.n_times, n))
        assert c.names == (tuple(str(v) for v in names) if names else tuple(f"skill{k + 1}" for k in range(n)))
        for arr in (c.times, c.loss) + (() if c.frequencies is None else (c.frequencies,)):
            assert not arr.flags.writeable
            assert not any(np.shares_memory(arr, v) for v in (times, loss, frequencies) if isinstance(v, np.ndarray))
    for key, value in (("times", times), ("loss", loss), ("f", frequencies)):
        if key in saved:  # the caller's arrays are neither changed nor frozen
            assert value.flags.writeable and np.array_equal(value, saved[key], equal_nan=True)


@settings(max_examples=budget(0.25))
@given(which=st.sampled_from(["times", "loss", "frequencies"]), value=non_numeric)
@example(which="times", value="abc")
@example(which="loss", value=[[1.0], [2.0, 3.0]])
@example(which="frequencies", value="x")
def test_non_numeric_arrays_are_refused_by_name(which, value):
    args = {"times": [0.0, 1.0], "loss": [[1.0], [0.5]], "names": None, "frequencies": None, which: value}
    with pytest.raises(ValueError) as info:
        sk.SkillCurves(**args)
    assert mentions(str(info.value), which), str(info.value)


@pytest.mark.parametrize(
    ("which", "value"),
    [
        ("names", 5),
        ("metadata", [1]),
        ("metadata", 5),
        ("names", ["a", "a"]),
        ("names", ["a"]),
    ],
)
def test_names_and_metadata_of_the_wrong_kind_are_refused_by_name(which, value):
    args = {"times": [0.0, 1.0], "loss": [[1.0, 1.0], [0.5, 0.5]], which: value}
    with pytest.raises(ValueError) as info:
        sk.SkillCurves(**args)
    assert mentions(str(info.value), which), str(info.value)


@settings(max_examples=budget(1))
@given(names=st.lists(names_text, min_size=1, max_size=3, unique=True), where=st.integers(0, 2), at=st.integers(0, 12))
def test_a_name_with_nul_is_refused(names, where, at):
    k = where % len(names)
    names[k] = names[k][:at] + "\x00" + names[k][at:]
    assume(len(set(names)) == len(names))
    with pytest.raises(ValueError, match="names"):
        sk.SkillCurves(np.arange(2.0), np.ones((2, len(names))), names)


# ------------------------------------------------------------------------ round trip
@settings(max_examples=budget(2))
@given(curves=valid_curves(), suffix=st.sampled_from([".npz", ".csv"]), stem=st.sampled_from(["c", "my curves ü,1"]))
@example(
    curves=sk.SkillCurves(
        [-0.0, 5e-324, 1e308], [[-0.0, 1e-310], [1.0, -2.5], [3.0, 0.0]], ("a,b", 'q"\n'), [5e-324, 1e308]
    ),
    suffix=".csv",
    stem="c",
)
def test_save_then_load_gives_identical_curves(tmp_path_factory, curves, suffix, stem):
    if suffix == ".csv":  # a name with a bare CR: test_a_name_with_a_bare_cr_round_trips_through_csv
        assume(not any("\r" in name and "\n" not in name for name in curves.names))
    path = fresh_dir(tmp_path_factory) / (stem + suffix)
    assert curves.save(path) == path
    loaded = sk.SkillCurves.load(path)
    note(f"names {curves.names!r} -> {loaded.names!r}")
    assert identical(loaded, curves)
    assert sk.load_curves(path).names == curves.names  # the fitting entry point reads it too


@settings(max_examples=budget(0.25))
@given(before=st.text("ab,", max_size=3), after=st.text("ab", max_size=3))
@example(before="", after="0")
def test_a_name_with_a_bare_cr_round_trips_through_csv(tmp_path_factory, before, after):
    curves = sk.SkillCurves([0.0], [[0.0]], (before + "\r" + after,))
    path = curves.save(fresh_dir(tmp_path_factory) / "cr.csv")
    assert identical(sk.SkillCurves.load(path), curves)


@settings(max_examples=budget(0.1))
@given(n_t=st.integers(1, 4), suffix=st.sampled_from([".csv", ".npz"]))
@example(n_t=2, suffix=".csv")
def test_zero_skill_curves_are_refused_or_round_trip(tmp_path_factory, n_t, suffix):
    try:
        curves = sk.SkillCurves(np.arange(float(n_t)), np.zeros((n_t, 0)))
    except ValueError as exc:  # refusing zero skills is fine too
        assert mentions(str(exc), "loss") or mentions(str(exc), "names"), str(exc)
        return
    path = curves.save(fresh_dir(tmp_path_factory) / ("z" + suffix))
    assert identical(sk.SkillCurves.load(path), curves)


# ----------------------------------------------------------------------- corruptions
@st.composite
def corruptions(draw, size: int) -> list[tuple]:
    """One to three edits of a file of `size` bytes: bit flips, overwrites, insertions, deletions, truncation."""
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "overwrite", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(size - 1, 0)))
        if kind == "flip":
            edits.append((kind, at, 1 << draw(st.integers(0, 7))))
        elif kind in ("overwrite", "insert"):
            edits.append((kind, at, draw(st.binary(min_size=1, max_size=8))))
        else:
            edits.append((kind, at, draw(st.integers(1, 16))))
    return edits


def corrupt(data: bytes, edits: list[tuple]) -> bytes:
    b = bytearray(data)
    for kind, at, arg in edits:
        at = min(at, max(len(b) - 1, 0))
        if kind == "flip" and b:
            b[at] ^= arg
        elif kind == "overwrite":
            b[at : at + len(arg)] = arg
        elif kind == "insert":
            b[at:at] = arg
        elif kind == "delete":
            del b[at : at + arg]
        elif kind == "truncate":
            del b[at:]
    return bytes(b)


def load_or_error(path: Path):
    """SkillCurves.load(path), or the ValueError/OSError it raised (any other exception propagates)."""
    try:
        return sk.SkillCurves.load(path)
    except FILE_ERRORS as exc:
        return exc


@settings(max_examples=budget(2.5))
@given(curves=valid_curves(max_times=4, max_skills=3), data=st.data())
def test_a_corrupted_npz_is_refused_by_name_or_loads_identical_data(tmp_path_factory, curves, data):
    folder = fresh_dir(tmp_path_factory)
    original = curves.save(folder / "orig.npz").read_bytes()
    edits = data.draw(corruptions(len(original)), label="edits")
    damaged = folder / "damaged.npz"
    damaged.write_bytes(corrupt(original, edits))
    result = load_or_error(damaged)
    if isinstance(result, Exception):
        assert damaged.name in str(result), f"the error does not name the file: {result}"
    else:
        assert identical(result, curves), "a damaged npz loaded different data"


@settings(max_examples=budget(0.1))
@given(entry=st.integers(0, 6), central=st.booleans())
@example(entry=0, central=True)
def test_npz_with_the_encrypted_flag_is_refused_by_name_or_harmless(tmp_path_factory, entry, central):
    path = sk.SkillCurves([0.0, 1.0], [[1.0], [0.5]], ("a",)).save(fresh_dir(tmp_path_factory) / "c.npz")
    b = bytearray(path.read_bytes())
    signature, offset = (b"PK\x01\x02", 8) if central else (b"PK\x03\x04", 6)
    at = -1
    for _ in range(entry + 1):
        at = b.find(signature, at + 1)
    assume(at >= 0)
    b[at + offset] |= 1  # the general-purpose flags: bit 0, "encrypted"
    path.write_bytes(bytes(b))
    # refused by name, or (a flag in a local header, which zipfile does not read) the same data
    result = load_or_error(path)
    if isinstance(result, Exception):
        assert "c.npz" in str(result), str(result)
    else:
        assert identical(result, sk.SkillCurves([0.0, 1.0], [[1.0], [0.5]], ("a",)))


def csv_outcome(path: Path):
    """SkillCurves.load(path) of a CSV: the curves, or the ValueError/OSError (which must name the file)."""
    try:
        return sk.SkillCurves.load(path)
    except FILE_ERRORS as exc:
        assert path.name in str(exc), f"the error does not name the file: {exc}"
        return exc


@settings(max_examples=budget(2.5))
@given(curves=valid_curves(max_times=4, max_skills=3), data=st.data())
def test_a_corrupted_csv_is_refused_by_name_or_loads_valid_curves(tmp_path_factory, curves, data):
    """CSV carries no checksum (see the xfail below): a damaged file may load different values,
    but it is refused by name or loads a valid SkillCurves, never a raw exception."""
    folder = fresh_dir(tmp_path_factory)
    original = curves.save(folder / "orig.csv").read_bytes()
    edits = data.draw(corruptions(len(original)), label="edits")
    damaged = folder / "damaged.csv"
    damaged.write_bytes(corrupt(original, edits))
    result = csv_outcome(damaged)
    if isinstance(result, Exception):
        assert damaged.name in str(result), f"the error does not name the file: {result}"
    else:
        assert isinstance(result, sk.SkillCurves) and np.all(np.isfinite(result.loss))


@settings(max_examples=budget(0.5))
@given(curves=valid_curves(max_times=4, max_skills=3), data=st.data())
@example(curves=sk.SkillCurves([0.0, 1.0, 2.0], [[1.0], [0.5], [0.25]], ("a",)), data=None)
def test_a_corrupted_csv_never_loads_different_data(tmp_path_factory, curves, data):
    folder = fresh_dir(tmp_path_factory)
    original = curves.save(folder / "orig.csv").read_bytes()
    if data is None:  # the explicit example: drop the last row
        damaged_bytes = original[: original.rstrip(b"\n").rfind(b"\n") + 1]
    else:
        damaged_bytes = corrupt(original, data.draw(corruptions(len(original)), label="edits"))
    damaged = folder / "damaged.csv"
    damaged.write_bytes(damaged_bytes)
    result = load_or_error(damaged)
    if isinstance(result, Exception):
        assert damaged.name in str(result)
    else:
        assert identical(result, curves), "a damaged CSV loaded different data"


@pytest.mark.parametrize(
    "text",
    [
        "step,a\n0,1\r5\n",
        '# skillode-meta {"frequencies": [1, 2], "layout": "wide"}\nstep,a\n0,1\n',
        '# skillode-meta {"frequencies": "x", "layout": "wide"}\nstep,a\n0,1\n',
        '# skillode-meta {"metadata": [1], "layout": "wide"}\nstep,a\n0,1\n',
        "step,a,a\n0,1,2\n",
        "step,a\n0,1,2\n",  # these are already refused by name
        "step,a\n0,nan\n",
        '# skillode-meta {"layout": "diagonal"}\nstep,a\n0,1\n',
        '# skillode-meta {"names": ["b"], "layout": "wide"}\nstep,a\n0,1\n',
    ],
)
def test_csv_faults_are_refused_by_name(tmp_path, text):
    path = tmp_path / "hand.csv"
    path.write_text(text, encoding="utf-8", newline="")
    with pytest.raises(FILE_ERRORS, match=r"hand\.csv"):
        sk.SkillCurves.load(path)


@settings(max_examples=budget(3))
@given(
    content=st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=100).map(lambda b: b"PK\x03\x04" + b),  # a zip signature, then garbage
        st.binary(max_size=100).map(lambda b: b"\x93NUMPY" + b),  # an npy signature, then garbage
        st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
    ),
    suffix=st.sampled_from([".npz", ".csv", ".NPZ"]),
)
@example(content=b"", suffix=".npz")
@example(content=b"", suffix=".csv")
@example(content=b"\xff\xfe\x00", suffix=".csv")
def test_random_bytes_are_refused_by_name(tmp_path_factory, content, suffix):
    path = fresh_dir(tmp_path_factory) / ("random" + suffix)
    path.write_bytes(content)
    result = csv_outcome(path) if suffix == ".csv" else load_or_error(path)
    if isinstance(result, Exception):
        assert path.name in str(result), f"the error does not name the file: {result}"
    else:  # random text that happens to be a valid CSV
        assert suffix == ".csv" and np.all(np.isfinite(result.loss))


@settings(max_examples=budget(0.5))
@given(kind=st.sampled_from(["missing", "folder", "wrong suffix"]), suffix=st.sampled_from([".npz", ".csv"]))
def test_a_path_that_is_not_a_curves_file_is_refused_by_name(tmp_path_factory, kind, suffix):
    folder = fresh_dir(tmp_path_factory)
    path = folder / ("absent" + suffix)
    if kind == "folder":
        path = folder / ("adir" + suffix)
        path.mkdir()
    elif kind == "wrong suffix":
        path = folder / "curves.txt"
        path.write_text("step,a\n0,1\n")
    with pytest.raises(ValueError, match=path.name.replace(".", r"\.")):
        sk.SkillCurves.load(path)


# -------------------------------------------------------------- a scaling sweep's files
@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory) -> Path:
    """A finished one-point scaling sweep (config.json and points/N0000004.npz), made once."""
    out = tmp_path_factory.mktemp("sweep")
    config = sk.ScalingSweepConfig(alphas=(1.5,), Ns=(4,), seeds=(0,), steps=10, n_skills=3, n_record=3)
    sk.run_scaling_sweep(config, out)
    return out


def sweep_copy(sweep_dir: Path, factory) -> Path:
    target = fresh_dir(factory) / "sweep"
    shutil.copytree(sweep_dir, target)
    return target


def same_sweep(a, b) -> bool:
    return (
        a.config == b.config and np.array_equal(a.total_loss, b.total_loss, equal_nan=True) and a.missing == b.missing
    )


@contextlib.contextmanager
def sweep_warnings():
    """The messages skillode.sweeps logs at WARNING or above inside the block."""
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger, handler = logging.getLogger("skillode.sweeps"), Collect(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def load_sweep_or_error(out: Path):
    try:
        return sk.load_scaling_sweep(out)
    except FILE_ERRORS as exc:
        return exc


@settings(max_examples=budget(1))
@given(data=st.data())
@example(data=None)
def test_a_corrupted_sweep_config_is_refused_by_name_or_harmless(sweep_dir, tmp_path_factory, data):
    """A damaged config.json is refused naming it (or naming the point file whose digest no longer
    matches), or loads the very same sweep. (A value changed in a sweep without any point file
    yet cannot be detected: config.json carries no checksum.)"""
    out = sweep_copy(sweep_dir, tmp_path_factory)
    before = sk.load_scaling_sweep(out)
    cfg = out / "config.json"
    original = cfg.read_bytes()
    cfg.write_bytes(original[:-5] if data is None else corrupt(original, data.draw(corruptions(len(original)))))
    result = load_sweep_or_error(out)
    if isinstance(result, Exception):
        named = "config.json" in str(result) or "N0000004.npz" in str(result)
        assert named, f"the error names neither config.json nor the point file: {result}"
    else:
        assert same_sweep(result, before), "a damaged config.json loaded a different sweep"


@settings(max_examples=budget(1))
@given(data=st.data())
@example(data=None)
def test_a_corrupted_sweep_point_is_refused_by_name_or_reported_missing(sweep_dir, tmp_path_factory, data):
    """A damaged point file is refused naming it, or counted as missing with a warning naming it
    (a resumed sweep then recomputes it), or loads the very same losses: never different numbers."""
    out = sweep_copy(sweep_dir, tmp_path_factory)
    before = sk.load_scaling_sweep(out)
    point = next((out / "points").glob("*.npz"))
    original = point.read_bytes()
    point.write_bytes(original[:100] if data is None else corrupt(original, data.draw(corruptions(len(original)))))
    with sweep_warnings() as warned:
        result = load_sweep_or_error(out)
    if isinstance(result, Exception):
        assert point.name in str(result), f"the error does not name {point.name}: {type(result).__name__}: {result}"
    elif result.missing:
        assert result.missing == (4,) and np.all(np.isnan(result.total_loss))
        assert any(point.name in w for w in warned), f"no warning names {point.name}: {warned}"
    else:
        assert same_sweep(result, before), "a damaged point file loaded different losses"


@settings(max_examples=budget(1))
@given(
    content=st.one_of(
        st.binary(max_size=64),
        st.sampled_from([b"5", b"null", b"[]", b"{}", b"\xff", b'{"alphas": 5}', b'{"Ns": [4], "x": 1}']),
        st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
    )
)
@example(content=b"5")
@example(content=b"not json")
@example(content=b'{"steps": "many"}')
def test_random_bytes_as_sweep_config_are_refused_by_name(sweep_dir, tmp_path_factory, content):
    out = sweep_copy(sweep_dir, tmp_path_factory)
    (out / "config.json").write_bytes(content)
    result = load_sweep_or_error(out)
    if isinstance(result, Exception):
        assert "config.json" in str(result) or "N0000004.npz" in str(result), str(result)
    else:  # the bytes happen to be a valid configuration (b"{}": every default)
        assert result.config == sk.ScalingSweepConfig.from_dict(json.loads(content))


def test_the_sweep_fixture_round_trips(sweep_dir):
    """The untouched sweep loads (so the properties above test the damage, not the fixture)."""
    res = sk.load_scaling_sweep(sweep_dir)
    assert res.missing == () and np.all(np.isfinite(res.total_loss))
    assert json.loads((sweep_dir / "config.json").read_text())["Ns"] == [4]


def test_names_as_a_numpy_array_are_names():
    curves = sk.SkillCurves([0.0, 1.0], [[1.0, 1.0], [0.5, 0.2]], names=np.array(["a", "b"]))
    assert curves.names == ("a", "b")
