"""Long-format panels: defaults, per-series checks, seasons, quarter labels."""

import numpy as np
import pandas as pd
import pytest

from lstmkit.forecast import from_frame, read_panel_csv


def long_frame(n_series=3, n=30, freq="MS"):
    rows = []
    for k in range(n_series):
        ds = pd.date_range("2000-01-01", periods=n - k, freq=freq)
        rows.append(
            pd.DataFrame({"unique_id": f"s{k}", "ds": ds, "y": np.arange(n - k) + 10.0 * k})
        )
    return pd.concat(rows, ignore_index=True)


def test_long_format_defaults_and_order(tmp_path):
    df = long_frame()
    df = df.sample(frac=1.0, random_state=0)  # rows shuffled: each series is sorted by time
    path = tmp_path / "panel.csv"
    df.to_csv(path, index=False)
    panel = read_panel_csv(path)
    assert sorted(panel.ids) == ["s0", "s1", "s2"] and panel.id_name == "unique_id"
    k = panel.ids.index("s1")
    np.testing.assert_array_equal(panel.values[k], np.arange(29) + 10.0)
    assert panel.season == 12 and "3 series" in panel.season_note
    assert str(panel.future_times(k, 1)[0].date()) == "2002-06-01"
    assert panel.with_season(4).season == 4


def test_named_columns_and_frame_api():
    df = long_frame().rename(columns={"unique_id": "store", "ds": "week", "y": "sales"})
    panel = from_frame(df, id_col="store", time_col="week", target="sales")
    assert len(panel) == 3 and panel.target == "sales"
    with pytest.raises(ValueError, match="id column 'unique_id' not found"):
        from_frame(df)


def test_half_hourly_season_is_48(tmp_path):
    panel = from_frame(long_frame(2, 200, "30min"))
    assert panel.season == 48 and "'30min'" in panel.season_note


@pytest.mark.parametrize("label", ["Q{q} {y}", "{y} Q{q}", "{y}Q{q}", "{y}-Q{q}"])
def test_quarter_labels(tmp_path, label):
    quarters = [label.format(q=q, y=y) for y in range(1965, 1970) for q in range(1, 5)]
    path = tmp_path / "q.csv"
    pd.DataFrame({"quarter": quarters, "v": np.arange(20.0)}).to_csv(path, index=False)
    panel = read_panel_csv(path)
    assert panel.season == 4 and str(panel.times[0][1].date()) == "1965-04-01"
    assert str(panel.future_times(0, 1)[0].date()) == "1970-01-01"


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: pd.concat([d, d.iloc[[5]]]), r"series 's0'.*duplicate timestamps"),
        (lambda d: d.assign(y=d.y.where(d.index != 40)), r"'s1' has 1 missing value.*lines 42"),
        (lambda d: d.assign(y=d.y.astype(object).where(d.index != 3, "x")), "line 5 has 'x'"),
    ],
)  # fmt: skip
def test_bad_panels_name_the_series_and_line(tmp_path, edit, message):
    path = tmp_path / "bad.csv"
    edit(long_frame()).to_csv(path, index=False)
    with pytest.raises(ValueError, match=message):
        read_panel_csv(path)


def test_mixed_frequencies_are_refused():
    df = pd.concat([long_frame(1, 30, "MS"), long_frame(1, 30, "D").assign(unique_id="d")])
    with pytest.raises(ValueError, match="different frequencies"):
        from_frame(df)


def test_a_single_series_file_is_a_panel_of_one(tmp_path):
    path = tmp_path / "one.csv"
    pd.DataFrame({"month": pd.date_range("2001-01", periods=30, freq="MS").strftime("%Y-%m"),
                  "sales": np.arange(30.0)}).to_csv(path, index=False)  # fmt: skip
    panel = read_panel_csv(path)
    assert panel.ids == ["sales"] and panel.id_name is None and panel.season == 12


def test_an_unknown_frequency_warns_and_names_the_season_flag():
    ds = pd.date_range("2020-01-01", periods=40, freq="7min")
    df = pd.DataFrame({"unique_id": "a", "ds": ds, "y": np.arange(40.0)})
    with pytest.warns(UserWarning, match="give --season N"):
        panel = from_frame(df)
    assert panel.season == 1 and "--season" in panel.season_note
