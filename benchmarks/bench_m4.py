"""Executed instructions per step of exported C on the emulated Cortex-M4F, against the
analyzer's cortex-m4f estimate (cycles at one instruction each).

    python benchmarks/bench_m4.py [--json FILE]

Needs arm-none-eabi-gcc, newlib and qemu-system-arm (.ci/run installs them). QEMU's
``-icount shift=0`` makes virtual time advance 1 ns per executed instruction, and SysTick
read around each ``net_step`` counts them (shared/EMBEDDED-NOTES.md). Instructions are
not cycles: on a real Cortex-M4 most ALU and MAC instructions take one cycle, loads two
(pipelined less), branches one to three, and flash wait states add more.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

import lstmkit as lk
from lstmkit.export.mcu import step_instructions

STEPS = 30


def configs():
    """(name, model): LSTM, GRU and RNN of several sizes, D = 4, a Dense(1) head."""
    for H in (8, 16, 32, 64):
        yield f"LSTM({H})", lk.Sequential([lk.LSTM(H), lk.Dense(1)], input_size=4, seed=0)
    for H in (16, 48):
        yield f"GRU({H})", lk.Sequential([lk.GRU(H), lk.Dense(1)], input_size=4, seed=0)
    for H in (16, 64):
        yield f"RNN({H})", lk.Sequential([lk.RNN(H), lk.Dense(1)], input_size=4, seed=0)
    yield (
        "LSTM(32)+LSTM(16), D=8",
        lk.Sequential(
            [lk.LSTM(32, return_sequences=True), lk.LSTM(16), lk.Dense(1)], input_size=8, seed=0
        ),
    )


def measure() -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for name, model in configs():
        x = rng.normal(size=(STEPS, model.input_size)).astype(np.float32)
        cal = rng.normal(size=(4, 50, model.input_size))
        for dtype in ("float32", "int8"):
            kw = {"weights": "int8", "state": "int16"} if dtype == "int8" else {}
            report = lk.analyze(model, 1, target="cortex-m4f", **kw)
            measured = step_instructions(
                model, x, dtype=dtype, calibration=cal if dtype == "int8" else None
            )
            rows.append({"model": name, "dtype": dtype, "measured": measured,
                         "estimated": report.fit.cycles_per_step,
                         **report.per_step.to_dict()})  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args()
    rows = measure()
    print(f"{'model':<24} {'dtype':<8} {'measured':>10} {'estimated':>10} {'est/meas':>8}")
    for r in rows:
        print(f"{r['model']:<24} {r['dtype']:<8} {r['measured']:>10,.0f} "
              f"{r['estimated']:>10,.0f} {r['estimated'] / r['measured']:>8.2f}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
