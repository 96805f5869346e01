"""Season lengths from pandas frequencies, the seasonality test, classical indices."""

import numpy as np
import pytest

from lstmkit.forecast.seasonality import is_seasonal, season_from_freq, seasonal_indices


@pytest.mark.parametrize(
    "freq, m",
    [("MS", 12), ("ME", 12), ("QS-OCT", 4), ("QE-DEC", 4), ("YS", 1), ("W-SUN", 52), ("D", 7),
     ("B", 5), ("h", 24), ("30min", 48), ("15min", 96), ("2MS", 6), ("10D", 1)],
)  # fmt: skip
def test_season_from_freq(freq, m):
    assert season_from_freq(freq) == m


def test_unknown_frequency_is_none():
    assert season_from_freq("not-a-freq") is None and season_from_freq(None) is None
    assert season_from_freq("7min") is None  # 1440 / 7 is not whole


def test_is_seasonal():
    t = np.arange(60)
    rng = np.random.default_rng(0)
    assert is_seasonal(np.sin(2 * np.pi * t / 12) + 0.1 * rng.normal(size=60), 12)
    assert not is_seasonal(rng.normal(size=60), 12)
    assert not is_seasonal(np.sin(2 * np.pi * t[:30] / 12), 12)  # shorter than 3 seasons


@pytest.mark.parametrize("m", [4, 7, 12])
def test_seasonal_indices_recover_an_additive_pattern_over_a_trend(m):
    pattern = np.random.default_rng(m).normal(size=m)
    pattern -= pattern.mean()
    t = np.arange(10 * m)
    u = 3.0 + 0.2 * t + pattern[t % m]
    np.testing.assert_allclose(seasonal_indices(u, m), pattern, atol=1e-12)
    with pytest.raises(ValueError, match="at least 2 seasons"):
        seasonal_indices(u[: 2 * m - 1], m)
