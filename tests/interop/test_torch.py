"""PyTorch ⇄ lstmkit: weights round-trip bit-exactly, outputs agree with real PyTorch."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import lstmkit as lk  # noqa: E402
from lstmkit.interop import InteropError, from_torch, to_torch  # noqa: E402

TOL = 1e-5


def randomize(module, scale=0.6):
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-scale, scale)  # non-zero biases: zero ones hide bias bugs


def torch_outputs(m, x, lengths):
    """Batch-first output of a recurrent module, packed when lengths are given."""
    xt = torch.from_numpy(x)
    if not m.batch_first:
        xt = xt.transpose(0, 1)
    if lengths is not None:
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            xt, torch.as_tensor(lengths), batch_first=m.batch_first, enforce_sorted=False
        )
        out, _ = m(packed)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(
            out, batch_first=m.batch_first, total_length=x.shape[1]
        )
    else:
        out, _ = m(xt)
    if not m.batch_first:
        out = out.transpose(0, 1)
    return out.detach().numpy()


def random_module(seed):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    kind = ["lstm", "gru", "rnn_tanh", "rnn_relu"][seed % 4]
    D, H = int(rng.integers(1, 7)), int(rng.integers(2, 9))
    common = {
        "num_layers": int(rng.integers(1, 4)),
        "bidirectional": bool(rng.integers(2)),
        "batch_first": bool(rng.integers(2)),
        "bias": bool(rng.integers(4)),  # mostly with biases
    }
    if kind == "lstm":
        proj = int(rng.integers(1, H)) if rng.integers(2) else 0
        m = torch.nn.LSTM(D, H, proj_size=proj, **common)
    elif kind == "gru":
        m = torch.nn.GRU(D, H, **common)
    else:
        m = torch.nn.RNN(D, H, nonlinearity=kind[4:], **common)
    randomize(m)
    B, T = int(rng.integers(1, 6)), int(rng.integers(1, 9))
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    lengths = rng.integers(1, T + 1, size=B) if seed % 3 else None
    return m, x, lengths


@pytest.mark.parametrize("seed", range(24))
def test_from_torch_matches_pytorch(seed):
    m, x, lengths = random_module(seed)
    model = from_torch(m)
    np.testing.assert_allclose(
        model.predict(x, lengths), torch_outputs(m, x, lengths), rtol=0, atol=TOL
    )


@pytest.mark.parametrize("seed", range(24))
def test_round_trip_through_pytorch_is_bit_exact(seed):
    m, x, lengths = random_module(seed)
    model = from_torch(m)
    back = from_torch(to_torch(model))
    for (a, name), b in zip(
        zip(*model.parameter_list(), strict=True), back.parameter_list()[0], strict=True
    ):
        assert np.array_equal(a, b), name
    exported = to_torch(model)
    got = exported(torch.from_numpy(x), lengths).detach().numpy()
    np.testing.assert_allclose(got, model.predict(x, lengths), rtol=0, atol=TOL)


def test_gru_biases_stay_separate_and_lstm_biases_fold():
    torch.manual_seed(0)
    g = torch.nn.GRU(2, 3)
    randomize(g)
    model = from_torch(g)
    np.testing.assert_array_equal(model.layers[0].params["bh"], g.bias_hh_l0.detach().numpy())
    lstm = torch.nn.LSTM(2, 3)
    randomize(lstm)
    b = from_torch(lstm).layers[0].params["b"]
    total = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy()
    i, f, g_, o = np.split(total, 4)
    np.testing.assert_array_equal(b, np.concatenate([i, f, o, g_]))


class ManyToOne(torch.nn.Module):
    """The common hand-written model: a recurrent stack, a head on the last step."""

    def __init__(self, bidirectional=False):
        super().__init__()
        self.rnn = torch.nn.LSTM(3, 6, num_layers=2, batch_first=True, bidirectional=bidirectional)
        self.fc = torch.nn.Linear(12 if bidirectional else 6, 4)
        self.act = torch.nn.Tanh()
        self.out = torch.nn.Linear(4, 2)

    def forward(self, x):
        out, (h, _) = self.rnn(x)
        last = torch.cat([h[-2], h[-1]], dim=-1) if self.rnn.bidirectional else out[:, -1]
        return self.out(self.act(self.fc(last)))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_module_with_linear_heads(bidirectional):
    torch.manual_seed(1)
    net = ManyToOne(bidirectional)
    randomize(net)
    x = np.random.default_rng(0).normal(size=(5, 7, 3)).astype(np.float32)
    model = from_torch(net)
    assert [type(la).__name__ for la in model.layers] == ["LSTM", "LSTM", "Dense", "Dense"]
    expected = net(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=TOL)


def test_sequential_heads_on_every_step():
    torch.manual_seed(2)
    seq = torch.nn.Sequential(
        torch.nn.GRU(2, 5, batch_first=True), torch.nn.Linear(5, 3), torch.nn.Softmax(dim=-1)
    )
    randomize(seq)
    x = np.random.default_rng(1).normal(size=(2, 4, 2)).astype(np.float32)
    model = from_torch(seq, last_step=False)
    out, _ = seq[0](torch.from_numpy(x))
    expected = torch.softmax(seq[1](out), dim=-1).detach().numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=TOL)


def test_float64_modules_stay_float64():
    m = torch.nn.RNN(2, 3, dtype=torch.float64)
    randomize(m)
    model = from_torch(m)
    assert model.dtype == np.float64
    x = np.random.default_rng(2).normal(size=(2, 5, 2))
    np.testing.assert_allclose(model.predict(x), torch_outputs(m, x, None), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "layer, message",
    [
        (lk.LSTM(3, peephole=True), "PyTorch's LSTM has no peepholes"),
        (lk.GRU(3, reset_after=False), "PyTorch's GRU has only reset_after=True"),
    ],
)
def test_export_refuses_what_pytorch_lacks(layer, message):
    with pytest.raises(InteropError, match=message):
        to_torch(lk.Sequential([layer], input_size=2))


def test_import_names_unsupported_modules():
    net = torch.nn.Sequential(torch.nn.LSTM(2, 3, batch_first=True), torch.nn.Conv1d(3, 3, 1))
    with pytest.raises(InteropError, match="unsupported PyTorch module Conv1d"):
        from_torch(net)
    with pytest.raises(InteropError, match="unsupported parameter dtype"):
        from_torch(torch.nn.LSTM(2, 3, dtype=torch.float16))
