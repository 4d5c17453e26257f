"""A served champion answers bad requests with 4xx and keeps serving good ones."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from components.families.forecasting.features import FeatureSpec
from components.families.forecasting.models import NaiveSeasonal

# Trained on temperatures of 60 to 70: served values from 55 to 75 pass (half the span each way).
SPEC = FeatureSpec(
    "date",
    "ridership",
    ("temp",),
    3,
    "D",
    True,
    "US",
    "IL",
    0.0,
    60.0,
    covariate_ranges=(("temp", 55.0, 75.0),),
)


@pytest.fixture
def client(mlflow_store: str):
    import mlflow
    from fastapi.testclient import TestClient

    from components.families.forecasting.serving import ForecastingModel
    from pipelines.alias_follower import AliasFollower
    from pipelines.model_server import create_app

    example = history(21)
    with mlflow.start_run():
        uri = ForecastingModel(NaiveSeasonal(7, 3), SPEC).log(example).uri
    version = mlflow.register_model(uri, "forecasting-test").version
    mlflow.MlflowClient().set_registered_model_alias("forecasting-test", "champion", version)
    follower = AliasFollower("forecasting-test", "champion")
    follower.refresh()
    return TestClient(create_app(follower))


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
    return client.post("/predict", json=payload)


def test_good_request_returns_forecasts_in_riders(client) -> None:
    frame = history(21)
    response = invoke(client, frame)
    assert response.status_code == 200, response.text
    predictions = pd.DataFrame(response.json()["predictions"])
    assert list(predictions["forecast"]) == pytest.approx(list(frame["ridership"].iloc[-7:-4]))
    assert list(predictions["date"].str[:10]) == ["2016-08-22", "2016-08-23", "2016-08-24"]


def test_a_statistical_forecaster_is_not_batched() -> None:
    from components.families.forecasting.serving import ForecastingModel

    # It filters each history on its own: nothing to gain from gathering requests.
    assert not ForecastingModel(NaiveSeasonal(7, 3), SPEC).batches_requests()


BAD = {
    "missing column": lambda frame: frame.drop(columns=["temp"]),
    "too short": lambda frame: frame.iloc[:3],
    "text value": lambda frame: frame.assign(
        ridership=frame["ridership"].astype(str).str.cat(["k"] * len(frame))
    ),
    "gap in dates": lambda frame: frame.drop(index=5),
    "missing value": lambda frame: frame.assign(temp=frame["temp"].where(frame.index != 4)),
    "negative riders": lambda frame: frame.assign(ridership=-frame["ridership"]),
    "a billion riders": lambda frame: frame.assign(ridership=frame["ridership"] * 1e8),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_request_gets_4xx_and_server_keeps_serving(client, case: str) -> None:
    response = invoke(client, BAD[case](history(21)))
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
    assert len(response.json()["message"]) <= 300  # the reason, not an echo of the history
    assert invoke(client, history(21)).status_code == 200


def test_history_outside_the_target_range_is_named_with_its_rows(client) -> None:
    frame = history(21)
    frame.loc[[3, 8], "ridership"] = [-1.0, 1e9]
    response = invoke(client, frame)
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        "history 'ridership' must be at least 0.0 and at most 60.0 (the model's "
        "dataset.target_min / dataset.target_max): not at row(s) [3, 8]"
    )


@pytest.mark.parametrize("temperature", [1e9, -500.0])
def test_a_covariate_far_outside_its_training_range_is_a_400(client, temperature) -> None:
    frame = history(21)
    frame.loc[5, "temp"] = temperature
    response = invoke(client, frame)
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        "history 'temp' must be within 55 to 75 (its range in the model's data and a margin): "
        "not at row(s) [5]"
    )


def test_a_covariate_a_little_past_its_training_range_is_forecast(client) -> None:
    frame = history(21)
    frame.loc[20, "temp"] = 74.0  # a hotter day than any in training
    assert invoke(client, frame).status_code == 200


def test_served_ranges_widen_the_training_range_by_half_its_span() -> None:
    from components.families.forecasting.features import covariate_ranges

    train = pd.DataFrame({"temp": [60.0, 70.0, 65.0], "game": [0, 0, 0]})
    assert covariate_ranges(train, ["temp", "game"]) == (
        ("temp", 55.0, 75.0),
        ("game", -0.5, 0.5),  # never set in training: room of 1 around it
    )


def test_malformed_json_is_a_4xx(client) -> None:
    response = client.post(
        "/predict", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500


def test_the_openapi_example_is_the_models_own_request_and_is_answered(client) -> None:
    from tests.serving import post_openapi_example

    response = post_openapi_example(client)
    assert response.status_code == 200, response.text
    assert response.json()["predictions"]
