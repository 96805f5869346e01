"""The fixed-point arithmetic: bounds that hold, conversions derived from formats."""

import numpy as np
import pytest

from lstmkit.steps.fixed import (
    ACT,
    I16,
    I32,
    PRE,
    FixedPointError,
    FixedTracer,
    ctype,
    evaluate_fixed,
    trace_fixed,
)
from lstmkit.steps.graph import Param
from tests.steps.conftest import D, direction, one_layer, zero_state

pytestmark = pytest.mark.one_backend  # no layer forward: the backend is not used

CALIBRATED = 0.73 / I16  # a scale that is no power of two


def traced(la, h_scale):
    states = {"h": h_scale, "c": 2.0**-11}
    out = None if la.kind == "dense" and la.options["activation"] == "softmax" else h_scale
    return trace_fixed(la.kind, la.options, la.weights[direction(la)], la.in_size,
                       3.0 / I16, states, out)  # fmt: skip


@pytest.mark.parametrize("h_scale", [2.0**-15, CALIBRATED])
def test_every_value_stays_within_its_proved_bound(layer_name, h_scale):
    """Extreme inputs and states (±32767 and random) on weights large enough to
    saturate: no value ever exceeds the bound its C type was chosen by."""
    _, la = one_layer(layer_name, seed=11, scale=4.0)
    step = traced(la, h_scale)
    rng = np.random.default_rng(11)
    for trial in range(60):
        pick = (lambda n: rng.choice([-I16, I16], n)) if trial % 2 else (
            lambda n: rng.integers(-I16, I16 + 1, n))  # fmt: skip
        state = {k: pick(v.size) for k, v in zero_state(la).items()}
        values = {}
        evaluate_fixed(step, pick(D), state, values)
        for v in step.graph.nodes:
            if v.op != "slice":
                assert np.all(np.abs(values[v.id]) <= v.ibound), (v, v.ibound)
                if ctype(v) == "int32_t":
                    assert np.all(np.abs(values[v.id]) <= I32)


def test_conversions_are_derived_from_the_formats():
    t = FixedTracer(2.0**-15, {"h": CALIBRATED, "c": 2.0**-11})
    c = t.state("c", 4)  # Q11
    gate = t.sigmoid(t.input(4))  # Q15
    prod = t.mul(gate, c)  # Q26, exactly
    assert prod.op == "mul" and prod.scale == 2.0**-26
    down = t._to(prod, PRE)  # Q26 -> Q11: a rounding shift by 15
    assert down.op == "rq" and down.attrs["k"] == 15
    up = t._to(gate, 2.0**-30)  # Q15 -> Q30: exact, a shift left by 15
    assert up.op == "shl" and up.attrs["k"] == 15
    cal = t._to(gate, CALIBRATED)  # no power of two: a multiplier and a shift
    m, k = cal.attrs["m"], cal.attrs["k"]
    assert cal.op == "requant" and abs(m * 2.0**-k - ACT / CALIBRATED) < 1e-9 * m * 2.0**-k
    total = t.add(prod, t.mul(gate, gate))  # Q26 + Q30 aligns to Q30, exactly
    assert total.scale == 2.0**-30 and total.args[0].op == "shl"


def test_a_projection_is_rounded_once_into_the_states_format():
    _, la = one_layer("lstm-proj")
    step = traced(la, CALIBRATED)
    (proj,) = [v for v in step.graph.nodes if v.op == "affine" and v.n == la.options["P"]]
    assert proj.scale == CALIBRATED  # decided by its consumer, the kept state


def test_matrix_vectors_are_int16_and_pre_activations_int32(layer_name):
    _, la = one_layer(layer_name, scale=4.0)
    step = traced(la, CALIBRATED)
    for v in step.graph.nodes:
        if v.op == "affine":
            assert all(a.ibound <= I16 for a in v.args)
            assert v.ibound <= I32


def test_weights_beyond_32_bits_are_refused_with_the_reason():
    t = FixedTracer(1.0, {"h": ACT, "c": 2.0**-11})
    W = Param("Wx", np.full((2, 3), 1e7))
    with pytest.raises(FixedPointError, match="beyond 32-bit"):
        t.sigmoid(t.affine([(W, t.input(3))]))
