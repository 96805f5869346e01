"""What every layer provides, so :class:`lstmkit.Sequential` can treat them alike.

Dimensions: ``B`` batch, ``T`` time steps, ``F`` a layer's input features.
A layer is *built* once its input size is known; it then owns ``params`` (name →
array) and, after :meth:`Layer.backward`, ``grads`` with the same keys and shapes.
The forward keeps what its backward needs on the layer (one pending forward at a
time), as Keras and CS231N layers do.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, ClassVar

import numpy as np


def whole_number(owner: str, name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int when it is a whole number (an ``int`` or NumPy integer, not a
    bool, a float or a string) of at least ``minimum``; else a ValueError that names it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{owner}: {name} must be a whole number, got {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be >= {minimum}, got {value}")
    return int(value)


#: Bumped whenever lstmkit changes weights (a new ``params`` dict or entry, an optimizer
#: step, ``set_weights``, a file or converter writing into a model). Prepared streaming
#: plans (stepping.py) hold a copy of the weights and compare this number on every step.
WEIGHTS = {"generation": 0}


def weights_changed() -> None:
    """Tell lstmkit that weight arrays were changed in place, so that prepared streaming
    steps (:meth:`lstmkit.Sequential.step`, :meth:`Layer.step`) take the new values.
    lstmkit's own code calls it; call it after editing ``layer.params[...]`` in place
    yourself (assigning a new array to ``layer.params[name]`` is noticed without it)."""
    WEIGHTS["generation"] += 1


class Params(dict):
    """A layer's ``name → array`` dict that reports a new or replaced entry."""

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        weights_changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        weights_changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        weights_changed()


class ParamShape:
    """A parameter's shape and dtype without its numbers: what ``allocate=False`` builds,
    so any size can be described (even one whose bytes exceed what NumPy can address)."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.shape, self.dtype = shape, np.dtype(dtype)
        self.ndim = len(shape)
        self.size = math.prod(shape)

    def __repr__(self) -> str:
        return f"ParamShape({self.shape}, {self.dtype})"


class Layer:
    """Base class: parameters, a forward over ``(B, T, F)`` or ``(B, F)``, its backward."""

    #: Registry of layer types by name, for rebuilding a model from its JSON config.
    types: ClassVar[dict[str, type[Layer]]] = {}
    #: Prefix for automatic names (``lstm``, ``lstm_1``, ...).
    kind: ClassVar[str] = "layer"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Layer.types[cls.__name__] = cls

    def __init__(self, *, name: str | None = None) -> None:
        self.name = name
        self.params = {}
        self.grads: dict[str, np.ndarray] = {}
        self.input_size: int | None = None
        self.dtype: np.dtype | None = None

    @property
    def params(self) -> dict[str, np.ndarray]:
        """Parameter name → array (the live arrays)."""
        return self._params

    @params.setter
    def params(self, value: dict[str, np.ndarray]) -> None:
        self._params = Params(value)
        weights_changed()

    # -- construction -------------------------------------------------------------------
    def build(
        self, input_size: int, rng: np.random.Generator, dtype: np.dtype, *, allocate: bool = True
    ) -> None:
        """Create the parameters for ``input_size`` features, drawn from ``rng``; with
        ``allocate=False`` only their shapes (:class:`ParamShape`, no memory), enough for
        everything that reads the architecture (the cost analyzer, a file's checks)."""
        self.input_size = int(input_size)
        self.dtype = np.dtype(dtype)

    def _shape_only(self, described) -> dict[str, ParamShape]:
        """A :class:`ParamShape` per ``(name, shape, meaning)``."""
        return {
            k: ParamShape(tuple(int(n) for n in shape), self.dtype) for k, shape, _ in described
        }

    @property
    def built(self) -> bool:
        return self.input_size is not None

    @property
    def output_size(self) -> int:
        """Features of the output (its last axis)."""
        raise NotImplementedError

    def output_is_sequence(self, input_is_sequence: bool) -> bool:
        """Whether the output keeps a time axis, given whether the input has one."""
        return input_is_sequence

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-ready; ``type(**config)`` rebuilds the layer."""
        return {"name": self.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    # -- computation --------------------------------------------------------------------
    def forward(
        self,
        x: np.ndarray,
        lengths: np.ndarray | None = None,
        *,
        training: bool = False,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """Output for ``x (B, T, F)`` or ``(B, F)``; training mode keeps a cache."""
        raise NotImplementedError

    def backward(self, dout: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Gradient with respect to the input of the last training forward; fills ``grads``.
        With ``input_grad=False`` (the first layer in training) that gradient is skipped
        and None returned."""
        raise NotImplementedError

    def step(self, x_t: np.ndarray) -> np.ndarray:
        """Streaming inference on one time step ``x_t (B, F)``; stateless layers map it."""
        return self.forward(x_t)

    def reset_states(self) -> None:
        """Forget any carried state (stateless layers have none)."""

    # -- summary helpers ------------------------------------------------------------------
    def param_count(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def describe_params(self) -> list[tuple[str, tuple[int, ...], str]]:
        """``(name, shape, meaning)`` for each parameter, for :meth:`Sequential.summary`."""
        return [(k, v.shape, "") for k, v in self.params.items()]

    def describe_state(self) -> list[tuple[str, str]]:
        """``(name, shape)`` of the state carried between steps (recurrent layers)."""
        return []
