"""A served champion answers bad requests with 4xx and keeps serving good ones."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from components.families.forecasting.features import FeatureSpec
from components.families.forecasting.models import NaiveSeasonal

SPEC = FeatureSpec("date", "ridership", ("temp",), 3, "D", True, "US", "IL")


@pytest.fixture
def client(mlflow_store: str):
    import mlflow
    from fastapi.testclient import TestClient
    from mlflow.pyfunc import scoring_server

    from components.families.forecasting.serving import ForecastingModel, log_forecaster

    example = history(21)
    with mlflow.start_run():
        uri = log_forecaster(ForecastingModel.of(NaiveSeasonal(7, 3), SPEC), example).uri
    return TestClient(scoring_server.init(mlflow.pyfunc.load_model(uri)))


def history(rows: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.date_range("2016-08-01", periods=rows).strftime("%Y-%m-%d"),
            "ridership": np.linspace(10, 20, rows),
            "temp": np.linspace(60, 70, rows),
        }
    )


def invoke(client, frame: pd.DataFrame):
    payload = {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
    return client.post("/invocations", json=payload)


def test_good_request_returns_forecasts_in_riders(client) -> None:
    frame = history(21)
    response = invoke(client, frame)
    assert response.status_code == 200, response.text
    predictions = pd.DataFrame(response.json()["predictions"])
    assert list(predictions["forecast"]) == pytest.approx(list(frame["ridership"].iloc[-7:-4]))
    assert list(predictions["date"].str[:10]) == ["2016-08-22", "2016-08-23", "2016-08-24"]


BAD = {
    "missing column": lambda frame: frame.drop(columns=["temp"]),
    "too short": lambda frame: frame.iloc[:3],
    "text value": lambda frame: frame.assign(
        ridership=frame["ridership"].astype(str).str.cat(["k"] * len(frame))
    ),
    "gap in dates": lambda frame: frame.drop(index=5),
    "missing value": lambda frame: frame.assign(temp=frame["temp"].where(frame.index != 4)),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_request_gets_4xx_and_server_keeps_serving(client, case: str) -> None:
    response = invoke(client, BAD[case](history(21)))
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
    assert invoke(client, history(21)).status_code == 200


def test_malformed_json_is_a_4xx(client) -> None:
    response = client.post(
        "/invocations", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500
