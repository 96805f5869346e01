"""Export to dependency-free C99 for microcontrollers (docs/embedded.md).

:func:`to_c` writes ``<name>.h`` and ``<name>.c``: static buffers sized at export time,
``const`` weights, no allocation; float32 code needs ``<math.h>``, int8 code no library.
:mod:`lstmkit.export.plan` decides what runs, :mod:`lstmkit.export.c_float` and
:mod:`lstmkit.export.c_int8` write it, :mod:`lstmkit.export.int8` defines (and runs in
Python) the integer arithmetic, :mod:`lstmkit.export.mcu` runs it on an emulated
Cortex-M4F.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from lstmkit.export.c_float import float_sources
from lstmkit.export.plan import ExportError, make_plan

DTYPES = ("float32", "int8")


def to_c(
    model: Any,
    out_dir: str | os.PathLike,
    *,
    name: str = "model",
    dtype: str = "float32",
    max_steps: int | None = None,
    calibration: Any = None,
) -> list[Path]:
    """Write C99 inference code for ``model`` into ``out_dir``.

    Parameters
    ----------
    model : Sequential
        LSTM (peephole, projection), GRU (both variants), RNN (tanh, relu), bidirectional
        and stacked, Dense heads with their activation, Dropout (the identity).
    out_dir : path
        Created if missing. Only ``<name>.h`` and ``<name>.c`` are written there; they
        are generated completely first, so a failure leaves the folder as it was.
    name : str
        Prefix of every C symbol and of the files; a C identifier.
    dtype : {"float32", "int8"}
        Arithmetic of the generated code. int8: int8 weights with per-row multipliers,
        int16 states, int32 accumulators, table sigmoid/tanh (lstmkit.export.int8);
        ``<stdint.h>`` only, no library call.
    max_steps : int, optional
        Longest sequence ``<name>_run`` accepts; required for a bidirectional model,
        whose whole-sequence buffers are static. Unidirectional models stream and take
        any length.
    calibration : array, shape (B, T, D), optional
        Typical inputs, required for int8: the input's scale and those of unbounded
        tensors between layers come from their largest magnitudes here (plus 50%).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ExportError
        An unsupported layer or option (named), a bad ``name``, ``dtype`` or
        ``max_steps``.
    """
    if dtype not in DTYPES:
        raise ExportError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    plan = make_plan(model, name, max_steps)
    if dtype == "float32":
        files = float_sources(plan)
    else:
        if calibration is None:
            raise ExportError(
                "int8 export needs calibration data (calibration=..., --calibrate CSV) to "
                "pick the scales of the input and of unbounded activations"
            )
        from lstmkit.export.c_int8 import int8_sources
        from lstmkit.export.int8 import quantize

        files = int8_sources(quantize(plan, model, calibration))
    return _write_all(Path(out_dir), files)


def _write_all(out_dir: Path, files: dict[str, str]) -> list[Path]:
    """Write every file, or none: each goes to a temporary file beside its target and is
    renamed into place only when all are written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"output {out_dir} exists and is not a folder; choose another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".lstmkit-export-", dir=out_dir))
    try:
        for fname, text in files.items():
            (tmp / fname).write_text(text)
        written = []
        for fname in files:
            os.replace(tmp / fname, out_dir / fname)
            written.append(out_dir / fname)
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["ExportError", "to_c"]
