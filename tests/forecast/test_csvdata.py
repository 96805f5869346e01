"""Reading a series from CSV: defaults, filling, and one clear error per bad input."""

import numpy as np
import pytest

from lstmkit.datasets import series_path
from lstmkit.forecast.csvdata import read_series_csv


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_bundled_series():
    air = read_series_csv(series_path("airline"))
    assert (air.target, air.time_name, air.season, air.values.size) == (
        "passengers",
        "month",
        12,
        144,
    )
    assert air.values.sum() == 40363
    assert str(air.future_time(1)[0].date()) == "1961-01-01"
    nile = read_series_csv(series_path("nile"))
    assert (nile.target, nile.time_name, nile.season, nile.values.size) == ("flow", "year", 1, 100)
    assert list(nile.future_time(2)) == [1971, 1972]


def test_without_a_time_column(tmp_path):
    data = read_series_csv(write(tmp_path, "value\n1\n2\n3\n"))
    assert data.time_name is None and data.target == "value"
    assert list(data.future_time(2)) == [3, 4]


def test_fill(tmp_path):
    path = write(tmp_path, "t,y\n1,1\n2,\n3,3\n4,\n")
    ff = read_series_csv(path, fill="ffill")
    np.testing.assert_array_equal(ff.values, [1, 1, 3, 3])
    assert ff.filled == 2
    np.testing.assert_array_equal(read_series_csv(path, fill="interpolate").values, [1, 2, 3, 3])


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        (
            "t,y\n1,1\n2,\n3,3\n4,\n",
            {},
            "2 missing value\\(s\\) \\(lines 3, 5\\); fill them with --fill",
        ),
        ("t,y\n1,\n2,2\n", {"fill": "ffill"}, "starts with a missing value"),
        ("t,y\n1,1\n2,abc\n", {}, "not numeric: line 3 has 'abc'"),
        ("t,y\n1,1\n", {"target": "z"}, "target column 'z' not found; the columns are t, y"),
        ("t,y\n1,1\n", {"time": "when"}, "time column 'when' not found"),
        ("month,y\n2000-02,1\n2000-01,2\n", {}, "not sorted: line 3 \\(2000-01-01"),
        ("month,y\n2000-01,1\n2000-01,2\n", {}, "duplicate timestamps"),
        ("day,y\nmonday,1\ntuesday,2\n", {"time": "day"}, "is not all dates: line 2 has 'monday'"),
        ("", {}, "cannot read"),
        ("y\n", {}, "no data rows"),
    ],
)
def test_bad_input(tmp_path, text, kwargs, message):
    with pytest.raises(ValueError, match=message):
        read_series_csv(write(tmp_path, text), **kwargs)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no CSV file at"):
        read_series_csv(tmp_path / "none.csv")


def test_a_numeric_first_column_is_time_only_when_it_counts_up(tmp_path):
    years = read_series_csv(write(tmp_path, "year,y\n2001,1\n2002,2\n2003,3\n"))
    assert years.time_name == "year"
    values = read_series_csv(write(tmp_path, "a,b\n3.5,1\n1.2,2\n2.0,3\n", "v.csv"))
    assert values.time_name is None and values.target == "b"


@pytest.mark.parametrize(
    "text, note",
    [
        ("Datum;Umsatz\n2020-01;1,5\n2020-02;2,5\n2020-03;3,25\n",
         "separator ';' (detected); decimal mark ',' (detected)"),
        ("month\tsales\n2020-01\t1.5\n2020-02\t2.5\n2020-03\t3.25\n", "separator '\\t' (detected)"),
        ("month,sales\n2020-01,1.5\n2020-02,2.5\n2020-03,3.25\n", ""),
    ],
)  # fmt: skip
def test_separator_and_decimal_mark_are_detected_and_said(tmp_path, text, note):
    data = read_series_csv(write(tmp_path, text))
    np.testing.assert_array_equal(data.values, [1.5, 2.5, 3.25])
    assert data.read_note == note and data.season == 12


def test_separator_and_decimal_mark_can_be_given(tmp_path):
    path = write(tmp_path, "a;b\n1;2,5\n2;3,5\n3;4,5\n")
    data = read_series_csv(path, sep=";", decimal=",")
    np.testing.assert_array_equal(data.values, [2.5, 3.5, 4.5])
    assert data.read_note == "separator ';'; decimal mark ','"
    with pytest.raises(ValueError, match="cannot both be ','"):
        read_series_csv(path, sep=",", decimal=",")
