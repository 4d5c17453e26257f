"""The stages every family shares: ingest, validate, check drift, train, evaluate, rescore.

Each is a plain function over the family contract; the flow in ``pipelines`` orchestrates them.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from components.core import intake
from components.core.config import DriftConfig, ResolvedRun, config_digest, flatten
from components.core.contract import AnyFamily, Evaluation, Prepared, Scores, Task
from components.core.drift import DriftReport, judge
from components.core.errors import UserError
from components.core.intake import Incoming
from components.core.plots import plot_learning_curves
from components.core.registry import CHAMPION, Candidate, UnreadableModel
from components.core.tracking import fail_orphaned_runs, git_commit, process_tags
from components.core.validation import DataValidationError, ValidationReport
from components.core.versioning import DATA_DIR, checkout_data_version, file_md5

MODEL_URI_TAG = "seqpipe.model_uri"  # the run's logged model, what evaluation and registry load
TRAIN_KEY_TAG = "seqpipe.train_key"  # names the training's backup folder: a rerun resumes both
GATE_METRIC_TAG = "seqpipe.gate_metric"  # the metric the run's registered model is gated on
GATE_DIRECTION_TAG = "seqpipe.gate_direction"  # "greater" or "less" is better
DATASET_CONTEXTS = {"train": "training", "validation": "validation", "test": "test"}
# MLflow checks for a dataset, then inserts it: two models logging the same split at once would
# both insert it (a unique-key error on the SQLite store). Threads of a flow take turns; another
# process's insert is met by trying once more.
_DATASETS_LOCK = threading.Lock()


def experiment_name(family: AnyFamily, task: str) -> str:
    """One experiment per task of a family: its runs share test data, so they compare."""
    return f"{family.name}-{task}"


def ingest(family: AnyFamily, task: Task[Any], workspace: Path) -> Incoming:
    """Stage the task's table as its source holds it now; it becomes current only once it
    passed validation and the drift check (``intake.accept``)."""
    return intake.stage(family.load_table(task), workspace, f"{family.name}-{task.name}")


def read_raw(family: AnyFamily, task: Task[Any], path: str, workspace: Path) -> pd.DataFrame:
    """Read a staged or ingested table (``path`` relative to the workspace) as the family
    types it."""
    return family.read_raw(workspace / path, task)


@dataclass(frozen=True)
class DriftReference:
    """The data new data is compared with: the current champion's, or a version the user
    accepted on purpose after it."""

    label: str  # what it is, for the report ("<registered model> v3's data 1a2b...")
    file_md5: str
    path: Path  # its raw file, readable by the family's ``read_raw``


def drift_reference(
    family: AnyFamily, task: Task[Any], runs: list[ResolvedRun], workspace: Path
) -> DriftReference | None:
    """What the task's new data is checked against; None before the first champion.

    The champion's run records the data version it trained on; its raw file is the current
    one, a kept copy, or checked out from the DVC remote.
    """
    table = f"{family.name}-{task.name}"
    names = {family.registered_model(task, run) for run in runs}
    names |= {family.registered_model(task, run) for run in family.baseline_runs(task.config, runs)}
    client = mlflow.MlflowClient()
    champions = []
    for name in sorted(names):
        try:
            version = client.get_model_version_by_alias(name, CHAMPION)
        except mlflow.exceptions.MlflowException:
            continue
        tags = client.get_run(version.run_id).data.tags if version.run_id else {}
        if "data.file_md5" in tags:
            champions.append((version.creation_timestamp, name, version.version, tags))
    accepted = intake.accepted_record(workspace, table)
    newest = max(champions, key=lambda item: item[0]) if champions else None
    if accepted and (newest is None or _millis(accepted["accepted_at"]) > newest[0]):
        path = intake.accepted_file(workspace, table, accepted["md5"])
        return DriftReference(f"data accepted on {accepted['accepted_at']}", accepted["md5"], path)
    if newest is None:
        return None
    _, name, number, tags = newest
    label = f"{name} v{number}'s data {tags['data.dvc_hash']}"
    current = intake.current_file(workspace, table)
    if current.exists() and file_md5(current) == tags["data.file_md5"]:
        return DriftReference(label, tags["data.file_md5"], current)
    kept = intake.accepted_file(workspace, table, tags["data.file_md5"])
    if kept.exists():
        return DriftReference(label, tags["data.file_md5"], kept)
    into = workspace / ".seqpipe" / "reference" / tags["data.dvc_hash"]
    data_dir = into / DATA_DIR
    if not (data_dir / Path(tags["data.path"]).relative_to(DATA_DIR)).exists():
        data_dir = checkout_data_version(workspace, tags["data.dvc_hash"], into)
    path = data_dir / Path(tags["data.path"]).relative_to(DATA_DIR)
    return DriftReference(label, tags["data.file_md5"], path)


def _millis(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp).timestamp() * 1000)


def check_drift(
    family: AnyFamily,
    task: Task[Any],
    incoming: Incoming,
    reference: DriftReference | None,
    workspace: Path,
) -> DriftReport:
    """The family's drift statistics of the staged data against the reference, judged by
    the config's thresholds (no statistics before a first champion, or for the same data)."""
    config: DriftConfig = task.config.drift
    if reference is None:
        return DriftReport("none: no champion yet", incoming.file_md5)
    if reference.file_md5 == incoming.file_md5 or not config.enabled:
        return DriftReport(reference.label, incoming.file_md5)
    before = family.read_raw(reference.path, task)
    after = read_raw(family, task, incoming.path, workspace)
    statistics = family.drift_statistics(before, after, task)
    return judge(statistics, config, reference.label, incoming.file_md5)


def validate(family: AnyFamily, task: Task[Any], frame: pd.DataFrame, report_dir: Path) -> Path:
    """Run the family suite; write its JSON result; raise ``DataValidationError`` on failure."""
    return write_report(family.validate(frame, task), report_dir)


def write_report(report: ValidationReport, report_dir: Path) -> Path:
    """Write a suite's result, as GX's JSON and as a readable table (``validation.md``);
    raise ``DataValidationError`` when the data failed it."""
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / "validation.json"
    path.write_text(report.to_json())
    (report_dir / "validation.md").write_text(report.to_markdown())
    if not report.success:
        raise DataValidationError(report)
    return path


def provenance_tags(
    family: AnyFamily,
    prepared: Prepared[Any],
    run: ResolvedRun,
    project_dir: Path,
    parent_run_id: str | None = None,
) -> dict[str, str]:
    """Tags every model run carries: what it is, what data, code and config produced it, and
    the pipeline run it nests under."""
    config, data = prepared.config, prepared.data
    parent = {"mlflow.parentRunId": parent_run_id} if parent_run_id else {}
    gate = family.gate(config, run)
    return {
        "seqpipe.family": family.name,
        "seqpipe.kind": "model",
        "seqpipe.task": prepared.task.name,
        "seqpipe.model": run.name,
        "seqpipe.baseline": str(family.is_baseline(run)).lower(),
        "seqpipe.registered_model": family.registered_model(prepared.task, run),
        # The gate this run competes under: leaderboards rank by it without the config.
        GATE_METRIC_TAG: gate.metric,
        GATE_DIRECTION_TAG: "greater" if gate.greater_is_better else "less",
        **parent,
        "seqpipe.profile": config.profile,
        "data.dvc_hash": data.dvc_hash,
        "data.file_md5": data.file_md5,
        "data.path": data.path,
        "git.commit": git_commit(project_dir),
        "config.digest": config_digest(config),
        **process_tags(),
    }


def log_datasets(family: AnyFamily, prepared: Prepared[Any]) -> None:
    """Log each split as an MLflow dataset (the UI's Dataset column): named by task and split,
    its digest made of the raw file's md5 and the split (one per split of a data version), its
    source the DVC-tracked file."""
    import hashlib

    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.pandas_dataset import from_pandas

    data = prepared.data
    with warnings.catch_warnings():
        # MLflow warns about ambiguous local sources and integer columns; neither applies here.
        warnings.simplefilter("ignore", UserWarning)
        source = resolve_dataset_source(data.path)
        for split, frame in prepared.splits().items():
            dataset = from_pandas(
                frame,
                source=source,
                name=f"{family.name}-{prepared.task.name}-{split}",
                # The raw file's version and the split: one digest per split of one version.
                digest=hashlib.md5(f"{data.file_md5}:{split}".encode()).hexdigest()[:12],
            )
            context = DATASET_CONTEXTS.get(split, split)
            with _DATASETS_LOCK:
                try:
                    mlflow.log_input(dataset, context=context, tags={"dvc_hash": data.dvc_hash})
                except mlflow.exceptions.MlflowException as error:
                    # SQLite says "UNIQUE constraint failed", PostgreSQL "duplicate key value
                    # violates unique constraint" (through a tracking server's REST error).
                    if "unique constraint" not in str(error).lower():
                        raise
                    # Another process inserted it first: it exists now, this links to it.
                    mlflow.log_input(dataset, context=context, tags={"dvc_hash": data.dvc_hash})


def train(
    family: AnyFamily,
    prepared: Prepared[Any],
    run: ResolvedRun,
    experiment_id: str,
    parent_run_id: str | None,
    backup_dir: Path,
    project_dir: Path,
    callbacks: list[Any] | None = None,
    log_model: bool = True,
    extra_tags: dict[str, str] | None = None,
) -> str:
    """Fit one model in its own MLflow run: params, datasets, per-epoch metrics, curves, model.

    Returns the MLflow run id. With ``log_model=False`` (study trials) the run is scored right
    away on the in-memory model instead of logging it.
    """
    from components.core.training import EpochMetrics  # Keras: loaded by training only

    tags = provenance_tags(family, prepared, run, project_dir, parent_run_id)
    tags |= {TRAIN_KEY_TAG: backup_dir.name} | (extra_tags or {})
    # A run cut short (killed, failed) resumes in its own MLflow run, as Keras resumes its
    # epochs from ``backup_dir``: the learning curve then holds every epoch. A RUNNING run is
    # another flow's, live (this machine's orphans were failed when the flow started): two
    # flows sharing a tracking server must never write to one run. A run of this machine whose
    # process died (a worker killed mid-training) is not live: it is failed first, and resumed.
    fail_orphaned_runs([experiment_id])
    unfinished = mlflow.MlflowClient().search_runs(
        [experiment_id],
        f"tags.`{TRAIN_KEY_TAG}` = '{backup_dir.name}' and attributes.status != 'FINISHED' "
        "and attributes.status != 'RUNNING'",
        max_results=1,
    )
    resumed = {"run_id": unfinished[0].info.run_id} if unfinished else {}
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=run.key, tags=tags, **resumed
    ) as active:
        if resumed:
            mlflow.set_tags(tags)
        params = family.run_params(prepared, run)
        mlflow.log_params(flatten(params))
        mlflow.log_dict(params, "config.json")
        log_datasets(family, prepared)
        started = time.perf_counter()
        try:
            fitted = family.fit(prepared, run, backup_dir, [EpochMetrics(), *(callbacks or [])])
        except Exception as error:  # the run ends FAILED; say why where users look
            mlflow.set_tag("seqpipe.error", f"{type(error).__name__}: {error}"[:5000])
            raise
        # Training time beside the scores it bought (a resumed run: its last attempt's time).
        mlflow.log_metric("train_seconds", time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as scratch:
            history = recorded_history(active.info.run_id, list(fitted.history))
            curves = {"learning_curves": history} | {
                f"{phase}_curves": history for phase, history in fitted.phases.items()
            }
            for name, history in curves.items():
                if history:
                    title = f"{prepared.task.name} {run.key}: {name.replace('_', ' ')}"
                    path = Path(scratch) / f"{name}.png"
                    mlflow.log_artifact(str(plot_learning_curves(history, title, path)))
        if log_model:
            mlflow.set_tag(MODEL_URI_TAG, family.log_model(prepared, fitted).uri)
        else:
            _log_evaluation(family, prepared, run, fitted.model, None)
        return active.info.run_id


def recorded_history(run_id: str, names: list[str]) -> dict[str, list[float]]:
    """Each metric's per-epoch values as the run recorded them, every epoch of a resumed
    training included (Keras' own history starts at the epoch it resumed from)."""
    client = mlflow.MlflowClient()
    history = {}
    for name in names:
        by_step = {point.step: point.value for point in client.get_metric_history(run_id, name)}
        history[name] = [by_step[step] for step in sorted(by_step)]
    return history


def logged_model_uri(run_id: str) -> str:
    """The ``models:/`` URI of the model a training run logged."""
    return mlflow.get_run(run_id).data.tags[MODEL_URI_TAG]


def evaluate(
    family: AnyFamily,
    prepared: Prepared[Any],
    run: ResolvedRun,
    run_id: str,
    reference: dict[str, float] | None,
) -> tuple[Candidate, dict[str, float]]:
    """Score the logged model on the test split and log metrics and plots on its run.

    The model is loaded back from MLflow, so the numbers describe what will be registered.
    Returns the registry candidate and the metrics.
    """
    uri = logged_model_uri(run_id)
    model = mlflow.pyfunc.load_model(uri).unwrap_python_model()
    with mlflow.start_run(run_id=run_id):
        metrics, evaluated_on = _log_evaluation(family, prepared, run, model, reference)
    gate = family.gate(prepared.config, run)
    candidate = Candidate(
        run_id=run_id,
        run_name=run.key,
        model_uri=uri,
        registered_model=family.registered_model(prepared.task, run),
        score=gate_score(metrics, gate.metric, run, prepared),
        # Without its baseline's scores (the baseline failed) a model cannot pass the gate.
        baseline_score=metrics.get(gate.floor_metric, float("nan")),
        baseline_name=gate.floor_model,
        evaluation_key=evaluation_key(prepared, evaluated_on),
        is_baseline=family.is_baseline(run),
        data_version=prepared.data.dvc_hash,
    )
    return candidate, metrics


def evaluation_key(prepared: Prepared[Any], evaluated_on: dict[str, Any]) -> str:
    """Identifies the test data a score was computed on: equal keys, comparable scores."""
    key = {"data": prepared.data.file_md5, "task": prepared.task.name} | evaluated_on
    # Readable where the registry shows it as a version tag; deterministic, so it compares.
    shown = {
        name: value if isinstance(value, str | int | float) else json.dumps(value, sort_keys=True)
        for name, value in key.items()
    }
    return "; ".join(f"{name} {value}" for name, value in sorted(shown.items()))


def assess(
    family: AnyFamily,
    prepared: Prepared[Any],
    run: ResolvedRun,
    model: Any,
    reference: dict[str, float] | None,
    out_dir: Path,
) -> tuple[Evaluation, Scores]:
    """A model's scores and report as one evaluation (every metric and file a run logs),
    and the scores themselves."""
    scores = family.score(prepared, run, model)
    report = family.report(prepared, run, model, scores, reference, out_dir)
    return Evaluation(scores.metrics | report.metrics, report.artifacts), scores


def _log_evaluation(
    family: AnyFamily,
    prepared: Prepared[Any],
    run: ResolvedRun,
    model: Any,
    reference: dict[str, float] | None,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Assess a model and log it on the active run; the metrics and what they were computed
    on."""
    with tempfile.TemporaryDirectory() as scratch:
        evaluation, scores = assess(family, prepared, run, model, reference, Path(scratch))
        mlflow.log_metrics(evaluation.metrics)
        for path in evaluation.artifacts:
            mlflow.log_artifact(str(path))
    return evaluation.metrics, scores.evaluated_on


def rescore(family: AnyFamily, prepared: Prepared[Any], run: ResolvedRun, model_uri: str) -> float:
    """A registered model's gate metric on this flow's test data (a champion trained on
    other data): the same ``score`` as a new model's.

    Raises:
        UnreadableModel: if the version cannot be loaded, so the gate can replace it.
    """
    try:
        model = mlflow.pyfunc.load_model(model_uri).unwrap_python_model()
    except Exception as error:  # whatever the loader raises, the version cannot serve
        raise UnreadableModel(
            f"{model_uri} cannot be loaded ({type(error).__name__}: {str(error)[:300]}); "
            "a version saved by an earlier seqpipe is retrained, not read"
        ) from error
    metric = family.gate(prepared.config, run).metric
    return gate_score(family.score(prepared, run, model).metrics, metric, run, prepared)


def gate_score(
    metrics: dict[str, float], metric: str, run: ResolvedRun, prepared: Prepared[Any]
) -> float:
    """The gate metric among a model's metrics.

    Raises:
        UserError: if the configured gate metric is not one the family scores.
    """
    if metric not in metrics:
        raise UserError(
            f"gate metric {metric!r} is not scored for {run.key} on {prepared.task.name}; "
            f"scored: {sorted(metrics)}; set gate.metric to one of them"
        )
    return metrics[metric]
