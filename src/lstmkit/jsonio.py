"""Strict JSON for every file and stream lstmkit writes: NaN and infinities become
``null`` (the JSON standard has neither, and strict parsers refuse them); and JSON files
read with a size limit and an error that names the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def strict_json(obj) -> str:
    """JSON with NaN and infinities turned into null (the standard has neither)."""

    def clean(v):
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, np.ndarray):
            return clean(v.tolist())
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, float | np.floating):
            return float(v) if np.isfinite(v) else None
        if isinstance(v, bool | int | str) or v is None:
            return v
        return str(v)

    return json.dumps(clean(obj), indent=2, allow_nan=False) + "\n"


def read_json_file(path: Path, limit: int, fix: str):
    """The JSON document in ``path``; a file over ``limit`` bytes, not UTF-8 or not valid
    JSON is a ValueError naming it, what is wrong and ``fix`` (how to mend it)."""
    path = Path(path)
    size = path.stat().st_size
    if size > limit:
        why = f"it has {size:,} bytes, more than the {limit:,} such a file can need"
    else:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            why = f"not valid JSON ({exc.msg}: line {exc.lineno}, column {exc.colno})"
        except UnicodeDecodeError:
            why = "not UTF-8 text"
    raise ValueError(f"{str(path)!r}: {why}; {fix}")
