"""Outputs, final states and every gradient against torch.nn.LSTM / GRU / RNN.

PyTorch is a reference we did not write. Its LSTM stores gates (i, f, g, o) with two
biases; ours is (i, f, o, g) with one, so weights are permuted and biases folded
(docs/conventions.md). Variable lengths go through pack_padded_sequence.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence  # noqa: E402

from lstmkit.ops import (  # noqa: E402
    batch_split,
    gru_backward,
    gru_forward,
    lstm_backward,
    lstm_forward,
    rnn_backward,
    rnn_forward,
)
from lstmkit.threads import parts_of  # noqa: E402

CONFIGS = range(20)
TOL = {np.float32: 1e-5, np.float64: 1e-10}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def assert_close(ours, ref, dtype, what):
    """max |ours − ref| within TOL of the reference's scale (its largest magnitude)."""
    ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else ref
    assert ours.dtype == dtype, f"{what}: dtype {ours.dtype}, expected {np.dtype(dtype)}"
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} != {ref.shape}"
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    err = float(np.abs(ours.astype(np.float64) - ref).max()) if ref.size else 0.0
    assert err <= TOL[dtype] * scale, f"{what}: max error {err:.3e}, scale {scale:.3e}"


@pytest.fixture(params=["whole", "split"])
def split(request, monkeypatch, backend):
    """Run each parity case twice: as one call, and (compiled backend) with the batch
    split in two parts whatever its size, so the split's joined outputs and summed
    gradients meet PyTorch too. Yields whether the forward must return a SplitCache."""
    if request.param == "whole":
        yield lambda B: False
        return
    monkeypatch.setattr(batch_split, "MIN_WORK", 0)
    monkeypatch.setattr(batch_split, "MIN_COLUMNS", 1)
    with parts_of(2):
        yield lambda B: B >= 2


def check_split(cache, B, expect):
    assert isinstance(cache, batch_split.SplitCache) == expect(B), type(cache)


def lstm_from_torch(w):
    """(i, f, g, o) row blocks to canonical (i, f, o, g)."""
    i, f, g, o = np.split(w, 4, axis=0)
    return np.concatenate([i, f, o, g], axis=0)


def random_config(seed, dtype):
    rng = np.random.default_rng(seed)
    B, T = int(rng.integers(1, 9)), int(rng.integers(1, 13))
    D, H = int(rng.integers(1, 11)), int(rng.integers(1, 17))
    lengths = rng.integers(1, T + 1, size=B) if seed % 2 else None
    torch.manual_seed(seed)
    return rng, B, T, D, H, lengths


def randomize(module):
    """Non-zero weights and biases (zero biases hide bias bugs)."""
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-0.6, 0.6)


def run_torch(module, x, state, lengths, T):
    """Run a batch-first torch RNN module, packing when lengths are given."""
    if lengths is None:
        return module(x, state)
    packed = pack_padded_sequence(
        x, torch.as_tensor(lengths), batch_first=True, enforce_sorted=False
    )
    out, final = module(packed, state)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    return out, final


def leaf(arr, dtype):
    return torch.tensor(arr, dtype=TORCH_DTYPE[dtype], requires_grad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", CONFIGS)
def test_lstm_matches_torch(seed, dtype, split):
    rng, B, T, D, H, lengths = random_config(seed, dtype)
    P = int(rng.integers(1, H)) if (seed % 4 == 3 and H > 1) else 0
    module = torch.nn.LSTM(D, H, batch_first=True, proj_size=P, dtype=TORCH_DTYPE[dtype])
    randomize(module)
    Hout = P or H
    x = rng.standard_normal((B, T, D)).astype(dtype)
    h0 = rng.standard_normal((B, Hout)).astype(dtype)
    c0 = rng.standard_normal((B, H)).astype(dtype)
    Wx = lstm_from_torch(module.weight_ih_l0.detach().numpy())
    Wh = lstm_from_torch(module.weight_hh_l0.detach().numpy())
    b = lstm_from_torch((module.bias_ih_l0 + module.bias_hh_l0).detach().numpy())
    Wr = module.weight_hr_l0.detach().numpy() if P else None

    hs, hT, cT, cache = lstm_forward(x, h0, c0, Wx, Wh, b, Wr=Wr, lengths=lengths)
    check_split(cache, B, split)
    xt, h0t, c0t = leaf(x, dtype), leaf(h0[None], dtype), leaf(c0[None], dtype)
    out, (hn, cn) = run_torch(module, xt, (h0t, c0t), lengths, T)
    assert_close(hs, out, dtype, "hs")
    assert_close(hT, hn[0], dtype, "hT")
    assert_close(cT, cn[0], dtype, "cT")

    dhs = rng.standard_normal(hs.shape).astype(dtype)
    dhT = rng.standard_normal(hT.shape).astype(dtype)
    dcT = rng.standard_normal(cT.shape).astype(dtype)
    loss = (
        (out * torch.as_tensor(dhs)).sum()
        + (hn[0] * torch.as_tensor(dhT)).sum()
        + (cn[0] * torch.as_tensor(dcT)).sum()
    )
    loss.backward()
    g = lstm_backward(dhs, dhT, dcT, cache)
    assert_close(g["x"], xt.grad, dtype, "dx")
    assert_close(g["h0"], h0t.grad[0], dtype, "dh0")
    assert_close(g["c0"], c0t.grad[0], dtype, "dc0")
    assert_close(g["Wx"], lstm_from_torch(module.weight_ih_l0.grad.numpy()), dtype, "dWx")
    assert_close(g["Wh"], lstm_from_torch(module.weight_hh_l0.grad.numpy()), dtype, "dWh")
    # b = bias_ih + bias_hh, so both torch biases receive dL/db.
    assert_close(g["b"], lstm_from_torch(module.bias_ih_l0.grad.numpy()), dtype, "db")
    assert_close(g["b"], lstm_from_torch(module.bias_hh_l0.grad.numpy()), dtype, "db (hh)")
    if P:
        assert_close(g["Wr"], module.weight_hr_l0.grad, dtype, "dWr")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", CONFIGS)
def test_gru_matches_torch(seed, dtype, split):
    rng, B, T, D, H, lengths = random_config(1000 + seed, dtype)
    module = torch.nn.GRU(D, H, batch_first=True, dtype=TORCH_DTYPE[dtype])
    randomize(module)
    x = rng.standard_normal((B, T, D)).astype(dtype)
    h0 = rng.standard_normal((B, H)).astype(dtype)
    params = [
        getattr(module, n).detach().numpy()
        for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    ]

    hs, hT, cache = gru_forward(x, h0, *params, reset_after=True, lengths=lengths)
    check_split(cache, B, split)
    xt, h0t = leaf(x, dtype), leaf(h0[None], dtype)
    out, hn = run_torch(module, xt, h0t, lengths, T)
    assert_close(hs, out, dtype, "hs")
    assert_close(hT, hn[0], dtype, "hT")

    dhs = rng.standard_normal(hs.shape).astype(dtype)
    dhT = rng.standard_normal(hT.shape).astype(dtype)
    ((out * torch.as_tensor(dhs)).sum() + (hn[0] * torch.as_tensor(dhT)).sum()).backward()
    g = gru_backward(dhs, dhT, cache)
    assert_close(g["x"], xt.grad, dtype, "dx")
    assert_close(g["h0"], h0t.grad[0], dtype, "dh0")
    for ours, theirs in (
        ("Wx", "weight_ih_l0"),
        ("Wh", "weight_hh_l0"),
        ("bx", "bias_ih_l0"),
        ("bh", "bias_hh_l0"),
    ):
        assert_close(g[ours], getattr(module, theirs).grad, dtype, f"d{ours}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("seed", CONFIGS)
def test_rnn_matches_torch(seed, activation, dtype, split):
    rng, B, T, D, H, lengths = random_config(2000 + seed, dtype)
    module = torch.nn.RNN(D, H, nonlinearity=activation, batch_first=True, dtype=TORCH_DTYPE[dtype])
    randomize(module)
    x = rng.standard_normal((B, T, D)).astype(dtype)
    h0 = rng.standard_normal((B, H)).astype(dtype)
    Wx = module.weight_ih_l0.detach().numpy()
    Wh = module.weight_hh_l0.detach().numpy()
    b = (module.bias_ih_l0 + module.bias_hh_l0).detach().numpy()

    hs, hT, cache = rnn_forward(x, h0, Wx, Wh, b, activation=activation, lengths=lengths)
    check_split(cache, B, split)
    xt, h0t = leaf(x, dtype), leaf(h0[None], dtype)
    out, hn = run_torch(module, xt, h0t, lengths, T)
    assert_close(hs, out, dtype, "hs")
    assert_close(hT, hn[0], dtype, "hT")

    dhs = rng.standard_normal(hs.shape).astype(dtype)
    dhT = rng.standard_normal(hT.shape).astype(dtype)
    ((out * torch.as_tensor(dhs)).sum() + (hn[0] * torch.as_tensor(dhT)).sum()).backward()
    g = rnn_backward(dhs, dhT, cache)
    assert_close(g["x"], xt.grad, dtype, "dx")
    assert_close(g["h0"], h0t.grad[0], dtype, "dh0")
    assert_close(g["Wx"], module.weight_ih_l0.grad, dtype, "dWx")
    assert_close(g["Wh"], module.weight_hh_l0.grad, dtype, "dWh")
    assert_close(g["b"], module.bias_ih_l0.grad, dtype, "db")
    assert_close(g["b"], module.bias_hh_l0.grad, dtype, "db (hh)")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_assert_close_catches_a_small_error(dtype):
    """The tolerance check must fail on an error just above its tolerance."""
    ref = np.linspace(-2.0, 2.0, 50).astype(dtype)
    off = ref.copy()
    off[7] += 4.0 * TOL[dtype]  # 2x the allowed absolute error at scale 2
    with pytest.raises(AssertionError, match="max error"):
        assert_close(off, torch.as_tensor(ref), dtype, "probe")
    assert_close(ref.copy(), torch.as_tensor(ref), dtype, "probe")
