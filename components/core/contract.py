"""The family contract: what a model family declares so that the shared stages serve it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import pandas as pd

from components.core.config import FamilyConfig, GateConfig, ResolvedRun, read_profile
from components.core.errors import UserError
from components.core.validation import ValidationReport
from components.core.versioning import DataVersion

if TYPE_CHECKING:
    import mlflow

ConfigT = TypeVar("ConfigT", bound=FamilyConfig)
RunT = TypeVar("RunT", bound=ResolvedRun)
PreparedT = TypeVar("PreparedT", bound="Prepared")

History = dict[str, list[float]]


@dataclass(frozen=True)
class Prepared(ABC):
    """A validated task's data, ready for every model of the family."""

    task: str  # the task of the family config this data belongs to
    data: DataVersion  # what was ingested: DVC hash, file digest, path

    @abstractmethod
    def splits(self) -> Mapping[str, pd.DataFrame]:
        """Raw rows per split (``train``, ``validation``, ``test``), logged as MLflow datasets."""


@dataclass
class Fitted:
    """A trained model in memory, before it is logged."""

    model: mlflow.pyfunc.PythonModel  # the family's pyfunc wrapper, ready to predict
    history: History = field(default_factory=dict)  # per-epoch metrics ({} when not iterative)
    # Curves of earlier phases (e.g. language-model pretraining), plotted under their own name.
    phases: dict[str, History] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedModel:
    """A model logged to the active MLflow run as a pyfunc."""

    uri: str  # models:/m-... of the logged model
    example: Any  # its input example (raw input)
    output: Any  # what the in-memory model answered to the example


@dataclass(frozen=True)
class Evaluation:
    """Test scores of one model and the files it drew."""

    metrics: dict[str, float]
    artifacts: list[Path] = field(default_factory=list)  # plots and tables to log on the run


class Family(ABC, Generic[ConfigT, PreparedT, RunT]):
    """One model family: its config, data, suite, models, baselines, evaluation and serving.

    The shared stages (``components.core.stages``), the flow, the CLI, the benchmarks and the
    parametrized tests call only these members; a family implements them in its own folder and
    is listed once in ``components.families.FAMILIES``.

    Rules every family inherits from the shared stages: the config is checked before any
    work; one model's failure never sinks the other models of a flow; every run logs its
    config, data version, datasets, commit, curves, test metrics and plots; the registry takes
    the flow's best model per registered model, whatever its framework, and the family's
    baseline becomes champion when no model beats it.
    """

    name: ClassVar[str]  # the family's name in the CLI, experiments and registered models
    config_type: ClassVar[type[FamilyConfig]]
    default_config: ClassVar[Path]  # YAML with profiles ``quick`` and ``full``
    leaderboard_columns: ClassVar[tuple[str, ...]]  # metrics shown beside the gate metric
    baselines: ClassVar[tuple[str, ...]]  # model names that are the family's baselines
    studies: ClassVar[tuple[str, ...]] = ()  # comparisons of one model's variants (optional)
    # A run param naming the unit the gate metric is measured in (leaderboards show it).
    unit_param: ClassVar[str | None] = None

    # --- configuration -------------------------------------------------------------------
    def load_config(self, path: Path | None = None, profile: str = "quick") -> ConfigT:
        """The family config at ``path`` (default: the family's YAML) with a profile applied."""
        config = self.config_type.model_validate(read_profile(path or self.default_config, profile))
        return config.resolve_paths(Path(path).resolve().parent) if path else config

    @abstractmethod
    def tasks(self, config: ConfigT) -> list[str]:
        """The config's tasks: each has its own data table and experiment."""

    def select_tasks(self, config: ConfigT, name: str | None) -> list[str]:
        """The tasks to run: ``name`` alone, or every task of the config when it is None."""
        tasks = self.tasks(config)
        if name is not None and name not in tasks:
            raise UserError(f"unknown task {name!r} for {self.name}; valid tasks: {tasks}")
        return tasks if name is None else [name]

    @abstractmethod
    def model_names(self) -> list[str]:
        """Every model name a config may list (the family's model registry)."""

    @abstractmethod
    def runs(self, config: ConfigT, names: list[str] | None) -> list[RunT]:
        """The config's model runs, every field resolved, restricted to ``names`` if given."""

    @abstractmethod
    def baseline_runs(self, config: ConfigT, runs: list[RunT]) -> list[RunT]:
        """The family's baselines that score ``runs``: one per registered model among them."""

    @abstractmethod
    def registered_model(self, config: ConfigT, task: str, run: RunT) -> str:
        """The registry name a run's model competes under: ``<family>-<task>[-variant]``."""

    @abstractmethod
    def floor_metric(self, config: ConfigT) -> str:
        """The evaluation metric holding the score a model must beat besides the champion
        (the family baseline's, on the same test data); ``config.gate`` names the rest."""

    def gate(self, config: ConfigT, run: RunT) -> GateConfig:
        """The gate of the registered model ``run`` competes for: its metric, direction and
        margin. A family whose registered models share one gate keeps ``config.gate``."""
        return config.gate

    def run_floor_metric(self, config: ConfigT, run: RunT) -> str:
        """``floor_metric`` for the registered model ``run`` competes for (by default the
        family's one floor metric)."""
        return self.floor_metric(config)

    @abstractmethod
    def run_params(self, config: ConfigT, run: RunT, prepared: PreparedT) -> dict[str, Any]:
        """Params logged on a model run: what this model really used, nested (flattened for
        MLflow), e.g. orders for a statistical model, the architecture for a network."""

    def check(self, config: ConfigT, runs: list[RunT]) -> None:
        """Config problems found before any data is read (``UserError`` naming them)."""
        known = set(self.model_names())
        unknown = sorted({run.name for run in runs} - known)
        if unknown:
            raise UserError(f"unknown {self.name} model(s) {unknown}; valid names: {sorted(known)}")

    # --- data ----------------------------------------------------------------------------
    @abstractmethod
    def load_table(self, config: ConfigT, task: str) -> pd.DataFrame:
        """The task's raw table from its source (a package, a user's file)."""

    @abstractmethod
    def read_raw(self, path: Path, config: ConfigT, task: str) -> pd.DataFrame:
        """Read an ingested raw table back, with its types."""

    @abstractmethod
    def validate(self, frame: pd.DataFrame, config: ConfigT, task: str) -> ValidationReport:
        """Run the family's Great Expectations suite on a raw table."""

    @abstractmethod
    def prepare(
        self, frame: pd.DataFrame, config: ConfigT, task: str, data: DataVersion
    ) -> PreparedT:
        """Turn a validated table into what every model needs (preprocessors fitted on train)."""

    def unfit_runs(self, prepared: PreparedT, config: ConfigT, runs: list[RunT]) -> dict[str, str]:
        """Runs that cannot train on this data (run key -> why, with the numbers), found
        before any training; the others go on."""
        return {}

    # --- models --------------------------------------------------------------------------
    @abstractmethod
    def fit(
        self,
        prepared: PreparedT,
        config: ConfigT,
        run: RunT,
        backup_dir: Path,
        callbacks: list[Any],
    ) -> Fitted:
        """Build and fit the model a run names; resumable through ``backup_dir``."""

    @abstractmethod
    def log_model(self, fitted: Fitted, prepared: PreparedT) -> LoggedModel:
        """Log a fitted model as a pyfunc (raw inputs in, user units out) on the active run."""

    @abstractmethod
    def evaluate(
        self,
        prepared: PreparedT,
        config: ConfigT,
        run: RunT,
        model: mlflow.pyfunc.PythonModel,
        reference: dict[str, float] | None,
        out_dir: Path,
    ) -> Evaluation:
        """Score a model (the family's pyfunc wrapper, loaded or in memory) on the test split.

        ``reference`` holds the metrics of the run's baseline (None for the baseline itself);
        plots and tables are written under ``out_dir``.
        """

    @abstractmethod
    def rescore(self, prepared: PreparedT, config: ConfigT, run: RunT, model_uri: str) -> float:
        """A registered model's gate metric on this data (a champion trained on other data)."""

    @abstractmethod
    def evaluation_key(self, prepared: PreparedT, config: ConfigT, run: RunT) -> str:
        """Identifies the test data a score was computed on: equal keys, comparable scores."""

    def is_baseline(self, run: RunT) -> bool:
        """Whether a run is one of the family's baselines."""
        return run.name in self.baselines

    # --- studies (optional) --------------------------------------------------------------
    def study_runs(self, config: ConfigT, study: str, model: str) -> dict[str, RunT]:
        """Variant name -> run of one model, for a study the family declares."""
        raise UserError(f"no {study!r} study for {self.name!r}; its studies: {self.studies}")

    def summarize_study(
        self, study: str, trials: dict[str, str], title: str, parent_run_id: str
    ) -> pd.DataFrame:
        """Compare a study's trial runs (variant -> run id) on the parent run; return a table."""
        raise UserError(f"no {study!r} study for {self.name!r}; its studies: {self.studies}")
