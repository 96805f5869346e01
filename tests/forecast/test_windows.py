"""Windows against hand-computed examples."""

import numpy as np
import pytest

from lstmkit.forecast import last_window, make_windows, n_windows


def test_hand_computed_windows_stride_1():
    X, Y = make_windows(np.arange(7.0), lag=3, horizon=2)
    # Inputs [t, t+3), targets [t+3, t+5), for t = 0, 1, 2.
    np.testing.assert_array_equal(X[:, :, 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(Y, [[3, 4], [4, 5], [5, 6]])


def test_stride_aligns_to_the_end():
    X, Y = make_windows(np.arange(10.0), lag=3, horizon=2, stride=3)
    # S = (10 - 5) // 3 + 1 = 2; the last window's targets end at the last value.
    np.testing.assert_array_equal(X[:, :, 0], [[2, 3, 4], [5, 6, 7]])
    np.testing.assert_array_equal(Y, [[5, 6], [8, 9]])
    assert n_windows(10, 3, 2, 3) == 2


def test_table_with_covariates():
    table = np.stack([np.arange(6.0), 100 + np.arange(6.0)], axis=1)  # target, covariate
    X, Y = make_windows(table, lag=2, horizon=1, target=0)
    assert X.shape == (4, 2, 2) and Y.shape == (4, 1)
    np.testing.assert_array_equal(X[0], [[0, 100], [1, 101]])
    np.testing.assert_array_equal(Y[:, 0], [2, 3, 4, 5])
    _, Y1 = make_windows(table, lag=2, horizon=1, target=1)
    np.testing.assert_array_equal(Y1[:, 0], [102, 103, 104, 105])


def test_last_window():
    np.testing.assert_array_equal(last_window(np.arange(5.0), 3)[0, :, 0], [2, 3, 4])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lag": 0, "horizon": 1}, "lag must be"),
        ({"lag": 2, "horizon": 1, "stride": 0}, "stride must be"),
        ({"lag": 5, "horizon": 3}, "too short for lag 5 \\+ horizon 3 = 8"),
        ({"lag": 2, "horizon": 1, "target": 3}, "target column 3"),
    ],
)
def test_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_windows(np.arange(6.0), **kwargs)
