"""ONNX's own conformance cases for LSTM, GRU and RNN (the node tests onnx ships, built
from ``onnx.backend.test.case.node``'s generators, with W, R, B, P and the initial states
as initializers), and random seq-first and batch-first graphs with T > 1, peepholes,
reverse and bidirectional nodes against onnxruntime."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from lstmkit.interop import from_onnx  # noqa: E402

pytestmark = pytest.mark.one_backend
TOL = 1e-5


def conformance_cases():
    """``(name, node, inputs, outputs)`` of every LSTM, GRU and RNN node test, captured
    from onnx's generators instead of written to disk."""
    from onnx.backend.test.case.node import gru, lstm, rnn

    cases = []
    for mod in (lstm, gru, rnn):
        saved = mod.expect
        mod.expect = lambda node, inputs, outputs, name, **_: cases.append(
            (name, node, inputs, outputs))  # fmt: skip
        try:
            for cls in [v for v in vars(mod).values() if isinstance(v, type)]:
                for key in [k for k in vars(cls) if k.startswith("export")]:
                    getattr(cls, key)()
        finally:
            mod.expect = saved
    return cases


CASES = conformance_cases()


def graph_of(node, inputs, outputs, tmp_path):
    """The node in a graph: X (and sequence_lens) as inputs, the rest as initializers."""
    feeds, inits, graph_inputs = {}, [], []
    for name, value in zip(node.input, inputs, strict=False):
        if not name:
            continue
        if name in ("X", "sequence_lens"):
            feeds[name] = value
            graph_inputs.append(onnx.helper.make_tensor_value_info(
                name, onnx.helper.np_dtype_to_tensor_dtype(value.dtype), value.shape))  # fmt: skip
        else:
            inits.append(onnx.numpy_helper.from_array(value, name))
    names = [o for o in node.output if o]
    outs = [onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None) for n in names]
    graph = onnx.helper.make_graph([node], "conformance", graph_inputs, outs, initializer=inits)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 14)])
    proto.ir_version = 8
    path = tmp_path / "case.onnx"
    onnx.save(proto, str(path))
    return path, feeds, dict(zip(names, outputs, strict=True))


def as_lstmkit(name, value, batch_first):
    """An ONNX output in lstmkit's batch-first layout, directions side by side."""
    if name == "Y":
        y = value if batch_first else value.transpose(2, 0, 1, 3)  # [B, T, D, H]
        return y.reshape(y.shape[0], y.shape[1], -1)
    h = value if batch_first else value.transpose(1, 0, 2)  # [B, D, H]
    return h.reshape(h.shape[0], -1)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_onnx_conformance_cases(case, tmp_path):
    _name, node, inputs, outputs = case
    path, feeds, expected = graph_of(node, inputs, outputs, tmp_path)
    batch_first = any(a.name == "layout" and a.i == 1 for a in node.attribute)
    model = from_onnx(path)
    x = feeds["X"] if batch_first else feeds["X"].transpose(1, 0, 2)
    lengths = feeds.get("sequence_lens")
    got = model.predict(x, lengths=lengths)
    first = next(iter(expected))
    np.testing.assert_allclose(got, as_lstmkit(first, expected[first], batch_first),
                               rtol=0, atol=TOL)  # fmt: skip


def test_every_op_and_direction_is_covered():
    seen = {(c[1].op_type, next((a.s.decode() for a in c[1].attribute if a.name == "direction"),
                                "forward")) for c in CASES}  # fmt: skip
    assert seen == {(op, d) for op in ("LSTM", "GRU", "RNN")
                    for d in ("forward", "reverse", "bidirectional")}  # fmt: skip


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("layout", [0, 1])
def test_random_graphs_with_several_steps_against_onnxruntime(op, direction, layout, tmp_path):
    rng = np.random.default_rng(hash((op, direction, layout)) % 2**32)
    H, D, T, B = 3, 2, 5, 4
    dirs = 2 if direction == "bidirectional" else 1
    G = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
    values = {"W": rng.uniform(-0.7, 0.7, (dirs, G * H, D)),
              "R": rng.uniform(-0.7, 0.7, (dirs, G * H, H)),
              "B": rng.uniform(-0.5, 0.5, (dirs, 2 * G * H))}  # fmt: skip
    names = ["X", "W", "R", "B"]
    if op == "LSTM":
        values["P"] = rng.uniform(-0.5, 0.5, (dirs, 3 * H))
        names += ["", "", "", "P"]
    attrs = {"hidden_size": H, "direction": direction, "layout": layout}
    if op == "GRU":
        attrs["linear_before_reset"] = int(rng.integers(2))
    x = rng.normal(size=(T, B, D)).astype(np.float32)
    weights = [values[n].astype(np.float32) if n else None for n in names[1:]]

    def build(lay, folder):
        folder.mkdir()
        node = onnx.helper.make_node(op, names, ["Y", "Y_h"], **{**attrs, "layout": lay})
        xin = x.transpose(1, 0, 2) if lay else x
        inputs = [xin] + [w for w in weights if w is not None or op == "LSTM"]
        return graph_of(node, inputs, [np.zeros(1), np.zeros(1)], folder)[0]

    # onnxruntime runs only layout 0 (batchwise nodes are refused): it is the reference for
    # the same weights in either layout lstmkit reads.
    ref_y, _ = ort.InferenceSession(str(build(0, tmp_path / "seq"))).run(["Y", "Y_h"], {"X": x})
    model = from_onnx(build(layout, tmp_path / "lay"))
    got = model.predict(x.transpose(1, 0, 2))
    np.testing.assert_allclose(got, as_lstmkit("Y", ref_y, False), rtol=0, atol=TOL)
