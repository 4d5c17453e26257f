"""Gradient-boosted trees as the forecasting peer a practitioner would try first.

scikit-learn's ``HistGradientBoostingRegressor`` on tabular rows built from the family's own
feature matrix: the last ``lags`` values of the target, the covariates of the forecast origin
and the calendar of the periods ahead (weekday, time of year, holiday flags and distances).
One model per step ahead (the direct strategy): each step has its own calendar and no
forecast is fed back as input, so 14-day errors do not compound.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from components.core.persistence import read_settings, write_manifest
from components.families.forecasting.config import Boosting, ForecastRun
from components.families.forecasting.features import SplitPositions
from components.families.forecasting.statistical import seasonal_naive


class GradientBoostingForecaster:
    """Histogram gradient boosting on lag, calendar and covariate features.

    Trees cannot extrapolate a level they never saw, so each model learns the correction to
    the seasonal naive forecast (the value one season earlier) rather than the value itself;
    early stopping watches the validation split, never a random part of the training rows,
    which would leak future days into the choice of the number of trees.
    """

    def __init__(
        self,
        horizon: int,
        period: int,
        lags: int,
        settings: Boosting,
        seed: int,
        models: list[Any] | None = None,
    ) -> None:
        self.horizon = horizon
        self.period = period
        self.lags = lags
        self.settings = settings
        self.seed = seed
        self.models_ = models  # one fitted regressor per step ahead
        self.min_history = max(lags, period)

    @classmethod
    def for_run(cls, run: ForecastRun, period: int) -> GradientBoostingForecaster:
        return cls(
            run.horizon, period, run.architecture.lags, run.architecture.boosting, run.training.seed
        )

    def describe(self) -> dict[str, Any]:
        """The specification, as logged on the run."""
        return {
            "lags": self.lags,
            "seasonal_period": self.period,
            "boosting": self.settings.model_dump(mode="json"),
            "training": {"seed": self.seed},  # logged as the networks' training.seed
        }

    def inputs(self, features: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """One row per origin: the target's last ``lags`` values, newest first, then every
        other feature column of the origin (covariates, calendar of the periods ahead)."""
        lagged = features[origins[:, None] - np.arange(self.lags)[None, :], 0]
        return np.concatenate([lagged, features[origins, 1:]], axis=1)

    def fit(self, features, targets, positions: SplitPositions, callbacks=None, backup_dir=None):
        from sklearn.ensemble import HistGradientBoostingRegressor

        parts = {
            part: positions.origins(part, self.horizon, self.min_history)
            for part in ("train", "validation")
        }
        rows = {part: self.inputs(features, origins) for part, origins in parts.items()}
        baseline = {
            part: seasonal_naive(features[:, 0], origins, self.horizon, self.period)
            for part, origins in parts.items()
        }
        settings = self.settings
        self.models_ = []
        for step in range(self.horizon):
            model = HistGradientBoostingRegressor(
                max_iter=settings.max_iter,
                learning_rate=settings.learning_rate,
                max_leaf_nodes=settings.max_leaf_nodes,
                l2_regularization=settings.l2_regularization,
                early_stopping=True,
                n_iter_no_change=settings.n_iter_no_change,
                random_state=self.seed,
            )
            model.fit(
                rows["train"],
                targets[parts["train"], step] - baseline["train"][:, step],
                X_val=rows["validation"],
                y_val=targets[parts["validation"], step] - baseline["validation"][:, step],
            )
            self.models_.append(model)
        return {}

    def predict(self, features: np.ndarray, origins: np.ndarray) -> np.ndarray:
        if self.models_ is None:
            raise ValueError("the model is not fitted")
        rows = self.inputs(features, origins)
        corrections = np.stack([model.predict(rows) for model in self.models_], axis=1)
        return seasonal_naive(features[:, 0], origins, self.horizon, self.period) + corrections

    def save(self, directory: Path) -> None:
        import joblib

        write_manifest(directory, self, {"horizon": self.horizon} | self.describe())
        joblib.dump(self.models_, directory / "regressors.joblib")

    @classmethod
    def load(cls, directory: Path) -> GradientBoostingForecaster:
        import joblib

        settings = read_settings(directory)
        return cls(
            settings["horizon"],
            settings["seasonal_period"],
            settings["lags"],
            Boosting.model_validate(settings["boosting"]),
            # Saved before the seed joined the training settings: at the top.
            settings["training"]["seed"] if "training" in settings else settings["seed"],
            joblib.load(Path(directory) / "regressors.joblib"),
        )
