"""Matrix products inside compiled code: the BLAS that NumPy itself links, called from
nopython functions, so a whole time loop runs in one compiled call.

NumPy's wheels bundle OpenBLAS (``scipy_openblas64_``, 64-bit integers). Its ``cblas_?gemm``
symbols are made visible to Numba's linker by name, which keeps kernels that call them
cacheable on disk. The small products of the recurrent steps go to kernels/smallgemm.py
instead, which runs them faster (:func:`lstmkit.kernels.smallgemm.eligible` says which).
Where no such library is found (a NumPy built against another BLAS), :func:`gemm` falls
back to plain compiled loops: correct, slower, and reported by :data:`HAVE_BLAS`.
Cached kernels are keyed on every kernel file (kernels/cachekey.py), but not on which
BLAS NumPy links: after replacing NumPy by a build without the bundled OpenBLAS, clear
the cache (the ``__pycache__`` folders of ``lstmkit/kernels``, or ``NUMBA_CACHE_DIR``).
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.core.types import ExternalFunction
from numba.extending import overload

from lstmkit.kernels import smallgemm
from lstmkit.threads import find_openblas

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

_LIB = find_openblas()
#: Whether kernels call NumPy's OpenBLAS (else compiled loops).
HAVE_BLAS = _LIB is not None

if HAVE_BLAS:
    import llvmlite.binding as llvm

    llvm.load_library_permanently(_LIB.path)
    _int = types.int64 if _LIB.int_bits == 64 else types.int32
    _enum, _ptr = types.int32, types.uint64

    def _gemm_symbol(name: str, real) -> ExternalFunction:
        sig = types.void(_enum, _enum, _enum, _int, _int, _int, real, _ptr, _int, _ptr, _int,
                         real, _ptr, _int)  # fmt: skip
        return ExternalFunction(_LIB.symbol(name), sig)

    _SGEMM = _gemm_symbol("sgemm", types.float32)
    _DGEMM = _gemm_symbol("dgemm", types.float64)
    # How many threads OpenBLAS would use: decides which small products it runs.
    _THREADS = ExternalFunction(f"{_LIB.threads_prefix}get_num_threads{_LIB.suffix}",
                                types.intc())  # fmt: skip


def gemm(trans_a, trans_b, alpha, A, B, beta, C):  # pragma: no cover - compiled overload
    """``C = alpha · op(A) @ op(B) + beta · C`` (``op`` transposes when asked).

    ``A``, ``B``, ``C`` are 2-D with a unit stride along their last axis (any row stride,
    so per-step views of ``(T, N, B)`` arrays work as they are); ``C`` is ``(M, N)``.
    """
    a = A.T if trans_a else A
    b = B.T if trans_b else B
    C[...] = alpha * (a @ b) + beta * C


@overload(gemm, jit_options={"fastmath": False, "error_model": "numpy"})
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
            if small(trans_b, alpha, beta, C, K):
                smallgemm.product(trans_a, A, B, beta, C)
                return
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
        if small(trans_b, alpha, beta, C, K):
            smallgemm.product(trans_a, A, B, beta, C)
            return
        for i in range(M):
            for j in range(N):
                acc = C.dtype.type(0.0)
                for k in range(K):
                    a = A[k, i] if trans_a else A[i, k]
                    b = B[j, k] if trans_b else B[k, j]
                    acc += a * b
                C[i, j] = alpha * acc + (beta * C[i, j] if beta != 0 else C.dtype.type(0.0))

    return loop_impl


def small(trans_b, alpha, beta, C, K):  # pragma: no cover - compiled overload
    """Whether :func:`gemm` gives this product to kernels/smallgemm.py: its own choice,
    and kernels that can arrange an operand for it (a copy of ``B`` transposed) ask it
    too. BLAS decides by how many threads OpenBLAS would use."""
    return False


@overload(small, jit_options={"fastmath": False, "error_model": "numpy"})
def _small(trans_b, alpha, beta, C, K):
    if HAVE_BLAS:
        return lambda trans_b, alpha, beta, C, K: smallgemm.eligible(
            trans_b, alpha, beta, C, K, _THREADS()
        )
    return lambda trans_b, alpha, beta, C, K: smallgemm.eligible(trans_b, alpha, beta, C, K, 1)
