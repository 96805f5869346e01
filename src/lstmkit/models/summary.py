"""The text of :meth:`Sequential.summary`: layers, shapes, parameters, weight blocks, state.

Shapes are written with symbols where they depend on the data (``B`` batch, ``T`` time
steps) and numbers where the model fixes them, as the seeds explain LSTM shapes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lstmkit.cost.formulas import step_ops
from lstmkit.layers.recurrent import Recurrent

if TYPE_CHECKING:
    from lstmkit.models.sequential import Sequential


def _shape(dims: tuple) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def summary_text(model: Sequential) -> str:
    rows = []
    sequence = True
    for layer in model.layers:
        sequence = layer.output_is_sequence(sequence)
        out = ("B", "T", layer.output_size) if sequence else ("B", layer.output_size)
        dirs = layer.dirs if isinstance(layer, Recurrent) else 1
        macc = step_ops(layer).macc * dirs
        rows.append(
            (f"{layer.name} ({type(layer).__name__})", _shape(out), layer.param_count(), macc)
        )
    widths = [max(len(r[0]) for r in [*rows, ("Layer (type)", "", 0)]), 16, 12, 12]
    line = "─" * (sum(widths) + 6)
    head = f'Model: "{model.name}"  input (B, T, {model.input_size})  dtype {model.dtype}'
    out = [head, line]
    out.append(
        f"{'Layer (type)':<{widths[0]}}  {'Output shape':<{widths[1]}}  "
        f"{'Param #':>{widths[2]}}  {'MACC/step':>{widths[3]}}"
    )
    out.append(line)
    for name, shape, n, macc in rows:
        out.append(
            f"{name:<{widths[0]}}  {shape:<{widths[1]}}  {n:>{widths[2]},}  {macc:>{widths[3]},}"
        )
    out.append(line)
    total = model.count_params()
    out.append(f"Total params: {total:,} ({total * model.dtype.itemsize:,} bytes as {model.dtype})")
    out.append(
        f"MACC per time step: {sum(r[3] for r in rows):,} (a Dense layer after the last step "
        "runs once per sequence)"
    )
    out.append("Full cost report (MACC, activations, memory, MCU fit): lstmkit.analyze(model, T)")
    out.append("")
    out.append("Weights and states (B = batch size, T = time steps):")
    for layer in model.layers:
        described = layer.describe_params()
        if not described:
            continue
        extra = ""
        if isinstance(layer, Recurrent):
            opts = {"hidden_size": layer.hidden_size, **layer.cell.options()}
            flags = [f for f in ("bidirectional", "stateful") if getattr(layer, f)]
            extra = "  " + ", ".join([f"{k}={v}" for k, v in opts.items() if v is not None] + flags)
        out.append(f"  {layer.name}{extra}")
        pw = max(len(k) for k, _, _ in described)
        for k, shape, meaning in described:
            out.append(f"    {k:<{pw}}  {_shape(shape):<12}  {meaning}".rstrip())
        states = layer.describe_state()
        if states:
            out.append("    state: " + ", ".join(f"{n} {s}" for n, s in states))
    return "\n".join(out)
