"""`skillode solve resource|domino|parallel`: solve a model and write curves, metadata and a plot."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np

from .._files import atomic_write, check_output_dir
from ..curves._json import _jsonable
from ..models import DominoModel, ParallelModel, ResourceModel, zipf_frequencies
from ..solvers import solve
from ..solvers._registry import registered_methods
from ._common import _float_list


def register(sub) -> None:
    ap = sub.add_parser(
        "solve",
        help="solve a Resource, Domino or Parallel model",
        description="Solve a model on steps 0..STEPS and write curves.csv, curves.npz, meta.json and skills.png.",
    )
    ap.add_argument("model", choices=("resource", "domino", "parallel"))
    freq = ap.add_mutually_exclusive_group(required=True)
    freq.add_argument("--p", type=_float_list, help="skill frequencies, comma-separated (e.g. 1,0.1)")
    freq.add_argument(
        "--power-law", type=float, metavar="ALPHA", help="frequencies p_k = k^-ALPHA / sum (with --n skills)"
    )
    ap.add_argument("--n", type=int, default=10, help="number of skills for --power-law (default 10)")
    ap.add_argument("--eta", type=float, required=True, help="learning resource per step")
    ap.add_argument("--N0", type=float, default=None, help="wasted resource (resource, parallel; default 0)")
    ap.add_argument("--steps", type=int, required=True, help="solve on steps 0..STEPS")
    ap.add_argument(
        "--method",
        choices=registered_methods(),
        default=None,
        help="solver (default: exact where it applies, else ode)",
    )
    ap.add_argument("--loss", choices=("mse", "ce"), default=None, help="Resource-model loss (default mse)")
    ap.add_argument("--threshold", type=float, default=0.1, help="loss threshold for learning times (default 0.1)")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.set_defaults(func=run)


def _frequencies(args) -> np.ndarray:
    if args.p is not None:
        return np.asarray(args.p, dtype=np.float64)
    if args.n < 1:
        raise ValueError(f"--n must be a positive integer, got {args.n}")
    return zipf_frequencies(args.n, args.power_law)


def _model(args):
    """The model the arguments describe, refusing options that model does not use."""
    unused = {
        "domino": [("--N0", args.N0), ("--loss", args.loss)],
        "parallel": [("--loss", args.loss)],
        "resource": [],
    }[args.model]
    given = [flag for flag, value in unused if value is not None]
    if given:
        raise ValueError(
            f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply to the {args.model} model"
        )
    p = _frequencies(args)
    N0 = 0.0 if args.N0 is None else args.N0
    if args.model == "resource":
        return ResourceModel(p, args.eta, N0, loss=args.loss or "mse")
    if args.model == "domino":
        return DominoModel(p, args.eta)
    return ParallelModel(p, args.eta, N0)


def run(args) -> int:
    # every argument is checked before anything is solved or written
    model = _model(args)
    initial = getattr(model, "initial_loss", 1.0)
    if not 0.0 <= args.threshold < initial:
        raise ValueError(f"--threshold must lie in [0, {initial:.6g}) (the initial loss), got {args.threshold:g}")
    out = check_output_dir(args.out)
    solution = solve(model, steps=args.steps, method=args.method or "exact")
    curves = solution.curves
    p = model.p
    times = solution.learning_times(args.threshold)
    curves.save(out / "curves.csv")
    curves.save(out / "curves.npz")
    from .. import __version__

    meta = {
        "command": "solve",
        "model": model.config(),
        "solver": {"method": solution.method, "message": solution.message},
        "steps": args.steps,
        "threshold": args.threshold,
        "learning_times": times,
        "versions": {"skillode": __version__, "numpy": np.__version__, "python": platform.python_version()},
    }
    atomic_write(out / "meta.json", json.dumps(_jsonable(meta), indent=2) + "\n")
    _plot(curves, out / "skills.png", f"{args.model} model ({solution.method})")
    print(
        f"{args.model} model, {curves.n_skills} skills, {args.steps} steps, "
        f"solver {solution.method}: {solution.message}"
    )
    print(f"learning time to loss {args.threshold:g}:")
    for name, pk, tk in list(zip(curves.names, p, times))[:20]:
        shown = "not reached" if not np.isfinite(tk) else f"{tk:.1f}"
        print(f"  {name:>10s}  p={pk:<10.4g} t={shown}")
    if curves.n_skills > 20:
        print(f"  ... {curves.n_skills - 20} more in meta.json")
    print(f"wrote {out}/curves.csv, curves.npz, meta.json, skills.png")
    return 0


def _plot(curves, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plot import plot_curves

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    plot_curves(curves, ax, kind="level")
    ax.set_title(title)
    fig.tight_layout()
    try:
        atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=120))
    finally:
        plt.close(fig)
