"""The PyTorch-convention parameter count equals ``sum(p.numel())`` of the same torch model."""

import numpy as np
import pytest

import lstmkit as lk
from lstmkit.cost import analyze

torch = pytest.importorskip("torch")


def torch_equivalent(model):
    """The PyTorch modules of the same architecture (one module per lstmkit layer)."""
    modules = []
    for layer in model.layers:
        D = layer.input_size
        if isinstance(layer, lk.LSTM):
            modules.append(
                torch.nn.LSTM(
                    D, layer.hidden_size, proj_size=layer.cell.P or 0,
                    bidirectional=layer.bidirectional,
                )
            )  # fmt: skip
        elif isinstance(layer, lk.GRU):
            modules.append(torch.nn.GRU(D, layer.hidden_size, bidirectional=layer.bidirectional))
        elif isinstance(layer, lk.RNN):
            modules.append(
                torch.nn.RNN(
                    D, layer.hidden_size, nonlinearity=layer.cell.activation,
                    bidirectional=layer.bidirectional,
                )
            )  # fmt: skip
        elif isinstance(layer, lk.Dense):
            modules.append(torch.nn.Linear(D, layer.units))
    return torch.nn.ModuleList(modules)


@pytest.mark.parametrize("seed", range(12))
def test_pytorch_convention_count_equals_torch_numel(seed):
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(int(rng.integers(1, 4))):
        H, bi = int(rng.integers(2, 9)), bool(rng.integers(2))
        kind = rng.choice(["lstm", "lstm_proj", "gru", "rnn_tanh", "rnn_relu"])
        if kind.startswith("lstm"):
            proj = int(rng.integers(1, H)) if kind == "lstm_proj" else None
            layers.append(lk.LSTM(H, proj_size=proj, bidirectional=bi, return_sequences=True))
        elif kind == "gru":
            layers.append(lk.GRU(H, bidirectional=bi, return_sequences=True))
        else:
            layers.append(lk.RNN(H, activation=kind[4:], bidirectional=bi, return_sequences=True))
    layers.append(lk.Dense(int(rng.integers(1, 4))))
    model = lk.Sequential(layers, input_size=int(rng.integers(1, 9)))
    expected = sum(p.numel() for p in torch_equivalent(model).parameters())
    assert analyze(model, 5).params_torch == expected
