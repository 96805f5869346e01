"""The `lstmkit demo` job: one LSTM forward and backward on random data, shapes explained.

It walks through the shapes the way the seed documents do (the default sizes are the
seed's 80 input features and 12 units), then checks a few gradient entries against
centred finite differences so the printed numbers are verified, not just shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstmkit.gradcheck import numerical_grad
from lstmkit.ops import lstm_backward, lstm_forward

GATES = ("i", "f", "o", "g")
GATE_ROLE = {
    "i": "input gate, σ: how much of g to write",
    "f": "forget gate, σ: how much of c_{t-1} to keep",
    "o": "output gate, σ: how much of tanh(c_t) to show",
    "g": "candidate, tanh: the new content",
}


#: The most float64 numbers the demonstration holds at once (256 MiB): a limit checked
#: before any allocation, so a mistyped size is an error, not an exhausted machine.
MAX_NUMBERS = 32 * 2**20


@dataclass(frozen=True)
class DemoConfig:
    """Sizes of the demonstration: ``B`` sequences of ``T`` steps, ``D`` features, ``H`` units."""

    batch: int = 2
    seq_len: int = 5
    input_size: int = 80
    hidden_size: int = 12
    seed: int = 0
    checks: int = 5


def _shape(a: tuple[int, ...] | np.ndarray) -> str:
    return str(tuple(a.shape) if isinstance(a, np.ndarray) else tuple(a))


def _row(name: str, symbolic: str, arr, note: str = "") -> str:
    return f"  {name:<8} {symbolic:<11} = {_shape(arr):<13} {note}".rstrip()


def run_demo(cfg: DemoConfig, out=print) -> dict[str, float]:
    """Run the demonstration and print it with ``out``.

    Returns
    -------
    dict of str to float
        The largest relative error of each checked gradient against finite differences.
    """
    B, T, D, H = cfg.batch, cfg.seq_len, cfg.input_size, cfg.hidden_size
    # float64 weights, inputs and the forward's cache (gates, states of every step).
    numbers = 4 * H * (D + H + 1) + B * T * (D + 8 * H)
    if numbers > MAX_NUMBERS:
        raise ValueError(
            f"these sizes need about {8 * numbers / 2**30:.1f} GiB; the demonstration "
            f"is limited to {8 * MAX_NUMBERS / 2**20:.0f} MiB of arrays (lower --input-size, "
            "--hidden-size, --batch or --seq-len)"
        )
    rng = np.random.default_rng(cfg.seed)
    bound = 1 / np.sqrt(H)
    params = {
        "Wx": rng.uniform(-bound, bound, (4 * H, D)),
        "Wh": rng.uniform(-bound, bound, (4 * H, H)),
        "b": rng.uniform(-bound, bound, 4 * H),
    }
    x = rng.standard_normal((B, T, D))
    h0 = np.zeros((B, H))
    c0 = np.zeros((B, H))

    out("lstmkit demo: one LSTM layer, forward and backward through time on random data")
    out(f"  B = {B} sequences, T = {T} steps, D = {D} input features, H = {H} hidden units")
    out("")
    out("Weights (canonical gate order i, f, o, g; each block is one gate's share)")
    out(_row("Wx", "(4H, D)", params["Wx"], f"input weights, per gate {(H, D)}"))
    out(_row("Wh", "(4H, H)", params["Wh"], f"recurrent weights, per gate {(H, H)}"))
    out(_row("b", "(4H,)", params["b"], f"one bias, per gate {(H,)}"))
    n_params = sum(p.size for p in params.values())
    out(f"  parameters = 4·(D·H + H·H + H) = 4·({D * H} + {H * H} + {H}) = {n_params:,}")
    out("")
    out("One time step of one sequence")
    out(_row("x_t", "(D,)", (D,), "input at step t"))
    out(_row("h_{t-1}", "(H,)", (H,), "previous hidden state (short-term memory)"))
    out(_row("c_{t-1}", "(H,)", (H,), "previous cell state (long-term memory)"))
    out(_row("a", "(4H,)", (4 * H,), "a = Wx x_t + Wh h_{t-1} + b, split [i | f | o | g]"))
    for gate in GATES:
        out(_row(gate, "(H,)", (H,), GATE_ROLE[gate]))
    out(_row("c_t", "(H,)", (H,), "c_t = f ⊙ c_{t-1} + i ⊙ g"))
    out(_row("h_t", "(H,)", (H,), "h_t = o ⊙ tanh(c_t)"))
    out("")

    hs, hT, cT, cache = lstm_forward(x, h0, c0, **params)
    out("Forward over the batch (batch-first arrays)")
    out(_row("x", "(B, T, D)", x))
    out(_row("h0, c0", "(B, H)", h0, "initial states (zeros)"))
    out(_row("hs", "(B, T, H)", hs, "h_t at every step"))
    out(_row("hT, cT", "(B, H)", hT, "final states"))
    out("Kept for backward (feature-major inside the ops: one step is a (width, B) block)")
    out(_row("gates", "(T, 4H, B)", cache.gates, "activated i, f, o, g"))
    out(_row("c", "(T+1, H, B)", cache.c, "cell states c_0 .. c_T"))
    out(_row("tanh_c", "(T, H, B)", cache.tanh_c, "tanh(c_t)"))
    first = cache.gates[0, :, 0]
    means = ", ".join(f"{g} {first[k * H : (k + 1) * H].mean():+.3f}" for k, g in enumerate(GATES))
    out(f"  mean gate values at t = 1, sequence 1: {means}")
    out("")

    # The loss Σ R ⊙ outputs with random R makes every output element matter.
    upstream = [rng.standard_normal(a.shape) for a in (hs, hT, cT)]
    grads = lstm_backward(*upstream, cache)
    out("Backward through time (loss = Σ R ⊙ [hs, hT, cT] with random R)")
    for name in ("x", "h0", "c0", "Wx", "Wh", "b"):
        out(_row("d" + name, "", grads[name], f"|max| {np.abs(grads[name]).max():.4f}"))
    out("")

    errors = _spot_check(x, h0, c0, params, upstream, grads, rng, cfg.checks)
    out(f"Gradient check: {cfg.checks} random entries of each gradient vs centred differences")
    out("  " + ", ".join(f"d{k} {v:.1e}" for k, v in errors.items()) + "  (max relative error)")
    return errors


def _spot_check(x, h0, c0, params, upstream, grads, rng, n) -> dict[str, float]:
    """Relative error of ``n`` random entries per gradient against centred differences."""
    args = {"x": x, "h0": h0, "c0": c0, **params}

    def loss() -> float:
        outs = lstm_forward(args["x"], args["h0"], args["c0"], args["Wx"], args["Wh"], args["b"])
        return float(sum(np.sum(r * o) for r, o in zip(upstream, outs[:3], strict=True)))

    errors = {}
    for name, arr in args.items():
        picks = rng.choice(arr.size, size=min(n, arr.size), replace=False)
        num = numerical_grad(loss, arr, indices=picks)
        ana = grads[name].reshape(-1)[picks]
        scale = np.maximum(np.maximum(np.abs(num), np.abs(ana)), 1e-8)
        errors[name] = float(np.max(np.abs(num - ana) / scale))
    return errors
