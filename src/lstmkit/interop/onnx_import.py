"""ONNX → lstmkit: graphs made of LSTM/GRU/RNN nodes and Gemm/MatMul heads (needs ``onnx``).

Reads the files :func:`~lstmkit.interop.to_onnx` writes and the ones
``torch.onnx.export`` produces for ``nn.LSTM``/``nn.GRU``/``nn.RNN``. The data path from
the first graph input to the first graph output may hold only:

- recurrent nodes;
- Dense heads: ``Gemm``, or ``MatMul`` with an optional ``Add``, then an optional
  ``Relu``/``Tanh``/``Sigmoid``/``Softmax``;
- layout ops (``Transpose``, ``Reshape``, ``Squeeze``, ``Unsqueeze``, ``Identity``,
  ``Flatten``, ``Dropout``);
- a padding mask (``Mul``).

Side computations (shapes, zero initial states, masks) may use shape and constant ops.
Anything else, an attribute lstmkit cannot honour (``clip``, ``input_forget``, other
activations), or initial states that are not zeros stops with an :class:`InteropError`
naming it. Nothing is silently dropped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lstmkit.fileio import first_line
from lstmkit.interop.assemble import assemble
from lstmkit.interop.errors import InteropError
from lstmkit.interop.layouts import from_framework, peepholes_from_onnx
from lstmkit.layers import GRU, LSTM, RNN, Dense
from lstmkit.models.sequential import Sequential

RECURRENT = ("LSTM", "GRU", "RNN")
LAYOUT_OPS = {"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Identity", "Flatten", "Dropout"}
SIDE_OPS = {
    "Shape",
    "Gather",
    "Slice",
    "Concat",
    "Cast",
    "Constant",
    "ConstantOfShape",
    "Expand",
    "Range",
    "Less",
    "Unsqueeze",
    "Squeeze",
    "Reshape",
    "Identity",
    "Transpose",
    "Equal",
    "Where",
    "Add",
    "Sub",
    "Mul",
    "Div",
}
ACTS = {"Relu": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "Softmax": "softmax"}
DEFAULT_ACTS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}


def _onnx():
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:  # pragma: no cover
        raise InteropError("the onnx package is not installed; pip install onnx") from None
    return onnx, numpy_helper


def _attrs(node) -> dict:
    onnx, _ = _onnx()
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


class _Reader:
    def __init__(self, proto) -> None:
        _, nh = _onnx()
        self.graph = proto.graph
        self.consts = {t.name: nh.to_array(t) for t in self.graph.initializer}
        self.producer = {}
        for node in self.graph.node:
            for out in node.output:
                self.producer[out] = node
            if node.op_type == "Constant":
                value = _attrs(node).get("value")
                if value is not None:
                    self.consts[node.output[0]] = nh.to_array(value)
        self.inputs = {i.name for i in self.graph.input} - set(self.consts)

    def const(self, name: str, what: str) -> np.ndarray:
        if name not in self.consts:
            raise InteropError(
                f"{what} ({name!r}) is computed in the graph, not stored; "
                "only constant weights can be imported"
            )
        return np.asarray(self.consts[name])

    def is_zero(self, name: str, seen=None) -> bool:
        """Whether a value is all zeros, following shape-only ops back to constants."""
        if name in self.consts:
            return not np.any(self.consts[name])
        if name in self.inputs:
            return False
        node = self.producer.get(name)
        if node is None:
            return False
        if node.op_type == "ConstantOfShape":
            value = _attrs(node).get("value")
            return value is None or not np.any(_onnx()[1].to_array(value))
        if node.op_type in (
            "Slice",
            "Expand",
            "Reshape",
            "Unsqueeze",
            "Squeeze",
            "Identity",
            "Transpose",
            "Concat",
            "Gather",
            "Cast",
        ):
            data = node.input[0] if node.op_type != "Concat" else None
            names = [data] if data else list(node.input)
            return all(self.is_zero(n) for n in names if n)
        return False


def _recurrent(r: _Reader, node, sequences: bool):
    op, a = node.op_type, _attrs(node)
    name = node.name or node.output[0]
    for bad in ("clip",):
        if bad in a:
            raise InteropError(f"{op} node {name!r}: attribute {bad!r} is not supported")
    if a.get("input_forget", 0):
        raise InteropError(f"{op} node {name!r}: attribute 'input_forget' is not supported")
    acts = [s.decode() if isinstance(s, bytes) else s for s in a.get("activations", [])]
    direction = a.get("direction", b"forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    if direction not in ("forward", "bidirectional"):
        raise InteropError(f"{op} node {name!r}: direction {direction!r} is not supported")
    dirs = 2 if direction == "bidirectional" else 1
    ins = list(node.input) + [""] * 8
    W = r.const(ins[1], f"{op} node {name!r} W")
    R = r.const(ins[2], f"{op} node {name!r} R")
    H = int(a.get("hidden_size", R.shape[-1]))
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    B = (
        r.const(ins[3], f"{op} node {name!r} B")
        if ins[3]
        else np.zeros((dirs, 2 * gates * H), W.dtype)
    )
    if (
        W.shape[:2] != (dirs, gates * H)
        or R.shape != (dirs, gates * H, H)
        or B.shape != (dirs, 2 * gates * H)
    ):
        raise InteropError(
            f"{op} node {name!r}: weight shapes W {W.shape}, R {R.shape}, B {B.shape} do not "
            f"match hidden_size {H} and {dirs} direction(s)"
        )
    states = (5, 6) if op == "LSTM" else (5,)
    for k in states:
        if ins[k] and not r.is_zero(ins[k]):
            raise InteropError(
                f"{op} node {name!r}: its initial state {ins[k]!r} is not zero; lstmkit models "
                "start from zero states"
            )
    common = {"return_sequences": sequences, "bidirectional": dirs == 2}
    params = {}
    sfx = ("", "_reverse")
    if op == "LSTM":
        if acts and [x.capitalize() for x in acts] != DEFAULT_ACTS["LSTM"] * dirs:
            raise InteropError(f"LSTM node {name!r}: activations {acts} are not supported")
        P = r.const(ins[7], f"LSTM node {name!r} P") if ins[7] else None
        for d in range(dirs):
            params["Wx" + sfx[d]] = from_framework(W[d], "lstm", "onnx")
            params["Wh" + sfx[d]] = from_framework(R[d], "lstm", "onnx")
            params["b" + sfx[d]] = from_framework(B[d, : 4 * H] + B[d, 4 * H :], "lstm", "onnx")
            if P is not None:
                params["peepholes" + sfx[d]] = peepholes_from_onnx(P[d])
        layer = LSTM(H, peephole=P is not None, **common)
    elif op == "GRU":
        if acts and [x.capitalize() for x in acts] != DEFAULT_ACTS["GRU"] * dirs:
            raise InteropError(f"GRU node {name!r}: activations {acts} are not supported")
        for d in range(dirs):
            params["Wx" + sfx[d]] = from_framework(W[d], "gru", "onnx")
            params["Wh" + sfx[d]] = from_framework(R[d], "gru", "onnx")
            params["bx" + sfx[d]] = from_framework(B[d, : 3 * H], "gru", "onnx")
            params["bh" + sfx[d]] = from_framework(B[d, 3 * H :], "gru", "onnx")
        layer = GRU(H, reset_after=bool(a.get("linear_before_reset", 0)), **common)
    else:
        names = {x.capitalize() for x in acts} or {"Tanh"}
        if len(names) != 1 or not names <= {"Tanh", "Relu"}:
            raise InteropError(f"RNN node {name!r}: activations {acts} are not supported")
        for d in range(dirs):
            params["Wx" + sfx[d]] = W[d]
            params["Wh" + sfx[d]] = R[d]
            params["b" + sfx[d]] = B[d, :H] + B[d, H:]
        layer = RNN(H, activation=names.pop().lower(), **common)
    return layer, params, W.shape[-1], W.dtype


def from_onnx(path: str | Path) -> Sequential:
    """An lstmkit model from an ONNX file (see the module docstring for what is read)."""
    onnx, _ = _onnx()
    path = Path(path)
    if not path.is_file():
        raise InteropError(f"no ONNX file at {str(path)!r}")
    size = path.stat().st_size
    if size > MAX_ONNX_BYTES:
        raise InteropError(
            f"{str(path)!r} has {size:,} bytes, more than the {MAX_ONNX_BYTES:,} lstmkit reads "
            "from an .onnx file; refused"
        )
    try:
        # Weights in external files are not followed: a model file must not make lstmkit
        # read other files of the user's disk.
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises several protobuf error types
        raise InteropError(
            f"{str(path)!r} is not a readable ONNX file: {first_line(exc)}"
        ) from None
    external = [t.name for t in proto.graph.initializer
                if t.data_location == onnx.TensorProto.EXTERNAL]  # fmt: skip
    if external:
        raise InteropError(
            f"{str(path)!r} keeps weight {external[0]!r} in an external file; lstmkit reads "
            "self-contained .onnx files (save with onnx.save_model(model, path, "
            "save_as_external_data=False))"
        )
    try:
        return _from_proto(proto)
    except InteropError as exc:
        raise InteropError(f"{str(path)!r}: {exc}") from None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise InteropError(
            f"{str(path)!r} is not an ONNX model lstmkit can read ({type(exc).__name__}: "
            f"{first_line(exc)})"
        ) from None


#: The most an .onnx file may have (protobuf itself stops at 2 GiB).
MAX_ONNX_BYTES = 1 << 30


def _from_proto(proto) -> Sequential:
    r = _Reader(proto)
    graph = proto.graph
    data_in = next((i.name for i in graph.input if i.name not in r.consts), None)
    if data_in is None or not graph.output:
        raise InteropError("the graph has no data input or no output")
    out_name = graph.output[0].name
    needed, stack = set(), [out_name]
    while stack:  # values the first output depends on
        v = stack.pop()
        if v in needed:
            continue
        needed.add(v)
        if v in r.producer:
            stack += [i for i in r.producer[v].input if i]
    data = {data_in}
    layers, params = [], []
    input_size, dtype = None, None
    for node in graph.node:
        on_path = any(i in data for i in node.input)
        if not on_path:
            if node.op_type not in SIDE_OPS and any(o in needed for o in node.output):
                raise InteropError(
                    f"unsupported ONNX operator {node.op_type} "
                    f"(node {node.name or node.output[0]!r})"
                )
            continue
        op = node.op_type
        if op == "Shape" or not any(o in needed for o in node.output):
            continue  # a shape read (zero states, masks), or feeding another graph output
        if op in RECURRENT:
            y, y_h = [*node.output, "", ""][:2]
            seq = y in needed
            if seq and y_h in needed and y_h:
                raise InteropError(f"{op} node {node.name!r}: both Y and Y_h feed the output")
            layer, p, D, dt = _recurrent(r, node, seq)
            layers.append(layer)
            params.append(p)
            input_size = input_size or D
            dtype = dtype or dt
        elif op in ("Gemm", "MatMul"):
            a = _attrs(node)
            if op == "Gemm":
                if a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0 or a.get("transA", 0):
                    raise InteropError(
                        f"Gemm node {node.name!r}: alpha, beta and transA are not supported"
                    )
                Wc = r.const(node.input[1], "Gemm weight")
                W = Wc if a.get("transB", 0) else Wc.T
                b = (
                    r.const(node.input[2], "Gemm bias")
                    if len(node.input) > 2 and node.input[2]
                    else np.zeros(W.shape[0], W.dtype)
                )
            else:
                W = r.const(node.input[1], "MatMul weight").T
                b = np.zeros(W.shape[0], W.dtype)
            layers.append(Dense(W.shape[0]))
            params.append({"W": W, "b": np.broadcast_to(b, (W.shape[0],)).copy()})
            input_size = input_size or W.shape[1]
            dtype = dtype or W.dtype
        elif op == "Add" and layers and isinstance(layers[-1], Dense) and not params[-1]["b"].any():
            other = [i for i in node.input if i not in data]
            params[-1]["b"] = params[-1]["b"] + r.const(other[0], "Add bias").reshape(-1)
        elif (
            op in ACTS
            and layers
            and isinstance(layers[-1], Dense)
            and layers[-1].activation is None
        ):
            if op == "Softmax" and _attrs(node).get("axis", -1) not in (-1, 2, 1):
                raise InteropError(
                    f"Softmax node {node.name!r}: only the feature axis is supported"
                )
            layers[-1].activation = ACTS[op]
        elif op in LAYOUT_OPS or (op == "Mul" and sum(i in data for i in node.input) == 1):
            pass
        else:
            raise InteropError(
                f"unsupported ONNX operator {op} on the data path "
                f"(node {node.name or node.output[0]!r})"
            )
        data.update(node.output)
    if not layers:
        raise InteropError("the graph holds no LSTM, GRU, RNN, Gemm or MatMul node")
    return assemble(layers, params, input_size, dtype)
