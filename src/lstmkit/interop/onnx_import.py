"""ONNX → lstmkit: graphs made of LSTM/GRU/RNN nodes and Gemm/MatMul heads (needs ``onnx``).

Reads the files :func:`~lstmkit.interop.to_onnx` writes and the ones
``torch.onnx.export`` produces for ``nn.LSTM``/``nn.GRU``/``nn.RNN`` and the usual models
around them. The data path from the first graph input to the first graph output may hold
only:

- recurrent nodes (``sequence_lens`` only as a graph input: lstmkit takes lengths at
  ``predict``);
- Dense heads: ``Gemm``, or ``MatMul`` with an optional ``Add``, then an optional
  ``Relu``/``Tanh``/``Sigmoid``/``Softmax``;
- layout ops (``Transpose``, ``Reshape``, ``Squeeze``, ``Unsqueeze``, ``Identity``,
  ``Flatten``, ``Dropout``) and, after a recurrent node, ``Gather``/``Slice``/``Concat``.
  Every value downstream of a recurrent node is followed axis by axis (time, batch,
  directions, features): selecting the last time step of a unidirectional layer, or its
  final state ``Y_h`` (also ``h_n[-1]`` of a stack, and both directions' final states side
  by side), makes that layer many-to-one; reading every step keeps it many-to-many;
- a padding mask (``Mul`` by a value computed from a lengths input).

Side computations (shapes, zero initial states, masks) may use shape and constant ops.
Anything else stops with an :class:`InteropError` naming the node and the reason: an
attribute lstmkit cannot honour (``clip``, ``input_forget``, other activations), initial
states that are not zeros, a constant ``sequence_lens``, the cell state ``Y_c``, a step
other than the last, one direction of a bidirectional layer, any other factor on the data.
Nothing is silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
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
            where = ("a graph input, fed at run time" if name in self.inputs
                     else "computed in the graph")  # fmt: skip
            raise InteropError(
                f"{what} ({name!r}) is {where}, not stored in the file; only weights stored "
                "as initializers or constants can be imported"
            )
        return np.asarray(self.consts[name])

    def depends_on_input(self, name: str, inputs: set[str], seen=None) -> bool:
        """Whether ``name`` is computed from one of the graph inputs ``inputs``."""
        seen = set() if seen is None else seen
        if name in inputs:
            return True
        if name in seen or name not in self.producer:
            return False
        seen.add(name)
        return any(self.depends_on_input(i, inputs, seen) for i in self.producer[name].input if i)

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
    if direction not in ("forward", "reverse", "bidirectional"):
        raise InteropError(f"{op} node {name!r}: direction {direction!r} is not an ONNX "
                           "direction (forward, reverse, bidirectional)")  # fmt: skip
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
    if ins[4]:
        if ins[4] in r.consts:
            raise InteropError(
                f"{op} node {name!r}: sequence_lens is a constant ({ins[4]!r}) in the file; "
                "lstmkit takes lengths when it runs (model.predict(x, lengths=...)), so a "
                "file that fixes them cannot be imported; make them a graph input"
            )
        if ins[4] not in r.inputs:
            raise InteropError(
                f"{op} node {name!r}: sequence_lens ({ins[4]!r}) is computed in the graph; "
                "lstmkit reads it only as a graph input (passed as lengths= at predict)"
            )
    states = (5, 6) if op == "LSTM" else (5,)
    for k in states:
        if ins[k] and not r.is_zero(ins[k]):
            raise InteropError(
                f"{op} node {name!r}: its initial state {ins[k]!r} is not zero; lstmkit models "
                "start from zero states"
            )
    common = {"return_sequences": sequences, "bidirectional": dirs == 2,
              "go_backwards": direction == "reverse"}  # fmt: skip
    params = {}
    sfx = ("_reverse",) if direction == "reverse" else ("", "_reverse")
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
    _load_external(onnx, proto, path)
    try:
        return _from_proto(proto)
    except InteropError as exc:
        raise InteropError(f"{str(path)!r}: {exc}") from None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise InteropError(
            f"{str(path)!r} is not an ONNX model lstmkit can read ({type(exc).__name__}: "
            f"{first_line(exc)})"
        ) from None


#: The most an .onnx file may have (protobuf itself stops at 2 GiB), and the most its
#: external weights may add.
MAX_ONNX_BYTES = 1 << 30


def _load_external(onnx, proto, path: Path) -> None:
    """Read weights kept in external files (torch's dynamo exporter writes
    ``<model>.onnx.data``), only from a plain file name in the model's own folder: a model
    file must not make lstmkit read other files of the user's disk."""
    total = 0
    for t in proto.graph.initializer:
        if t.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in t.external_data}
        location = info.get("location", "")
        if not location or Path(location).name != location or location in (".", ".."):
            raise InteropError(
                f"{str(path)!r}: weight {t.name!r} points to {location!r}; lstmkit reads external "
                "weights only from a file beside the model (a plain file name)"
            )
        data = path.parent / location
        if not data.is_file():
            raise InteropError(
                f"{str(path)!r}: weight {t.name!r} is kept in {location!r}, which is not beside "
                "the model; copy it next to the .onnx file"
            )
        offset, length = int(info.get("offset", 0)), info.get("length")
        size = data.stat().st_size
        length = size - offset if length is None else int(length)
        total += length
        if offset < 0 or length < 0 or offset + length > size or total > MAX_ONNX_BYTES:
            raise InteropError(
                f"{str(path)!r}: weight {t.name!r} claims bytes {offset:,} to "
                f"{offset + length:,} of {location!r} ({size:,} bytes; at most "
                f"{MAX_ONNX_BYTES:,} in all); the files are damaged"
            )
        with open(data, "rb") as f:
            f.seek(offset)
            t.raw_data = f.read(length)
        del t.external_data[:]
        t.data_location = onnx.TensorProto.DEFAULT


@dataclass
class _Desc:
    """What a value downstream of a recurrent node holds. ``axes``: labels ``T`` (time),
    ``B``, ``H`` (features), ``D`` (directions, or layers × directions after a Concat of
    final states), ``DH`` (directions merged into the features), ``1`` (a unit axis),
    ``T1`` (one step kept by a Slice). ``entries``: the ``(layer, part, direction)`` the
    ``D``/``DH`` axis holds, ``part`` being ``y`` (every step), ``h`` or ``c`` (final
    states); ``last``: a single step of ``y`` was selected."""

    axes: list
    entries: list
    last: bool = False

    def node_error(self, node, why: str) -> InteropError:
        return InteropError(f"{node.op_type} node {node.name or node.output[0]!r}: {why}")


def _ints(r: _Reader, node, k: int, attr: str) -> list[int] | None:
    """An int list given as input ``k`` (newer opsets) or as attribute ``attr``."""
    if len(node.input) > k and node.input[k]:
        return [int(v) for v in np.ravel(r.const(node.input[k], f"{node.op_type} {attr}"))]
    value = _attrs(node).get(attr)
    return None if value is None else [int(v) for v in np.ravel(value)]


def _track(r: _Reader, node, d: _Desc) -> _Desc:
    """The description of a layout op's output (see :class:`_Desc`), or an error naming
    the node and why lstmkit cannot represent it."""
    op, axes = node.op_type, list(d.axes)
    rank = len(axes)
    if op in ("Identity", "Dropout"):
        return d
    if op == "Transpose":
        perm = _attrs(node).get("perm", list(range(rank))[::-1])
        return _Desc([axes[p] for p in perm], d.entries, d.last)
    if op == "Unsqueeze":
        for ax in sorted(a % (rank + 1 + k) for k, a in enumerate(_ints(r, node, 1, "axes"))):
            axes.insert(ax, "1")
        return _Desc(axes, d.entries, d.last)
    if op == "Squeeze":
        drop = _ints(r, node, 1, "axes")
        if drop is None:  # every unit axis
            drop = [k for k, a in enumerate(axes)
                    if a in ("1", "T1") or (a == "D" and len(d.entries) == 1)]  # fmt: skip
        drop = sorted({a % rank for a in drop})
        last = d.last
        for k in drop:
            if axes[k] == "T1":
                last = True
            elif axes[k] == "D" and len(d.entries) != 1:
                raise d.node_error(node, "squeezes a directions axis of size 2")
            elif axes[k] not in ("1", "D"):
                raise d.node_error(node, f"squeezes the {axes[k]} axis")
        return _Desc([a for k, a in enumerate(axes) if k not in drop], d.entries, last)
    if op == "Reshape":
        groups = _reshape_groups(r, node, rank)
        if groups is None:
            raise d.node_error(node, "reshapes to a shape lstmkit cannot follow")
        out = []
        for g in groups:
            labels = [axes[k] for k in g]
            real = [a for a in labels if a not in ("1", "T1")]
            if len(real) <= 1:
                out.append(real[0] if real else "1")
            elif real in (["D", "H"], ["DH"]):
                out.append("DH")
            else:
                raise d.node_error(node, f"reshapes {axes}, merging {labels}; only the "
                                         "directions may merge into the features")  # fmt: skip
        return _Desc(out, d.entries, d.last or any(axes[k] == "T1" for g in groups for k in g))
    if op == "Flatten":
        axis = _attrs(node).get("axis", 1) % rank
        if axes[:axis] == ["B"] and [a for a in axes[axis:] if a not in ("1", "T1")] in (
            ["H"], ["D", "H"], ["DH"]):  # fmt: skip
            return _Desc(["B", "DH"], d.entries, d.last or "T1" in axes)
        raise d.node_error(node, f"flattens {axes} at axis {axis}")
    if op in ("Gather", "Slice"):
        axis = (_attrs(node).get("axis", 0) if op == "Gather" else
                (_ints(r, node, 3, "axes") or [0])[0]) % rank  # fmt: skip
        label = axes[axis]
        if op == "Gather":
            idx = np.asarray(r.const(node.input[1], "Gather index"))
            if idx.ndim != 0:
                raise d.node_error(node, "gathers several indices")
            first = int(idx)
        else:
            starts, ends = _ints(r, node, 1, "starts"), _ints(r, node, 2, "ends")
            steps = _ints(r, node, 4, "steps") or [1]
            first = starts[0]
            to_end = ends[0] >= 2**31 - 1 or (label == "D" and ends[0] >= len(d.entries))
            single = ends[0] - starts[0] == 1 or (starts[0] == -1 and to_end)
            if len(starts) != 1 or steps[0] != 1 or not single:
                raise d.node_error(node, f"slices {starts}:{ends} of the {label} axis")
        if label == "T":
            if first != -1:
                raise d.node_error(node, f"selects step {first}; lstmkit layers return every "
                                         "step or the last one")  # fmt: skip
            if op == "Slice":
                return _Desc([*axes[:axis], "T1", *axes[axis + 1 :]], d.entries, d.last)
            return _Desc(axes[:axis] + axes[axis + 1 :], d.entries, True)
        if label == "D":
            entry = d.entries[first]
            if op == "Slice":
                return _Desc(axes, [entry], d.last)
            return _Desc(axes[:axis] + axes[axis + 1 :], [entry], d.last)
        raise d.node_error(node, f"selects from the {label} axis")
    raise d.node_error(node, "is not a layout op lstmkit can follow")


def _reshape_groups(r: _Reader, node, rank: int) -> list[tuple[int, ...]] | None:
    """The source axes each output axis of a Reshape holds, in order (``[(0,), (1,),
    (2, 3)]``: keep two, merge the last two), for a constant target (``0`` copies an axis,
    one ``-1`` takes the rest) or one computed from the ``Shape`` of the same tensor, as
    torch's dynamo exporter writes it; None for anything else."""
    target = node.input[1]
    if target in r.consts:
        shape = [int(v) for v in np.ravel(r.consts[target])]
        groups, k = [], 0
        for j, v in enumerate(shape):
            if v == 0:
                groups.append((k,))
                k += 1
            elif v == -1 and j == len(shape) - 1:
                groups.append(tuple(range(k, rank)))
                k = rank
            else:
                return None
        return groups if k == rank else None
    expr = _shape_expr(r, target, node.input[0])
    if expr is None or [a for g in expr for a in g] != list(range(rank)):
        return None
    return expr


def _shape_expr(r: _Reader, name: str, of: str, depth: int = 0):
    """``name`` as a list of products of ``of``'s dimensions (tuples of its axes), or
    None when it is anything else. Follows Shape, Slice, Mul, Concat, Reshape, Squeeze
    and Unsqueeze, the ops exporters compute shapes with."""
    node = r.producer.get(name)
    if node is None or depth > 32:
        return None
    op, ins = node.op_type, list(node.input)
    if op == "Shape":
        if ins[0] != of or _attrs(node).get("start") or _attrs(node).get("end"):
            return None
        return [(k,) for k in range(_rank_of(r, of))] if _rank_of(r, of) else None
    if op in ("Reshape", "Squeeze", "Unsqueeze", "Identity", "Cast"):
        return _shape_expr(r, ins[0], of, depth + 1)
    if op == "Slice":
        src = _shape_expr(r, ins[0], of, depth + 1)
        if src is None:
            return None
        start, end = (int(np.ravel(r.const(ins[k], "Slice bound"))[0]) for k in (1, 2))
        return src[start:end]
    if op == "Mul":
        a, b = (_shape_expr(r, i, of, depth + 1) for i in ins[:2])
        if a is None or b is None or len(a) != 1 or len(b) != 1:
            return None
        return [tuple(sorted(a[0] + b[0]))]
    if op == "Concat":
        parts = [_shape_expr(r, i, of, depth + 1) for i in ins]
        return None if any(p is None for p in parts) else [g for p in parts for g in p]
    return None


def _rank_of(r: _Reader, name: str) -> int | None:
    """The rank of a value, when its producer says (a recurrent output, a Transpose of
    one)."""
    node = r.producer.get(name)
    if node is None:
        return None
    if node.op_type in RECURRENT:
        return 4 if name == node.output[0] else 3
    if node.op_type == "Transpose":
        perm = _attrs(node).get("perm")
        return len(perm) if perm else _rank_of(r, node.input[0])
    if node.op_type in ("Identity", "Dropout"):
        return _rank_of(r, node.input[0])
    return None


def _consume(d: _Desc, node, layers: list, uses: dict) -> None:
    """Record what a layer, head or graph output reads from a recurrent layer: every
    step (``whole``) or its last step (``last``), or refuse what has no lstmkit form."""
    name = node.name or (node.output[0] if node.output else "output")
    where = f"{node.op_type} node {name!r}" if node.op_type else f"graph output {name!r}"
    if "D" in d.axes and len(d.entries) > 1 and node.op_type:
        # A graph output may keep ONNX's [.., D, B, H] (lstmkit's output puts the directions
        # side by side, as the input's layout is lstmkit's too); a head may not.
        raise InteropError(f"{where} reads a directions axis that was not merged")
    layer_ids = {e[0] for e in d.entries}
    parts = {e[1] for e in d.entries}
    if len(layer_ids) != 1:
        raise InteropError(f"{where} reads final states of several layers at once")
    (k,) = layer_ids
    if "c" in parts:
        raise InteropError(f"{where} reads an LSTM's cell state Y_c; lstmkit layers output h")
    dirs = len(layers[k].directions)
    order = [e[2] for e in d.entries]
    if sorted(order) != list(range(dirs)):
        raise InteropError(f"{where} reads one direction of a bidirectional layer; lstmkit "
                           "layers output both")  # fmt: skip
    if order != list(range(dirs)):
        raise InteropError(f"{where} reads the reverse direction before the forward one; "
                           "lstmkit layers output forward, then reverse")  # fmt: skip
    if d.last and "reverse" in layers[k].directions:
        what = "a bidirectional" if dirs == 2 else "a reverse"
        raise InteropError(
            f"{where} reads the last time step of {what} layer's sequence, "
            "where the reverse direction has seen one step; lstmkit's "
            "many-to-one layer gives each direction's final state"
        )
    if parts == {"h"} or d.last:
        kind = "last"
    elif "T" in d.axes:
        kind = "whole"
    else:
        raise InteropError(f"{where} reads a recurrent output in a layout lstmkit cannot follow")
    uses.setdefault(k, set()).add(kind)


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
    other_inputs = r.inputs - {data_in}
    data = {data_in}
    desc: dict[str, _Desc] = {}
    uses: dict[int, set] = {}
    layers, params = [], []
    input_size, dtype = None, None

    def read(v, node):
        """A layer or head reads ``v``: record what it takes from a recurrent layer."""
        if v in desc:
            _consume(desc[v], node, layers, uses)

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
            read(node.input[0], node)
            layer, p, D, dt = _recurrent(r, node, True)
            k = len(layers)
            layers.append(layer)
            params.append(p)
            input_size = input_size or D
            dtype = dtype or dt
            dirs = len(layer.directions)
            batch_first = _attrs(node).get("layout", 0) == 1
            y_axes = ["B", "T", "D", "H"] if batch_first else ["T", "D", "B", "H"]
            h_axes = ["B", "D", "H"] if batch_first else ["D", "B", "H"]
            outs = [*node.output, "", ""][:3]
            for v, part, axes in zip(outs, "yhc", (y_axes, h_axes, h_axes), strict=True):
                if v:
                    desc[v] = _Desc(axes, [(k, part, j) for j in range(dirs)])
        elif op == "Concat" and all(i in desc for i in node.input):
            ds = [desc[i] for i in node.input]
            axis = _attrs(node).get("axis", 0) % len(ds[0].axes)
            if all(d.axes == ds[0].axes for d in ds) and ds[0].axes[axis] in ("H", "DH"):
                # final states of both directions side by side: torch.cat([h[-2], h[-1]], 1)
                merged = [*ds[0].axes[:axis], "DH", *ds[0].axes[axis + 1 :]]
                desc[node.output[0]] = _Desc(merged, [e for d in ds for e in d.entries],
                                             any(d.last for d in ds))  # fmt: skip
                data.update(node.output)
                continue
            if any(d.axes != ds[0].axes for d in ds) or ds[0].axes[axis] != "D":
                raise ds[0].node_error(node, "concatenates recurrent outputs along an axis "
                                             "other than the final states' first")  # fmt: skip
            desc[node.output[0]] = _Desc(ds[0].axes, [e for d in ds for e in d.entries])
        elif op in ("Gemm", "MatMul"):
            read(node.input[0], node)
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
        elif op == "Mul" and sum(i in data for i in node.input) == 1:
            # Only a padding mask computed from the lengths input may multiply the data:
            # lstmkit applies lengths itself; any other factor would be silently lost.
            other = next(i for i in node.input if i not in data)
            if not r.depends_on_input(other, other_inputs):
                raise InteropError(
                    f"Mul node {node.name or node.output[0]!r} multiplies the data by a value "
                    "that is not a padding mask computed from a lengths input; lstmkit has no "
                    "such layer"
                )
            if node.input[0] in desc or node.input[1] in desc:
                src = node.input[0] if node.input[0] in desc else node.input[1]
                desc[node.output[0]] = desc[src]
        elif op in LAYOUT_OPS or op in ("Gather", "Slice"):
            src = node.input[0]
            if src in desc:
                desc[node.output[0]] = _track(r, node, desc[src])
            elif op in ("Gather", "Slice"):
                unrolled = not any(n.op_type in RECURRENT for n in graph.node)
                hint = ("; the graph has no LSTM, GRU or RNN node: a recurrent layer unrolled "
                        "into per-step ops (torch's dynamo exporter does this to nn.RNN) has no "
                        "lstmkit form; export with torch.onnx.export(..., dynamo=False), which "
                        "writes an RNN node") if unrolled else ""  # fmt: skip
                raise InteropError(
                    f"unsupported ONNX operator {op} on the data path before any recurrent "
                    f"layer (node {node.name or node.output[0]!r}){hint}"
                )
        else:
            raise InteropError(
                f"unsupported ONNX operator {op} on the data path "
                f"(node {node.name or node.output[0]!r})"
            )
        data.update(node.output)
    if not layers:
        raise InteropError("the graph holds no LSTM, GRU, RNN, Gemm or MatMul node")
    if out_name in desc:
        _consume(desc[out_name], _GraphOutput(out_name), layers, uses)
    for k, layer in enumerate(layers):
        if isinstance(layer, Dense):
            continue
        got = uses.get(k, set())
        if got == {"whole", "last"}:
            raise InteropError(f"{layer.name}: the graph reads both every step and the last "
                               "step of this recurrent layer")  # fmt: skip
        if not got:
            raise InteropError(f"{layer.name}: nothing the output depends on reads this "
                               "recurrent layer's output")  # fmt: skip
        layer.return_sequences = got == {"whole"}
        if got == {"last"} and any(not isinstance(la, Dense) for la in layers[k + 1 :]):
            raise InteropError(f"{layer.name}: a later recurrent layer reads only its last step")
    return assemble(layers, params, input_size, dtype)


class _GraphOutput:
    """Stands in for a node when the graph's output itself reads a recurrent layer."""

    op_type = ""

    def __init__(self, name: str) -> None:
        self.name, self.output = name, [name]
