"""The report's renderings and the other tools' column."""

import json

import pytest

import lstmkit as lk
from lstmkit.cost import analyze
from lstmkit.cost.other_tools import other_tools


def model():
    return lk.Sequential(
        [lk.LSTM(64, return_sequences=True, bidirectional=True), lk.GRU(32), lk.Dense(1)],
        input_size=8,
        name="demo",
    )


def test_to_dict_is_json_ready_with_layers_per_step_and_total():
    report = analyze(model(), 100, target="esp32-s3")
    data = json.loads(json.dumps(report.to_dict()))
    assert {"layers", "per_step", "total", "fit"} <= set(data)
    assert len(data["layers"]) == 4
    first = data["layers"][0]
    assert first["direction"] == "forward" and first["runs"] == 100
    assert first["total"]["macc"] == 100 * first["per_step"]["macc"]
    assert data["total"]["macc"] == sum(row["total"]["macc"] for row in data["layers"])
    assert data["total"]["params"] == model().count_params()
    assert data["fit"]["target"]["name"] == "esp32-s3"
    assert data["fit"]["mode"] == "whole sequence"


def test_table_and_markdown_show_the_figures():
    report = analyze(model(), 100)
    for text in (report.table(), report.markdown(), str(report)):
        assert f"{report.total.macc:,}" in text
        assert f"{report.params:,}" in text and f"{report.params_torch:,}" in text
        assert f"{report.weights_bytes:,} B" in text
        assert "ST Edge AI" in text and "ptflops" in text
    md = report.markdown().splitlines()
    table = [line for line in md if line.startswith("|")]
    assert table and all(line.endswith("|") for line in table)
    assert "| Layer | Dir |" in md[2]


def test_other_tools_per_step_figures():
    # LSTM(50) on 3 features, H = 50, D = 3.
    lstm = lk.Sequential([lk.LSTM(50)], input_size=3).layers[0]
    base = 4 * 50 * 53
    assert other_tools(lstm, "forward") == {
        "st_edge_ai": base + 5 * 50,
        "nnom": base + 10 * 50,
        "thop": base + 16 * 50,
        "ptflops": base + 18 * 50,
    }
    gru = lk.Sequential([lk.GRU(4, bidirectional=True)], input_size=3).layers[0]
    assert other_tools(gru, "reverse") == {
        "st_edge_ai": 3 * 4 * 7 + 8,
        "nnom": None,  # NNoM has no bidirectional layers
        "thop": 3 * 4 * 7 + 13 * 4,
        "ptflops": 3 * 4 * 7 + 13 * 4,
    }
    assert other_tools(gru, "forward")["nnom"] == 3 * 4 * 3 + 8 * 16 + 11 * 4


@pytest.mark.parametrize(
    "layer, none",
    [
        (lk.LSTM(4, peephole=True), {"st_edge_ai", "nnom", "thop", "ptflops"}),
        (lk.LSTM(4, proj_size=2), {"st_edge_ai", "nnom"}),
        (lk.GRU(4, reset_after=False), {"nnom", "thop", "ptflops"}),
        (lk.RNN(4, activation="relu"), {"st_edge_ai", "nnom"}),
        (lk.Dense(4), {"st_edge_ai", "nnom", "thop", "ptflops"}),
    ],
)
def test_tools_that_cannot_represent_a_layer_show_none(layer, none):
    built = lk.Sequential([layer], input_size=3).layers[0]
    got = other_tools(built, "forward" if hasattr(built, "directions") else None)
    assert {k for k, v in got.items() if v is None} == none


def test_projection_in_the_tools_that_see_it():
    lstm = lk.Sequential([lk.LSTM(6, proj_size=2)], input_size=3).layers[0]
    got = other_tools(lstm, "forward")
    assert got["thop"] == 4 * 6 * (3 + 6) + 16 * 6  # thop ignores the projection
    assert got["ptflops"] == 4 * 6 * (3 + 2) + 18 * 6  # ptflops reads weight_hh's shape


def test_summary_shows_params_and_macc_per_step():
    text = model().summary(print_fn=lambda _: None)
    assert "MACC/step" in text
    first = analyze(model(), 1).rows[0].per_step.macc
    assert f"{2 * first:,}" in text  # both directions of the bidirectional LSTM
