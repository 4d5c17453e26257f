"""Typed configuration shared by every family: one YAML file per family, with profiles."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field

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
    loss: Literal["huber", "mse", "mae"] = "huber"
    optimizer: OptimizerConfig = OptimizerConfig()
    seed: int = 42  # seeds Python, NumPy and TensorFlow for reproducible runs
    max_train_batches: int | None = Field(None, ge=1)  # caps batches per epoch (quick runs)


class GateConfig(StrictModel):
    """When a challenger may replace the champion."""

    metric: str  # metric logged on the run that decides
    greater_is_better: bool = False
    margin: float = Field(0.0, ge=0)  # relative improvement required, e.g. 0.01 = 1 %


class ResolvedRun(StrictModel):
    """A model run with every field decided: what one MLflow run trains."""

    name: str  # a key of the family's model registry
    training: TrainingConfig

    @property
    def key(self) -> str:
        """A readable name, unique within a task, used as the MLflow run name."""
        return self.name


class FamilyConfig(StrictModel):
    """What every family config holds besides its own sections."""

    profile: str = "quick"
    gate: GateConfig
    parallel_models: int = Field(1, ge=1)  # models trained at once

    def resolve_paths(self, base: Path) -> Self:
        """This config with relative file paths taken from ``base`` (the config's folder)."""
        return self


SectionT = TypeVar("SectionT", bound="StrictModel")


def path_resolved(section: SectionT, base: Path) -> SectionT:
    """``section`` with its relative ``path`` (a user's file) taken from ``base``."""
    path = section.path
    if path is None or path.is_absolute():
        return section
    return section.model_copy(update={"path": base / path})


def select_runs(runs: list[Any], names: list[str] | None) -> list[Any]:
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
    """Read a family YAML file and apply one of its ``profiles`` on top of the base keys.

    Raises:
        FileNotFoundError: if the file does not exist.
        UserError: if the profile is not defined in the file.
    """
    document = yaml.safe_load(Path(path).read_text()) or {}
    profiles = document.pop("profiles", {}) or {}
    if profile not in profiles:
        raise UserError(
            f"profile {profile!r} is not defined in {path}; valid profiles: {sorted(profiles)}"
        )
    merged = deep_merge(document, profiles[profile] or {})
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
