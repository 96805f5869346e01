"""The cost conventions of docs/conventions.md, one function per figure.

Dimensions: ``D`` the layer's input features, ``H`` hidden units, ``P`` the recurrent
output size (the projection size, else ``H``). Every figure here is for **one
direction and one time step** of a recurrent layer, or one application of a Dense
layer; :mod:`lstmkit.cost.analyze` scales them to sequences. The counting run
(:mod:`lstmkit.cost.counting`) executes the same models with counted arithmetic, and
the tests hold the two to equality.
"""

from __future__ import annotations

import math

from lstmkit.cost.tally import Ops
from lstmkit.layers.base import Layer
from lstmkit.layers.cells import GRUCell, LSTMCell, RNNCell
from lstmkit.layers.dense import Dense
from lstmkit.layers.recurrent import Recurrent

#: Elementwise ops of a softmax over ``n`` scores, beyond its ``n`` exps: the running
#: max (n comparisons), ``z − max`` (n), the sum (n) and the division (n).
SOFTMAX_ELEMENTWISE = 4


def step_ops(layer: Layer) -> Ops:
    """Operations of one direction's time step (recurrent) or one application (Dense).

    Stateless layers without arithmetic at inference (Dropout) cost nothing.
    """
    if isinstance(layer, Recurrent):
        return _cell_ops(layer.cell, layer.input_size)
    if isinstance(layer, Dense):
        return _dense_ops(layer)
    return Ops()


def _cell_ops(cell, D: int) -> Ops:
    H = cell.H
    if isinstance(cell, LSTMCell):
        P = cell.out_size
        macc = 4 * H * (D + P) + (P * H if cell.P else 0)
        # 4H bias adds, f⊙c, i⊙g, their sum, o⊙tanh(c); peepholes add 3H ⊙ and 3H +.
        elementwise = 8 * H + (6 * H if cell.peephole else 0)
        return Ops(macc=macc, elementwise=elementwise, sigmoid=3 * H, tanh=2 * H)
    if isinstance(cell, GRUCell):
        # Both variants: 6H bias adds, one reset product, one sum of the n terms and the
        # update n + z⊙(h − n) as 3H.
        return Ops(macc=3 * H * (D + H), elementwise=11 * H, sigmoid=2 * H, tanh=H)
    if isinstance(cell, RNNCell):
        act = {"tanh": H} if cell.activation == "tanh" else {"relu": H}
        return Ops(macc=H * (D + H), elementwise=H, **act)
    raise TypeError(f"no cost formula for cell {type(cell).__name__}")


def _dense_ops(layer: Dense) -> Ops:
    n_in, n_out = layer.input_size, layer.units
    ops = Ops(macc=n_in * n_out, elementwise=n_out)
    act = layer.activation
    if act in ("sigmoid", "tanh", "relu"):
        ops = ops + Ops(**{act: n_out})
    elif act == "softmax":
        ops = ops + Ops(elementwise=SOFTMAX_ELEMENTWISE * n_out, exp=n_out)
    return ops


def param_shapes(layer: Layer) -> list[tuple[str, tuple[int, ...]]]:
    """``(name, shape)`` of one direction's stored parameters (names without suffix)."""
    if isinstance(layer, Recurrent):
        return [(k, shape) for k, shape, _ in layer.cell.describe(layer.input_size)]
    return [(k, shape) for k, shape, _ in layer.describe_params()]


def stored_params(layer: Layer) -> int:
    """Parameters of one direction as lstmkit stores them (SPEC's table)."""
    return sum(math.prod(shape) for _, shape in param_shapes(layer))


def torch_extra_params(layer: Layer) -> int:
    """What PyTorch stores beyond lstmkit per direction: its second bias (LSTM ``4H``,
    RNN ``H``; the GRU already has two)."""
    if isinstance(layer, Recurrent):
        if isinstance(layer.cell, LSTMCell):
            return 4 * layer.cell.H
        if isinstance(layer.cell, RNNCell):
            return layer.cell.H
    return 0


def gate_width(layer: Layer) -> int:
    """Gate pre-activations held during one step: LSTM ``4H``, GRU ``4H`` (reset_after)
    or ``3H``, RNN ``H``; 0 for other layers."""
    if not isinstance(layer, Recurrent):
        return 0
    cell = layer.cell
    if isinstance(cell, LSTMCell):
        return 4 * cell.H
    if isinstance(cell, GRUCell):
        return (4 if cell.reset_after else 3) * cell.H
    return cell.H


def state_width(layer: Layer) -> int:
    """Numbers carried between steps by one direction: LSTM ``P + H``, GRU/RNN ``H``."""
    if not isinstance(layer, Recurrent):
        return 0
    return sum(layer.cell.state_sizes())
