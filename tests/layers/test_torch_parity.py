"""Stacked, bidirectional (and projected) layers against torch.nn.LSTM / GRU / RNN with
``num_layers=2, bidirectional=True``: outputs, final states and every gradient.

This pins the layer-level semantics SPEC fixes and the ops alone do not: the reverse
direction reads each sequence's valid part backwards, outputs are ``[forward | reverse]``,
final states are stacked forward first, and layer 2 reads layer 1's full sequence.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lstmkit import GRU, LSTM, RNN, Sequential  # noqa: E402
from tests.ops.test_torch_parity import (  # noqa: E402
    TORCH_DTYPE,
    assert_close,
    lstm_from_torch,
    randomize,
    run_torch,
)

KINDS = ["lstm", "lstm_proj", "gru", "rnn_tanh", "rnn_relu"]


def build(kind, rng, dtype):
    """A 2-layer bidirectional torch module and the matching lstmkit model."""
    B, T, D, H = (int(rng.integers(1, 6)), int(rng.integers(1, 9)), int(rng.integers(1, 6)),
                  int(rng.integers(2, 8)))  # fmt: skip
    td = TORCH_DTYPE[dtype]
    common = {"num_layers": 2, "bidirectional": True, "batch_first": True, "dtype": td}
    P = None
    if kind.startswith("lstm"):
        P = int(rng.integers(1, H)) if kind == "lstm_proj" else None
        module = torch.nn.LSTM(D, H, proj_size=P or 0, **common)
        layers = [LSTM(H, proj_size=P, bidirectional=True, return_sequences=True) for _ in "ab"]
    elif kind == "gru":
        module = torch.nn.GRU(D, H, **common)
        layers = [GRU(H, bidirectional=True, return_sequences=True) for _ in "ab"]
    else:
        act = kind.split("_")[1]
        module = torch.nn.RNN(D, H, nonlinearity=act, **common)
        layers = [RNN(H, activation=act, bidirectional=True, return_sequences=True) for _ in "ab"]
    randomize(module)
    model = Sequential(layers, input_size=D, dtype=np.dtype(dtype).name)
    return module, model, (B, T, D, H, P)


def torch_to_ours(kind, name):
    """Our parameter for a torch one: (our name, transform of the torch array)."""
    base, layer_dir = name.rsplit("_l", 1)
    layer, _, rev = layer_dir.partition("_")
    suffix = "_reverse" if rev else ""
    perm = lstm_from_torch if kind.startswith("lstm") else (lambda a: a)
    ours = {"weight_ih": "Wx", "weight_hh": "Wh", "weight_hr": "Wr"}
    if base in ours:
        keep = base == "weight_hr"
        return int(layer), ours[base] + suffix, (lambda a: a) if keep else perm
    if kind == "gru":
        return int(layer), {"bias_ih": "bx", "bias_hh": "bh"}[base] + suffix, perm
    return int(layer), "b" + suffix, perm  # LSTM/RNN: one folded bias


def copy_weights(kind, module, model):
    for layer in model.layers:
        for v in layer.params.values():
            v[...] = 0
    for name, p in module.named_parameters():
        k, ours, f = torch_to_ours(kind, name)
        model.layers[k].params[ours] += f(p.detach().numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(6))
def test_stacked_bidirectional_matches_torch(seed, kind, dtype):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    module, model, (B, T, D, _, _) = build(kind, rng, dtype)
    copy_weights(kind, module, model)
    lengths = rng.integers(1, T + 1, size=B) if seed % 2 else None
    x = rng.standard_normal((B, T, D)).astype(dtype)

    ours = model.forward(x, lengths, training=True)
    xt = torch.tensor(x, dtype=TORCH_DTYPE[dtype], requires_grad=True)
    out, final = run_torch(module, xt, None, lengths, T)
    assert_close(ours, out, dtype, "outputs")
    # Final hidden states: torch stacks (layer, direction); ours live on each layer.
    hn = final[0] if isinstance(final, tuple) else final
    for k, layer in enumerate(model.layers):
        for d in range(2):
            assert_close(layer.final_state_[d][0], hn[2 * k + d], dtype, f"h_n layer {k} dir {d}")

    dout = rng.standard_normal(ours.shape).astype(dtype)
    (out * torch.as_tensor(dout)).sum().backward()
    dx = model.backward(dout)
    assert_close(dx, xt.grad, dtype, "dx")
    for name, p in module.named_parameters():
        k, ours_name, f = torch_to_ours(kind, name)
        assert_close(model.layers[k].grads[ours_name], f(p.grad.numpy()), dtype, f"d{name}")


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
def test_last_step_output_is_torch_h_n(kind):
    """return_sequences=False returns [h_n forward | h_n reverse] (last valid step forward)."""
    rng = np.random.default_rng(7)
    module, model, (B, T, D, _, _) = build(kind, rng, np.float64)
    copy_weights(kind, module, model)
    model.layers[1].return_sequences = False
    model.output_is_sequence = False
    B = 5
    x = rng.standard_normal((B, T + 3, D))
    lengths = rng.integers(1, T + 4, size=B)
    ours = model.predict(x, lengths)
    _, final = run_torch(module, torch.tensor(x), None, lengths, T + 3)
    hn = final[0] if isinstance(final, tuple) else final
    assert_close(ours, torch.cat([hn[2], hn[3]], dim=1), np.float64, "last output")
