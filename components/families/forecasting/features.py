"""Time-series features, time splits and windows for the forecasting family."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd

from components.core.errors import UserError
from components.families.forecasting import frequency as frequencies
from components.families.forecasting.config import ForecastRun, SeriesDataset, SplitConfig

Part = Literal["train", "validation", "test"]


@dataclass(frozen=True)
class FeatureSpec:
    """How raw history becomes model features; saved with each model so serving matches training."""

    date_column: str
    target_column: str
    covariates: tuple[str, ...]  # raw columns used as inputs besides the target
    horizon: int
    frequency: str
    calendar: bool  # add next-period day of week, time of year and holiday flags per step ahead
    holidays_country: str | None = None
    holidays_subdivision: str | None = None
    # The target's configured bounds: served history outside them is rejected, not forecast.
    target_min: float | None = None
    target_max: float | None = None
    # Days from the next period to the nearest holidays before and after it: the slow days
    # around Christmas or Thanksgiving that a one-day flag misses (absent in older specs).
    holiday_distance: bool = False
    # Each covariate's (name, lowest, highest) allowed in served history: its range in the
    # run's data widened by COVARIATE_MARGIN of its span each way (older specs: unchecked).
    covariate_ranges: tuple[tuple[str, float, float], ...] = ()

    @property
    def weekdays(self) -> bool:
        """Day of week of the next period: for daily (or finer) series."""
        return self.calendar and frequencies.is_daily_or_finer(self.frequency)

    @property
    def year_phase(self) -> bool:
        """Position of the next period in the year: for anything finer than years."""
        return self.calendar and not frequencies.is_yearly(self.frequency)

    @property
    def holidays(self) -> bool:
        """Holiday flags of the periods ahead: daily (or finer) series, a configured country."""
        return self.weekdays and self.holidays_country is not None

    @property
    def columns(self) -> list[str]:
        """Names of the feature columns, in model input order."""
        calendar = []
        if self.weekdays:
            calendar += [f"next_weekday_{day}" for day in range(7)]
        if self.year_phase:
            calendar += ["next_year_phase_sin", "next_year_phase_cos"]
        if self.holidays:
            calendar += [f"holiday_in_{step}" for step in range(1, self.horizon + 1)]
        if self.holidays and self.holiday_distance:
            calendar += ["next_days_since_holiday", "next_days_to_holiday"]
        return [self.target_column, *self.covariates, *calendar]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        fields = json.loads(text)
        fields["covariates"] = tuple(fields["covariates"])
        return cls(**fields)


def infer_frequency(dates: pd.Series, configured: str | None) -> str:
    """The configured frequency, or the one pandas infers from the dates, as pandas 3 names it.

    Raises:
        ValueError: if no frequency is configured and the dates have no regular one.
    """
    if configured:
        return frequencies.normalize(configured)
    parsed = pd.DatetimeIndex(pd.to_datetime(dates, errors="coerce")).dropna()
    inferred = None
    if len(parsed) >= 3:
        with pd.option_context("future.infer_freq_returns_offset", True):
            inferred = pd.infer_freq(parsed.sort_values())
    if inferred is None:
        raise UserError(
            "could not infer the series frequency from its dates (too few, or gaps); "
            "set dataset.frequency (e.g. D, W-SUN, MS, QS)"
        )
    return frequencies.normalize(getattr(inferred, "freqstr", inferred))


def infer_seasonal_period(alias: str, configured: int | None) -> int:
    """The configured seasonal period, or the usual one for the frequency."""
    return configured or frequencies.seasonal_period(alias)


def covariate_columns(frame: pd.DataFrame, dataset: SeriesDataset) -> list[str]:
    """The configured covariates: the columns named, every column but date and target
    (``all``; the suite then checks they are numeric), or none."""
    if dataset.covariates is None:
        return []
    if dataset.covariates == "all":
        excluded = {dataset.date_column, dataset.target_column}
        return [name for name in frame.columns if name not in excluded]
    return list(dataset.covariates)


# How far beyond its range in the run's data a served covariate may go, as a share of that
# range's span: a new record temperature is a day to forecast, a humidity of -500 a broken feed.
COVARIATE_MARGIN = 0.5


def covariate_ranges(
    data: pd.DataFrame, covariates: list[str]
) -> tuple[tuple[str, float, float], ...]:
    """(name, lowest, highest) a served value of each covariate may take, from the run's rows."""
    ranges = []
    for name in covariates:
        values = pd.to_numeric(data[name], errors="coerce")
        low, high = float(values.min()), float(values.max())
        if np.isfinite(low) and np.isfinite(high):
            # A constant in training (a flag never set) still gets room: its size, or 1.
            span = high - low if high > low else max(abs(high), 1.0)
            margin = COVARIATE_MARGIN * span
            ranges.append((name, low - margin, high + margin))
    return tuple(ranges)


def feature_spec(
    dataset: SeriesDataset,
    covariates: list[str],
    frequency: str,
    run: ForecastRun,
    data: pd.DataFrame | None = None,
) -> FeatureSpec:
    """The feature spec for one model run (univariate runs use the target alone); with the
    run's rows, the covariates' served ranges too."""
    multivariate = run.features == "multivariate"
    used = covariates if multivariate else []
    return FeatureSpec(
        date_column=dataset.date_column,
        target_column=dataset.target_column,
        covariates=tuple(covariates) if multivariate else (),
        horizon=run.horizon,
        frequency=frequency,
        calendar=multivariate,
        holidays_country=dataset.holidays_country,
        holidays_subdivision=dataset.holidays_subdivision,
        target_min=dataset.target_min,
        target_max=dataset.target_max,
        holiday_distance=multivariate,
        covariate_ranges=covariate_ranges(data, used) if data is not None else (),
    )


def build_features(frame: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """Feature matrix (rows = periods, columns = ``spec.columns``) from a raw history table.

    Calendar columns describe the periods *after* each row (known in advance), so the last
    row of a window tells the model what the days it forecasts are.
    """
    missing = [
        name
        for name in [spec.date_column, *spec.columns[: 1 + len(spec.covariates)]]
        if name not in frame
    ]
    if missing:
        raise ValueError(f"history is missing column(s) {missing}")
    dates = pd.DatetimeIndex(pd.to_datetime(frame[spec.date_column]))
    parts = [frame[[spec.target_column, *spec.covariates]].to_numpy(dtype="float32")]
    offset = frequencies.to_offset(spec.frequency)
    next_dates = dates + offset
    if spec.weekdays:
        parts.append(np.eye(7, dtype="float32")[next_dates.day_of_week])
    if spec.year_phase:
        # Position in the year as a circle: the holiday season and summer without a cliff at Jan 1.
        phase = 2 * np.pi * (next_dates.day_of_year.to_numpy() - 1) / 365.25
        parts.append(np.stack([np.sin(phase), np.cos(phase)], axis=1).astype("float32"))
    if spec.holidays:
        holiday_days = _holiday_days(dates, spec)
        flags = [
            (dates + step * offset).normalize().isin(holiday_days)
            for step in range(1, spec.horizon + 1)
        ]
        parts.append(np.stack(flags, axis=1).astype("float32"))
        if spec.holiday_distance:
            parts.append(_holiday_distances(next_dates.normalize(), holiday_days))
    return np.concatenate(parts, axis=1)


HOLIDAY_DISTANCE_CAP = 30  # days; farther holidays all look alike (and a 14-day horizon fits)


def _holiday_days(dates: pd.DatetimeIndex, spec: FeatureSpec) -> pd.DatetimeIndex:
    import holidays

    # A year either side, so the days just outside the series still have their neighbours.
    years = range(dates.min().year - 1, dates.max().year + 2)
    if spec.holidays_country is None:
        return pd.DatetimeIndex([])
    calendar = holidays.country_holidays(
        spec.holidays_country, subdiv=spec.holidays_subdivision, years=years
    )
    return pd.DatetimeIndex(sorted(calendar.keys()))


def _holiday_distances(days: pd.DatetimeIndex, holiday_days: pd.DatetimeIndex) -> np.ndarray:
    """Days since the latest holiday and until the next one (0 on a holiday), capped."""
    marks = holiday_days.to_numpy("datetime64[D]")
    values = days.to_numpy("datetime64[D]")
    after = np.searchsorted(marks, values, side="left")  # first holiday on or after each day
    before = np.searchsorted(marks, values, side="right") - 1  # last holiday on or before
    until = (marks[np.minimum(after, len(marks) - 1)] - values).astype(int)
    since = (values - marks[np.maximum(before, 0)]).astype(int)
    until[after >= len(marks)] = HOLIDAY_DISTANCE_CAP
    since[before < 0] = HOLIDAY_DISTANCE_CAP
    capped = np.clip(np.stack([since, until], axis=1), 0, HOLIDAY_DISTANCE_CAP)
    return capped.astype("float32")


def target_matrix(target: np.ndarray, horizon: int) -> np.ndarray:
    """Row ``t`` holds the next ``horizon`` targets ``y[t+1 .. t+horizon]`` (NaN past the end)."""
    padded = np.concatenate([target.astype("float32"), np.full(horizon, np.nan, "float32")])
    return np.stack([padded[step : step + len(target)] for step in range(1, horizon + 1)], axis=1)


@dataclass(frozen=True)
class SplitPositions:
    """Row positions where each part of the time split ends (exclusive)."""

    start: int
    train_end: int
    validation_end: int
    test_end: int

    def origins(self, part: Part, horizon: int, window: int = 1) -> np.ndarray:
        """Forecast origins (last observed rows) whose targets all fall inside ``part``.

        Windows may reach back into earlier parts: history is known at forecast time.
        """
        first_target, end = {
            "train": (self.start, self.train_end),
            "validation": (self.train_end, self.validation_end),
            "test": (self.validation_end, self.test_end),
        }[part]
        low = max(first_target - 1, self.start + window - 1)
        high = end - 1 - horizon  # the last target, origin + horizon, must stay below ``end``
        if high < low:
            periods, history = end - first_target, first_target - self.start
            needed = max(horizon, window + horizon - history)
            raise UserError(
                f"the {part} split has {periods} period(s) after {history} of history: too few "
                f"for window {window} and horizon {horizon}, which need {needed}; lengthen "
                "the split (split.validation_periods and split.test_periods, or its dates), "
                "or shorten the window or the horizon"
            )
        return np.arange(low, high + 1)


def split_positions(
    dates: pd.Series, split: SplitConfig, minimum_periods: int = 1
) -> SplitPositions:
    """Where each part of the split ends in a sorted date column: at the configured dates, or
    counted back from the series' end (at least ``minimum_periods`` per part by default).

    Raises:
        UserError: if a part would be empty, naming the split keys to change.
    """
    index = pd.DatetimeIndex(pd.to_datetime(dates))
    start = (
        0 if split.train_start is None else int(index.searchsorted(pd.Timestamp(split.train_start)))
    )
    if split.fixed:
        train_end = int(index.searchsorted(pd.Timestamp(split.train_end), side="right"))
        validation_end = int(index.searchsorted(pd.Timestamp(split.validation_end), side="right"))
        test_end = (
            len(index)
            if split.test_end is None
            else int(index.searchsorted(pd.Timestamp(split.test_end), side="right"))
        )
        keys = "split.train_start, split.train_end, split.validation_end and split.test_end"
    else:
        default = default_split_periods(index[start:], minimum_periods)
        test_end = len(index)
        validation_end = test_end - (split.test_periods or default)
        train_end = validation_end - (split.validation_periods or default)
        keys = "split.validation_periods and split.test_periods"
    positions = SplitPositions(start, train_end, validation_end, test_end)
    if not start < train_end < validation_end < test_end:
        raise UserError(
            f"the split leaves an empty part on this series of {len(index) - start} period(s) "
            f"(train, validation, test end at rows {train_end}, {validation_end}, "
            f"{test_end}): change {keys}"
        )
    return positions


def default_split_periods(dates: pd.DatetimeIndex, minimum_periods: int = 1) -> int:
    """Periods in a relative split's validation or test part when the config leaves them out:
    the series' last year of periods, at most 15 % of them, so a short series still trains
    on most of itself; never fewer than ``minimum_periods`` (the longest horizon)."""
    last_year = int((dates > dates[-1] - pd.DateOffset(years=1)).sum())
    return max(min(last_year, int(0.15 * len(dates))), minimum_periods, 1)


def window_dataset(
    features: np.ndarray,
    targets: np.ndarray,
    origins: np.ndarray,
    window: int,
    output: Literal["seq2vec", "seq2seq"],
    batch_size: int,
    shuffle: bool = False,
    seed: int | None = None,
):
    """A ``tf.data`` dataset of (window, targets) pairs ending at the given contiguous origins.

    seq2vec targets are the next ``horizon`` values after the window; seq2seq targets are the
    next ``horizon`` values after every step of the window.
    """
    import keras

    n_features = features.shape[1]
    combined = np.concatenate([features, targets], axis=1)
    dataset = keras.utils.timeseries_dataset_from_array(
        combined,
        targets=None,
        sequence_length=window,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        start_index=int(origins[0]) - window + 1,
        end_index=int(origins[-1]) + 1,
    )

    def split(windows):
        inputs = windows[:, :, :n_features]
        if output == "seq2seq":
            return inputs, windows[:, :, n_features:]
        return inputs, windows[:, -1, n_features:]

    return dataset.map(split)
