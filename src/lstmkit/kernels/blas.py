"""Matrix products inside compiled code: the BLAS that NumPy itself links, called from
nopython functions, so a whole time loop runs in one compiled call.

NumPy's wheels bundle OpenBLAS (``scipy_openblas64_``, 64-bit integers). Its ``cblas_?gemm``
symbols are made visible to Numba's linker by name, which keeps kernels that call them
cacheable on disk. Where no such library is found (a NumPy built against another BLAS),
:func:`gemm` falls back to plain compiled loops: correct, slower, and reported by
:data:`HAVE_BLAS`.
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np
from numba import types
from numba.core.types import ExternalFunction
from numba.extending import overload

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

#: (library file pattern, gemm symbol prefix, thread-setter symbol, integer width in bits)
_CANDIDATES = (
    ("libscipy_openblas64_*", "scipy_cblas_", "scipy_openblas_set_num_threads64_", 64),
    ("libopenblas64_*", "cblas_", "openblas_set_num_threads64_", 64),
)


def _library_dirs() -> list[str]:
    root = os.path.dirname(np.__file__)
    return [os.path.join(root, os.pardir, "numpy.libs"), os.path.join(root, ".libs"),
            os.path.join(root, ".dylibs")]  # fmt: skip


def _find_blas():
    """``(path, prefix, suffix, threads_symbol, int_bits)`` of NumPy's OpenBLAS, or None."""
    if os.environ.get("LSTMKIT_NO_BLAS"):  # lets the tests exercise the fallback loops
        return None
    for pattern, prefix, threads, bits in _CANDIDATES:
        for d in _library_dirs():
            for path in sorted(glob.glob(os.path.join(d, pattern))):
                try:
                    lib = ctypes.CDLL(path)
                except OSError:
                    continue
                suffix = "64_" if bits == 64 else ""
                if all(hasattr(lib, f"{prefix}{k}gemm{suffix}") for k in "sd"):
                    return path, prefix, suffix, threads, bits
    return None


_FOUND = _find_blas()
HAVE_BLAS = _FOUND is not None
_set_threads = None

if HAVE_BLAS:
    import llvmlite.binding as llvm

    _path, _prefix, _suffix, _threads_symbol, _bits = _FOUND
    llvm.load_library_permanently(_path)
    _lib = ctypes.CDLL(_path)
    _set_threads = getattr(_lib, _threads_symbol, None)
    _int = types.int64 if _bits == 64 else types.int32
    _enum, _ptr = types.int32, types.uint64

    def _gemm_symbol(name: str, real) -> ExternalFunction:
        sig = types.void(_enum, _enum, _enum, _int, _int, _int, real, _ptr, _int, _ptr, _int,
                         real, _ptr, _int)  # fmt: skip
        return ExternalFunction(f"{_prefix}{name}{_suffix}", sig)

    _SGEMM = _gemm_symbol("sgemm", types.float32)
    _DGEMM = _gemm_symbol("dgemm", types.float64)


def set_blas_threads(n: int) -> bool:
    """Set the thread count of NumPy's OpenBLAS (used by every product in lstmkit).
    Returns False when the library offers no such setting."""
    if _set_threads is None:
        return False
    _set_threads(ctypes.c_int64(n) if _FOUND[4] == 64 else ctypes.c_int(n))
    return True


def gemm(trans_a, trans_b, alpha, A, B, beta, C):  # pragma: no cover - compiled overload
    """``C = alpha · op(A) @ op(B) + beta · C`` (``op`` transposes when asked).

    ``A``, ``B``, ``C`` are 2-D with a unit stride along their last axis (any row stride,
    so per-step views of ``(T, N, B)`` arrays work as they are); ``C`` is ``(M, N)``.
    """
    a = A.T if trans_a else A
    b = B.T if trans_b else B
    C[...] = alpha * (a @ b) + beta * C


@overload(gemm, jit_options={"fastmath": True, "error_model": "numpy"})
def _gemm(trans_a, trans_b, alpha, A, B, beta, C):
    if HAVE_BLAS:
        fn = _SGEMM if A.dtype == types.float32 else _DGEMM
        enum = np.int32

        def blas_impl(trans_a, trans_b, alpha, A, B, beta, C):
            M, N = C.shape
            K = A.shape[0] if trans_a else A.shape[1]
            if M == 0 or N == 0:
                return
            if K == 0:
                C *= beta
                return
            size = A.itemsize
            for s, n in ((A.strides[1], A.shape[1]), (B.strides[1], B.shape[1]),
                         (C.strides[1], N)):  # fmt: skip
                if s != size and n > 1:
                    raise ValueError("gemm: every matrix needs a unit stride along its rows")
            # A one-row matrix may carry any row stride; BLAS wants at least its width.
            lda = max(A.strides[0] // size, A.shape[1], 1)
            ldb = max(B.strides[0] // size, B.shape[1], 1)
            ldc = max(C.strides[0] // size, N, 1)
            ta = enum(TRANS if trans_a else NO_TRANS)
            tb = enum(TRANS if trans_b else NO_TRANS)
            fn(enum(ROW_MAJOR), ta, tb, M, N, K, alpha, A.ctypes.data, lda, B.ctypes.data, ldb,
               beta, C.ctypes.data, ldc)  # fmt: skip

        return blas_impl

    def loop_impl(trans_a, trans_b, alpha, A, B, beta, C):
        M, N = C.shape
        K = A.shape[0] if trans_a else A.shape[1]
        for i in range(M):
            for j in range(N):
                acc = C.dtype.type(0.0)
                for k in range(K):
                    a = A[k, i] if trans_a else A[i, k]
                    b = B[j, k] if trans_b else B[k, j]
                    acc += a * b
                C[i, j] = alpha * acc + (beta * C[i, j] if beta != 0 else C.dtype.type(0.0))

    return loop_impl
