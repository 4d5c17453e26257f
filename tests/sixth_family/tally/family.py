"""The tally family: a line's y from its x, a ridge regression against the training mean."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components.core.contract import Evaluation, Family, Fitted, LoggedModel, Prepared, Scores, Task
from components.core.persistence import write_manifest
from components.core.serving import FamilyModel
from components.core.validation import ValidationReport, validate_table
from components.core.versioning import DataVersion

from .config import TallyConfig, TallyRun

SPLITS = ("train", "validation", "test")


def build_mean(run: TallyRun) -> Any:
    from sklearn.dummy import DummyRegressor

    return DummyRegressor(strategy="mean")


def build_ridge(run: TallyRun) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=run.ridge.alpha)


MODELS: dict[str, Callable[[TallyRun], Any]] = {"mean": build_mean, "ridge": build_ridge}


@dataclass(frozen=True)
class PreparedLine(Prepared[TallyConfig]):
    """The validated line, split by row."""

    frame: pd.DataFrame

    def splits(self) -> Mapping[str, pd.DataFrame]:
        return {split: self.frame[self.frame["split"] == split] for split in SPLITS}


class Estimator:
    """A fitted scikit-learn regressor, saved the way every fitted model is."""

    def __init__(self, regressor: Any) -> None:
        self.regressor = regressor

    def save(self, directory: Path) -> None:
        write_manifest(directory, self, {"regressor": type(self.regressor).__name__})
        (directory / "regressor.pkl").write_bytes(pickle.dumps(self.regressor))

    @classmethod
    def load(cls, directory: Path) -> Estimator:
        return cls(pickle.loads((directory / "regressor.pkl").read_bytes()))


class LineModel(FamilyModel):
    """Takes a table with an ``x`` column, answers ``y``."""

    packages = ("scikit-learn",)

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        x = model_input[["x"]].to_numpy("float64")
        return pd.DataFrame({"y": self.model.regressor.predict(x)})


class TallyFamily(Family[TallyConfig, PreparedLine, TallyRun, LineModel]):
    """A line's y from its x; one registered model per dataset."""

    name = "tally"
    baselines = ("mean",)
    floor_metric = "test_mae_baseline"

    def tasks(self, config: TallyConfig) -> list[str]:
        return [config.dataset.name]

    def model_names(self) -> list[str]:
        return sorted(MODELS)

    def baseline_runs(self, config: TallyConfig, runs: list[TallyRun]) -> list[TallyRun]:
        return [config.resolve({"name": "mean"})]

    def load_table(self, task: Task[TallyConfig]) -> pd.DataFrame:
        line = task.config.dataset
        random = np.random.default_rng(line.seed)
        x = random.uniform(-1, 1, line.rows)
        y = line.slope * x + line.intercept + random.normal(0, line.noise, line.rows)
        split = np.where(np.arange(line.rows) < 0.6 * line.rows, "train", "validation")
        split[np.arange(line.rows) >= 0.8 * line.rows] = "test"
        return pd.DataFrame({"x": x, "y": y, "split": split})

    def read_raw(self, path: Path, task: Task[TallyConfig]) -> pd.DataFrame:
        return pd.read_csv(path)

    def validate(self, frame: pd.DataFrame, task: Task[TallyConfig]) -> ValidationReport:
        import great_expectations as gx

        expectations = [
            *(gx.expectations.ExpectColumnValuesToNotBeNull(column=name) for name in ("x", "y")),
            gx.expectations.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
        ]
        return validate_table(frame, expectations, f"tally-{task.name}")

    def prepare(
        self, frame: pd.DataFrame, task: Task[TallyConfig], data: DataVersion
    ) -> PreparedLine:
        return PreparedLine(task=task, data=data, frame=frame)

    def fit(
        self, prepared: PreparedLine, run: TallyRun, backup_dir: Path, callbacks: list[Any]
    ) -> Fitted[LineModel]:
        train = prepared.splits()["train"]
        regressor = MODELS[run.name](run).fit(train[["x"]].to_numpy(), train["y"].to_numpy())
        return Fitted(model=LineModel(Estimator(regressor)))

    def log_model(self, prepared: PreparedLine, fitted: Fitted[LineModel]) -> LoggedModel:
        return fitted.model.log(prepared.splits()["test"][["x"]].head(3).reset_index(drop=True))

    def score(self, prepared: PreparedLine, run: TallyRun, model: LineModel) -> Scores:
        test = prepared.splits()["test"]
        predicted = model.predict(None, test)["y"].to_numpy()
        errors = np.abs(predicted - test["y"].to_numpy())
        return Scores({"test_mae": float(errors.mean())}, {"test_rows": len(test)}, errors)

    def report(
        self,
        prepared: PreparedLine,
        run: TallyRun,
        model: LineModel,
        scores: Scores,
        reference: dict[str, float] | None,
        out_dir: Path,
    ) -> Evaluation:
        baseline = scores.metrics if reference is None else reference
        errors = out_dir / "errors.csv"
        pd.DataFrame({"absolute_error": scores.outputs}).to_csv(errors, index=False)
        return Evaluation({"test_mae_baseline": baseline["test_mae"]}, [errors])
