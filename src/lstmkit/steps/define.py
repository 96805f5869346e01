"""One step of each cell, and one application of a Dense layer, written once.

Every function takes the arithmetic ``A`` it runs on; nothing here computes by itself.
``A`` provides (vectors are what ``A`` returns or is given; they slice with ``v[lo:hi]``):

- ``affine(products, bias=None)``: ``Σ W_k v_k (+ bias)`` with one accumulator per output
  row; ``products`` is a list of ``(W, v)``, ``W`` a parameter matrix (rows slice too);
- ``add``, ``sub``, ``mul``, ``div``: elementwise, either operand may be a parameter
  vector or (``sub``, ``div``) a scalar;
- ``sigmoid``, ``tanh``, ``relu``, ``exp``: elementwise nonlinearities;
- ``max``, ``sum``: a vector's maximum and sum (scalars);
- ``keep(v, name)``: ``v`` is the state ``name`` carried to the next step; from here on
  the step uses ``v`` as it is stored (the fixed-point arithmetic narrows it then).

Parameters ``p`` use the canonical names and layouts of docs/conventions.md; gate order
``[i | f | o | g]`` (LSTM) and ``[r | z | n]`` (GRU) is written here and nowhere else
in the exporters. ``o`` holds the cell's options (:func:`cell_options`).
"""

from __future__ import annotations

from typing import Any


def lstm_step(o: dict, p: dict, x: Any, state: tuple, A: Any) -> tuple[Any, tuple]:
    """LSTM: ``x (D,)``, state ``(h (P,), c (H,))`` → output ``h (P,)`` and new state.

    Options: ``H``; ``peephole`` (``i``, ``f`` see ``c_(t-1)``, ``o`` sees ``c_t``);
    ``proj`` (``h = W_r m``, ``P`` rows; else ``P = H``).
    """
    h, c = state
    H = o["H"]
    a = A.affine([(p["Wx"], x), (p["Wh"], h)], p["b"])
    a_i, a_f, a_o, a_g = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
    if o["peephole"]:
        pp = p["peepholes"]
        a_i = A.add(a_i, A.mul(pp[:H], c))
        a_f = A.add(a_f, A.mul(pp[H : 2 * H], c))
    i, f, g = A.sigmoid(a_i), A.sigmoid(a_f), A.tanh(a_g)
    c_new = A.keep(A.add(A.mul(f, c), A.mul(i, g)), "c")
    if o["peephole"]:
        a_o = A.add(a_o, A.mul(pp[2 * H :], c_new))  # the output gate sees the new cell
    m = A.mul(A.sigmoid(a_o), A.tanh(c_new))
    h_new = A.keep(A.affine([(p["Wr"], m)]) if o["proj"] else m, "h")
    return h_new, (h_new, c_new)


def gru_step(o: dict, p: dict, x: Any, state: tuple, A: Any) -> tuple[Any, tuple]:
    """GRU: ``x (D,)``, state ``(h (H,),)`` → ``h (H,)``. ``reset_after``: the reset gate
    scales ``W_hn h + b_hn`` (cuDNN, Keras 2) instead of ``h`` before the product."""
    (h,) = state
    H = o["H"]
    Wx, Wh, bx, bh = p["Wx"], p["Wh"], p["bx"], p["bh"]
    rz = A.add(A.affine([(Wx[: 2 * H], x), (Wh[: 2 * H], h)], bx[: 2 * H]), bh[: 2 * H])
    r, z = A.sigmoid(rz[:H]), A.sigmoid(rz[H:])
    xn = A.affine([(Wx[2 * H :], x)], bx[2 * H :])
    if o["reset_after"]:
        hn = A.affine([(Wh[2 * H :], h)], bh[2 * H :])
        n = A.tanh(A.add(xn, A.mul(r, hn)))
    else:
        hn = A.affine([(Wh[2 * H :], A.mul(r, h))], bh[2 * H :])
        n = A.tanh(A.add(xn, hn))
    h_new = A.keep(A.add(n, A.mul(z, A.sub(h, n))), "h")  # (1 − z) ⊙ n + z ⊙ h
    return h_new, (h_new,)


def rnn_step(o: dict, p: dict, x: Any, state: tuple, A: Any) -> tuple[Any, tuple]:
    """Plain RNN: ``h = act(W_x x + W_h h + b)``, ``act`` tanh or relu."""
    (h,) = state
    a = A.affine([(p["Wx"], x), (p["Wh"], h)], p["b"])
    h_new = A.keep(A.tanh(a) if o["activation"] == "tanh" else A.relu(a), "h")
    return h_new, (h_new,)


def dense_apply(o: dict, p: dict, x: Any, A: Any) -> Any:
    """Dense: ``act(W x + b)``; ``act`` None, sigmoid, tanh, relu or softmax."""
    z = A.affine([(p["W"], x)], p["b"])
    act = o["activation"]
    if act == "softmax":
        e = A.exp(A.sub(z, A.max(z)))
        return A.div(e, A.sum(e))
    if act is None:
        return z
    return {"sigmoid": A.sigmoid, "tanh": A.tanh, "relu": A.relu}[act](z)


#: Recurrent step of each kind.
STEPS = {"lstm": lstm_step, "gru": gru_step, "rnn": rnn_step}


def cell_options(cell: Any) -> tuple[str, dict]:
    """``(kind, options)`` of a cell object (:mod:`lstmkit.layers.cells`)."""
    from lstmkit.layers.cells import GRUCell, LSTMCell, RNNCell

    if isinstance(cell, LSTMCell):
        return "lstm", {"H": cell.H, "P": cell.out_size, "peephole": cell.peephole,
                        "proj": cell.P is not None}  # fmt: skip
    if isinstance(cell, GRUCell):
        return "gru", {"H": cell.H, "P": cell.H, "reset_after": cell.reset_after}
    if isinstance(cell, RNNCell):
        return "rnn", {"H": cell.H, "P": cell.H, "activation": cell.activation}
    raise TypeError(f"no step definition for cell {type(cell).__name__}")


def output_bound(kind: str, options: dict) -> float | None:
    """A bound on ``|output|`` that the equations above guarantee (``h`` as an output
    gate times a tanh, a convex mix of tanh values, a tanh or a sigmoid), or None where
    only data can tell (a projection, relu, an affine Dense)."""
    if kind == "lstm":
        return None if options["proj"] else 1.0
    if kind == "gru":
        return 1.0
    act = options["activation"]
    if kind == "rnn":
        return 1.0 if act == "tanh" else None
    return 1.0 if act in ("sigmoid", "tanh") else None


def state_names(kind: str) -> tuple[str, ...]:
    """The state vectors of a step, in the order the step takes and returns them."""
    return ("h", "c") if kind == "lstm" else ("h",)
