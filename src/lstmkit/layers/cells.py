"""The one-step cells a recurrent layer runs over time, as adapters onto ``lstmkit.ops``.

Dimensions: ``B`` batch, ``T`` time steps, ``D`` input features, ``H`` hidden units,
``P`` recurrent output size (the projection size, else ``H``). A cell owns no arrays:
it knows its parameter shapes and initialisation, and maps the layer's calls (run a
sequence, backpropagate, take one streaming step, expose the gates) onto the ops.
States are tuples: ``(h, c)`` for the LSTM, ``(h,)`` for the GRU and RNN.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from lstmkit.layers.base import whole_number
from lstmkit.layers.init import glorot_uniform, orthogonal_blocks
from lstmkit.ops import (
    gru_backward,
    gru_forward,
    gru_step,
    lstm_backward,
    lstm_forward,
    lstm_step,
    rnn_backward,
    rnn_forward,
    rnn_step,
)
from lstmkit.ops.lstm import lstm_infer

State = tuple[np.ndarray, ...]


class Cell:
    """Shared interface; see the module docstring."""

    #: Names of the gates :meth:`trace` returns, in canonical order.
    gates: ClassVar[tuple[str, ...]] = ()
    #: Names of the state arrays, in the order of the state tuple.
    state_names: ClassVar[tuple[str, ...]] = ("h",)

    def __init__(self, hidden_size: int) -> None:
        self.H = int(hidden_size)

    @property
    def out_size(self) -> int:
        return self.H

    def state_sizes(self) -> tuple[int, ...]:
        return (self.H,)

    def options(self) -> dict[str, Any]:
        """Cell options as layer constructor arguments."""
        return {}

    def init_params(self, D: int, rng: np.random.Generator, dtype) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def describe(self, D: int) -> list[tuple[str, tuple[int, ...], str]]:
        raise NotImplementedError

    def run(self, x, state, p, lengths, training=True):
        """``x (B, T, D)`` → ``hs (B, T, P)``, final state, cache (None when not
        ``training``, if the cell has a lighter inference path)."""
        raise NotImplementedError

    def back(self, dhs, dstate, cache, input_grad=True):
        """→ ``dx (B, T, D)`` (None unless ``input_grad``), gradient of the initial state,
        parameter gradients."""
        raise NotImplementedError

    def step(self, x_t, state, p):
        """``x_t (B, D)`` → ``h (B, P)``, new state."""
        raise NotImplementedError

    def trace(self, cache) -> dict[str, np.ndarray]:
        """Gate activations and states of a forward, each ``(B, T, ·)``."""
        raise NotImplementedError


def _per_step(arr: np.ndarray) -> np.ndarray:
    """The ops' feature-major ``(T, N, B)`` to batch-first ``(B, T, N)``."""
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def _gate_blocks(gates: np.ndarray, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Split activated gates ``(T, k·H, B)`` into ``{name: (B, T, H)}``."""
    blocks = np.split(gates, len(names), axis=1)
    return {n: _per_step(g) for n, g in zip(names, blocks, strict=True)}


class LSTMCell(Cell):
    gates = ("i", "f", "o", "g")
    state_names = ("h", "c")

    def __init__(self, hidden_size: int, *, peephole: bool = False, proj_size: int | None = None):
        super().__init__(hidden_size)
        self.peephole = bool(peephole)
        if proj_size is not None:
            proj_size = whole_number("LSTM", "proj_size", proj_size)
        if proj_size is not None and not 0 < proj_size < self.H:
            raise ValueError(
                f"LSTM: proj_size must be between 1 and hidden_size - 1 = {self.H - 1} "
                f"(as in PyTorch), got {proj_size}"
            )
        self.P = None if proj_size is None else int(proj_size)

    @property
    def out_size(self) -> int:
        return self.P or self.H

    def state_sizes(self) -> tuple[int, ...]:
        return (self.out_size, self.H)

    def options(self) -> dict[str, Any]:
        return {"peephole": self.peephole, "proj_size": self.P}

    def init_params(self, D, rng, dtype):
        H, P = self.H, self.out_size
        b = np.zeros(4 * H, dtype)
        b[H : 2 * H] = 1.0  # forget gate opens at the start
        p = {
            "Wx": glorot_uniform(rng, (4 * H, D), dtype),
            "Wh": orthogonal_blocks(rng, 4, (H, P), dtype),
            "b": b,
        }
        if self.peephole:
            p["peepholes"] = np.zeros(3 * H, dtype)
        if self.P:
            p["Wr"] = glorot_uniform(rng, (self.P, H), dtype)
        return p

    def describe(self, D):
        H, P = self.H, self.out_size
        rows = [
            ("Wx", (4 * H, D), f"4 gate blocks i, f, o, g of ({H}, {D}): input → gate"),
            ("Wh", (4 * H, P), f"4 gate blocks of ({H}, {P}): previous h → gate"),
            ("b", (4 * H,), f"4 gate blocks of ({H},); forget block starts at 1"),
        ]
        if self.peephole:
            rows.append(("peepholes", (3 * H,), f"3 blocks p_i, p_f, p_o of ({H},): c → gate"))
        if self.P:
            rows.append(("Wr", (self.P, H), f"projection: h_t = Wr (o ⊙ tanh(c_t)), ({P}, {H})"))
        return rows

    def _p(self, p):
        return {"peepholes": p.get("peepholes"), "Wr": p.get("Wr")}

    def run(self, x, state, p, lengths, training=True):
        h0, c0 = state if state is not None else (None, None)
        if not training:  # no backward will follow: keep no cache
            hs, hT, cT = lstm_infer(
                x, h0, c0, p["Wx"], p["Wh"], p["b"], lengths=lengths, **self._p(p)
            )
            return hs, (hT, cT), None
        hs, hT, cT, cache = lstm_forward(
            x, h0, c0, p["Wx"], p["Wh"], p["b"], lengths=lengths, **self._p(p)
        )
        return hs, (hT, cT), cache

    def back(self, dhs, dstate, cache, input_grad=True):
        dhT, dcT = dstate if dstate is not None else (None, None)
        g = lstm_backward(dhs, dhT, dcT, cache, input_grad=input_grad)
        return g.pop("x"), (g.pop("h0"), g.pop("c0")), g

    def step(self, x_t, state, p):
        h, c = state
        h, c = lstm_step(x_t, h, c, p["Wx"], p["Wh"], p["b"], **self._p(p))
        return h, (h, c)

    def trace(self, cache):
        out = _gate_blocks(cache.gates, self.gates)
        out["c"] = _per_step(cache.c[1:])
        out["h"] = _per_step(cache.h[1:])
        return out


class GRUCell(Cell):
    gates = ("r", "z", "n")

    def __init__(self, hidden_size: int, *, reset_after: bool = True):
        super().__init__(hidden_size)
        self.reset_after = bool(reset_after)

    def options(self) -> dict[str, Any]:
        return {"reset_after": self.reset_after}

    def init_params(self, D, rng, dtype):
        H = self.H
        return {
            "Wx": glorot_uniform(rng, (3 * H, D), dtype),
            "Wh": orthogonal_blocks(rng, 3, (H, H), dtype),
            "bx": np.zeros(3 * H, dtype),
            "bh": np.zeros(3 * H, dtype),
        }

    def describe(self, D):
        H = self.H
        where = "r ⊙ (Wh_n h + bh_n)" if self.reset_after else "Wh_n (r ⊙ h) + bh_n"
        return [
            ("Wx", (3 * H, D), f"3 gate blocks r, z, n of ({H}, {D}): input → gate"),
            ("Wh", (3 * H, H), f"3 gate blocks of ({H}, {H}): previous h → gate; n uses {where}"),
            ("bx", (3 * H,), f"input bias, 3 blocks of ({H},)"),
            ("bh", (3 * H,), f"recurrent bias, 3 blocks of ({H},)"),
        ]

    def run(self, x, state, p, lengths, training=True):
        h0 = None if state is None else state[0]
        hs, hT, cache = gru_forward(
            x, h0, p["Wx"], p["Wh"], p["bx"], p["bh"],
            reset_after=self.reset_after, lengths=lengths,
        )  # fmt: skip
        return hs, (hT,), cache

    def back(self, dhs, dstate, cache, input_grad=True):
        g = gru_backward(dhs, None if dstate is None else dstate[0], cache, input_grad=input_grad)
        return g.pop("x"), (g.pop("h0"),), g

    def step(self, x_t, state, p):
        h = gru_step(
            x_t, state[0], p["Wx"], p["Wh"], p["bx"], p["bh"], reset_after=self.reset_after
        )
        return h, (h,)

    def trace(self, cache):
        out = _gate_blocks(cache.gates, self.gates)
        out["h"] = _per_step(cache.h[1:])
        return out


class RNNCell(Cell):
    def __init__(self, hidden_size: int, *, activation: str = "tanh"):
        super().__init__(hidden_size)
        if activation not in ("tanh", "relu"):
            raise ValueError(f"RNN: activation must be 'tanh' or 'relu', got {activation!r}")
        self.activation = activation

    def options(self) -> dict[str, Any]:
        return {"activation": self.activation}

    def init_params(self, D, rng, dtype):
        H = self.H
        return {
            "Wx": glorot_uniform(rng, (H, D), dtype),
            "Wh": orthogonal_blocks(rng, 1, (H, H), dtype),
            "b": np.zeros(H, dtype),
        }

    def describe(self, D):
        H = self.H
        return [
            ("Wx", (H, D), "input → hidden"),
            ("Wh", (H, H), "previous h → hidden"),
            ("b", (H,), "bias"),
        ]

    def run(self, x, state, p, lengths, training=True):
        h0 = None if state is None else state[0]
        hs, hT, cache = rnn_forward(
            x, h0, p["Wx"], p["Wh"], p["b"], activation=self.activation, lengths=lengths
        )
        return hs, (hT,), cache

    def back(self, dhs, dstate, cache, input_grad=True):
        g = rnn_backward(dhs, None if dstate is None else dstate[0], cache, input_grad=input_grad)
        return g.pop("x"), (g.pop("h0"),), g

    def step(self, x_t, state, p):
        h = rnn_step(x_t, state[0], p["Wx"], p["Wh"], p["b"], activation=self.activation)
        return h, (h,)

    def trace(self, cache):
        return {"h": _per_step(cache.h[1:])}
