"""ONNX export against onnxruntime, import of our files and of torch.onnx.export's."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

import lstmkit as lk  # noqa: E402
from lstmkit.interop import InteropError, from_onnx, to_onnx  # noqa: E402

TOL = 1e-5


def randomize(model, rng):
    for layer in model.layers:
        for v in layer.params.values():
            v[...] = rng.uniform(-0.6, 0.6, v.shape)


def random_model(seed):
    rng = np.random.default_rng(seed)
    layers = []
    n = int(rng.integers(1, 4))
    last_seq = bool(rng.integers(2))
    for k in range(n):
        H, bi = int(rng.integers(1, 7)), bool(rng.integers(2))
        seq = k < n - 1 or last_seq
        kind = ["lstm", "peephole", "gru", "gru_before", "rnn_tanh", "rnn_relu"][
            int(rng.integers(6))
        ]
        if kind in ("lstm", "peephole"):
            layers.append(
                lk.LSTM(H, peephole=kind == "peephole", bidirectional=bi, return_sequences=seq)
            )
        elif kind.startswith("gru"):
            layers.append(
                lk.GRU(H, reset_after=kind == "gru", bidirectional=bi, return_sequences=seq)
            )
        else:
            layers.append(lk.RNN(H, activation=kind[4:], bidirectional=bi, return_sequences=seq))
    for _ in range(int(rng.integers(0, 3))):
        act = [None, "relu", "tanh", "sigmoid", "softmax"][int(rng.integers(5))]
        layers.append(lk.Dense(int(rng.integers(1, 5)), activation=act))
    model = lk.Sequential(layers, input_size=int(rng.integers(1, 5)))
    randomize(model, rng)
    B, T = int(rng.integers(1, 5)), int(rng.integers(1, 8))
    x = rng.normal(size=(B, T, model.input_size)).astype(np.float32)
    lengths = rng.integers(1, T + 1, size=B).astype(np.int32) if seed % 2 else None
    return model, x, lengths


@pytest.mark.parametrize("seed", range(30))
def test_export_runs_in_onnxruntime_and_imports_back_exactly(seed, tmp_path):
    model, x, lengths = random_model(seed)
    path = to_onnx(model, tmp_path / "m.onnx", lengths=lengths is not None)
    onnx.checker.check_model(onnx.load(str(path)))
    feeds = {"x": x} if lengths is None else {"x": x, "lengths": lengths}
    got = ort.InferenceSession(str(path)).run(None, feeds)[0]
    np.testing.assert_allclose(got, model.predict(x, lengths), rtol=0, atol=TOL)
    back = from_onnx(path)
    assert back.get_config()["layers"] == [
        {**la, "config": {**la["config"], "name": b["config"]["name"]}}
        for la, b in zip(model.get_config()["layers"], back.get_config()["layers"], strict=True)
        if la["class"] != "Dropout"
    ]
    for a, b in zip(model.parameter_list()[0], back.parameter_list()[0], strict=True):
        assert np.array_equal(a, b)


def export_torch(module, path, batch_first):
    x = torch.randn(2, 5, module.input_size)
    xin = x if batch_first else x.transpose(0, 1)
    names = ["y", "h", "c"] if isinstance(module, torch.nn.LSTM) else ["y", "h"]
    axes = {"x": {0: "a", 1: "b"}}
    torch.onnx.export(
        module,
        (xin,),
        str(path),
        dynamo=False,
        input_names=["x"],
        output_names=names,
        dynamic_axes=axes,
    )


@pytest.mark.filterwarnings("ignore")  # torch's TorchScript exporter warns about itself
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("layers_bi_bf", [(1, False, True), (2, True, True), (2, False, False)])
def test_import_of_torch_onnx_export(kind, layers_bi_bf, tmp_path):
    num_layers, bi, bf = layers_bi_bf
    torch.manual_seed(num_layers + bi)
    common = {"num_layers": num_layers, "bidirectional": bi, "batch_first": bf}
    if kind == "lstm":
        module = torch.nn.LSTM(3, 4, **common)
    elif kind == "gru":
        module = torch.nn.GRU(3, 4, **common)
    else:
        module = torch.nn.RNN(3, 4, nonlinearity=kind[4:], **common)
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-0.6, 0.6)
    export_torch(module, tmp_path / "t.onnx", bf)
    model = from_onnx(tmp_path / "t.onnx")
    x = np.random.default_rng(0).normal(size=(3, 6, 3)).astype(np.float32)
    xt = torch.from_numpy(x) if bf else torch.from_numpy(x).transpose(0, 1)
    y = module(xt)[0].detach()
    y = y if bf else y.transpose(0, 1)
    np.testing.assert_allclose(model.predict(x), y.numpy(), rtol=0, atol=TOL)


def test_projection_has_no_onnx_form(tmp_path):
    with pytest.raises(InteropError, match="ONNX's LSTM has no projection"):
        to_onnx(lk.Sequential([lk.LSTM(4, proj_size=2)], input_size=2), tmp_path / "p.onnx")
    assert not (tmp_path / "p.onnx").exists()


def edited(tmp_path, model, edit):
    path = to_onnx(model, tmp_path / "m.onnx")
    proto = onnx.load(str(path))
    edit(proto)
    onnx.save(proto, str(path))
    return path


@pytest.mark.parametrize(
    "attr, message",
    [
        (("clip", 3.0), "attribute 'clip' is not supported"),
        (("input_forget", 1), "attribute 'input_forget' is not supported"),
        (("activations", ["Sigmoid", "Relu", "Tanh"]), "activations"),
    ],
)
def test_unsupported_attributes_are_named(tmp_path, attr, message):
    model = lk.Sequential([lk.LSTM(3)], input_size=2)

    def edit(proto):
        node = next(n for n in proto.graph.node if n.op_type == "LSTM")
        node.attribute.append(onnx.helper.make_attribute(*attr))

    with pytest.raises(InteropError, match=message):
        from_onnx(edited(tmp_path, model, edit))


def test_non_zero_initial_state_is_refused(tmp_path):
    model = lk.Sequential([lk.GRU(3)], input_size=2)

    def edit(proto):
        node = next(n for n in proto.graph.node if n.op_type == "GRU")
        while len(node.input) < 6:
            node.input.append("")
        node.input[5] = "h0"
        proto.graph.input.append(
            onnx.helper.make_tensor_value_info("h0", onnx.TensorProto.FLOAT, [1, "batch", 3])
        )

    with pytest.raises(InteropError, match="initial state 'h0' is not zero"):
        from_onnx(edited(tmp_path, model, edit))


def test_unsupported_operator_is_named(tmp_path):
    model = lk.Sequential([lk.RNN(3, return_sequences=True)], input_size=2)

    def edit(proto):
        ident = next(n for n in proto.graph.node if n.op_type == "Identity")
        ident.op_type = "Erf"

    with pytest.raises(InteropError, match="unsupported ONNX operator Erf"):
        from_onnx(edited(tmp_path, model, edit))


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(InteropError, match="no ONNX file at"):
        from_onnx(tmp_path / "none.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all \x00\xff")
    with pytest.raises(InteropError, match="not a readable ONNX file"):
        from_onnx(bad)
