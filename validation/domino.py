"""Experiment 1: the Domino effect in two-task sparse parity, against the Resource model.

Task 1 = x1 XOR x2 on every sample, task 2 = x3 XOR x4 labelled on a fraction p2 of the samples
(see validation.sparse_parity for how the task is posed). Independent learning (the Parallel
model, l_k = exp(-eta p_k t / N0)) predicts t2/t1 = 1/p2; the Domino effect is t2/t1 staying
near 2 because task 2 takes over the resource task 1 frees. The Resource model
dl_k/dt = -eta p_k l_k / (sum_j p_j l_j + N0) with p = (1, p2) is fitted (eta, N0) to the
measured loss-based learning times of the `fit_p2` settings and predicts the others'.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

import skillode as sk

from ._common import (
    ExperimentResult,
    TimesCase,
    bootstrap_ci,
    check_positive_int,
    check_seeds,
    environment,
    finite_mean,
    first_step,
    first_step_relative,
    fmt,
    model_times_or_nan,
    paired_ratio,
    resource_learning_times,
    try_fit_resource_times,
)
from ._train import TrainSettings
from .sparse_parity import ParityTask, mean_curves, train_parity

NAME = "domino"
TASK_NAMES = ("x1^x2", "x3^x4")


@dataclass(frozen=True)
class DominoConfig:
    """Two-task sparse parity sweep over the rare task's frequency.

    Attributes:
        n_bits: input bits per sample (the paper: 32).
        hidden: hidden width of the [n_bits, hidden, 2] ReLU MLP (the paper: 50).
        p2_values: task 2's frequencies relative to task 1, each in (0, 1].
        seeds: one network and one dataset per seed (batched in one process).
        train_size: training samples per seed (all labelled for task 1).
        test_size: held-out samples per seed on which learning is measured.
        steps, lr: full-batch Adam steps and learning rate.
        accuracy_threshold: a task is learned at the first step its held-out accuracy reaches this.
        loss_fraction: the loss-based learning time (used for the model fit) is the first step
            the held-out loss falls to this fraction of its initial value; the Resource model's is
            when l_k = loss_fraction (l_k(0) = 1).
        fit_p2: the p2 settings whose learning times fit (eta, N0); the others are predicted.
        threads: torch threads during training; None (default) picks validation._train.auto_threads():
            min(2, available cores) on an idle machine (2 threads trained a 1000-sample batch in
            0.26 vs 0.31 s per seed per 1000 steps), 1 when the load average shows other jobs on
            the cores (a second OpenMP thread waiting on a busy core ran up to 10x slower). The
            count used is in the metrics as threads_used.
    """

    n_bits: int = 32
    hidden: int = 50
    p2_values: tuple[float, ...] = (1.0, 0.5, 0.2, 0.1, 0.05)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    train_size: int = 6000
    test_size: int = 500
    steps: int = 2500
    lr: float = 1e-3
    accuracy_threshold: float = 0.95
    loss_fraction: float = 0.1
    fit_p2: tuple[float, ...] = (1.0, 0.2)
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.n_bits < 4 or int(self.n_bits) != self.n_bits:
            raise ValueError(f"n_bits must be an integer >= 4 (tasks use bits 1-4), got {self.n_bits!r}")
        check_positive_int(self.hidden, "hidden")
        check_positive_int(self.train_size, "train_size")
        check_positive_int(self.test_size, "test_size")
        check_seeds(self.seeds)
        if not self.p2_values or any(not 0 < p <= 1 for p in self.p2_values):
            raise ValueError(f"p2_values must be non-empty, each in (0, 1], got {self.p2_values!r}")
        if not set(self.fit_p2) <= set(self.p2_values) or not self.fit_p2:
            raise ValueError(f"fit_p2 must be a non-empty subset of p2_values, got {self.fit_p2!r}")
        if not 0 < self.accuracy_threshold < 1:
            raise ValueError(f"accuracy_threshold must be in (0, 1), got {self.accuracy_threshold}")
        if not 0 < self.loss_fraction < 1:
            raise ValueError(f"loss_fraction must be in (0, 1), got {self.loss_fraction}")
        TrainSettings(self.steps, self.lr, "adam", self.threads)


QUICK = DominoConfig(
    n_bits=16,
    hidden=50,
    p2_values=(1.0, 0.5, 0.2, 0.1),
    seeds=(0, 1, 2),
    train_size=2000,
    test_size=300,
    steps=800,
    fit_p2=(1.0, 0.2),
)


def run(config: DominoConfig = DominoConfig(), *, progress: bool = False) -> ExperimentResult:
    """Train every (p2, seed), measure learning times, fit and test the Resource model."""
    settings = TrainSettings(config.steps, config.lr, "adam", config.threads)
    p2s = tuple(float(p) for p in config.p2_values)
    acc_times, loss_times, test_loss, test_acc, train_loss, walls, threads = [], [], [], [], [], [], set()
    curves: dict = {}
    for p2 in p2s:
        tasks = [ParityTask((0, 1), 1.0, TASK_NAMES[0]), ParityTask((2, 3), p2, TASK_NAMES[1])]
        rec = train_parity(
            tasks,
            config.seeds,
            n_bits=config.n_bits,
            hidden=config.hidden,
            train_size=config.train_size,
            test_size=config.test_size,
            settings=settings,
            progress=progress,
            desc=f"domino p2={p2:g}",
        )
        acc_times.append(first_step(rec.test_accuracy, config.accuracy_threshold, above=True))
        loss_times.append(first_step_relative(rec.test_loss, config.loss_fraction))
        test_loss.append(rec.test_loss)
        test_acc.append(rec.test_accuracy)
        train_loss.append(rec.loss)
        walls.append(rec.wall_seconds)
        threads.add(rec.threads)
        curves[f"measured_p2={p2:g}"] = mean_curves(
            rec, TASK_NAMES, (1.0, p2), {"experiment": NAME, "p2": p2, "seeds": list(config.seeds), "split": "test"}
        )
    acc_times = np.array(acc_times)  # (n_p2, n_seeds, 2)
    loss_times = np.array(loss_times)

    mean_loss_t = finite_mean(loss_times, axis=1)  # (n_p2, 2), over the seeds that reached the level
    fit_idx = [i for i, p in enumerate(p2s) if p in config.fit_p2]
    eta, n0, rms = try_fit_resource_times(
        [TimesCase((1.0, p2s[i]), tuple(mean_loss_t[i]), config.loss_fraction) for i in fit_idx]
    )

    rows, pred_errors = [], []
    for i, p2 in enumerate(p2s):
        pred = model_times_or_nan([1.0, p2], eta, n0, config.loss_fraction)
        ratio = paired_ratio(acc_times[i, :, 1], acc_times[i, :, 0], seed=i)  # t2, t1 of one run
        t1 = bootstrap_ci(acc_times[i, :, 0], seed=100 + i)
        t2 = bootstrap_ci(acc_times[i, :, 1], seed=200 + i)
        rel_err = [(pred[k] - mean_loss_t[i, k]) / mean_loss_t[i, k] for k in range(2)]
        if p2 not in config.fit_p2:
            pred_errors.extend(e for e in rel_err if np.isfinite(e))
        if np.isfinite(eta):
            model = sk.ResourceModel([1.0, p2], eta, n0, names=TASK_NAMES)
            curves[f"resource_p2={p2:g}"] = sk.solve(model, times=np.arange(config.steps + 1.0)).curves
        rows.append(
            {
                "p2": p2,
                "in_fit": p2 in config.fit_p2,
                "t1_accuracy": t1,
                "t2_accuracy": t2,
                "t2_over_t1": ratio["ratio"],
                "t2_over_t1_per_seed": ratio["per_seed"],
                "t2_over_t1_n_pairs": ratio["n_pairs"],
                "inverse_p2": 1.0 / p2,
                "task2_learned_fraction": float(np.mean(np.isfinite(acc_times[i, :, 1]))),
                "t1_loss_measured": float(mean_loss_t[i, 0]),
                "t2_loss_measured": float(mean_loss_t[i, 1]),
                "t1_loss_resource": float(pred[0]),
                "t2_loss_resource": float(pred[1]),
                "resource_relative_error": [float(e) for e in rel_err],
                "resource_ratio": float(pred[1] / pred[0]),
            }
        )
    n_runs = len(p2s) * len(config.seeds)
    curve_fit = _curve_fit(config, curves, p2s)
    metrics = {
        "rows": rows,
        "resource_fit": {
            "eta": eta,
            "N0": n0,
            "fit_p2": list(config.fit_p2),
            "rms_log_residual": rms,
            "method": "scipy.optimize.least_squares on log loss-based learning times (validation)",
        },
        "prediction_mean_abs_relative_error": float(np.mean(np.abs(pred_errors))) if pred_errors else None,
        "curve_fit": curve_fit,
        "seconds_per_seed_per_1000_steps": float(sum(walls) / n_runs * 1000.0 / config.steps),
        "wall_seconds": float(sum(walls)),
        "threads_used": threads.pop() if len(threads) == 1 else None,
    }
    cfg = asdict(config) | {"environment": environment()}
    return ExperimentResult(
        NAME,
        "Domino effect in two-task sparse parity",
        cfg,
        metrics,
        curves,
        {
            "p2": np.array(p2s),
            "acc_times": acc_times,
            "loss_times": loss_times,
            "test_loss": np.array(test_loss),
            "test_accuracy": np.array(test_acc),
            "train_loss": np.array(train_loss),
        },
        _markdown(config, metrics),
        ("domino_curves.png", "domino_ratio.png"),
    )


def _curve_fit(config: DominoConfig, curves: dict, p2s: tuple[float, ...]) -> dict:
    """Cross-check with skillode.fit: Resource model (eta, N0, time offset) fitted to whole curves.

    The seed-mean held-out loss curves of the fit_p2 settings (each normalised by its first
    value, on ~200 sampled steps) are fitted jointly; the fitted model then predicts every
    setting's curves (added to `curves` as "curvefit_p2=..."), whose loss_fraction crossings are
    compared with the measured ones.
    """
    try:
        grid = np.unique(np.linspace(0, config.steps, 201).round())
        fit_sets = [curves[f"measured_p2={p:g}"].at(grid) for p in p2s if p in config.fit_p2]
        res = sk.fit(fit_sets, model="resource", free=["eta", "N0", "offset"], normalize=True, n_bootstrap=0)
    except (ValueError, RuntimeError) as exc:
        return {"error": str(exc)}
    rows = []
    for p2 in p2s:
        data = curves[f"measured_p2={p2:g}"].at(grid)
        norm = data.loss / data.loss[0]
        pred = res.predict(sk.SkillCurves(grid, norm, data.names, (1.0, p2)))
        t_data = sk.SkillCurves(grid, norm, data.names).learning_times(config.loss_fraction)
        t_model = pred.learning_times(config.loss_fraction)
        curves[f"curvefit_p2={p2:g}"] = pred
        rows.append(
            {
                "p2": p2,
                "in_fit": p2 in config.fit_p2,
                "curve_rmse": float(np.sqrt(np.mean((pred.loss - norm) ** 2))),
                "learning_time_relative_error": [
                    float((a - b) / b) if np.isfinite(a) and np.isfinite(b) else None for a, b in zip(t_model, t_data)
                ],
            }
        )
    held = [abs(e) for r in rows if not r["in_fit"] for e in r["learning_time_relative_error"] if e is not None]
    return {
        "method": "skillode.fit(model='resource', free=['eta', 'N0', 'offset'], normalize=True)",
        "eta": res.parameters["eta"],
        "N0": res.parameters["N0"],
        "offset": res.parameters.get("offset", 0.0),
        "r2": res.r2,
        "rows": rows,
        "prediction_mean_abs_relative_error": float(np.mean(held)) if held else None,
    }


def _markdown(config: DominoConfig, m: dict) -> str:
    fit = m["resource_fit"]
    lines = [
        f"Setup: {config.n_bits} random +-1 bits, task 1 = x1 XOR x2 labelled on all {config.train_size} training "
        f"samples, task 2 = x3 XOR x4 labelled on a random fraction p2 of them; "
        f"MLP [{config.n_bits}, {config.hidden}, 2] (one output per task, squared error on +-1 targets), "
        f"full-batch Adam lr {config.lr:g}, {config.steps} steps,"
        f" seeds {list(config.seeds)} (seed = dataset + init). Learned = held-out accuracy >= "
        f"{config.accuracy_threshold:g} on {config.test_size} fresh samples per seed.",
        "",
        "Independent (Parallel-model) learning predicts t2/t1 = 1/p2; the Domino model predicts 2.",
        "",
        "| p2 | t1 (steps) | t2 (steps) | t2/t1 [95% CI] | 1/p2 | task 2 learned | Resource t2/t1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in m["rows"]:
        ratio = r["t2_over_t1"]
        lines.append(
            f"| {r['p2']:g} | {fmt(r['t1_accuracy'][0])} | {fmt(r['t2_accuracy'][0])} | {fmt(ratio[0])} "
            f"[{fmt(ratio[1])}, {fmt(ratio[2])}] | {r['inverse_p2']:g} | "
            f"{r['task2_learned_fraction']:.0%} | {fmt(r['resource_ratio'])} |"
        )
    lines += [
        "",
        f"Resource model fit (MSE, p = (1, p2)) on p2 in {fit['fit_p2']}: eta = {fmt(fit['eta'], 4)}, "
        f"N0 = {fmt(fit['N0'], 4)} (rms log residual {fmt(fit['rms_log_residual'])}); fitted with "
        "scipy.optimize.least_squares on the seed-mean loss-based learning times (held-out loss reaching "
        f"{config.loss_fraction:g} of its initial value; model: l_k = {config.loss_fraction:g}).",
        "",
        "| p2 | fit/predict | t1 measured | t1 model | t2 measured | t2 model | rel. error t1, t2 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in m["rows"]:
        e = r["resource_relative_error"]
        lines.append(
            f"| {r['p2']:g} | {'fit' if r['in_fit'] else 'predict'} | {fmt(r['t1_loss_measured'])} | "
            f"{fmt(r['t1_loss_resource'])} | {fmt(r['t2_loss_measured'])} | {fmt(r['t2_loss_resource'])} | "
            f"{fmt(e[0], 2)}, {fmt(e[1], 2)} |"
        )
    err = m["prediction_mean_abs_relative_error"]
    lines += [
        "",
        f"Mean absolute relative error of the predicted (held-out) learning times: "
        f"{'n/a' if err is None else f'{err:.1%}'}.",
        _curve_fit_markdown(m["curve_fit"]),
        f"Training cost: {m['seconds_per_seed_per_1000_steps']:.2f} s per seed per 1000 steps "
        f"(seeds batched, {m['threads_used']} torch threads; total {m['wall_seconds']:.1f} s).",
        "",
        "![domino curves](domino_curves.png)",
        "",
        "![t2/t1 vs 1/p2](domino_ratio.png)",
    ]
    return "\n".join(lines)


def _curve_fit_markdown(cf: dict) -> str:
    if "error" in cf:
        return f"Cross-check with skillode.fit on whole curves failed: {cf['error']}."
    err = cf["prediction_mean_abs_relative_error"]
    per = "; ".join(
        f"p2 = {r['p2']:g} ({'fit' if r['in_fit'] else 'predicted'}): curve rmse {r['curve_rmse']:.3g}"
        for r in cf["rows"]
    )
    return (
        f"Cross-check, skillode.fit on whole normalised curves with a time offset (eta = {cf['eta']:.4g}, "
        f"N0 = {cf['N0']:.3g}, offset = {cf['offset']:.3g} steps, R^2 = {cf['r2']:.3f}): {per}. Mean absolute "
        f"relative error of the predicted learning times: {'n/a' if err is None else f'{err:.1%}'}."
    )


def plot(result: ExperimentResult, out_dir) -> list:
    """domino_curves.png (held-out loss, data vs fitted Resource model) and domino_ratio.png."""
    import matplotlib

    matplotlib.use("Agg")
    from pathlib import Path

    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    p2s = result.arrays["p2"]
    fig, axes = plt.subplots(1, len(p2s), figsize=(3.2 * len(p2s), 3.2), sharey=True, squeeze=False)
    colors = ("tab:blue", "tab:orange")
    for ax, p2 in zip(axes[0], p2s):
        data = result.curves[f"measured_p2={p2:g}"]
        model = result.curves.get(f"resource_p2={p2:g}")
        curvefit = result.curves.get(f"curvefit_p2={p2:g}")
        for k in range(2):
            ax.plot(data.times, data.loss[:, k] / data.loss[0, k], "-", color=colors[k], label=f"data {data.names[k]}")
            if model is not None:
                ax.plot(
                    model.times,
                    model.loss[:, k],
                    "--",
                    color=colors[k],
                    label=f"Resource, fit on times {model.names[k]}",
                )
            if curvefit is not None:
                ax.plot(
                    curvefit.times,
                    curvefit.loss[:, k],
                    ":",
                    color=colors[k],
                    label=f"Resource + offset, fit on curves {curvefit.names[k]}",
                )
        ax.set_title(f"p2 = {p2:g}")
        ax.set_xlabel("step")
    axes[0, 0].set_ylabel("held-out loss / initial")
    axes[0, 0].legend(fontsize="xx-small")
    fig.tight_layout()
    fig.savefig(out_dir / "domino_curves.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    rows = result.metrics["rows"]
    inv = np.array([r["inverse_p2"] for r in rows])
    ratio = np.array([r["t2_over_t1"] for r in rows], dtype=float)
    err = np.abs(ratio[:, 1:] - ratio[:, :1]).T
    ax.errorbar(inv, ratio[:, 0], yerr=np.nan_to_num(err), fmt="o", color="k", label="MLP (accuracy), 95% CI")
    grid = np.geomspace(1.0, inv.max() * 1.2, 50)
    fit = result.metrics["resource_fit"]
    frac = result.config["loss_fraction"]
    if np.isfinite(fit["eta"]):
        model_ratio = [
            np.divide(*resource_learning_times([1.0, 1 / g], fit["eta"], fit["N0"], frac)[::-1]) for g in grid
        ]
        ax.plot(grid, model_ratio, "--", label="Resource model (fitted)")
    ax.plot(grid, grid, ":", label="independent: 1/p2")
    ax.axhline(2.0, color="gray", lw=0.8, label="Domino: 2")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("1 / p2")
    ax.set_ylabel("t2 / t1")
    ax.legend(fontsize="x-small")
    fig.tight_layout()
    fig.savefig(out_dir / "domino_ratio.png", dpi=110)
    plt.close(fig)
    return [out_dir / "domino_curves.png", out_dir / "domino_ratio.png"]
