"""The one definition of each step, traced, against the hand-written NumPy layers (which
tests/layers hold to PyTorch) and against the counting run."""

import numpy as np

from lstmkit.cost.counting import step_ops
from lstmkit.steps.graph import Tracer, evaluate_float, trace_step
from tests.steps.conftest import D, direction, one_layer, zero_state


def run_graph(la, xs):
    """The traced step run over ``xs (T, D)`` from zero state: ``(T, out)``."""
    d = direction(la)
    graph = trace_step(la.kind, la.options, la.weights[d], la.in_size, Tracer())
    state, outs = zero_state(la), []
    for x in xs:
        out, new = evaluate_float(graph, x, state)
        state.update(new)
        outs.append(out)
    return np.array(outs)


def test_the_traced_definition_computes_what_the_layer_computes(layer_name):
    model, la = one_layer(layer_name, seed=3)
    xs = np.random.default_rng(3).normal(size=(12, D)) * 2
    want = model.predict(xs[None])[0]
    np.testing.assert_allclose(run_graph(la, xs), want, rtol=1e-5, atol=1e-6)


def test_counted_operations_are_the_traced_ones(layer_name):
    """Every elementwise node of the graph is one operation per element in the counter's
    categories, and every affine node one MACC per weight it reads: the graph and the
    counting run execute the same definition."""
    _, la = one_layer(layer_name)
    d = direction(la)
    g = trace_step(la.kind, la.options, la.weights[d], la.in_size, Tracer())
    ops = step_ops(la.kind, la.options, la.weights[d], la.in_size)
    macc = sum(W.rows * W.cols for v in g.nodes if v.op == "affine"
               for W, _ in v.attrs["products"])  # fmt: skip
    bias = sum(v.n for v in g.nodes if v.op == "affine" and v.attrs["bias"] is not None)
    elementwise = bias + sum(
        (v.args[0].n if v.op in ("max", "sum") else v.n)
        for v in g.nodes
        if v.op in ("add", "sub", "mul", "div", "max", "sum")
    )
    tally = {k: sum(v.n for v in g.nodes if v.op == k) for k in ("sigmoid", "tanh", "relu", "exp")}
    assert ops.macc == macc and ops.elementwise == elementwise
    assert {k: getattr(ops, k) for k in tally} == tally
