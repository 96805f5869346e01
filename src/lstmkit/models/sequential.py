"""A stack of layers that trains, predicts, streams and explains itself.

Dimensions: ``B`` batch, ``T`` time steps, ``D`` input features (``input_size``),
``K`` output features. The model reads ``x (B, T, D)`` and returns ``(B, K)`` when its
last recurrent layer has ``return_sequences=False`` (many-to-one: each sequence's last
valid step) or ``(B, T, K)`` otherwise (many-to-many; 0 at padded steps).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lstmkit.layers.base import Layer, weights_changed
from lstmkit.layers.dense import Dense
from lstmkit.layers.directions import valid_mask
from lstmkit.layers.recurrent import Recurrent
from lstmkit.layers.stepping import step_plan
from lstmkit.ops.validate import check_finite_array, check_lengths
from lstmkit.training.losses import Loss, get_loss

FLOAT_DTYPES = ("float32", "float64")


class Sequential:
    """Layers applied one after the other.

    Parameters
    ----------
    layers : sequence of Layer
        Built here, in order; a recurrent layer after another one needs the earlier
        one's ``return_sequences=True``.
    input_size : int
        Features ``D`` of each time step.
    dtype : "float32" (default) or "float64"
        Parameter and compute precision.
    seed : int
        Seeds the weight initialisation (same seed, same weights).
    mask_value : float, optional
        Steps whose every feature equals it are padding (Keras' ``Masking``): when no
        ``lengths`` are given, each sequence's length is the step after its last unmasked
        one. Only trailing padding is read so; a masked step before an unmasked one is an
        error, never a silently different answer.
    name : str
    """

    def __init__(
        self,
        layers: Sequence[Layer],
        *,
        input_size: int,
        dtype: str = "float32",
        seed: int = 0,
        name: str = "sequential",
        allocate: bool = True,
        mask_value: float | None = None,
    ) -> None:
        if mask_value is not None and (isinstance(mask_value, bool) or
                                       not np.isfinite(float(mask_value))):  # fmt: skip
            raise ValueError(f"Sequential: mask_value must be a finite number, got {mask_value!r}")
        self.mask_value = None if mask_value is None else float(mask_value)
        if str(np.dtype(dtype)) not in FLOAT_DTYPES:
            raise ValueError(f"Sequential: dtype must be 'float32' or 'float64', got {dtype!r}")
        if int(input_size) < 1:
            raise ValueError(f"Sequential: input_size must be >= 1, got {input_size}")
        if not layers:
            raise ValueError("Sequential: give at least one layer")
        self.layers = list(layers)
        self.input_size = int(input_size)
        self.dtype = np.dtype(dtype)
        self.seed = int(seed)
        self.name = name
        self._name_layers()
        rng = np.random.default_rng(self.seed)
        size, sequence = self.input_size, True
        prev = None
        for layer in self.layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: {layer!r} is not an lstmkit layer")
            if isinstance(layer, Recurrent):
                if layer.return_state:
                    raise ValueError(
                        f"Sequential: layer '{layer.name}' has return_state=True; inside a "
                        "model each layer passes one tensor on, so use it on its own"
                    )
                if not sequence:
                    raise ValueError(
                        f"Sequential: layer '{layer.name}' reads sequences, but "
                        f"'{prev.name}' before it outputs one vector per sequence; give "
                        f"'{prev.name}' return_sequences=True"
                    )
            layer.build(size, rng, self.dtype, allocate=allocate)
            size, sequence = layer.output_size, layer.output_is_sequence(sequence)
            prev = layer
        self.output_size = size
        self.output_is_sequence = sequence

    def _name_layers(self) -> None:
        taken = {layer.name for layer in self.layers if layer.name}
        counts: dict[str, int] = {}
        for layer in self.layers:
            if layer.name:
                continue
            base = layer.kind
            k = counts.get(base, 0)
            while (name := base if k == 0 else f"{base}_{k}") in taken:
                k += 1
            counts[base] = k + 1
            layer.name = name
            taken.add(name)
        names = [layer.name for layer in self.layers]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"Sequential: layer names must be unique, repeated: {sorted(dup)}")

    # -- configuration ------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The architecture as JSON-ready data (no weights)."""
        return {
            "name": self.name,
            "input_size": self.input_size,
            "dtype": str(self.dtype),
            "seed": self.seed,
            **({"mask_value": self.mask_value} if self.mask_value is not None else {}),
            "layers": [
                {"class": type(la).__name__, "config": la.get_config()} for la in self.layers
            ],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], *, allocate: bool = True) -> Sequential:
        """Rebuild a model (fresh weights; only their shapes with ``allocate=False``)
        from :meth:`get_config`'s output."""
        layers = []
        for spec in config["layers"]:
            layer_cls = Layer.types.get(spec["class"])
            if layer_cls is None:
                raise ValueError(f"unknown layer type {spec['class']!r}")
            layers.append(layer_cls(**spec["config"]))
        return cls(
            layers,
            input_size=config["input_size"],
            dtype=config["dtype"],
            seed=config.get("seed", 0),
            name=config.get("name", "sequential"),
            allocate=allocate,
            mask_value=config.get("mask_value"),
        )

    def parameter_list(self) -> tuple[list[np.ndarray], list[str]]:
        """Every parameter array (the live arrays, not copies) and its ``layer.param`` name."""
        params, names = [], []
        for layer in self.layers:
            for k, v in layer.params.items():
                params.append(v)
                names.append(f"{layer.name}.{k}")
        return params, names

    def gradient_list(self) -> list[np.ndarray]:
        """Gradients from the last :meth:`backward`, in :meth:`parameter_list` order."""
        return [layer.grads[k] for layer in self.layers for k in layer.params]

    def count_params(self) -> int:
        return sum(layer.param_count() for layer in self.layers)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Copies of every parameter, keyed ``layer.param``."""
        params, names = self.parameter_list()
        return {n: p.copy() for n, p in zip(names, params, strict=True)}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Overwrite parameters in place from ``{layer.param: array}``; shapes must match."""
        params, names = self.parameter_list()
        lookup = dict(zip(names, params, strict=True))
        missing = sorted(set(names) - set(weights))
        extra = sorted(set(weights) - set(names))
        if missing or extra:
            raise ValueError(
                f"set_weights: names differ from the model's (missing {missing}, unknown {extra})"
            )
        for n, w in weights.items():
            w = np.asarray(w)
            if w.shape != lookup[n].shape:
                raise ValueError(
                    f"set_weights: '{n}' must have shape {lookup[n].shape}, got {w.shape}"
                )
            np.copyto(lookup[n], w, casting="same_kind")
        weights_changed()

    # -- computation --------------------------------------------------------------------
    def forward(
        self,
        x: np.ndarray,
        lengths: np.ndarray | None = None,
        *,
        training: bool = False,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """Run every layer on ``x (B, T, D)`` (already checked, in the model's dtype)."""
        out = x
        for layer in self.layers:
            out = layer.forward(out, lengths, training=training, rng=rng)
        return out

    def backward(self, dout: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate ``dL/d output`` through every layer; fills each layer's ``grads``.

        Parameters
        ----------
        dout : ndarray, the shape of the forward's output.
        input_grad : bool
            False skips the gradient with respect to the input, which training does not
            need (the first layer then saves a product per step).

        Returns
        -------
        ndarray, shape (B, T, D): the gradient with respect to the input (None when
        ``input_grad`` is False).
        """
        for k in range(len(self.layers) - 1, -1, -1):
            dout = self.layers[k].backward(dout, input_grad=input_grad or k > 0)
        return dout

    def output_mask(self, lengths: np.ndarray | None, T: int) -> np.ndarray | None:
        """``(B, T)`` valid steps of a per-step output, else None."""
        if lengths is None or not self.output_is_sequence:
            return None
        return valid_mask(lengths, len(lengths), T)

    def set_carry(self, carry: bool) -> None:
        """Make every recurrent layer carry its state across calls (truncated BPTT)."""
        for layer in self.layers:
            if isinstance(layer, Recurrent):
                layer._carry = carry
        self.reset_states()

    def reset_states(self) -> None:
        """Zero the carried state of every recurrent layer (stateful layers, :meth:`step`)."""
        for layer in self.layers:
            layer.reset_states()

    # -- input checks -------------------------------------------------------------------
    def check_x(self, x: Any, lengths: Any = None, name: str = "x"):
        """``x`` as a ``(B, T, D)`` array of the model's dtype, and checked ``lengths``."""
        x = np.asarray(x)
        if x.dtype.kind not in "fiub":
            raise TypeError(f"{name} must hold numbers, got dtype {x.dtype}")
        if x.ndim != 3 or x.shape[2] != self.input_size:
            hint = ""
            if x.ndim == 2 and x.shape[1] == self.input_size:
                hint = "; for a single sequence use x[None]"
            elif x.ndim == 2 and self.input_size == 1:
                hint = "; for one feature use x[..., None]"
            raise ValueError(
                f"{name} must have shape (B, T, D) = (B, T, {self.input_size}), got {x.shape}{hint}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"{name} is empty: shape {x.shape}")
        if x.dtype.kind == "f":
            check_finite_array(name, x)
        if lengths is None and self.mask_value is not None:
            lengths = self.lengths_from_mask(x, name)
        if lengths is not None:
            lengths = np.asarray(lengths)
            if lengths.ndim != 1 or lengths.shape[0] != x.shape[0]:
                raise ValueError(
                    f"lengths must have shape (B,) = ({x.shape[0]},), got {lengths.shape}"
                )
            lengths = check_lengths(self.name, lengths, x.shape[0], x.shape[1])
        return x.astype(self.dtype, copy=False), lengths

    def lengths_from_mask(self, x: np.ndarray, name: str = "x") -> np.ndarray:
        """``(B,)`` lengths of ``x (B, T, D)`` from :attr:`mask_value` (trailing padding)."""
        masked = np.all(x == self.mask_value, axis=2)  # (B, T)
        T = x.shape[1]
        kept = ~masked
        lengths = np.where(kept.any(axis=1), T - np.argmax(kept[:, ::-1], axis=1), 0)
        for b in range(x.shape[0]):
            if lengths[b] == 0:
                raise ValueError(f"{name}[{b}] is all padding (every step equals mask_value "
                                 f"{self.mask_value:g}); give each sequence a step")  # fmt: skip
            inner = np.flatnonzero(masked[b, : lengths[b]])
            if inner.size:
                raise ValueError(
                    f"{name}[{b}] step {int(inner[0])} equals mask_value {self.mask_value:g} in "
                    "every feature, but a later step does not: lstmkit reads the mask as "
                    "trailing padding only; pass lengths= to say where each sequence ends"
                )
        return lengths

    def check_loss(self, loss: Loss) -> None:
        """Reject a classification loss on an output that is already a probability."""
        last = self.layers[-1]
        if loss.name in ("cross_entropy", "bce") and isinstance(last, Dense) and last.activation:
            raise ValueError(
                f"loss '{loss.name}' takes raw scores (logits); remove "
                f"activation={last.activation!r} from the last Dense layer '{last.name}'"
            )

    def prepare(self, x, y, lengths, loss: Loss, what=("x", "y")):
        """Checked ``(x, y, lengths)`` for training or evaluation with ``loss``."""
        x, lengths = self.check_x(x, lengths, what[0])
        y = np.asarray(y)
        if y.shape[:1] != x.shape[:1]:
            raise ValueError(
                f"{what[1]} must have one target per sample: {x.shape[0]} in {what[0]}, "
                f"got shape {y.shape}"
            )
        B, T = x.shape[:2]
        pred_shape = (B, T, self.output_size) if self.output_is_sequence else (B, self.output_size)
        if y.dtype.kind not in "fiub":
            raise TypeError(f"{what[1]} must hold numbers, got dtype {y.dtype}")
        mask = self.output_mask(lengths, T)
        if y.dtype.kind == "f":
            # Targets at padded steps are ignored, so they may hold anything (even NaN).
            valid = y if mask is None or y.ndim < 2 else y[mask]
            check_finite_array(what[1], valid)
            if mask is not None and y.ndim >= 2:
                y = np.where(mask.reshape(mask.shape + (1,) * (y.ndim - 2)), y, 0)
        y = loss.prepare_target(y, pred_shape)
        if not loss.labels:
            y = y.astype(self.dtype, copy=False)
        return x, y, lengths

    # -- public API ---------------------------------------------------------------------
    def predict(self, x: Any, lengths: Any = None, *, batch_size: int = 256) -> np.ndarray:
        """Outputs for ``x (B, T, D)``: ``(B, K)`` or ``(B, T, K)`` (see the module docstring).

        A model with stateful layers reads ``x`` in one batch: each row is its own stream,
        continued from the previous call.
        """
        x, lengths = self.check_x(x, lengths)
        if any(getattr(layer, "stateful", False) for layer in self.layers):
            batch_size = x.shape[0]
        outs = []
        for start in range(0, x.shape[0], batch_size):
            sl = slice(start, start + batch_size)
            outs.append(self.forward(x[sl], None if lengths is None else lengths[sl]))
        return np.concatenate(outs, axis=0)

    def __call__(self, x: Any, lengths: Any = None) -> np.ndarray:
        return self.predict(x, lengths)

    def evaluate(
        self,
        x: Any,
        y: Any,
        lengths: Any = None,
        *,
        loss: str | Loss = "mse",
        batch_size: int = 256,
    ) -> float:
        """Mean ``loss`` over every valid output entry of ``x``."""
        from lstmkit.training.loop import Data, evaluate_data

        loss_fn = get_loss(loss)
        self.check_loss(loss_fn)
        data = Data(*self.prepare(x, y, lengths, loss_fn), self.output_is_sequence)
        return evaluate_data(self, data, loss_fn, batch_size)

    def fit(self, x: Any, y: Any, **kwargs: Any):
        """Train on ``x (N, T, D)`` and targets ``y``; returns a :class:`History`.

        Parameters
        ----------
        x : array, shape (N, T, D)
        y : array, shape (N, K) for a many-to-one model, (N, T, K) for a many-to-many
            one (the ``K`` axis may be dropped when ``K = 1``); integer labels ``(N,)`` or
            ``(N, T)`` for ``loss="cross_entropy"``.
        lengths : array of int, shape (N,), optional
            Valid steps per sequence; the loss reads only valid steps.
        epochs, batch_size : int (defaults 10 and 32)
        validation_data : (x, y) or (x, y, lengths), optional
        validation_split : float, optional
            Fraction held out from the end of ``x`` (chronological, before shuffling).
        loss : "mse" (default), "mae", "huber", "cross_entropy", "bce" or a Loss
        optimizer : "adam" (default), "adamw", "sgd", "rmsprop" or an Optimizer
        lr : float, optional; base learning rate (default: the optimizer's).
        clip_norm : float, optional; clip gradients to this global norm.
        schedule : None, "cosine", "step" or a Schedule (per epoch).
        early_stopping : EarlyStopping or int (patience), optional.
        tbptt : int, optional; truncated backpropagation through time in chunks of
            this many steps (state carried across chunks).
        shuffle : bool (default True); seed : int (default 0).
        verbose : 0 silent, 1 progress bar on a terminal (default), 2 one line per epoch.

        Returns
        -------
        History
        """
        from lstmkit.training.loop import fit

        return fit(self, x, y, **kwargs)

    def step(self, x_t: Any) -> np.ndarray:
        """One streaming step: ``x_t (B, D)`` → output ``(B, K)``, state kept in the layers.

        The outputs equal :meth:`predict` on the sequence so far (its step ``t`` for a
        many-to-many model, its result for a many-to-one one). Call :meth:`reset_states`
        to start a new stream.

        Under the compiled backend the first call prepares the whole model's step (one
        compiled call per step, layers/stepping.py); it is prepared again when the batch
        size or the weights change. lstmkit notices its own changes to weights (fit,
        optimizers, ``set_weights``, files, a new array in ``layer.params``); after
        editing a weight array in place yourself, call
        :func:`lstmkit.layers.weights_changed`.
        """
        x_t = np.asarray(x_t)
        if x_t.ndim != 2 or x_t.shape[1] != self.input_size:
            raise ValueError(
                f"x_t must have shape (B, D) = (B, {self.input_size}), got {x_t.shape}"
            )
        plan = step_plan(self, self.layers, self.input_size, x_t.shape[0], self.dtype)
        if plan is not None:
            return plan.step(np.ascontiguousarray(x_t, self.dtype))
        check_finite_array("x_t", x_t)
        out = x_t.astype(self.dtype, copy=False)
        for layer in self.layers:
            out = layer.step(out)
        return out

    def trace(self, x: Any, lengths: Any = None) -> dict[str, dict[str, dict[str, np.ndarray]]]:
        """Per-step gate activations and states of every recurrent layer, for one batch.

        Returns
        -------
        dict layer name → direction (``"forward"``, ``"reverse"``) → name → ndarray
        ``(B, T, ·)``. LSTM: ``i, f, o, g`` (gates), ``c`` (cell), ``h`` (output);
        GRU: ``r, z, n, h``; RNN: ``h``. Steps past a sequence's length are NaN.
        """
        x, lengths = self.check_x(x, lengths)
        traces = {}
        out = x
        for layer in self.layers:
            if isinstance(layer, Recurrent):
                out, traces[layer.name] = layer.trace(out, lengths)
            else:
                out = layer.forward(out, lengths)
        return traces

    def summary(self, print_fn=print) -> str:
        """A Keras-like table of layers, output shapes, parameter counts, every weight
        block's shape and meaning, and the recurrent state; printed and returned."""
        from lstmkit.models.summary import summary_text

        text = summary_text(self)
        if print_fn is not None:
            print_fn(text)
        return text

    def save(self, path: str) -> None:
        """Write the model to a safetensors file (see :func:`lstmkit.save`)."""
        from lstmkit.models.io import save

        save(self, path)
