"""The time axis is never changed silently: bad dates, duplicates, gaps, steps off the grid
and huge values are errors naming the line, or repaired only by the flag that asked."""

import numpy as np
import pandas as pd
import pytest

from lstmkit.forecast import read_panel_csv
from lstmkit.forecast.csvdata import read_series_csv
from lstmkit.forecast.timeaxis import regular_time


def daily(n=60, start="2020-01-01", freq="D"):
    ds = pd.date_range(start, periods=n, freq=freq)
    return pd.DataFrame({"date": ds.strftime("%Y-%m-%d %H:%M:%S"), "value": np.arange(n) + 1.0})


def write(tmp_path, df, name="data.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def test_one_bad_date_is_an_error_naming_its_line(tmp_path):
    df = daily()
    df.loc[20, "date"] = "not-a-date"
    with pytest.raises(ValueError, match=r"time column 'date' is not all dates: line 22 has "
                       r"'not-a-date' \(1 such row\)"):  # fmt: skip
        read_series_csv(write(tmp_path, df))


def test_a_missing_day_is_an_error_or_filled_when_asked(tmp_path):
    path = write(tmp_path, daily().drop(index=30))
    with pytest.raises(ValueError, match=r"skips 1 step\(s\) of 'D', the first between line 31 "
                       r"\(2020-01-30\) and line 32 \(2020-02-01\).*--fill"):  # fmt: skip
        read_series_csv(path)
    data = read_series_csv(path, fill="interpolate")
    assert len(data.values) == 60 and data.inserted == 1 and data.filled == 1
    assert data.season == 7 and data.time.freqstr == "D"
    assert data.values[30] == pytest.approx(31.0)
    assert str(data.future_time(1)[0].date()) == "2020-03-01"


def test_a_gap_in_monthly_and_yearly_data(tmp_path):
    months = pd.date_range("2000-01-01", periods=40, freq="MS").delete(25)
    path = write(tmp_path, pd.DataFrame({"m": months.strftime("%Y-%m"), "v": np.arange(39.0)}))
    with pytest.raises(ValueError, match=r"of 'MS'.*and line 27 \(2002-03-01\)"):
        read_series_csv(path)
    assert read_series_csv(path, fill="ffill").season == 12
    years = pd.DataFrame({"year": np.r_[1900:1910, 1912:1930], "v": np.arange(28.0)})
    path = write(tmp_path, years, "years.csv")
    with pytest.raises(ValueError, match=r"skips 2 step\(s\) of 1, the first between line 11 "
                       r"\(1909\) and line 12 \(1912\)"):  # fmt: skip
        read_series_csv(path)
    np.testing.assert_array_equal(read_series_csv(path, fill="ffill").time, np.r_[1900:1930])


def test_a_step_off_the_grid_is_an_error_and_freq_repairs_it(tmp_path):
    df = daily()
    df.loc[10, "date"] = "2020-01-11 03:00:00"
    path = write(tmp_path, df)
    with pytest.raises(ValueError, match=r"follows the 'D' frequency except on line 12 "
                       r"\(2020-01-11 03:00:00\).*--freq D"):  # fmt: skip
        read_series_csv(path)
    data = read_series_csv(path, freq="D")
    assert data.time.freqstr == "D" and len(data.values) == 60 and data.season == 7


def test_irregular_timestamps_need_freq(tmp_path):
    rng = np.random.default_rng(0)
    ds = pd.date_range("2020-01-01", periods=50, freq="D")
    ds = ds + pd.to_timedelta(rng.integers(0, 20, 50), unit="h")
    path = write(tmp_path, pd.DataFrame({"t": ds, "v": np.arange(50.0)}))
    with pytest.raises(ValueError, match=r"has no regular step.*give --freq F"):
        read_series_csv(path)
    data = read_series_csv(path, freq="D")
    assert list(data.time[:2].strftime("%Y-%m-%d")) == ["2020-01-01", "2020-01-02"]
    with pytest.raises(ValueError, match=r"fall on the same 'W-SUN' step"):
        read_series_csv(path, freq="W-SUN")
    with pytest.raises(ValueError, match=r"--freq 'fortnightly' is not a pandas frequency"):
        read_series_csv(path, freq="fortnightly")


def test_duplicate_error_lists_only_that_timestamps_lines(tmp_path):
    df = daily(20)
    df.loc[5, "date"] = df.loc[4, "date"]
    df.loc[15, "date"] = df.loc[14, "date"]
    with pytest.raises(ValueError) as err:
        read_series_csv(write(tmp_path, df))
    msg = str(err.value)
    assert "2020-01-05 is on lines 6, 7 (4 rows share a timestamp)" in msg
    assert "16" not in msg.split("(")[0] and "--id COL" in msg


def test_hourly_timestamps_keep_their_hours(tmp_path):
    ds = pd.date_range("2020-01-01", periods=72, freq="h")
    data = read_series_csv(write(tmp_path, pd.DataFrame({"t": ds, "v": np.arange(72.0)})))
    assert data.season == 24
    assert str(data.future_time(2)[1]) == "2020-01-04 01:00:00"


@pytest.mark.parametrize("value, ok", [(1e99, True), (-3e100, False), (1e302, False)])
def test_values_whose_squares_overflow_are_refused(tmp_path, value, ok):
    df = daily(30)
    df.loc[7, "value"] = value
    path = write(tmp_path, df)
    if ok:
        assert read_series_csv(path).values[7] == value
        return
    with pytest.raises(ValueError, match=r"too large to forecast in float64 \(line 9 has"):
        read_series_csv(path)


def test_long_format_without_an_id_column_is_read_as_a_panel(tmp_path):
    ds = pd.date_range("2020-01-01", periods=40, freq="D").strftime("%Y-%m-%d")
    df = pd.DataFrame({"store": np.repeat(["a", "b", "c"], 40), "date": np.tile(ds, 3),
                       "sales": np.arange(120.0)})  # fmt: skip
    panel = read_panel_csv(write(tmp_path, df))
    assert panel.ids == ["a", "b", "c"] and panel.id_name == "store" and panel.season == 7
    assert "id column 'store' detected" in panel.read_note
    np.testing.assert_array_equal(panel.values[1], np.arange(40.0, 80.0))
    # A text column that does not tell the repeated dates apart is not an id.
    df["store"] = "same"
    with pytest.raises(ValueError, match=r"duplicate timestamps.*--id COL"):
        read_panel_csv(write(tmp_path, df, "one_store.csv"))


def test_a_gap_in_one_series_of_a_panel_names_the_series(tmp_path):
    ds = pd.date_range("2020-01-01", periods=30, freq="D")
    df = pd.DataFrame({"unique_id": np.repeat(["a", "b"], 30), "ds": np.tile(ds, 2),
                       "y": np.arange(60.0)}).drop(index=45)  # fmt: skip
    path = write(tmp_path, df)
    with pytest.raises(ValueError, match=r"series 'b': time column 'ds' skips 1 step.*line 46"):
        read_panel_csv(path)
    panel = read_panel_csv(path, fill="interpolate")
    assert panel.inserted == 1 and [len(v) for v in panel.values] == [30, 30]


def test_regular_time_on_numbers_refuses_freq():
    with pytest.raises(ValueError, match=r"--freq applies to dates"):
        regular_time(pd.Index([1, 2, 3]), "year", freq="D")
    with pytest.raises(ValueError, match=r"steps by 2 except from line 4"):
        regular_time(pd.Index([0, 2, 4, 5, 7]), "n")


@pytest.mark.parametrize(
    "fmt, note",
    [
        ("%d.%m.%Y", "dates read day first (01.02.2000 = 1 February 2000)"),
        ("%m/%d/%Y", "dates read month first (02/01/2000 = 1 February 2000)"),
        ("%Y-%m-%d", ""),  # ISO dates are never read year-day-month
    ],
)
def test_ambiguous_dates_are_read_the_way_that_gives_a_regular_axis(tmp_path, fmt, note):
    months = pd.date_range("2000-01-01", periods=30, freq="MS")
    df = pd.DataFrame({"month": months.strftime(fmt), "v": np.arange(30.0)})
    data = read_series_csv(write(tmp_path, df))
    assert data.time.freqstr == "MS" and data.season == 12 and len(data.values) == 30
    assert data.read_note == note


def test_unambiguous_day_first_dates_need_no_note(tmp_path):
    days = pd.date_range("2000-01-13", periods=40, freq="D")
    data = read_series_csv(write(tmp_path, pd.DataFrame({"d": days.strftime("%d.%m.%Y"),
                                                         "v": np.arange(40.0)})))  # fmt: skip
    assert data.time.freqstr == "D" and data.read_note == ""
    assert str(data.time[0].date()) == "2000-01-13"


def test_filling_never_invents_more_steps_than_the_data_holds(tmp_path):
    # Ten rows spread over a year of days: not gaps to fill, a misread axis.
    sparse = pd.DataFrame({"date": pd.date_range("2000-01-01", periods=10, freq="37D"),
                           "v": np.arange(10.0)})  # fmt: skip
    path = write(tmp_path, sparse)
    with pytest.raises(ValueError, match=r"filling would insert \d+ steps among 10 rows"):
        read_series_csv(path, freq="D", fill="interpolate")
    years = pd.DataFrame({"year": [1900, 1901, 1902, 1990], "v": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match="filling would insert 87 steps among 4 rows"):
        read_series_csv(write(tmp_path, years, "y.csv"), fill="ffill")
