"""C99 source for int8 inference, generated from a :class:`~lstmkit.export.int8.QModel`:
the same arithmetic as its Python model, statement by statement (tested bit-exact), with
``<stdint.h>`` types and no library call at all.

Memory follows the analyzer with ``weights="int8", state="int16"``: int8 matrices with a
32-bit multiplier per row, 32-bit biases and peepholes, int16 state; the per-step scratch
is a union of one struct per layer (its int32 gate accumulators, int16 input and output),
so its size is the largest layer's; whole sequences (bidirectional models) are int16.
"""

from __future__ import annotations

import re

import numpy as np

from lstmkit import __version__
from lstmkit.export.c_api import ApiWriter, Numbers, Variant
from lstmkit.export.c_float import _tag, c_float, state_member
from lstmkit.export.c_step import IntC, Names, step_body
from lstmkit.export.int8 import QModel
from lstmkit.steps.define import state_names
from lstmkit.steps.fixed import I16, I32, LUT_BITS, Q_ACT, Q_PRE, TABLES, QMatrix
from lstmkit.steps.schedule import Area, Memory, schedule

PER_LINE = 12


def _ints(ctype: str, name: str, values, static: bool = False, align: str = "") -> str:
    flat = np.asarray(values, np.int64).ravel()
    body = ",\n".join(
        "    " + ", ".join(str(int(v)) for v in flat[i : i + PER_LINE])
        for i in range(0, flat.size, PER_LINE)
    )
    return (f"{'static ' if static else ''}const {ctype} {name}[{flat.size}]"
            f"{' ' + align if align else ''} = {{\n{body}\n}};\n")  # fmt: skip


HELPERS = {
    "rq": """static int32_t rq(int64_t v, int n)
{
    return (int32_t)((v + ((int64_t)1 << (n - 1))) >> n);
}

""",
    "sat16": f"""static int32_t sat16(int32_t v)
{{
    return v > {I16} ? {I16} : (v < -{I16} ? -{I16} : v);
}}

""",
    "sat16w": f"""static int32_t sat16w(int64_t v)
{{
    return (int32_t)(v > {I16} ? {I16} : (v < -{I16} ? -{I16} : v));
}}

""",
    "sat32": f"""static int32_t sat32(int64_t v)
{{
    return (int32_t)(v > {I32} ? {I32} : (v < -{I32} ? -{I32} : v));
}}

""",
    "row16": """/* Row r of an int8 matrix times an int16 vector, requantized. Each row's groups of
 * four weights are stored w0 w2 w1 w3: the order in which the dual 16-bit MAC (SMLAD, on
 * cores with the DSP extension) pairs them with v0 v1 and v2 v3 after SXTB16 widens them.
 * The portable C reads the same order; integer sums are exact, so both give the same
 * bits. Define LSTMKIT_NO_DSP to use the portable C on a DSP core too. */
#if defined(__ARM_FEATURE_DSP) && !defined(LSTMKIT_NO_DSP)
#include <arm_acle.h>
#include <string.h>
#define LSTMKIT_USE_SMLAD 1
#endif
static int32_t row16(const int8_t *W, const int32_t *m, int n, const int16_t *v, int r, int k)
{
    const int8_t *w = W + r * k;
    const int full = k - k % 4;
    int32_t acc = 0;
    int i = 0;
#ifdef LSTMKIT_USE_SMLAD
    for (; i < full; i += 4) {
        uint32_t q;
        int32_t v01, v23;
        memcpy(&q, w + i, 4);
        memcpy(&v01, v + i, 4);
        memcpy(&v23, v + i + 2, 4);
        acc = __smlad(__sxtb16((int32_t)q), v01, acc);
        acc = __smlad(__sxtb16((int32_t)((q >> 8) | (q << 24))), v23, acc);
    }
#else
    for (; i < full; i += 4)
        acc += (int32_t)w[i] * v[i] + (int32_t)w[i + 2] * v[i + 1]
             + (int32_t)w[i + 1] * v[i + 2] + (int32_t)w[i + 3] * v[i + 3];
#endif
    for (; i < k; ++i)
        acc += (int32_t)w[i] * (int32_t)v[i];
    return rq((int64_t)acc * m[r], n);
}

""",
    "row32": """/* The same for a vector held in int32 (values in int16 range), same order. */
static int32_t row32(const int8_t *W, const int32_t *m, int n, const int32_t *v, int r, int k)
{
    const int8_t *w = W + r * k;
    const int full = k - k % 4;
    int32_t acc = 0;
    int i = 0;
    for (; i < full; i += 4)
        acc += (int32_t)w[i] * v[i] + (int32_t)w[i + 2] * v[i + 1]
             + (int32_t)w[i + 1] * v[i + 2] + (int32_t)w[i + 3] * v[i + 3];
    for (; i < k; ++i)
        acc += (int32_t)w[i] * v[i];
    return rq((int64_t)acc * m[r], n);
}

""",
    "lut": f"""/* Interpolated table: Q{Q_PRE} in from lo, a point per 2^{LUT_BITS} units, Q{Q_ACT}
 * out. */
static int32_t lut(const int16_t *t, int points, int32_t lo, int32_t a)
{{
    int32_t hi = lo + ((points - 1) << {LUT_BITS}) - 1, u, i, f;
    if (a < lo)
        a = lo;
    if (a > hi)
        a = hi;
    u = a - lo;
    i = u >> {LUT_BITS};
    f = u & {(1 << LUT_BITS) - 1};
    return t[i] + (((int32_t)(t[i + 1] - t[i]) * f + {1 << (LUT_BITS - 1)}) >> {LUT_BITS});
}}

""",
    "copy16": """static void copy16(int16_t *dst, const int16_t *src, int n)
{
    int i;
    if (dst < src)
        for (i = 0; i < n; ++i)
            dst[i] = src[i];
    else if (dst > src)
        for (i = n - 1; i >= 0; --i)
            dst[i] = src[i];
}

""",
    "zero16": """static void zero16(int16_t *p, int n)
{
    int i;
    for (i = 0; i < n; ++i)
        p[i] = 0;
}

""",
}


def dual_mac_order(q: np.ndarray) -> np.ndarray:
    """An int8 matrix ``(R, K)`` with each row's full groups of four stored ``w0 w2 w1
    w3`` (the tail in order): what ``row16``'s SMLAD loop reads (see its comment)."""
    out = np.array(q, copy=True)
    full = q.shape[1] // 4 * 4
    groups = out[:, :full].reshape(q.shape[0], -1, 4)
    out[:, :full] = groups[:, :, [0, 2, 1, 3]].reshape(q.shape[0], full)
    return out


def _used(code: str) -> str:
    """Tables and helpers that ``code`` refers to (the compiler rejects unused ones)."""
    names = {n for n in HELPERS if re.search(rf"\b{n}\(", code)}
    if names & {"row16", "row32"}:
        names.add("rq")
    return "".join(t for n, t in HELPERS.items() if n in names)


def _tables_hash() -> str:
    import hashlib

    h = hashlib.sha256()
    for name, table in TABLES.items():
        h.update(name.encode() + np.asarray(table, "<i2").tobytes())
    return h.hexdigest()[:8]


#: The activation tables live in their own files, named by a hash of their contents: every
#: int8 model exported into one folder (by any lstmkit with the same tables) shares them.
TABLES_NAME = f"lstmkit_tables_{_tables_hash()}"


def table_symbol(name: str) -> str:
    return f"lstmkit_lut_{name}_{_tables_hash()}"


def tables_sources() -> dict[str, str]:
    """``lstmkit_tables_<hash>.h`` and ``.c``: sigmoid, tanh and exp tables."""
    guard = f"{TABLES_NAME.upper()}_H"
    decls = "".join(
        f"extern const int16_t {table_symbol(name)}[{len(table)}];\n"
        for name, table in TABLES.items()
    )
    header = (
        f"/* {TABLES_NAME}.h: generated by lstmkit {__version__}. The int8 activation tables\n"
        " * every int8 model in this folder shares: compile and link the .c once. sigmoid\n"
        " * and tanh on [-8, 8], exp on [-8, 0]: int16 Q15 points, 1/16 apart. */\n"
        f"#ifndef {guard}\n#define {guard}\n\n#include <stdint.h>\n\n"
        '#ifdef __cplusplus\nextern "C" {\n#endif\n\n'
        + decls
        + "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n"
    )
    source = (
        f"/* {TABLES_NAME}.c: generated by lstmkit {__version__}. */\n"
        f'#include "{TABLES_NAME}.h"\n\n'
        + "".join(_ints("int16_t", table_symbol(name), table) for name, table in TABLES.items())
    )
    return {f"{TABLES_NAME}.h": header, f"{TABLES_NAME}.c": source}


class _Emitter:
    def __init__(self, q: QModel) -> None:
        self.q = q
        self.p = q.plan
        self.n = q.plan.name

    def w(self, la, d, key) -> str:
        return f"{self.n}_w_{_tag(la, d)}_{key}"

    def s(self, la, d, key) -> str:
        return f"st->{state_member(la, d, key)}"

    def sc(self, la, part) -> str:
        return f"st->scratch.{_tag(la, None)}.{part}"

    def step_sig(self, la, d) -> str:
        """The opening of a recurrent layer's step function (its state lives in ``st``)."""
        return (f"static void {_tag(la, d)}_step({self.n}_state_t *st, const int16_t *x, "
                f"int16_t *out)\n{{\n")  # fmt: skip

    def matrix(self, la, d, key, m: QMatrix) -> str:
        align = f"{self.n}_ALIGNED"
        return _ints("int8_t", self.w(la, d, key), dual_mac_order(m.q), align=align) + _ints(
            "int32_t", self.w(la, d, key + "_m"), m.mult, align=align
        )

    def state_struct(self) -> str:
        """The members of ``<name>_state_t``: int16 states, the scratch union of the
        layers' accumulators and vectors, the sequence buffer of bidirectional models."""
        p = self.p
        lines = ["    /* State: int16, kept between calls. */\n"]
        lines += [f"    int16_t {state_member(la, d, k)}[{n}];\n"
                  for la, d, k, n in p.state_vectors()]  # fmt: skip
        lines.append("    /* Scratch of one step: the largest layer's accumulators and vectors.\n"
                     "     */\n    union {\n")  # fmt: skip
        for la in p.layers:
            parts = [f"int32_t acc[{la.gates}];"] if la.gates else []
            parts += [f"int16_t in[{la.in_size}];", f"int16_t out[{la.out_size}];"]
            lines.append(f"        struct {{\n            {' '.join(parts)}\n"
                         f"        }} {_tag(la, None)};\n")  # fmt: skip
        lines.append("    } scratch;\n")
        if p.bidirectional:
            lines.append("    /* Whole sequences between layers. */\n"
                         f"    int16_t sequence[{p.sequence_arena}];\n")  # fmt: skip
        return "".join(lines)

    # -- data ----------------------------------------------------------------------------
    def data(self) -> str:
        out = ["/* Weights (const: flash): int8 rows, 32-bit row multipliers and vectors. */\n"]
        for la, ql in zip(self.p.layers, self.q.layers, strict=True):
            for d in la.directions:
                for key, val in ql.dirs[d].stored.arrays.items():
                    if isinstance(val, QMatrix):
                        out.append(self.matrix(la, d, key, val))
                    else:
                        out.append(_ints("int32_t", self.w(la, d, key), val,
                                         align=f"{self.n}_ALIGNED"))  # fmt: skip
        return "".join(out)

    def states(self) -> list[tuple[str, int]]:
        """``(symbol, numbers)`` of every state vector."""
        return [(self.s(la, d, k), n) for la, d, k, n in self.p.state_vectors()]

    # -- cells ---------------------------------------------------------------------------
    def cell(self, la, ql, d, last: bool) -> str:
        """A layer's step (or application) function: its integer step traced from the
        cell's one definition (lstmkit.steps.fixed), scheduled into the layer's scratch
        and printed; the Python model evaluates the same graph."""
        step = ql.dirs[d]
        names = Names({"x": "x", "out": "out"}, lambda key: self.w(la, d, key))
        if la.recurrent:
            G, D, P = la.gates, la.in_size, la.options["P"]
            memory = Memory([Area("acc", G, 4), Area("in", D, 2), Area("o", P, 2)],
                            x=("in", 0), out=("o", 0), out_width=2)  # fmt: skip
            names.spaces.update({"acc": self.sc(la, "acc"), "in": self.sc(la, "in"), "o": "out"})
            for name in state_names(la.kind):
                names.spaces[f"state:{name}"] = self.s(la, d, name)
            head = self.step_sig(la, d)
            what = f"{la.kind.upper()} step (int8)"
        else:
            width = 4 if last else 2
            memory = Memory([Area("o", la.out_size, width)], out=("o", 0), out_width=width)
            names.spaces["o"] = "out"
            if last:
                names.spaces.update({"o": "y", "out": "y"})
                head = (f"static void {_tag(la, None)}_apply_int(const int16_t *x, int32_t *y)"
                        "\n{\n")  # fmt: skip
            else:
                head = f"static void {_tag(la, None)}_apply(const int16_t *x, int16_t *out)\n{{\n"
            what = f"Dense (int8) {la.in_size} -> {la.out_size}, {la.options['activation']}"
            if last:
                what += f"; integer out, scale {step.output_scale:g}"

        def width_of(v):
            if v.ibound > I32:
                raise AssertionError(f"{v} must be stored but needs 64 bits")
            return 2 if v.ibound <= I16 else 4

        body = step_body(schedule(step.graph, memory, width_of), names, IntC())
        return f"/* {la.row(d)}: {what}. */\n" + head + body + "}\n\n"

    # -- the public functions --------------------------------------------------------------
    def quantize_fn(self) -> str:
        inv = c_float(float(self.q.input_inv))
        return (
            "/* float input -> int16 at the input scale (saturating, half away from 0). */\n"
            "static void quantize(const float *x, int16_t *q, int n)\n{\n    int i;\n"
            "    for (i = 0; i < n; ++i) {\n"
            f"        float v = x[i] * {inv};\n"
            f"        if (v > {I16}.0f)\n            v = {I16}.0f;\n"
            f"        if (v < -{I16}.0f)\n            v = -{I16}.0f;\n"
            "        q[i] = (int16_t)(v >= 0.0f ? (int32_t)(v + 0.5f) : (int32_t)(v - 0.5f));\n"
            "    }\n}\n\n"
        )

    def to_float(self, src: str, dst: str, n: str, indent: str = "    ") -> str:
        """Code converting the last layer's integer output to float: the integer times
        its scale, as the Python model does."""
        scale = c_float(float(np.float32(self.q.output_scale)))
        return (f"{indent}for (i = 0; i < {n}; ++i)\n"
                f"{indent}    {dst}[i] = (float){src}[i] * {scale};\n")  # fmt: skip

    def numbers(self) -> Numbers:
        """The float API (input quantized, output scaled; left out with N_NO_FLOAT) and
        the integer API (int16 in, int32 out)."""
        decl = "    int i;\n    (void)i;\n"
        last = self.p.layers[-1]
        yq = "" if last.recurrent else f"    int32_t yq[{last.out_size}];\n"

        def to_int(src, dst, n, indent):
            return f"{indent}for (i = 0; i < {n}; ++i)\n{indent}    {dst}[i] = (int32_t){src}[i];\n"

        def dense_float(la, src, y, indent):  # the integer result, scaled
            return (f"{indent}{_tag(la, None)}_apply_int({src}, yq);\n"
                    + self.to_float("yq", y, str(la.out_size), indent))  # fmt: skip

        def dense_int(la, src, y, indent):
            return f"{indent}{_tag(la, None)}_apply_int({src}, {y});\n"

        def quantize(src, dst, n):
            return f"quantize({src}, {dst}, {n});\n"

        def copy(src, dst, n):
            return f"copy16({dst}, {src}, {n});\n"

        floats = Variant("", "float", "float", quantize, self.to_float, dense_float, yq + decl,
                         guard=f"{self.n}_NO_FLOAT")  # fmt: skip
        ints = Variant("_int", "int16_t", "int32_t", copy, to_int, dense_int, decl)
        return Numbers("int16_t", "copy16", self.sc, [floats, ints])

    def reset(self) -> str:
        lines = [f"void {self.n}_init({self.n}_state_t *st)\n{{\n"]
        lines += [f"    zero16({sym}, {size});\n" for sym, size in self.states()]
        lines.append("}\n\n")
        return "".join(lines)

    def source(self) -> str:
        n = self.n
        last = len(self.p.layers) - 1
        cells = [self.cell(la, ql, d, k == last)
                 for k, (la, ql) in enumerate(zip(self.p.layers, self.q.layers, strict=True))
                 for d in la.directions]  # fmt: skip
        code = (
            f"#ifndef {n}_NO_FLOAT\n" + self.quantize_fn() + "#endif\n\n"
            + "".join(cells) + self.reset() + ApiWriter(self.p, self.numbers()).functions()
        )  # fmt: skip
        code = re.sub(r"\blut_(sigmoid|tanh|exp)\b", lambda m: table_symbol(m.group(1)), code)
        return (
            f"/* {n}.c: int8 inference, generated by lstmkit {__version__}. API in {n}.h;\n"
            " * number formats in lstmkit/steps/fixed.py. No allocation, no library; the\n"
            f" * activation tables are in {TABLES_NAME}.c. */\n"
            f'#include <stdint.h>\n\n#include "{n}.h"\n#include "{TABLES_NAME}.h"\n\n'
            + self.data()
            + "\n"
            + _used(code)
            + code
        )


def int8_sources(q: QModel) -> dict[str, str]:
    """``<name>.h``, ``<name>.c`` and the shared tables' files for int8 inference."""
    from lstmkit.export.c_float import _Emitter as FloatEmitter

    e = _Emitter(q)
    header = FloatEmitter(q.plan).header("int8", state_struct=e.state_struct(),
                                         scales=(q.input_scale, q.output_scale))  # fmt: skip
    return {f"{q.plan.name}.h": header, f"{q.plan.name}.c": e.source(), **tables_sources()}
