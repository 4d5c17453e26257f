"""Frequencies pandas knows, old aliases included: offsets, seasons, gaps and calendar features."""

from __future__ import annotations

import pandas as pd
import pytest

from components.families.forecasting import frequency
from components.families.forecasting.features import FeatureSpec, infer_frequency

CASES = {
    # alias as users write it: (pandas 3 alias, usual seasonal period)
    "D": ("D", 7),
    "B": ("B", 5),
    "W": ("W-SUN", 52),
    "M": ("ME", 12),
    "MS": ("MS", 12),
    "Q": ("QE-DEC", 4),
    "QS": ("QS-JAN", 4),
    "A": ("YE-DEC", 1),
    "YS": ("YS-JAN", 1),
    "H": ("h", 24),
}


@pytest.mark.parametrize("alias", list(CASES))
def test_old_and_new_aliases_give_an_offset_and_a_season(alias: str) -> None:
    normalized, season = CASES[alias]
    assert frequency.normalize(alias) == normalized
    assert frequency.seasonal_period(alias) == season


@pytest.mark.parametrize("alias", ["D", "B", "W-MON", "MS", "QS", "YS", "h"])
def test_a_regular_series_is_inferred_and_has_no_gap(alias: str) -> None:
    dates = pd.Series(pd.date_range("2001-01-01", periods=40, freq=frequency.to_offset(alias)))
    inferred = infer_frequency(dates, None)
    assert frequency.to_offset(inferred) == frequency.to_offset(alias)
    gaps = frequency.periods_between(dates, inferred)
    assert gaps.isna().sum() == 1 and (gaps.dropna() == 1).all()
    gapped = frequency.periods_between(dates.drop(index=10), inferred)
    assert list(gapped.dropna().unique()) == [1, 2]


def test_a_date_off_the_grid_is_flagged() -> None:
    mondays = pd.Series(pd.date_range("2020-01-06", periods=10, freq="W-MON"))
    mondays[4] = mondays[4] + pd.Timedelta(days=1)  # a Tuesday
    assert frequency.periods_between(mondays, "W-MON")[4] == 0


def test_an_unknown_frequency_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown frequency 'fortnightly'.*MS or ME"):
        frequency.normalize("fortnightly")


def test_calendar_features_follow_the_frequency() -> None:
    def spec(alias: str) -> FeatureSpec:
        return FeatureSpec("date", "y", (), 1, alias, True, "US", None)

    assert "next_weekday_0" in spec("D").columns and "holiday_in_1" in spec("D").columns
    assert spec("MS").columns == ["y", "next_year_phase_sin", "next_year_phase_cos"]
    assert spec("YS").columns == ["y"]
