"""Microcontroller profiles and the fit report."""

import json
from dataclasses import replace

import pytest

import lstmkit as lk
from lstmkit.cost import TARGETS, Ops, Target, analyze, get_target


def simple_target(**changes):
    base = Target(
        name="unit",
        description="a round-number test part",
        clock_hz=1e6,
        ram_bytes=10_000,
        flash_bytes=100_000,
        macs_per_cycle_float=1.0,
        macs_per_cycle_int8=2.0,
        cycles_per_elementwise_float=1,
        cycles_per_elementwise_int8=1,
        cycles_per_activation_float=10,
        cycles_per_activation_int8=5,
    )
    return replace(base, **changes)


def model():
    return lk.Sequential([lk.LSTM(8), lk.Dense(1)], input_size=2)


def test_the_issue_asks_for_these_classes_of_part():
    assert {"cortex-m0plus", "cortex-m4f", "cortex-m7", "esp32-s3"} <= set(TARGETS)
    for t in TARGETS.values():
        assert t.macs_per_cycle_int8 >= t.macs_per_cycle_float
        assert t.cycles_per_activation_int8 < t.cycles_per_activation_float


def test_aliases_and_unknown_names():
    assert get_target("Cortex-M4") is TARGETS["cortex-m4f"]
    assert get_target("m0+") is TARGETS["cortex-m0plus"]
    with pytest.raises(ValueError, match="unknown target 'z80'; choose one of cortex-m0plus"):
        get_target("z80")


def test_latency_and_sample_rate_follow_the_counts():
    report = analyze(model(), 50, target=simple_target())
    fit = report.fit
    p = report.per_step
    expected = p.macc / 1.0 + p.elementwise * 1 + (p.sigmoid + p.tanh) * 10
    assert fit.cycles_per_step == pytest.approx(expected)
    assert fit.latency_per_step_s == pytest.approx(expected / 1e6)
    assert fit.max_sample_rate_hz == pytest.approx(1e6 / expected)
    t = report.total
    assert fit.latency_per_run_s == pytest.approx(
        (t.macc + t.elementwise + 10 * (t.sigmoid + t.tanh)) / 1e6
    )
    assert fit.compute == "float32" and fit.mode == "streaming"


def test_int8_weights_use_the_integer_rates():
    fit = analyze(model(), 50, weights="int8").fit_on(simple_target())
    p = analyze(model(), 50).per_step
    assert fit.compute == "int8"
    assert fit.cycles_per_step == pytest.approx(
        p.macc / 2 + p.elementwise + 5 * (p.sigmoid + p.tanh)
    )


def test_relu_costs_an_elementwise_op():
    t = simple_target()
    assert t.cycles(Ops(relu=4), "float32") == 4
    assert t.cycles(Ops(exp=4), "float32") == 40


def test_ram_and_flash_margins():
    report = analyze(model(), 50)
    ram = report.state_bytes + report.scratch_bytes
    fit = report.fit_on(simple_target(ram_bytes=ram, flash_bytes=report.weights_bytes - 1))
    assert fit.ram_needed == ram and fit.ram_margin == 0 and fit.fits_ram
    assert fit.flash_margin == -1 and not fit.fits_flash and not fit.fits
    assert "does NOT fit" in report.with_fit(fit.target).table()


def test_bidirectional_models_need_the_sequence_buffers():
    bi = lk.Sequential([lk.GRU(4, bidirectional=True), lk.Dense(1)], input_size=3)
    report = analyze(bi, 20)
    fit = report.fit_on(simple_target())
    assert fit.mode == "whole sequence"
    assert fit.ram_needed == (
        report.state_bytes + report.scratch_bytes + report.feature_map_sequence_bytes
    )


def test_assumptions_are_printed_and_labelled_estimates():
    text = analyze(model(), 10, target="cortex-m4").table()
    assert "Fit on cortex-m4f" in text and "estimated latency per time step" in text
    assert "Estimates, assuming:" in text and "0.19 MAC/cycle" in text
    assert "emulated Cortex-M4F, one cycle per instruction" in text  # where the rates come from
    other = analyze(model(), 10, target="cortex-m7").table()
    assert "round estimates for the class of part, not measured" in other


def test_profiles_from_json(tmp_path):
    path = tmp_path / "part.json"
    path.write_text(json.dumps({"base": "cortex-m4", "ram_bytes": 65536, "name": "mine"}))
    t = Target.from_json(path)
    assert t.name == "mine" and t.ram_bytes == 65536 and t.clock_hz == 168e6
    full = TARGETS["cortex-m7"].to_dict()
    path.write_text(json.dumps(full))
    assert Target.from_json(path) == TARGETS["cortex-m7"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "one JSON object"),
        ('{"base": "cortex-m4", "ram": 5}', r"unknown field\(s\) ram"),
        ('{"name": "x"}', r"missing field\(s\)"),
        ('{"base": "cortex-m4", "clock_hz": -1}', "clock_hz must be a positive number"),
    ],
)
def test_bad_profiles(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        Target.from_json(path)


def test_missing_profile_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        Target.from_json(tmp_path / "none.json")
