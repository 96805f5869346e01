"""The cost conventions of docs/conventions.md, one function per figure.

Dimensions: ``D`` the layer's input features, ``H`` hidden units, ``P`` the recurrent
output size (the projection size, else ``H``). Every figure here is for **one
direction and one time step** of a recurrent layer, or one application of a Dense
layer; :mod:`lstmkit.cost.analyze` scales them to sequences. Operation counts come from
the cells' one definition; the counting run (:mod:`lstmkit.cost.counting`) executes the
same definition with counted arithmetic, and the tests hold the two to equality.
"""

from __future__ import annotations

import math

from lstmkit.cost.tally import Ops
from lstmkit.layers.base import Layer
from lstmkit.layers.cells import GRUCell, LSTMCell, RNNCell
from lstmkit.layers.dense import Dense
from lstmkit.layers.recurrent import Recurrent


def step_ops(layer: Layer) -> Ops:
    """Operations of one direction's time step (recurrent) or one application (Dense):
    the cell's one definition (:mod:`lstmkit.steps.define`) traced on its parameters'
    shapes and counted, so nothing is allocated; tests/cost/test_formulas.py holds the
    result to the closed forms of docs/conventions.md.

    Stateless layers without arithmetic at inference (Dropout) cost nothing.
    """
    from lstmkit.steps.define import cell_options
    from lstmkit.steps.graph import Shape, Tracer, operation_counts, trace_step

    if isinstance(layer, Recurrent):
        kind, options = cell_options(layer.cell)
    elif isinstance(layer, Dense):
        kind, options = "dense", {"activation": layer.activation}
    else:
        return Ops()
    shapes = {k: Shape(shape) for k, shape in param_shapes(layer)}
    graph = trace_step(kind, options, shapes, layer.input_size, Tracer())
    return Ops(**operation_counts(graph))


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
