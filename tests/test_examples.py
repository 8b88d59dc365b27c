"""The worked examples run as a newcomer would run them (quick mode, in a temporary folder)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import skillode as sk

ROOT = Path(__file__).resolve().parents[1]


def test_mixture_of_tasks_quick_writes_curves_and_report(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    script = ROOT / "examples" / "mixture_of_tasks.py"
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ranked by out-of-sample RMSE" in proc.stdout and "report:" in proc.stdout
    curves = sk.SkillCurves.load(out / "curves.npz")
    assert curves.names == ("common", "frequent", "rare", "rarest") and curves.n_times > 20
    assert (curves.loss[-1] < 0.5 * curves.loss[0]).all()  # every task was learned, at least partly
    report = (out / "compare" / "report.md").read_text()
    assert "## Ranking" in report and "Held-out skills" in report
    meta = json.loads((out / "compare" / "compare.json").read_text())
    assert set(meta["ranking"]) == {"resource", "domino", "parallel"}
    for png in ("fits.png", "forecast.png", "learning_times.png"):
        assert (out / "compare" / png).stat().st_size > 0
