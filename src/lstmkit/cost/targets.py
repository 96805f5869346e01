"""Microcontroller profiles and the embedded fit: does the model fit, how fast does it run.

A :class:`Target` is a handful of numbers: clock, RAM, flash, and how many cycles the
part spends per operation in each arithmetic (float32, or int8 weights with integer
accumulators). The built-in profiles are typical parts of each class with rates that
are deliberately round **estimates** (docs/cost.md gives the reasoning); replace any
field with :func:`dataclasses.replace`, or load a whole profile from JSON.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from lstmkit.cost.tally import Ops

KIB = 1024


ESTIMATED = "round estimates for the class of part, not measured"
#: How the cortex-m4f rates were found (benchmarks/bench_m4.py; tests/export/test_cortex_m4.py
#: holds the estimate within 25% of the measured counts).
MEASURED_M4 = (
    "fitted to executed instructions of lstmkit's exported C (arm-none-eabi-gcc -O2) on "
    "QEMU's emulated Cortex-M4F, one cycle per instruction; multi-cycle loads and flash "
    "wait states make a real part slower"
)


@dataclass(frozen=True)
class Target:
    """One microcontroller profile.

    Attributes
    ----------
    name : short key (``cortex-m4f``).
    description : the class of part and an example.
    clock_hz : core clock.
    ram_bytes, flash_bytes : memory available to the model.
    macs_per_cycle_float, macs_per_cycle_int8 : sustained MACs per cycle in a
        matrix-vector product (loads included).
    cycles_per_elementwise_float, cycles_per_elementwise_int8 : one add, multiply,
        comparison or relu on a vector element.
    cycles_per_activation_float, cycles_per_activation_int8 : one sigmoid, tanh or exp
        (a math-library call in float; a lookup table with interpolation in int8).
    rates_basis : where the rates come from (measured, or an estimate), printed with every
        fit.
    """

    name: str
    description: str
    clock_hz: float
    ram_bytes: int
    flash_bytes: int
    macs_per_cycle_float: float
    macs_per_cycle_int8: float
    cycles_per_elementwise_float: float
    cycles_per_elementwise_int8: float
    cycles_per_activation_float: float
    cycles_per_activation_int8: float
    rates_basis: str = ESTIMATED

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("float", "int") and not (
                isinstance(value, int | float) and not isinstance(value, bool) and value > 0
            ):
                raise ValueError(f"target {self.name!r}: {f.name} must be a positive number")

    def rates(self, compute: str) -> tuple[float, float, float]:
        """``(MACs per cycle, cycles per elementwise op, cycles per activation)``."""
        kind = "int8" if compute == "int8" else "float"
        return (
            getattr(self, f"macs_per_cycle_{kind}"),
            getattr(self, f"cycles_per_elementwise_{kind}"),
            getattr(self, f"cycles_per_activation_{kind}"),
        )

    def cycles(self, ops: Ops, compute: str) -> float:
        """Estimated cycles for ``ops``; relu costs an elementwise op."""
        macs, per_elem, per_act = self.rates(compute)
        return (
            ops.macc / macs
            + (ops.elementwise + ops.relu) * per_elem
            + (ops.sigmoid + ops.tanh + ops.exp) * per_act
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        """A profile from a dict: a built-in ``"base"`` name plus fields to change, or
        every field."""
        data = dict(data)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"base"})
        if unknown:
            raise ValueError(
                f"target: unknown field(s) {', '.join(unknown)}; known: base, {', '.join(known)}"
            )
        if "base" in data:
            base = get_target(str(data.pop("base")))
            return replace(base, **data)
        optional = {f.name for f in fields(cls) if f.default is not MISSING}
        missing = sorted(known - set(data) - optional)
        if missing:
            raise ValueError(
                f'target: missing field(s) {", ".join(missing)}; give them, or a "base" '
                f"profile ({', '.join(TARGETS)}) to start from"
            )
        return cls(**data)

    @classmethod
    def from_json(cls, path: str | Path) -> Target:
        """Read :meth:`from_dict`'s input from a JSON file."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"target file {str(path)!r} does not exist") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"target file {str(path)!r} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"target file {str(path)!r} must hold one JSON object")
        return cls.from_dict(data)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target(
            name="cortex-m0plus",
            description="Arm Cortex-M0+ at 64 MHz, no FPU (STM32G0-class)",
            clock_hz=64e6,
            ram_bytes=36 * KIB,
            flash_bytes=128 * KIB,
            macs_per_cycle_float=0.02,
            macs_per_cycle_int8=0.25,
            cycles_per_elementwise_float=25,
            cycles_per_elementwise_int8=3,
            cycles_per_activation_float=800,
            cycles_per_activation_int8=12,
        ),
        Target(
            name="cortex-m4f",
            description="Arm Cortex-M4F at 168 MHz with single-precision FPU (STM32F4-class)",
            clock_hz=168e6,
            ram_bytes=192 * KIB,
            flash_bytes=1024 * KIB,
            # Least squares over LSTM(8..64), GRU(16), RNN(16) (benchmarks/bench_m4.py):
            # the float MAC is 2 loads, a multiply and an add; σ and tanh are newlib's
            # tanhf; int8 is SMLAD on pairs, and a table lookup with interpolation.
            macs_per_cycle_float=0.19,
            macs_per_cycle_int8=0.33,
            cycles_per_elementwise_float=3.5,
            cycles_per_elementwise_int8=4.7,
            cycles_per_activation_float=108,
            cycles_per_activation_int8=27,
            rates_basis=MEASURED_M4,
        ),
        Target(
            name="cortex-m7",
            description="Arm Cortex-M7 at 480 MHz, dual-issue, FPU (STM32H7-class)",
            clock_hz=480e6,
            ram_bytes=1024 * KIB,
            flash_bytes=2048 * KIB,
            macs_per_cycle_float=1.0,
            macs_per_cycle_int8=2.0,
            cycles_per_elementwise_float=1,
            cycles_per_elementwise_int8=1,
            cycles_per_activation_float=50,
            cycles_per_activation_int8=6,
        ),
        Target(
            name="esp32-s3",
            description="Espressif ESP32-S3, Xtensa LX7 at 240 MHz with FPU and SIMD",
            clock_hz=240e6,
            ram_bytes=512 * KIB,
            flash_bytes=8192 * KIB,
            macs_per_cycle_float=0.5,
            macs_per_cycle_int8=4.0,
            cycles_per_elementwise_float=2,
            cycles_per_elementwise_int8=2,
            cycles_per_activation_float=100,
            cycles_per_activation_int8=10,
        ),
    )
}

ALIASES = {
    "cortex-m0+": "cortex-m0plus",
    "m0+": "cortex-m0plus",
    "cortex-m4": "cortex-m4f",
    "m4": "cortex-m4f",
    "m4f": "cortex-m4f",
    "m7": "cortex-m7",
    "esp32s3": "esp32-s3",
}


def get_target(name: str | Target) -> Target:
    """A built-in profile by name (or alias, case-insensitive); a Target passes through."""
    if isinstance(name, Target):
        return name
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in TARGETS:
        raise ValueError(
            f"unknown target {name!r}; choose one of {', '.join(TARGETS)} "
            "(or describe your part in a JSON file)"
        )
    return TARGETS[key]


@dataclass(frozen=True)
class Fit:
    """How a model fits one target, with the estimate's assumptions.

    Attributes
    ----------
    target : the profile used.
    compute : ``"float32"`` or ``"int8"`` (the weights' arithmetic).
    mode : ``"streaming"`` (unidirectional: one step at a time, no sequence buffers) or
        ``"whole sequence"`` (a bidirectional layer needs every step's activations).
    ram_needed, flash_needed : bytes.
    ram_margin, flash_margin : bytes left (negative when it does not fit).
    cycles_per_step : estimated cycles for one time step of the whole model.
    latency_per_step_s, max_sample_rate_hz : from ``cycles_per_step`` and the clock.
    latency_per_run_s : the whole analyzed batch of sequences.
    assumptions : what the estimate takes for granted, printable lines.
    """

    target: Target
    compute: str
    mode: str
    ram_needed: int
    flash_needed: int
    ram_margin: int
    flash_margin: int
    cycles_per_step: float
    latency_per_step_s: float
    max_sample_rate_hz: float
    latency_per_run_s: float
    assumptions: tuple[str, ...]

    @property
    def fits_ram(self) -> bool:
        return self.ram_margin >= 0

    @property
    def fits_flash(self) -> bool:
        return self.flash_margin >= 0

    @property
    def fits(self) -> bool:
        return self.fits_ram and self.fits_flash

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target.to_dict(),
            "compute": self.compute,
            "mode": self.mode,
            "fits": self.fits,
            "fits_ram": self.fits_ram,
            "fits_flash": self.fits_flash,
            "ram_needed": self.ram_needed,
            "flash_needed": self.flash_needed,
            "ram_margin": self.ram_margin,
            "flash_margin": self.flash_margin,
            "estimated": {
                "cycles_per_step": self.cycles_per_step,
                "latency_per_step_s": self.latency_per_step_s,
                "max_sample_rate_hz": self.max_sample_rate_hz,
                "latency_per_run_s": self.latency_per_run_s,
            },
            "assumptions": list(self.assumptions),
        }


def fit_target(
    target: Target,
    *,
    per_step: Ops,
    total: Ops,
    compute: str,
    streaming: bool,
    weights_bytes: int,
    state_bytes: int,
    scratch_bytes: int,
    feature_map_sequence_bytes: int,
) -> Fit:
    """Fit report for one target from a cost report's figures (see :class:`Fit`)."""
    ram = state_bytes + scratch_bytes + (0 if streaming else feature_map_sequence_bytes)
    cycles = target.cycles(per_step, compute)
    latency = cycles / target.clock_hz
    macs, per_elem, per_act = target.rates(compute)
    ram_rule = "state + scratch" if streaming else "state + scratch + whole-sequence feature map"
    assumptions = (
        f"{target.description}: {target.clock_hz / 1e6:g} MHz, "
        f"{target.ram_bytes / KIB:g} KiB RAM, {target.flash_bytes / KIB:g} KiB flash",
        f"{compute} arithmetic at {macs:g} MAC/cycle, {per_elem:g} cycles per elementwise op "
        f"or relu, {per_act:g} cycles per sigmoid/tanh/exp ({target.rates_basis})",
        "latency = estimated cycles / clock; no cache misses, wait states or interrupts beyond "
        "what the per-op rates include; the application's own work is not counted",
        "max sample rate = 1 / latency per step, with the whole CPU given to the model",
        f"RAM = {ram_rule} ({'streaming' if streaming else 'whole sequence'}); stack, code "
        "and the application's buffers are extra",
        "flash = weights only; the inference code adds a few KiB",
    )
    return Fit(
        target=target,
        compute=compute,
        mode="streaming" if streaming else "whole sequence",
        ram_needed=ram,
        flash_needed=weights_bytes,
        ram_margin=target.ram_bytes - ram,
        flash_margin=target.flash_bytes - weights_bytes,
        cycles_per_step=cycles,
        latency_per_step_s=latency,
        max_sample_rate_hz=1.0 / latency if latency > 0 else float("inf"),
        latency_per_run_s=target.cycles(total, compute) / target.clock_hz,
        assumptions=assumptions,
    )
