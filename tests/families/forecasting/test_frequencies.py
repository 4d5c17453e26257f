"""Users' series of other frequencies run end to end: monthly, quarterly and weekly totals of the
real ridership, through validation, statistical and neural models, the gate and serving."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

pytestmark = pytest.mark.slow

CASES = {
    # name: (resample rule, expected alias, seasonal period, window, statistical model)
    "monthly": ("MS", "MS", 12, 12, "sarima"),
    "quarterly": ("QS", "QS-JAN", 4, 4, "sarima"),
    "weekly": ("W-MON", "W-MON", 52, 8, "arima"),
}


def totals(chicago: pd.DataFrame, rule: str) -> pd.DataFrame:
    """Ridership totals per period, complete periods only, with the mean temperature."""
    daily = chicago.set_index("date")[["ridership", "temp"]]
    closed = "left" if rule.startswith("W") else None
    table = daily.resample(rule, closed=closed, label="left").agg(
        {"ridership": "sum", "temp": "mean"}
    )
    return table.iloc[1:-1].rename_axis("period").reset_index()


@pytest.mark.parametrize("name", list(CASES))
def test_series_of_another_frequency_runs_end_to_end(
    name: str, chicago: pd.DataFrame, prefect_server, workspace: Path
) -> None:
    from pipelines.flow import pipeline_flow

    rule, alias, season, window, statistical = CASES[name]
    totals(chicago, rule).to_csv(workspace / f"{name}.csv", index=False)
    config = {
        "dataset": {
            "name": f"clarklake-{name}",
            "source": "file",
            "path": f"{name}.csv",
            "date_column": "period",
            "target_column": "ridership",
            "covariates": ["temp"],
            "frequency": None,  # inferred
            "seasonal_period": None,  # the frequency's usual one
            "target_max": 100000.0,
        },
        "split": {"train_end": "2012-12-31", "validation_end": "2014-06-30", "test_end": None},
        "window": window,
        "architecture": {"units": 4, "layers": 1},
        "training": {"epochs": 1, "patience": 1, "batch_size": 16},
        "models": [
            {"name": "naive_seasonal", "features": "univariate"},
            {"name": statistical, "features": "univariate"},
            {"name": "gru"},
        ],
        "profiles": {"quick": {}},
    }
    path = workspace / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    (decision,) = pipeline_flow("forecasting", profile="quick", config_path=str(path))
    assert decision.promoted
    client = MlflowClient()
    experiment = client.get_experiment_by_name(f"forecasting-clarklake-{name}")
    runs = client.search_runs([experiment.experiment_id], "tags.`seqpipe.kind` = 'model'")
    assert {run.data.tags["seqpipe.model"] for run in runs} == {
        "naive_seasonal",
        statistical,
        "gru",
    }
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.params["frequency"] == alias
        assert run.data.params["seasonal_period"] == str(season)
    champion = mlflow.pyfunc.load_model(f"models:/forecasting-clarklake-{name}@champion")
    forecast = champion.predict(champion.input_example)
    last = pd.Timestamp(champion.input_example["period"].iloc[-1])
    assert forecast["period"].iloc[0] == last + pd.tseries.frequencies.to_offset(alias)
