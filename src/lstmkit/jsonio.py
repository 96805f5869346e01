"""Strict JSON for every file and stream lstmkit writes: NaN and infinities become
``null`` (the JSON standard has neither, and strict parsers refuse them)."""

from __future__ import annotations

import json

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
