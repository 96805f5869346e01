"""Register-blocked matrix products for the recurrent steps: ``C = op(A) @ B (+ C)``,
``op`` the identity or the transpose, on one thread, with the partial sums in vector
registers (kernels/simd.py).

A recurrent step's product is small (``4H × (D + H)`` weights times a ``(D + H) × B``
state) and comes again every step, so OpenBLAS spends much of it packing the weights
and dispatching: about 80 GFLOP/s on S2's step, where these kernels reach 130-160 on
one core of the AVX-512 machines the benchmarks ran on (benchmarks/bench_smallgemm.py),
with the same bits as OpenBLAS for inner dimensions up to a few hundred (beyond, OpenBLAS
sums in blocks).
Each block of ``R`` rows by ``V`` vectors of columns keeps its ``R·V`` sums in registers
through the whole inner dimension: per term one vector load of ``B``, ``R``
broadcasts of ``A`` and ``R·V`` fused multiply-adds. Every sum adds its terms in the
order ``k = 0..K-1``, one rounding each, and ``C`` last, which is also how OpenBLAS sums
these shapes.

:func:`eligible` says which products go here (kernels/blas.py asks): both orientations
of ``A``, ``B`` as it is, column counts in whole vectors, and small enough work that
one core beats two-threaded BLAS (:data:`MAX_SHARED_WORK`). The block functions are
generated from one template, one per block shape.
"""

from __future__ import annotations

from numba import njit

from lstmkit.kernels import simd
from lstmkit.kernels.simd import element, vadd, vbroadcast, vfma, vload, vstore, vzeros

OPTS = {"cache": True, "fastmath": False, "error_model": "numpy", "nogil": True,
        "boundscheck": False}  # fmt: skip

#: Rows per block (``R``); a product whose rows are not a multiple goes to BLAS.
ROWS = 8
#: Most multiply-adds per product for these kernels while BLAS has more than one thread:
#: above it two-threaded OpenBLAS beats one core (benchmarks/bench_smallgemm.py,
#: RESULTS.md). With one BLAS thread (inside a batch-split part, or
#: ``set_num_threads(1)``) they take every size up to :data:`MAX_INNER`.
MAX_SHARED_WORK = 600_000
#: Longest inner dimension: ``R`` rows of ``A`` stay in the L1 cache across columns.
MAX_INNER = 1024


def _block_source(V: int) -> str:
    """Python source of the block function for ``V`` vectors of columns: rows ``i..i+R``,
    columns ``j..j+V·lanes``. ``op(A)[i, k]`` is the element ``i·rs + k·ks`` of ``A``'s
    data, so one function serves both orientations. The product is summed from zero
    and ``C`` added after (``beta``), as BLAS does."""
    R = ROWS
    out = [f"def block_{V}(A, rs, ks, B, C, beta, i, j):", "    L = 64 // C.itemsize"]
    sums = [(r, v) for r in range(R) for v in range(V)]
    out += [f"    c{r}_{v} = vzeros(C)" for r, v in sums]
    out += ["    for k in range(B.shape[0]):"]
    out += [f"        b{v} = vload(B, k, j + {v} * L)" for v in range(V)]
    for r in range(R):
        out.append(f"        a{r} = vbroadcast(element(A, (i + {r}) * rs + k * ks))")
        out += [f"        c{r}_{v} = vfma(a{r}, b{v}, c{r}_{v})" for v in range(V)]
    out += ["    if beta:"]
    out += [f"        c{r}_{v} = vadd(c{r}_{v}, vload(C, i + {r}, j + {v} * L))" for r, v in sums]
    out += [f"    vstore(C, i + {r}, j + {v} * L, c{r}_{v})" for r, v in sums]
    return "\n".join(out)


def _make_block(V: int):
    namespace = {"element": element, "vadd": vadd, "vbroadcast": vbroadcast, "vfma": vfma,
                 "vload": vload, "vstore": vstore, "vzeros": vzeros,
                 "__name__": __name__}  # fmt: skip
    exec(compile(_block_source(V), f"<smallgemm block_{V}>", "exec"), namespace)
    return njit(**{**OPTS, "cache": False})(namespace[f"block_{V}"])


# Two vectors of columns per block where the columns allow (more sums per load of A),
# else one. Each block shape is one compiled function: about 0.3-0.7 s of a first run.
_BLOCK_2, _BLOCK_1 = _make_block(2), _make_block(1)


@njit(**OPTS)
def eligible(trans_b, alpha, beta, C, K, blas_threads):
    """Whether :func:`product` takes ``C = alpha · op(A) @ op(B) + beta · C`` when BLAS
    would run it on ``blas_threads`` threads."""
    if not simd.WIDE or trans_b or alpha != 1 or (beta != 0 and beta != 1):
        return False
    M, N = C.shape
    L = 64 // C.itemsize
    if M % ROWS or N % L or not 0 < K <= MAX_INNER:
        return False
    return blas_threads == 1 or M * N * K <= MAX_SHARED_WORK


@njit(**OPTS)
def product(trans_a, A, B, beta, C):
    """``C = op(A) @ B``, plus ``C`` when ``beta``; ``op(A)`` is ``Aᵀ`` when
    ``trans_a``. ``C (M, N)`` with ``M`` a multiple of :data:`ROWS` and ``N`` of the
    vector lanes; ``B`` and ``C`` with unit stride along their rows."""
    M, N = C.shape
    L = 64 // C.itemsize
    s0, s1 = A.strides[0] // A.itemsize, A.strides[1] // A.itemsize
    rs, ks = (s1, s0) if trans_a else (s0, s1)
    add = beta != 0
    for i in range(0, M, ROWS):
        j = 0
        while j + 2 * L <= N:
            _BLOCK_2(A, rs, ks, B, C, add, i, j)
            j += 2 * L
        if j < N:
            _BLOCK_1(A, rs, ks, B, C, add, i, j)
