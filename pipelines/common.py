"""Pieces every family flow shares: workspace, cache keys, the pipeline run, the registry stage."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from components import registry, tracking
from components.config import GateConfig, config_digest, flatten

PROJECT_DIR = Path(__file__).resolve().parents[1]


def workspace_dir() -> Path:
    """Where data/, mlruns/ and DVC live: ``SEQPIPE_WORKSPACE`` or the current directory."""
    return Path(os.environ.get("SEQPIPE_WORKSPACE") or Path.cwd()).resolve()


@dataclass(frozen=True)
class RunContext:
    """Where a flow run writes, fixed at the flow entry and handed to every task."""

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


def cache_key(*parts: Any) -> str:
    """A short stable key from the data version, config and store a result depends on."""
    return hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()[:24]


def by_key(context: Any, parameters: dict[str, Any]) -> str:
    """Prefect cache-key function: tasks receive their key as the ``key`` parameter."""
    return parameters["key"]


@contextmanager
def pipeline_run(family: str, config: Any, workspace: Path) -> Iterator[RunContext]:
    """An MLflow parent run for one flow run; its model runs nest under it.

    The parent run ends FAILED when a stage raises, with whatever it logged (the validation
    report among it) kept for the UI.
    """
    uri = tracking.configure(workspace)
    experiment_id = tracking.ensure_experiment(family, workspace)
    tags = {
        "seqpipe.family": family,
        "seqpipe.kind": "pipeline",
        "seqpipe.profile": config.profile,
        "git.commit": tracking.git_commit(PROJECT_DIR),
        "config.digest": config_digest(config),
    }
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"{family}-pipeline", tags=tags
    ) as parent:
        mlflow.log_dict(config.model_dump(mode="json"), "config.json")
        mlflow.log_params(flatten(config.model_dump(mode="json", exclude={"models"})))
        created = mlflow.MlflowClient().get_experiment(experiment_id).creation_time
        store = f"{uri}#{experiment_id}@{created}"
        yield RunContext(workspace, uri, experiment_id, parent.info.run_id, store)


@task(name="register", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def register_candidates(
    candidates: list[registry.Candidate],
    gate_config: GateConfig,
    rescore: Callable[[registry.Candidate, str], float],
    tracking_uri: str,
) -> list[registry.GateDecision]:
    """Register every candidate as challenger; gate them best first so one flow moves the
    champion at most once per registered model."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    logger = get_run_logger()
    ordered = sorted(candidates, key=lambda c: c.score, reverse=not gate_config.greater_is_better)
    versions = {c.run_id: registry.find_or_register(c) for c in ordered}
    decisions = []
    for item in sorted(candidates, key=lambda c: c.score, reverse=gate_config.greater_is_better):
        decision = registry.gate(
            item, versions[item.run_id], gate_config, lambda uri, item=item: rescore(item, uri)
        )
        logger.info(
            "%s v%s: %s (%s)",
            decision.model_name,
            decision.version,
            "promoted to champion" if decision.promoted else "kept as challenger",
            decision.reason,
        )
        decisions.append(decision)
    return decisions


def log_report(path: Path, run_id: str, artifact_dir: str = "validation") -> None:
    """Attach a report file to a run."""
    mlflow.MlflowClient().log_artifact(run_id, str(path), artifact_dir)


def train_in_context(
    train: Callable[..., Any],
    prepared: Any,
    config: Any,
    run: Any,
    context: RunContext,
    key: str,
    label: str,
) -> Any:
    """Call a family's training stage inside a task: the flow's store and parent run, a
    resumable backup folder named by ``key``, and per-epoch progress in the task's log.

    Every family's stage takes ``(prepared, config, run, experiment_id, parent_run_id,
    backup_dir=, project_dir=, callbacks=)``.
    """
    from components.training import EpochLogger  # Keras: loaded by training tasks only

    mlflow.set_tracking_uri(context.tracking_uri)
    return train(
        prepared,
        config,
        run,
        context.experiment_id,
        context.parent_run_id,
        backup_dir=context.backups / key,
        project_dir=PROJECT_DIR,
        callbacks=[EpochLogger(label, get_run_logger())],
    )


def validate_and_report(check: Callable[[Path], Path], context: RunContext, key: str) -> str:
    """Run a validation stage writing into a report folder named by ``key``; the report is
    attached to the pipeline run whether the data passed or not. Returns the report's path.

    ``check`` gets the folder and raises ``DataValidationError`` when the data fails.
    """
    report_dir = context.workspace / ".seqpipe" / "validation" / key
    try:
        return str(check(report_dir))
    finally:
        report = report_dir / "validation.json"
        if report.exists():
            log_report(report, context.parent_run_id)
