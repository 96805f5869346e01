"""Compiled pieces every recurrent kernel shares: the length mask of one step, forward
and backward, and the weight gradients accumulated over time.

Layouts are the ops' time-major, feature-major ``(T, N, B)`` (see ops/sequence.py).
``lengths`` is an ``int64`` array, empty when every sequence is full.

No slice assignment from an array (``a[...] = b``) in kernels: use :func:`copy_` (its
docstring says why). Assigning a scalar to a slice is fine.

Performance rule for every kernel here and beside it: loop over *flat, contiguous* views
and write one array per loop. LLVM vectorizes such loops; a loop that writes several
arrays needs more run-time alias checks than it will emit and stays scalar (3-4x
slower), and building a view per row costs reference counting per row.

No ``fastmath``: with it LLVM may reassociate sums and contract multiply-adds, and it
decides differently when a kernel is compiled in the running process (callees linked
in) and when its object code is loaded from the disk cache, so the same seed gave
different numbers on a machine's first run and on later ones (about 1e-9 relative,
enough to change a trained forecaster). Without it every result follows IEEE
arithmetic in the order the code says; elementwise loops still vectorize. A test runs
two fresh processes on one private cache and requires identical bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lstmkit.kernels.blas import gemm, small

OPTS = {"cache": True, "fastmath": False, "error_model": "numpy", "nogil": True}


@njit(**OPTS)
def mask_step(states, outputs, has_outputs, lengths, t):
    """Forward of the length mask after step ``t`` wrote ``states[t + 1]`` ``(T + 1, N, B)``:
    finished sequences get ``states[t]`` back, and valid ones are copied to
    ``outputs[t]`` ``(T, N, B)``, zero-initialised (when ``has_outputs``)."""
    N, B = states.shape[1], states.shape[2]
    for b in range(B):
        valid = t < lengths[b]
        for j in range(N):
            if valid:
                if has_outputs:
                    outputs[t, j, b] = states[t + 1, j, b]
            else:
                states[t + 1, j, b] = states[t, j, b]


@njit(**OPTS)
def split_grad(dstate, dy, has_dy, lengths, t, dnew, carry):
    """Backward of the mask at step ``t``: ``dnew = dstate + dy`` (``dy (N, B)`` when
    ``has_dy``) goes into the cell where the step is valid and is 0 elsewhere; ``carry``
    receives what passes straight to the previous state (``dstate`` at padded columns, 0
    at valid ones; not written without a mask). All ``(N, B)``, C-contiguous."""
    N, B = dstate.shape
    zero = dstate.dtype.type(0.0)
    if lengths.size == 0:  # the common case, flat and vectorized; no carry
        src, dst = dstate.ravel(), dnew.ravel()
        if has_dy:
            dyf = dy.ravel()
            for k in range(src.size):
                dst[k] = src[k] + dyf[k]
        else:
            for k in range(src.size):
                dst[k] = src[k]
        return
    for j in range(N):
        for b in range(B):
            v = dstate[j, b]
            if has_dy:
                v += dy[j, b]
            if t >= lengths[b]:
                dnew[j, b] = zero
                carry[j, b] = dstate[j, b]
            else:
                dnew[j, b] = v
                carry[j, b] = zero


@njit(**OPTS)
def copy_(dst, src):
    """``dst[...] = src`` for two ``(N, B)`` arrays. A loop, not slice assignment: Numba
    compiles slice assignment from an array with an error message formatted from the
    shapes, and that string code took 1.5 s of a first run's compilation."""
    N, B = dst.shape
    for j in range(N):
        for b in range(B):
            dst[j, b] = src[j, b]


@njit(**OPTS)
def copy_t_(dst, src):
    """``dst[...] = src.T``: ``dst (N, B)`` from ``src (B, N)`` (a loop, as :func:`copy_`)."""
    N, B = dst.shape
    for j in range(N):
        for b in range(B):
            dst[j, b] = src[b, j]


@njit(**OPTS)
def add_(dst, src):
    """``dst += src`` for two ``(N, B)`` arrays."""
    N, B = dst.shape
    for j in range(N):
        for b in range(B):
            dst[j, b] += src[j, b]


@njit(**OPTS)
def weight_grad(da, inputs, batch_last, steps, out):
    """``out (G, K) = Σ_t da[t] · in_t`` over ``t < steps`` for ``da (T, G, B)``, where
    ``in_t = inputs[t]ᵀ`` for ``inputs (T, K, B)`` (``batch_last``: states) or
    ``inputs[t]`` for time-major inputs ``(T, B, K)``. One accumulating product per step
    needs no transposed copy of the whole sequence, which one product over all steps
    would (benchmarks/bench_weight_grad.py)."""
    out[...] = 0
    one = out.dtype.type(1.0)
    B = da.shape[2]
    if batch_last and steps > 0 and small(False, one, one, out, B):
        # in_tᵀ copied per step (small, in cache) turns the product into one the
        # register-blocked kernels take, faster than BLAS's transposed one.
        scratch = np.empty((B, inputs.shape[1]), out.dtype)
        for t in range(steps):
            copy_t_(scratch, inputs[t])
            gemm(False, False, one, da[t], scratch, one, out)
        return
    for t in range(steps):
        gemm(False, batch_last, one, da[t], inputs[t], one, out)


@njit(**OPTS)
def input_grad(da, W, steps, dx):
    """Batch-first ``dx (B, T, D)``: ``dx[:, t] = da[t]ᵀ W`` for ``da (T, G, B)``,
    ``W (G, D)``; steps from ``steps`` on stay as the caller set them (zeros)."""
    one, zero = dx.dtype.type(1.0), dx.dtype.type(0.0)
    for t in range(steps):
        gemm(True, False, one, da[t], W, zero, dx[:, t, :])


@njit(**OPTS)
def project_inputs(W, xt, b, out):
    """``out[t] (G, B) = W xt[t]ᵀ + b`` for time-major ``xt (T, B, D)``, ``W (G, D)``,
    ``b (G,)``: the input half of every step's pre-activations, before the loop."""
    T, G = out.shape[0], out.shape[1]
    B, D = xt.shape[1], xt.shape[2]
    one = out.dtype.type(1.0)
    # x_tᵀ copied per step, as in weight_grad, where the register-blocked kernels take it
    flip = T > 0 and small(False, one, one, out[0], D)
    scratch = np.empty((D, B) if flip else (0, 0), out.dtype)
    for t in range(T):
        for g in range(G):
            out[t, g, :] = b[g]
        if flip:
            copy_t_(scratch, xt[t])
            gemm(False, False, one, W, scratch, one, out[t])
        else:
            gemm(False, True, one, W, xt[t], one, out[t])


@njit(**OPTS)
def bias_grad(da, steps, out):
    """``out (G,) = Σ_{t, b} da[t, :, b]`` over ``t < steps``."""
    G, B = da.shape[1], da.shape[2]
    out[:] = 0
    for t in range(steps):
        for g in range(G):
            acc = out.dtype.type(0.0)
            for b in range(B):
                acc += da[t, g, b]
            out[g] += acc
