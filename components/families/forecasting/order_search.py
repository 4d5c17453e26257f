"""``sarima_search``: the SARIMA order a configured grid scores best on the validation split.

Every order is fitted on the training split (all of it, as ``sarima``: fits on its last years
alone were measured faster but worse) and scored by the mean absolute error of rolling
forecasts over the validation split, filtered with the fitted parameters as
``StateSpaceForecaster.predict`` does (one filter pass at horizon 1, no refit). Validation MAE
picks the winner, not AIC: a differenced model's likelihood is that of the differenced series,
so AIC cannot rank (1,0,0) against (1,1,1), and MAE is what the gate scores. AIC is logged too.

Inside an active MLflow run (the model's), each order tried is a child run tagged
``seqpipe.kind = search-trial``, never ``model``. A resumed model run reuses its finished trials
instead of refitting them; their recorded seconds count against the budget, so the resumed
search tries the orders the uninterrupted one would have. What the search saves and serves is
the winner alone: a plain ``StateSpaceForecaster``.
"""

from __future__ import annotations

import itertools
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from components.core.config import flatten
from components.families.forecasting.config import SarimaGrid
from components.families.forecasting.features import SplitPositions, target_matrix
from components.families.forecasting.statistical import StateSpaceForecaster

TRIAL_KIND = "search-trial"  # seqpipe.kind of a trial's child run
ARTIFACTS = "order_search"  # folder of the comparison table and plot on the model run
# Trial tags copied from the model run, so trials can be found by family, task and model.
INHERITED_TAGS = ("seqpipe.family", "seqpipe.task", "seqpipe.model", "seqpipe.profile")

Order = tuple[tuple[int, int, int], tuple[int, int, int, int]]


def grid_orders(grid: SarimaGrid, seasonal_period: int) -> list[Order]:
    """Every (order, seasonal_order) of the grid, the fewest coefficients first: a search cut
    short by its budget has tried the cheap orders."""
    seasonal = (
        [(P, D, Q, seasonal_period) for P, D, Q in itertools.product(grid.P, grid.D, grid.Q)]
        if seasonal_period >= 2
        else [(0, 0, 0, 0)]  # no season to model
    )
    orders = {
        ((p, d, q), s) for p, d, q in itertools.product(grid.p, grid.d, grid.q) for s in seasonal
    }
    return sorted(orders, key=lambda order: (sum(order[0]) + sum(order[1][:3]), order))


def order_name(order: tuple[int, ...], seasonal_order: tuple[int, ...]) -> str:
    """``(1,0,0)(0,1,1,7)``: a trial's run name."""
    return f"({','.join(map(str, order))})({','.join(map(str, seasonal_order))})"


@dataclass(frozen=True)
class Trial:
    """One order tried: the parameters it fitted, its validation score and what it cost."""

    order: tuple[int, int, int]
    seasonal_order: tuple[int, int, int, int]
    trend: str
    params: dict[str, float]
    val_mae: float
    aic: float
    train_seconds: float  # fit and validation scoring: what the trial took from the budget
    converged: bool
    reused: bool = False

    def forecaster(self, horizon: int) -> StateSpaceForecaster:
        return StateSpaceForecaster(
            self.order, self.seasonal_order, horizon, self.trend, dict(self.params)
        )

    def metrics(self) -> dict[str, float]:
        return {
            "val_mae": self.val_mae,
            "aic": self.aic,
            "train_seconds": self.train_seconds,
            "converged": float(self.converged),
        }


class SarimaSearch:
    """Tries the grid's orders within a time budget; once fitted, forecasts as the winner."""

    def __init__(self, grid: SarimaGrid, seasonal_period: int, horizon: int) -> None:
        self.grid = grid
        self.seasonal_period = seasonal_period
        self.horizon = horizon
        self.orders = grid_orders(grid, seasonal_period)
        self.winner_: StateSpaceForecaster | None = None
        self.trials_: list[Trial] = []
        self.stopped_on_budget_ = False

    @property
    def min_history(self) -> int:
        if self.winner_ is not None:
            return self.winner_.min_history
        # Before the search: enough for any order of the grid.
        return max(StateSpaceForecaster(o, s, self.horizon).min_history for o, s in self.orders)

    def describe(self) -> dict[str, Any]:
        """The grid before the search (as logged on the run), the winner's specification after."""
        if self.winner_ is not None:
            return self.winner_.describe()
        return {
            "order_search": self.grid.model_dump(mode="json"),
            "search_orders": len(self.orders),
        }

    def fit(self, features, targets, positions, callbacks=None, backup_dir=None):
        import mlflow

        active = mlflow.active_run()
        parent = mlflow.get_run(active.info.run_id) if active else None
        finished = finished_trials(parent) if parent else {}
        origins = positions.origins("validation", self.horizon, self.min_history)
        actual = target_matrix(features[:, 0].astype("float64"), self.horizon)[origins]
        self.trials_, self.stopped_on_budget_ = [], False
        started = time.perf_counter()
        spent_before = 0.0  # seconds of the trials reused from an earlier attempt of this run
        tried = 0
        for order, seasonal in self.orders:
            if tried and spent_before + time.perf_counter() - started >= self.grid.budget_seconds:
                self.stopped_on_budget_ = True
                break
            tried += 1
            trial = finished.get((order, seasonal))
            if trial is not None:
                spent_before += trial.train_seconds
            else:
                fit = partial(
                    fit_trial, order, seasonal, self.horizon, features, positions, origins, actual
                )
                trial = logged_trial(fit, order, seasonal, parent) if parent else attempt(fit)
            if trial is not None:
                self.trials_.append(trial)
        if not self.trials_:
            raise ValueError(f"no order of the grid could be fitted: {self.orders}")
        best = min(self.trials_, key=lambda trial: trial.val_mae)  # ties: the simplest
        self.winner_ = best.forecaster(self.horizon)
        if parent:
            self._log_search(parent, best, tried)
        return {}

    def _log_search(self, parent: Any, best: Trial, tried: int) -> None:
        """The search's outcome on the model run: winner, counts, the comparison (its time
        is the run's train_seconds)."""
        import mlflow

        mlflow.log_metrics(
            {
                "search_orders_tried": float(tried),
                "search_orders_total": float(len(self.orders)),
                "search_orders_reused": float(sum(trial.reused for trial in self.trials_)),
                "search_best_val_mae": best.val_mae,
            }
        )
        mlflow.set_tags(
            {
                "search.stopped_on_budget": str(self.stopped_on_budget_).lower(),
                "search.winner": order_name(best.order, best.seasonal_order),
            }
        )
        # Params cannot change: a resumed run keeps the first attempt's (search.winner is this one).
        winner = flatten(best.forecaster(self.horizon).describe())
        mlflow.log_params(
            {key: value for key, value in winner.items() if key not in parent.data.params}
        )
        with tempfile.TemporaryDirectory() as scratch:
            table = Path(scratch) / "trials.csv"
            table.write_text(trials_table(self.trials_))
            plot = plot_trials(self.trials_, Path(scratch) / "val_mae.png")
            for path in (table, plot):
                mlflow.log_artifact(str(path), ARTIFACTS)

    def predict(self, features: np.ndarray, origins: np.ndarray) -> np.ndarray:
        if self.winner_ is None:
            raise ValueError("the model is not fitted")
        return self.winner_.predict(features, origins)

    def save(self, directory: Path) -> None:
        if self.winner_ is None:
            raise ValueError("the model is not fitted")
        self.winner_.save(directory)


def fit_trial(
    order: tuple[int, int, int],
    seasonal_order: tuple[int, int, int, int],
    horizon: int,
    features: np.ndarray,
    positions: SplitPositions,
    origins: np.ndarray,
    actual: np.ndarray,
) -> Trial:
    """Fit one order on the training split; score its rolling forecasts at ``origins``."""
    started = time.perf_counter()
    model = StateSpaceForecaster(order, seasonal_order, horizon)
    results = model.fit_series(features[positions.start : positions.train_end, 0])
    error = float(np.mean(np.abs(model.predict(features, origins) - actual)))
    if not np.isfinite(error):  # parameters that explode on new data: unusable
        raise ValueError(f"non-finite validation forecasts with parameters {model.params_}")
    return Trial(
        order=order,
        seasonal_order=seasonal_order,
        trend=model.trend,
        params=model.params_ or {},  # fitted above: never empty
        val_mae=error,
        aic=float(results.aic),
        train_seconds=time.perf_counter() - started,
        converged=bool(results.mle_retvals.get("converged", True)),
    )


# What statsmodels raises for an order it cannot estimate (singular matrices, invalid lags).
UNFITTABLE = (np.linalg.LinAlgError, ValueError)


def attempt(fit: Callable[[], Trial]) -> Trial | None:
    """The trial, or None when statsmodels cannot fit its order."""
    try:
        return fit()
    except UNFITTABLE:
        return None


def logged_trial(
    fit: Callable[[], Trial],
    order: tuple[int, int, int],
    seasonal_order: tuple[int, int, int, int],
    parent: Any,
) -> Trial | None:
    """``attempt`` in a child run of ``parent``: FINISHED with the trial's metrics and fitted
    parameters (what a resumed search reuses), FAILED with the error when it cannot fit."""
    import mlflow

    from components.core.tracking import process_tags

    inherited = {key: parent.data.tags[key] for key in INHERITED_TAGS if key in parent.data.tags}
    # process tags: a trial whose process dies is failed by the orphan cleanup, as models are.
    tags = {"seqpipe.kind": TRIAL_KIND, **inherited, **process_tags()}
    # The model run's experiment, named: a nested run otherwise goes to the active experiment
    # (the Default one when the model run was started by id), out of its parent's view.
    mlflow.start_run(
        experiment_id=parent.info.experiment_id,
        nested=True,
        run_name=order_name(order, seasonal_order),
        tags=tags,
    )
    status = "FAILED"
    try:
        mlflow.log_params(
            {"order": json.dumps(list(order)), "seasonal_order": json.dumps(list(seasonal_order))}
        )
        try:
            trial = fit()
        except UNFITTABLE as error:
            mlflow.set_tag("seqpipe.error", f"{type(error).__name__}: {error}"[:5000])
            return None
        mlflow.log_params({"trend": trial.trend, "fitted_params": json.dumps(trial.params)})
        mlflow.log_metrics(trial.metrics())
        status = "FINISHED"
        return trial
    finally:
        mlflow.end_run(status)


def finished_trials(parent: Any) -> dict[Order, Trial]:
    """The trials an earlier attempt of the model run ``parent`` finished, by order."""
    from mlflow import MlflowClient

    runs = MlflowClient().search_runs(
        [parent.info.experiment_id],
        f"tags.`mlflow.parentRunId` = '{parent.info.run_id}' "
        f"and tags.`seqpipe.kind` = '{TRIAL_KIND}' and attributes.status = 'FINISHED'",
        max_results=1000,
    )
    trials = {}
    for run in runs:
        params, metrics = run.data.params, run.data.metrics
        trial = Trial(
            order=tuple(json.loads(params["order"])),
            seasonal_order=tuple(json.loads(params["seasonal_order"])),
            trend=params["trend"],
            params=json.loads(params["fitted_params"]),
            # A run resumed across the renaming reads its earlier trials' names.
            val_mae=metrics.get("val_mae", metrics.get("validation_mae", np.nan)),
            aic=metrics["aic"],
            train_seconds=metrics.get("train_seconds", metrics.get("seconds", 0.0)),
            converged=bool(metrics["converged"]),
            reused=True,
        )
        trials[(trial.order, trial.seasonal_order)] = trial
    return trials


def trials_table(trials: list[Trial]) -> str:
    """The trials as CSV, the best validation MAE first."""
    import pandas as pd

    rows = [
        {"order": order_name(trial.order, trial.seasonal_order), **trial.metrics()}
        | {"reused": trial.reused}
        for trial in sorted(trials, key=lambda trial: trial.val_mae)
    ]
    return pd.DataFrame(rows).to_csv(index=False, float_format="%.6g")


def plot_trials(trials: list[Trial], path: Path) -> Path:
    """Validation MAE by order, the best at the top and highlighted."""
    from components.core.plots import pyplot, save_figure

    ranked = sorted(trials, key=lambda trial: trial.val_mae, reverse=True)
    figure, axis = pyplot().subplots(figsize=(6, 1.2 + 0.28 * len(ranked)))
    colors = ["tab:gray"] * (len(ranked) - 1) + ["tab:green"]
    axis.barh(
        [order_name(trial.order, trial.seasonal_order) for trial in ranked],
        [trial.val_mae for trial in ranked],
        color=colors,
    )
    low = min(trial.val_mae for trial in ranked)
    axis.set_xlim(left=0.95 * low)  # differences are a few percent: start near the best
    axis.set_xlabel("validation MAE (rolling forecasts)")
    return save_figure(figure, path, "SARIMA orders tried")
