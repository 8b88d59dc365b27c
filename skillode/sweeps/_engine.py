"""Where sweep points run: in this process, in local joblib worker processes, or on a Dask cluster.

One execution layer for every sweep: the caller hands over a function and the points (items) it is
applied to, and gets back (item, result) pairs *as they finish*, in whatever order. Workers only
compute and return arrays; the caller writes the files (atomically), so that no worker needs the
output folder, a shared file system, or can leave a half-written file behind.

    scheduler=None          local: joblib/loky worker processes (`jobs`), or this process (jobs=1)
    scheduler="local:N"     a dask.distributed LocalCluster of N single-thread processes, for this run
    scheduler="tcp://h:p"   an existing Dask scheduler (e.g. started by dask-jobqueue on a cluster)

Fault policy: a point whose function raises is returned as a `PointFailure` (the other points go
on and are kept); a Dask worker that dies is the scheduler's business (its tasks are rerun
elsewhere, up to distributed.scheduler.allowed-failures times, then reported as a failure).
Interrupt policy: KeyboardInterrupt (Ctrl-C, or SIGTERM through the CLI) cancels what is
outstanding: joblib kills its workers, Dask futures are cancelled, and a LocalCluster started here is
closed. Local workers also watch their parent: if it dies without unwinding (SIGKILL), they exit.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Generator, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .._checks import as_count

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "MissingExtraError",
    "PointFailure",
    "Scheduler",
    "parse_scheduler",
    "run_points",
]

DEFAULT_CONNECT_TIMEOUT = 30.0
MAX_BATCH = 64  # points per Dask task at most (see auto_batch)
_PARENT_POLL_SECONDS = 0.25


class MissingExtraError(ImportError):
    """An optional dependency (here dask.distributed) is needed and is not installed."""


@dataclass(frozen=True)
class Scheduler:
    """A parsed --scheduler value.

    Attributes:
        kind: "local" (joblib processes / this process), "dask-local" (a LocalCluster started for
            the run) or "dask" (an existing scheduler at `address`).
        address: the scheduler address (kind "dask").
        workers: worker processes of the LocalCluster (kind "dask-local").
    """

    kind: str
    address: str | None = None
    workers: int | None = None

    @property
    def uses_dask(self) -> bool:
        return self.kind != "local"


def parse_scheduler(text: str | None) -> Scheduler:
    """None/"" -> local; "local:N" -> a LocalCluster of N processes; "scheme://host:port" -> that scheduler."""
    if text is None or not str(text).strip():
        return Scheduler("local")
    text = str(text).strip()
    if text.startswith("local:"):
        try:
            n = int(text.partition(":")[2])
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"scheduler local:N needs a worker count N >= 1, got {text!r}")
        return Scheduler("dask-local", workers=n)
    scheme, sep, rest = text.partition("://")
    if not sep or not scheme or not rest:
        raise ValueError(f"scheduler must be local:N or an address like tcp://host:8786, got {text!r}")
    return Scheduler("dask", address=text)


@dataclass(frozen=True)
class PointFailure:
    """A point whose computation raised: what it was, and the worker-side traceback."""

    item: Any
    error: str
    traceback: str = ""

    def __str__(self) -> str:
        return f"{self.item}: {self.error}"


def _guarded(fn: Callable[..., Any], item: Any, args: tuple, parent_pid: int | None) -> tuple[Any, Any]:
    """Run fn(item, *args) in a worker; an exception comes back as a PointFailure (the other points go on)."""
    if parent_pid is not None:
        _watch_parent(parent_pid)
    try:
        return item, fn(item, *args)
    except Exception as exc:  # noqa: BLE001 - reported per point, with its traceback
        return item, PointFailure(item, f"{type(exc).__name__}: {exc}", traceback.format_exc())


def _guarded_batch(fn: Callable[..., Any], items: Sequence[Any], args: tuple) -> list[tuple[Any, Any]]:
    """_guarded over several points in one Dask task: one round trip for the lot."""
    return [_guarded(fn, item, args, None) for item in items]


def auto_batch(n_items: int, workers: int) -> int:
    """Points per Dask task: about 4 tasks per worker (so a slow or lost worker costs little), at most
    MAX_BATCH points each (a killed worker's batch is recomputed whole)."""
    return max(1, min(MAX_BATCH, math.ceil(n_items / (4 * max(workers, 1)))))


_WATCHING: set[int] = set()


def _watch_parent(parent_pid: int) -> None:
    """Make this worker process exit when `parent_pid` (the sweep's process) dies (once per process).

    Loky workers outlive a parent killed by SIGKILL (nothing unwinds to stop them), and would go on
    computing for nobody. Two guards: the kernel's PR_SET_PDEATHSIG (Linux; immediate, even while
    this process is inside a long C call) and a daemon thread polling os.getppid() (portable; the
    parent's death re-parents us, so the value changes).
    """
    if parent_pid in _WATCHING or os.getpid() == parent_pid:
        return
    _WATCHING.add(parent_pid)
    if os.getppid() != parent_pid:  # already orphaned, or not our direct parent: nothing to guard
        if _parent_gone(parent_pid):
            os._exit(1)
        return
    _set_pdeathsig()

    def poll() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(1)  # the sweep is gone: stop at once, write nothing (workers never write anyway)

    threading.Thread(target=poll, name="skillode-parent-watch", daemon=True).start()


def _parent_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _set_pdeathsig() -> None:
    """prctl(PR_SET_PDEATHSIG, SIGKILL) where the C library has it (Linux); a no-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl in this C library: the polling thread still guards
        pass


def _local_results(
    fn: Callable[..., Any], items: Sequence[Any], args: tuple, jobs: int
) -> Generator[tuple[Any, Any], None, None]:
    """(item, result) pairs from this process (jobs=1) or joblib/loky workers, as they finish."""
    if jobs == 1 or len(items) <= 1:
        for item in items:
            yield _guarded(fn, item, args, None)
        return
    from joblib import Parallel, delayed

    # loky replaces a worker whose memory grew 300 MB past its start, between two tasks (one that
    # imported torch and compiled the kernels has), and warns from its manager thread of "a memory
    # leak"; no task is lost (another worker takes the queue), so the warning would only alarm.
    warnings.filterwarnings("ignore", message="A worker stopped while some jobs", category=UserWarning)
    parent = os.getpid()
    results = Parallel(n_jobs=jobs, return_as="generator_unordered")(
        delayed(_guarded)(fn, item, args, parent) for item in items
    )
    try:
        yield from results
    finally:
        # Closing joblib's generator early (interrupt, or our caller stopped) makes it abort: loky
        # terminates the workers instead of letting them finish points nobody will write.
        results.close()


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise MissingExtraError(
            "a Dask scheduler needs dask.distributed, which is not installed: pip install skillode[distributed]"
        ) from exc
    return distributed


@contextmanager
def dask_client(scheduler: Scheduler, *, timeout: float = DEFAULT_CONNECT_TIMEOUT) -> Iterator[Any]:
    """A distributed.Client for `scheduler`; a LocalCluster it starts is closed on the way out."""
    distributed = _import_distributed()
    cluster = None
    if scheduler.kind == "dask-local":
        # One thread per process, as with local jobs: torch inside each point is single-threaded, and
        # processes keep the GIL out of the way. Loopback only, and a free dashboard port if any.
        cluster = distributed.LocalCluster(
            n_workers=scheduler.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )
        address = cluster.scheduler_address
    else:
        address = scheduler.address
    try:
        try:
            client = distributed.Client(address, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({exc})") from exc
        try:
            yield client
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def _dask_results(
    client: Any,
    fn: Callable[..., Any],
    items: Sequence[Any],
    args: tuple,
    key: Callable[[Any], Hashable],
    batch: int,
) -> Generator[tuple[Any, Any], None, None]:
    """Submit one task per `batch` items; yield (item, result) as each task finishes; cancel the rest if stopped."""
    from distributed import as_completed

    chunks = [list(items[i : i + batch]) for i in range(0, len(items), batch)]
    futures = {
        client.submit(
            _guarded_batch, fn, chunk, args, key="+".join(str(key(item)) for item in chunk)[:200] + f"#{n}",
            pure=False, retries=0,
        ): chunk
        for n, chunk in enumerate(chunks)
    }  # fmt: skip
    pending = set(futures)
    try:
        for fut in as_completed(list(futures)):
            chunk = futures[fut]
            try:
                results = fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: its points failed, the others go on
                results = [(item, PointFailure(item, f"{type(exc).__name__}: {exc}")) for item in chunk]
            pending.discard(fut)
            fut.release()  # the client keeps no result it has handed over (memory stays flat)
            yield from results
    finally:
        if pending:
            client.cancel(list(pending), force=True)


@contextmanager
def run_points(
    fn: Callable[..., Any],
    items: Sequence[Any],
    args: tuple = (),
    *,
    scheduler: Scheduler | None = None,
    jobs: int = 1,
    key: Callable[[Any], Hashable] = str,
    timeout: float = DEFAULT_CONNECT_TIMEOUT,
    batch: int | None = None,
) -> Iterator[tuple[Iterator[tuple[Any, Any]], Callable[[], int], str | None]]:
    """Run fn(item, *args) for every item where `scheduler` says.

    Yields (results, worker_count, dashboard): results iterates (item, value) as points finish,
    value being fn's return or a PointFailure; worker_count() is how many workers serve the run now;
    dashboard is the Dask dashboard address, if there is one. fn and args must pickle (they travel
    to other processes); key names a Dask task (unique per item and sweep). batch: points per Dask
    task (None: auto_batch from the workers connected; each task costs a scheduler round trip,
    ~0.1-0.25 s on a loaded machine, so tiny points are sent several at a time).
    """
    scheduler = scheduler or Scheduler("local")
    if not scheduler.uses_dask:
        gen = _local_results(fn, list(items), args, max(int(jobs), 1))
        try:
            yield gen, lambda: max(int(jobs), 1), None
        finally:
            gen.close()
        return
    with dask_client(scheduler, timeout=timeout) as client:
        item_list = list(items)
        if batch is None:
            per_task = auto_batch(len(item_list), len(client.scheduler_info().get("workers", {})))
        else:
            per_task = as_count(batch, "batch")
        gen = _dask_results(client, fn, item_list, args, key, per_task)
        try:
            yield gen, lambda: len(client.scheduler_info().get("workers", {})), _dashboard(client)
        finally:
            gen.close()


def _dashboard(client: Any) -> str | None:
    """The dashboard link, or None when the scheduler serves none (no bokeh, or it was turned off)."""
    try:
        services = client.scheduler_info().get("services", {})
        return client.dashboard_link if "dashboard" in services else None
    except Exception:  # noqa: BLE001 - the dashboard is a convenience; never fail a sweep over it
        return None
