"""The one flow every family runs: ingest -> validate -> drift -> accept -> prepare -> train ->
evaluate -> register.

Each stage is a Prefect task over the family contract; the family is a flow parameter, so one
deployment per family of this same flow is all scheduling needs.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import mlflow
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from components.core import intake, registry, stages
from components.core.config import FamilyConfig, ResolvedRun, RunnerConfig
from components.core.contract import AnyFamily, Gate, Prepared, Task
from components.core.drift import DataDriftError, DriftReport, plot_report
from components.core.errors import is_user_error
from components.core.intake import Incoming
from components.core.locks import exclusive
from components.core.registry import Candidate, GateDecision
from components.core.validation import DataValidationError
from components.core.versioning import DataVersion
from components.families import get_family
from pipelines.cluster import batch_size, check_reachable, models_runner, worker_tags
from pipelines.common import (
    PROJECT_DIR,
    RunContext,
    by_key,
    by_key_and_run,
    cache_key,
    pipeline_run,
    tracking_server,
    workspace_dir,
)
from pipelines.flow_artifacts import (
    flow_run_name,
    log_pipeline_summary,
    publish_leaderboard,
    rename_flow_run,
)


class ModelsFailed(RuntimeError):
    """Some models of a flow failed; every other model was evaluated, registered and gated."""

    def __init__(self, failures: dict[str, str], decisions: list[GateDecision]) -> None:
        self.failures = failures
        self.decisions = decisions
        lines = "\n".join(f"  - {name}: {error}" for name, error in failures.items())
        super().__init__(f"{len(failures)} model(s) failed (the others were registered):\n{lines}")


@dataclass(frozen=True)
class Scored:
    """An evaluated model run: what the registry stage needs of it."""

    candidate: Candidate
    metrics: dict[str, float]


# The stage a flow run stops after (``pipeline_flow(until=...)``), in flow order.
Stage = Literal["validate", "evaluate", "register"]
STAGES: tuple[Stage, ...] = get_args(Stage)


def transient_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry condition: never retry the user's errors (bad config or data, a missing file);
    running again cannot fix them."""
    return not is_user_error(state.result(raise_on_failure=False))


@task(
    name="ingest",
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=transient_only,
    cache_policy=NO_CACHE,
)
def ingest_task(family: str, task: Task[Any], workspace: Path) -> Incoming:
    incoming = stages.ingest(get_family(family), task, workspace)
    get_run_logger().info("%s: source read, md5 %s", incoming.table, incoming.file_md5)
    return incoming


@task(name="validate", cache_key_fn=by_key, persist_result=True)
def validate_task(task: Task[Any], incoming: Incoming, context: RunContext, key: str) -> str:
    family = get_family(context.family)
    frame = stages.read_raw(family, task, incoming.path, context.workspace)
    return str(stages.validate(family, task, frame, validation_dir(context, key)))


def validation_dir(context: RunContext, key: str) -> Path:
    """Where the suite's report of one validation (its cache key) is kept."""
    return context.workspace / ".seqpipe" / "validation" / key


@task(name="drift", cache_key_fn=by_key, persist_result=True)
def drift_task(
    task: Task[Any],
    incoming: Incoming,
    reference: stages.DriftReference | None,
    context: RunContext,
    key: str,
) -> DriftReport:
    report = stages.check_drift(
        get_family(context.family), task, incoming, reference, context.workspace
    )
    logger = get_run_logger()
    for item in report.flagged("warn") + report.flagged("block"):
        logger.warning("%s: drift: %s", task.name, item.describe())
    logger.info("%s: drift against %s: %s", task.name, report.reference, report.verdict)
    return report


@task(name="accept", cache_policy=NO_CACHE)
def accept_task(incoming: Incoming, context: RunContext) -> DataVersion:
    data = intake.accept(context.workspace, incoming)
    get_run_logger().info(
        "data/ at DVC hash %s (%s md5 %s)", data.dvc_hash, data.path, data.file_md5
    )
    return data


@task(name="prepare", cache_policy=NO_CACHE)
def prepare_task(task: Task[Any], data: DataVersion, context: RunContext) -> Prepared[Any]:
    family = get_family(context.family)
    frame = stages.read_raw(family, task, data.path, context.workspace)
    return family.prepare(frame, task, data)


@task(
    name="train",
    cache_key_fn=by_key,
    persist_result=True,
    task_run_name="train-{prepared.task.name}-{run.key}",
)
def train_task(prepared: Prepared[Any], run: ResolvedRun, context: RunContext, key: str) -> str:
    return _train(prepared, run, context, key)


def _train(
    prepared: Prepared[Any],
    run: ResolvedRun,
    context: RunContext,
    key: str,
    log_model: bool = True,
    extra_tags: dict[str, str] | None = None,
) -> str:
    """The shared training stage in the flow's store and pipeline run, with a resumable backup
    folder named by ``key`` and per-epoch progress in the task's log."""
    from components.core.training import EpochLogger  # Keras: loaded by training tasks only

    check_reachable(context.tracking_uri, context.workspace)  # on a worker: fail at once
    mlflow.set_tracking_uri(context.tracking_uri)
    return stages.train(
        get_family(context.family),
        prepared,
        run,
        context.experiment_id,
        context.parent_run_id,
        backup_dir=context.backups / key,
        project_dir=PROJECT_DIR,
        callbacks=[EpochLogger(f"{prepared.task.name} {run.key}", get_run_logger())],
        log_model=log_model,
        extra_tags=worker_tags() | (extra_tags or {}),
    )


@task(
    name="evaluate",
    cache_key_fn=by_key_and_run,
    persist_result=True,
    task_run_name="evaluate-{prepared.task.name}-{run.key}",
)
def evaluate_task(
    prepared: Prepared[Any],
    run: ResolvedRun,
    run_id: str,
    reference: dict[str, float] | None,
    context: RunContext,
    key: str,
) -> Scored:
    mlflow.set_tracking_uri(context.tracking_uri)
    family = get_family(context.family)
    candidate, metrics = stages.evaluate(family, prepared, run, run_id, reference)
    get_run_logger().info(
        "%s %s: %s %.4f (baseline %.4f)",
        prepared.task.name,
        run.key,
        family.gate(prepared.config, run).metric,
        candidate.score,
        candidate.baseline_score,
    )
    return Scored(candidate, metrics)


@task(
    name="register",
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=transient_only,
    cache_policy=NO_CACHE,
)
def register_task(
    prepared: Prepared[Any],
    scored: dict[str, tuple[ResolvedRun, Candidate]],
    context: RunContext,
) -> list[GateDecision]:
    """Register the flow's pick per registered model as challenger and gate it."""
    mlflow.set_tracking_uri(context.tracking_uri)
    mlflow.set_registry_uri(context.tracking_uri)
    family = get_family(context.family)

    def rescore(item: Candidate, model_uri: str) -> float:
        return stages.rescore(family, prepared, scored[item.run_id][0], model_uri)

    # Each registered model is gated by its own gate (metric, direction, margin).
    by_model: dict[str, list[Candidate]] = {}
    gates = {}
    for run, candidate in scored.values():
        by_model.setdefault(candidate.registered_model, []).append(candidate)
        gates[candidate.registered_model] = family.gate(prepared.config, run)
    decisions = []
    # Two flows of one workspace gate one after the other: each sees the other's champion.
    with exclusive(context.workspace, "registry"):
        for name in sorted(by_model):
            # ... and so do flows of other machines sharing the tracking server.
            with registry.gate_lock(name):
                tags, description = registered_model_card(family.name, prepared, gates[name])
                registry.describe_registered_model(name, tags, description)
                decisions += registry.register_best(by_model[name], gates[name], rescore)
                registry.sync_champion_tag(name)  # also after an alias moved by hand
    logger = get_run_logger()
    for decision in decisions:
        logger.info(
            "%s v%s: %s (%s)",
            decision.registered_model,
            decision.version,
            "promoted to champion" if decision.promoted else "kept as challenger",
            decision.reason,
        )
    return decisions


def registered_model_card(
    family: str, prepared: Prepared[Any], gate: Gate
) -> tuple[dict[str, str], str]:
    """What a registered model's page says of it: tags and a short description."""
    direction = "higher" if gate.greater_is_better else "lower"
    tags = {
        "seqpipe.family": family,
        "seqpipe.task": prepared.task.name,
        "seqpipe.data": prepared.data.path,
        "gate.metric": gate.metric,
        "gate.direction": f"{direction} is better",
        "gate.baseline": gate.floor_model,
    }
    description = (
        f"{family} models of the task {prepared.task.name}, trained on {prepared.data.path}. "
        f"The champion is the version with the best {gate.metric} ({direction} is better) on "
        f"the test split among those that beat {gate.floor_model}"
        + (f" by {gate.margin:.0%}" if gate.margin else "")
        + "; each version's description says why the gate promoted it or not."
    )
    return tags, description


def load_checked(
    family: AnyFamily, profile: str, config_path: str | None, models: list[str] | None
) -> tuple[FamilyConfig[Any], list[ResolvedRun]]:
    """The config with a profile applied and its selected runs, checked before any work."""
    config = family.load_config(Path(config_path) if config_path else None, profile)
    return config, config.runs(models)


def _validated(
    task: Task[Any], runs: list[ResolvedRun], context: RunContext, logger: Any
) -> Prepared[Any]:
    """Ingest, validate, check drift, accept and prepare one task under its pipeline run.

    Data that fails the suite or drifts past a blocking threshold is set aside with its
    reports; nothing of it becomes current, no model trains on it and no alias moves.
    """
    family = get_family(context.family)
    incoming = ingest_task(context.family, task, context.workspace)
    mlflow.set_tags({"data.incoming_md5": incoming.file_md5})
    key = cache_key(
        "validate", context.family, task.name, incoming.file_md5, task.config, context.store
    )
    try:
        validated = validate_task(task, incoming, context, key=key)
    except DataValidationError as error:
        failed = error.report.failures
        reason = f"validation: {len(failed)} of {error.report.evaluated} expectations failed"
        reason += f" ({failed[0]})" if failed else ""
        reports = {
            "validation.json": error.report.to_json(),
            "validation.md": error.report.to_markdown(),
        }
        _reject(incoming, context, reason[:300], reports)
        logger.error("%s: validation failed: no model is trained and no alias moves", task.name)
        raise
    finally:
        # Attached whether the data passed or not, and by a run whose validation was cached.
        for name in ("validation.json", "validation.md"):
            suite_report = validation_dir(context, key) / name
            if suite_report.exists():
                mlflow.log_artifact(str(suite_report), "validation")
    reference = stages.drift_reference(family, task, runs, context.workspace)
    drift_key = cache_key(
        "drift",
        context.family,
        task.name,
        incoming.file_md5,
        reference.file_md5 if reference else "",
        task.config.drift,
    )
    report = drift_task(task, incoming, reference, context, key=drift_key)
    _log_drift(report, task, context)
    if report.blocked:
        accepted = intake.accepted_record(context.workspace, incoming.table, incoming.file_md5)
        if accepted is None:
            drifted = DataDriftError(report, task.name)
            reason = "drift: " + "; ".join(item.brief() for item in report.flagged("block"))
            _reject(incoming, context, reason, {"drift.json": report.to_json()})
            logger.error("%s: drift blocks: no model is trained and no alias moves", task.name)
            raise drifted
        logger.warning(
            "%s: drift blocks, but the data was accepted on purpose on %s",
            task.name,
            accepted["accepted_at"],
        )
        mlflow.set_tag("seqpipe.drift_accepted", accepted["accepted_at"])
    # Drawn in Prefect's graph as it runs: the data becomes current only after both checks.
    data = accept_task(incoming, context, wait_for=[validated, report])
    mlflow.set_tag("seqpipe.data_status", "accepted")
    return prepare_task(task, data, context)


def _reject(incoming: Incoming, context: RunContext, reason: str, reports: dict[str, str]) -> None:
    """Keep failed data aside and say so on the pipeline run (the current data is kept)."""
    folder = intake.set_aside(context.workspace, incoming, reason, reports)
    mlflow.set_tags({"seqpipe.data_status": "rejected", "data.rejected_path": str(folder)})


def _log_drift(report: DriftReport, task: Task[Any], context: RunContext) -> None:
    """The drift report on the pipeline run: its table, JSON and plot, and a verdict tag."""
    mlflow.set_tags({"seqpipe.drift": report.verdict, "data.drift_reference": report.reference})
    if not report.judged:
        return
    mlflow.log_table(report.to_frame(), "drift/drift_table.json")
    mlflow.log_text(report.to_json(), "drift/drift.json")
    with tempfile.TemporaryDirectory() as scratch:
        title = f"{context.family}-{task.name}: drift against {report.reference}"
        path = plot_report(report, title, Path(scratch) / "drift.png")
        mlflow.log_artifact(str(path), "drift")


def _train_and_register(
    family: AnyFamily,
    runs: list[ResolvedRun],
    prepared: Prepared[Any],
    context: RunContext,
    logger: Any,
    register: bool = True,
) -> tuple[list[GateDecision], dict[str, str]]:
    """Train and evaluate every run, ``parallel_models`` at a time, baselines first; then
    register (unless ``register`` is false). A model that fails is reported and left out; the
    others go on."""
    config = prepared.config
    training_config = config.model_dump(
        mode="json",
        exclude={"models", "parallel_models", "runner", "profile", "gate", "drift"},
    )
    task_name = prepared.task.name
    base = (context.family, task_name, prepared.data.file_md5, training_config, context.store)
    missing = [run for run in family.baseline_runs(config, runs) if run not in runs]
    failures = family.unfit_runs(prepared, runs + missing)
    for key, reason in failures.items():
        logger.error("%s %s cannot train on this data: %s", task_name, key, reason)
    fit = [run for run in runs + missing if run.key not in failures]
    baselines = [run for run in fit if family.is_baseline(run)]
    others = [run for run in fit if not family.is_baseline(run)]
    scored: dict[str, tuple[ResolvedRun, Candidate]] = {}
    references: dict[str, Scored] = {}
    with models_runner(config.runner) as runner:
        for group in (baselines, others):
            size = batch_size(config.runner, config.parallel_models, len(group))
            for first in range(0, len(group), size):
                batch = group[first : first + size]
                submitted = []
                for run in batch:
                    key = cache_key(run, *base)
                    registered = family.registered_model(prepared.task, run)
                    reference = references.get(registered)
                    trained = runner.submit(
                        train_task,
                        {
                            "prepared": prepared,
                            "run": run,
                            "context": context,
                            "key": cache_key("train", key),
                        },
                    )
                    # Prefect passes the training's result for its future: evaluation waits.
                    evaluated = runner.submit(
                        evaluate_task,
                        {
                            "prepared": prepared,
                            "run": run,
                            "run_id": trained,
                            "reference": reference.metrics if reference else None,
                            "context": context,
                            "key": cache_key(
                                "evaluate", key, reference.candidate.run_id if reference else ""
                            ),
                        },
                    )
                    submitted.append((run, trained, evaluated))
                for run, trained, evaluated in submitted:
                    try:
                        result: Scored = evaluated.result()
                    except Exception as error:  # one model's failure never sinks the others
                        cause = _first_failure(trained, error)
                        failures[run.key] = f"{type(cause).__name__}: {cause}"
                        logger.error("%s %s failed: %s", task_name, run.key, failures[run.key])
                        continue
                    scored[result.candidate.run_id] = (run, result.candidate)
                    if family.is_baseline(run):
                        references[result.candidate.registered_model] = result
    decisions = register_task(prepared, scored, context) if scored and register else []
    # Every registered model of the task, not only those this flow trained (``--model``).
    gates = {
        family.registered_model(prepared.task, run): family.gate(config, run)
        for run in [*config.runs(None), *(run for run, _ in scored.values())]
    }
    log_pipeline_summary(
        [candidate for _, candidate in scored.values()], gates, context.experiment_id
    )
    return decisions, failures


def _first_failure(trained: Any, later: Exception) -> BaseException:
    """The training's own error when training failed (evaluation then never ran), else the
    evaluation's."""
    try:
        trained.result()
    except Exception as error:
        return error
    return later


@flow(
    name="seqpipe",
    flow_run_name="{family}-{profile}",  # renamed with its tasks and data once it is in
    log_prints=True,
    # Prefect's TaskRunner is invariant in its future type, which the decorator's hint misses.
    task_runner=ThreadPoolTaskRunner(max_workers=4),  # type: ignore[arg-type]
)
def pipeline_flow(
    family: str,
    profile: str = "quick",
    models: list[str] | None = None,
    config_path: str | None = None,
    task: str | None = None,
    workspace: str | None = None,
    until: Stage = "register",
    tracking_uri: str | None = None,
    dask_address: str | None = None,
) -> list[GateDecision]:
    """Train, evaluate and register the models of one family config profile.

    Args:
        family: a registered family (``seqpipe run --help`` lists them).
        profile: config profile, quick (minutes) or full.
        models: model names to train; default every model of the config. The family's
            baselines always train too: every model is compared with them.
        config_path: a family config YAML instead of the default.
        task: one task of the config; default every task, one after the other.
        workspace: where data/, mlruns/ and DVC live; default ``SEQPIPE_WORKSPACE`` or the
            current directory (deployments name it explicitly).
        until: the last stage to run: ``validate`` (ingest, validate, prepare), ``evaluate``
            (and train and score the models), or ``register`` (the whole flow). Orchestrators
            that run stages as separate steps (Kubeflow Pipelines) call the flow once per
            stage; the cached stages of the earlier steps are not run again.
        tracking_uri: the MLflow tracking server; default ``MLFLOW_TRACKING_URI``, else the
            workspace's own store under ``mlruns/``.
        dask_address: train and score the models on the Dask cluster of this scheduler
            (config ``runner``), e.g. ``tcp://10.0.0.5:8786``.

    Raises:
        ModelsFailed: when some models failed (after every other model was registered).
    """
    with tracking_server(tracking_uri):
        return _pipeline(family, profile, models, config_path, task, workspace, until, dask_address)


def _pipeline(
    family: str,
    profile: str,
    models: list[str] | None,
    config_path: str | None,
    task: str | None,
    workspace: str | None,
    until: Stage,
    dask_address: str | None,
) -> list[GateDecision]:
    chosen = get_family(family)
    config, runs = load_checked(chosen, profile, config_path, models)
    if dask_address:
        config = config.model_copy(
            update={"runner": RunnerConfig(kind="dask", address=dask_address)}
        )
    tasks = chosen.select_tasks(config, task)
    root = Path(workspace).resolve() if workspace else workspace_dir()
    logger = get_run_logger()
    decisions: list[GateDecision] = []
    failures: dict[str, str] = {}
    for bound in tasks:
        with pipeline_run(chosen, config, bound.name, root) as context:
            prepared = _validated(bound, runs, context, logger)
            names = [task.name for task in tasks]
            rename_flow_run(flow_run_name(family, names, profile, prepared.data.dvc_hash))
            if until == "validate":
                continue
            found, failed = _train_and_register(
                chosen, runs, prepared, context, logger, register=until == "register"
            )
            decisions += found
            failures |= {f"{bound.name} {name}": error for name, error in failed.items()}
            if failed:
                mlflow.set_tag("seqpipe.failed_models", ", ".join(sorted(failed)))
            publish_leaderboard(bound.name, context, found)
    if failures:
        raise ModelsFailed(failures, decisions)
    return decisions


@task(name="trial", cache_policy=NO_CACHE, task_run_name="trial-{prepared.task.name}-{variant}")
def trial_task(
    prepared: Prepared[Any],
    run: ResolvedRun,
    variant: str,
    study: str,
    context: RunContext,
) -> str:
    key = cache_key("trial", study, variant, run, prepared.data.file_md5, context.store)
    tags = {"seqpipe.kind": f"{study.rstrip('s')}-trial", f"seqpipe.{study.rstrip('s')}": variant}
    return _train(prepared, run, context, key, log_model=False, extra_tags=tags)


@flow(name="seqpipe-study", flow_run_name="{family}-{study}", log_prints=True)
def study_flow(
    family: str,
    study: str,
    task: str,
    model: str,
    profile: str = "quick",
    config_path: str | None = None,
) -> pd.DataFrame:
    """Train variants of one model (e.g. one per optimizer) as child runs of one parent run,
    which gets the family's comparison (plots, a summary table). Returns the summary."""
    chosen = get_family(family)
    config, _ = load_checked(chosen, profile, config_path, [])
    bound = chosen.select_tasks(config, task)[0]
    runs = chosen.study_runs(config, study, model)
    workspace = workspace_dir()
    logger = get_run_logger()
    name = f"{family}-{bound.name}-{model}-{study}-study"
    with pipeline_run(chosen, config, bound.name, workspace, run_name=name) as context:
        mlflow.set_tags({"seqpipe.study": study, "seqpipe.model": model})
        prepared = _validated(bound, list(runs.values()), context, logger)
        futures = {
            variant: trial_task.submit(prepared, run, variant, study, context)
            for variant, run in runs.items()
        }
        trials = {variant: future.result() for variant, future in futures.items()}
        title = f"{bound.name}, {model}: validation curves by {study.rstrip('s')}"
        return chosen.summarize_study(study, trials, title, context.parent_run_id)
