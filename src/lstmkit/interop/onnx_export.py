"""lstmkit → ONNX: standard LSTM/GRU/RNN nodes, Gemm/MatMul heads (needs ``onnx``).

The graph reads ``x (batch, time, D)`` (batch-first, both axes dynamic) and, with
``lengths=True``, ``lengths (batch,)`` int32, which becomes every recurrent node's
``sequence_lens``. Inside, the sequence is time-major (ONNX's default layout):

- each recurrent layer is one node, weights reordered to ONNX's gates (layouts.py),
  ``B = [Wb | Rb]`` with lstmkit's single LSTM/RNN bias as ``Wb`` and ``Rb = 0``, GRU
  ``bx``/``bh`` as ``Wb``/``Rb`` and ``linear_before_reset = reset_after``, peepholes as
  ``P`` (ONNX order i, o, f); ``Y [T, dirs, B, H]`` becomes ``[T, B, dirs·H]``, or the
  last valid state ``Y_h`` becomes ``[B, dirs·H]`` for a many-to-one layer;
- a Dense head on a vector is a ``Gemm``; on a sequence a ``MatMul`` + ``Add`` (and a
  mask that zeroes padded steps when lengths are given), then its activation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lstmkit.interop.errors import InteropError
from lstmkit.interop.layouts import peepholes_to_onnx, to_framework
from lstmkit.layers import Dense, Dropout
from lstmkit.layers.recurrent import Recurrent

OPSET = 17
ACT_OPS = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "softmax": "Softmax"}


def _onnx():
    try:
        import onnx
    except ImportError:  # pragma: no cover
        raise InteropError("the onnx package is not installed; pip install onnx") from None
    return onnx


class _Graph:
    """A small builder: unique names, initializers, nodes."""

    def __init__(self, dtype: np.dtype) -> None:
        self.onnx = _onnx()
        self.dtype = dtype
        self.nodes: list = []
        self.inits: list = []
        self.count = 0

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, base: str, value, dtype=None) -> str:
        arr = np.asarray(value, dtype=dtype or self.dtype)
        name = self.name(base)
        self.inits.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def node(self, op: str, inputs: list[str], n_out: int = 1, **attrs) -> list[str]:
        outs = [self.name(op.lower()) for _ in range(n_out)]
        self.nodes.append(self.onnx.helper.make_node(op, inputs, outs, **attrs))
        return outs


def _recurrent(g: _Graph, layer: Recurrent, x: str, lengths: str) -> tuple[str, bool]:
    """One recurrent layer on time-major ``x [T, B, D]`` → its output name, and whether it
    keeps the time axis."""
    kind = type(layer).__name__
    cell = layer.cell
    if kind == "LSTM" and cell.P:
        raise InteropError(f"{layer.name}: ONNX's LSTM has no projection (proj_size)")
    H, dirs = layer.hidden_size, layer.directions
    W, R, Bs, Ps = [], [], [], []
    for d in dirs:
        sfx = layer.suffix(d)
        names = ("Wx", "Wh", "b", "bx", "bh", "peepholes")
        p = {k: layer.params[k + sfx] for k in names if k + sfx in layer.params}
        if kind == "LSTM":
            W.append(to_framework(p["Wx"], "lstm", "onnx"))
            R.append(to_framework(p["Wh"], "lstm", "onnx"))
            Bs.append(np.concatenate([to_framework(p["b"], "lstm", "onnx"), np.zeros(4 * H)]))
            if cell.peephole:
                Ps.append(peepholes_to_onnx(p["peepholes"]))
        elif kind == "GRU":
            W.append(to_framework(p["Wx"], "gru", "onnx"))
            R.append(to_framework(p["Wh"], "gru", "onnx"))
            Bs.append(
                np.concatenate(
                    [to_framework(p["bx"], "gru", "onnx"), to_framework(p["bh"], "gru", "onnx")]
                )
            )
        else:
            W.append(p["Wx"])
            R.append(p["Wh"])
            Bs.append(np.concatenate([p["b"], np.zeros(H)]))
    inputs = [x, g.const("W", W), g.const("R", R), g.const("B", Bs), lengths]
    attrs = {"hidden_size": H, "direction": "bidirectional" if len(dirs) == 2 else dirs[0]}
    if kind == "LSTM" and Ps:
        inputs += ["", "", g.const("P", Ps)]
    if kind == "GRU":
        attrs["linear_before_reset"] = int(cell.reset_after)
    if kind == "RNN":
        attrs["activations"] = [{"tanh": "Tanh", "relu": "Relu"}[cell.activation]] * len(dirs)
    n_out = 3 if kind == "LSTM" else 2
    y, y_h, *_ = g.node(kind, inputs, n_out, **attrs)
    if layer.return_sequences:
        (t,) = g.node("Transpose", [y], perm=[0, 2, 1, 3])  # [T, B, dirs, H]
        (out,) = g.node("Reshape", [t, g.const("shape", [0, 0, -1], np.int64)])
        return out, True
    (t,) = g.node("Transpose", [y_h], perm=[1, 0, 2])  # [B, dirs, H]
    (out,) = g.node("Reshape", [t, g.const("shape", [0, -1], np.int64)])
    return out, False


def _mask(g: _Graph, x_tm: str, lengths: str) -> str:
    """``[T, B, 1]`` float mask of valid steps from ``lengths``."""
    (shape,) = g.node("Shape", [x_tm])
    (T,) = g.node("Gather", [shape, g.const("zero", 0, np.int64)], axis=0)
    (steps,) = g.node("Range", [g.const("zero", 0, np.int64), T, g.const("one", 1, np.int64)])
    (col,) = g.node("Unsqueeze", [steps, g.const("axes", [1], np.int64)])  # [T, 1]
    (lens,) = g.node("Cast", [lengths], to=7)  # int64
    (row,) = g.node("Unsqueeze", [lens, g.const("axes", [0], np.int64)])  # [1, B]
    (valid,) = g.node("Less", [col, row])
    (f,) = g.node("Cast", [valid], to=1 if g.dtype == np.float32 else 11)
    (m,) = g.node("Unsqueeze", [f, g.const("axes", [2], np.int64)])
    return m


def to_onnx(model, path: str | Path, *, lengths: bool = False) -> Path:
    """Write ``model`` as an ONNX file (opset 17) that ``onnx.checker`` accepts.

    Parameters
    ----------
    model : Sequential
    path : where to write (written atomically)
    lengths : add an int32 input ``lengths (batch,)`` for variable-length batches

    Returns
    -------
    Path of the file.
    """
    if getattr(model, "mask_value", None) is not None:
        raise InteropError(
            f"{model.name}: mask_value {model.mask_value:g} (padding read from the input) "
            "has no ONNX form; give the lengths instead (to_onnx(model, path, lengths=True))"
        )
    onnx = _onnx()
    g = _Graph(np.dtype(model.dtype))
    elem = onnx.TensorProto.FLOAT if model.dtype == np.float32 else onnx.TensorProto.DOUBLE
    inputs = [onnx.helper.make_tensor_value_info("x", elem, ["batch", "time", model.input_size])]
    lens = ""
    if lengths:
        inputs.append(
            onnx.helper.make_tensor_value_info("lengths", onnx.TensorProto.INT32, ["batch"])
        )
        lens = "lengths"
    (h,) = g.node("Transpose", ["x"], perm=[1, 0, 2])  # time-major [T, B, D]
    sequence, mask = True, None
    for layer in model.layers:
        if isinstance(layer, Recurrent):
            h, sequence = _recurrent(g, layer, h, lens)
        elif isinstance(layer, Dense):
            W, b = layer.params["W"], layer.params["b"]
            if sequence:
                (mm,) = g.node("MatMul", [h, g.const("W", W.T)])
                (h,) = g.node("Add", [mm, g.const("b", b)])
            else:
                (h,) = g.node("Gemm", [h, g.const("W", W), g.const("b", b)], transB=1)
            if layer.activation:
                attrs = {"axis": -1} if layer.activation == "softmax" else {}
                (h,) = g.node(ACT_OPS[layer.activation], [h], **attrs)
            if sequence and lens:
                mask = mask or _mask(g, h, lens)
                (h,) = g.node("Mul", [h, mask])
        elif isinstance(layer, Dropout):
            continue  # the identity at inference
        else:
            raise InteropError(f"{layer.name}: {type(layer).__name__} has no ONNX export")
    if sequence:
        (h,) = g.node("Transpose", [h], perm=[1, 0, 2])
    g.nodes.append(onnx.helper.make_node("Identity", [h], ["y"]))
    out_shape = ["batch", "time", model.output_size] if sequence else ["batch", model.output_size]
    graph = onnx.helper.make_graph(
        g.nodes,
        model.name,
        inputs,
        [onnx.helper.make_tensor_value_info("y", elem, out_shape)],
        initializer=g.inits,
    )
    proto = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)], producer_name="lstmkit"
    )
    proto.ir_version = min(proto.ir_version, 9)
    onnx.checker.check_model(proto)
    from lstmkit.fileio import write_atomic

    return write_atomic(path, proto.SerializeToString())
