"""Running exported C on an emulated Cortex-M4F: QEMU's ``mps2-an386`` board with
newlib's semihosting (``printf`` reaches the host, ``exit`` stops QEMU).

Toolchain (Debian): ``gcc-arm-none-eabi``, ``libnewlib-arm-none-eabi``,
``qemu-system-arm``. See docs/embedded.md.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

FILES = Path(__file__).parent
LINKER_SCRIPT = FILES / "mps2_an386.ld"
STARTUP = FILES / "startup_m4.c"
#: Cortex-M4 with its single-precision FPU, hard-float calling convention.
CPU_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
#: QEMU arguments before ``-kernel <elf>``: no display, no monitor, semihosting on.
QEMU_ARGS = ["-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "none",
             "-semihosting-config", "enable=on,target=native"]  # fmt: skip


def link_flags() -> list[str]:
    """Flags that link a program for the board (after the sources): semihosting newlib,
    the board's linker script, libm."""
    return ["--specs=rdimon.specs", "-T", str(LINKER_SCRIPT), "-lm"]


def step_instructions(model, x: np.ndarray, *, dtype: str = "float32", calibration=None,
                      opt: str = "-O2", defines: tuple[str, ...] = ()) -> float:  # fmt: skip
    """Executed instructions per ``<name>_step`` of ``model`` on the emulated Cortex-M4F,
    averaged over the steps of ``x (S, D)`` from a reset: exported, cross-compiled with
    ``opt``, run on QEMU with ``-icount shift=0`` and timed with SysTick around each call
    (the same readings around nothing are subtracted). Needs arm-none-eabi-gcc, newlib and
    qemu-system-arm; raises FileNotFoundError without them."""
    from lstmkit.export import to_c
    from lstmkit.export.harness import INSTRUCTIONS_PER_TICK, timing_source

    gcc, qemu = shutil.which("arm-none-eabi-gcc"), shutil.which("qemu-system-arm")
    if gcc is None or qemu is None:
        raise FileNotFoundError("needs arm-none-eabi-gcc, newlib and qemu-system-arm")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        files = to_c(model, d, name="net", dtype=dtype, calibration=calibration)
        (d / "main.c").write_text(timing_source("net", x))
        elf = d / "run.elf"
        subprocess.run([gcc, *CPU_FLAGS, "-std=c99", opt, *(f"-D{m}" for m in defines),
                        "-o", str(elf), str(STARTUP), str(d / "main.c"),
                        *(str(f) for f in files if f.suffix == ".c"),
                        *link_flags()], check=True, capture_output=True)  # fmt: skip
        out = subprocess.run([qemu, *QEMU_ARGS, "-icount", "shift=0", "-kernel", str(elf)],
                             check=True, capture_output=True, text=True, timeout=300)  # fmt: skip
    ticks, empty, steps = (int(v) for v in out.stdout.split()[:3])
    return (ticks - empty) * INSTRUCTIONS_PER_TICK / steps
