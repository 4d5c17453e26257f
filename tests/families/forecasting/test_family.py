"""The forecasting family's own rules in the contract: runs that cannot fit are named early."""

from __future__ import annotations

import pandas as pd

from components.core.contract import Task
from components.core.versioning import DataVersion
from components.families.forecasting.config import ForecastingConfig
from components.families.forecasting.family import ForecastingFamily
from tests.families.forecasting.tiny import chicago_document


def test_a_split_too_short_for_a_run_is_reported_with_the_numbers(chicago: pd.DataFrame) -> None:
    family = ForecastingFamily()
    config = ForecastingConfig.model_validate(
        {
            "window": 28,
            "dataset": chicago_document()["dataset"],
            "split": {"train_end": "2001-05-31", "validation_end": "2001-06-14", "test_end": None},
            "models": [{"name": "naive_seasonal"}, {"name": "gru"}, {"name": "gru", "horizon": 20}],
        }
    )
    frame = chicago.iloc[:200].reset_index(drop=True)
    prepared = family.prepare(frame, Task(config, "chicago"), DataVersion("h", "m", "p"))
    problems = family.unfit_runs(prepared, config.runs())
    assert list(problems) == ["gru-multi-h20"]  # 14 validation days: too few for 20 ahead
    assert "the validation split has 14 period(s)" in problems["gru-multi-h20"]
    assert "horizon 20, which need 20" in problems["gru-multi-h20"]
