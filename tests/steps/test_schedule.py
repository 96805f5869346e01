"""The scheduler, checked by an executor of its own: statements run element by element on
flat memory laid out as the exporters lay it out (the input and output slots inside the
scratch), so a value overwritten before its last read, or an element computed twice,
shows here before any C is compiled."""

from collections import Counter

import numpy as np
import pytest

from lstmkit.export.int8 import quantize
from lstmkit.steps.define import state_names
from lstmkit.steps.fixed import I16, INT_OPS, evaluate_fixed
from lstmkit.steps.graph import FLOAT_OPS, Tracer, evaluate_float, trace_step
from lstmkit.steps.schedule import (
    Area,
    Copy,
    Loop,
    Memory,
    Reduce,
    ScheduleError,
    schedule,
)
from tests.steps.conftest import D, direction, one_layer, zero_state

pytestmark = pytest.mark.one_backend  # no layer forward: the backend is not used


class Executor:
    """Runs a schedule: ``spaces`` name → (array, first element)."""

    def __init__(self, sch, spaces, ops, affine_row, const):
        self.sch, self.spaces, self.ops = sch, spaces, ops
        self.affine_row, self.const = affine_row, const
        self.evaluations = Counter()  # (node id, element) → times computed
        self.scalars = {}

    def read(self, loc, k):
        arr, base = self.spaces[loc.space]
        return arr[base + loc.off + k]

    def vector(self, node):
        src, lo = (node.args[0], node.attrs["lo"]) if node.op == "slice" else (node, 0)
        arr, base = self.spaces[self.sch.loc[src.id].space]
        start = base + self.sch.loc[src.id].off + lo
        return arr[start : start + node.n].copy()

    def value(self, v, k, top=False):
        if v.op == "slice":
            return self.value(v.args[0], k + v.attrs["lo"])
        if v.op in ("max", "sum"):
            return self.scalars[v.id]
        if not top and v.id in self.sch.loc:
            return self.read(self.sch.loc[v.id], k)
        if v.op == "const":
            return self.const(v)[k]
        key = (v.id, k, self.j)  # one iteration of a loop names a shared value once (a local)
        if key in self.memo:
            return self.memo[key]
        self.evaluations[(v.id, k)] += 1
        if v.op == "affine":
            out = self.affine_row(v, k, [self.vector(a) for a in v.args])
        else:
            args = [self.value(a, k) if a.n else self.value(a, 0) for a in v.args]
            out = self.ops[v.op][0](*args, **v.attrs)
        self.memo[key] = out
        return out

    def _at(self, j, v, k, top):
        self.j = j
        return self.value(v, k, top)

    def run(self):
        for s in self.sch.statements:
            self.memo = {}
            if isinstance(s, Loop):
                vals = [self._at(k, s.node, k, True) for k in range(s.node.n)]
                arr, base = self.spaces[s.dest.space]
                for k, val in enumerate(vals):  # a loop writes element k after reading k
                    arr[base + s.dest.off + k] = val
            elif isinstance(s, Reduce):
                arg = s.node.args[0]
                top = arg.id not in self.sch.loc
                vals = [self._at(k, arg, k, top) for k in range(arg.n)]
                self.evaluations[(s.node.id, 0)] += 1
                self.scalars[s.node.id] = max(vals) if s.node.op == "max" else sum(vals)
            elif isinstance(s, Copy):
                for k in range(s.n):
                    arr, base = self.spaces[s.dest.space]
                    arr[base + s.dest.off + k] = self.read(s.src, k)


def float_memory(la):
    if la.recurrent:
        G, P = la.gates, la.options["P"]
        return Memory([Area("s", G + la.in_size + P, 4)], x=("s", G), out=("s", G + la.in_size))
    return Memory([Area("o", la.out_size, 4)], out=("o", 0))


def spaces_for(memory, la, state, x, dtype):
    spaces = {}
    for a in memory.areas:
        spaces[a.name] = (np.full(a.size, np.nan if dtype is float else -(2**40), dtype), 0)
    if memory.x:
        arr, _ = spaces[memory.x[0]]
        arr[memory.x[1] : memory.x[1] + len(x)] = x
        spaces["x"] = (arr, memory.x[1])
    else:
        spaces["x"] = (np.array(x, dtype), 0)
    spaces["out"] = (spaces[memory.out[0]][0], memory.out[1])
    for k, v in state.items():
        spaces[f"state:{k}"] = (np.array(v, dtype), 0)
    return spaces


def check_once(ex, graph):
    """Every element of every computed node was computed once, none twice."""
    twice = [key for key, n in ex.evaluations.items() if n > 1]
    assert not twice, f"computed twice: {twice[:5]}"


def test_float_schedules_compute_the_graph_once_in_place(layer_name):
    _, la = one_layer(layer_name, seed=5)
    d = direction(la)
    g = trace_step(la.kind, la.options, la.weights[d], la.in_size, Tracer())
    memory = float_memory(la)
    sch = schedule(g, memory)
    rng = np.random.default_rng(5)
    state = {k: rng.normal(size=v.size) * 0.5 for k, v in zero_state(la).items()}
    x = rng.normal(size=D)
    want, want_state = evaluate_float(g, x, state)

    def row(v, r, vectors):
        total = sum(
            W.values()[r] @ vec for (W, _), vec in zip(v.attrs["products"], vectors, strict=True)
        )
        b = v.attrs["bias"]
        return total if b is None else total + b.values()[r]

    spaces = spaces_for(memory, la, state, x, float)
    ex = Executor(sch, spaces, FLOAT_OPS, row, lambda v: v.attrs["param"].values())
    ex.run()
    arr, base = spaces["out"]
    np.testing.assert_allclose(arr[base : base + g.output.n], want, rtol=1e-12)
    for k in want_state:
        np.testing.assert_allclose(spaces[f"state:{k}"][0], want_state[k], rtol=1e-12)
    check_once(ex, g)


def test_int8_schedules_give_the_python_integer_models_bits(layer_name):
    model, la = one_layer(layer_name, seed=6)
    rng = np.random.default_rng(6)
    q = quantize(model_plan := _plan(model), model, rng.normal(size=(4, 20, D)))
    step = q.layers[0].dirs[direction(la)]
    pla = model_plan.layers[0]
    if pla.recurrent:
        G, P = pla.gates, pla.options["P"]
        memory = Memory([Area("acc", G, 4), Area("in", D, 2), Area("o", P, 2)],
                        x=("in", 0), out=("o", 0), out_width=2)  # fmt: skip
    else:
        memory = Memory([Area("o", pla.out_size, 4)], out=("o", 0), out_width=4)
    sch = schedule(step.graph, memory, lambda v: 2 if v.ibound <= I16 else 4)
    state = {k: rng.integers(-I16, I16 + 1, v.size) for k, v in zero_state(la).items()}
    x = rng.integers(-I16, I16 + 1, D)
    want, want_state = evaluate_fixed(step, x, state)

    def row(v, r, vectors):
        mats = v.attrs["mats"]
        total = sum(int(m.product(vec, lo + r, lo + r + 1)[0])
                    for (_, m, lo, _, _), vec in zip(mats, vectors, strict=True))  # fmt: skip
        b = v.attrs.get("bias_const")
        return total if b is None else total + int(b.attrs["values"][r])

    spaces = spaces_for(memory, la, state, x, np.int64)
    ex = Executor(sch, spaces, INT_OPS, row, lambda v: v.attrs["values"])
    ex.run()
    arr, base = spaces["out"]
    np.testing.assert_array_equal(arr[base : base + step.graph.output.n], want)
    for k in want_state:
        np.testing.assert_array_equal(spaces[f"state:{k}"][0], want_state[k])
    check_once(ex, step.graph)


def _plan(model):
    from lstmkit.export.plan import make_plan

    return make_plan(model, "net")


def test_a_step_that_does_not_fit_its_memory_is_refused():
    """The GRU without reset_after must store r ⊙ h (a matrix multiplies it): with no
    scratch beside the output slot there is nowhere to put it."""
    _, la = one_layer("gru-reset-before")
    g = trace_step(la.kind, la.options, la.weights["forward"], la.in_size, Tracer())
    with pytest.raises(ScheduleError, match="no room"):
        schedule(g, Memory([Area("s", la.options["P"], 4)], out=("s", 0)))


def test_the_lstm_cell_is_updated_in_place_and_only_the_gates_are_stored():
    """c_t goes straight into the state vector (it reads c_(t-1) element by element), the
    output into the output slot; the one stored temporary is the gate pre-activations,
    at the start of the scratch (two loops read them)."""
    _, la = one_layer("lstm-peephole")
    g = trace_step(la.kind, la.options, la.weights["forward"], la.in_size, Tracer())
    sch = schedule(g, float_memory(la))
    (gates,) = [v for v in g.nodes if v.op == "affine"]
    assert sch.loc[gates.id].space == "s" and sch.loc[gates.id].off == 0
    temps = [vid for vid, loc in sch.loc.items() if loc.space == "s"]
    assert temps == [gates.id]
    assert sch.loc[g.keeps["c"].id].space == "state:c"
    assert state_names("lstm") == ("h", "c")
