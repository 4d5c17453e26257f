"""The family contract: what a model family declares so that the shared stages serve it."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, get_args, get_origin

import pandas as pd

from components.core.config import FamilyConfig, GateConfig, ResolvedRun, read_profile
from components.core.errors import UserError
from components.core.validation import ValidationReport
from components.core.versioning import DataVersion

if TYPE_CHECKING:
    from components.core.drift import DriftStatistic
    from components.core.serving import FamilyModel

ConfigT = TypeVar("ConfigT", bound=FamilyConfig[Any])
RunT = TypeVar("RunT", bound=ResolvedRun)
PreparedT = TypeVar("PreparedT", bound="Prepared[Any]")
ModelT = TypeVar("ModelT", bound="FamilyModel")

History = dict[str, list[float]]


@dataclass(frozen=True)
class Task(Generic[ConfigT]):
    """One task of a family config: the config bound to the task's name, so that no stage
    takes the two apart (or in its own order)."""

    config: ConfigT
    name: str  # a task of the config: it has its own data table and experiment


@dataclass(frozen=True)
class Prepared(ABC, Generic[ConfigT]):
    """A validated task's data, ready for every model of the family."""

    task: Task[ConfigT]  # the task (and config) this data was prepared for
    data: DataVersion  # what was ingested: DVC hash, file digest, path

    @property
    def config(self) -> ConfigT:
        """The family config the data was prepared under."""
        return self.task.config

    @abstractmethod
    def splits(self) -> Mapping[str, pd.DataFrame]:
        """Raw rows per split (``train``, ``validation``, ``test``), logged as MLflow datasets."""


@dataclass
class Fitted(Generic[ModelT]):
    """A trained model in memory, before it is logged."""

    model: ModelT  # the family's pyfunc wrapper, ready to predict
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
class Scores:
    """A model's test metrics, what it produced to earn them, and what they were computed on."""

    metrics: dict[str, float]  # the gate metric among them
    # What identifies the test data beyond the data version and task (e.g. the horizon and
    # the forecast origins): equal keys, comparable scores, so a champion is not rescored.
    evaluated_on: dict[str, Any]
    outputs: Any = None  # the model's test outputs, for the report's plots (never recomputed)


@dataclass(frozen=True)
class Evaluation:
    """What a report adds to a model's scores: comparisons and the files it drew."""

    metrics: dict[str, float]  # e.g. the baseline's score beside the model's, and their ratio
    artifacts: list[Path] = field(default_factory=list)  # plots and tables to log on the run


class Gate(GateConfig):
    """A registered model's gate: the configured rule and where the baseline's score is."""

    floor_metric: str  # the evaluation metric holding the family baseline's score
    floor_model: str  # the baseline whose score that is, by model name

    @classmethod
    def of(cls, rule: GateConfig, floor_metric: str, floor_model: str) -> Gate:
        return cls(**rule.model_dump(), floor_metric=floor_metric, floor_model=floor_model)


class Family(ABC, Generic[ConfigT, PreparedT, RunT, ModelT]):
    """One model family: its config, data, suite, models, baselines, evaluation and serving.

    The shared stages (``components.core.stages``), the flow, the CLI, the benchmarks and the
    parametrized tests call only these members; a family implements the ten abstract ones in
    its own folder and is listed once in ``components.families.FAMILIES``:

    - ``tasks``: the config's task names; ``model_names``: the family's model registry;
      ``baseline_runs``: the baselines that score a list of runs;
    - ``load_table``, ``validate``, ``prepare``: a task's raw table from its source, the
      family's suite on it, and the prepared data every model shares;
    - ``fit``: one model trained; ``log_model``: logged as a pyfunc on the active run;
    - ``score``: the test metrics (the gate reads them); ``report``: comparisons and plots.

    Rules every family inherits from the shared stages: the config is checked before any
    work; one model's failure never sinks the other models of a flow; every run logs its
    config, data version, datasets, commit, curves, test metrics and plots; the registry takes
    the flow's best model per registered model, whatever its framework, and the family's
    baseline becomes champion when no model beats it.
    """

    name: ClassVar[str]  # the family's name in the CLI, experiments and registered models
    baselines: ClassVar[tuple[str, ...]]  # model names that are the family's baselines
    floor_metric: ClassVar[str]  # the metric holding the baseline's score on a model's run
    leaderboard_columns: ClassVar[tuple[str, ...]] = ()  # metrics shown beside the gate's
    studies: ClassVar[tuple[str, ...]] = ()  # comparisons of one model's variants (optional)
    # A run param naming the unit the gate metric is measured in (leaderboards show it).
    unit_param: ClassVar[str | None] = None
    # Derived from the class: ``Family[ItsConfig, ...]`` and ``<name>.yaml`` beside its module.
    config_type: ClassVar[type[FamilyConfig[Any]]]
    default_config: ClassVar[Path]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is Family:
                cls.config_type = get_args(base)[0]
        if "name" in cls.__dict__ and "default_config" not in cls.__dict__:
            cls.default_config = Path(inspect.getfile(cls)).with_name(f"{cls.name}.yaml")

    # --- configuration -------------------------------------------------------------------
    def load_config(self, path: Path | None = None, profile: str = "quick") -> ConfigT:
        """The family config at ``path`` (default: the family's YAML) with a profile applied,
        its model entries resolved and checked."""
        config = self.config_type.model_validate(read_profile(path or self.default_config, profile))
        if path:
            config = config.resolve_paths(Path(path).resolve().parent)
        self.check(config, config.runs())  # type: ignore[arg-type]
        return config  # type: ignore[return-value]

    @abstractmethod
    def tasks(self, config: ConfigT) -> list[str]:
        """The config's task names: each has its own data table and experiment."""

    def select_tasks(self, config: ConfigT, name: str | None) -> list[Task[ConfigT]]:
        """The tasks to run: ``name`` alone, or every task of the config when it is None."""
        names = self.tasks(config)
        if name is not None and name not in names:
            raise UserError(f"unknown task {name!r} for {self.name}; valid tasks: {names}")
        return [Task(config, task) for task in names if name in (None, task)]

    @abstractmethod
    def model_names(self) -> list[str]:
        """Every model name a config may list (the family's model registry)."""

    def check(self, config: ConfigT, runs: list[RunT]) -> None:
        """Config problems found before any data is read (``UserError`` naming them)."""
        known = set(self.model_names())
        unknown = sorted({run.name for run in runs} - known)
        if unknown:
            raise UserError(f"unknown {self.name} model(s) {unknown}; valid names: {sorted(known)}")

    @abstractmethod
    def baseline_runs(self, config: ConfigT, runs: list[RunT]) -> list[RunT]:
        """The family's baselines that score ``runs``: one per registered model among them."""

    def is_baseline(self, run: RunT) -> bool:
        """Whether a run is one of the family's baselines."""
        return run.name in self.baselines

    def registered_model(self, task: Task[ConfigT], run: RunT) -> str:
        """The registry name a run's model competes under: ``<family>-<task>[-variant]``."""
        return f"{self.name}-{task.name}"

    def gate(self, config: ConfigT, run: RunT) -> Gate:
        """The gate of the registered model ``run`` competes for: the configured metric,
        direction and margin, and the baseline's score to beat as well."""
        return Gate.of(config.gate, self.floor_metric, self.baselines[0])

    # --- data ----------------------------------------------------------------------------
    @abstractmethod
    def load_table(self, task: Task[ConfigT]) -> pd.DataFrame:
        """The task's raw table from its source (a package, a user's file)."""

    def read_raw(self, path: Path, task: Task[ConfigT]) -> pd.DataFrame:
        """Read an ingested raw table back, with its types: by default every column as text,
        where only an empty field is missing (a review or a sentence may say "NA")."""
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])

    @abstractmethod
    def validate(self, frame: pd.DataFrame, task: Task[ConfigT]) -> ValidationReport:
        """Run the family's Great Expectations suite on a raw table."""

    def drift_statistics(
        self, reference: pd.DataFrame, current: pd.DataFrame, task: Task[ConfigT]
    ) -> list[DriftStatistic]:
        """How new raw data differs from the data the champion learned from (both as
        ``read_raw`` gives them), with ``components.core.drift``'s statistics; the config's
        ``drift`` thresholds judge them. By default none: the suite alone guards the data."""
        return []

    @abstractmethod
    def prepare(self, frame: pd.DataFrame, task: Task[ConfigT], data: DataVersion) -> PreparedT:
        """Turn a validated table into what every model needs (preprocessors fitted on train)."""

    def unfit_runs(self, prepared: PreparedT, runs: list[RunT]) -> dict[str, str]:
        """Runs that cannot train on this data (run key -> why, with the numbers), found
        before any training; the others go on."""
        return {}

    # --- models --------------------------------------------------------------------------
    # Model name -> the fields of the config's shared ``architecture`` section its network
    # reads; a model's run logs only those (a family whose models all read every field, or
    # that has no such section, leaves it empty).
    architecture_reads: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    def run_params(self, prepared: PreparedT, run: RunT) -> dict[str, Any]:
        """Params logged on a model run, nested (flattened for MLflow): by default the run's
        own fields, of the architecture only what its model reads; families add what the
        model really used on this data."""
        params = {"model": run.name} | run.model_dump(mode="json", exclude={"name"})
        reads = self.architecture_reads.get(run.name)
        if reads is not None and isinstance(params.get("architecture"), dict):
            params["architecture"] = {
                field: value for field, value in params["architecture"].items() if field in reads
            }
        return params

    @abstractmethod
    def fit(self, prepared: PreparedT, run: RunT, backup_dir: Path, callbacks: list[Any]) -> Fitted:
        """Build and fit the model a run names; resumable through ``backup_dir``."""

    @abstractmethod
    def log_model(self, prepared: PreparedT, fitted: Fitted[ModelT]) -> LoggedModel:
        """Log a fitted model as a pyfunc (raw inputs in, user units out) on the active run,
        with raw test input as its example."""

    @abstractmethod
    def score(self, prepared: PreparedT, run: RunT, model: ModelT) -> Scores:
        """A model's metrics on the test split (the family's pyfunc wrapper, loaded or in
        memory): what the gate compares, for a new model and for a champion alike."""

    @abstractmethod
    def report(
        self,
        prepared: PreparedT,
        run: RunT,
        model: ModelT,
        scores: Scores,
        reference: dict[str, float] | None,
        out_dir: Path,
    ) -> Evaluation:
        """What a run logs beside its scores: the baseline's (``reference``: its metrics, None
        for the baseline itself) and the plots and tables written under ``out_dir``."""

    # --- studies (optional) --------------------------------------------------------------
    def study_runs(self, config: ConfigT, study: str, model: str) -> dict[str, RunT]:
        """Variant name -> run of one model, for a study the family declares."""
        raise UserError(f"no {study!r} study for {self.name!r}; its studies: {self.studies}")

    def summarize_study(
        self, study: str, trials: dict[str, str], title: str, parent_run_id: str
    ) -> pd.DataFrame:
        """Compare a study's trial runs (variant -> run id) on the parent run; return a table."""
        raise UserError(f"no {study!r} study for {self.name!r}; its studies: {self.studies}")


AnyFamily = Family[Any, Any, Any, Any]  # a family whichever it is (the shared stages' view)
