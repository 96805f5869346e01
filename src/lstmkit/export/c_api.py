"""The public functions of an exported model (``N_step``, ``N_run``, their integer forms):
the order in which layers run, written once for float32 and int8.

A layer's step function reads its input slot and writes its output slot; ``N_step``
and a streaming ``N_run`` hand each output to the next layer's input slot, and
bidirectional models run whole sequences through the state's sequence buffer. What
differs between number types is small and given by :class:`Numbers`: the slots, the
copy helpers, and for each API :class:`Variant` how the input comes in and the result
goes out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lstmkit.export.plan import CLayer, Plan


def tag(layer: CLayer, direction) -> str:
    """``l0f``, ``l0r`` (a recurrent layer's direction) or ``l1`` (Dense): function and
    symbol names."""
    return f"l{layer.index}{'' if direction is None else direction[0]}"


@dataclass
class Variant:
    """One form of the API. ``load(src, dst, n)``: a statement bringing ``n`` inputs into
    a slot; ``out(src, dst, n, indent)``: lines giving the last recurrent layer's output;
    ``dense_final(layer, src, y, indent)``: lines running a last Dense layer into ``y``;
    ``decl``: declarations the functions need."""

    suffix: str
    tin: str
    tout: str
    load: Callable[[str, str, int], str]
    out: Callable[[str, str, str, str], str]
    dense_final: Callable[[CLayer, str, str, str], str]
    decl: str = ""
    guard: str | None = None  # a macro that leaves this variant out


@dataclass
class Numbers:
    """How a number type lays out its API: ``slot(layer, "in" | "out")``, the vector
    element type, the copy helper."""

    elem: str
    copy: str
    slot: Callable[[CLayer, str], str]
    variants: list[Variant]


class ApiWriter:
    def __init__(self, plan: Plan, numbers: Numbers) -> None:
        self.p, self.n, self.num = plan, plan.name, numbers

    def run_step(self, layers: list[CLayer], y: str, indent: str, v: Variant) -> str:
        """Straight-line code running ``layers`` for one step: each reads its input slot,
        writes its output slot and hands it to the next one's; the model's last layer
        writes ``y``."""
        lines, final, slot, copy = [], self.p.layers[-1], self.num.slot, self.num.copy
        for k, la in enumerate(layers):
            src = slot(la, "in")
            if la is final and not la.recurrent:
                lines.append(v.dense_final(la, src, y, indent))
                continue
            fn = f"{tag(la, 'forward')}_step(st, " if la.recurrent else f"{tag(la, None)}_apply("
            lines.append(f"{indent}{fn}{src}, {slot(la, 'out')});\n")
            if la is final:
                lines.append(v.out(slot(la, "out"), y, str(la.out_size), indent))
            elif k + 1 < len(layers):
                nxt = layers[k + 1]
                lines.append(f"{indent}{copy}({slot(nxt, 'in')}, {slot(la, 'out')}, "
                             f"{la.out_size});\n")  # fmt: skip
        return "".join(lines)

    def streaming(self, v: Variant) -> str:
        p, n, slot = self.p, self.n, self.num.slot
        first, D = p.layers[0], p.input_size
        per_step, once = p.step_split()
        y_t = f"(y + t * {p.output_size})" if p.output_sequence else "y"
        out = [
            f"void {n}_step{v.suffix}({n}_state_t *st, const {v.tin} *x, {v.tout} *y)\n{{\n",
            v.decl,
            "    " + v.load("x", slot(first, "in"), D),
            self.run_step(p.layers, "y", "    ", v),
            "}\n\n",
            f"int {n}_run{v.suffix}({n}_state_t *st, const {v.tin} *x, int T, {v.tout} *y, "
            "int reset)\n{\n",
            "    int t;\n",
            v.decl,
            "    if (T < 1)\n        return -1;\n",
            f"    if (reset)\n        {n}_init(st);\n    for (t = 0; t < T; ++t) {{\n",
            "        " + v.load(f"x + t * {D}", slot(first, "in"), D),
            self.run_step(per_step, "y" if once else y_t, "        ", v),
            "    }\n",
        ]
        if once:
            out.append(f"    {self.num.copy}({slot(once[0], 'in')}, {slot(per_step[-1], 'out')}, "
                       f"{per_step[-1].out_size});\n")  # fmt: skip
            out.append(self.run_step(once, "y", "    ", v))
        out.append("    return 0;\n}\n")
        return "".join(out)

    def sequence(self, v: Variant) -> str:
        """``N_run`` of a model with a bidirectional layer: each layer reads and writes
        whole sequences, alternating between the two ends of the sequence buffer."""
        p, n, copy, slot = self.p, self.n, self.num.copy, self.num.slot
        seq, arena, D = "st->sequence", p.sequence_arena, p.input_size
        out = [
            f"int {n}_run{v.suffix}({n}_state_t *st, const {v.tin} *x, int T, {v.tout} *y, "
            "int reset)\n{\n",
            f"    {self.num.elem} *in = {seq}, *out;\n    int t;\n",
            v.decl,
            f"    if (T < 1 || T > {n}_MAX_STEPS || !reset)\n        return -1;\n",
            f"    {n}_init(st);\n",
            "    for (t = 0; t < T; ++t)\n        " + v.load(f"x + t * {D}", f"in + t * {D}", D),
        ]
        final = p.layers[-1]
        for k, la in enumerate(p.layers):
            out_len = f"(T * {la.out_size})" if la.sequence_out else f"{la.out_size}"
            # Inputs and outputs alternate between the buffer's two ends (never
            # overlapping: it holds the largest input + output pair).
            out.append(f"    /* {la.row(None) if not la.recurrent else la.name} */\n")
            out.append(f"    out = {seq if k % 2 else f'{seq} + {arena} - {out_len}'};\n")
            if la.recurrent:
                P, dst = la.options["P"], slot(la, "out")
                for di, d in enumerate(la.directions):
                    order = "t" if d == "forward" else "T - 1 - t"
                    call = f"{tag(la, d)}_step(st, in + s * {la.in_size}, {dst});"
                    out.append(f"    for (t = 0; t < T; ++t) {{\n        int s = {order};\n"
                               f"        {call}\n")  # fmt: skip
                    if la.sequence_out:
                        out.append(f"        {copy}(out + s * {la.out_size} + {di * P}, {dst}, "
                                   f"{P});\n")  # fmt: skip
                    out.append("    }\n")
                    if not la.sequence_out:
                        out.append(f"    {copy}(out + {di * P}, {dst}, {P});\n")
                if la is final:
                    out.append(v.out("out", "y", out_len, "    "))
            elif la is final and la.sequence_in:
                K = la.out_size
                out.append("    for (t = 0; t < T; ++t) {\n")
                out.append(v.dense_final(la, f"in + t * {la.in_size}", f"(y + t * {K})",
                                         "        "))  # fmt: skip
                out.append("    }\n")
            elif la is final:
                out.append(v.dense_final(la, "in", "y", "    "))
            elif la.sequence_in:
                out.append(f"    for (t = 0; t < T; ++t)\n        {tag(la, None)}_apply("
                           f"in + t * {la.in_size}, out + t * {la.out_size});\n")  # fmt: skip
            else:
                out.append(f"    {tag(la, None)}_apply(in, out);\n")
            out.append("    in = out;\n")
        out.append("    (void)in;\n    return 0;\n}\n")
        return "".join(out)

    def functions(self) -> str:
        """Every variant's functions, each inside its guard."""
        parts = []
        for v in self.num.variants:
            text = self.sequence(v) if self.p.bidirectional else self.streaming(v)
            parts.append(f"#ifndef {v.guard}\n{text}#endif\n\n" if v.guard else text)
        return "".join(parts)
