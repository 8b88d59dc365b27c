"""Experiment 3: modularity and loss reweighting on two tasks of very different frequency.

Two regression tasks on separate inputs, x = (x_a, x_b) ~ U(-1, 1)^2: task 1 predicts x_a^2 with
frequency p1 = 0.99, task 2 predicts x_b^2 with p2 = 0.01. Frequency enters as the task's weight
in the full-batch squared-error loss, L = sum_k p_k mean_i (f_k(x_i) - y_ik)^2 (the expected share
of samples in a large batch; the Resource model's L = sum_k p_k l_k).

Networks (both with ReLU):
* non-modular: one MLP [2, 100, 100, 2] shared by both tasks;
* modular: the block-diagonal version of it, i.e. two separate MLPs [1, 50, 50, 1], one per
  task, each seeing only its own input.
Reweighting trains the non-modular MLP with task weights proportional to p_k^alpha (alpha = 0:
equal weights), a change of the objective that gives the rare task a larger share of the
resource; learning is still measured with the unweighted per-task losses.

A task is learned at the first step its held-out loss falls to `loss_fraction` of its initial
value. Model predictions: the Domino model (skills learned one after another) gives t2/t1 = 2 for
the shared network and t2/t1 = 1 when each task has its own module, so modularity should speed
the rare task up by about 2; the Resource model fitted (eta, N0) to the non-modular run predicts
the reweighted run's learning times.

All three conditions run the same seeds. A seed fixes the inputs (train and held-out); the
non-modular and reweighted runs of a seed also start from the same weights, while the modular
network (a different shape) draws its own initial weights from the same seed's stream. Speed-ups
between conditions are therefore paired by seed: ratio of means over the seeds where both runs
learned the task, bootstrap over seed indices.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

import skillode as sk

from ._common import (
    ExperimentResult,
    TimesCase,
    bootstrap_ci,
    check_positive_int,
    check_seeds,
    environment,
    finite_mean,
    first_step_relative,
    fmt,
    model_times_or_nan,
    paired_ratio,
    try_fit_resource_times,
)
from ._train import (
    TrainRecord,
    TrainSettings,
    concat_records,
    init_mlp,
    mlp_forward,
    seed_generators,
    seed_groups,
    train,
)

NAME = "modularity"
TASK_NAMES = ("x_a^2 (frequent)", "x_b^2 (rare)")
CONDITIONS = ("nonmodular", "modular", "reweighted")


@dataclass(frozen=True)
class ModularityConfig:
    """Non-modular vs block-modular MLPs, and loss reweighting.

    Attributes:
        frequencies: (p1, p2), the two tasks' loss weights (the paper: 0.99 / 0.01).
        hidden: width of each hidden layer of the non-modular MLP [2, hidden, hidden, 2]; each
            module of the modular one is [1, hidden/2, hidden/2, 1] (hidden must be even).
        reweight_alpha: the reweighted run's task weights are p_k^alpha, normalised (0: equal).
        seeds: one dataset and network per seed, all batched.
        train_size, test_size: samples per seed, x ~ U(-1, 1)^2.
        steps, lr: full-batch Adam steps and learning rate.
        loss_fraction: learned = held-out loss at this fraction of its initial value.
        threads: torch threads (None: automatic; see DominoConfig).
    """

    frequencies: tuple[float, float] = (0.99, 0.01)
    hidden: int = 100
    reweight_alpha: float = 0.0
    seeds: tuple[int, ...] = tuple(range(100))
    train_size: int = 128
    test_size: int = 128
    steps: int = 1500
    lr: float = 1e-3
    loss_fraction: float = 0.01
    threads: int | None = None

    def __post_init__(self) -> None:
        if len(self.frequencies) != 2 or any(not p > 0 for p in self.frequencies):
            raise ValueError(f"frequencies must be two positive numbers, got {self.frequencies!r}")
        check_positive_int(self.hidden, "hidden")
        if self.hidden % 2:
            raise ValueError(f"hidden must be even (split into two modules), got {self.hidden}")
        if not 0 <= self.reweight_alpha < 1:
            raise ValueError(f"reweight_alpha must be in [0, 1) (1 would not reweight), got {self.reweight_alpha}")
        check_seeds(self.seeds)
        check_positive_int(self.train_size, "train_size")
        check_positive_int(self.test_size, "test_size")
        if not 0 < self.loss_fraction < 1:
            raise ValueError(f"loss_fraction must be in (0, 1), got {self.loss_fraction}")
        TrainSettings(self.steps, self.lr, "adam", self.threads)

    def weights(self, condition: str) -> tuple[float, float]:
        """Task weights of the loss in a condition (they sum to 1)."""
        p = np.asarray(self.frequencies, dtype=np.float64)
        w = p**self.reweight_alpha if condition == "reweighted" else p
        w = w / w.sum()
        return float(w[0]), float(w[1])


QUICK = ModularityConfig(seeds=tuple(range(20)), train_size=128, test_size=128, steps=1000)


def train_condition(config: ModularityConfig, condition: str, *, progress: bool = False) -> TrainRecord:
    """Train all seeds of one condition ("nonmodular", "modular" or "reweighted").

    Seeds are batched in groups (see validation._train.GROUP_ELEMENTS); each seed's run does not
    depend on its group.
    """
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    seeds = list(config.seeds)
    return concat_records(
        [
            _train_group(config, condition, seeds[g], progress)
            for g in seed_groups(len(seeds), config.train_size * config.hidden)
        ]
    )


def _train_group(config: ModularityConfig, condition: str, seeds: list[int], progress: bool) -> TrainRecord:
    gens = seed_generators(seeds)
    xs, xts = [], []
    for g in gens:
        xs.append(torch.rand(config.train_size, 2, generator=g, dtype=torch.float32) * 2 - 1)
        xts.append(torch.rand(config.test_size, 2, generator=g, dtype=torch.float32) * 2 - 1)
    x, xt = torch.stack(xs), torch.stack(xts)
    y, yt = x**2, xt**2
    w = torch.tensor(config.weights(condition), dtype=torch.float32).expand_as(y).contiguous()
    n_seeds = len(seeds)
    if condition == "modular":
        half = config.hidden // 2
        params = init_mlp([1, half, half, 1], gens, copies=2)

        def split(inp: torch.Tensor) -> torch.Tensor:  # (S, N, 2) -> (S*2, N, 1): replica s*2+m sees input m
            return inp.permute(0, 2, 1).reshape(n_seeds * 2, inp.shape[1], 1)

        def join(out: torch.Tensor, n: int) -> torch.Tensor:
            return out.reshape(n_seeds, 2, n).permute(0, 2, 1)

        xm, xtm = split(x), split(xt)
        predict = lambda p: join(mlp_forward(p, xm), config.train_size)  # noqa: E731
        predict_test = lambda p: join(mlp_forward(p, xtm), config.test_size)  # noqa: E731
    else:
        params = init_mlp([2, config.hidden, config.hidden, 2], gens)
        predict = lambda p: mlp_forward(p, x)  # noqa: E731
        predict_test = lambda p: mlp_forward(p, xt)  # noqa: E731
    settings = TrainSettings(config.steps, config.lr, "adam", config.threads)
    return train(
        params,
        predict,
        y,
        w,
        settings,
        seeds=seeds,
        classification=False,
        progress=progress,
        desc=f"modularity: {condition}",
        test=(predict_test, yt),
    )


def run(config: ModularityConfig = ModularityConfig(), *, progress: bool = False) -> ExperimentResult:
    times, curves, arrays, wall, threads = {}, {}, {}, 0.0, set()
    for cond in CONDITIONS:
        rec = train_condition(config, cond, progress=progress)
        wall += rec.wall_seconds
        threads.add(rec.threads)
        if rec.seeds != tuple(config.seeds):  # the speed-ups pair row i of every condition
            raise RuntimeError(f"{cond}: runs came back in seed order {rec.seeds}, not {tuple(config.seeds)}")
        times[cond] = first_step_relative(rec.test_loss, config.loss_fraction)  # (S, 2)
        arrays[cond] = {"test_loss": rec.test_loss, "times": times[cond]}
        curves[f"measured_{cond}"] = sk.SkillCurves(
            rec.steps,
            np.exp(np.mean(np.log(rec.test_loss), axis=0)),
            TASK_NAMES,
            config.frequencies,
            {
                "experiment": NAME,
                "condition": cond,
                "seeds": list(config.seeds),
                "split": "test",
                "average": "geometric mean over seeds",
                "weights": list(config.weights(cond)),
            },
        )

    def summary(cond: str) -> dict:
        t = times[cond]
        return {
            "t1": bootstrap_ci(t[:, 0], seed=1),
            "t2": bootstrap_ci(t[:, 1], seed=2),
            "t2_over_t1": bootstrap_ci(t[:, 1], t[:, 0], seed=3, paired=True),
            "learned_fraction": [float(np.mean(np.isfinite(t[:, k]))) for k in range(2)],
            "t1_quantiles": _quantiles(t[:, 0]),
            "t2_quantiles": _quantiles(t[:, 1]),
        }

    measured = {cond: summary(cond) for cond in CONDITIONS}
    speedups, pairing = speedup_ratios(times)
    # Domino model: the shared network learns the tasks one after another (t2/t1 = 2); separate
    # modules learn both at once (t2/t1 = 1), so the rare task is sped up by t2_shared / t2_own.
    domino = sk.DominoModel(config.frequencies, 1.0)
    dom_t = domino.learning_times(0.0)
    domino_rare_speedup = float(dom_t[1] / dom_t[0])
    mean_t = finite_mean(times["nonmodular"]).tolist()
    eta, n0, rms = try_fit_resource_times(
        [TimesCase(config.weights("nonmodular"), tuple(mean_t), config.loss_fraction)]
    )
    pred_rw = model_times_or_nan(config.weights("reweighted"), eta, n0, config.loss_fraction)
    pred_nm = model_times_or_nan(config.weights("nonmodular"), eta, n0, config.loss_fraction)
    meas_rw = finite_mean(times["reweighted"]).tolist()
    if np.isfinite(eta):
        for label, w in (("nonmodular", config.weights("nonmodular")), ("reweighted", config.weights("reweighted"))):
            model = sk.ResourceModel(w, eta, n0, names=TASK_NAMES)
            curves[f"resource_{label}"] = sk.solve(model, times=np.arange(config.steps + 1.0)).curves
    metrics = {
        "measured": measured,
        "speedups": speedups,
        "speedup_pairing": pairing,
        "domino_predicted_rare_speedup_modular": domino_rare_speedup,
        "resource": {
            "eta": eta,
            "N0": n0,
            "rms_log_residual_fit": rms,
            "fitted_on": "nonmodular seed-mean learning times",
            "nonmodular_fitted": pred_nm.tolist(),
            "reweighted_predicted": pred_rw.tolist(),
            "reweighted_measured": meas_rw,
            "reweighted_relative_error": [float((pred_rw[k] - meas_rw[k]) / meas_rw[k]) for k in range(2)],
            "predicted_rare_speedup_reweighted": float(pred_nm[1] / pred_rw[1]),
        },
        "wall_seconds": wall,
        "threads_used": threads.pop() if len(threads) == 1 else None,
    }
    cfg = asdict(config) | {"environment": environment(), "weights": {c: list(config.weights(c)) for c in CONDITIONS}}
    return ExperimentResult(
        NAME,
        "Modularity and loss reweighting",
        cfg,
        metrics,
        curves,
        arrays,
        _markdown(config, metrics),
        ("modularity_times.png", "modularity_curves.png"),
    )


SPEEDUPS = {  # name: (other condition, task index, bootstrap seed)
    "modular_rare": ("modular", 1, 11),
    "modular_frequent": ("modular", 0, 12),
    "reweighted_rare": ("reweighted", 1, 13),
    "reweighted_frequent": ("reweighted", 0, 14),
}


def speedup_ratios(times: dict) -> tuple[dict, dict]:
    """Speed-ups over the non-modular run: mean t(nonmodular) / mean t(other), paired by seed.

    times[cond] has shape (n_seeds, 2), rows in the same seed order for every condition. A seed's
    runs share their inputs (and, non-modular vs reweighted, their initial weights), so each ratio
    is a paired_ratio: the seeds where both runs learned the task, resampled as pairs.

    Returns ({name: (point, lo, hi)}, {name: {"n_pairs", "per_seed"}}) for the names in SPEEDUPS.
    """
    ratios, pairing = {}, {}
    for name, (other, k, seed) in SPEEDUPS.items():
        r = paired_ratio(times["nonmodular"][:, k], times[other][:, k], seed=seed)
        ratios[name] = r["ratio"]
        pairing[name] = {"n_pairs": r["n_pairs"], "per_seed": r["per_seed"]}
    return ratios, pairing


def _quantiles(t: np.ndarray) -> list[float]:
    f = t[np.isfinite(t)]
    return [float(q) for q in np.quantile(f, [0.1, 0.5, 0.9])] if f.size else [float("nan")] * 3


def _markdown(config: ModularityConfig, m: dict) -> str:
    w = config.weights("reweighted")
    lines = [
        f"Setup: x ~ U(-1, 1)^2, task 1 = x_a^2 (weight {config.frequencies[0]:g}), task 2 = x_b^2 (weight "
        f"{config.frequencies[1]:g}); non-modular MLP [2, {config.hidden}, {config.hidden}, 2] vs two modules "
        f"[1, {config.hidden // 2}, {config.hidden // 2}, 1]; reweighted = non-modular with weights "
        f"({w[0]:.3g}, {w[1]:.3g}) (p^{config.reweight_alpha:g}). Full-batch Adam lr {config.lr:g}, "
        f"{config.steps} steps, {len(config.seeds)} seeds, {config.train_size} training points each. "
        f"Learned = held-out loss at {config.loss_fraction:g} of its initial value.",
        "",
        "| condition | t1 mean [95% CI] | t2 mean [95% CI] | t2 10/50/90% quantiles | t2/t1 | learned (1, 2) |",
        "|---|---|---|---|---|---|",
    ]
    for cond, d in m["measured"].items():
        lines.append(
            f"| {cond} | {fmt(d['t1'][0])} [{fmt(d['t1'][1])}, {fmt(d['t1'][2])}] | {fmt(d['t2'][0])} "
            f"[{fmt(d['t2'][1])}, {fmt(d['t2'][2])}] | {', '.join(fmt(q) for q in d['t2_quantiles'])} | "
            f"{fmt(d['t2_over_t1'][0])} | {d['learned_fraction'][0]:.0%}, {d['learned_fraction'][1]:.0%} |"
        )
    s = m["speedups"]
    n = m["speedup_pairing"]
    r = m["resource"]
    lines += [
        "",
        "Speed-ups (ratio of mean learning times, non-modular / other; 95% bootstrap CI, paired by seed: the "
        "runs of one seed share their inputs, and the non-modular and reweighted runs their initial weights, so "
        "seeds are resampled with both of their runs). Both means are over the same seeds, those where both "
        "runs learned the task (n pairs); a seed that never learned is left out, which understates a speed-up "
        "when the non-modular run is the censored one.",
        "",
        f"- modular, rare task: {fmt(s['modular_rare'][0])}x [{fmt(s['modular_rare'][1])}, "
        f"{fmt(s['modular_rare'][2])}], n = {n['modular_rare']['n_pairs']} (Domino model: "
        f"{m['domino_predicted_rare_speedup_modular']:g}x); "
        f"frequent task: {fmt(s['modular_frequent'][0])}x [{fmt(s['modular_frequent'][1])}, "
        f"{fmt(s['modular_frequent'][2])}], n = {n['modular_frequent']['n_pairs']}",
        f"- reweighted, rare task: {fmt(s['reweighted_rare'][0])}x [{fmt(s['reweighted_rare'][1])}, "
        f"{fmt(s['reweighted_rare'][2])}], n = {n['reweighted_rare']['n_pairs']} (Resource model: "
        f"{fmt(r['predicted_rare_speedup_reweighted'])}x); "
        f"frequent task: {fmt(s['reweighted_frequent'][0])}x [{fmt(s['reweighted_frequent'][1])}, "
        f"{fmt(s['reweighted_frequent'][2])}], n = {n['reweighted_frequent']['n_pairs']}",
        "",
        "Resource model fitted to the non-modular run (2 parameters on 2 mean learning times): "
        f"eta = {fmt(r['eta'], 4)}, "
        f"N0 = {fmt(r['N0'])} (rms log residual "
        f"{r['rms_log_residual_fit']:.3g}); predicted reweighted learning times {fmt(r['reweighted_predicted'][0])}, "
        f"{fmt(r['reweighted_predicted'][1])} vs measured {fmt(r['reweighted_measured'][0])}, "
        f"{fmt(r['reweighted_measured'][1])} (relative errors {fmt(r['reweighted_relative_error'][0], 2)}, "
        f"{fmt(r['reweighted_relative_error'][1], 2)}).",
        "",
        "![learning-time distributions](modularity_times.png)",
        "",
        "![loss curves](modularity_curves.png)",
    ]
    return "\n".join(lines)


def plot(result: ExperimentResult, out_dir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for k, ax in enumerate(axes):
        data = [result.arrays[c]["times"][:, k] for c in CONDITIONS]
        finite = [d[np.isfinite(d)] for d in data]
        lo = min((d.min() for d in finite if d.size), default=1.0)
        hi = max((d.max() for d in finite if d.size), default=10.0)
        bins = np.geomspace(max(lo, 1.0), hi * 1.05 + 1, 25)
        for c, d in zip(CONDITIONS, finite):
            ax.hist(d, bins=bins, histtype="step", label=f"{c} (n={d.size})")
        ax.set_xscale("log")
        ax.set_xlabel("learning time (steps)")
        ax.set_title(TASK_NAMES[k])
        ax.legend(fontsize="x-small")
    axes[0].set_ylabel("seeds")
    fig.tight_layout()
    fig.savefig(out_dir / "modularity_times.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5), sharey=True)
    colors = ("tab:blue", "tab:orange")
    for ax, cond in zip(axes, CONDITIONS):
        data = result.curves[f"measured_{cond}"]
        for k in range(2):
            ax.plot(data.times, data.loss[:, k] / data.loss[0, k], "-", color=colors[k], label=f"data {data.names[k]}")
        if f"resource_{cond}" in result.curves:
            model = result.curves[f"resource_{cond}"]
            for k in range(2):
                ax.plot(model.times, model.loss[:, k], "--", color=colors[k], label=f"Resource {model.names[k]}")
        ax.set_yscale("log")
        ax.set_title(cond)
        ax.set_xlabel("step")
        ax.legend(fontsize="x-small")
    axes[0].set_ylabel("held-out loss / initial (geometric mean)")
    fig.tight_layout()
    fig.savefig(out_dir / "modularity_curves.png", dpi=110)
    plt.close(fig)
    return [out_dir / "modularity_times.png", out_dir / "modularity_curves.png"]
