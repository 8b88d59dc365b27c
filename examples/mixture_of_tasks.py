"""Does my network learn its tasks the way the Resource model says? A complete worked example.

An MLP is trained on a mixture of four synthetic regression tasks that appear with different
frequencies (each task: its own random teacher network; the input carries a one-hot task id).
skillode.torch.SkillRecorder records the per-task loss on held-out examples during training, the
curves are saved, and `skillode compare` fits the Resource, Domino and Parallel models to them,
ranks them by how well they predict the later part of training and a held-out task, and writes a
report.

    python examples/mixture_of_tasks.py --quick          # under ~30 s on 2 CPU cores
    python examples/mixture_of_tasks.py --out my_run     # the longer run

Outputs in --out (default mixture_run/): curves.npz (the recorded curves) and compare/ (report.md,
compare.json, plots).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import skillode as sk
from skillode.cli import main as skillode_main
from skillode.torch import SkillRecorder, evaluate

TASKS = ("common", "frequent", "rare", "rarest")
FREQUENCIES = np.array([0.55, 0.27, 0.12, 0.06])  # how often each task appears in the training stream
DIM = 12  # input dimension of every task


def make_teachers(generator: torch.Generator, hidden: int = 16) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """One random two-layer tanh teacher per task (its outputs have unit variance, so every loss starts near 1)."""
    teachers = []
    for _ in TASKS:
        w1 = torch.randn(DIM, hidden, generator=generator) / DIM**0.5
        w2 = torch.randn(hidden, 1, generator=generator) / hidden**0.5
        x = torch.randn(4096, DIM, generator=generator)
        std = (torch.tanh(x @ w1) @ w2).std()
        teachers.append((w1, w2 / std))
    return teachers


def sample(teachers, task: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (x, one-hot task id) and the task's teacher output, for a batch of task ids."""
    x = torch.randn(task.numel(), DIM, generator=generator)
    w1 = torch.stack([teachers[k][0] for k in range(len(TASKS))])[task]  # (B, DIM, hidden)
    w2 = torch.stack([teachers[k][1] for k in range(len(TASKS))])[task]  # (B, hidden, 1)
    y = (torch.tanh(torch.einsum("bd,bdh->bh", x, w1)).unsqueeze(1) @ w2).reshape(-1)
    return torch.cat([x, F.one_hot(task, len(TASKS)).float()], dim=1), y


def train(steps: int, eval_every: int, seed: int = 0) -> sk.SkillCurves:
    """Train the MLP on the task mixture; the per-task held-out loss every `eval_every` steps."""
    torch.set_num_threads(1)  # small matrices: one thread is faster than two contending ones
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    teachers = make_teachers(gen)
    model = torch.nn.Sequential(
        torch.nn.Linear(DIM + len(TASKS), 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 1),
    )
    # SGD with momentum written out: torch.optim's first use imports torch._dynamo, which alone
    # can take longer than this whole quick run on a small CPU machine
    params = list(model.parameters())
    velocity = [torch.zeros_like(w) for w in params]
    probs = torch.tensor(FREQUENCIES, dtype=torch.float32)
    # held-out examples per task: the recorded loss is the mean over the same 512 examples each time
    held_out = {name: [sample(teachers, torch.full((512,), k), gen)] for k, name in enumerate(TASKS)}
    recorder = SkillRecorder(list(TASKS))

    def per_example(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (outputs.reshape(-1) - targets) ** 2

    for step in range(steps + 1):
        if step % eval_every == 0:
            evaluate(model, held_out, per_example, step=step, recorder=recorder)
        task = torch.multinomial(probs, 256, replacement=True, generator=gen)
        x, y = sample(teachers, task, gen)
        loss = per_example(model(x), y).mean()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for w, v, g in zip(params, velocity, grads):
                v.mul_(0.9).add_(g)
                w.sub_(0.02 * v)
    # the held-out sets are balanced; the frequencies that shaped training are the stream's
    return recorder.curves(frequencies=FREQUENCIES, metadata={"example": "mixture_of_tasks", "seed": seed})


def run(quick: bool, out: Path) -> int:
    steps, every, bootstrap = (600, 12, 10) if quick else (3000, 30, 50)
    curves = train(steps, every)
    out.mkdir(parents=True, exist_ok=True)
    curves.save(out / "curves.npz")
    print(f"trained {steps} steps; per-task held-out loss at {curves.n_times} steps -> {out / 'curves.npz'}")
    print(
        "first / last loss: "
        + ", ".join(f"{n} {a:.3f}/{b:.3f}" for n, a, b in zip(curves.names, *curves.loss[[0, -1]]))
    )
    argv = ["compare", str(out / "curves.npz"), "--holdout-skills", "rare", "--bootstrap", str(bootstrap)]
    rc = skillode_main([*argv, "--out", str(out / "compare")])
    if rc == 0:
        print(f"report: {out / 'compare' / 'report.md'}")
    return rc


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a short run (under ~30 s on 2 CPU cores)")
    ap.add_argument("--out", type=Path, default=Path("mixture_run"), help="output folder (default mixture_run/)")
    args = ap.parse_args()
    raise SystemExit(run(args.quick, args.out))
