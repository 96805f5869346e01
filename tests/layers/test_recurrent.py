"""Recurrent layers: directions, last valid step, state carrying, streaming, tracing."""

import numpy as np
import pytest

from lstmkit import GRU, LSTM, RNN, Dense, Sequential
from lstmkit.layers.directions import reverse_valid
from lstmkit.ops import gru_forward, lstm_forward, rnn_forward

LAYERS = {
    "lstm": lambda **kw: LSTM(5, **kw),
    "lstm_peephole_proj": lambda **kw: LSTM(5, peephole=True, proj_size=3, **kw),
    "gru": lambda **kw: GRU(5, **kw),
    "gru_reset_before": lambda **kw: GRU(5, reset_after=False, **kw),
    "rnn_tanh": lambda **kw: RNN(5, **kw),
    "rnn_relu": lambda **kw: RNN(5, activation="relu", **kw),
}


def built(kind, D=3, dtype="float64", **kw):
    layer = LAYERS[kind](**kw)
    layer.name = kind
    layer.build(D, np.random.default_rng(0), np.dtype(dtype))
    rng = np.random.default_rng(1)
    for p in layer.params.values():
        p[...] = rng.uniform(-0.6, 0.6, p.shape)
    return layer


def test_reverse_valid_reverses_only_the_valid_part():
    x = np.arange(2 * 4).reshape(2, 4, 1)
    got = reverse_valid(x, np.array([4, 2]))[..., 0]
    np.testing.assert_array_equal(got, [[3, 2, 1, 0], [5, 4, 6, 7]])
    np.testing.assert_array_equal(reverse_valid(reverse_valid(x, [3, 1]), [3, 1]), x)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_reverse_direction_is_each_sequence_read_backwards_alone(kind):
    """Run the reverse direction's op on each sequence's valid part, flipped, by itself."""
    layer = built(kind, bidirectional=True, return_sequences=True)
    rng = np.random.default_rng(2)
    lengths = np.array([6, 1, 4])
    x = rng.standard_normal((3, 6, 3))
    x[np.arange(6)[None, :] >= lengths[:, None]] = np.nan  # padding must never be read
    out = layer.forward(np.nan_to_num(x, nan=1e3), lengths)
    P = layer.cell.out_size
    p = layer._dir_params("reverse")
    for b, L in enumerate(lengths):
        xb = x[b : b + 1, :L][:, ::-1]
        if kind.startswith("lstm"):
            hs = lstm_forward(xb, None, None, p["Wx"], p["Wh"], p["b"],
                              peepholes=p.get("peepholes"), Wr=p.get("Wr"))[0]  # fmt: skip
        elif kind.startswith("gru"):
            hs = gru_forward(xb, None, p["Wx"], p["Wh"], p["bx"], p["bh"],
                             reset_after=layer.cell.reset_after)[0]  # fmt: skip
        else:
            hs = rnn_forward(xb, None, p["Wx"], p["Wh"], p["b"],
                             activation=layer.cell.activation)[0]  # fmt: skip
        np.testing.assert_allclose(out[b, :L, P:], hs[0, ::-1], rtol=0, atol=1e-13)
        assert np.all(out[b, L:] == 0)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_last_output_is_the_last_valid_step(kind):
    seq = built(kind, return_sequences=True)
    last = built(kind, return_sequences=False)
    x = np.random.default_rng(3).standard_normal((3, 7, 3))
    lengths = np.array([7, 3, 5])
    hs = seq.forward(x, lengths)
    np.testing.assert_array_equal(last.forward(x, lengths), hs[np.arange(3), lengths - 1])


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
def test_return_state_gives_final_states_forward_first(kind):
    layer = built(kind, bidirectional=True, return_state=True)
    x = np.random.default_rng(4).standard_normal((2, 5, 3))
    out, states = layer.forward(x)
    n = len(layer.cell.state_names)
    assert len(states) == 2 * n
    np.testing.assert_array_equal(out, np.concatenate([states[0], states[n]], axis=1))


@pytest.mark.parametrize("kind", list(LAYERS))
def test_stateful_chunks_equal_one_long_call(kind):
    whole = built(kind, return_sequences=True)
    chunked = built(kind, return_sequences=True, stateful=True)
    x = np.random.default_rng(5).standard_normal((2, 9, 3))
    ref = whole.forward(x)
    parts = [chunked.forward(x[:, a:b]) for a, b in ((0, 4), (4, 5), (5, 9))]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), ref, rtol=0, atol=1e-14)
    chunked.reset_states()
    np.testing.assert_array_equal(chunked.forward(x[:, :4]), ref[:, :4])
    with pytest.raises(ValueError, match="reset_states"):
        chunked.forward(x[:1])  # the carried state is for batch 2


def test_stateful_bidirectional_is_refused():
    with pytest.raises(ValueError, match="unidirectional"):
        LSTM(4, stateful=True, bidirectional=True)


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_step_matches_sequence_forward(kind, dtype):
    layer = built(kind, dtype=dtype, return_sequences=True)
    x = np.random.default_rng(6).standard_normal((2, 30, 3)).astype(dtype)
    ref = layer.forward(x)
    got = np.stack([layer.step(x[:, t]) for t in range(30)], axis=1)
    atol = 2e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(got, ref, rtol=0, atol=atol)
    assert got.dtype == ref.dtype == np.dtype(dtype)


def test_step_refuses_bidirectional():
    layer = built("lstm", bidirectional=True)
    with pytest.raises(ValueError, match="bidirectional"):
        layer.step(np.zeros((1, 3)))


def test_initialisation():
    model = Sequential([LSTM(8, proj_size=4), Dense(2)], input_size=5)
    lstm = model.layers[0]
    b = lstm.params["b"]
    np.testing.assert_array_equal(b[8:16], 1.0)  # forget gate
    np.testing.assert_array_equal(np.delete(b, np.s_[8:16]), 0.0)
    Wh = lstm.params["Wh"].astype(np.float64)  # (32, 4): four (8, 4) blocks
    for k in range(4):
        block = Wh[8 * k : 8 * (k + 1)]
        np.testing.assert_allclose(block.T @ block, np.eye(4), atol=1e-6)
    limit = np.sqrt(6 / (5 + 32))
    assert np.abs(lstm.params["Wx"]).max() <= limit
    assert np.abs(lstm.params["Wx"]).max() > 0.8 * limit
    gru = Sequential([GRU(6)], input_size=3).layers[0]
    for k in range(3):
        block = gru.params["Wh"][6 * k : 6 * (k + 1)].astype(np.float64)
        np.testing.assert_allclose(block @ block.T, np.eye(6), atol=1e-6)
    assert not gru.params["bx"].any() and not gru.params["bh"].any()


def test_same_seed_same_weights_other_seed_different():
    def weights(seed):
        return Sequential([LSTM(4), Dense(1)], input_size=2, seed=seed).get_weights()

    a, b, c = weights(3), weights(3), weights(4)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["lstm.Wx"], c["lstm.Wx"])


@pytest.mark.parametrize("kind", ["lstm", "lstm_peephole_proj", "gru", "rnn_tanh"])
def test_trace_matches_the_forward(kind):
    layer = built(kind, bidirectional=True, return_sequences=True)
    x = np.random.default_rng(8).standard_normal((3, 6, 3))
    lengths = np.array([6, 2, 4])
    out, tr = layer.trace(x, lengths)
    P = layer.cell.out_size
    valid = np.arange(6)[None, :] < lengths[:, None]
    for k, d in enumerate(("forward", "reverse")):
        h = tr[d]["h"]
        np.testing.assert_array_equal(h[valid], out[..., k * P : (k + 1) * P][valid])
        assert np.isnan(h[~valid]).all()
        for g in layer.cell.gates:
            v = tr[d][g][valid]
            lo, hi = (-1, 1) if g in ("g", "n") else (0, 1)
            assert v.min() >= lo and v.max() <= hi, f"gate {g} out of range"
    if kind == "lstm":
        # c_t = f ⊙ c_{t-1} + i ⊙ g and h_t = o ⊙ tanh(c_t), step by step (forward).
        f = tr["forward"]
        c_prev = np.concatenate([np.zeros((3, 1, 5)), f["c"][:, :-1]], axis=1)
        c = f["f"] * c_prev + f["i"] * f["g"]
        np.testing.assert_allclose(c[valid], f["c"][valid], atol=1e-14)
        np.testing.assert_allclose((f["o"] * np.tanh(c))[valid], f["h"][valid], atol=1e-14)


@pytest.mark.parametrize("bad", [8.5, "8", True, None])
def test_sizes_must_be_whole_numbers(bad):
    import lstmkit as lk

    for make in (lk.LSTM, lk.GRU, lk.RNN, lk.Dense):
        with pytest.raises(ValueError, match="must be a whole number"):
            make(bad)
    with pytest.raises(ValueError, match="proj_size must be a whole number"):
        lk.LSTM(8, proj_size=2.0)
    assert lk.LSTM(np.int64(4)).hidden_size == 4
