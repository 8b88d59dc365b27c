"""SkillCurves files: atomic writes, corruption detected by name, every name round-trips."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import skillode as sk
from skillode._files import atomic_write, check_output_dir


def curves(names=("a", "b"), meta=None):
    t = np.arange(5.0)
    loss = np.exp(-np.outer(t, np.arange(1, len(names) + 1) * 0.3))
    return sk.SkillCurves(t, loss, names, np.linspace(1.0, 0.5, len(names)), meta or {"seed": 3, "note": "x"})


def same(a, b):
    return (
        np.array_equal(a.times, b.times)
        and np.array_equal(a.loss, b.loss)
        and a.names == b.names
        and (a.frequencies is None) == (b.frequencies is None)
        and (a.frequencies is None or np.array_equal(a.frequencies, b.frequencies))
        and a.metadata == b.metadata
    )


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_a_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch, suffix):
    path = tmp_path / f"c{suffix}"
    old = curves()
    old.save(path)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(os, "fsync", explode)  # fails after the temporary file is written
    with pytest.raises(RuntimeError, match="disk full"):
        curves(names=("x", "y")).save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left


def test_an_unencodable_name_fails_before_the_file_is_touched(tmp_path):
    path = tmp_path / "c.csv"
    curves().save(path)
    before = path.read_bytes()
    with pytest.raises(UnicodeEncodeError):
        curves(names=("ok", "bad\udc80")).save(path)
    assert path.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


def test_a_killed_save_never_leaves_a_half_written_file(tmp_path):
    path = tmp_path / "big.npz"
    curves().save(path)
    script = textwrap.dedent(f"""
        import numpy as np, skillode as sk
        rng = np.random.default_rng(0)
        c = sk.SkillCurves(np.arange(4000.0), rng.random((4000, 200)), frequencies=np.ones(200))
        print("ready", flush=True)
        while True:
            c.save({str(path)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # several saves of ~6 MB each are under way or done
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    loaded = sk.SkillCurves.load(path)  # the old file or a complete new one, never a torn one
    assert loaded.n_skills in (2, 200)


def test_every_single_byte_corruption_is_caught_or_harmless(tmp_path):
    path = tmp_path / "c.npz"
    original = curves()
    original.save(path)
    data = path.read_bytes()
    caught = harmless = 0
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0xFF
        path.write_bytes(bytes(bad))
        try:
            loaded = sk.SkillCurves.load(path)
        except ValueError as exc:
            assert str(path) in str(exc)
            caught += 1
        else:
            assert same(loaded, original), f"byte {i}: loaded different data without an error"
            harmless += 1
    assert caught > 0.5 * len(data)  # most bytes matter (measured: 1092 of 1567); zip timestamps, flags... do not


def test_every_truncation_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "c.npz"
    curves().save(path)
    data = path.read_bytes()
    for n in range(0, len(data), 7):
        path.write_bytes(data[:n])
        with pytest.raises(ValueError, match="c.npz"):
            sk.SkillCurves.load(path)


def test_an_npz_with_a_renamed_or_missing_member_is_refused(tmp_path):
    c = curves()
    full = {
        "times": c.times,
        "loss": c.loss,
        "names": np.array(c.names),
        "frequencies": c.frequencies,
        "metadata": np.array("{}"),
        "format_version": np.array(1),
        "checksum": np.array("0" * 64),
    }
    np.savez(tmp_path / "bad_sum.npz", **full)
    with pytest.raises(ValueError, match="checksum mismatch"):
        sk.SkillCurves.load(tmp_path / "bad_sum.npz")
    no_meta = {k: v for k, v in full.items() if k != "metadata"}
    np.savez(tmp_path / "no_meta.npz", **no_meta)
    with pytest.raises(ValueError, match=r"missing members \['metadata'\]"):
        sk.SkillCurves.load(tmp_path / "no_meta.npz")
    np.savez(tmp_path / "extra.npz", **full, metadatb=np.array("{}"))
    with pytest.raises(ValueError, match="unexpected members"):
        sk.SkillCurves.load(tmp_path / "extra.npz")


def test_files_from_before_the_format_version_still_load(tmp_path):
    c = curves()
    np.savez_compressed(
        tmp_path / "old.npz",
        times=c.times,
        loss=c.loss,
        names=np.array(c.names, dtype=str),
        frequencies=c.frequencies,
        metadata=np.array('{"seed": 3, "note": "x"}'),
    )
    assert same(sk.SkillCurves.load(tmp_path / "old.npz"), c)


def test_save_returns_exactly_the_path_it_wrote(tmp_path):
    for name in ("u.NPZ", "v.Csv"):
        out = curves().save(tmp_path / name)
        assert out == tmp_path / name and out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["u.NPZ", "v.Csv"]
    assert same(sk.SkillCurves.load(tmp_path / "u.NPZ"), curves())


def test_bad_paths_are_named(tmp_path):
    with pytest.raises(ValueError, match="must end in .npz or .csv"):
        curves().save(tmp_path)
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        curves().save(tmp_path / "d.npz")
    with pytest.raises(ValueError, match="is a directory"):
        sk.SkillCurves.load(tmp_path / "d.npz")
    with pytest.raises(ValueError, match="does not exist"):
        curves().save(tmp_path / "missing" / "c.csv")


def test_output_dirs_are_checked(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is an existing file"):
        check_output_dir(tmp_path / "file")
    assert check_output_dir(tmp_path / "new" / "deep").is_dir()


def test_atomic_write_accepts_text_bytes_and_writers(tmp_path):
    assert atomic_write(tmp_path / "a.txt", "é").read_text(encoding="utf-8") == "é"
    assert atomic_write(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert atomic_write(tmp_path / "c.bin", lambda fh: fh.write(b"xyz")).read_bytes() == b"xyz"


NAMES = ["plain", "with space", " padded ", "comma,name", 'quote"d', "new\nline", "skill", "value", "#hash", "é ü"]


@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_every_name_round_trips(tmp_path, suffix):
    c = curves(names=tuple(NAMES))
    assert same(sk.SkillCurves.load(c.save(tmp_path / f"c{suffix}")), c)


def test_a_wide_csv_with_a_skill_named_skill_stays_wide(tmp_path):
    c = curves(names=("skill", "other"))
    assert same(sk.SkillCurves.load(c.save(tmp_path / "c.csv")), c)
    plain = "step,skill,other\n0,1.0,1.0\n1,0.5,0.4\n"  # no meta line: 'other' is not a value column
    loaded = sk.SkillCurves.from_csv_text(plain)
    assert loaded.names == ("skill", "other") and loaded.n_times == 2


def test_a_byte_order_mark_is_read_and_latin1_is_refused_by_name(tmp_path):
    (tmp_path / "bom.csv").write_bytes("\ufeffstep,a\n0,1.0\n1,0.5\n".encode())
    assert sk.SkillCurves.load(tmp_path / "bom.csv").names == ("a",)
    (tmp_path / "latin.csv").write_bytes("step,caf\xe9\n0,1.0\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin.csv: not UTF-8 text \(byte 0xe9"):
        sk.SkillCurves.load(tmp_path / "latin.csv")


def test_names_with_nul_are_refused():
    with pytest.raises(ValueError, match="must not contain NUL"):
        curves(names=("a", "b\x00"))
