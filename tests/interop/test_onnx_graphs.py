"""ONNX graphs as exporters write them around a recurrent node: PyTorch's many-to-one
models, final states, sequence_lens; and every graph lstmkit cannot represent refused
with the node and the reason (never a silently different model)."""

import re

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

import lstmkit as lk  # noqa: E402
from lstmkit.interop import InteropError, from_onnx, to_onnx  # noqa: E402

pytestmark = [pytest.mark.one_backend, pytest.mark.filterwarnings("ignore")]
TOL = 1e-5
CELLS = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}


class Head(torch.nn.Module):
    """The usual PyTorch forecaster: a recurrent stack, then a Linear on one vector."""

    def __init__(self, kind, layers, read, bi=False):
        super().__init__()
        self.rnn = CELLS[kind](3, 5, num_layers=layers, batch_first=True, bidirectional=bi)
        width = 10 if read in ("y_last", "cat", "cat_reversed") and bi else 5
        self.fc, self.read, self.kind = torch.nn.Linear(width, 2), read, kind

    def forward(self, x):
        y, h = self.rnn(x)
        h = h[0] if self.kind == "lstm" else h
        if self.read == "y_last":
            return self.fc(y[:, -1])
        if self.read == "h_last":
            return self.fc(h[-1])
        if self.read == "cat":
            return self.fc(torch.cat([h[-2], h[-1]], dim=1))
        return self.fc(torch.cat([h[-1], h[-2]], dim=1))  # "cat_reversed"


def export(module, path):
    torch.manual_seed(0)
    torch.onnx.export(module.eval(), (torch.randn(2, 7, 3),), str(path), dynamo=False,
                      input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch", 1: "time"}})  # fmt: skip
    return path


def torch_out(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


X = np.random.default_rng(0).normal(size=(3, 6, 3)).astype(np.float32)


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("read", ["y_last", "h_last"])
def test_pytorch_many_to_one_exports_import_exactly(kind, layers, read, tmp_path):
    torch.manual_seed(layers)
    module = Head(kind, layers, read)
    model = from_onnx(export(module, tmp_path / "m.onnx"))
    assert not model.layers[layers - 1].return_sequences
    np.testing.assert_allclose(model.predict(X), torch_out(module, X), rtol=0, atol=TOL)


def test_both_directions_final_states_side_by_side_import_exactly(tmp_path):
    torch.manual_seed(3)
    module = Head("gru", 2, "cat", bi=True)
    model = from_onnx(export(module, tmp_path / "m.onnx"))
    np.testing.assert_allclose(model.predict(X), torch_out(module, X), rtol=0, atol=TOL)


@pytest.mark.parametrize(
    "read, why",
    [
        ("y_last", "reads the last time step of a bidirectional layer's sequence"),
        ("h_last", "reads one direction of a bidirectional layer"),
        ("cat_reversed", "reads the reverse direction before the forward one"),
    ],
)
def test_bidirectional_reads_lstmkit_cannot_represent_are_refused(read, why, tmp_path):
    with pytest.raises(InteropError, match=rf"Gemm node '/fc/Gemm' {why}"):
        from_onnx(export(Head("lstm", 1, read, bi=True), tmp_path / "m.onnx"))


# -- graphs built by hand ----------------------------------------------------------------
H, D = 3, 2


def lstm_graph(outputs=("Y",), seq_lens=None, head=None, w_input=False, extra_nodes=()):
    """x [T, B, D] -> LSTM -> the chosen outputs (time-major, as ONNX's tests are)."""
    rng = np.random.default_rng(1)
    W = rng.uniform(-0.5, 0.5, (1, 4 * H, D)).astype(np.float32)
    R = rng.uniform(-0.5, 0.5, (1, 4 * H, H)).astype(np.float32)
    B = rng.uniform(-0.5, 0.5, (1, 8 * H)).astype(np.float32)
    inits = [onnx.numpy_helper.from_array(B, "B"), onnx.numpy_helper.from_array(R, "R")]
    inputs = [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["T", "N", D])]
    if w_input:
        inputs.append(onnx.helper.make_tensor_value_info("W", onnx.TensorProto.FLOAT, W.shape))
    else:
        inits.append(onnx.numpy_helper.from_array(W, "W"))
    lens = ""
    if isinstance(seq_lens, np.ndarray):
        inits.append(onnx.numpy_helper.from_array(seq_lens, "lens"))
        lens = "lens"
    elif seq_lens == "input":
        inputs.append(onnx.helper.make_tensor_value_info("lens", onnx.TensorProto.INT32, ["N"]))
        lens = "lens"
    node = onnx.helper.make_node("LSTM", ["x", "W", "R", "B", lens], ["Y", "Y_h", "Y_c"],
                                 hidden_size=H, name="lstm0")  # fmt: skip
    nodes = [node, *extra_nodes]
    out = outputs[0] if head is None else head
    graph = onnx.helper.make_graph(
        nodes, "g", inputs, [onnx.helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, None)],
        initializer=inits)  # fmt: skip
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    proto.ir_version = 9
    return proto, (W, R, B)


def save(proto, tmp_path):
    path = tmp_path / "g.onnx"
    onnx.save(proto, str(path))
    return path


def test_sequence_lens_as_an_input_is_lengths_at_predict(tmp_path):
    proto, _ = lstm_graph(seq_lens="input")
    path = save(proto, tmp_path)
    x = np.random.default_rng(2).normal(size=(5, 3, D)).astype(np.float32)  # [T, B, D]
    lens = np.array([5, 2, 4], np.int32)
    (ref,) = ort.InferenceSession(str(path)).run(["Y"], {"x": x, "lens": lens})
    model = from_onnx(path)
    got = model.predict(x.transpose(1, 0, 2), lengths=lens)  # [B, T, H]
    np.testing.assert_allclose(got, ref[:, 0].transpose(1, 0, 2), rtol=0, atol=TOL)


def test_a_constant_sequence_lens_is_refused_not_ignored(tmp_path):
    proto, _ = lstm_graph(seq_lens=np.array([2, 5], np.int32))
    with pytest.raises(InteropError, match="LSTM node 'lstm0': sequence_lens is a constant"):
        from_onnx(save(proto, tmp_path))


def test_a_cell_state_output_is_refused_not_read_as_h(tmp_path):
    proto, _ = lstm_graph(outputs=("Y_c",))
    with pytest.raises(InteropError, match="graph output 'Y_c' reads an LSTM's cell state Y_c"):
        from_onnx(save(proto, tmp_path))


def test_final_state_output_is_a_many_to_one_layer(tmp_path):
    proto, _ = lstm_graph(outputs=("Y_h",))
    path = save(proto, tmp_path)
    x = np.random.default_rng(3).normal(size=(4, 2, D)).astype(np.float32)
    (ref,) = ort.InferenceSession(str(path)).run(["Y_h"], {"x": x})
    model = from_onnx(path)
    assert not model.layers[0].return_sequences
    np.testing.assert_allclose(model.predict(x.transpose(1, 0, 2)), ref[0], rtol=0, atol=TOL)


def test_a_weight_fed_at_run_time_is_called_a_graph_input(tmp_path):
    proto, _ = lstm_graph(w_input=True)
    with pytest.raises(InteropError, match=r"'W'.* is a graph input, fed at run time"):
        from_onnx(save(proto, tmp_path))


def test_a_constant_factor_on_the_data_path_is_refused(tmp_path):
    two = onnx.helper.make_node("Constant", [], ["two"], value=onnx.numpy_helper.from_array(
        np.float32(2.0)))  # fmt: skip
    mul = onnx.helper.make_node("Mul", ["Y", "two"], ["Y2"], name="scale")
    proto, _ = lstm_graph(head="Y2", extra_nodes=(two, mul))
    with pytest.raises(InteropError, match="Mul node 'scale' multiplies the data"):
        from_onnx(save(proto, tmp_path))


def step_selection(index):
    idx = onnx.helper.make_node("Constant", [], ["i"], value=onnx.numpy_helper.from_array(
        np.int64(index)))  # fmt: skip
    gather = onnx.helper.make_node("Gather", ["Y", "i"], ["Ys"], axis=0, name="pick")
    return idx, gather


def test_selecting_a_step_other_than_the_last_is_refused_by_name(tmp_path):
    proto, _ = lstm_graph(head="Ys", extra_nodes=step_selection(0))
    with pytest.raises(InteropError, match="Gather node 'pick': selects step 0"):
        from_onnx(save(proto, tmp_path))


def test_selecting_the_last_step_is_a_many_to_one_layer(tmp_path):
    proto, _ = lstm_graph(head="Ys", extra_nodes=step_selection(-1))
    path = save(proto, tmp_path)
    x = np.random.default_rng(4).normal(size=(4, 2, D)).astype(np.float32)
    (ref,) = ort.InferenceSession(str(path)).run(["Ys"], {"x": x})  # [1, B, H]
    np.testing.assert_allclose(from_onnx(path).predict(x.transpose(1, 0, 2)), ref[0],
                               rtol=0, atol=TOL)  # fmt: skip


def test_our_own_files_with_lengths_still_import(tmp_path):
    model = lk.Sequential([lk.GRU(3, return_sequences=True), lk.Dense(2)], input_size=2)
    back = from_onnx(to_onnx(model, tmp_path / "m.onnx", lengths=True))
    x = np.random.default_rng(5).normal(size=(2, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(back.predict(x, lengths=[4, 2]),
                                  model.predict(x, lengths=[4, 2]))  # fmt: skip


# -- torch's default (dynamo) exporter ------------------------------------------------------
def export_dynamo(module, path):
    pytest.importorskip("onnxscript")
    torch.manual_seed(0)
    dims = {0: torch.export.Dim("batch"), 1: torch.export.Dim("time")}
    torch.onnx.export(module.eval(), (torch.randn(2, 7, 3),), str(path), dynamo=True,
                      input_names=["x"], output_names=["y"], dynamic_shapes={"x": dims},
                      verbose=False)  # fmt: skip
    return path


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("read", ["y_last", "h_last"])
def test_dynamo_exports_with_external_weights_import_exactly(kind, read, tmp_path):
    torch.manual_seed(5)
    module = Head(kind, 1, read)
    path = export_dynamo(module, tmp_path / "m.onnx")
    external = [t for t in onnx.load(str(path), load_external_data=False).graph.initializer
                if t.data_location == onnx.TensorProto.EXTERNAL]  # fmt: skip
    assert external, "the dynamo exporter kept its weights in the file this time"
    model = from_onnx(path)
    np.testing.assert_allclose(model.predict(X), torch_out(module, X), rtol=0, atol=TOL)


def test_external_weights_are_read_only_from_beside_the_model(tmp_path):
    path = export_dynamo(Head("lstm", 1, "y_last"), tmp_path / "m.onnx")
    (tmp_path / "m.onnx.data").rename(tmp_path / "elsewhere.data")
    with pytest.raises(InteropError, match="which is not beside the model"):
        from_onnx(path)
    proto = onnx.load(str(path), load_external_data=False)
    for t in proto.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = "../elsewhere.data"
    onnx.save(proto, str(path))
    with pytest.raises(InteropError, match="only from a file beside the model"):
        from_onnx(path)


def test_an_unrolled_rnn_is_refused_with_the_exporter_to_use(tmp_path):
    path = export_dynamo(Head("rnn", 1, "y_last"), tmp_path / "m.onnx")
    with pytest.raises(InteropError, match=r"export with torch.onnx.export\(..., dynamo=False\)"):
        from_onnx(path)


# -- every refusal names where and why -------------------------------------------------------
def _refusal_graphs():
    """Graphs lstmkit cannot represent, one per kind of refusal, built by hand."""
    idx0, gather0 = step_selection(0)
    two = onnx.helper.make_node("Constant", [], ["two"], value=onnx.numpy_helper.from_array(
        np.float32(2.0)))  # fmt: skip
    erf = onnx.helper.make_node("Erf", ["Y"], ["E"], name="erf0")
    return {
        "constant sequence_lens": lstm_graph(seq_lens=np.array([2, 5], np.int32))[0],
        "cell state output": lstm_graph(outputs=("Y_c",))[0],
        "weight as graph input": lstm_graph(w_input=True)[0],
        "constant factor": lstm_graph(
            head="Y2",
            extra_nodes=(two, onnx.helper.make_node("Mul", ["Y", "two"], ["Y2"], name="scale")),
        )[0],
        "step other than the last": lstm_graph(head="Ys", extra_nodes=(idx0, gather0))[0],
        "unsupported operator": lstm_graph(head="E", extra_nodes=(erf,))[0],
    }


REFUSALS = _refusal_graphs()


@pytest.mark.parametrize("what", sorted(REFUSALS))
def test_every_refusal_names_the_node_or_output_and_the_reason(what, tmp_path):
    with pytest.raises(InteropError) as info:
        from_onnx(save(REFUSALS[what], tmp_path))
    message = str(info.value)
    place = re.search(r"(node|graph output) '[^']+'", message)
    assert place, f"no node or output named: {message}"
    why = message.split("': ", 1)[-1].replace(place.group(0), "")  # without file and place
    assert len(why.split()) >= 4, f"no reason beside the place: {message}"
