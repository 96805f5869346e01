"""Compile exported C with the host gcc and run it (skipped where gcc is missing)."""

import shutil
import subprocess

import numpy as np
import pytest

from lstmkit.export import to_c
from lstmkit.export.harness import harness_source

GCC = shutil.which("gcc")
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2"]
needs_gcc = pytest.mark.skipif(GCC is None, reason="gcc is not installed (apt-get install gcc)")


def compile_and_run(model, x, folder, *, name="net", mode="run", count_ops=False,
                    max_steps=None, runner=(), defines=()):  # fmt: skip
    """Export ``model``, compile it with a harness for ``x`` and run it.

    Returns ``(outputs, rows)``: the printed numbers as float64 and, with ``count_ops``,
    ``{row: (macc, elementwise, sigmoid, tanh, relu, exp)}``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    to_c(model, folder, name=name, max_steps=max_steps)
    main = folder / "main.c"
    size = model.layers[-1].output_size
    main.write_text(harness_source(name, x, mode=mode, output_size=size, count_ops=count_ops))
    exe = folder / "run"
    flags = [*CFLAGS, f"-D{name}_COUNT_OPS"] if count_ops else list(CFLAGS)
    flags += [f"-D{d}" for d in defines]
    subprocess.run(
        [GCC, *flags, "-o", str(exe), str(main), str(folder / f"{name}.c"), "-lm"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    done = subprocess.run([*runner, str(exe)], check=True, capture_output=True, text=True)
    numbers, rows = [], {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 1:
            numbers.append(float(parts[0]))
        else:
            rows[parts[0]] = tuple(int(v) for v in parts[1:])
    return np.array(numbers), rows


def state_sizes(folder, name="net", compiler=None) -> dict[str, int]:
    """``sizeof`` of every member of the export's ``<name>_state_t`` and of the whole
    (``"total"``), from a compiled program: what one stream costs in RAM."""
    import re

    header = (folder / f"{name}.h").read_text()
    body = header[
        header.index(f"typedef struct {name}_ALIGNED") : header.index(f"}} {name}_state_t;")
    ]
    members = re.findall(r"^    (?:float|int16_t) (\w+)\[", body, re.M)
    members += re.findall(r"^    \} (\w+);", body, re.M)
    lines = "".join(f'    printf("{m} %lu\\n", (unsigned long)sizeof st.{m});\n' for m in members)
    (folder / "sizes.c").write_text(
        f'#include <stdio.h>\n#include "{name}.h"\nstatic {name}_state_t st;\n'
        f"int main(void)\n{{\n{lines}"
        f'    printf("total %lu\\n", (unsigned long)sizeof st);\n    return 0;\n}}\n'
    )
    exe = folder / "sizes"
    subprocess.run([compiler or GCC, *CFLAGS, "-o", str(exe), str(folder / "sizes.c")],
                   check=True, capture_output=True)  # fmt: skip
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return {k: int(v) for k, v in (line.split() for line in out.splitlines())}
