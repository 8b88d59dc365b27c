"""`import skillode` and the command line stay light: sympy, matplotlib, numba, torch and the
optional integrations (pandas, xarray, tensorboard) are imported only where first used. Each
check runs in a fresh interpreter (sys.executable), which records the heavy packages loaded
after each stage. No timing assertions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("sympy", "mpmath", "matplotlib", "numba", "torch", "pandas", "xarray", "tensorboard")
_NOT_OURS_YET = ("skillode.derivations", "skillode.validation")  # imported by `derive` / `validate` when run

# defines stage(name): records the heavy packages (and derivations/validation) loaded so far
_PRELUDE = f"""
import json, os, sys
os.environ["MPLBACKEND"] = "Agg"
_stages = {{}}
def stage(name):
    _stages[name] = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r})
                           | {{m for m in sys.modules if m.startswith({_NOT_OURS_YET!r})}})
"""
_REPORT = "\nsys.stdout.flush()\nprint('\\n' + json.dumps(_stages))\n"


def _stages(code: str) -> dict[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", _PRELUDE + code + _REPORT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


_LIGHT = """
import skillode as sk
stage("import skillode")
import skillode.cli
skillode.cli.build_parser()
stage("skillode.cli.build_parser()")
import contextlib, io
for argv in (["--help"], ["solve", "--help"], ["fit", "--help"], ["sweep", "--help"],
             ["derive", "--help"], ["validate", "--help"]):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            skillode.cli.main(argv)
        except SystemExit as exc:
            assert exc.code == 0, (argv, exc.code)
    stage("skillode " + " ".join(argv))
sk.plot_curves, sk.plot_total_loss, sk.plot, sk.SymbolicSystem, sk.closed_forms.mse_loss
sk.solve(sk.ResourceModel([1.0, 0.1], 0.05), steps=50)
sk.solve(sk.ResourceModel([1.0, 0.1], 0.05, loss="ce"), steps=50)
sk.closed_forms.mse_learning_times([1.0, 0.1], 0.1, 0.05)
sk.closed_forms.ce_tau_at_loss([1.0, 0.1], 0.1)
stage("exact solver and its closed forms")
"""


@pytest.fixture(scope="module")
def light_stages() -> dict[str, list[str]]:
    return _stages(_LIGHT)


@pytest.mark.parametrize(
    "stage",
    [
        "import skillode",
        "skillode.cli.build_parser()",
        "skillode --help",
        "skillode solve --help",
        "skillode fit --help",
        "skillode sweep --help",
        "skillode derive --help",
        "skillode validate --help",
        "exact solver and its closed forms",
    ],
)
def test_stage_loads_no_heavy_package(light_stages, stage):
    assert light_stages[stage] == []


def test_the_skillode_command_help_loads_no_heavy_package():
    # the real entry point, in its own interpreter: -X importtime lists every module it imports
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "skillode", "--help"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "usage: skillode" in out.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert "skillode.cli" in imported  # guards the parsing
    assert sorted(m for m in imported if m.split(".")[0] in HEAVY or m.startswith(_NOT_OURS_YET)) == []


def test_heavy_packages_load_where_first_used():
    stages = _stages("""
import skillode as sk
stage("import skillode")
model = sk.ResourceModel([1.0, 0.1], 0.05)
curves = sk.solve(model, steps=50).curves
assert sk.plot_curves is sk.plot.plot_curves and sk.plot_total_loss is sk.plot.plot_total_loss
ax, ax2 = sk.plot_curves(curves), sk.plot_total_loss(curves)
assert ax is not ax2 and len(ax.lines) == 2 and len(ax2.lines) == 1
stage("plot")
expr = sk.closed_forms.MSE_LOSS
assert type(expr).__module__.startswith("sympy") and str(expr) == "exp(-p*tau)", expr
from skillode.closed_forms import MSE_PROGRESS, tau
assert "MSE_LOSS" in dir(sk.closed_forms) and MSE_PROGRESS.has(tau)
stage("closed_forms.MSE_LOSS")
system = model.symbolic()
assert isinstance(system, sk.SymbolicSystem) and system.latex()
""")
    assert stages["import skillode"] == []
    assert "matplotlib" in stages["plot"] and "sympy" not in stages["plot"]
    assert "sympy" in stages["closed_forms.MSE_LOSS"]


def test_pandas_xarray_tensorboard_load_only_where_first_used(tmp_path):
    pytest.importorskip("pandas")
    pytest.importorskip("xarray")
    npz, csv = tmp_path / "c.npz", tmp_path / "c.csv"
    stages = _stages(f"""
import numpy as np
import skillode as sk
curves = sk.SkillCurves([0.0, 1.0], [[1.0, 0.5], [0.5, 0.2]], ("a", "b"))
curves.save({str(npz)!r}), curves.save({str(csv)!r})
assert sk.read_curves({str(npz)!r}).names == sk.read_curves({str(csv)!r}).names == ("a", "b")
sk.fit(curves, "resource", n_bootstrap=0, frequencies=[0.6, 0.4])
stage("own files, read_curves and fit")
df = curves.to_pandas()
stage("to_pandas")
curves.to_xarray()
stage("to_xarray")
""")
    assert stages["own files, read_curves and fit"] == []
    assert stages["to_pandas"] == ["pandas"]
    assert set(stages["to_xarray"]) == {"pandas", "xarray"}
