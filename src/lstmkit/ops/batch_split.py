"""Both cores in every step: a recurrent call's batch split into parts that run side by
side, each carried through the whole sequence by its own thread.

Sequences in a batch never meet inside a recurrent layer: each part's forward, backward
and inference are the op itself on fewer columns, so each part is one ordinary call and
the threads need no synchronisation per step (the compiled kernels release the GIL for
the whole time loop). While parts run, OpenBLAS is held to one thread (two threads'
products would otherwise queue on one thread pool) and the cells' elementwise work,
which a multi-threaded product leaves on the calling thread, runs on every core.

Only the compiled backend splits (the NumPy backend is the reference that reads like
the equations), and only a call with enough work per part (:func:`plan`). The split
depends on the batch size, the layer's sizes and :func:`lstmkit.threads.batch_parts`
(the thread count) and nothing else, so results are bit-identical for a given thread
count. They differ in the last bits between thread counts, because a weight gradient
is the sum of the parts' sums (and one BLAS product over fewer columns may round
differently): docs/performance.md.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmkit.backend import get_backend
from lstmkit.threads import batch_parts, single_threaded_blas

#: Fewest sequences per part.
MIN_COLUMNS = 16
#: Fewest multiply-adds per part (the forward's input and recurrent products): below
#: it, splitting was slower than one call with two-threaded BLAS, measured by
#: benchmarks/bench_batch_split.py --force (RESULTS.md, issue fast-v2): LSTM T=24 with
#: 6.5 M per part lost 16%, with 13 M gained 43%.
MIN_WORK = 10_000_000
#: Fewest multiply-adds per part for keeping the parts on their own CPUs while they run
#: (:func:`_spread`). Measured after idle pauses (benchmarks/bench_after_pause.py,
#: RESULTS.md): S2 inference, 112 M per part, 5.8-5.9 ms a call loose and 4.2-4.5 ms kept
#: apart; training at T=24 with 13 M per part (B=64 H=64, B=256 H=32) 3-24% slower kept
#: apart, where moving a thread costs more than running the parts one after the other.
PIN_MIN_WORK = 50_000_000
#: Most weights per step's product (``G × (D + P)``) for a split: a larger product keeps
#: two-threaded BLAS busy on its own, and splitting it was slower (S5's LSTM, D=256,
#: H=512, 1.6 M weights: inference 15% slower, training 3%).
MAX_WEIGHTS = 1_000_000

_state: dict[str, Any] = {"pool": None, "size": 0, "off": 0}
_local = threading.local()  # .inside: this thread is running a part (parts never split)


@dataclass
class SplitCache:
    """The caches of a forward that ran in batch parts; its backward runs in the same
    parts. ``bounds`` are each part's ``(start, stop)`` on the batch axis."""

    parts: list[Any]
    bounds: list[tuple[int, int]]
    pin: bool = False  # the forward's parts kept to their CPUs; the backward's do too


def plan(x: Any, batched: tuple[Any, ...], lengths: Any, macs_per_sequence: int
         ) -> list[tuple[int, int]] | None:  # fmt: skip
    """The parts' bounds for a call on ``x (B, T, D)``, or None to run it whole.

    ``batched`` are the other batch-first arguments (initial states); anything unusual
    about them or ``x`` (wrong type or batch size) runs whole, where the op's own
    checks report it. ``macs_per_sequence`` is the forward's multiply-adds per sequence.
    """
    n = batch_parts()
    if n < 2 or _state["off"] or in_part() or get_backend() != "numba":
        return None
    if not isinstance(x, np.ndarray) or x.ndim != 3 or x.dtype.kind != "f":
        return None
    B = x.shape[0]
    n = min(n, B // MIN_COLUMNS)
    if n < 2 or macs_per_sequence * (B // n) < MIN_WORK:
        return None
    for arr in batched:
        if arr is not None and (not isinstance(arr, np.ndarray) or arr.shape[:1] != (B,)):
            return None
    if lengths is not None and np.shape(lengths) != (B,):
        return None
    edges = [B * k // n for k in range(n + 1)]
    return list(itertools.pairwise(edges))


def splits_batch(n_batched: int, cached: bool) -> Callable:
    """Decorator for a forward (``cached``: returns arrays then a cache) or an inference
    op whose first ``n_batched`` positional arguments are batch-first and whose next
    two are ``Wx``, ``Wh``: large calls run in parts and their outputs are joined."""

    def wrap(op: Callable) -> Callable:
        @functools.wraps(op)
        def split_op(*args: Any, **kwargs: Any) -> Any:
            bounds, per_sequence = None, 0
            if len(args) >= n_batched + 2:
                Wx, Wh = args[n_batched], args[n_batched + 1]
                x = args[0]
                if all(isinstance(a, np.ndarray) and a.ndim >= 2 for a in (x, Wx, Wh)):
                    weights = Wx.shape[0] * (Wx.shape[-1] + Wh.shape[-1])
                    if weights < MAX_WEIGHTS:
                        per_sequence = x.shape[1] * weights
                        bounds = plan(x, args[1:n_batched], kwargs.get("lengths"),
                                      per_sequence)  # fmt: skip
            if bounds is None:
                return op(*args, **kwargs)
            lengths = kwargs.get("lengths")
            calls = []
            for b0, b1 in bounds:
                part = [None if a is None else a[b0:b1] for a in args[:n_batched]]
                kw = dict(kwargs)
                if lengths is not None:
                    kw["lengths"] = np.asarray(lengths)[b0:b1]
                calls.append((part + list(args[n_batched:]), kw))
            pin = per_sequence * min(b1 - b0 for b0, b1 in bounds) >= PIN_MIN_WORK
            try:
                results = run_parts(op, calls, pin)
            except (ValueError, TypeError):
                return op(*args, **kwargs)  # the same error, worded for the whole batch
            arrays = [_join(outs) for outs in
                      zip(*[r[:-1] if cached else r for r in results], strict=True)]  # fmt: skip
            if cached:
                arrays.append(SplitCache([r[-1] for r in results], bounds, pin))
            return tuple(arrays)

        return split_op

    return wrap


def _join(parts: tuple[np.ndarray, ...]) -> np.ndarray:
    """The parts' arrays joined along the batch into one C-ordered array (concatenate
    alone would keep the stride order of transposed views)."""
    first = parts[0]
    out = np.empty((sum(p.shape[0] for p in parts), *first.shape[1:]), first.dtype)
    return np.concatenate(parts, axis=0, out=out)


def joins_backward(n_grads: int, batch_keys: tuple[str, ...]) -> Callable:
    """Decorator for a backward ``(*grads, cache, *, input_grad)`` whose first
    ``n_grads`` arguments are batch-first: given a :class:`SplitCache` it runs each
    part's backward on its slice of the gradients and joins them, ``batch_keys``
    (gradients of batch-first arguments) along the batch, the rest summed in part
    order."""

    def wrap(op: Callable) -> Callable:
        @functools.wraps(op)
        def split_op(*args: Any, **kwargs: Any) -> Any:
            cache = args[n_grads] if len(args) > n_grads else kwargs.get("cache")
            if not isinstance(cache, SplitCache):
                return op(*args, **kwargs)
            B = cache.bounds[-1][1]
            grads = list(args[:n_grads])
            for k, g in enumerate(grads):
                if g is not None and np.shape(g)[:1] != (B,):
                    raise ValueError(
                        f"{op.__name__}: gradient {k + 1} must have the forward's batch size "
                        f"{B} on its first axis, got shape {np.shape(g)}"
                    )
            kw = {k: v for k, v in kwargs.items() if k != "cache"}
            calls = [
                ([None if g is None else np.asarray(g)[b0:b1] for g in grads] + [part], kw)
                for part, (b0, b1) in zip(cache.parts, cache.bounds, strict=True)
            ]
            results = run_parts(op, calls, cache.pin)
            joined = {}
            for key in results[0]:
                values = [r[key] for r in results]
                if values[0] is None:
                    joined[key] = None
                elif key in batch_keys:
                    joined[key] = np.concatenate(values, axis=0)
                else:
                    total = values[0].copy()
                    for v in values[1:]:
                        total += v
                    joined[key] = total
            return joined

        return split_op

    return wrap


def run_parts(op: Callable, calls: list[tuple[list, dict]], pin: bool = True) -> list:
    """``op(*args, **kwargs)`` for every call, side by side: the first on this thread,
    the others on the pool, with single-threaded BLAS; results in call order. ``pin``:
    keep the parts on different CPUs while they run (:func:`_spread`)."""
    pool = _pool(len(calls) - 1)
    cpus = _spread() if pin else None
    with single_threaded_blas():
        futures = [pool.submit(_as_part, op, *a, **kw, _cpus=cpus) for a, kw in calls[1:]]
        try:
            first = _as_part(op, *calls[0][0], **calls[0][1])
        finally:
            wait(futures)  # every part is done before BLAS gets its threads back
            if cpus is not None:
                _set_cpus(cpus[0])
    return [first, *(f.result() for f in futures)]


def _spread() -> tuple[set[int], set[int]] | None:
    """Keep the parts on different CPUs while they run: this thread on the CPU it is on,
    the pool's on the others it may use. Returns ``(this thread's CPUs before, the
    others)`` to restore and to give the pool, or None (one CPU allowed, no Linux
    affinity calls, or ``LSTMKIT_PIN_PARTS=0``).

    Why: the threads hand the GIL to each other, and after an idle pause Linux wakes a
    woken thread on its waker's CPU, so both parts ran on one CPU, one after the other,
    for tens of calls (S2 inference: 43-48 of 60 calls after pauses; measured with
    ``sched_getcpu`` in each part, benchmarks/bench_after_pause.py) until the load
    balancer moved one."""
    if _CPU["getcpu"] is None or os.environ.get("LSTMKIT_PIN_PARTS") == "0":
        return None
    allowed = os.sched_getaffinity(0)
    here = _CPU["getcpu"]()
    others = allowed - {here}
    if here not in allowed or not others:
        return None
    _set_cpus({here})
    return allowed, others


def _set_cpus(cpus: set[int]) -> None:
    try:
        os.sched_setaffinity(0, cpus)  # this thread only (Linux)
    except OSError:  # pragma: no cover - a CPU went offline, or a cgroup forbids it
        pass


def _linux_getcpu() -> Callable[[], int] | None:
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        import ctypes

        fn = ctypes.CDLL(None).sched_getcpu
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return None
    fn.restype = ctypes.c_int
    return fn


_CPU: dict[str, Any] = {"getcpu": _linux_getcpu()}


def in_part() -> bool:
    """Whether this thread is running a part of a split call."""
    return getattr(_local, "inside", False)


def _as_part(op: Callable, *args: Any, _cpus: Any = None, **kwargs: Any) -> Any:
    """``op`` on one part; calls it makes (lstm_infer's forward) run whole. ``_cpus``
    from :func:`_spread`: run on the other CPUs, then allow all again."""
    _local.inside = True
    if _cpus is not None:
        _set_cpus(_cpus[1])
    try:
        return op(*args, **kwargs)
    finally:
        _local.inside = False
        if _cpus is not None:
            _set_cpus(_cpus[0])


def _pool(workers: int) -> ThreadPoolExecutor:
    if _state["pool"] is None or _state["size"] < workers:
        if _state["pool"] is not None:
            _state["pool"].shutdown(wait=True)
        _state["pool"] = ThreadPoolExecutor(max_workers=workers,
                                            thread_name_prefix="lstmkit-batch")  # fmt: skip
        _state["size"] = workers
    return _state["pool"]


def _forget_pool() -> None:
    """In a forked child the pool's threads do not exist: start a new pool on demand."""
    _state["pool"], _state["size"] = None, 0


os.register_at_fork(after_in_child=_forget_pool)


@contextmanager
def whole_batches() -> Iterator[None]:
    """Run every call inside the block whole (inspection that reads the caches)."""
    _state["off"] += 1
    try:
        yield
    finally:
        _state["off"] -= 1
