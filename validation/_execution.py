"""Where the validation experiments' seed groups train: here, in local worker processes, or on Dask.

The experiments batch their seeds into groups (validation._train.seed_groups) and train each group
as one task. With the default execution the tasks run one after another in this process, as they
always have. Inside `execution(scheduler=..., jobs=...)` (what `skillode validate --scheduler ...
--jobs N` and write_report(scheduler=, jobs=) set up) they go through skillode's sweep execution layer
(skillode.sweeps._engine.run_points): joblib worker processes (jobs > 1), a Dask LocalCluster
("local:N") or an existing Dask scheduler ("tcp://host:port"). Workers only train and return their
TrainRecord; the experiment assembles the records in seed order and writes every file itself.

A seed's run does not depend on the group it trains in or on the process that trains it (each seed
draws from its own generators), so the records are the local run's; in a worker, training uses one
torch thread unless the config names a thread count (several workers share the cores).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from skillode._checks import as_count

T = TypeVar("T")


@dataclass(frozen=True)
class Execution:
    """Where seed-group tasks run.

    Attributes:
        scheduler: None (local), "local:N" (a Dask LocalCluster of N processes for the run) or a Dask
            scheduler address ("tcp://host:8786"; also read from DASK_SCHEDULER_ADDRESS by the CLI).
        jobs: local worker processes when scheduler is None (1: this process).
    """

    scheduler: str | None = None
    jobs: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "jobs", as_count(self.jobs, "jobs"))
        if self.scheduler is not None:
            from skillode.sweeps._engine import parse_scheduler

            parse_scheduler(self.scheduler)  # a malformed address fails here, before any training

    @property
    def in_process(self) -> bool:
        """Whether tasks run one after another in this process (the default)."""
        return self.scheduler is None and self.jobs == 1


_CURRENT: ContextVar[Execution | None] = ContextVar("skillode_validation_execution", default=None)
_IN_PROCESS = Execution()


def current_execution() -> Execution:
    """The execution the experiments' tasks run under now (default: in this process)."""
    return _CURRENT.get() or _IN_PROCESS


@contextmanager
def execution(scheduler: str | None = None, jobs: int = 1) -> Iterator[Execution]:
    """Run the experiments' seed-group tasks where `scheduler` / `jobs` say, inside this block."""
    chosen = Execution(scheduler, jobs)
    token = _CURRENT.set(chosen)
    try:
        yield chosen
    finally:
        _CURRENT.reset(token)


def one_thread_in_workers(config: T) -> T:
    """config with threads=1 when tasks run in worker processes and it names no thread count."""
    if current_execution().in_process or getattr(config, "threads", 0) is not None:
        return config
    return replace(config, threads=1)  # type: ignore[type-var]


def map_tasks(fn: Callable[..., T], tasks: Sequence[Hashable], args: tuple = (), *, name: str) -> list[T]:
    """[fn(task, *args) for task in tasks], where current_execution() says; results in task order.

    fn and args must pickle when tasks leave this process (module-level functions, config
    dataclasses). A task that raises fails the whole call with a RuntimeError naming the task and
    the error (the experiment's numbers need every seed); Ctrl-C cancels the outstanding tasks.
    """
    ex = current_execution()
    tasks = list(tasks)
    if ex.in_process or (len(tasks) <= 1 and ex.scheduler is None):
        return [fn(t, *args) for t in tasks]
    from skillode.sweeps._engine import PointFailure, parse_scheduler, run_points

    done: dict[int, Any] = {}
    indexed = list(enumerate(tasks))
    with run_points(
        _indexed_call,
        indexed,
        (fn, args),
        scheduler=parse_scheduler(ex.scheduler),
        jobs=ex.jobs,
        key=lambda item: f"skillode-validate-{name}-{item[0]}-{item[1]}",
    ) as (results, _workers, _dashboard):
        for item, value in results:
            if isinstance(value, PointFailure):
                raise RuntimeError(f"{name}: task {item[1]!r} failed: {value.error}\n{value.traceback}")
            done[item[0]] = value
    return [done[i] for i in range(len(tasks))]


def _indexed_call(item: tuple[int, Any], fn: Callable[..., Any], args: tuple) -> Any:
    return fn(item[1], *args)
