"""What the flows share: workspace, cache keys and the MLflow pipeline run of one task."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow

from components.core import tracking
from components.core.config import FamilyConfig, config_digest
from components.core.contract import AnyFamily, Family
from components.core.errors import UserError
from components.core.stages import experiment_name

PROJECT_DIR = Path(__file__).resolve().parents[1]


def workspace_dir() -> Path:
    """Where data/, mlruns/ and DVC live: ``SEQPIPE_WORKSPACE`` or the current directory."""
    return Path(os.environ.get("SEQPIPE_WORKSPACE") or Path.cwd()).resolve()


@contextmanager
def tracking_server(uri: str | None) -> Iterator[None]:
    """``MLFLOW_TRACKING_URI`` set to ``uri`` (when given) for a flow's duration, as a
    deployment's parameter names its server; restored afterwards."""
    if not uri:
        yield
        return
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = previous


@dataclass(frozen=True)
class RunContext:
    """Where a flow run writes, fixed at the flow entry and handed to every task."""

    family: str
    workspace: Path
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    # Identifies this very store: a recreated mlruns/ at the same URI gets a new one, so cached
    # results never point at runs that no longer exist.
    store: str = ""

    @property
    def backups(self) -> Path:
        return self.workspace / ".seqpipe" / "backups"


# Bumped when what a cached stage returns changes shape, or what its runs record (params,
# metric names): results of an earlier version are then computed and logged again rather
# than read back into the new classes or ranked beside runs named otherwise.
CACHE_VERSION = 3


def cache_key(*parts: Any) -> str:
    """A short stable key from the data version, config and store a result depends on."""
    payload = "|".join(str(part) for part in (CACHE_VERSION, *parts))
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def by_key(context: Any, parameters: dict[str, Any]) -> str:
    """Prefect cache-key function: tasks receive their key as the ``key`` parameter."""
    return parameters["key"]


def by_key_and_run(context: Any, parameters: dict[str, Any]) -> str:
    """Prefect cache-key function of a stage on one trained run (``run_id``, resolved from the
    training's future): a flow that trained its own run, racing another flow on the same data,
    evaluates that run rather than reading back the other flow's scores."""
    return cache_key(parameters["key"], parameters["run_id"])


@contextmanager
def pipeline_run(
    family: Family, config: FamilyConfig, task: str, workspace: Path, run_name: str = ""
) -> Iterator[RunContext]:
    """An MLflow parent run for one task of a flow run; its model runs nest under it.

    The parent run ends FAILED when a stage raises, with whatever it logged (the validation
    report among it) kept for the UI.
    """
    uri = tracking.configure(workspace)
    experiment_id = tracking.ensure_experiment(
        experiment_name(family, task), workspace, {"seqpipe.family": family.name}
    )
    tracking.fail_orphaned_runs([experiment_id])  # runs of a process killed mid-run
    tags = {
        "seqpipe.family": family.name,
        "seqpipe.task": task,
        "seqpipe.kind": "pipeline",
        "seqpipe.profile": config.profile,
        "git.commit": tracking.git_commit(PROJECT_DIR),
        "config.digest": config_digest(config),
        **tracking.process_tags(),
    }
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=run_name or f"{family.name}-{task}-pipeline",
        tags=tags,
    ) as parent:
        # The whole config as an artifact; params belong to the model runs, which log what
        # each model used (the runs table would otherwise mix both).
        mlflow.log_dict(config.model_dump(mode="json"), "config.json")
        created = mlflow.MlflowClient().get_experiment(experiment_id).creation_time
        store = f"{uri}#{experiment_id}@{created}"
        yield RunContext(family.name, workspace, uri, experiment_id, parent.info.run_id, store)


def recorded_config(family: AnyFamily, run: Any) -> FamilyConfig[Any]:
    """The whole config a model run's pipeline run logged (``config.json`` of its parent).

    Raises:
        UserError: if the run nests under no pipeline run.
    """
    parent = run.data.tags.get("mlflow.parentRunId")
    if not parent:
        raise UserError(f"run {run.info.run_id} has no pipeline run holding its config")
    return family.config_type.model_validate(
        mlflow.artifacts.load_dict(f"runs:/{parent}/config.json")
    )
