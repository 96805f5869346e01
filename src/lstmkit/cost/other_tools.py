"""What other tools report for one direction and one time step of the same layer.

Their numbers are theirs, reproduced from their published formulas (docs/cost.md
explains each and how it reconciles with lstmkit's MACC + elementwise):

- **ST Edge AI Core** (X-CUBE-AI): LSTM ``4H(D+H) + 5H``, GRU ``3H(D+H) + 2H``
  (figures of docs/conventions.md); no RNN figure is published.
- **NNoM** (``nnom_lstm_cell.c``, ``nnom_gru_cell.c``, ``nnom_simple_cell.c``): LSTM
  ``4HD + 4H² + 10H``, GRU ``3HD + 8H² + 11H`` (8H² where the products take 3H²), simple
  RNN ``HD + H²``; per time step only (the layer figure is not multiplied by T), no
  bidirectional layers, GRU with reset_after only, RNN with tanh or sigmoid only.
- **thop** (``rnn_hooks.py``): LSTM ``4H(D+H) + 16H``, GRU ``3H(D+H) + 13H``, RNN
  ``H(D+H) + 3H`` (both PyTorch biases counted); projections ignored (``H`` used for
  the recurrent input); padded length × batch.
- **ptflops** (``pytorch_ops.py``): LSTM ``4H(D+P) + 18H`` from the weight shapes (the
  projection matrix itself ignored), GRU ``3H(D+H) + 13H``, RNN ``H(D+H) + 3H``;
  padded length × batch.

``None`` means the tool cannot represent the layer (PyTorch has no peepholes and no
GRU with reset_after=False; NNoM has no bidirectional layers, ...). Dense layers are not
compared: the tools differ there by at most the bias add.
"""

from __future__ import annotations

from lstmkit.layers.base import Layer
from lstmkit.layers.cells import GRUCell, LSTMCell, RNNCell
from lstmkit.layers.recurrent import Recurrent

#: Report key → the tool's name as its users know it.
TOOLS = {
    "st_edge_ai": "ST Edge AI",
    "nnom": "NNoM",
    "thop": "thop",
    "ptflops": "ptflops",
}


def other_tools(layer: Layer, direction: str | None) -> dict[str, int | None]:
    """Per-step figure of each tool in :data:`TOOLS` for one direction of ``layer``."""
    out: dict[str, int | None] = dict.fromkeys(TOOLS)
    if not isinstance(layer, Recurrent):
        return out
    cell, D = layer.cell, layer.input_size
    H = cell.H
    reverse = direction == "reverse"
    if isinstance(cell, LSTMCell):
        plain = not cell.peephole and cell.P is None
        if plain:
            out["st_edge_ai"] = 4 * H * (D + H) + 5 * H
            out["nnom"] = None if reverse else 4 * H * D + 4 * H * H + 10 * H
        if not cell.peephole:
            out["thop"] = 4 * H * (D + H) + 16 * H
            out["ptflops"] = 4 * H * (D + cell.out_size) + 18 * H
    elif isinstance(cell, GRUCell):
        out["st_edge_ai"] = 3 * H * (D + H) + 2 * H
        if cell.reset_after:
            out["nnom"] = None if reverse else 3 * H * D + 8 * H * H + 11 * H
            out["thop"] = 3 * H * (D + H) + 13 * H
            out["ptflops"] = 3 * H * (D + H) + 13 * H
    elif isinstance(cell, RNNCell):
        if cell.activation == "tanh" and not reverse:
            out["nnom"] = H * (D + H)
        out["thop"] = H * (D + H) + 3 * H
        out["ptflops"] = H * (D + H) + 3 * H
    return out
