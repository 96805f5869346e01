"""How many threads lstmkit uses.

Two places use them. The matrix products go to the OpenBLAS that NumPy ships (the
NumPy backend uses the same library through NumPy). And under the compiled backend a
large enough recurrent call splits its batch into that many parts, each carried through
the whole sequence by its own thread with single-threaded BLAS (ops/batch_split.py):
the cells' elementwise work then runs on every core too, and no step waits for another
thread. The count comes from, in this order: :func:`set_num_threads`, the environment
variable ``LSTMKIT_NUM_THREADS``, Numba's own ``NUMBA_NUM_THREADS``, and otherwise
OpenBLAS's default (its ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS``, else one per
core). The environment is read when lstmkit is imported (docs/performance.md).
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import numpy as np


@dataclass(frozen=True)
class OpenBLAS:
    """NumPy's bundled OpenBLAS: the file, its symbol naming and integer width."""

    path: str
    prefix: str  # "scipy_cblas_" → scipy_cblas_sgemm64_
    suffix: str  # "64_" for the 64-bit-integer build
    threads_prefix: str  # "scipy_openblas_" → scipy_openblas_set_num_threads64_
    int_bits: int

    def symbol(self, name: str) -> str:
        return f"{self.prefix}{name}{self.suffix}"


#: (library file pattern, cblas prefix, openblas prefix); NumPy ≥ 2 wheels first.
_CANDIDATES = (
    ("libscipy_openblas64_*", "scipy_cblas_", "scipy_openblas_"),
    ("libopenblas64_*", "cblas_", "openblas_"),
)


@cache
def find_openblas() -> OpenBLAS | None:
    """NumPy's OpenBLAS (64-bit integers) if it ships one with ``?gemm``, else None.
    ``LSTMKIT_NO_BLAS=1`` hides it (tests use this to run the compiled fallback)."""
    if os.environ.get("LSTMKIT_NO_BLAS"):
        return None
    root = os.path.dirname(np.__file__)
    dirs = [os.path.join(root, os.pardir, "numpy.libs"), os.path.join(root, ".libs"),
            os.path.join(root, ".dylibs")]  # fmt: skip
    for pattern, prefix, threads_prefix in _CANDIDATES:
        for d in dirs:
            for path in sorted(glob.glob(os.path.join(d, pattern))):
                try:
                    lib = ctypes.CDLL(path)
                except OSError:
                    continue
                found = OpenBLAS(path, prefix, "64_", threads_prefix, 64)
                if all(hasattr(lib, found.symbol(f"{k}gemm")) for k in "sd"):
                    return found
    return None


@cache
def _threads_fn(name: str):
    lib = find_openblas()
    if lib is None:
        return None
    return getattr(ctypes.CDLL(lib.path), f"{lib.threads_prefix}{name}{lib.suffix}", None)


def set_num_threads(n: int) -> None:
    """Use ``n`` threads from now on: for matrix products, and as the number of parts
    a large recurrent call splits its batch into (ops/batch_split.py).

    Raises
    ------
    ValueError
        ``n`` is not a positive integer.
    RuntimeError
        NumPy's BLAS is not the bundled OpenBLAS, so lstmkit cannot set it (set that
        library's own variable, e.g. ``MKL_NUM_THREADS``, before starting Python).
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"the number of threads must be a positive integer, got {n!r}")
    fn = _threads_fn("set_num_threads")
    if fn is None:
        raise RuntimeError(
            "lstmkit can only set the threads of the OpenBLAS bundled with NumPy; this NumPy "
            "uses another BLAS: set its own variable (e.g. MKL_NUM_THREADS) instead"
        )
    fn.argtypes = [ctypes.c_int]
    fn(int(n))
    _parts["n"] = int(n)


def get_num_threads() -> int | None:
    """Threads the matrix products use now (None if the BLAS is not NumPy's OpenBLAS)."""
    fn = _threads_fn("get_num_threads")
    if fn is None:
        return None
    fn.restype = ctypes.c_int
    return int(fn())


def apply_environment() -> None:
    """Apply ``LSTMKIT_NUM_THREADS`` (else ``NUMBA_NUM_THREADS``) if set; a bad value is
    an error that names the variable."""
    for var in ("LSTMKIT_NUM_THREADS", "NUMBA_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if not value:
            continue
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"{var} must be a positive integer, got {value!r}")
        if find_openblas() is not None:
            set_num_threads(n)
        return


#: How many parts a split batch has (the thread count); None until first asked, then
#: OpenBLAS's own count. Kept here rather than read back from OpenBLAS because a split
#: sets OpenBLAS to one thread while it runs.
_parts: dict[str, int | None] = {"n": None}
_blas_lock = threading.Lock()
_blas_users = {"count": 0, "saved": 1}


def batch_parts() -> int:
    """Parts that a large recurrent call's batch is split into: the thread count, or 1
    when lstmkit cannot set the BLAS threads (the split needs single-threaded BLAS)."""
    if _parts["n"] is None:
        _parts["n"] = get_num_threads() or 1
    return _parts["n"]


@contextmanager
def parts_of(n: int) -> Iterator[None]:
    """Split batches into ``n`` parts inside the block, whatever this process's thread
    count: a Dask task uses the driver's count so that its numbers are the driver's."""
    previous = _parts["n"]
    _parts["n"] = int(n)
    try:
        yield
    finally:
        _parts["n"] = previous


def _reset_after_fork() -> None:
    # A fork while a split ran (in another thread) would leave a count no thread holds.
    global _blas_lock
    _blas_lock = threading.Lock()
    _blas_users["count"] = 0


os.register_at_fork(after_in_child=_reset_after_fork)


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """OpenBLAS on one thread while the block runs, for every thread of the process
    (OpenBLAS has no per-thread setting: its ``openblas_set_num_threads_local`` sets the
    global count in the pthreads build NumPy ships). Nested and concurrent blocks share
    one saved count."""
    setter, getter = _threads_fn("set_num_threads"), _threads_fn("get_num_threads")
    if setter is None:
        yield
        return
    setter.argtypes = [ctypes.c_int]
    getter.restype = ctypes.c_int
    with _blas_lock:
        if _blas_users["count"] == 0:
            _blas_users["saved"] = int(getter())
            setter(1)
        _blas_users["count"] += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users["count"] -= 1
            if _blas_users["count"] == 0:
                setter(_blas_users["saved"])
