"""`skillode solve resource|domino|parallel`: solve a model and write curves, metadata and a plot."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np

from .._files import atomic_write, check_output_dir
from ..curves._json import _jsonable
from ..models import DominoModel, Gate, ParallelModel, ResourceModel, zipf_frequencies
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
    ap.add_argument("--names", type=_name_list, default=None, help="skill names, comma-separated")
    ap.add_argument(
        "--gates",
        nargs="+",
        metavar="SKILL:PARENTS[:MODE[:EXPONENT]]",
        default=None,
        help="compositional skills of the resource model, e.g. 2:0,1 (skill 2 waits for 0 AND 1) or "
        "c:a,b:or:0.5; skills by index or --names",
    )
    ap.add_argument(
        "--C",
        type=Path,
        default=None,
        metavar="FILE",
        help="skill-overlap matrix of the resource model, n x n, from a .npy or a comma-separated .csv",
    )
    ap.add_argument(
        "--no-clip",
        dest="clip",
        action="store_false",
        default=None,
        help="resource model, MSE: do not clip losses at 0 (the paper's iteration with overlapping skills, "
        "--C); the state is then a signed residual, not a loss",
    )
    ap.add_argument(
        "--reweight",
        choices=("none", "loss"),
        default=None,
        help="resource model: loss-proportional example reweighting (loss: each skill's pull times "
        "loss_k / mean loss, the paper's remedy for rare skills; default none)",
    )
    ap.add_argument("--threshold", type=float, default=0.1, help="loss threshold for learning times (default 0.1)")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.set_defaults(func=run)


def _name_list(text: str) -> list[str]:
    return [v.strip() for v in text.split(",")]


def _gates(specs: list[str] | None) -> list[Gate] | None:
    """--gates SKILL:PARENT,PARENT[:and|or[:EXPONENT]] ... as Gate objects (indices or names)."""
    if specs is None:
        return None
    gates = []
    for spec in specs:
        parts = spec.split(":")
        if not 2 <= len(parts) <= 4 or not parts[0] or not parts[1]:
            raise ValueError(f"--gates {spec!r}: expected SKILL:PARENT,PARENT[:and|or[:EXPONENT]], e.g. 2:0,1")

        def ref(text: str) -> int | str:
            text = text.strip()
            return int(text) if text.lstrip("-").isdigit() else text

        mode = parts[2] if len(parts) > 2 else "and"
        try:
            exponent = float(parts[3]) if len(parts) > 3 else 1.0
        except ValueError:
            raise ValueError(f"--gates {spec!r}: exponent {parts[3]!r} is not a number") from None
        try:
            gates.append(Gate(ref(parts[0]), tuple(ref(v) for v in parts[1].split(",")), mode, exponent))
        except ValueError as exc:
            raise ValueError(f"--gates {spec!r}: {exc}") from None
    return gates


def _overlap(path: Path | None) -> np.ndarray | None:
    if path is None:
        return None
    try:
        if path.suffix.lower() == ".npy":
            return np.load(path, allow_pickle=False)
        return np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as exc:
        raise ValueError(f"--C {str(path)!r}: cannot read an n x n matrix ({exc})") from None


def _frequencies(args) -> np.ndarray:
    if args.p is not None:
        return np.asarray(args.p, dtype=np.float64)
    if args.n < 1:
        raise ValueError(f"--n must be a positive integer, got {args.n}")
    return zipf_frequencies(args.n, args.power_law)


def _model(args):
    """The model the arguments describe, refusing options that model does not use."""
    resource_only = [
        ("--loss", args.loss),
        ("--gates", args.gates),
        ("--C", args.C),
        ("--no-clip", args.clip),
        ("--reweight", args.reweight),
    ]
    unused = {
        "domino": [("--N0", args.N0), *resource_only],
        "parallel": resource_only,
        "resource": [],
    }[args.model]
    given = [flag for flag, value in unused if value is not None]
    if given:
        raise ValueError(
            f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply to the {args.model} model"
        )
    p = _frequencies(args)
    N0 = 0.0 if args.N0 is None else args.N0
    names = args.names
    if args.model == "resource":
        try:
            return ResourceModel(
                p,
                args.eta,
                N0,
                C=_overlap(args.C),
                loss=args.loss or "mse",
                gates=_gates(args.gates),
                names=names,
                clip=True if args.clip is None else args.clip,
                reweight=args.reweight or "none",
            )
        except ValueError as exc:
            if "C must" in str(exc) and args.C is not None:
                raise ValueError(f"--C {str(args.C)!r}: {exc}") from None
            raise
    if args.model == "domino":
        return DominoModel(p, args.eta, names=names)
    return ParallelModel(p, args.eta, N0, names=names)


def run(args) -> int:
    # every argument is checked before anything is solved or written
    model = _model(args)
    initial = getattr(model, "initial_loss", 1.0)
    if not 0.0 <= args.threshold < initial:
        raise ValueError(f"--threshold must lie in [0, {initial:.6g}) (the initial loss), got {args.threshold:g}")
    out = check_output_dir(args.out)
    exact_applies = not isinstance(model, ResourceModel) or (
        model.is_orthogonal and not model.has_gates and not (model.reweight == "loss" and model.loss == "ce")
    )
    solution = solve(model, steps=args.steps, method=args.method or ("exact" if exact_applies else "ode"))
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
    _plot(curves, out / "skills.png", f"{args.model} model ({solution.method})", args.threshold, times)
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


def _plot(curves, path: Path, title: str, threshold: float, times: np.ndarray) -> None:
    """Loss per skill (p_k in the legend, outside the data), the threshold as a line, and a log
    time axis when the learning happens early in the window (most of a linear axis would be flat)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plot import plot_curves

    fig, ax = plt.subplots(figsize=(7.6, 4.2))
    plot_curves(curves, ax, kind="loss", max_legend=0)
    cmap = plt.get_cmap("viridis")
    n = curves.n_skills
    shown = range(n) if n <= 12 else np.linspace(0, n - 1, 12).astype(int)
    for k in shown:  # legend entries carry p_k; many skills: a spread of them
        ax.plot([], [], color=cmap(k / max(n - 1, 1)), label=f"{curves.names[k]}  p={curves.frequencies[k]:.3g}")
    ax.axhline(threshold, color="0.4", linestyle=":", linewidth=1, label=f"threshold {threshold:g}")
    finite = times[np.isfinite(times)]
    span = float(curves.times[-1])
    if finite.size and span > 0 and finite.max() < 0.3 * span:
        ax.set_xscale("symlog", linthresh=max(1.0, float(curves.times[1]) if curves.n_times > 1 else 1.0))
        ax.set_xlim(left=float(curves.times[0]), right=span)
        ax.set_xlabel("step (log scale)")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.set_title(title)
    fig.tight_layout()
    try:
        atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=120))
    finally:
        plt.close(fig)
