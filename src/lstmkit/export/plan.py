"""What the C exporter emits, decided in Python: the layers it runs, their sizes, weights,
per-step scratch, and the order of work, with every unsupported case rejected up front.

The plan follows the cost conventions of docs/conventions.md so that the generated
code's memory and its counted operations equal :func:`lstmkit.analyze` (tested): the
per-step scratch holds a layer's gate accumulators, its input and its output vector,
at offsets ``[0, G)``, ``[G, G + in)``, ``[G + in, G + in + out)``, and is sized for
the largest layer; whole-sequence buffers (models with a bidirectional layer) follow
the analyzer's sequence feature map.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np

from lstmkit.cost.formulas import gate_width, param_shapes
from lstmkit.layers.dense import Dense
from lstmkit.layers.dropout import Dropout
from lstmkit.layers.recurrent import Recurrent
from lstmkit.steps.define import cell_options, state_names

#: Dense activations the C code implements (None: identity).
DENSE_ACTIVATIONS = (None, "sigmoid", "tanh", "relu", "softmax")
#: Words a C99 compiler reserves; a model name must not be one of them.
C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto "
    "if inline int long register restrict return short signed sizeof static struct switch "
    "typedef union unsigned void volatile while _Bool _Complex _Imaginary".split()
)


class ExportError(ValueError):
    """A model or option the C exporter cannot handle; the message names it."""


@dataclass
class CLayer:
    """One layer as the C code runs it.

    Attributes
    ----------
    index : position among the exported layers (Dropout is skipped: identity).
    name : the model's layer name (for the operation-count rows).
    kind : ``"lstm"``, ``"gru"``, ``"rnn"`` or ``"dense"``.
    in_size, out_size : vector widths (``out_size`` of a recurrent layer counts both
        directions).
    gates : gate accumulators of one step (the scratch's first part).
    directions : ``("forward",)``, ``("forward", "reverse")``, or ``(None,)`` for Dense.
    sequence_in, sequence_out : whether the layer reads / writes one vector per step.
    weights : direction → parameter name → float64 array (canonical layouts).
    options : cell options (``H``, ``P``, ``peephole``, ``reset_after``, ``activation``).
    """

    index: int
    name: str
    kind: str
    in_size: int
    out_size: int
    gates: int
    directions: tuple
    sequence_in: bool
    sequence_out: bool
    weights: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    state_sizes: tuple = ()

    @property
    def recurrent(self) -> bool:
        return self.kind != "dense"

    def row(self, direction) -> str:
        """The operation-count row's label: ``name`` or ``name/direction``."""
        return self.name if direction is None else f"{self.name}/{direction}"


@dataclass
class Plan:
    """The whole model as the C code runs it."""

    name: str
    input_size: int
    output_size: int
    output_sequence: bool
    layers: list[CLayer]
    scratch: int  # floats of per-step scratch (peak over layers)
    bidirectional: bool
    max_steps: int | None  # whole-sequence buffers' length (bidirectional models)
    sequence_arena: int  # floats of whole-sequence buffers (0 without)

    def step_split(self) -> tuple[list[CLayer], list[CLayer]]:
        """``(per_step, once)``: the layers ``run`` executes at every step (up to the first
        that keeps only its final output) and those it runs once, at the end."""
        cut = next(
            (k for k, la in enumerate(self.layers) if not la.sequence_out), len(self.layers) - 1
        )
        return self.layers[: cut + 1], self.layers[cut + 1 :]

    def state_vectors(self) -> list[tuple[CLayer, str, str, int]]:
        """``(layer, direction, name, size)`` of every state vector: ``h`` (and the
        LSTM's ``c``) per recurrent layer and direction."""
        out = []
        for la in self.layers:
            names = state_names(la.kind) if la.recurrent else ()
            for d in la.directions if la.recurrent else ():
                out += [(la, d, k, n) for k, n in zip(names, la.state_sizes, strict=True)]
        return out

    @property
    def rows(self) -> list[tuple[CLayer, str | None]]:
        """Operation-count rows in the analyzer's order: (layer, direction)."""
        return [(la, d) for la in self.layers for d in la.directions]


def check_name(name: str) -> str:
    """``name`` if it is a valid C identifier that is not a keyword."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ExportError(
            f"name must be a C identifier (letters, digits and _, not starting with a digit), "
            f"got {name!r}"
        )
    if name in C_KEYWORDS or keyword.iskeyword(name):
        raise ExportError(f"name {name!r} is a reserved word; choose another")
    return name


#: The sequence buffer of a bidirectional model is indexed with C ``int``.
MAX_ARENA_BYTES = 2**31 - 1


def make_plan(model, name: str, max_steps: int | None = None) -> Plan:
    """Check ``model`` and lay out what the C code does.

    Raises
    ------
    ExportError
        A layer or option the exporter does not support, a bad name, or a bidirectional
        model without a sensible ``max_steps``.
    """
    name = check_name(name)
    if getattr(model, "mask_value", None) is not None:
        raise ExportError(
            f"{model.name}: mask_value {model.mask_value:g} (padding read from the input) has no "
            "C form; the C code runs the steps it is given (N_run's T), so pass only the valid "
            "ones"
        )
    layers_in = list(getattr(model, "layers", []))
    if not layers_in or getattr(model, "input_size", None) is None:
        raise ExportError("the model has no layers or no input size; build it first")
    layers: list[CLayer] = []
    sequence = True
    for layer in layers_in:
        if isinstance(layer, Dropout):
            continue  # the identity at inference
        if isinstance(layer, Recurrent):
            layers.append(_recurrent(layer, len(layers), sequence))
        elif isinstance(layer, Dense):
            if layer.activation not in DENSE_ACTIVATIONS:
                raise ExportError(
                    f"{layer.name}: activation {layer.activation!r} has no C form "
                    f"(supported: {', '.join(str(a) for a in DENSE_ACTIVATIONS)})"
                )
            layers.append(
                CLayer(
                    index=len(layers), name=layer.name, kind="dense",
                    in_size=layer.input_size, out_size=layer.units, gates=0,
                    directions=(None,), sequence_in=sequence, sequence_out=sequence,
                    weights={None: _params(layer, "")},
                    options={"activation": layer.activation},
                )
            )  # fmt: skip
        else:
            raise ExportError(
                f"{getattr(layer, 'name', '?')}: layer type {type(layer).__name__} has no C "
                "export (supported: LSTM, GRU, RNN, Dense, Dropout)"
            )
        sequence = layer.output_is_sequence(sequence)
    if not layers:
        raise ExportError("the model has no layer with arithmetic to export")
    # A reverse direction (bidirectional or go_backwards) reads each sequence from its end:
    # such a model runs whole sequences through static buffers, not streaming steps.
    bidirectional = any(la.recurrent and "reverse" in la.directions for la in layers)
    if bidirectional:
        if max_steps is None:
            raise ExportError(
                "a model with a reverse direction (bidirectional or go_backwards) reads whole "
                "sequences into static buffers: give "
                f"max_steps (--max-steps), the longest sequence {name}_run must accept"
            )
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise ExportError(f"max_steps must be a whole number >= 1, got {max_steps!r}")
    elif max_steps is not None:
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise ExportError(f"max_steps must be a whole number >= 1, got {max_steps!r}")
        max_steps = None  # streaming models handle any length; nothing to size
    scratch = max(la.gates + la.in_size + la.out_size for la in layers)
    arena = 0
    if bidirectional:
        widths = [(model.input_size, True)] + [(la.out_size, la.sequence_out) for la in layers]
        arena = max(
            a * (max_steps if sa else 1) + b * (max_steps if sb else 1)
            for (a, sa), (b, sb) in pairwise(widths)
        )
    if arena * 4 > MAX_ARENA_BYTES:
        raise ExportError(
            f"max_steps {max_steps} needs a sequence buffer of {arena * 4:,} bytes, more than "
            f"the {MAX_ARENA_BYTES:,} (2 GiB) a C int index and any microcontroller allow; lower "
            "max_steps"
        )
    last = layers[-1]
    return Plan(
        name=name, input_size=model.input_size, output_size=last.out_size,
        output_sequence=last.sequence_out, layers=layers, scratch=scratch,
        bidirectional=bidirectional, max_steps=max_steps, sequence_arena=arena,
    )  # fmt: skip


def _params(layer, suffix: str) -> dict[str, np.ndarray]:
    return {k: np.asarray(layer.params[k + suffix], np.float64) for k, _ in param_shapes(layer)}


def _recurrent(layer: Recurrent, index: int, sequence: bool) -> CLayer:
    cell = layer.cell
    if not sequence:
        raise ExportError(f"{layer.name}: a recurrent layer needs a sequence input")
    try:
        kind, options = cell_options(cell)
    except TypeError:
        raise ExportError(f"{layer.name}: cell {type(cell).__name__} has no C export") from None
    return CLayer(
        index=index, name=layer.name, kind=kind, in_size=layer.input_size,
        out_size=layer.output_size, gates=gate_width(layer),
        directions=tuple(layer.directions), sequence_in=True,
        sequence_out=layer.return_sequences,
        weights={d: _params(layer, layer.suffix(d)) for d in layer.directions},
        options=options, state_sizes=tuple(cell.state_sizes()),
    )  # fmt: skip


def state_floats(plan: Plan) -> int:
    """Floats of persistent state over all layers and directions (the analyzer's)."""
    return sum(sum(la.state_sizes) * len(la.directions) for la in plan.layers)
