"""The text classification flows: the model pipeline per task, and the optimizer study."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from components.configs.textclf import ResolvedTextRun, TextclfConfig, load_textclf_config
from components.registry import Candidate, GateDecision
from components.stages import textclf as stages
from components.stages.textclf import FAMILY
from components.validation import DataValidationError
from components.versioning import DataVersion
from pipelines.common import (
    PROJECT_DIR,
    RunContext,
    by_key,
    cache_key,
    pipeline_run,
    register_candidates,
    train_in_context,
    validate_and_report,
    workspace_dir,
)


@task(
    name="ingest",
    retries=2,
    retry_delay_seconds=5,
    cache_policy=NO_CACHE,
    task_run_name="ingest-{task_name}",
)
def ingest_task(config: TextclfConfig, task_name: str, workspace: Path) -> DataVersion:
    data = stages.ingest(config, task_name, workspace)
    get_run_logger().info(
        "data/ at DVC hash %s (%s md5 %s)", data.dvc_hash, data.path, data.file_md5
    )
    return data


@task(
    name="validate", cache_key_fn=by_key, persist_result=True, task_run_name="validate-{task_name}"
)
def validate_task(
    config: TextclfConfig, task_name: str, data: DataVersion, context: RunContext, key: str
) -> str:
    frame = stages.read_raw(context.workspace, data)
    task = config.tasks[task_name]
    return validate_and_report(
        lambda report_dir: stages.validate(frame, task, task_name, report_dir), context, key
    )


@task(name="prepare", cache_policy=NO_CACHE, task_run_name="prepare-{task_name}")
def prepare_task(
    config: TextclfConfig, task_name: str, data: DataVersion, context: RunContext
) -> stages.PreparedText:
    return stages.prepare(stages.read_raw(context.workspace, data), config, task_name, data)


@task(
    name="baseline",
    cache_key_fn=by_key,
    persist_result=True,
    task_run_name="baseline-{prepared.task_name}",
)
def baseline_task(
    prepared: stages.PreparedText, config: TextclfConfig, context: RunContext, key: str
) -> stages.BaselineResult:
    mlflow.set_tracking_uri(context.tracking_uri)
    result = stages.train_baseline(
        prepared, config, context.experiment_id, context.parent_run_id, PROJECT_DIR
    )
    get_run_logger().info(
        "%s TF-IDF + logistic regression: test macro-F1 %.3f",
        prepared.task_name,
        result.metrics["test_macro_f1_baseline"],
    )
    return result


@task(
    name="train",
    cache_key_fn=by_key,
    persist_result=True,
    task_run_name="train-{prepared.task_name}-{run.key}",
)
def train_task(
    prepared: stages.PreparedText,
    config: TextclfConfig,
    run: ResolvedTextRun,
    context: RunContext,
    key: str,
) -> str:
    label = f"{prepared.task_name} {run.key}"
    return train_in_context(stages.train, prepared, config, run, context, key, label)


@task(
    name="evaluate",
    cache_key_fn=by_key,
    persist_result=True,
    task_run_name="evaluate-{prepared.task_name}-{run.key}",
)
def evaluate_task(
    prepared: stages.PreparedText,
    config: TextclfConfig,
    run: ResolvedTextRun,
    run_id: str,
    baseline: stages.BaselineResult,
    context: RunContext,
    key: str,
) -> Candidate:
    mlflow.set_tracking_uri(context.tracking_uri)
    metrics = stages.evaluate(prepared, run, run_id, baseline)
    get_run_logger().info(
        "%s: test macro-F1 %.3f, accuracy %.3f (TF-IDF %.3f)",
        f"{prepared.task_name} {run.key}",
        metrics["test_macro_f1"],
        metrics["test_accuracy"],
        metrics["test_macro_f1_baseline"],
    )
    return stages.candidate(prepared, config, run_id, metrics)


def _validated(config: TextclfConfig, task_name: str, context: RunContext) -> stages.PreparedText:
    """Ingest, validate and prepare one task under the flow's parent run."""
    data = ingest_task(config, task_name, context.workspace)
    key = cache_key("validate", data.file_md5, config.tasks[task_name], context.store)
    try:
        validate_task(config, task_name, data, context, key=key)
    except DataValidationError:
        get_run_logger().error(
            "%s: validation failed: no model is trained and no alias moves", task_name
        )
        raise
    return prepare_task(config, task_name, data, context)


def _data_key(prepared: stages.PreparedText, context: RunContext) -> tuple:
    return (prepared.data.file_md5, prepared.task_name, prepared.task, context.store)


@flow(name="textclf", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=4))
def textclf_flow(
    profile: str = "quick",
    models: list[str] | None = None,
    config_path: str | None = None,
    task: str | None = None,
) -> list[GateDecision]:
    """Train, evaluate and register the text classifiers of one config profile.

    Args:
        profile: config profile, quick (minutes) or full.
        models: model names to train; default every model of the config.
        config_path: a family config YAML instead of the default.
        task: one task of the config; default every task, one after the other.
    """
    config = load_textclf_config(Path(config_path) if config_path else None, profile)
    runs = config.select(models)
    task_names = config.select_tasks(task)
    workspace = workspace_dir()
    decisions: list[GateDecision] = []
    for task_name in task_names:
        with pipeline_run(FAMILY, config, workspace) as context:
            mlflow.set_tags(
                {"mlflow.runName": stages.pipeline_run_name(task_name), "seqpipe.task": task_name}
            )
            prepared = _validated(config, task_name, context)
            base = _data_key(prepared, context)
            # Submitted like every stage that opens its own run: the parent run is active here.
            baseline = baseline_task.submit(
                prepared,
                config,
                context,
                key=cache_key("baseline", config.baseline, config.training.class_weighting, *base),
            ).result()
            candidates: list[Candidate] = []
            # Models train ``parallel_models`` at a time; each batch is evaluated as it finishes.
            for first in range(0, len(runs), config.parallel_models):
                batch = runs[first : first + config.parallel_models]
                keys = [
                    cache_key(run, config.pretraining if run.pretrained else None, *base)
                    for run in batch
                ]
                trained = [
                    train_task.submit(prepared, config, run, context, key=cache_key("train", k))
                    for run, k in zip(batch, keys, strict=True)
                ]
                evaluated = [
                    evaluate_task.submit(
                        prepared,
                        config,
                        run,
                        future,
                        baseline,
                        context,
                        key=cache_key("evaluate", k, baseline.run_id),
                    )
                    for run, future, k in zip(batch, trained, keys, strict=True)
                ]
                candidates += [future.result() for future in evaluated]

            def rescore(item: Candidate, model_uri: str, prepared=prepared) -> float:
                return stages.rescore(prepared, model_uri)

            decisions += register_candidates(candidates, config.gate, rescore, context.tracking_uri)
    return decisions


@task(
    name="optimizer-trial",
    cache_policy=NO_CACHE,
    task_run_name="trial-{prepared.task_name}-{run.training.optimizer.name}",
)
def trial_task(
    prepared: stages.PreparedText, config: TextclfConfig, run: ResolvedTextRun, context: RunContext
) -> dict[str, list[float]]:
    label = f"{prepared.task_name} {run.name}-{run.training.optimizer.name}"
    key = cache_key("trial", run, *_data_key(prepared, context))
    return train_in_context(stages.train_trial, prepared, config, run, context, key, label)


@flow(name="textclf-optimizers", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=2))
def optimizer_study_flow(
    task: str, model: str = "gru", profile: str = "quick", config_path: str | None = None
) -> pd.DataFrame:
    """Train one model with every optimizer of the study, as child runs of one parent run.

    The parent run gets one plot of every optimizer's validation curves and a summary table.
    Returns the summary, best validation loss first.
    """
    config = load_textclf_config(Path(config_path) if config_path else None, profile)
    task_name = config.select_tasks(task)[0]
    runs = stages.study_runs(config, model)
    workspace = workspace_dir()
    with pipeline_run(FAMILY, config, workspace) as context:
        mlflow.set_tags(
            {
                "mlflow.runName": f"{FAMILY}-{task_name}-{model}-optimizer-study",
                "seqpipe.task": task_name,
                "seqpipe.study": "optimizers",
                "seqpipe.model": model,
            }
        )
        prepared = _validated(config, task_name, context)
        futures = {
            name: trial_task.submit(prepared, config, run, context) for name, run in runs.items()
        }
        histories = {name: future.result() for name, future in futures.items()}
        return stages.summarize_study(
            histories,
            f"{task_name}, {model}: validation curves by optimizer",
            context.parent_run_id,
        )
