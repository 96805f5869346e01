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
from lstmkit.export.c_float import _tag, c_float, state_member
from lstmkit.export.int8 import (
    EXP,
    I16,
    LUT_LO,
    Q_ACT,
    Q_CELL,
    Q_PRE,
    SIGMOID,
    TANH,
    QMatrix,
    QModel,
)

PER_LINE = 12
# Table lookups as the C writes them: the table, its points, its lowest input (Q_PRE).
SIG_CALL = f"lut(lut_sigmoid, {len(SIGMOID)}, {LUT_LO}, "
TANH_CALL = f"lut(lut_tanh, {len(TANH)}, {LUT_LO}, "
EXP_CALL = f"lut(lut_exp, {len(EXP)}, {LUT_LO}, "
# The cell (Q_CELL) as a table input (Q_PRE), and i·g (Q_ACT·Q_ACT) to the cell's format.
CELL_TO_PRE = f" << {Q_PRE - Q_CELL}" if Q_PRE != Q_CELL else ""
IG_TO_CELL = 2 * Q_ACT - Q_CELL


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
    "sat16": f"""static int16_t sat16(int32_t v)
{{
    return (int16_t)(v > {I16} ? {I16} : (v < -{I16} ? -{I16} : v));
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
    "lut": f"""/* Interpolated table: Q{Q_PRE} in from lo, a point per 2^7 units, Q{Q_ACT} out. */
static int32_t lut(const int16_t *t, int points, int32_t lo, int32_t a)
{{
    int32_t hi = lo + ((points - 1) << 7) - 1, u, i, f;
    if (a < lo)
        a = lo;
    if (a > hi)
        a = hi;
    u = a - lo;
    i = u >> 7;
    f = u & 127;
    return t[i] + (((int32_t)(t[i + 1] - t[i]) * f + 64) >> 7);
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


TABLES = (("sigmoid", SIGMOID), ("tanh", TANH), ("exp", EXP))


def _tables_hash() -> str:
    import hashlib

    h = hashlib.sha256()
    for name, table in TABLES:
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
        f"extern const int16_t {table_symbol(name)}[{len(table)}];\n" for name, table in TABLES
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
        + "".join(_ints("int16_t", table_symbol(name), table) for name, table in TABLES)
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

    def row(self, la, d, key, m: QMatrix, v: str, r: str, k: int, wide=False) -> str:
        fn = "row32" if wide else "row16"
        return f"{fn}({self.w(la, d, key)}, {self.w(la, d, key + '_m')}, {m.shift}, {v}, {r}, {k})"

    # -- data ----------------------------------------------------------------------------
    def data(self) -> str:
        out = ["/* Weights (const: flash): int8 rows, 32-bit row multipliers and vectors. */\n"]
        for la, ql in zip(self.p.layers, self.q.layers, strict=True):
            for d in la.directions:
                for key, val in ql.dirs[d].items():
                    if isinstance(val, QMatrix):
                        out.append(self.matrix(la, d, key, val))
                    elif val is not None:
                        out.append(_ints("int32_t", self.w(la, d, key), val,
                                         align=f"{self.n}_ALIGNED"))  # fmt: skip
        return "".join(out)

    def states(self) -> list[tuple[str, int]]:
        """``(symbol, numbers)`` of every state vector."""
        return [(self.s(la, d, k), n) for la, d, k, n in self.p.state_vectors()]

    # -- cells ---------------------------------------------------------------------------
    def lstm(self, la, ql, d) -> str:
        P_, H, D, P = ql.dirs[d], la.options["H"], la.in_size, la.options["P"]
        h, c = self.s(la, d, "h"), self.s(la, d, "c")
        a = self.sc(la, "acc")
        pp = self.w(la, d, "p")
        body = [
            f"/* {la.row(d)}: LSTM step (int8). */\n",
            self.step_sig(la, d),
            f"    int32_t *a = {a};\n    int j;\n",
            f"    for (j = 0; j < {4 * H}; ++j)\n"
            f"        a[j] = {self.row(la, d, 'Wx', P_['Wx'], 'x', 'j', D)}"
            f" + {self.row(la, d, 'Wh', P_['Wh'], h, 'j', P)} + {self.w(la, d, 'b')}[j];\n",
        ]
        if P_.get("p") is not None:
            body.append(
                f"    for (j = 0; j < {H}; ++j) {{\n"
                f"        a[j] += rq((int64_t){pp}[j] * {c}[j], {Q_ACT});\n"
                f"        a[{H} + j] += rq((int64_t){pp}[{H} + j] * {c}[j], {Q_ACT});\n    }}\n"
            )
        body.append(
            f"    for (j = 0; j < {H}; ++j) {{\n"
            f"        int32_t i = {SIG_CALL}a[j]);\n"
            f"        int32_t f = {SIG_CALL}a[{H} + j]);\n"
            f"        int32_t g = {TANH_CALL}a[{3 * H} + j]);\n"
            f"        {c}[j] = sat16(rq((int64_t)f * {c}[j], {Q_ACT}) + "
            f"rq((int64_t)i * g, {IG_TO_CELL}));\n    }}\n"
        )
        if P_.get("p") is not None:
            body.append(
                f"    for (j = 0; j < {H}; ++j)\n"
                f"        a[{2 * H} + j] += rq((int64_t){pp}[{2 * H} + j] * {c}[j], {Q_ACT});\n"
            )
        proj = la.options["proj"]
        dest = "a[j]" if proj else "out[j]"  # with a projection, m waits in a (int32)
        body.append(
            f"    for (j = 0; j < {H}; ++j) {{\n"
            f"        int32_t o = {SIG_CALL}a[{2 * H} + j]);\n"
            f"        {dest} = sat16(rq((int64_t)o * {TANH_CALL}{c}[j]{CELL_TO_PRE}), "
            f"{Q_ACT}));\n    }}\n"
        )
        if proj:
            body.append(
                f"    for (j = 0; j < {P}; ++j)\n"
                f"        out[j] = sat16("
                f"{self.row(la, d, 'Wr', P_['Wr'], 'a', 'j', H, wide=True)});\n"
            )
        body.append(f"    copy16({h}, out, {P});\n}}\n\n")
        return "".join(body)

    def gru(self, la, ql, d) -> str:
        P_, H, D = ql.dirs[d], la.options["H"], la.in_size
        h = self.s(la, d, "h")
        bx, bh = self.w(la, d, "bx"), self.w(la, d, "bh")
        sig = SIG_CALL
        tanh = TANH_CALL
        body = [
            f"/* {la.row(d)}: GRU step (int8), reset_after={int(la.options['reset_after'])}. */\n",
            self.step_sig(la, d),
            f"    int32_t *a = {self.sc(la, 'acc')};\n    int j;\n",
            f"    for (j = 0; j < {3 * H}; ++j)\n"
            f"        a[j] = {self.row(la, d, 'Wx', P_['Wx'], 'x', 'j', D)} + {bx}[j];\n",
            f"    for (j = 0; j < {2 * H}; ++j)\n"
            f"        a[j] += {self.row(la, d, 'Wh_rz', P_['Wh_rz'], h, 'j', H)} + {bh}[j];\n",
        ]
        if la.options["reset_after"]:
            body.append(
                f"    for (j = 0; j < {H}; ++j) {{\n"
                f"        int32_t r = {sig}a[j]), z = {sig}a[{H} + j]);\n"
                f"        int32_t hn = {self.row(la, d, 'Wh_n', P_['Wh_n'], h, 'j', H)}"
                f" + {bh}[{2 * H} + j];\n"
                f"        int32_t n = {tanh}a[{2 * H} + j] + rq((int64_t)r * hn, {Q_ACT}));\n"
                f"        out[j] = sat16(n + rq((int64_t)z * ({h}[j] - n), {Q_ACT}));\n    }}\n"
            )
        else:
            body.append(
                f"    for (j = 0; j < {H}; ++j) {{ /* r * h waits in out, z in a */\n"
                f"        out[j] = sat16(rq((int64_t){sig}a[j]) * {h}[j], {Q_ACT}));\n"
                f"        a[{H} + j] = {sig}a[{H} + j]);\n    }}\n"
                f"    for (j = 0; j < {H}; ++j)\n"
                f"        a[{2 * H} + j] = {tanh}a[{2 * H} + j] + "
                f"{self.row(la, d, 'Wh_n', P_['Wh_n'], 'out', 'j', H)} + {bh}[{2 * H} + j]);\n"
                f"    for (j = 0; j < {H}; ++j) {{\n"
                f"        int32_t n = a[{2 * H} + j];\n"
                f"        out[j] = sat16(n + rq((int64_t)a[{H} + j] * ({h}[j] - n), {Q_ACT}));\n"
                "    }\n"
            )
        body.append(f"    copy16({h}, out, {H});\n}}\n\n")
        return "".join(body)

    def rnn(self, la, ql, d) -> str:
        P_, H, D = ql.dirs[d], la.options["H"], la.in_size
        h = self.s(la, d, "h")
        if la.options["activation"] == "tanh":
            act = f"{TANH_CALL}a)"
        else:
            m, n = ql.extra["out"]
            act = f"sat16(rq((int64_t)(a > 0 ? a : 0) * {m}, {n}))"
        return (
            f"/* {la.row(d)}: RNN step (int8, {la.options['activation']}). */\n"
            + self.step_sig(la, d)
            + f"    int j;\n    for (j = 0; j < {H}; ++j) {{\n"
            f"        int32_t a = {self.row(la, d, 'Wx', P_['Wx'], 'x', 'j', D)} + "
            f"{self.row(la, d, 'Wh', P_['Wh'], h, 'j', H)} + {self.w(la, d, 'b')}[j];\n"
            f"        out[j] = (int16_t){act};\n    }}\n"
            f"    copy16({h}, out, {H});\n}}\n\n"
        )

    def dense(self, la, ql, last: bool) -> str:
        n_out, k = la.out_size, la.in_size
        P_ = ql.dirs[None]
        act = la.options["activation"]
        a = f"{self.row(la, None, 'W', P_['W'], 'x', 'j', k)} + {self.w(la, None, 'b')}[j]"
        sig = {"sigmoid": "lut_sigmoid", "tanh": "lut_tanh"}.get(act)
        if last:
            return self._dense_int_out(la, a, sig)
        if sig:
            expr = f"(int16_t)lut({sig}, {len(SIGMOID)}, {LUT_LO}, a)"
        else:
            m, n = ql.extra["out"]
            pos = "(a > 0 ? a : 0)" if act == "relu" else "a"
            expr = f"sat16(rq((int64_t){pos} * {m}, {n}))"
        return (
            f"/* {la.row(None)}: Dense (int8) {k} -> {n_out}, {act}. */\n"
            f"static void {_tag(la, None)}_apply(const int16_t *x, int16_t *out)\n{{\n"
            f"    int j;\n    for (j = 0; j < {n_out}; ++j) {{\n        int32_t a = {a};\n"
            f"        out[j] = {expr};\n    }}\n}}\n\n"
        )

    def _dense_int_out(self, la, a: str, sig: str | None) -> str:
        """The last Dense layer: integers (Q15 for sigmoid, tanh and softmax, whose
        probabilities are rounded half up; Q11 otherwise), which the float API scales."""
        n_out, k, act = la.out_size, la.in_size, la.options["activation"]
        body = [
            f"/* {la.row(None)}: Dense (int8) {k} -> {n_out}, {act}; integer out. */\n",
            f"static void {_tag(la, None)}_apply_int(const int16_t *x, int32_t *y)\n{{\n",
            "    int j;\n",
        ]
        if act == "softmax":
            body.append(
                "    int32_t top, sum = 0;\n"
                f"    for (j = 0; j < {n_out}; ++j)\n        y[j] = {a};\n"
                "    top = y[0];\n"
                f"    for (j = 1; j < {n_out}; ++j)\n"
                "        if (y[j] > top)\n            top = y[j];\n"
                f"    for (j = 0; j < {n_out}; ++j) {{\n"
                f"        y[j] = {EXP_CALL}y[j] - top);\n"
                "        sum += y[j];\n    }\n"
                f"    for (j = 0; j < {n_out}; ++j)\n"
                f"        y[j] = (int32_t)(((int64_t)y[j] * {1 << Q_ACT} + sum / 2) / sum);\n}}\n\n"
            )
            return "".join(body)
        if sig:
            expr = f"lut({sig}, {len(SIGMOID)}, {LUT_LO}, a)"
        elif act == "relu":
            expr = "(a > 0 ? a : 0)"
        else:
            expr = "a"
        body.append(f"    for (j = 0; j < {n_out}; ++j) {{\n        int32_t a = {a};\n"
                    f"        y[j] = {expr};\n    }}\n}}\n\n")  # fmt: skip
        return "".join(body)

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

    def to_int(self, src: str, dst: str, n: str, indent: str = "    ") -> str:
        """The same for the integer API: the int16 state values themselves."""
        return f"{indent}for (i = 0; i < {n}; ++i)\n{indent}    {dst}[i] = (int32_t){src}[i];\n"

    def yq_decl(self, integer: bool) -> str:
        """The float API's buffer for a last Dense layer's integer result."""
        if integer or self.p.layers[-1].recurrent:
            return ""
        return f"    int32_t yq[{self.p.layers[-1].out_size}];\n"

    def _io(self, integer: bool) -> tuple[str, str, str, str]:
        """(suffix, input type, output type, output conversion) of one API."""
        if integer:
            return "_int", "int16_t", "int32_t", "to_int"
        return "", "float", "float", "to_float"

    def load_input(self, src: str, dst: str, integer: bool) -> str:
        D = self.p.input_size
        if integer:
            return f"copy16({dst}, {src}, {D});\n"
        return f"quantize({src}, {dst}, {D});\n"

    def run_step(self, layers, y: str, indent: str, integer: bool = False) -> str:
        """Layers of one step: inputs in their scratch slot; the last one writes ``y``."""
        conv_name = self._io(integer)[3]
        lines = []
        final = self.p.layers[-1]
        for k, la in enumerate(layers):
            is_last = la is final
            src = self.sc(la, "in")
            if is_last and not la.recurrent:
                if integer:
                    lines.append(f"{indent}{_tag(la, None)}_apply_int({src}, {y});\n")
                else:  # the integer result, scaled
                    lines.append(f"{indent}{_tag(la, None)}_apply_int({src}, yq);\n")
                    lines.append(self.to_float("yq", y, str(la.out_size), indent))
                continue
            fn = f"{_tag(la, 'forward')}_step(st, " if la.recurrent else f"{_tag(la, None)}_apply("
            lines.append(f"{indent}{fn}{src}, {self.sc(la, 'out')});\n")
            if is_last:
                conv = getattr(self, conv_name)
                lines.append(conv(self.sc(la, "out"), y, str(la.out_size), indent))
            elif k + 1 < len(layers):
                nxt = layers[k + 1]
                lines.append(
                    f"{indent}copy16({self.sc(nxt, 'in')}, {self.sc(la, 'out')}, {la.out_size});\n"
                )
        return "".join(lines)

    def streaming_api(self, integer: bool = False) -> str:
        p, n = self.p, self.n
        suffix, tin, tout, _ = self._io(integer)
        first = p.layers[0]
        per_step, once = p.step_split()
        out = [
            f"void {n}_step{suffix}({n}_state_t *st, const {tin} *x, {tout} *y)\n{{\n"
            + self.yq_decl(integer)
            + "    int i;\n    (void)i;\n",
            "    " + self.load_input("x", self.sc(first, "in"), integer),
            self.run_step(p.layers, "y", "    ", integer),
            "}\n\n",
            f"int {n}_run{suffix}({n}_state_t *st, const {tin} *x, int T, {tout} *y, int reset)\n"
            "{\n" + self.yq_decl(integer) + "    int t, i;\n    (void)i;\n",
            "    if (T < 1)\n        return -1;\n",
            f"    if (reset)\n        {n}_init(st);\n    for (t = 0; t < T; ++t) {{\n",
            "        " + self.load_input(f"x + t * {p.input_size}", self.sc(first, "in"), integer),
        ]
        y_t = f"y + t * {p.output_size}" if p.output_sequence else "y"
        if once:
            out.append(self.run_step(per_step, "y", "        ", integer))
            out.append("    }\n")
            out.append(
                f"    copy16({self.sc(once[0], 'in')}, {self.sc(per_step[-1], 'out')}, "
                f"{per_step[-1].out_size});\n"
            )
            out.append(self.run_step(once, "y", "    ", integer))
        else:
            out.append(self.run_step(per_step, f"({y_t})", "        ", integer))
            out.append("    }\n")
        out.append("    return 0;\n}\n")
        return "".join(out)

    def sequence_api(self, integer: bool = False) -> str:
        p, n = self.p, self.n
        suffix, tin, tout, conv_name = self._io(integer)
        seq, arena = "st->sequence", p.sequence_arena
        D = p.input_size
        out = [
            f"int {n}_run{suffix}({n}_state_t *st, const {tin} *x, int T, {tout} *y, int reset)\n"
            "{\n",
            self.yq_decl(integer)
            + f"    int16_t *in = {seq}, *out;\n    int t, i;\n    (void)i;\n",
            f"    if (T < 1 || T > {n}_MAX_STEPS || !reset)\n        return -1;\n",
            f"    {n}_init(st);\n",
            "    for (t = 0; t < T; ++t)\n        "
            + self.load_input(f"x + t * {D}", f"in + t * {D}", integer),
        ]
        final = p.layers[-1]
        for k, la in enumerate(p.layers):
            out_len = f"(T * {la.out_size})" if la.sequence_out else f"{la.out_size}"
            dest = seq if k % 2 else f"{seq} + {arena} - {out_len}"
            out.append(f"    out = {dest};\n")
            if la.recurrent:
                P = la.options["P"]
                slot = self.sc(la, "out")
                for di, d in enumerate(la.directions):
                    order = "t" if d == "forward" else "T - 1 - t"
                    out.append(
                        f"    for (t = 0; t < T; ++t) {{\n        int s = {order};\n"
                        f"        {_tag(la, d)}_step(st, in + s * {la.in_size}, {slot});\n"
                    )
                    if la.sequence_out:
                        out.append(
                            f"        copy16(out + s * {la.out_size} + {di * P}, {slot}, {P});\n"
                        )
                    out.append("    }\n")
                    if not la.sequence_out:
                        out.append(f"    copy16(out + {di * P}, {slot}, {P});\n")
                if la is final:
                    out.append(getattr(self, conv_name)("out", "y", out_len))
            elif la is final:
                K = la.out_size
                if la.sequence_in:
                    out.append("    for (t = 0; t < T; ++t) {\n")
                    if integer:
                        out.append(f"        {_tag(la, None)}_apply_int(in + t * {la.in_size}, "
                                   f"y + t * {K});\n")  # fmt: skip
                    else:
                        out.append(
                            f"        {_tag(la, None)}_apply_int(in + t * {la.in_size}, yq);\n"
                        )
                        out.append(self.to_float("yq", f"(y + t * {K})", str(K), "        "))
                    out.append("    }\n")
                elif integer:
                    out.append(f"    {_tag(la, None)}_apply_int(in, y);\n")
                else:
                    out.append(f"    {_tag(la, None)}_apply_int(in, yq);\n")
                    out.append(self.to_float("yq", "y", str(K)))
            elif la.sequence_in:
                out.append(
                    f"    for (t = 0; t < T; ++t)\n        {_tag(la, None)}_apply("
                    f"in + t * {la.in_size}, out + t * {la.out_size});\n"
                )
            else:
                out.append(f"    {_tag(la, None)}_apply(in, out);\n")
            out.append("    in = out;\n")
        out.append("    (void)in;\n    return 0;\n}\n")
        return "".join(out)

    def reset(self) -> str:
        lines = [f"void {self.n}_init({self.n}_state_t *st)\n{{\n"]
        lines += [f"    zero16({sym}, {size});\n" for sym, size in self.states()]
        lines.append("}\n\n")
        return "".join(lines)

    def source(self) -> str:
        n = self.n
        cells = []
        last = len(self.p.layers) - 1
        for k, (la, ql) in enumerate(zip(self.p.layers, self.q.layers, strict=True)):
            if la.recurrent:
                cells += [getattr(self, la.kind)(la, ql, d) for d in la.directions]
            else:
                cells.append(self.dense(la, ql, k == last))
        api = self.sequence_api if self.p.bidirectional else self.streaming_api
        no_float = f"{n}_NO_FLOAT"
        code = (
            f"#ifndef {no_float}\n" + self.quantize_fn() + "#endif\n\n"
            + "".join(cells) + self.reset()
            + f"#ifndef {no_float}\n" + api(integer=False) + "#endif\n\n"
            + api(integer=True)
        )  # fmt: skip
        code = re.sub(r"\blut_(sigmoid|tanh|exp)\b", lambda m: table_symbol(m.group(1)), code)
        return (
            f"/* {n}.c: int8 inference, generated by lstmkit {__version__}. API in {n}.h;\n"
            " * number formats in lstmkit/export/int8.py. No allocation, no library; the\n"
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
