"""A tiny forecasting setup for the tests over every family: every model, seconds to fit."""

from __future__ import annotations

import pandas as pd

from components.core.contract import Task
from components.core.versioning import DataVersion
from components.families.forecasting.config import ForecastingConfig
from components.families.forecasting.family import ForecastingFamily, PreparedSeries
from components.families.forecasting.sources import load_series_table

TRAINING = {"epochs": 1, "patience": 1, "batch_size": 16, "max_train_batches": 2}
ORDER_SEARCH = {"p": [0, 1], "d": [0], "q": [0], "P": [0], "D": [1], "Q": [1]}
ARCHITECTURE = {
    "units": 4,
    "layers": 2,
    "filters": 4,
    "kernel_size": 2,
    "dilation_rates": [1, 2],
    "boosting": {"max_iter": 10},
}


def chicago_document(**dataset: object) -> dict:
    """The packaged Chicago series and split as config keys, ``dataset`` keys overridden."""
    packaged = ForecastingFamily().load_config()
    return {
        "dataset": {**packaged.dataset.model_dump(mode="json"), **dataset},
        "split": packaged.split.model_dump(mode="json", exclude_none=True),
    }


def every_model_config() -> ForecastingConfig:
    """Every registered model, 2 days ahead, on the first 200 days of the real series."""
    family = ForecastingFamily()
    models = [{"name": name} for name in family.model_names()]
    return ForecastingConfig.model_validate(
        {
            "window": 8,
            "horizon": 2,
            "dataset": chicago_document(start_date=None, end_date=None)["dataset"],
            "split": {"train_end": "2001-05-31", "validation_end": "2001-07-10", "test_end": None},
            "architecture": ARCHITECTURE,
            "training": TRAINING,
            "order_search": ORDER_SEARCH,
            "models": models,
        }
    )


def prepared(config: ForecastingConfig) -> PreparedSeries:
    frame = load_series_table(config.dataset).iloc[:200].reset_index(drop=True)
    data = DataVersion("tiny.dir", "tiny", "data/raw/forecasting-tiny.csv")
    return ForecastingFamily().prepare(frame, Task(config, "tiny"), data)


def flow_document() -> dict:
    """A config for the real flow: the baseline, a statistical and a neural model."""
    chicago = chicago_document()
    document = {
        "window": 28,
        "dataset": chicago["dataset"],
        "split": {**chicago["split"], "train_start": "2011-01-01"},
        "architecture": {"units": 8, "layers": 1, "filters": 8},
        "training": {"epochs": 2, "patience": 1, "batch_size": 64, "max_train_batches": 8},
        "parallel_models": 2,
        "models": [
            {"name": "naive_seasonal", "features": "univariate"},
            {"name": "arima", "features": "univariate"},
            {"name": "gru"},
            {"name": "gru", "horizon": 3},
        ],
        "profiles": {"quick": {}},
    }
    return document


def same_predictions(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    # Dates may come back at another resolution (ns) after the signature check: same days.
    pd.testing.assert_frame_equal(expected, actual, rtol=1e-5, atol=1e-5, check_dtype=False)
