"""The forecasting flow: ingest -> validate -> prepare -> train -> evaluate -> register."""

from __future__ import annotations

from pathlib import Path

import mlflow
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from components.configs.forecasting import ForecastingConfig, ResolvedRun, load_forecasting_config
from components.registry import Candidate, GateDecision
from components.stages import forecasting as stages
from components.validation import DataValidationError
from components.versioning import DataVersion
from pipelines.common import (
    RunContext,
    by_key,
    cache_key,
    pipeline_run,
    register_candidates,
    train_in_context,
    validate_and_report,
    workspace_dir,
)


@task(name="ingest", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def ingest_task(config: ForecastingConfig, workspace: Path) -> DataVersion:
    data = stages.ingest(config, workspace)
    get_run_logger().info(
        "data/ at DVC hash %s (%s md5 %s)", data.dvc_hash, data.path, data.file_md5
    )
    return data


@task(name="validate", cache_key_fn=by_key, persist_result=True)
def validate_task(
    config: ForecastingConfig, data: DataVersion, context: RunContext, key: str
) -> str:
    frame = stages.read_raw(context.workspace, data, config)
    return validate_and_report(
        lambda report_dir: stages.validate(frame, config, report_dir), context, key
    )


@task(name="prepare", cache_policy=NO_CACHE)
def prepare_task(
    config: ForecastingConfig, data: DataVersion, context: RunContext
) -> stages.PreparedSeries:
    return stages.prepare(stages.read_raw(context.workspace, data, config), config, data)


@task(name="train", cache_key_fn=by_key, persist_result=True, task_run_name="train-{run.key}")
def train_task(
    prepared: stages.PreparedSeries,
    config: ForecastingConfig,
    run: ResolvedRun,
    context: RunContext,
    key: str,
) -> str:
    return train_in_context(stages.train, prepared, config, run, context, key, run.key)


@task(name="evaluate", cache_key_fn=by_key, persist_result=True, task_run_name="evaluate-{run.key}")
def evaluate_task(
    prepared: stages.PreparedSeries,
    config: ForecastingConfig,
    run: ResolvedRun,
    run_id: str,
    context: RunContext,
    key: str,
) -> Candidate:
    mlflow.set_tracking_uri(context.tracking_uri)
    metrics = stages.evaluate(prepared, config, run, run_id)
    get_run_logger().info(
        "%s: test_mae %.3f = %.2f x naive",
        run.key,
        metrics["test_mae"],
        metrics["test_mae_vs_naive"],
    )
    return stages.candidate(prepared, config, run, run_id, metrics)


@flow(name="forecasting", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=4))
def forecasting_flow(
    profile: str = "quick", models: list[str] | None = None, config_path: str | None = None
) -> list[GateDecision]:
    """Train, evaluate and register the forecasting models of one config profile."""
    config = load_forecasting_config(Path(config_path) if config_path else None, profile)
    runs = config.select(models)
    workspace = workspace_dir()
    logger = get_run_logger()
    with pipeline_run(stages.FAMILY, config, workspace) as context:
        data = ingest_task(config, workspace)
        data_key = cache_key("validate", data.file_md5, config.dataset, context.store)
        try:
            validate_task(config, data, context, key=data_key)
        except DataValidationError:
            logger.error("validation failed: no model is trained and no alias moves")
            raise
        prepared = prepare_task(config, data, context)
        base = (data.file_md5, context.store, config.window, config.split, config.dataset)
        candidates: list[Candidate] = []
        # Models train ``parallel_models`` at a time; each batch is evaluated as it finishes.
        for first in range(0, len(runs), config.parallel_models):
            batch = runs[first : first + config.parallel_models]
            trained = [
                train_task.submit(
                    prepared, config, run, context, key=cache_key("train", run, *base)
                )
                for run in batch
            ]
            evaluated = [
                evaluate_task.submit(
                    prepared, config, run, future, context, key=cache_key("evaluate", run, *base)
                )
                for run, future in zip(batch, trained, strict=True)
            ]
            candidates += [future.result() for future in evaluated]
        horizons = {item.run_id: run.horizon for item, run in zip(candidates, runs, strict=True)}

        def rescore(item: Candidate, model_uri: str) -> float:
            return stages.rescore(prepared, config, horizons[item.run_id], model_uri)

        return register_candidates(candidates, config.gate, rescore, context.tracking_uri)
