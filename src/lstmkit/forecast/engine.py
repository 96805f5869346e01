"""Where the job's tasks run: in this process (``local``) or on a Dask cluster (``dask``).

The job is written once against three operations, and each engine gives them:

- ``map(fn, items, *args)`` runs ``fn(item, *args)`` for every item (items and args may
  be references) and returns the results in the order of ``items``; ``keep=True``
  returns references instead, leaving the results where they were computed;
- ``submit(fn, *args)`` is one such task;
- ``gather(refs)`` brings results back.

:class:`LocalEngine` runs every task at once in this process (references are the
objects themselves). :class:`DaskEngine` sends them to a ``dask.distributed`` cluster:
an existing one (a ``Client``, or a scheduler's address), or a ``LocalCluster`` of
worker processes that it starts and closes. Tasks are plain module functions of
numbers and arrays, so the same seed gives the same bits on either engine.

A worker that dies mid-run loses nothing: Dask runs its tasks again elsewhere, and
since every task's input is either read from the data files by another task or given
in the task itself, anything that was held on the dead worker is recomputed. The job
writes its outputs once, at the end, so nothing is written twice.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

from lstmkit.backend import get_backend, use_backend
from lstmkit.threads import batch_parts, parts_of

INSTALL_HINT = "pip install 'lstmkit[dask]'"


class DaskMissing(ValueError, ImportError):
    """``--engine dask`` without Dask installed (a ValueError, so the CLI says it in one
    line; an ImportError, as Python code expects)."""


def dask_missing() -> str:
    """The message for ``--engine dask`` without Dask installed."""
    return (
        "--engine dask needs dask.distributed, which is not installed; install it with "
        f"{INSTALL_HINT} (or pip install 'dask[distributed]'), or use --engine local"
    )


class LocalEngine:
    """Every task runs in this process, when it is given (see the module docstring)."""

    name = "local"

    @property
    def workers(self) -> int:
        return 1

    def map(self, fn: Callable, items: Iterable, *args: Any, keep: bool = False,
            desc: str | None = None) -> list:  # fmt: skip
        return [fn(item, *args) for item in items]

    def submit(self, fn: Callable, *args: Any, keep: bool = False) -> Any:
        return fn(*args)

    def gather(self, refs: Any) -> Any:
        return refs

    def describe(self) -> str:
        return "local engine (this process)"

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DaskEngine:
    """Tasks on a ``dask.distributed`` cluster.

    Parameters
    ----------
    client : an existing ``dask.distributed.Client`` (left open by :meth:`close`), or
        None to make one.
    workers : worker processes of the LocalCluster started when neither ``client`` nor
        ``scheduler`` is given (default: the usable cores, at most 4), one thread each.
    scheduler : address of a running scheduler, ``tcp://HOST:PORT``.
    """

    name = "dask"

    def __init__(self, client: Any = None, *, workers: int | None = None,
                 scheduler: str | None = None, verbose: int = 0) -> None:  # fmt: skip
        try:
            import distributed
        except ImportError:
            raise DaskMissing(dask_missing()) from None
        self._owned, self.verbose = [], verbose
        if client is not None:
            if workers is not None or scheduler is not None:
                raise ValueError("give a Dask client, or workers/scheduler, not both")
            self.client = client
        elif scheduler is not None:
            if workers is not None:
                raise ValueError(
                    "--workers starts a local cluster; with --scheduler the cluster's own "
                    "workers are used (drop --workers)"
                )
            try:
                self.client = distributed.Client(scheduler, timeout="10s")
            except OSError as exc:
                raise ValueError(
                    f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({exc}); "
                    "start one with 'dask scheduler' and 'dask worker ADDRESS'"
                ) from None
            self._owned.append(self.client)
        else:
            n = default_workers() if workers is None else int(workers)
            if n < 1:
                raise ValueError(f"--workers must be at least 1, got {n}")
            # One thread per worker: the tasks are NumPy and Numba code that holds the GIL
            # between matrix products, so processes, not threads, run them side by side.
            import logging

            try:
                cluster = distributed.LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                    silence_logs=logging.ERROR,
                )  # fmt: skip
            except RuntimeError as exc:
                raise ValueError(f"could not start a local Dask cluster of {n} worker(s): "
                                 f"{exc}; try fewer --workers") from None  # fmt: skip
            self.client = distributed.Client(cluster)
            self._owned += [self.client, cluster]

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def map(self, fn: Callable, items: Sequence, *args: Any, keep: bool = False,
            desc: str | None = None) -> list:  # fmt: skip
        items = list(items)
        n, token = len(items), uuid.uuid4().hex
        # Tasks run with the backend and batch split chosen here (set_backend, the
        # thread count), not the worker's own, so the numbers are those of the local
        # engine; the keys keep the function's name, for the dashboard and the logs.
        task = partial(_in_backend, _settings(), fn)
        futures = self.client.map(task, items, *[[a] * n for a in args], pure=False,
                                  key=[f"{fn.__name__}-{token}-{i}" for i in range(n)])  # fmt: skip
        if keep:
            return futures
        if desc is not None and self.verbose and len(futures) > 1:
            from distributed import as_completed
            from tqdm.auto import tqdm

            with tqdm(total=len(futures), desc=f"{desc} (tasks)", leave=False) as bar:
                for _ in as_completed(futures):
                    bar.update(1)
        return self.client.gather(futures)

    def submit(self, fn: Callable, *args: Any, keep: bool = False) -> Any:
        future = self.client.submit(_in_backend, _settings(), fn, *args, pure=False,
                                    key=f"{fn.__name__}-{uuid.uuid4().hex}")  # fmt: skip
        return future if keep else future.result()

    def gather(self, refs: Any) -> Any:
        return self.client.gather(refs)

    def describe(self) -> str:
        text = f"Dask engine, {self.workers} worker(s) at {self.client.scheduler.address}"
        try:
            link = self.client.dashboard_link  # needs bokeh, which Dask does not require
        except Exception:
            link = None
        return text + (f", dashboard {link}" if link else "")

    def close(self) -> None:
        for thing in self._owned:
            thing.close()
        self._owned = []

    def __enter__(self) -> DaskEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _settings() -> tuple[str, int]:
    """What a task must run under to give this process's numbers: the backend, and the
    batch split (the thread count, ops/batch_split.py), not the worker's own."""
    return get_backend(), batch_parts()


def _in_backend(settings: tuple[str, int], fn: Callable, *args: Any) -> Any:
    backend, parts = settings
    with use_backend(backend), parts_of(parts):
        return fn(*args)


def default_workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def make_engine(
    engine: Any = "local",
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    verbose: int = 0,
) -> LocalEngine | DaskEngine:
    """An engine from the job's settings: ``"local"``, ``"dask"``, a
    ``dask.distributed.Client``, or an engine already made (returned as it is)."""
    if isinstance(engine, LocalEngine | DaskEngine):
        return engine
    if engine == "local":
        if workers is not None or scheduler is not None:
            raise ValueError("--workers and --scheduler need --engine dask")
        return LocalEngine()
    if engine == "dask":
        return DaskEngine(workers=workers, scheduler=scheduler, verbose=verbose)
    if type(engine).__name__ == "Client" and hasattr(engine, "scheduler_info"):
        return DaskEngine(engine, verbose=verbose)
    raise ValueError(f"engine must be 'local', 'dask' or a dask.distributed.Client, got {engine!r}")
