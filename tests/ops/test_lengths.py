"""Variable lengths: a padded batch equals each sequence run alone on its valid part."""

import numpy as np
import pytest

from lstmkit import ops
from tests.ops.conftest import gru_params, lstm_params, rnn_params

B, T, D, H = 4, 7, 3, 5
LENGTHS = np.array([7, 2, 5, 1])


def _case(kind, rng):
    """(forward, backward, params, initial states, forward kwargs) for one op."""
    if kind.startswith("lstm"):
        p = lstm_params(rng, D, H, peephole="peep" in kind, P=3 if "proj" in kind else None)
        P = p["Wr"].shape[0] if "Wr" in p else H
        states = [rng.standard_normal((B, P)), rng.standard_normal((B, H))]
        return ops.lstm_forward, ops.lstm_backward, p, states, {}
    if kind.startswith("gru"):
        kw = {"reset_after": kind == "gru"}
        return (
            ops.gru_forward,
            ops.gru_backward,
            gru_params(rng, D, H),
            [rng.standard_normal((B, H))],
            kw,
        )
    kw = {"activation": kind.split("-")[1]}
    return (
        ops.rnn_forward,
        ops.rnn_backward,
        rnn_params(rng, D, H),
        [rng.standard_normal((B, H))],
        kw,
    )


KINDS = ["lstm", "lstm-peep", "lstm-proj", "gru", "gru-reset-before", "rnn-tanh", "rnn-relu"]


@pytest.mark.parametrize("kind", KINDS)
def test_padded_batch_equals_sequences_alone(kind, rng):
    fwd, bwd, p, states, kw = _case(kind, rng)
    x = rng.standard_normal((B, T, D))
    x[np.arange(T)[None, :] >= LENGTHS[:, None]] = np.nan  # padding must never leak
    out = fwd(x, *states, **p, **kw, lengths=LENGTHS)
    hs, finals, cache = out[0], out[1:-1], out[-1]
    assert np.all(np.isfinite(hs))

    upstream = [rng.standard_normal(a.shape) for a in (hs, *finals)]
    grads = bwd(*upstream, cache)
    weight_sum = {k: np.zeros_like(v) for k, v in p.items()}

    for bi, n in enumerate(LENGTHS):
        xb = x[bi : bi + 1, :n]
        sb = [s[bi : bi + 1] for s in states]
        ob = fwd(xb, *sb, **p, **kw)
        np.testing.assert_allclose(hs[bi, :n], ob[0][0], rtol=0, atol=1e-13)
        assert np.all(hs[bi, n:] == 0), "outputs past the length must be exactly 0"
        for final, final_b in zip(finals, ob[1:-1], strict=True):
            np.testing.assert_allclose(final[bi], final_b[0], rtol=0, atol=1e-13)

        up_b = [upstream[0][bi : bi + 1, :n]] + [u[bi : bi + 1] for u in upstream[1:]]
        gb = bwd(*up_b, ob[-1])
        np.testing.assert_allclose(grads["x"][bi, :n], gb["x"][0], rtol=0, atol=1e-12)
        assert np.all(grads["x"][bi, n:] == 0), "input gradient past the length must be 0"
        state_names = ["h0", "c0"][: len(states)]
        for name in state_names:
            np.testing.assert_allclose(grads[name][bi], gb[name][0], rtol=0, atol=1e-12)
        for k in weight_sum:
            weight_sum[k] += gb[k]

    for k, total in weight_sum.items():
        np.testing.assert_allclose(grads[k], total, rtol=1e-12, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("kind", KINDS)
def test_full_lengths_equal_no_lengths(kind, rng):
    fwd, _, p, states, kw = _case(kind, rng)
    x = rng.standard_normal((B, T, D))
    a = fwd(x, *states, **p, **kw)
    b = fwd(x, *states, **p, **kw, lengths=np.full(B, T))
    for u, v in zip(a[:-1], b[:-1], strict=True):
        np.testing.assert_array_equal(u, v)
