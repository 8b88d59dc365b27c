"""Overhead of SkillRecorder.record per training step (run by hand; prints its figures).

    .venv/bin/python -m pytest -q -m benchmark benchmarks/bench_recorder.py -s
    .venv/bin/python benchmarks/bench_recorder.py [--threads 1] [--steps 300] [--device cpu]

A sparse-parity-like step: 64-bit inputs, an MLP [64, 256, 2], batch 1024, Adam, per-example
cross-entropy. Bare steps and recorded steps (the same step plus recorder.record of its
per-example losses and skill ids, with and without accuracy) alternate, so that load from other
work on the machine hits both alike; each figure is a median over `steps` steps. record() is
also timed on its own. The overhead is (median recorded - median bare) / median bare; the goal
(issue #17) is a few percent at most. Wall-clock on whatever else the machine runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import pytest

torch = pytest.importorskip("torch")

from skillode.torch import SkillRecorder  # noqa: E402

N_BITS, HIDDEN, BATCH = 64, 256, 1024


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(steps: int = 300, n_skills: int = 8, threads: int = 1, device: str = "cpu") -> dict:
    """Median seconds per step: bare, recorded (loss), recorded (loss + accuracy), and record() alone."""
    if device == "cpu":
        torch.set_num_threads(threads)
    dev = torch.device(device)
    g = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randint(0, 2, (BATCH, N_BITS), generator=g).float().to(dev)
    # every skill in every batch (n_skills <= BATCH), so that curves() has a value everywhere
    skill = (torch.randperm(BATCH, generator=g) % n_skills).to(dev)
    y = (x[:, :2].sum(dim=1) % 2).long()  # parity of two bits (the task does not change the timing)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(N_BITS, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 2)).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    plain = SkillRecorder(n_skills)
    with_acc = SkillRecorder(n_skills, track_accuracy=True)

    def step(i: int, recorder: SkillRecorder | None) -> tuple[float, float]:
        _sync(dev)
        t0 = time.perf_counter()
        out = model(x)
        per_example = torch.nn.functional.cross_entropy(out, y, reduction="none")
        per_example.mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        t1 = time.perf_counter()
        if recorder is plain:
            plain.record(i, per_example, skill)
        elif recorder is with_acc:
            with_acc.record(i, per_example, skill, out.argmax(dim=-1) == y)
        t2 = time.perf_counter()
        _sync(dev)
        t3 = time.perf_counter()
        return t3 - t0, t2 - t1

    for i in range(30):  # warm-up: allocator, thread pool, the optimizer's first-step imports, the buffers
        step(i, None), step(i, plain), step(i, with_acc)
    bare, rec, acc, rec_only, acc_only = [], [], [], [], []
    for i in range(30, 30 + steps):
        bare.append(step(i, None)[0])
        total, own = step(i, plain)
        rec.append(total), rec_only.append(own)
        total, own = step(i, with_acc)
        acc.append(total), acc_only.append(own)
    t0 = time.perf_counter()
    plain.curves()
    curves_s = time.perf_counter() - t0
    med = statistics.median
    fig = {
        "bare_step_ms": med(bare) * 1e3,
        "recorded_step_ms": med(rec) * 1e3,
        "recorded_step_with_accuracy_ms": med(acc) * 1e3,
        "record_call_ms": med(rec_only) * 1e3,
        "record_call_with_accuracy_ms": med(acc_only) * 1e3,
        "curves_call_ms": curves_s * 1e3,
    }
    fig["overhead_pct"] = 100 * (fig["recorded_step_ms"] / fig["bare_step_ms"] - 1)
    fig["overhead_with_accuracy_pct"] = 100 * (fig["recorded_step_with_accuracy_ms"] / fig["bare_step_ms"] - 1)
    fig["record_call_pct_of_bare_step"] = 100 * fig["record_call_ms"] / fig["bare_step_ms"]
    fig["record_call_with_accuracy_pct_of_bare_step"] = 100 * fig["record_call_with_accuracy_ms"] / fig["bare_step_ms"]
    return fig


def _print(title: str, fig: dict) -> None:
    print(title)
    for key, value in fig.items():
        print(f"  {key:44s} {value:10.3f}")


@pytest.mark.benchmark
def test_recorder_overhead():
    for n_skills in (8, 1000):
        fig = measure(n_skills=n_skills)
        _print(f"n_skills={n_skills}, batch {BATCH}, MLP [{N_BITS}, {HIDDEN}, 2], Adam, 1 thread, CPU", fig)
        # the record() calls themselves, timed apart, are the robust figure on a shared machine
        assert fig["record_call_with_accuracy_pct_of_bare_step"] < 5.0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--skills", type=int, nargs="+", default=[8, 1000])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    for n in args.skills:
        figures = measure(args.steps, n, args.threads, args.device)
        _print(
            f"n_skills={n}, batch {BATCH}, MLP [{N_BITS}, {HIDDEN}, 2], Adam, {args.threads} thread(s), {args.device}",
            figures,
        )
