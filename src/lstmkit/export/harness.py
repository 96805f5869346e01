"""A C ``main`` that runs an exported model on inputs compiled into it and prints every
output, so the same program checks the exporter on the host (gcc) and on an emulated
microcontroller (printing through semihosting).

Output: one number per line (``%.9g``, enough to read a float32 back exactly); with
``count_ops``, then one line per operation-count row:
``name macc elementwise sigmoid tanh relu exp``.
"""

from __future__ import annotations

import numpy as np

from lstmkit.export.c_float import c_float


def _floats(name: str, values: np.ndarray) -> str:
    flat = np.asarray(values, np.float32).ravel()
    body = ",\n".join(
        "    " + ", ".join(c_float(v) for v in flat[i : i + 8]) for i in range(0, flat.size, 8)
    )
    return f"static const float {name}[{max(flat.size, 1)}] = {{\n{body or '    0.0f'}\n}};\n"


def harness_source(
    name: str, x: np.ndarray, *, mode: str = "run", output_size: int, count_ops: bool = False
) -> str:
    """C source of a test program for the exported model ``name``.

    Parameters
    ----------
    name : the export's name (its header is ``<name>.h``).
    x : ndarray
        ``mode="run"``: ``(B, T, D)``, each sample through ``<name>_run``.
        ``mode="step"``: ``(S, D)``, one ``<name>_step`` call per row after a reset.
    output_size : numbers per output vector (``<name>_OUTPUT_SIZE``); for ``run`` the
        program prints ``T ×`` that when the model outputs a sequence.
    count_ops : print the operation counts after the runs (compile with
        ``-D<name>_COUNT_OPS``).
    """
    x = np.asarray(x, np.float32)
    if mode == "run":
        B, T, D = x.shape
        out_len = f"({name}_OUTPUT_IS_SEQUENCE ? {T} * {name}_OUTPUT_SIZE : {name}_OUTPUT_SIZE)"
        loop = (
            f"    for (b = 0; b < {B}; ++b) {{\n"
            f"        if ({name}_run(&st, X + b * {T * D}, {T}, y, 1) != 0) {{\n"
            '            printf("run failed\\n");\n            return 1;\n        }\n'
            f"        for (i = 0; i < {out_len}; ++i)\n"
            '            printf("%.9g\\n", (double)y[i]);\n    }\n'
        )
        y_size = f"{T * output_size}"
    elif mode == "step":
        S, D = x.shape
        loop = (
            f"    {name}_init(&st);\n    for (b = 0; b < {S}; ++b) {{\n"
            f"        {name}_step(&st, X + b * {D}, y);\n"
            f"        for (i = 0; i < {name}_OUTPUT_SIZE; ++i)\n"
            '            printf("%.9g\\n", (double)y[i]);\n    }\n'
        )
        y_size = f"{output_size}"
    else:
        raise ValueError(f"mode must be 'run' or 'step', got {mode!r}")
    counts = ""
    if count_ops:
        counts = (
            f"    for (i = 0; i < {name}_OP_ROWS; ++i)\n"
            f'        printf("%s %llu %llu %llu %llu %llu %llu\\n", {name}_op_row_names[i],\n'
            f"               {name}_ops[i].macc, {name}_ops[i].elementwise, "
            f"{name}_ops[i].sigmoid,\n"
            f"               {name}_ops[i].tanh, {name}_ops[i].relu, {name}_ops[i].exp);\n"
        )
    clear = f"    {name}_ops_clear();\n" if count_ops else ""
    return (
        f'#include <stdio.h>\n\n#include "{name}.h"\n\n'
        + _floats("X", x)
        + f"static float y[{y_size}];\nstatic {name}_state_t st;\n\n"
        "int main(void)\n{\n    int b, i;\n" + clear + loop + counts + "    return 0;\n}\n"
    )


#: SysTick on a Cortex-M (memory-mapped, every Armv7-M core has it).
_SYSTICK = (
    "#define SYST_CSR (*(volatile unsigned long *)0xE000E010UL)\n"
    "#define SYST_RVR (*(volatile unsigned long *)0xE000E014UL)\n"
    "#define SYST_CVR (*(volatile unsigned long *)0xE000E018UL)\n"
)
#: Executed instructions per SysTick tick on QEMU's mps2-an386 with ``-icount shift=0``:
#: virtual time advances 1 ns per instruction, SysTick runs from the 25 MHz clock.
INSTRUCTIONS_PER_TICK = 40


def timing_source(name: str, x: np.ndarray) -> str:
    """C source of a Cortex-M program that times every ``<name>_step`` over ``x (S, D)``
    with SysTick and prints ``ticks empty S``: the ticks inside the calls, the ticks of
    the same readings around nothing (the overhead to subtract), and the step count.
    Run on QEMU with ``-icount shift=0``, a tick is :data:`INSTRUCTIONS_PER_TICK`
    executed instructions (see ``shared/EMBEDDED-NOTES.md``)."""
    x = np.asarray(x, np.float32)
    S, D = x.shape
    return (
        f'#include <stdio.h>\n\n#include "{name}.h"\n\n'
        + _SYSTICK
        + _floats("X", x)
        + f"static float y[{name}_OUTPUT_SIZE];\nstatic {name}_state_t st;\n\n"
        "int main(void)\n{\n"
        "    unsigned long t0, t1, ticks = 0, empty = 0;\n    int b;\n"
        "    SYST_RVR = 0x00FFFFFFUL;\n    SYST_CVR = 0;\n    SYST_CSR = 5;\n"
        f"    {name}_init(&st);\n"
        f"    for (b = 0; b < {S}; ++b) {{\n"
        "        t0 = SYST_CVR;\n"
        f"        {name}_step(&st, X + b * {D}, y);\n"
        "        t1 = SYST_CVR;\n"
        "        ticks += (t0 - t1) & 0x00FFFFFFUL;\n"
        "        t0 = SYST_CVR;\n        t1 = SYST_CVR;\n"
        "        empty += (t0 - t1) & 0x00FFFFFFUL;\n    }\n"
        f'    printf("%lu %lu %d %.9g\\n", ticks, empty, {S}, (double)y[0]);\n'
        "    return 0;\n}\n"
    )
