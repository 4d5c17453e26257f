"""sarima_search: one child run per order tried, the best validation MAE wins, the budget holds,
and what is saved is the winner alone."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from components.core.contract import Task
from components.core.persistence import load_fitted
from components.families.forecasting.config import SarimaGrid
from components.families.forecasting.family import ForecastingFamily
from components.families.forecasting.features import SplitPositions
from components.families.forecasting.models import StateSpaceForecaster
from components.families.forecasting.order_search import TRIAL_KIND, SarimaSearch, grid_orders

POSITIONS = SplitPositions(start=0, train_end=300, validation_end=350, test_end=400)
# Two cheap orders on 300 days: under a second each.
GRID = SarimaGrid(p=(0, 1), d=(0,), q=(0,), P=(0,), D=(1,), Q=(1,), budget_seconds=600)


@pytest.fixture(scope="module")
def series(chicago: pd.DataFrame) -> np.ndarray:
    return chicago["ridership"].to_numpy("float32")[:400, None]


def child_runs(parent_id: str):
    import mlflow

    # In the parent's experiment, where the MLflow UI lists a run's children.
    experiment_id = mlflow.get_run(parent_id).info.experiment_id
    return mlflow.search_runs(
        [experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'",
        output_format="list",
    )


def searched(series: np.ndarray, grid: SarimaGrid = GRID, run_id: str | None = None):
    """A search fitted inside a model run (``run_id`` resumes one); the search and the run id."""
    import mlflow

    search = SarimaSearch(grid, seasonal_period=7, horizon=1)
    # Started by experiment id, not as the active experiment, as the flow starts model runs.
    experiment = mlflow.get_experiment_by_name("forecasting-test")
    experiment_id = (
        experiment.experiment_id if experiment else mlflow.create_experiment("forecasting-test")
    )
    started = {"run_id": run_id} if run_id else {"experiment_id": experiment_id}
    with mlflow.start_run(**started, tags={"seqpipe.kind": "model"}) as run:
        search.fit(series, None, POSITIONS)
    return search, run.info.run_id


def test_the_grid_is_tried_simplest_first() -> None:
    orders = grid_orders(SarimaGrid(p=(2, 0), d=(0,), q=(0, 1), P=(0,), D=(1,), Q=(1,)), 7)
    assert orders == [
        ((0, 0, 0), (0, 1, 1, 7)),
        ((0, 0, 1), (0, 1, 1, 7)),
        ((2, 0, 0), (0, 1, 1, 7)),
        ((2, 0, 1), (0, 1, 1, 7)),
    ]
    assert grid_orders(GRID, 1) == [((0, 0, 0), (0, 0, 0, 0)), ((1, 0, 0), (0, 0, 0, 0))]


def test_every_order_is_a_child_run_and_the_best_validation_mae_wins(
    series: np.ndarray, mlflow_store: str
) -> None:
    import mlflow

    search, run_id = searched(series)
    trials = child_runs(run_id)
    assert len(trials) == 2
    assert all(trial.data.tags["seqpipe.kind"] == TRIAL_KIND for trial in trials)
    assert all(trial.info.status == "FINISHED" for trial in trials)
    scores = {
        (trial.data.params["order"], trial.data.params["seasonal_order"]): trial.data.metrics
        for trial in trials
    }
    assert all({"val_mae", "aic", "train_seconds"} <= set(m) for m in scores.values())
    best = min(scores, key=lambda key: scores[key]["val_mae"])
    assert search.describe()["order"] == json.loads(best[0])
    # The logged score is the winner's rolling one-step validation MAE.
    winner = StateSpaceForecaster(tuple(json.loads(best[0])), tuple(json.loads(best[1])), 1)
    winner.fit(series, None, POSITIONS)
    origins = POSITIONS.origins("validation", 1, search.min_history)
    error = np.mean(np.abs(winner.predict(series, origins)[:, 0] - series[origins + 1, 0]))
    assert scores[best]["val_mae"] == pytest.approx(error, rel=1e-5)

    model_run = mlflow.get_run(run_id)
    assert model_run.data.metrics["search_orders_tried"] == 2
    assert model_run.data.metrics["search_best_val_mae"] == scores[best]["val_mae"]
    assert model_run.data.tags["search.stopped_on_budget"] == "false"
    assert model_run.data.params["order"] == best[0]
    artifacts = {item.path for item in mlflow.MlflowClient().list_artifacts(run_id, "order_search")}
    assert artifacts == {"order_search/trials.csv", "order_search/val_mae.png"}
    # Trials never pass for models: the leaderboard's query finds the model run alone.
    models = mlflow.search_runs(
        search_all_experiments=True,
        filter_string="tags.`seqpipe.kind` = 'model'",
        output_format="list",
    )
    assert [run.info.run_id for run in models] == [run_id]


def test_a_spent_budget_stops_after_one_order(series: np.ndarray, mlflow_store: str) -> None:
    import mlflow

    search, run_id = searched(series, GRID.model_copy(update={"budget_seconds": 0}))
    assert len(child_runs(run_id)) == 1 and len(search.trials_) == 1
    assert search.stopped_on_budget_
    model_run = mlflow.get_run(run_id)
    assert model_run.data.tags["search.stopped_on_budget"] == "true"
    assert model_run.data.metrics["search_orders_tried"] == 1
    assert model_run.data.metrics["search_orders_total"] == 2


def test_a_resumed_run_reuses_its_finished_trials(series: np.ndarray, mlflow_store: str) -> None:
    first, run_id = searched(series)
    again, _ = searched(series, run_id=run_id)
    assert len(child_runs(run_id)) == 2  # nothing refitted
    assert all(trial.reused for trial in again.trials_)
    assert again.describe() == first.describe()
    origins = POSITIONS.origins("test", 1, first.min_history)
    np.testing.assert_allclose(again.predict(series, origins), first.predict(series, origins))


def test_the_saved_search_is_the_winner(series: np.ndarray, tmp_path) -> None:
    search = SarimaSearch(GRID, seasonal_period=7, horizon=2)
    search.fit(series, None, POSITIONS)  # no active run: nothing is logged
    search.save(tmp_path / "search")
    loaded = load_fitted(tmp_path / "search")
    assert type(loaded) is StateSpaceForecaster
    assert loaded.describe() == search.describe()
    origins = POSITIONS.origins("test", 2, loaded.min_history)
    np.testing.assert_allclose(loaded.predict(series, origins), search.predict(series, origins))


def test_the_profiles_grids_and_the_logged_grid(chicago: pd.DataFrame) -> None:
    from components.core.config import flatten
    from components.core.versioning import DataVersion

    family = ForecastingFamily()
    quick, full = (family.load_config(profile=name) for name in ("quick", "full"))
    assert len(grid_orders(quick.order_search, 7)) <= 3
    assert len(grid_orders(full.order_search, 7)) > 10
    data = DataVersion("tiny.dir", "tiny", "data/raw/forecasting-tiny.csv")
    prepared = family.prepare(chicago, Task(quick, "chicago"), data)
    run = quick.runs(["sarima_search"])[0]
    params = flatten(family.run_params(prepared, run))
    assert params["order_search.p"] == "[1]" and params["order_search.budget_seconds"] == "60.0"
    assert params["search_orders"] == "2" and "order" not in params  # the winner's, once known
