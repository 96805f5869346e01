"""Recurrent layers over batch-first sequences: directions, stacking, state, streaming.

Dimensions: ``B`` batch, ``T`` time steps, ``D`` input features, ``P`` the cell's
output size (hidden units, or the projection size), ``dirs`` 1 or 2.

The cell (cells.py) does one direction's math through ``lstmkit.ops``; this layer
adds what SPEC puts at the layer level:

- bidirectional: the reverse direction reads each sequence's valid part backwards;
  outputs are ``[forward | reverse]`` on the feature axis, final states forward first;
- ``return_sequences``: every step ``(B, T, dirs·P)`` or the final output ``(B, dirs·P)``
  (each direction's final state, so the last *valid* step under ``lengths``);
- ``stateful``: the final state becomes the next call's initial state until
  :meth:`reset_states`; :meth:`step` streams one time step on that same carried state.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from lstmkit.layers.base import Layer, whole_number
from lstmkit.layers.cells import Cell, GRUCell, LSTMCell, RNNCell, State
from lstmkit.layers.directions import reverse_valid, valid_mask
from lstmkit.ops.batch_split import whole_batches
from lstmkit.ops.validate import check_lengths

DIRECTIONS = ("forward", "reverse")


class Recurrent(Layer):
    """Shared machinery of :class:`LSTM`, :class:`GRU` and :class:`RNN`."""

    cell_class: ClassVar[type[Cell]]

    def __init__(
        self,
        hidden_size: int,
        *,
        return_sequences: bool = False,
        return_state: bool = False,
        bidirectional: bool = False,
        stateful: bool = False,
        go_backwards: bool = False,
        name: str | None = None,
        **cell_options: Any,
    ) -> None:
        super().__init__(name=name)
        hidden_size = whole_number(type(self).__name__, "hidden_size", hidden_size)
        if go_backwards and bidirectional:
            raise ValueError(
                f"{type(self).__name__}: go_backwards=True and bidirectional=True: a "
                "bidirectional layer already has its reverse direction"
            )
        if stateful and (bidirectional or go_backwards):
            raise ValueError(
                f"{type(self).__name__}: stateful=True needs a unidirectional forward layer; the "
                "reverse direction of the next chunk would have to run before this one"
            )
        self.cell = self.cell_class(int(hidden_size), **cell_options)
        self.hidden_size = int(hidden_size)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.bidirectional = bool(bidirectional)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        #: Carried state per direction (stateful calls and :meth:`step`), or None.
        self.state_: list[State] | None = None
        #: Final state per direction of the last forward.
        self.final_state_: list[State] | None = None
        self._carry = False  # set by fit() for truncated BPTT
        self._cache: dict[str, Any] | None = None

    # -- construction -------------------------------------------------------------------
    @property
    def dirs(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def directions(self) -> tuple[str, ...]:
        """``("forward",)``, ``("forward", "reverse")``, or ``("reverse",)`` for a layer
        that reads each sequence backwards only (``go_backwards``)."""
        return ("reverse",) if self.go_backwards else DIRECTIONS[: self.dirs]

    @staticmethod
    def suffix(direction: str) -> str:
        """Parameter-name suffix of a direction (PyTorch's ``_reverse``)."""
        return "" if direction == "forward" else "_reverse"

    def build(self, input_size, rng, dtype, *, allocate=True):
        super().build(input_size, rng, dtype)
        self.params = {}
        for d in self.directions:
            if allocate:
                made = self.cell.init_params(self.input_size, rng, self.dtype)
            else:
                made = self._shape_only(self.cell.describe(self.input_size))
            for k, v in made.items():
                self.params[k + self.suffix(d)] = v
        self._cell_names = [k for k, _, _ in self.cell.describe(self.input_size)]
        self.grads = {}

    @property
    def output_size(self) -> int:
        return self.dirs * self.cell.out_size

    def output_is_sequence(self, input_is_sequence: bool) -> bool:
        return self.return_sequences

    def get_config(self) -> dict[str, Any]:
        return {
            "hidden_size": self.hidden_size,
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "bidirectional": self.bidirectional,
            "stateful": self.stateful,
            **({"go_backwards": True} if self.go_backwards else {}),
            **self.cell.options(),
            "name": self.name,
        }

    def _dir_params(self, direction: str) -> dict[str, np.ndarray]:
        """One direction's parameters under the cell's names (``Wx``, not ``Wx_reverse``)."""
        s = self.suffix(direction)
        return {k: self.params[k + s] for k in self._cell_names}

    def describe_params(self):
        rows = []
        for d in self.directions:
            for k, shape, meaning in self.cell.describe(self.input_size):
                rows.append((k + self.suffix(d), shape, meaning))
        return rows

    def describe_state(self):
        rows = []
        for d in self.directions:
            for n, size in zip(self.cell.state_names, self.cell.state_sizes(), strict=True):
                label = n if self.dirs == 1 else f"{n} ({d})"
                rows.append((label, f"(B, {size})"))
        return rows

    # -- state --------------------------------------------------------------------------
    def reset_states(self) -> None:
        self.state_ = None

    def _carried(self, B: int) -> list[State | None]:
        if self.state_ is None:
            return [None] * self.dirs
        carried_B = self.state_[0][0].shape[0]
        if carried_B != B:
            raise ValueError(
                f"{self.name}: the carried state is for batch size {carried_B}, got {B}; "
                "call reset_states() first, or use a batch size that divides the data"
            )
        return list(self.state_)

    def _check_input(self, x: np.ndarray, ndim: int) -> None:
        dims, sizes = (("B", "T", "D"), "(B, T, {})") if ndim == 3 else (("B", "D"), "(B, {})")
        if x.ndim == ndim and x.shape[-1] == self.input_size:
            return
        hint = ""
        if ndim == 3 and x.ndim == 2:
            hint = "; a recurrent layer reads sequences, so a recurrent layer before it needs "
            hint += "return_sequences=True"
        raise ValueError(
            f"{self.name}: input must have shape ({', '.join(dims)}) = "
            f"{sizes.format(self.input_size)}, got {x.shape}{hint}"
        )

    # -- sequence forward / backward ----------------------------------------------------
    def forward(self, x, lengths=None, *, training=False, rng=None, initial_state=None):
        """Run every direction over ``x``.

        Parameters
        ----------
        x : ndarray, shape (B, T, D)
        lengths : array of int, shape (B,), optional; valid steps per sequence.
        training : keep the caches for :meth:`backward`.
        initial_state : list of state tuples per direction, optional (zeros, or the
            carried state when ``stateful``).

        Returns
        -------
        out : ndarray, shape (B, T, dirs·P) with ``return_sequences``, else (B, dirs·P)
        states : tuple of ndarray, only with ``return_state``: final ``h`` (``h, c``
            for the LSTM) of each direction, forward first, each ``(B, ·)``.
        """
        x = np.asarray(x)
        self._check_input(x, 3)
        B, T, _ = x.shape
        lengths = check_lengths(self.name, lengths, B, T)
        carry = self.stateful or self._carry
        init = initial_state or (self._carried(B) if carry else [None] * self.dirs)
        outs, finals, caches = [], [], []
        for d, s0 in zip(self.directions, init, strict=True):
            xd = x if d == "forward" else reverse_valid(x, lengths)
            hs, final, cache = self.cell.run(xd, s0, self._dir_params(d), lengths, training)
            if d == "reverse":
                hs = reverse_valid(hs, lengths)
            outs.append(hs if self.return_sequences else final[0])
            finals.append(final)
            caches.append(cache)
        self.final_state_ = finals
        if carry:
            self.state_ = [tuple(a.copy() for a in f) for f in finals]
        out = outs[0] if self.dirs == 1 else np.concatenate(outs, axis=-1)
        self._cache = {"caches": caches, "lengths": lengths} if training else None
        if self.return_state:
            return out, tuple(a for f in finals for a in f)
        return out

    def backward(self, dout, dstates=None, *, input_grad=True):
        """Gradients of the last training forward.

        Parameters
        ----------
        dout : ndarray, the shape of the forward's ``out``.
        dstates : tuple like the forward's ``states``, optional (gradient of the final states).
        input_grad : False skips ``dx`` (returns None): the first layer in training.

        Returns
        -------
        dx : ndarray, shape (B, T, D). Gradients of the initial states are left in
        ``self.initial_state_grads_`` (list per direction).
        """
        if self._cache is None:
            raise RuntimeError(f"{self.name}: backward() needs a forward(..., training=True)")
        caches, lengths = self._cache["caches"], self._cache["lengths"]
        P = self.cell.out_size
        n_state = len(self.cell.state_names)
        dx = None
        self.grads = {}
        self.initial_state_grads_ = []
        for k, (d, cache) in enumerate(zip(self.directions, caches, strict=True)):
            part = dout[..., k * P : (k + 1) * P]
            dhs = part if self.return_sequences else None
            dfinal = None if dstates is None else list(dstates[k * n_state : (k + 1) * n_state])
            if not self.return_sequences:
                dfinal = dfinal or [None] * n_state
                dfinal[0] = part if dfinal[0] is None else dfinal[0] + part
            if d == "reverse" and dhs is not None:
                dhs = reverse_valid(dhs, lengths)
            dxd, dstate0, dparams = self.cell.back(dhs, dfinal, cache, input_grad)
            if input_grad:
                if d == "reverse":
                    dxd = reverse_valid(dxd, lengths)
                dx = dxd if dx is None else dx + dxd
            self.initial_state_grads_.append(dstate0)
            for name, g in dparams.items():
                self.grads[name + self.suffix(d)] = g
        return dx

    # -- streaming ----------------------------------------------------------------------
    def step(self, x_t):
        """One streaming time step on the carried state (zeros after :meth:`reset_states`).

        Parameters
        ----------
        x_t : ndarray, shape (B, D)

        Returns
        -------
        ndarray, shape (B, P): the output ``h_t``, the same numbers as the sequence
        forward's step ``t``.
        """
        if "reverse" in self.directions:
            what = "a bidirectional" if self.bidirectional else "a go_backwards"
            raise ValueError(
                f"{self.name}: step() streams forward; {what} layer reads each sequence from "
                "its end, so it needs the whole sequence (use predict)"
            )
        x_t = np.asarray(x_t)
        self._check_input(x_t, 2)
        B = x_t.shape[0]
        if x_t.dtype == self.dtype:
            from lstmkit.layers.stepping import step_plan

            plan = step_plan(self, [self], self.input_size, B, self.dtype)
            if plan is not None:
                return plan.step(np.ascontiguousarray(x_t))
        state = self._carried(B)[0]
        if state is None:
            dtype = np.result_type(x_t.dtype, self.dtype)
            state = tuple(np.zeros((B, n), dtype) for n in self.cell.state_sizes())
        h, state = self.cell.step(x_t, state, self._dir_params("forward"))
        self.state_ = [state]
        return h

    # -- inspection ---------------------------------------------------------------------
    def trace(self, x, lengths=None):
        """Run the layer on one batch and expose every step's gates and states.

        Returns
        -------
        out : the forward's output (as :meth:`forward`)
        traces : dict direction → dict name → ndarray (B, T, ·). Names: LSTM
            ``i, f, o, g, c, h``, GRU ``r, z, n, h``, RNN ``h``. Time is the input's time
            axis in both directions; steps past a sequence's length are NaN.
        """
        saved = self._cache
        with whole_batches():  # the caches are read whole, not in batch parts
            out = self.forward(x, lengths, training=True)
        lengths = self._cache["lengths"]  # as the forward checked them
        B, T = np.shape(x)[:2]
        valid = valid_mask(lengths, B, T)[:, :, None]
        traces = {}
        for d, cache in zip(self.directions, self._cache["caches"], strict=True):
            tr = self.cell.trace(cache)
            if d == "reverse":
                tr = {k: reverse_valid(v, lengths) for k, v in tr.items()}
            traces[d] = {k: np.where(valid, v, np.nan) for k, v in tr.items()}
        self._cache = saved
        return out, traces


def _arguments(local_vars: dict[str, Any]) -> dict[str, Any]:
    """A subclass constructor's arguments, to hand on to :class:`Recurrent` as they are
    (the subclasses spell out their signatures for users and tools)."""
    return {k: v for k, v in local_vars.items() if k not in ("self", "__class__")}


class LSTM(Recurrent):
    """Long short-term memory layer (SPEC: gates i, f, o, g; one bias).

    Parameters
    ----------
    hidden_size : int
        Units ``H`` (cells per direction).
    return_sequences : output every step ``(B, T, dirs·P)`` instead of the last ``(B, dirs·P)``.
    return_state : also return the final ``(h, c)`` of each direction (layer used on its own).
    bidirectional : add a reverse direction that reads each valid part backwards.
    go_backwards : one direction only, reading each valid part backwards; its outputs keep
        the input's time order (ONNX's ``direction="reverse"``; Keras' ``go_backwards``
        returns the steps reversed).
    peephole : gates also see the cell (Gers & Schmidhuber 2000).
    proj_size : ``P < H``; ``h_t = Wr (o ⊙ tanh(c_t))`` as PyTorch's ``proj_size``.
    stateful : carry the final state into the next call until :meth:`reset_states`.
    """

    cell_class = LSTMCell
    kind = "lstm"

    def __init__(
        self,
        hidden_size: int,
        *,
        return_sequences: bool = False,
        return_state: bool = False,
        bidirectional: bool = False,
        peephole: bool = False,
        proj_size: int | None = None,
        stateful: bool = False,
        go_backwards: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(**_arguments(locals()))


class GRU(Recurrent):
    """Gated recurrent unit layer (SPEC: gates r, z, n; biases ``bx`` and ``bh``).

    ``reset_after=True`` is PyTorch's variant (and Keras' default); ``False`` applies the
    reset gate before the recurrent product. Other arguments as :class:`LSTM`.
    """

    cell_class = GRUCell
    kind = "gru"

    def __init__(
        self,
        hidden_size: int,
        *,
        reset_after: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        bidirectional: bool = False,
        stateful: bool = False,
        go_backwards: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(**_arguments(locals()))


class RNN(Recurrent):
    """Plain (Elman) recurrent layer, ``h_t = φ(Wx x_t + Wh h_{t-1} + b)``.

    ``activation`` is ``"tanh"`` or ``"relu"``. Other arguments as :class:`LSTM`.
    """

    cell_class = RNNCell
    kind = "rnn"

    def __init__(
        self,
        hidden_size: int,
        *,
        activation: str = "tanh",
        return_sequences: bool = False,
        return_state: bool = False,
        bidirectional: bool = False,
        stateful: bool = False,
        go_backwards: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(**_arguments(locals()))
