"""Running exported C on an emulated Cortex-M4F: QEMU's ``mps2-an386`` board with
newlib's semihosting (``printf`` reaches the host, ``exit`` stops QEMU).

Toolchain (Debian): ``gcc-arm-none-eabi``, ``libnewlib-arm-none-eabi``,
``qemu-system-arm``. See docs/embedded.md.
"""

from __future__ import annotations

from pathlib import Path

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
