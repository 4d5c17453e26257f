"""Typed configuration shared by every family: one YAML file per family, with profiles."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from components.core.errors import UserError

OptimizerName = Literal["sgd", "momentum", "adagrad", "rmsprop", "adam"]


class StrictModel(BaseModel):
    """Base for config objects: unknown keys are errors, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class OptimizerConfig(StrictModel):
    """Which optimizer trains the network and how fast."""

    name: OptimizerName = "adam"  # sgd | momentum (SGD with momentum) | adagrad | rmsprop | adam
    learning_rate: float = Field(1e-3, gt=0)  # step size
    momentum: float = Field(0.9, ge=0, lt=1)  # used by "momentum" only


class TrainingConfig(StrictModel):
    """How a Keras model is fitted."""

    epochs: int = Field(20, ge=1)  # upper bound; early stopping usually ends sooner
    batch_size: int = Field(32, ge=1)
    patience: int = Field(5, ge=1)  # epochs without validation improvement before stopping
    # What the network minimizes; each family's training config narrows the choice.
    loss: Literal["huber", "mse", "mae", "crossentropy"] = "mse"
    optimizer: OptimizerConfig = OptimizerConfig()
    seed: int = 42  # seeds Python, NumPy and TensorFlow for reproducible runs
    max_train_batches: int | None = Field(None, ge=1)  # caps batches per epoch (quick runs)


class GateConfig(StrictModel):
    """When a challenger may replace the champion."""

    metric: str  # metric logged on the run that decides
    greater_is_better: bool = False
    margin: float = Field(0.0, ge=0)  # relative improvement required, e.g. 0.01 = 1 %


# What a drift statistic measures decides which threshold judges it
# (``components.core.drift``):
# - distribution: the two-sample Kolmogorov-Smirnov statistic, the largest gap between the
#   two empirical CDFs (0 identical, 1 disjoint), whatever the sample sizes;
# - shares: the Jensen-Shannon distance (base 2) between category shares (0 same, 1 disjoint);
# - level, scale: |ln(current / reference)| of the mean, of the standard deviation (0.69: x2);
# - rate: how much a rate rose, e.g. the share of words the champion's vocabulary lacks.


class DriftThreshold(StrictModel):
    """From ``warn`` a statistic is reported as a warning; from ``block`` it stops the run."""

    warn: float = Field(ge=0)
    block: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> DriftThreshold:
        if self.block < self.warn:
            raise ValueError(f"block ({self.block}) must be at least warn ({self.warn})")
        return self


class DriftConfig(StrictModel):
    """How new data is compared with the data the current champion was trained on.

    The defaults let the normal change of a growing source pass (a new month of a seasonal
    series, more reviews of the same kind) and stop a source that changed its nature (a level
    tripled, labels swapped, another language).
    """

    enabled: bool = True
    distribution: DriftThreshold = DriftThreshold(warn=0.2, block=0.5)
    shares: DriftThreshold = DriftThreshold(warn=0.15, block=0.35)
    level: DriftThreshold = DriftThreshold(warn=0.2, block=0.5)  # 0.5: x1.65 or /1.65
    scale: DriftThreshold = DriftThreshold(warn=0.4, block=0.9)  # 0.9: x2.5
    rate: DriftThreshold = DriftThreshold(warn=0.05, block=0.2)


class RunnerConfig(StrictModel):
    """Where a flow's models train and are scored: threads of the flow's own process, or the
    workers of a Dask cluster (each model's stages on one worker)."""

    kind: Literal["threads", "dask"] = "threads"
    # The Dask scheduler (kind: dask), e.g. tcp://10.0.0.5:8786. Its workers run this project's
    # environment and reach the tracking server and the workspace (a shared folder).
    address: str | None = None

    @model_validator(mode="after")
    def _addressed(self) -> RunnerConfig:
        if self.kind == "dask" and not self.address:
            raise ValueError("kind: dask needs the scheduler's address (runner.address)")
        return self


class ResolvedRun(StrictModel):
    """A model run with every field decided: what one MLflow run trains."""

    name: str  # a key of the family's model registry
    training: TrainingConfig = TrainingConfig()  # the config's `training` section, if it has one

    @property
    def key(self) -> str:
        """A readable name, unique within a task, used as the MLflow run name."""
        return self.name


RunT = TypeVar("RunT", bound=ResolvedRun)


class FamilyConfig(StrictModel, Generic[RunT]):
    """What every family config holds besides its own sections.

    A family config subclasses ``FamilyConfig[ItsRun]``: each entry of ``models`` names a
    model and may set any field of that run type; a field it leaves out takes the config's
    section of the same name (merged key by key, so ``architecture: {units: 64}`` keeps every
    other architecture key), else the run type's own default.
    """

    run_type: ClassVar[type[ResolvedRun]] = ResolvedRun
    profile: str = "quick"
    gate: GateConfig
    parallel_models: int = Field(1, ge=1)  # models trained at once (runner: threads)
    runner: RunnerConfig = RunnerConfig()
    drift: DriftConfig = DriftConfig()  # new data against the champion's: warn or block
    models: list[dict[str, Any]]  # {name: ..., overrides of the run}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        arguments = cls.__pydantic_generic_metadata__["args"]
        if arguments and isinstance(arguments[0], type):
            cls.run_type = arguments[0]

    def resolve_paths(self, base: Path) -> Self:
        """This config with relative file paths taken from ``base`` (the config's folder):
        the ``path`` of every section (a dataset, or each task of a mapping) that has one."""
        updates: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if _has_path(value):
                updates[name] = path_resolved(value, base)
            elif isinstance(value, dict) and value and all(map(_has_path, value.values())):
                updates[name] = {key: path_resolved(item, base) for key, item in value.items()}
        return self.model_copy(update=updates)

    def resolve(self, entry: Mapping[str, Any], where: str = "model") -> RunT:
        """A model entry with every field decided: the entry over the config's sections.

        Raises:
            UserError: naming ``where`` (e.g. ``models[2]``) and each field that is wrong.
        """
        sections = type(self).model_fields
        defaults = {
            name: _plain(getattr(self, name))
            for name in self.run_type.model_fields
            if name in sections and name != "name"
        }
        # A null is a key left out (configs logged by earlier versions spell them so).
        override = {key: value for key, value in entry.items() if value is not None}
        try:
            return self.run_type.model_validate(deep_merge(defaults, override))  # type: ignore[return-value]
        except ValidationError as error:
            label = f"{where} ({entry.get('name')})" if entry.get("name") else where
            raise UserError(f"invalid {label}:\n" + "\n".join(field_errors(error))) from None

    def runs(self, names: list[str] | None = None) -> list[RunT]:
        """The config's model runs, resolved, restricted to ``names`` (model names or run
        keys) when given."""
        resolved = [self.resolve(entry, f"models[{i}]") for i, entry in enumerate(self.models)]
        return select_runs(resolved, names)


def _has_path(value: Any) -> bool:
    return isinstance(value, StrictModel) and "path" in type(value).model_fields


def _plain(value: Any) -> Any:
    """A config section as the plain data an entry's overrides merge into."""
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def field_errors(error: ValidationError) -> list[str]:
    """One line per invalid field of a pydantic report: where, what, and the value given."""
    return [
        f"  {'.'.join(str(part) for part in item['loc']) or '(top level)'}: {item['msg']}"
        + (f" (got {item['input']!r})" if "input" in item and item["type"] != "missing" else "")
        for item in error.errors()
    ]


SectionT = TypeVar("SectionT", bound="StrictModel")


def named_after_source(data: Any, fallback: str | None) -> Any:
    """A dataset section's raw keys with a ``name`` when they give none: the stem of its
    ``path`` (a user's file or folder), else ``fallback`` (the packaged source's name).

    A user's data must never borrow a packaged dataset's name: its models would be registered
    as that dataset's challengers.
    """
    if not isinstance(data, Mapping) or data.get("name"):
        return data
    path = data.get("path")
    name = Path(str(path)).stem if path else fallback
    return {**data, "name": name.lower()} if name else data


def user_path(path: Path | None, key: str) -> Path:
    """A user's file the config names (its validators require one for a file source).

    Raises:
        UserError: if none is set, naming the config ``key`` to set.
    """
    if path is None:
        raise UserError(f"no file or folder given: set {key}")
    return path


def path_resolved(section: SectionT, base: Path) -> SectionT:
    """``section`` with its relative ``path`` (a user's file) taken from ``base``."""
    path = section.path  # type: ignore[attr-defined]
    if path is None or path.is_absolute():
        return section
    return section.model_copy(update={"path": base / path})


def select_runs(runs: list[RunT], names: list[str] | None) -> list[RunT]:
    """The runs whose model ``name`` or run ``key`` (e.g. ``gru-multi-h14``) is in ``names``
    (all when ``names`` is empty).

    Raises:
        UserError: if a name matches no run (the message lists the valid names and keys).
    """
    if not names:
        return runs
    known = {run.name for run in runs} | {run.key for run in runs}
    unknown = sorted(set(names) - known)
    if unknown:
        raise UserError(
            f"unknown model(s) {unknown} for this config; valid names: "
            f"{sorted({run.name for run in runs})}, or run names: {[run.key for run in runs]}"
        )
    return [run for run in runs if run.name in names or run.key in names]


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` updated by ``override``, merging nested mappings key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_profile(path: Path, profile: str) -> dict[str, Any]:
    """Read a family YAML file and apply one of its ``profiles`` on top of the base keys; a
    file without ``profiles`` (a user's minimal config) is the same under every profile.

    Raises:
        FileNotFoundError: if the file does not exist.
        UserError: if the file has profiles and ``profile`` is not one of them.
    """
    document = yaml.safe_load(Path(path).read_text()) or {}
    profiles = document.pop("profiles", None) or {}
    if profiles and profile not in profiles:
        raise UserError(
            f"profile {profile!r} is not defined in {path}; valid profiles: {sorted(profiles)}"
        )
    merged = deep_merge(document, profiles.get(profile) or {})
    merged["profile"] = profile
    return merged


def config_digest(config: BaseModel) -> str:
    """A stable short hash of a config object, used in cache keys and run tags."""
    payload = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten a nested mapping into dotted keys, as MLflow params want them."""
    flat: dict[str, str] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
    return flat
