"""LSTM over a sequence: forward, hand-written backward through time, streaming step.

Dimensions: ``B`` batch, ``T`` time steps, ``D`` input features, ``H`` hidden units,
``P`` size of the recurrent output (``P = H`` unless a projection ``Wr (P, H)`` is given).
Gate order is canonical, ``[i | f | o | g]``; equations are in docs/conventions.md::

    a   = Wx x_t + Wh h_{t-1} + b                (+ p_i ⊙ c_{t-1}, p_f ⊙ c_{t-1} peepholes)
    i, f = σ(a_i), σ(a_f);  g = tanh(a_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    o   = σ(a_o)                                  (a_o + p_o ⊙ c_t with peepholes)
    h_t = o ⊙ tanh(c_t)                           (Wr (o ⊙ tanh(c_t)) with a projection)

Inside, each step's arrays are feature-major ``(N, B)`` and stacked over time as
``(T, N, B)`` (see sequence.py), so every gate block is a contiguous slice. Sigmoid rows
of the weights are pre-halved so one ``tanh`` evaluates all gates
(``σ(a) = 0.5·tanh(a/2) + 0.5``, exact scaling; see activations.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmkit.backend import get_backend
from lstmkit.ops.activations import gate_scale, sigmoid_from_tanh_
from lstmkit.ops.batch_split import joins_backward, splits_batch
from lstmkit.ops.sequence import (
    batch_first,
    bias_grad,
    finish_step,
    freeze_tail,
    grad_wrt_inputs,
    input_weight_grad,
    kernel_lengths,
    length_mask,
    output_grad,
    project_inputs,
    split_grad,
    state_grad,
    states_array,
    time_major,
    weight_grad,
)
from lstmkit.ops.validate import (
    as_arrays,
    by_shapes,
    check_grad_args,
    check_ndim,
    check_shape,
    common_float_dtype,
    kernel_arrays,
    none_array,
)

#: The compiled forward folds the input projection and bias into each step's recurrent
#: product (one product ``[Wx | Wh | b] [x_t; h_{t-1}; 1]`` per step instead of one per
#: step for each half) when that product has at most this many multiply-adds: then a
#: product call's fixed cost is a large part of the step. Chosen by
#: benchmarks/bench_fold.py (RESULTS.md): the forward ran 1.04-1.20x faster folded below
#: it, 0.95-1.09x above it (S4's layers, the part of a split S7 batch).
FOLD_MAX_WORK = 1_000_000


@dataclass
class LSTMCache:
    """What :func:`lstm_backward` needs from :func:`lstm_forward`.

    Attributes
    ----------
    x : (T, B, D) inputs, time-major (padding zeroed when ``lengths`` is given).
    gates : (T, 4H, B) activated gates ``[i | f | o | g]``.
    c : (T + 1, H, B) cell state before each step and after the last (``c[0] = c0``).
    h : (T + 1, P, B) recurrent state likewise (``h[0] = h0``).
    tanh_c : (T, H, B) ``tanh`` of each step's new cell state.
    m : (T, H, B) or None, ``o ⊙ tanh(c_t)`` before the projection (projection only).
    mask : (T, 1, B) bool or None, valid steps (None when every sequence is full).
    steps : number of time steps that hold any valid entry (``max(lengths)`` or T).
    Wx, Wh, b, peepholes, Wr : the parameters, in the compute dtype (unscaled).
    """

    x: np.ndarray
    gates: np.ndarray
    c: np.ndarray
    h: np.ndarray
    tanh_c: np.ndarray
    m: np.ndarray | None
    mask: np.ndarray | None
    steps: int
    Wx: np.ndarray
    Wh: np.ndarray
    b: np.ndarray
    peepholes: np.ndarray | None
    Wr: np.ndarray | None


@by_shapes
def _sizes(op, x_shape_name, x, Wx, Wh, b, peepholes, Wr, h, c):
    """Check every argument's shape; returns the size table ``{"B", "D", "H", "P", ...}``."""
    check_ndim(op, x_shape_name, x, ("B", "T", "D") if x_shape_name == "x" else ("B", "D"))
    check_ndim(op, "Wx", Wx, ("4H", "D"))
    if Wx.shape[0] % 4:
        raise ValueError(
            f"{op}: 'Wx' must have shape (4H, D) with a first axis divisible by 4, got {Wx.shape}"
        )
    H = Wx.shape[0] // 4
    P = H
    if Wr is not None:
        check_ndim(op, "Wr", Wr, ("P", "H"))
        P = Wr.shape[0]
    sizes = {"B": x.shape[0], "D": Wx.shape[1], "H": H, "4H": 4 * H, "3H": 3 * H, "P": P}
    if x_shape_name == "x":
        sizes["T"] = x.shape[1]
        check_shape(op, "x", x, ("B", "T", "D"), sizes)
    else:
        check_shape(op, x_shape_name, x, ("B", "D"), sizes)
    check_shape(op, "Wh", Wh, ("4H", "P"), sizes)
    check_shape(op, "b", b, ("4H",), sizes)
    if Wr is not None:
        check_shape(op, "Wr", Wr, ("P", "H"), sizes)
    if peepholes is not None:
        check_shape(op, "peepholes", peepholes, ("3H",), sizes)
    if h is not None:
        check_shape(op, "h0" if x_shape_name == "x" else "h", h, ("B", "P"), sizes)
    if c is not None:
        check_shape(op, "c0" if x_shape_name == "x" else "c", c, ("B", "H"), sizes)
    return sizes


def _scaled_params(Wx, Wh, b, peepholes, dtype):
    """Parameters in ``dtype`` with sigmoid rows halved (exact), ready for one shared tanh."""
    H = Wx.shape[0] // 4
    scale = gate_scale(3 * H, H, dtype)
    Wx_s = np.asarray(Wx, dtype) * scale[:, None]
    Wh_s = np.asarray(Wh, dtype) * scale[:, None]
    b_s = np.asarray(b, dtype) * scale
    p_s = None if peepholes is None else (np.asarray(peepholes, dtype) * dtype.type(0.5))[:, None]
    return Wx_s, Wh_s, b_s, p_s


def _cell(
    a: np.ndarray,
    c_prev: np.ndarray,
    p_s: np.ndarray | None,
    c_new: np.ndarray,
    tanh_c: np.ndarray,
    m: np.ndarray,
) -> None:
    """One LSTM cell update, in place, writing into the given buffers (no allocation
    on the hot path without peepholes).

    Parameters
    ----------
    a : (4H, B) scaled pre-activations ``scale ⊙ (Wx x + Wh h + b)``; overwritten with
        the activated gates ``[i | f | o | g]``.
    c_prev : (H, B) previous cell state.
    p_s : (3H, 1) halved peepholes, or None.
    c_new : (H, B) receives the new cell state.
    tanh_c : (H, B) receives ``tanh(c_new)``.
    m : (H, B) receives ``o ⊙ tanh(c_new)``, the output before any projection.
    """
    H = c_prev.shape[0]
    if p_s is None:
        np.tanh(a, out=a)
        sigmoid_from_tanh_(a[: 3 * H])
    else:
        a[: 2 * H] += p_s[: 2 * H] * np.concatenate([c_prev, c_prev])
        np.tanh(a[: 2 * H], out=a[: 2 * H])
        sigmoid_from_tanh_(a[: 2 * H])
        np.tanh(a[3 * H :], out=a[3 * H :])
    i, f, o, g = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
    np.multiply(f, c_prev, out=c_new)
    np.multiply(i, g, out=m)
    c_new += m
    if p_s is not None:
        # The output gate looks at the new cell (Gers & Schmidhuber 2000).
        o += p_s[2 * H :] * c_new
        np.tanh(o, out=o)
        sigmoid_from_tanh_(o)
    np.tanh(c_new, out=tanh_c)
    np.multiply(o, tanh_c, out=m)


@splits_batch(3, cached=True)
def lstm_forward(
    x: np.ndarray,
    h0: np.ndarray | None,
    c0: np.ndarray | None,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    *,
    peepholes: np.ndarray | None = None,
    Wr: np.ndarray | None = None,
    lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, LSTMCache]:
    """Run an LSTM over a batch of sequences.

    Parameters
    ----------
    x : ndarray, shape (B, T, D)
        Input sequences, batch-first.
    h0 : ndarray, shape (B, P), or None
        Initial hidden state (zeros when None). ``P = H`` without projection.
    c0 : ndarray, shape (B, H), or None
        Initial cell state (zeros when None).
    Wx : ndarray, shape (4H, D)
        Input weights, gate blocks ``[i | f | o | g]``.
    Wh : ndarray, shape (4H, P)
        Recurrent weights, same gate blocks.
    b : ndarray, shape (4H,)
        The one bias.
    peepholes : ndarray, shape (3H,), optional
        Peephole weights ``[p_i | p_f | p_o]``.
    Wr : ndarray, shape (P, H), optional
        Projection (PyTorch's ``proj_size``): ``h_t = Wr (o ⊙ tanh(c_t))``.
    lengths : array of int, shape (B,), optional
        Valid steps per sequence, each in ``1..T``. Outputs past a sequence's length
        are 0 and its final state is the state after its last valid step.

    Returns
    -------
    hs : ndarray, shape (B, T, P)
        Hidden output at every step.
    hT : ndarray, shape (B, P)
        Final hidden state.
    cT : ndarray, shape (B, H)
        Final cell state.
    cache : LSTMCache
        Everything :func:`lstm_backward` needs.

    Raises
    ------
    ValueError
        An argument has the wrong shape, or ``lengths`` is out of range.
    TypeError
        An argument is not float32 or float64.
    """
    op = "lstm_forward"
    x, h0, c0, Wx, Wh, b, peepholes, Wr = as_arrays(x, h0, c0, Wx, Wh, b, peepholes, Wr)
    dtype = common_float_dtype(
        op,
        {"x": x, "h0": h0, "c0": c0, "Wx": Wx, "Wh": Wh, "b": b, "peepholes": peepholes, "Wr": Wr},
    )
    sizes = _sizes(op, "x", x, Wx, Wh, b, peepholes, Wr, h0, c0)
    B, T, H, P = sizes["B"], sizes["T"], sizes["H"], sizes["P"]
    mask, steps = length_mask(op, lengths, B, T)

    xt = time_major(x, dtype, mask)  # (T, B, D)
    Wx_s, Wh_s, b_s, p_s = _scaled_params(Wx, Wh, b, peepholes, dtype)
    Wr_ = None if Wr is None else np.asarray(Wr, dtype)

    compiled = get_backend() == "numba"
    fold = compiled and 4 * H * (sizes["D"] + P + 1) * B <= FOLD_MAX_WORK
    if fold:  # each step's one product computes the projection too
        gates = np.empty((T, 4 * H, B), dtype)
        gates[steps:] = 0
    else:
        gates = project_inputs(xt, Wx_s, b_s)  # (T, 4H, B), becomes the activated gates
    c = states_array(c0, T, H, B, dtype)  # (T + 1, H, B)
    h = states_array(h0, T, P, B, dtype)  # (T + 1, P, B)
    # Written for every step that runs; zeros only for the steps after the last valid one.
    tanh_c = (np.empty if steps == T else np.zeros)((T, H, B), dtype)
    m = None if Wr_ is None else np.zeros((T, H, B), dtype)
    hs = h[1:] if mask is None else np.zeros((T, P, B), dtype)
    if compiled:
        W = _folded_weights(Wx_s, Wh_s, b_s) if fold else Wh_s
        _forward_compiled(gates, W, fold, xt, Wr_, p_s, h, c, tanh_c, m, hs, mask, steps)
    else:
        rec = np.empty((4 * H, B), dtype)  # Wh h_{t-1}, reused every step
        for t in range(steps):
            a = gates[t]
            a += np.matmul(Wh_s, h[t], out=rec)
            m_t = h[t + 1] if Wr_ is None else m[t]
            _cell(a, c[t], p_s, c[t + 1], tanh_c[t], m_t)
            if Wr_ is not None:
                np.matmul(Wr_, m_t, out=h[t + 1])
            finish_step(t, c, None, mask)
            finish_step(t, h, hs, mask)
    freeze_tail(c, steps)
    freeze_tail(h, steps)

    cache = LSTMCache(
        x=xt,
        gates=gates,
        c=c,
        h=h,
        tanh_c=tanh_c,
        m=m,
        mask=mask,
        steps=steps,
        Wx=np.asarray(Wx, dtype),
        Wh=np.asarray(Wh, dtype),
        b=np.asarray(b, dtype),
        peepholes=None if peepholes is None else np.asarray(peepholes, dtype),
        Wr=Wr_,
    )
    return batch_first(hs), np.ascontiguousarray(h[T].T), np.ascontiguousarray(c[T].T), cache


def _forward_compiled(gates, W, fold, xt, Wr, p_s, h, c, tanh_c, m, hs, mask, steps) -> None:
    """The forward time loop as one compiled call (backend ``numba``), same arrays;
    ``fold``: ``W`` is :func:`_folded_weights` and ``gates`` is to be computed whole."""
    from lstmkit.kernels import lstm as kernels

    dtype = gates.dtype
    H, B = c.shape[1], c.shape[2]
    none2, none3 = np.zeros((0, 0), dtype), np.zeros((0, 0, 0), dtype)
    z = none2
    if fold:
        z = np.empty((W.shape[1], B), dtype)  # [x_t; h_{t-1}; 1]
        z[-1] = 1
    kernels.seq_forward(gates, W, fold, xt, z, none2 if Wr is None else Wr, Wr is not None,
                        _halved_peepholes(p_s, H, dtype), p_s is not None, h, c, tanh_c,
                        none3 if m is None else m, hs, kernel_lengths(mask), steps)  # fmt: skip


def _folded_weights(Wx_s, Wh_s, b_s) -> np.ndarray:
    """``[Wx_s | Wh_s | b_s] (4H, D + P + 1)``: the bias rides along with the product on a
    row of ones."""
    return np.ascontiguousarray(np.concatenate([Wx_s, Wh_s, b_s[:, None]], axis=1))


def _halved_peepholes(p_s: np.ndarray | None, H: int, dtype) -> np.ndarray:
    """``p_s (3H, 1)`` as the flat ``(3H,)`` kernels take (zeros when None)."""
    return np.zeros(3 * H, dtype) if p_s is None else np.ascontiguousarray(p_s[:, 0])


@joins_backward(3, ("x", "h0", "c0"))
def lstm_backward(
    dhs: np.ndarray | None,
    dhT: np.ndarray | None,
    dcT: np.ndarray | None,
    cache: LSTMCache,
    *,
    input_grad: bool = True,
) -> dict[str, np.ndarray]:
    """Backpropagate through time for :func:`lstm_forward`.

    Parameters
    ----------
    dhs : ndarray, shape (B, T, P), or None
        Gradient of the loss with respect to ``hs`` (None: zero).
    dhT : ndarray, shape (B, P), or None
        Gradient with respect to the final hidden state (None: zero).
    dcT : ndarray, shape (B, H), or None
        Gradient with respect to the final cell state (None: zero).
    cache : LSTMCache
        From :func:`lstm_forward`.
    input_grad : bool
        False skips ``dx`` (``"x"`` is None): a first layer in training needs none.

    Returns
    -------
    dict of ndarray
        ``"x" (B, T, D)``, ``"h0" (B, P)``, ``"c0" (B, H)``, ``"Wx" (4H, D)``,
        ``"Wh" (4H, P)``, ``"b" (4H,)``, plus ``"peepholes" (3H,)`` and ``"Wr" (P, H)``
        when the forward had them. Gradients at padded steps are exactly 0.
    """
    op = "lstm_backward"
    T, B, _ = cache.x.shape
    H = cache.c.shape[1]
    P = cache.h.shape[1]
    dtype = cache.x.dtype
    check_grad_args(
        op,
        (("dhs", dhs, ("B", "T", "P")), ("dhT", dhT, ("B", "P")), ("dcT", dcT, ("B", "H"))),
        {"B": B, "T": T, "H": H, "P": P},
    )
    gates, c, mask, p, Wr = cache.gates, cache.c, cache.mask, cache.peepholes, cache.Wr
    steps = cache.steps
    dh = state_grad(dhT, P, B, dtype)  # (P, B)
    dc = state_grad(dcT, H, B, dtype)  # (H, B)
    dys = output_grad(dhs, dtype)  # (T, P, B)
    da = np.empty((T, 4 * H, B), dtype)  # gradient of the (unscaled) pre-activations
    da[steps:] = 0  # the loop writes every step before; the peephole sums read all
    dh_out = None if Wr is None else np.zeros((T, P, B), dtype)  # dL/dh_t before Wr
    if get_backend() == "numba":
        _backward_compiled(cache, dh, dc, dys, da, dh_out)
        return _weight_grads(cache, da, dh, dc, dh_out, input_grad)

    WhT = np.ascontiguousarray(cache.Wh.T)  # (P, 4H)
    p_col = None if p is None else p[:, None]  # (3H, 1)

    # Local derivatives of every step at once (vectorised over T, not per step):
    # Forward: c_t = f ⊙ c_{t-1} + i ⊙ g, so a_i, a_f, a_g receive dc_t times
    #   k_i = g σ'(a_i), k_f = c_{t-1} σ'(a_f), k_g = i tanh'(a_g);
    # Forward: h = o ⊙ tanh(c_t), so a_o receives dh times k_o = tanh(c_t) σ'(a_o)
    #   and c_t receives dh times k_c = o tanh'(c_t).
    i, f, o, g = (gates[:steps, k * H : (k + 1) * H] for k in range(4))
    tc = cache.tanh_c[:steps]
    k4 = np.empty((steps, 4, H, B), dtype)  # [k_i, k_f, -, k_g]; the o slot is unused
    np.multiply(g, i - i * i, out=k4[:, 0])
    np.multiply(c[:steps], f - f * f, out=k4[:, 1])
    k4[:, 2] = 0
    np.multiply(i, 1 - g * g, out=k4[:, 3])
    k_o = tc * (o - o * o)
    k_c = o * (1 - tc * tc)
    dc_new = np.empty((H, B), dtype)

    for t in reversed(range(steps)):
        dh_new, dh_carry, dc_in, dc_carry = _incoming(t, dh, dc, dys, mask, Wr, dh_out)
        da_t = da[t]
        np.multiply(dh_new, k_c[t], out=dc_new)
        dc_new += dc_in
        if p is not None:
            # Forward: a_o += p_o ⊙ c_t
            dc_new += dh_new * k_o[t] * p_col[2 * H :]
        np.multiply(dc_new, k4[t], out=da_t.reshape(4, H, B))
        np.multiply(dh_new, k_o[t], out=da_t[2 * H : 3 * H])
        np.multiply(dc_new, f[t], out=dc)
        if p is not None:
            # Forward: a_i += p_i ⊙ c_{t-1}, a_f += p_f ⊙ c_{t-1}
            dc += da_t[:H] * p_col[:H] + da_t[H : 2 * H] * p_col[H : 2 * H]
        # Forward: a = Wx x + Wh h_{t-1} + b
        np.matmul(WhT, da_t, out=dh)
        if mask is not None:
            dh += dh_carry
            dc += dc_carry

    return _weight_grads(cache, da, dh, dc, dh_out, input_grad)


def _incoming(t, dh, dc, dys, mask, Wr, dh_out):
    """Gradients arriving at step ``t``: of its output ``m`` (through the projection, if
    any) and of its new cell, plus the parts padded sequences carry past it."""
    mask_t = None if mask is None else mask[t]
    dh_new, dh_carry = split_grad(dh, None if dys is None else dys[t], mask_t)
    dc_in, dc_carry = split_grad(dc, None, mask_t)
    if Wr is not None:
        # Forward: h_new = Wr m, so dm = Wr^T dh_new; dWr is summed after the loop.
        dh_out[t] = dh_new
        dh_new = Wr.T @ dh_new
    return dh_new, dh_carry, dc_in, dc_carry


def _backward_compiled(cache, dh, dc, dys, da, dh_out) -> None:
    """The backward time loop as one compiled call (backend ``numba``): fills ``da`` and
    leaves the initial-state gradients in ``dh``, ``dc``."""
    from lstmkit.kernels import lstm as kernels

    c, p, Wr = cache.c, cache.peepholes, cache.Wr
    dtype, H = c.dtype, c.shape[1]
    none2, none3 = np.zeros((0, 0), dtype), np.zeros((0, 0, 0), dtype)
    kernels.seq_backward(cache.gates, c, cache.tanh_c, none3 if dys is None else dys,
                         dys is not None, cache.Wh, none2 if Wr is None else Wr, Wr is not None,
                         np.zeros(3 * H, dtype) if p is None else p, p is not None,
                         kernel_lengths(cache.mask), cache.steps, dh, dc, da,
                         none3 if dh_out is None else dh_out)  # fmt: skip


def _weight_grads(cache, da, dh, dc, dh_out, input_grad) -> dict[str, np.ndarray]:
    """Gradients of the inputs and weights from every step's ``da (T, 4H, B)``, and of
    the initial states from ``dh (P, B)``, ``dc (H, B)``."""
    H = cache.c.shape[1]
    c, p, Wr, steps = cache.c, cache.peepholes, cache.Wr, cache.steps
    # Weight gradients: sums over all (t, b) of products, not per-step updates.
    grads = {
        "x": grad_wrt_inputs(da, cache.Wx, steps) if input_grad else None,
        "h0": np.ascontiguousarray(dh.T),
        "c0": np.ascontiguousarray(dc.T),
        "Wx": input_weight_grad(da, cache.x, steps),
        "Wh": weight_grad(da, cache.h[:-1], steps),
        "b": bias_grad(da, steps),
    }
    if p is not None:
        # a_i, a_f saw c_{t-1}; a_o saw c_t (equal to the stored state at valid steps,
        # and da is 0 elsewhere).
        grads["peepholes"] = np.concatenate(
            [
                np.einsum("thb,thb->h", da[:, :H], c[:-1]),
                np.einsum("thb,thb->h", da[:, H : 2 * H], c[:-1]),
                np.einsum("thb,thb->h", da[:, 2 * H : 3 * H], c[1:]),
            ]
        )
    if Wr is not None:
        grads["Wr"] = weight_grad(dh_out, cache.m, steps)
    return grads


def lstm_step(
    x_t: np.ndarray,
    h: np.ndarray,
    c: np.ndarray,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    *,
    peepholes: np.ndarray | None = None,
    Wr: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM time step for streaming inference; same numbers as :func:`lstm_forward`.

    Parameters
    ----------
    x_t : ndarray, shape (B, D)
        Input at this step.
    h : ndarray, shape (B, P)
        Previous hidden state.
    c : ndarray, shape (B, H)
        Previous cell state.
    Wx, Wh, b, peepholes, Wr
        As in :func:`lstm_forward`.

    Returns
    -------
    h : ndarray, shape (B, P)
        New hidden state (the step's output).
    c : ndarray, shape (B, H)
        New cell state.
    """
    op = "lstm_step"
    args = as_arrays(x_t, h, c, Wx, Wh, b, peepholes, Wr)
    dtype = _step_check(op, *args)
    if get_backend() == "numba":
        # No preparation: the kernel reads the weights as given and halves the sigmoid
        # rows after the sum (exact), so a call costs its arithmetic and unboxing.
        from lstmkit.kernels import model_step

        x_t, h, c, Wx, Wh, b = kernel_arrays(dtype, *args[:6])
        opt = (model_step.PEEPHOLE if peepholes is not None else 0) | (
            model_step.PROJECTION if Wr is not None else 0
        )
        p = none_array(dtype, 1) if peepholes is None else kernel_arrays(dtype, args[6])[0]
        r = none_array(dtype, 2) if Wr is None else kernel_arrays(dtype, args[7])[0]
        return model_step.lstm_step(opt, x_t, h, c, Wx, Wh, b, p, r)
    x_t, h, c, Wx, Wh, b, peepholes, Wr = args
    Wx_s, Wh_s, b_s, p_s = _scaled_params(Wx, Wh, b, peepholes, dtype)
    # The same products as the sequence forward, in its feature-major layout.
    a = Wx_s @ np.asarray(x_t, dtype).T
    a += b_s[:, None]
    a += Wh_s @ np.asarray(h, dtype).T
    c_prev = np.asarray(c, dtype).T
    c_new, tanh_c, h_new = (np.empty_like(c_prev) for _ in range(3))
    _cell(a, c_prev, p_s, c_new, tanh_c, h_new)
    if Wr is not None:
        h_new = np.asarray(Wr, dtype) @ h_new
    return np.ascontiguousarray(h_new.T), np.ascontiguousarray(c_new.T)


@by_shapes
def _step_check(op, x_t, h, c, Wx, Wh, b, peepholes, Wr) -> np.dtype:
    """Every check of :func:`lstm_step`; returns the compute dtype."""
    dtype = common_float_dtype(
        op,
        {"x_t": x_t, "h": h, "c": c, "Wx": Wx, "Wh": Wh, "b": b, "peepholes": peepholes, "Wr": Wr},
    )
    _sizes(op, "x_t", x_t, Wx, Wh, b, peepholes, Wr, h, c)
    return dtype


@splits_batch(3, cached=False)
def lstm_infer(
    x: np.ndarray,
    h0: np.ndarray | None,
    c0: np.ndarray | None,
    Wx: np.ndarray,
    Wh: np.ndarray,
    b: np.ndarray,
    *,
    peepholes: np.ndarray | None = None,
    Wr: np.ndarray | None = None,
    lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`lstm_forward` for inference: the same ``hs, hT, cT``, no cache.

    Keeping nothing for a backward lets the compiled path hold only one step's arrays
    (they stay in cache) and fold the input projection into the recurrent product,
    ``[Wx | Wh] [x_t; h_{t-1}]``: one matrix product per step. Under the ``numpy``
    backend, and with a projection, it is :func:`lstm_forward` without the cache.
    """
    if get_backend() != "numba" or Wr is not None:
        hs, hT, cT, _ = lstm_forward(x, h0, c0, Wx, Wh, b, peepholes=peepholes, Wr=Wr,
                                     lengths=lengths)  # fmt: skip
        return hs, hT, cT
    from lstmkit.kernels import lstm as kernels

    op = "lstm_forward"
    x, h0, c0, Wx, Wh, b, peepholes = as_arrays(x, h0, c0, Wx, Wh, b, peepholes)
    dtype = common_float_dtype(
        op, {"x": x, "h0": h0, "c0": c0, "Wx": Wx, "Wh": Wh, "b": b, "peepholes": peepholes}
    )
    sizes = _sizes(op, "x", x, Wx, Wh, b, peepholes, None, h0, c0)
    B, T, D, H = sizes["B"], sizes["T"], sizes["D"], sizes["H"]
    mask, steps = length_mask(op, lengths, B, T)
    Wx_s, Wh_s, b_s, p_s = _scaled_params(Wx, Wh, b, peepholes, dtype)
    W = _folded_weights(Wx_s, Wh_s, b_s)
    xT = np.ascontiguousarray(np.asarray(x, dtype).transpose(1, 2, 0))  # (T, D, B)
    z = np.zeros((D + H + 1, B), dtype)  # [x_t; h_{t-1}; 1]
    z[D + H] = 1
    if h0 is not None:
        z[D : D + H] = np.asarray(h0, dtype).T
    c = np.zeros((2, H, B), dtype)
    if c0 is not None:
        c[0] = np.asarray(c0, dtype).T
    out = np.zeros((B, T, H), dtype)
    kernels.seq_infer(xT, W, _halved_peepholes(p_s, H, dtype), p_s is not None,
                      kernel_lengths(mask), steps, z, c, np.empty((4 * H, B), dtype),
                      np.empty((H, B), dtype), out)  # fmt: skip
    return (
        out,
        np.ascontiguousarray(z[D : D + H].T),
        np.ascontiguousarray(c[steps % 2].T),
    )
