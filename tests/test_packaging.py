"""Packaging: the version has a single source, and the built wheel works on its own.

The wheel tests (marked slow) build from a *clean checkout*: they clone the repository's
committed HEAD into a temporary directory, so uncommitted changes in the working tree (edits,
untracked files) are deliberately NOT part of what is built and tested. Commit first to test a
change to the packaging. They skip when git is missing or the tests do not sit in a git checkout
of this repository (e.g. an unpacked sdist).

The fresh venv gets the runtime dependencies (numpy, scipy, sympy, ...) without any download: a
.pth file in its site-packages lists the site-packages directories of the interpreter running
the tests. Directories added through a .pth file have their own .pth files ignored, so the
editable install of skillode living there (a .pth-activated import hook) is inert in the venv,
and the venv's own site-packages precedes them on sys.path anyway; the tests still check that
the skillode imported there is the wheel's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import skillode

REPO = Path(__file__).resolve().parents[1]

# Variables that would make a child process import from, or run git against, somewhere else.
_SCRUB = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONSAFEPATH",
    "VIRTUAL_ENV",
    "__PYVENV_LAUNCHER__",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_COMMON_DIR",
)


# --------------------------------------------------------------------------- single-source version


def _top_level_value(text: str, key: str) -> str | None:
    """The value of an unindented `key: value` line of a (simple) YAML file, quotes stripped."""
    m = re.search(rf"^{re.escape(key)}:[ \t]*(.*?)[ \t]*(?:#.*)?$", text, re.MULTILINE)
    return None if m is None else m.group(1).strip("'\"")


def _project_table() -> dict:
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads(text)


def test_citation_version_matches_package():
    cff = (REPO / "CITATION.cff").read_text(encoding="utf-8")
    assert _top_level_value(cff, "cff-version") == "1.2.0"
    assert _top_level_value(cff, "version") == skillode.__version__, (
        "CITATION.cff's version must equal skillode/_version.py's __version__"
    )
    assert re.search(r"^preferred-citation:", cff, re.MULTILINE)
    assert "2501.12391" in cff


def test_pyproject_has_no_static_version():
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    # No `version = ...` key anywhere but the [tool.setuptools.dynamic] pointer.
    static = [line for line in text.splitlines() if re.match(r"\s*version\s*=", line)]
    assert all("skillode._version.__version__" in line for line in static), static
    pyproject = _project_table()
    project = pyproject["project"]
    assert "version" not in project
    assert "version" in project.get("dynamic", [])
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "skillode._version.__version__"}
    assert project.get("license") == "MIT"
    assert (REPO / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


# --------------------------------------------------------------------------- wheel in a fresh venv


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(extra)
    return env


def _run(cmd, *, cwd, env=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env or _env(), capture_output=True, text=True, check=False, timeout=timeout
    )


def _check(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, (
        f"{' '.join(proc.args)} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
        f"\n--- stderr\n{proc.stderr[-4000:]}"
    )
    return proc


def _git(*args, cwd) -> subprocess.CompletedProcess:
    # safe.directory: CI checkouts are often owned by another user than the one running the tests.
    return _run(["git", "-c", "safe.directory=*", *args], cwd=cwd)


def _dependency_dirs() -> list[str]:
    """The site-packages directories of the interpreter running the tests (where numpy etc. are)."""
    out = []
    for p in sys.path:
        if os.path.basename(p) in ("site-packages", "dist-packages") and os.path.isdir(p) and p not in out:
            out.append(p)
    return out


class Installed:
    def __init__(self, wheel: Path, venv: Path, work: Path, version: str):
        self.wheel, self.venv, self.work, self.version = wheel, venv, work, version
        bindir = venv / ("Scripts" if os.name == "nt" else "bin")
        self.python = bindir / ("python.exe" if os.name == "nt" else "python")
        self.script = bindir / ("skillode.exe" if os.name == "nt" else "skillode")
        self.env = _env(
            VIRTUAL_ENV=str(venv),
            PATH=str(bindir) + os.pathsep + os.environ.get("PATH", ""),
            PYTHONNOUSERSITE="1",
            MPLBACKEND="Agg",
        )

    def run(self, *cmd) -> subprocess.CompletedProcess:
        return _run(cmd, cwd=self.work, env=self.env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    if shutil.which("git") is None:
        pytest.skip("git is not available")
    top = _git("rev-parse", "--show-toplevel", cwd=REPO)
    if top.returncode != 0:
        pytest.skip(f"{REPO} is not a git checkout: {top.stderr.strip()}")
    if Path(top.stdout.strip()).resolve() != REPO:
        pytest.skip(f"{REPO} is not the top of its own git checkout (that is {top.stdout.strip()})")
    head = _git("rev-parse", "--verify", "HEAD^{commit}", cwd=REPO)
    if head.returncode != 0:
        pytest.skip("the repository has no commit yet")
    sha = head.stdout.strip()
    for mod in ("pip", "setuptools", "venv"):
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} is not importable by {sys.executable}")

    tmp = tmp_path_factory.mktemp("packaging")
    clone, dist, venv, work = tmp / "clone", tmp / "dist", tmp / "venv", tmp / "work"
    work.mkdir()

    # Clean checkout of the committed HEAD (not the working tree).
    _check(_git("clone", "--quiet", "--no-checkout", REPO, clone, cwd=tmp))
    _check(_git("checkout", "--quiet", "--detach", sha, cwd=clone))

    _check(
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "--no-index",
                "--disable-pip-version-check",
                "-w",
                dist,
                clone,
            ],
            cwd=tmp,
        )
    )
    wheels = sorted(dist.glob("skillode-*.whl"))
    assert len(wheels) == 1, wheels
    version_src = (clone / "skillode" / "_version.py").read_text(encoding="utf-8")
    version = re.search(r"__version__\s*=\s*['\"]([^'\"]+)['\"]", version_src).group(1)

    # A fresh venv; the wheel goes in through the running interpreter's pip driving the venv's python
    # (so the venv needs no ensurepip), BEFORE the dependency .pth exists: pip then sees an empty
    # environment and cannot touch the editable skillode of the outer one.
    _check(_run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp))
    inst = Installed(wheels[0], venv, work, version)
    _check(
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                inst.python,
                "install",
                "--no-deps",
                "--no-index",
                "--disable-pip-version-check",
                inst.wheel,
            ],
            cwd=work,
            env=inst.env,
        )
    )

    purelib = _check(inst.run(inst.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"))
    site_packages = Path(purelib.stdout.strip())
    deps = [p for p in _dependency_dirs() if Path(p).resolve() != site_packages.resolve()]
    (site_packages / "_skillode_test_deps.pth").write_text("".join(f"{p}\n" for p in deps), encoding="utf-8")
    return inst


@pytest.mark.slow
def test_wheel_contents(installed):
    with zipfile.ZipFile(installed.wheel) as zf:
        names = zf.namelist()
        entry_points = zf.read(f"skillode-{installed.version}.dist-info/entry_points.txt").decode()
    top = {n.split("/", 1)[0] for n in names}
    assert top == {"skillode", f"skillode-{installed.version}.dist-info"}, sorted(top)
    for sub in ("derivations", "validation"):
        assert f"skillode/{sub}/__init__.py" in names
    assert "skillode/__main__.py" in names and "skillode/cli/__init__.py" in names
    assert not any(n.startswith("tests/") or "/tests/" in n for n in names)
    assert "skillode = skillode.cli:main" in entry_points


@pytest.mark.slow
def test_installed_skillode_is_the_wheel(installed):
    code = (
        "import importlib.metadata, importlib.util, json, skillode, skillode.derivations\n"
        "spec = importlib.util.find_spec('skillode.validation')\n"  # no import: torch is optional
        "print(json.dumps({'skillode': skillode.__file__, 'derivations': skillode.derivations.__file__,\n"
        "    'validation': spec and spec.origin, 'version': skillode.__version__,\n"
        "    'dist': str(importlib.metadata.distribution('skillode').locate_file('')),\n"
        "    'top_derivations': importlib.util.find_spec('derivations') is not None,\n"
        "    'top_validation': importlib.util.find_spec('validation') is not None}))\n"
    )
    info = json.loads(_check(installed.run(installed.python, "-c", code)).stdout.strip().splitlines()[-1])
    venv = installed.venv.resolve()
    for key in ("skillode", "derivations", "validation", "dist"):
        assert info[key] and Path(info[key]).resolve().is_relative_to(venv), (key, info[key])
    assert Path(info["derivations"]).resolve().parent.name == "derivations"
    assert not Path(info["skillode"]).resolve().is_relative_to(REPO)
    assert info["version"] == installed.version
    assert not info["top_derivations"] and not info["top_validation"]


@pytest.mark.slow
def test_console_script_help(installed):
    proc = _check(installed.run(installed.script, "--help"))
    for command in ("solve", "fit", "derive", "validate", "sweep"):
        assert command in proc.stdout


@pytest.mark.slow
def test_python_m_skillode_help(installed):
    proc = _check(installed.run(installed.python, "-m", "skillode", "--help"))
    assert "derive" in proc.stdout


@pytest.mark.slow
def test_derive_all(installed):
    listing = _check(installed.run(installed.script, "derive", "--list")).stdout
    results = [line.split(None, 1) for line in listing.splitlines() if line.strip()]
    assert results, listing
    proc = _check(installed.run(installed.script, "derive", "--all"))
    for name, title in results:
        assert name in proc.stdout and title.strip() in proc.stdout, name
    assert "FAILED" not in proc.stdout + proc.stderr
