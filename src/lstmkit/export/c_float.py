"""C99 source for float32 inference from an export :class:`~lstmkit.export.plan.Plan`.

Each step function is the cell's one definition (:mod:`lstmkit.steps.define`), traced,
scheduled into the layer's scratch and printed (:mod:`lstmkit.export.c_step`): one
accumulator per output row, then the bias, in the definition's order. The code uses only
``<math.h>``, allocates nothing, and keeps every buffer static: weights ``const`` (flash),
state, one per-step scratch, and for bidirectional models one whole-sequence buffer.
Compiled with ``-D<name>_COUNT_OPS`` it tallies its operations per layer and direction,
in the analyzer's categories, where it does them.
"""

from __future__ import annotations

import re

import numpy as np

from lstmkit import __version__
from lstmkit.cost.tally import Ops
from lstmkit.export.c_api import ApiWriter, Numbers, Variant, tag
from lstmkit.export.c_step import FloatC, Names, step_body
from lstmkit.export.plan import CLayer, ExportError, Plan
from lstmkit.steps.define import state_names
from lstmkit.steps.graph import Tracer, operation_counts, trace_step
from lstmkit.steps.schedule import Area, Memory, schedule

PER_LINE = 8


def c_float(v: float) -> str:
    """The shortest decimal that reads back as the same float32, as a C literal."""
    s = str(np.float32(v))
    if not any(ch in s for ch in ".en"):
        s += ".0"
    return s + "f"


def _array(name: str, values: np.ndarray, const: bool = True, align: str = "") -> str:
    flat = np.asarray(values, np.float32).ravel()
    if not np.all(np.isfinite(flat)):
        raise ExportError(f"{name}: weights must be finite to export, found NaN or inf")
    body = ",\n".join(
        "    " + ", ".join(c_float(v) for v in flat[i : i + PER_LINE])
        for i in range(0, flat.size, PER_LINE)
    )
    # External linkage: the optimiser may not fold a small array into the code, so the
    # object's symbols show every byte of flash (and other units can read the weights).
    return (f"{'const ' if const else ''}float {name}[{flat.size}]{' ' + align if align else ''} "
            f"= {{\n{body}\n}};\n")  # fmt: skip


_tag = tag


class _Emitter:
    def __init__(self, plan: Plan) -> None:
        self.p = plan
        self.n = plan.name
        self.rows = {(la.index, d): k for k, (la, d) in enumerate(plan.rows)}

    # -- names -------------------------------------------------------------------------
    def w(self, layer, d, key) -> str:
        return f"{self.n}_w_{_tag(layer, d)}_{key}"

    def s(self, layer, d, key) -> str:
        return f"st->{state_member(layer, d, key)}"

    def step_sig(self, la, d) -> str:
        """The opening of a recurrent layer's step function (its state lives in ``st``)."""
        return (f"static void {_tag(la, d)}_step({self.n}_state_t *st, const float *x, "
                f"float *out)\n{{\n")  # fmt: skip

    def states(self) -> list[tuple[str, int]]:
        """``(expression, numbers)`` of every state vector."""
        return [(self.s(la, d, k), n) for la, d, k, n in self.p.state_vectors()]

    def state_struct(self) -> str:
        """The members of ``<name>_state_t``: every per-stream array."""
        p = self.p
        lines = ["    /* State, kept between calls. */\n"]
        lines += [f"    float {state_member(la, d, k)}[{n}];\n"
                  for la, d, k, n in p.state_vectors()]  # fmt: skip
        lines.append("    /* Scratch of one step: gate accumulators, input and output. */\n"
                     f"    float scratch[{p.scratch}];\n")  # fmt: skip
        if p.bidirectional:
            lines.append("    /* Whole sequences between layers. */\n"
                         f"    float sequence[{p.sequence_arena}];\n")  # fmt: skip
        return "".join(lines)

    def counts(self, la: CLayer, d, graph) -> str:
        """COUNT lines of one step (or application) of ``la``: the operations of the
        traced graph the code is printed from, not figures typed here."""
        ops = operation_counts(graph)
        row = self.rows[(la.index, d)]
        return "".join(f"    COUNT({row}, {name}, {ops[name]});\n"
                       for name in Ops.NAMES if ops[name])  # fmt: skip

    # -- pieces ------------------------------------------------------------------------
    def data(self) -> str:
        out = ["/* Weights (const: flash), canonical layouts (docs/conventions.md). */\n"]
        for la in self.p.layers:
            for d in la.directions:
                for key, arr in la.weights[d].items():
                    out.append(_array(self.w(la, d, key), arr, align=f"{self.n}_ALIGNED"))
        return "".join(out)

    def cell(self, la: CLayer, d) -> str:
        """A recurrent layer's step function, or a Dense layer's: the cell's one
        definition, traced, scheduled into the layer's scratch and printed."""
        graph = trace_step(la.kind, la.options, la.weights[d], la.in_size, Tracer())
        names = Names({"x": "x", "out": "out"}, lambda key: self.w(la, d, key))
        if la.recurrent:
            G, D = la.gates, la.in_size
            memory = Memory([Area("s", G + D + la.options["P"], 4)], x=("s", G),
                            out=("s", G + D))  # fmt: skip
            names.spaces["s"] = "st->scratch"
            for name in state_names(la.kind):
                names.spaces[f"state:{name}"] = self.s(la, d, name)
            head = self.step_sig(la, d)
        else:
            memory = Memory([Area("o", la.out_size, 4)], out=("o", 0))
            names.spaces["o"] = "out"
            head = f"static void {_tag(la, None)}_apply(const float *x, float *out)\n{{\n"
        body = step_body(schedule(graph, memory), names, FloatC())
        counts = self.counts(la, d, graph)
        return f"/* {la.row(d)}: {describe(la)}. */\n" + head + body + counts + "}\n\n"

    # -- the public functions ------------------------------------------------------------
    def slot(self, la: CLayer, part: str) -> str:
        """A layer's input or output slot in the scratch: ``[G, G + in)``, then ``out``."""
        return f"st->scratch + {la.gates + (la.in_size if part == 'out' else 0)}"

    def numbers(self) -> Numbers:
        def out(src, dst, n, indent):
            return f"{indent}copy({dst}, {src}, {n});\n"

        def dense_final(la, src, y, indent):
            return f"{indent}{_tag(la, None)}_apply({src}, {y});\n"

        plain = Variant("", "float", "float", lambda src, dst, n: f"copy({dst}, {src}, {n});\n",
                        out, dense_final)  # fmt: skip
        return Numbers("float", "copy", self.slot, [plain])

    def reset(self) -> str:
        lines = [f"void {self.n}_init({self.n}_state_t *st)\n{{\n"]
        lines += [f"    zero({sym}, {size});\n" for sym, size in self.states()]
        lines.append("}\n\n")
        return "".join(lines)

    def source(self) -> str:
        p, n = self.p, self.n
        rows = ", ".join(f'"{la.row(d)}"' for la, d in p.rows)
        head = (
            f"/* {n}.c: float32 inference, generated by lstmkit {__version__}. API in {n}.h;\n"
            " * equations in lstmkit's docs/conventions.md. No allocation; C99 and <math.h>. */\n"
            f'#include <math.h>\n\n#include "{n}.h"\n\n'
            f"#ifdef {n}_COUNT_OPS\n"
            f"{n}_ops_t {n}_ops[{n}_OP_ROWS];\n"
            f"const char *const {n}_op_row_names[{n}_OP_ROWS] = {{{rows}}};\n"
            f"void {n}_ops_clear(void)\n{{\n    int r;\n    for (r = 0; r < {n}_OP_ROWS; ++r) {{\n"
            f"        {n}_ops[r].macc = {n}_ops[r].elementwise = {n}_ops[r].sigmoid = 0;\n"
            f"        {n}_ops[r].tanh = {n}_ops[r].relu = {n}_ops[r].exp = 0;\n    }}\n}}\n"
            f"#define COUNT(row, kind, n) ({n}_ops[row].kind += (unsigned long long)(n))\n"
            "#else\n#define COUNT(row, kind, n) ((void)0)\n#endif\n\n"
        )
        cells = [self.cell(la, d) for la in p.layers for d in la.directions]
        code = "".join(cells) + self.reset() + ApiWriter(p, self.numbers()).functions()
        return head + self.data() + "\n" + _helpers(code) + code

    def header(self, dtype: str = "float32", state_struct: str | None = None,
               scales: tuple[float, float] | None = None) -> str:  # fmt: skip
        """``<name>.h``: sizes, the per-stream state type, and the API (C and C++);
        ``scales`` (int8): the real value of one unit of the integer input and output."""
        p, n = self.p, self.n
        guard = f"LSTMKIT_{n.upper()}_{model_hash(p, dtype).upper()}_H"
        io = "float in and out"
        out = [
            f"/* {n}.h: generated by lstmkit {__version__}. {dtype} inference ({io}), C99;\n"
            " * usable from C++. Weights are const and shared by every instance; everything a\n"
            f" * stream changes is in one {n}_state_t, so instances are independent, and saving\n"
            " * or restoring a stream is a plain struct copy. */\n",
            f"#ifndef {guard}\n#define {guard}\n\n",
            "#include <stdint.h>\n\n" if dtype == "int8" else "",
            f"#define {n}_INPUT_SIZE {p.input_size}\n",
            f"#define {n}_OUTPUT_SIZE {p.output_size}\n",
            f"/* 1: {n}_run writes {n}_OUTPUT_SIZE numbers per step; 0: once per sequence. */\n",
            f"#define {n}_OUTPUT_IS_SEQUENCE {int(p.output_sequence)}\n",
        ]
        if p.bidirectional:
            out.append(
                f"/* Longest sequence {n}_run accepts (bidirectional: static buffers). */\n"
                f"#define {n}_MAX_STEPS {p.max_steps}\n"
            )
        out += [
            f"/* Alignment in bytes of the weights and of {n}_state_t (define before including\n"
            " * the header, and when compiling the model, to change it). */\n"
            f"#ifndef {n}_ALIGN\n#define {n}_ALIGN 4\n#endif\n"
            "#if defined(__GNUC__) || defined(__clang__)\n"
            f"#define {n}_ALIGNED __attribute__((aligned({n}_ALIGN)))\n#else\n"
            f"#define {n}_ALIGNED\n#endif\n\n",
            '#ifdef __cplusplus\nextern "C" {\n#endif\n\n',
            f"/* Everything one stream changes. */\ntypedef struct {n}_ALIGNED {n}_state {{\n",
            state_struct if state_struct is not None else self.state_struct(),
            f"}} {n}_state_t;\n\n",
            f"/* Zero a stream's state (every layer and direction). */\n"
            f"void {n}_init({n}_state_t *st);\n",
        ]
        if dtype == "int8":
            out.append(f"\n#ifndef {n}_NO_FLOAT /* define it to leave out the float API */\n")
        if not p.bidirectional:
            out.append(
                "/* One streaming step: x has INPUT_SIZE numbers, y receives OUTPUT_SIZE; the\n"
                f" * stream's state is kept in st until {n}_init. */\n"
                f"void {n}_step({n}_state_t *st, const float *x, float *y);\n"
            )
        cont = (
            "with reset 0 it continues the stream in st (as T calls of step would)"
            if not p.bidirectional
            else "reset must be 1 (a bidirectional layer reads the whole sequence)"
        )
        out += [
            "/* A whole sequence: x is T x INPUT_SIZE (row-major); y receives T x OUTPUT_SIZE\n"
            f" * or OUTPUT_SIZE numbers ({n}_OUTPUT_IS_SEQUENCE), as the Python model's predict\n"
            f" * on one sample. With reset 1 it starts from zero state;\n * {cont}.\n"
            " * Returns 0, or -1 if T or reset is out of range (then y is untouched). */\n"
            f"int {n}_run({n}_state_t *st, const float *x, int T, float *y, int reset);\n\n",
        ]
        if dtype == "int8":
            in_scale, out_scale = scales
            out += [
                f"#endif\n\n/* The same from and to integers, with no floating point at all (for\n"
                " * cores without an FPU): x is int16 with a real value of x * INPUT_SCALE, y is\n"
                " * int32 with a real value of y * OUTPUT_SCALE. */\n"
                f"#define {n}_INPUT_SCALE {c_float(in_scale)}\n"
                f"#define {n}_OUTPUT_SCALE {c_float(out_scale)}\n",
            ]
            if not p.bidirectional:
                out.append(f"void {n}_step_int({n}_state_t *st, const int16_t *x, int32_t *y);\n")
            out.append(
                f"int {n}_run_int({n}_state_t *st, const int16_t *x, int T, int32_t *y, "
                "int reset);\n\n"
            )
        tail = "#ifdef __cplusplus\n}\n#endif\n\n#endif\n"
        if dtype != "float32":  # only the float code counts its operations
            return "".join([*out, tail])
        out += [
            f"#ifdef {n}_COUNT_OPS\n/* Operations executed, per layer and direction (rows as\n"
            " * lstmkit.analyze prints them), in the analyzer's categories. */\n"
            f"#define {n}_OP_ROWS {len(p.rows)}\n",
            "typedef struct {\n"
            "    unsigned long long macc, elementwise, sigmoid, tanh, relu, exp;\n"
            f"}} {n}_ops_t;\nextern {n}_ops_t {n}_ops[{n}_OP_ROWS];\n",
            f"extern const char *const {n}_op_row_names[{n}_OP_ROWS];\n",
            f"void {n}_ops_clear(void);\n#endif\n\n",
            tail,
        ]
        return "".join(out)


def describe(la: CLayer) -> str:
    """A layer in words, for the comment above its C."""
    o, D = la.options, la.in_size
    if la.kind == "dense":
        return f"Dense {D} -> {la.out_size}, activation {o['activation']}"
    text = f"{la.kind.upper()} step, D={D} H={o['H']}"
    if la.kind == "lstm":
        text += (f" P={o['P']}" if o["proj"] else "") + (" peephole" if o["peephole"] else "")
    elif la.kind == "gru":
        text += f", reset_after={int(o['reset_after'])}"
    else:
        text += f", {o['activation']}"
    return text


def state_member(layer: CLayer, direction, key: str) -> str:
    """The ``<name>_state_t`` member of one state vector (``s_l0f_h``)."""
    return f"s_{_tag(layer, direction)}_{key}"


def model_hash(plan: Plan, dtype: str) -> str:
    """Eight hex digits of a hash of the model (name, arithmetic, layers, weights): header
    guards of two exports cannot collide, whatever their names' case."""
    import hashlib

    h = hashlib.sha256(f"{plan.name}|{dtype}|{plan.input_size}".encode())
    for la in plan.layers:
        h.update(f"|{la.kind}|{sorted(la.options.items())}".encode())
        for d in la.directions:
            for key, arr in sorted(la.weights[d].items()):
                h.update(key.encode())
                h.update(np.ascontiguousarray(arr, np.float32).tobytes())
    return h.hexdigest()[:8]


#: Helper functions of the generated code, emitted only when used (-Wall -Werror).
HELPERS = {
    "sigm": (
        "/* sigma(a) = 0.5 tanh(a/2) + 0.5: exact, and cannot overflow. */\n"
        "static float sigm(float a) { return 0.5f * tanhf(0.5f * a) + 0.5f; }\n\n"
    ),
    "dot": (
        "/* A dot product in order: unrolled by four so that the compiler can schedule the\n"
        " * loads, never reassociated, so it rounds exactly as the plain loop does. With\n"
        " * LSTMKIT_USE_FMA every step is one fused multiply-add (fmaf: one rounding instead\n"
        " * of two), faster where the core has FMA, and different in the last bits. */\n"
        "#ifdef LSTMKIT_USE_FMA\n#define LSTMKIT_MAC(acc, a, b) fmaf((a), (b), (acc))\n"
        "#else\n#define LSTMKIT_MAC(acc, a, b) ((acc) + (a) * (b))\n#endif\n"
        "static float dot(const float *w, const float *v, int k)\n{\n"
        "    const int full = k - k % 4;\n    float acc = 0.0f;\n    int i = 0;\n"
        "    for (; i < full; i += 4) {\n"
        "        acc = LSTMKIT_MAC(acc, w[i], v[i]);\n"
        "        acc = LSTMKIT_MAC(acc, w[i + 1], v[i + 1]);\n"
        "        acc = LSTMKIT_MAC(acc, w[i + 2], v[i + 2]);\n"
        "        acc = LSTMKIT_MAC(acc, w[i + 3], v[i + 3]);\n    }\n"
        "    for (; i < k; ++i)\n        acc = LSTMKIT_MAC(acc, w[i], v[i]);\n"
        "    return acc;\n}\n\n"
    ),
    "copy": (
        "/* Copy that tolerates overlap (slots of the scratch may overlap between layers). */\n"
        "static void copy(float *dst, const float *src, int n)\n{\n    int i;\n"
        "    if (dst < src)\n        for (i = 0; i < n; ++i)\n            dst[i] = src[i];\n"
        "    else if (dst > src)\n        for (i = n - 1; i >= 0; --i)\n"
        "            dst[i] = src[i];\n}\n\n"
    ),
    "zero": (
        "static void zero(float *p, int n)\n{\n    int i;\n    for (i = 0; i < n; ++i)\n"
        "        p[i] = 0.0f;\n}\n\n"
    ),
}


def _helpers(code: str) -> str:
    """The helpers ``code`` calls."""
    used = {name for name in HELPERS if re.search(rf"\b{name}\(", code)}
    return "".join(text for name, text in HELPERS.items() if name in used)


def float_sources(plan: Plan) -> dict[str, str]:
    """``{"<name>.h": ..., "<name>.c": ...}`` for float32 inference."""
    e = _Emitter(plan)
    return {f"{plan.name}.h": e.header(), f"{plan.name}.c": e.source()}
