"""Experiment 2: a compositional task against an independent one, and the gated Resource model.

Condition "compositional": three parity tasks on the same inputs, A = x1^x2, B = x3^x4 and
AB = x1^x2^x3^x4 (the XOR of A and B, so it depends on both). Condition "independent": A, B and
D = x5^x6^x7^x8, a 4-bit parity of the same order that shares no bit with them. All tasks are
labelled on every sample (frequency 1). See validation.sparse_parity for how tasks are posed.

Model: the Resource model with an AND gate on AB,

    dl_k/dt = -eta c_k p_k l_k / (sum_j c_j p_j l_j + N0),   c_AB = (1 - l_A)(1 - l_B),

fitted (eta, N0) to the measured loss-based learning times of A, B and AB, then asked to predict
the onsets (first step each loss falls to `onset_fraction` of its initial value) and their order.
The same fit without the gate is the baseline: it cannot delay AB.

Both conditions run the same seeds, and a seed fixes the inputs and the initial weights (the
networks have the same shape), so the two runs of one seed differ only in the third task's
target. Ratios between the conditions (and between tasks of one run) are therefore paired by
seed: ratio of means over the seeds where both times are finite, bootstrap over seed indices.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

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
    try_fit_resource_times,
)
from ._train import TrainSettings
from .sparse_parity import ParityTask, mean_curves, train_parity

NAME = "compositional"
CONDITIONS = {
    "compositional": (
        ParityTask((0, 1), 1.0, "A=x1^x2"),
        ParityTask((2, 3), 1.0, "B=x3^x4"),
        ParityTask((0, 1, 2, 3), 1.0, "AB=x1^x2^x3^x4"),
    ),
    "independent": (
        ParityTask((0, 1), 1.0, "A=x1^x2"),
        ParityTask((2, 3), 1.0, "B=x3^x4"),
        ParityTask((4, 5, 6, 7), 1.0, "D=x5^x6^x7^x8"),
    ),
}
GATES = {2: (0, 1)}


@dataclass(frozen=True)
class CompositionalConfig:
    """Compositional vs independent 4-bit parity.

    Attributes:
        n_bits: input bits per sample (>= 8).
        hidden: hidden width of the [n_bits, hidden, 3] ReLU MLP.
        seeds: one dataset and network per seed, batched.
        train_size, test_size: training samples and held-out samples per seed.
        steps, lr: full-batch Adam steps and learning rate.
        accuracy_threshold: learned = held-out accuracy reaching this.
        onset_fraction: onset = held-out loss falling to this fraction of its initial value.
        loss_fraction: loss-based learning time (for the fit) = loss at this fraction.
        threads: torch threads (None: automatic; see DominoConfig).
    """

    n_bits: int = 16
    hidden: int = 50
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    train_size: int = 3000
    test_size: int = 500
    steps: int = 1500
    lr: float = 1e-3
    accuracy_threshold: float = 0.95
    onset_fraction: float = 0.9
    loss_fraction: float = 0.1
    threads: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.n_bits, bool) or int(self.n_bits) != self.n_bits or self.n_bits < 8:
            raise ValueError(f"n_bits must be an integer >= 8 (task D uses bits 5-8), got {self.n_bits!r}")
        check_positive_int(self.hidden, "hidden")
        check_positive_int(self.train_size, "train_size")
        check_positive_int(self.test_size, "test_size")
        check_seeds(self.seeds)
        for name in ("accuracy_threshold", "onset_fraction", "loss_fraction"):
            v = getattr(self, name)
            if not 0 < v < 1:
                raise ValueError(f"{name} must be in (0, 1), got {v}")
        if self.loss_fraction >= self.onset_fraction:
            raise ValueError("loss_fraction must be below onset_fraction (learning comes after onset)")
        TrainSettings(self.steps, self.lr, "adam", self.threads)


QUICK = CompositionalConfig(n_bits=8, hidden=50, seeds=(0, 1, 2), train_size=600, test_size=200, steps=600)


def run(config: CompositionalConfig = CompositionalConfig(), *, progress: bool = False) -> ExperimentResult:
    settings = TrainSettings(config.steps, config.lr, "adam", config.threads)
    arrays: dict = {}
    curves: dict = {}
    measured: dict = {}
    wall = 0.0
    threads = set()
    for cond, tasks in CONDITIONS.items():
        rec = train_parity(
            tasks,
            config.seeds,
            n_bits=config.n_bits,
            hidden=config.hidden,
            train_size=config.train_size,
            test_size=config.test_size,
            settings=settings,
            progress=progress,
            desc=f"compositional: {cond}",
        )
        wall += rec.wall_seconds
        threads.add(rec.threads)
        if rec.seeds != tuple(config.seeds):  # the cross-condition ratios pair row i with row i
            raise RuntimeError(f"{cond}: runs came back in seed order {rec.seeds}, not {tuple(config.seeds)}")
        names = tuple(t.label for t in tasks)
        acc_t = first_step(rec.test_accuracy, config.accuracy_threshold, above=True)
        onset_t = first_step_relative(rec.test_loss, config.onset_fraction)
        loss_t = first_step_relative(rec.test_loss, config.loss_fraction)
        arrays[cond] = {
            "test_loss": rec.test_loss,
            "test_accuracy": rec.test_accuracy,
            "acc_times": acc_t,
            "onset_times": onset_t,
            "loss_times": loss_t,
        }
        curves[f"measured_{cond}"] = mean_curves(
            rec,
            names,
            (1.0, 1.0, 1.0),
            {"experiment": NAME, "condition": cond, "seeds": list(config.seeds), "split": "test"},
        )
        measured[cond] = {
            "names": list(names),
            "learning_time_accuracy": [bootstrap_ci(acc_t[:, k], seed=k) for k in range(3)],
            "onset_time": [bootstrap_ci(onset_t[:, k], seed=10 + k) for k in range(3)],
            "learning_time_loss": [bootstrap_ci(loss_t[:, k], seed=20 + k) for k in range(3)],
            "learned_fraction": [float(np.mean(np.isfinite(acc_t[:, k]))) for k in range(3)],
        }

    comp = measured["compositional"]
    lt = arrays["compositional"]["loss_times"]
    mean_loss_t = tuple(float(x) for x in finite_mean(lt, axis=0))
    mean_onset = np.array([c[0] for c in comp["onset_time"]])
    models = {}
    for label, gated in (("gated", True), ("ungated", False)):
        eta, n0, rms = try_fit_resource_times(
            [TimesCase((1.0, 1.0, 1.0), mean_loss_t, config.loss_fraction, GATES if gated else None)]
        )
        onset_pred, learn_pred = (
            model_times_or_nan((1.0, 1.0, 1.0), eta, n0, thr, gates=GATES if gated else None)
            for thr in (config.onset_fraction, config.loss_fraction)
        )
        err = (onset_pred - mean_onset) / mean_onset
        models[label] = {
            "eta": eta,
            "N0": n0,
            "rms_log_residual_fit": rms,
            "onset_predicted": onset_pred.tolist(),
            "learning_time_fitted": learn_pred.tolist(),
            "onset_relative_error": err.tolist(),
            "onset_order_predicted": [comp["names"][k] for k in np.argsort(onset_pred, kind="stable")],
        }
        if np.isfinite(eta):
            model = sk.ResourceModel(
                (1.0, 1.0, 1.0), eta, n0, gates=GATES if gated else None, names=tuple(comp["names"])
            )
            curves[f"resource_{label}"] = sk.solve(model, times=np.arange(config.steps + 1.0), method="ode").curves
    measured_order = [comp["names"][k] for k in np.argsort(mean_onset, kind="stable")]
    metrics = {
        "measured": measured,
        "onset_order_measured": measured_order,
        "resource": models,
        # both parents share one frequency, so the gated model can only order the composite task last
        "gated_predicts_composite_last": models["gated"]["onset_order_predicted"][-1] == measured_order[-1],
        **cross_condition_ratios(arrays),
        "wall_seconds": wall,
        "threads_used": threads.pop() if len(threads) == 1 else None,
    }
    cfg = asdict(config) | {
        "environment": environment(),
        "tasks": {c: [t.label for t in ts] for c, ts in CONDITIONS.items()},
    }
    return ExperimentResult(
        NAME,
        "Compositional tasks and the gated Resource model",
        cfg,
        metrics,
        curves,
        arrays,
        _markdown(config, metrics),
        ("compositional_curves.png",),
    )


def cross_condition_ratios(arrays: dict) -> dict:
    """Speed-up of the composite parity over the independent one, and its onset over its parents'.

    arrays[cond] holds (n_seeds, 3) "acc_times" and "onset_times", rows in the same seed order for
    both conditions. All ratios are paired by seed (paired_ratio): the two conditions of a seed
    share inputs and initial weights, and the onsets of AB, A and B come from one run.

    Returns {"composite_vs_independent_speedup": (point, lo, hi) of mean t(D) / mean t(AB)
    (accuracy-based), "composite_onset_over_parents": {"A": (...), "B": (...)} of mean onset(AB) /
    mean onset(parent), "pairing": n_pairs and per-seed ratios of each}.
    """
    comp, ind = arrays["compositional"], arrays["independent"]
    speedup = paired_ratio(ind["acc_times"][:, 2], comp["acc_times"][:, 2], seed=99)
    onsets = {
        parent: paired_ratio(comp["onset_times"][:, 2], comp["onset_times"][:, k], seed=97 + k)
        for k, parent in enumerate(("A", "B"))
    }
    return {
        "composite_vs_independent_speedup": speedup["ratio"],
        "composite_onset_over_parents": {k: v["ratio"] for k, v in onsets.items()},
        "pairing": {
            "how": "paired by seed: same inputs and initial weights in both conditions; ratio of means over "
            "the seeds where both times are finite, bootstrap over seed indices",
            "composite_vs_independent_speedup": {"n_pairs": speedup["n_pairs"], "per_seed": speedup["per_seed"]},
            **{
                f"composite_onset_over_{k}": {"n_pairs": v["n_pairs"], "per_seed": v["per_seed"]}
                for k, v in onsets.items()
            },
        },
    }


def _markdown(config: CompositionalConfig, m: dict) -> str:
    lines = [
        f"Setup: {config.n_bits} random +-1 bits; MLP [{config.n_bits}, {config.hidden}, 3], one output per task, "
        f"squared error on +-1 targets, every task on all {config.train_size} training samples; full-batch Adam lr "
        f"{config.lr:g}, {config.steps} steps, seeds {list(config.seeds)}. Onset = held-out loss at "
        f"{config.onset_fraction:g} of its initial value; "
        f"learned = held-out accuracy >= {config.accuracy_threshold:g}.",
        "",
        "| condition | task | onset (steps) [95% CI] | learned (steps) [95% CI] | seeds learned |",
        "|---|---|---|---|---|",
    ]
    for cond, d in m["measured"].items():
        for k, name in enumerate(d["names"]):
            o, a = d["onset_time"][k], d["learning_time_accuracy"][k]
            lines.append(
                f"| {cond} | {name} | {fmt(o[0])} [{fmt(o[1])}, {fmt(o[2])}] | {fmt(a[0])} "
                f"[{fmt(a[1])}, {fmt(a[2])}] | {d['learned_fraction'][k]:.0%} |"
            )
    s = m["composite_vs_independent_speedup"]
    o = m["composite_onset_over_parents"]
    pairs = m["pairing"]
    lines += [
        "",
        f"The composite 4-bit parity is learned {fmt(s[0])}x [{fmt(s[1])}, {fmt(s[2])}] faster than the independent "
        "4-bit parity of the same order (ratio of mean accuracy-based learning times, over the "
        f"{pairs['composite_vs_independent_speedup']['n_pairs']} seeds that learned both). Its onset comes "
        f"{fmt(o['A'][0])}x [{fmt(o['A'][1])}, {fmt(o['A'][2])}] as late as A's and {fmt(o['B'][0])}x "
        f"[{fmt(o['B'][1])}, {fmt(o['B'][2])}] as late as B's (ratio of mean onsets). Intervals: 95% bootstrap, "
        "paired by seed (a seed gives both conditions the same inputs and initial weights, so seeds are "
        "resampled with both of their runs).",
        "",
        f"Measured onset order (compositional): {' < '.join(m['onset_order_measured'])}.",
        "",
        "Resource model, (eta, N0) fitted to the compositional condition's loss-based learning times "
        f"(loss at {config.loss_fraction:g}), onsets predicted:",
        "",
        "| model | eta | N0 | fit rms log residual | predicted onsets | onset rel. errors | predicted order |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, d in m["resource"].items():
        lines.append(
            f"| {label} | {fmt(d['eta'], 4)} | {fmt(d['N0'])} | {fmt(d['rms_log_residual_fit'])} | "
            f"{', '.join(fmt(x) for x in d['onset_predicted'])} | "
            f"{', '.join(fmt(x, 2) for x in d['onset_relative_error'])} | "
            f"{' < '.join(d['onset_order_predicted'])} |"
        )
    lines += ["", "![compositional curves](compositional_curves.png)"]
    return "\n".join(lines)


def plot(result: ExperimentResult, out_dir) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
    colors = ("tab:blue", "tab:orange", "tab:red")
    for ax, cond in zip(axes, ("compositional", "independent")):
        data = result.curves[f"measured_{cond}"]
        for k in range(3):
            ax.plot(data.times, data.loss[:, k] / data.loss[0, k], "-", color=colors[k], label=f"data {data.names[k]}")
        if cond == "compositional" and "resource_gated" in result.curves:
            model = result.curves["resource_gated"]
            for k in range(3):
                ax.plot(model.times, model.loss[:, k], "--", color=colors[k], label=f"gated Resource {model.names[k]}")
        if cond == "compositional" and "resource_ungated" in result.curves:
            ungated = result.curves["resource_ungated"]
            ax.plot(ungated.times, ungated.loss[:, 2], ":", color=colors[2], label="ungated Resource AB")
        ax.set_title(cond)
        ax.set_xlabel("step")
        ax.legend(fontsize="x-small")
    axes[0].set_ylabel("held-out loss / initial")
    fig.tight_layout()
    fig.savefig(out_dir / "compositional_curves.png", dpi=110)
    plt.close(fig)
    return [out_dir / "compositional_curves.png"]
