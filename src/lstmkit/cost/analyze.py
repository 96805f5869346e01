"""``analyze(model, seq_len, ...)``: every cost figure of a model, per layer and direction.

Dimensions: ``B`` batch (sequences analyzed together), ``T`` = ``seq_len``, ``D`` input
features. The figures follow docs/conventions.md ("Cost conventions"); docs/cost.md
explains each one with a worked example.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from lstmkit.cost.formulas import (
    gate_width,
    param_shapes,
    state_width,
    step_ops,
    stored_params,
    torch_extra_params,
)
from lstmkit.cost.other_tools import other_tools
from lstmkit.cost.report import CostReport, LayerCost
from lstmkit.cost.tally import total
from lstmkit.cost.targets import Target
from lstmkit.layers.base import Layer
from lstmkit.layers.dense import Dense
from lstmkit.layers.recurrent import Recurrent

#: Bytes per stored weight, per state or activation number, per gate accumulator.
WEIGHT_DTYPES = {"float32": 4, "int8": 1}
STATE_DTYPES = {"float32": 4, "int16": 2}
ACCUMULATOR_BYTES = 4  # float32 sums, or int32 accumulators behind int8 weights
#: int8 matrices keep one 32-bit scale per output row (the C exporter's fixed-point
#: multiplier); biases and peepholes stay 32-bit
#: (they are added to the 32-bit accumulator, as in CMSIS-NN and TFLite Micro).
INT8_ROW_SCALE_BYTES = 4
INT8_VECTOR_BYTES = 4


def weights_bytes(layer: Layer, weights: str) -> int:
    """Flash for one direction's parameters in the ``weights`` format."""
    if weights == "float32":
        return WEIGHT_DTYPES["float32"] * stored_params(layer)
    n = 0
    for _, shape in param_shapes(layer):
        if len(shape) == 2:
            rows, cols = shape
            n += rows * cols * WEIGHT_DTYPES["int8"] + rows * INT8_ROW_SCALE_BYTES
        else:
            n += int(np.prod(shape)) * INT8_VECTOR_BYTES
    return n


def _check_choice(name: str, value: str, choices: dict[str, int]) -> str:
    if value not in choices:
        raise ValueError(
            f"analyze: {name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}"
        )
    return value


def _check_lengths(lengths: Any, batch: int | None, seq_len: int) -> tuple[list[int] | None, int]:
    if lengths is None:
        return None, 1 if batch is None else batch
    arr = np.asarray(lengths)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"analyze: lengths must be a non-empty 1-D sequence of whole numbers, got {lengths!r}"
        )
    if arr.min() < 1 or arr.max() > seq_len:
        raise ValueError(
            f"analyze: every length must be between 1 and seq_len = {seq_len}, "
            f"got {arr.min()}..{arr.max()}"
        )
    if batch is not None and batch != arr.size:
        raise ValueError(f"analyze: batch = {batch} but {arr.size} lengths were given")
    return [int(v) for v in arr], int(arr.size)


def analyze(
    model: Any,
    seq_len: int,
    *,
    batch: int | None = None,
    lengths: Sequence[int] | np.ndarray | None = None,
    weights: str = "float32",
    state: str = "float32",
    target: str | Target | None = None,
) -> CostReport:
    """Exact cost of running ``model`` on ``batch`` sequences of ``seq_len`` steps.

    Parameters
    ----------
    model : Sequential
        A built model (its weights are not read, only its architecture).
    seq_len : int
        Time steps ``T`` per sequence (the padded length when ``lengths`` is given).
    batch : int, optional
        Sequences ``B``; default 1, or ``len(lengths)``.
    lengths : array of int, shape (B,), optional
        Valid steps per sequence; the recurrent layers then cost ``sum(lengths)`` steps.
    weights : "float32" or "int8"
        Storage of the weights (int8: 32-bit per-row scales, 32-bit biases).
    state : "float32" or "int16"
        Storage of states and activations.
    target : str or Target, optional
        Also report the fit on this microcontroller profile (see ``lstmkit.cost.TARGETS``).

    Returns
    -------
    CostReport
        Rows per layer and direction, per-step and whole-run totals, memory; ``.table()``,
        ``.markdown()``, ``.to_dict()``.
    """
    layers = getattr(model, "layers", None)
    if layers is None or not hasattr(model, "input_size"):
        raise TypeError(
            f"analyze: expected an lstmkit Sequential model, got {type(model).__name__}"
        )
    if isinstance(seq_len, bool) or not isinstance(seq_len, int | np.integer) or seq_len < 1:
        raise ValueError(f"analyze: seq_len must be a whole number >= 1, got {seq_len!r}")
    seq_len = int(seq_len)
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise ValueError(f"analyze: batch must be a whole number >= 1, got {batch!r}")
    _check_choice("weights", weights, WEIGHT_DTYPES)
    _check_choice("state", state, STATE_DTYPES)
    lengths_list, B = _check_lengths(lengths, batch, seq_len)
    valid_steps = sum(lengths_list) if lengths_list else B * seq_len
    act_bytes = STATE_DTYPES[state]

    rows: list[LayerCost] = []
    sequence = True
    # Activation tensors in order, for the feature maps: (width, has a time axis).
    tensors = [(model.input_size, True)]
    for layer in layers:
        dirs = layer.directions if isinstance(layer, Recurrent) else (None,)
        if isinstance(layer, Recurrent):
            runs, note = valid_steps, "every valid step"
        elif isinstance(layer, Dense):
            runs, note = (valid_steps, "every valid step") if sequence else (B, "once per sequence")
        else:
            runs, note = 0, "identity at inference"
        scratch = gate_width(layer) * ACCUMULATOR_BYTES
        if runs:
            scratch += (layer.input_size + layer.output_size) * act_bytes
        per_step = step_ops(layer)
        for d in dirs:
            rows.append(
                LayerCost(
                    layer=layer.name,
                    kind=type(layer).__name__,
                    direction=d,
                    input_size=layer.input_size,
                    output_size=layer.output_size // len(dirs),
                    params=stored_params(layer),
                    params_torch=stored_params(layer) + torch_extra_params(layer),
                    per_step=per_step,
                    runs=runs,
                    total=per_step * runs,
                    weights_bytes=weights_bytes(layer, weights),
                    state_bytes=state_width(layer) * act_bytes,
                    scratch_bytes=scratch,
                    other_tools=other_tools(layer, d),
                    note=note,
                )
            )
        sequence = layer.output_is_sequence(sequence)
        if runs:  # dropout passes its input on in place
            tensors.append((layer.output_size, sequence))

    stream = max((a[0] + b[0] for a, b in pairwise(tensors)), default=0)
    whole = max(
        (
            a[0] * (seq_len if a[1] else 1) + b[0] * (seq_len if b[1] else 1)
            for a, b in pairwise(tensors)
        ),
        default=0,
    )
    report = CostReport(
        model=getattr(model, "name", "model"),
        input_size=model.input_size,
        seq_len=seq_len,
        batch=B,
        lengths=lengths_list,
        valid_steps=valid_steps,
        weights=weights,
        state=state,
        rows=rows,
        per_step=total([r.per_step for r in rows if r.runs]),
        total=total([r.total for r in rows]),
        params=sum(r.params for r in rows),
        params_torch=sum(r.params_torch for r in rows),
        weights_bytes=sum(r.weights_bytes for r in rows),
        state_bytes=sum(r.state_bytes for r in rows),
        scratch_bytes=max((r.scratch_bytes for r in rows), default=0),
        feature_map_stream_bytes=stream * act_bytes * B,
        feature_map_sequence_bytes=whole * act_bytes * B,
        streaming=not any(isinstance(la, Recurrent) and la.bidirectional for la in layers),
    )
    if target is not None:
        report = report.with_fit(target)
    return report
