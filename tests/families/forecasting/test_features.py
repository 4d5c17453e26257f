"""Features, time splits and windows on the real Chicago table."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from components.core.errors import UserError
from components.families.forecasting.config import SplitConfig
from components.families.forecasting.family import ForecastingFamily
from components.families.forecasting.features import (
    HOLIDAY_DISTANCE_CAP,
    FeatureSpec,
    build_features,
    covariate_columns,
    infer_frequency,
    infer_seasonal_period,
    split_positions,
    target_matrix,
    window_dataset,
)

PACKAGED = ForecastingFamily().load_config()


def spec(horizon: int = 14, calendar: bool = True) -> FeatureSpec:
    return FeatureSpec("date", "ridership", ("temp",), horizon, "D", calendar, "US", "IL")


def test_test_split_is_the_documented_606_days(chicago: pd.DataFrame) -> None:
    positions = split_positions(chicago["date"], PACKAGED.split)
    origins = positions.origins("test", horizon=1, window=56)
    first, last = chicago["date"].iloc[origins[0] + 1], chicago["date"].iloc[origins[-1] + 1]
    assert (str(first.date()), str(last.date()), len(origins)) == ("2015-01-01", "2016-08-28", 606)


def test_relative_split_counts_back_from_the_series_end(chicago: pd.DataFrame) -> None:
    split = SplitConfig(validation_periods=60, test_periods=30)
    positions = split_positions(chicago["date"], split)
    days = len(chicago)
    assert (positions.train_end, positions.validation_end, positions.test_end) == (
        days - 90,
        days - 30,
        days,
    )


def test_each_new_period_of_a_relative_split_is_trained_on(chicago: pd.DataFrame) -> None:
    split = SplitConfig(validation_periods=60, test_periods=30)
    before = split_positions(chicago["date"].iloc[:-31], split)
    after = split_positions(chicago["date"], split)
    assert after.train_end - before.train_end == 31
    assert after.test_end - after.validation_end == before.test_end - before.validation_end == 30


def test_default_split_is_the_last_year_at_most_15_percent_of_the_series() -> None:
    air = pd.Series(pd.date_range("1949-01-01", periods=144, freq="MS"))
    monthly = split_positions(air, SplitConfig())
    assert (monthly.train_end, monthly.validation_end, monthly.test_end) == (120, 132, 144)
    short = split_positions(air.iloc[:40], SplitConfig())  # 15 % of 40 months: 6
    assert (short.train_end, short.validation_end) == (28, 34)
    longest_horizon = split_positions(air.iloc[:40], SplitConfig(), minimum_periods=8)
    assert (longest_horizon.train_end, longest_horizon.validation_end) == (24, 32)


def test_a_split_of_dates_and_lengths_at_once_is_an_error() -> None:
    with pytest.raises(
        ValidationError, match=r"mixes fixed dates \['train_end', 'validation_end'\]"
    ):
        SplitConfig(train_end="2013-12-31", validation_end="2014-12-31", test_periods=30)
    with pytest.raises(
        ValidationError, match=r"needs both split\.train_end and split\.validation_end"
    ):
        SplitConfig(train_end="2013-12-31")


def test_a_relative_split_longer_than_the_series_names_its_keys(chicago: pd.DataFrame) -> None:
    split = SplitConfig(validation_periods=60, test_periods=60)
    with pytest.raises(
        UserError, match=r"of 100 period\(s\).*split\.validation_periods and split\.test_periods"
    ):
        split_positions(chicago["date"].iloc[:100], split)


def test_origins_keep_every_target_inside_its_part(chicago: pd.DataFrame) -> None:
    positions = split_positions(chicago["date"], PACKAGED.split)
    for part, end in (("train", positions.train_end), ("validation", positions.validation_end)):
        origins = positions.origins(part, horizon=14, window=56)
        assert origins[-1] + 14 == end - 1
    assert positions.origins("train", 14, 56)[0] == 55


def test_calendar_columns_describe_the_days_ahead(chicago: pd.DataFrame) -> None:
    frame = chicago[["date", "ridership", "temp"]]
    features = build_features(frame, spec())
    columns = spec().columns
    assert features.shape == (len(frame), len(columns))
    row = int(np.flatnonzero(frame["date"] == pd.Timestamp("2015-12-24"))[0])
    assert features[row, columns.index("holiday_in_1")] == 1.0  # Christmas is tomorrow
    assert features[row, columns.index("holiday_in_2")] == 0.0
    assert features[row, columns.index("next_weekday_4")] == 1.0  # 2015-12-25 was a Friday
    np.testing.assert_array_equal(features[:, 0], frame["ridership"].to_numpy("float32"))


def test_holiday_distances_count_days_from_the_day_ahead(chicago: pd.DataFrame) -> None:
    frame = chicago[["date", "ridership", "temp"]]
    with_distance = replace(spec(), holiday_distance=True)
    features = build_features(frame, with_distance)
    columns = with_distance.columns
    assert columns[-2:] == ["next_days_since_holiday", "next_days_to_holiday"]
    assert features.shape[1] == len(columns)

    def distances(day: str) -> list[float]:
        row = int(np.flatnonzero(frame["date"] == pd.Timestamp(day))[0]) - 1  # the day before
        return features[row, -2:].tolist()

    assert distances("2015-12-25") == [0.0, 0.0]  # Christmas itself
    assert distances("2015-12-28") == [3.0, 4.0]  # three days after it, four before New Year
    assert distances("2015-11-20") == [9.0, 6.0]  # Veterans Day, then Thanksgiving on the 26th
    assert features[:, -2:].max() <= HOLIDAY_DISTANCE_CAP


def test_univariate_spec_has_only_the_target() -> None:
    assert spec(calendar=False).columns == ["ridership", "temp"]
    assert FeatureSpec("d", "y", (), 1, "D", False).columns == ["y"]


def test_missing_column_is_named(chicago: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"missing column\(s\) \['temp'\]"):
        build_features(chicago[["date", "ridership"]], spec())


def test_target_matrix_shifts_and_pads() -> None:
    matrix = target_matrix(np.arange(5.0), 2)
    np.testing.assert_array_equal(matrix[:3], [[1, 2], [2, 3], [3, 4]])
    assert np.isnan(matrix[3, 1]) and np.isnan(matrix[4]).all()


@pytest.mark.parametrize("output", ["seq2vec", "seq2seq"])
def test_windows_pair_history_with_the_next_days(output: str) -> None:
    series = np.arange(100, dtype="float32")[:, None]
    targets = target_matrix(series[:, 0], 3)
    origins = np.arange(9, 20)
    batches = list(
        window_dataset(series, targets, origins, window=10, output=output, batch_size=64)
    )
    inputs, labels = batches[0]
    assert inputs.shape == (len(origins), 10, 1)
    last = inputs.numpy()[:, -1, 0]
    np.testing.assert_array_equal(last, origins)
    expected = np.stack([last + 1, last + 2, last + 3], axis=1)
    got = labels.numpy()[:, -1, :] if output == "seq2seq" else labels.numpy()
    np.testing.assert_array_equal(got, expected)


def test_frequency_and_season_are_inferred() -> None:
    weekly = pd.Series(pd.date_range("2020-01-05", periods=30, freq="W-SUN"))
    assert infer_frequency(weekly, None) == "W-SUN"
    assert infer_seasonal_period("W-SUN", None) == 52
    assert infer_seasonal_period("D", None) == 7
    assert infer_frequency(weekly, "D") == "D"
    with pytest.raises(ValueError, match=r"set dataset\.frequency"):
        infer_frequency(pd.Series(pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-09"])), None)


def test_covariates_are_only_what_the_config_names(chicago: pd.DataFrame) -> None:
    dataset = PACKAGED.dataset.model_copy(update={"covariates": None})
    assert covariate_columns(chicago, dataset) == []  # none unless asked for
    every = covariate_columns(chicago, dataset.model_copy(update={"covariates": "all"}))
    assert "ridership" not in every and "date" not in every
    assert {"Clark_Lake", "temp", "Bears_Home"} <= set(every)
    named = dataset.model_copy(update={"covariates": ["temp"]})
    assert covariate_columns(chicago, named) == ["temp"]


def test_the_packaged_config_uses_every_column_and_illinois_holidays() -> None:
    from components.families.forecasting.family import ForecastingFamily

    dataset = ForecastingFamily().load_config().dataset
    assert dataset.covariates == "all"
    assert (dataset.holidays_country, dataset.holidays_subdivision) == ("US", "IL")
