"""The experiment registry and the report writer: report.md + PNG figures + metrics.json (+ curves, arrays).

    write_report(["domino", "modularity"], "out/", quick=True)

Each experiment module exposes a frozen config dataclass, QUICK (a small config), run(config,
progress=...) -> ExperimentResult and plot(result, out_dir) -> [paths].
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from skillode._files import atomic_write, check_output_dir
from skillode.curves._json import _jsonable

from . import compositional, domino, geometry, grokking, modularity, n0_dependence, scaling_laws
from ._common import ExperimentResult
from ._execution import Execution, execution
from ._train import check_device, resolve_device
from .reproduction import claims_json, claims_of, modular_sweep_claims, table_markdown


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: its config type, default and quick configs, runner and plotter.

    in_all: whether "all" selects it; False for an experiment run only when named (grokking: its
    full size took 41 minutes on one thread; scaling_laws about 13 minutes on 2 cores; the others
    together a few minutes).
    """

    name: str
    config_type: type
    default: Any
    quick: Any
    run: Callable[..., ExperimentResult]
    plot: Callable[[ExperimentResult, Path], list]
    available: Callable[[], bool] = lambda: True
    in_all: bool = True


def _entry(
    module: ModuleType, config_type: type, available: Callable[[], bool] = lambda: True, *, in_all: bool = True
) -> Experiment:
    return Experiment(module.NAME, config_type, config_type(), module.QUICK, module.run, module.plot, available, in_all)


EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        _entry(domino, domino.DominoConfig),
        _entry(compositional, compositional.CompositionalConfig),
        _entry(modularity, modularity.ModularityConfig),
        _entry(geometry, geometry.GeometryConfig, geometry.available),
        _entry(n0_dependence, n0_dependence.N0DependenceConfig, geometry.available),
        _entry(grokking, grokking.GrokkingConfig, in_all=False),  # run by name: 41 minutes at full size
        # run by name: ~13 minutes on 2 cores at full size (40 points of 100,000 steps)
        _entry(scaling_laws, scaling_laws.ScalingLawsConfig, geometry.available, in_all=False),
    )
}


@dataclass(frozen=True, eq=False)
class Report:
    """What write_report wrote.

    Attributes:
        out_dir: the output directory.
        report: path of report.md; metrics: path of metrics.json.
        figures: paths of the PNG figures.
        results: the experiments' results, by name.
        skipped: experiments left out, with the reason.
    """

    out_dir: Path
    report: Path
    metrics: Path
    figures: tuple[Path, ...]
    results: Mapping[str, ExperimentResult]
    skipped: Mapping[str, str]


def resolve_names(names: str | Sequence[str]) -> list[str]:
    """Experiment names from "all", one name, or a list; ValueError naming unknown ones.

    "all" selects the experiments registered with in_all (all but grokking); name the others.
    """
    if isinstance(names, str):
        names = [names]
    out: list[str] = []
    for n in names:
        key = str(n).lower()
        if key == "all":
            out.extend(k for k, e in EXPERIMENTS.items() if e.in_all and k not in out)
        elif key in EXPERIMENTS:
            if key not in out:
                out.append(key)
        else:
            raise ValueError(f"experiment must be 'all' or one of {', '.join(EXPERIMENTS)}; got {n!r}")
    if not out:
        raise ValueError("name at least one experiment")
    return out


def write_report(
    names: str | Sequence[str],
    out_dir: str | Path,
    *,
    quick: bool = False,
    configs: Mapping[str, Any] | None = None,
    progress: bool = False,
    threads: int | None = None,
    device: str | None = None,
    scheduler: str | None = None,
    jobs: int = 1,
    modular_sweep: str | Path | None = None,
) -> Report:
    """Run the named experiments and write report.md, metrics.json, figures and curves into out_dir.

    Args:
        names: "all", an experiment name, or a list of names (see EXPERIMENTS).
        out_dir: output directory (created).
        quick: use each experiment's small QUICK config (minutes on 2 cores) instead of the default.
        configs: per-experiment config overrides, {name: config instance}.
        progress: show tqdm progress bars.
        threads: torch threads for every experiment that trains networks (None: each config's own).
        device: "cpu", "cuda" or "auto" for every experiment with a device option (None: each
            config's own, the CPU); an experiment without one runs on the CPU, and metrics.json's
            "_devices" says where each ran.
        scheduler, jobs: where the experiments' seed groups train (validation._execution): None and
            1, this process (default); jobs > 1, local worker processes; "local:N" or a Dask address,
            Dask. Grokking, compositional and modularity run their seed groups as tasks.
        modular_sweep: a finished `skillode sweep modular` folder whose Fig 18 rows join the table
            (read before any training, so a folder without summary.json fails first); its
            modular.png is copied beside the report.
    """
    selected = resolve_names(names)
    if threads is not None and (isinstance(threads, bool) or int(threads) != threads or threads < 1):
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    if device is not None:
        device = check_device(device)  # "cuda" without CUDA fails here, before any training
    plan = Execution(scheduler, jobs)  # a malformed address or job count fails now
    sweep_claims = [] if modular_sweep is None else modular_sweep_claims(modular_sweep)
    out = check_output_dir(out_dir, "out_dir")  # before any training: a bad folder fails now
    configs = dict(configs or {})
    for key, cfg in configs.items():
        if key not in EXPERIMENTS:
            raise ValueError(f"configs: unknown experiment {key!r}")
        if not isinstance(cfg, EXPERIMENTS[key].config_type):
            raise ValueError(f"configs[{key!r}] must be a {EXPERIMENTS[key].config_type.__name__}")
    results: dict[str, ExperimentResult] = {}
    skipped: dict[str, str] = {}
    devices: dict[str, str] = {}
    figures: list[Path] = []
    seconds: dict[str, float] = {}
    for key in selected:
        exp = EXPERIMENTS[key]
        if not exp.available():
            skipped[key] = "not yet available (skillode's Geometry model could not be imported)"
            continue
        cfg = configs.get(key, exp.quick if quick else exp.default)
        if threads is not None and hasattr(cfg, "threads"):
            cfg = dataclasses.replace(cfg, threads=int(threads))
        if device is not None and hasattr(cfg, "device"):
            cfg = dataclasses.replace(cfg, device=device)
        devices[key] = str(resolve_device(cfg.device)) if hasattr(cfg, "device") else "cpu"
        start = time.perf_counter()
        with execution(plan.scheduler, plan.jobs):
            res = exp.run(cfg, progress=progress and plan.in_process)
        figures.extend(exp.plot(res, out))
        for label, curves in res.curves.items():
            curves.save(out / f"curves_{key}_{_safe(label)}.npz")
        flat = _flatten(res.arrays)
        if flat:
            np.savez_compressed(out / f"arrays_{key}.npz", **flat)
        seconds[key] = time.perf_counter() - start
        results[key] = res

    lines = [
        "# skillode validation report",
        "",
        "Neural networks trained with torch (seeds batched) against the skill-learning models of "
        "Liu et al. (arXiv 2501.12391). Numbers are also in metrics.json; per-condition curves "
        "(seed means and model curves) in curves_*.npz; per-seed per-step arrays (loss, accuracy, "
        "learning times) in arrays_*.npz.",
        "",
    ]
    claims = claims_of(results) + sweep_claims
    if any(c.png for c in sweep_claims) and modular_sweep is not None:
        png = Path(modular_sweep) / "modular.png"
        figures.append(atomic_write(out / "modular.png", png.read_bytes()))
    table = table_markdown(claims, quick)
    lines += ["## Paper vs skillode", "", table, ""]
    for i, (key, res) in enumerate(results.items(), 1):
        lines += [f"## {i}. {res.title} (`{key}`)", "", res.markdown, "", f"_Run time: {seconds[key]:.1f} s._", ""]
    for key, why in skipped.items():
        lines += [f"## {key}", "", f"{key}: {why}.", ""]
    report_path = atomic_write(out / "report.md", "\n".join(lines))
    atomic_write(out / "reproduction.md", "# Paper vs skillode\n\n" + table + "\n")
    atomic_write(out / "reproduction.json", json.dumps(claims_json(claims), indent=2))
    metrics = {
        key: {"config": res.config, "metrics": res.metrics, "seconds": seconds[key]} for key, res in results.items()
    }
    metrics["_skipped"] = skipped
    metrics["_devices"] = devices
    metrics["_quick"] = quick
    metrics_path = atomic_write(out / "metrics.json", json.dumps(_jsonable(metrics), indent=2))
    return Report(out, report_path, metrics_path, tuple(figures), results, skipped)


def _flatten(arrays: Mapping[str, Any], prefix: str = "") -> dict:
    """Nested {condition: {name: array}} to {"condition/name": array} for np.savez."""
    flat: dict = {}
    for k, v in arrays.items():
        if isinstance(v, Mapping):
            flat.update(_flatten(v, f"{prefix}{k}/"))
        else:
            flat[f"{prefix}{k}"] = np.asarray(v)
    return flat


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)
