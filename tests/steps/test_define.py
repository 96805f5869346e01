"""The one definition of each step, traced, against the hand-written NumPy layers (which
tests/layers hold to PyTorch) and against the counting run."""

import numpy as np

from lstmkit.cost.counting import Counter
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


def test_the_counting_run_tallies_what_the_graph_counts(layer_name):
    """The counter executing the definition and the count of its traced graph (the
    analyzer's figures, the C's COUNT lines) agree: two interpreters, one definition."""
    from lstmkit.steps.define import STEPS, dense_apply
    from lstmkit.steps.graph import operation_counts

    _, la = one_layer(layer_name)
    d = direction(la)
    g = trace_step(la.kind, la.options, la.weights[d], la.in_size, Tracer())
    C = Counter()
    p, x = la.weights[d], np.zeros(la.in_size)
    if la.recurrent:
        state = tuple(zero_state(la).values())
        STEPS[la.kind](la.options, p, x, state, C)
    else:
        dense_apply(la.options, p, x, C)
    (tally,) = C.tallies().values()
    assert tally.to_dict() == operation_counts(g)
