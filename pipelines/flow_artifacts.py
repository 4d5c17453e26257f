"""What a flow run shows: on its Prefect page, each task's leaderboard as a Markdown artifact,
linked to the MLflow runs and registry versions it ranks, and the gate's decisions; on its
MLflow pipeline run (the collapsed row of the runs table), each model's gate score and each
registered model's champion."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from mlflow import MlflowClient

from components.core import tracking, ui_links
from components.core.config import GateConfig
from components.core.errors import UserError
from components.core.leaderboard import TrackedRun, board_rows, rank_by_gate
from components.core.registry import (
    CHAMPION,
    Candidate,
    GateDecision,
    version_run_id,
    version_score,
)
from pipelines.common import RunContext

ROWS_PER_BOARD = 10


def artifact_key(family: str, task: str) -> str:
    """Prefect's artifact key: lowercase letters, digits and dashes."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{family}-{task}-leaderboard".lower()).strip("-")


def leaderboard_markdown(
    task: str, context: RunContext, decisions: Sequence[GateDecision], base: str
) -> str:
    """Each registered model of the task: its runs best first by the gate, linked to MLflow,
    with the registry version and aliases of each; then what the gate decided this run."""
    client = MlflowClient()
    runs = client.search_runs(
        [context.experiment_id],
        "tags.`seqpipe.kind` = 'model' and attributes.status = 'FINISHED'",
        max_results=1000,
    )
    experiment = context.experiment_id
    view = ui_links.saved_view(client.get_experiment(experiment).tags)
    lines = [
        f"# {context.family} · {task}",
        "",
        f"[Runs in MLflow]({ui_links.experiment_runs(base, experiment, view)}) · "
        f"[this pipeline run]({ui_links.run_page(base, experiment, context.parent_run_id)})",
        "",
    ]
    if tracking.is_embedded(context.tracking_uri):
        lines += ["Links open the workspace's MLflow UI: start it with `seqpipe ui --launch`.", ""]
    for board in rank_by_gate(TrackedRun.from_run(run) for run in runs):
        direction = "higher" if board.greater_is_better else "lower"
        lines += [
            f"## {board.registered_model} ({board.metric}, {direction} is better)",
            "",
            "| rank | run | version | aliases | " + board.metric + " |",
            "|---:|---|---|---|---:|",
        ]
        rows = board_rows(board.runs[:ROWS_PER_BOARD], board.metric, [])
        for rank, (run, row) in enumerate(zip(board.runs, rows, strict=False), start=1):
            link = f"[{row['run']}]({ui_links.run_page(base, experiment, run.run_id)})"
            version = row["version"]  # "v3", or "" for a run never registered
            if version:
                page = ui_links.model_version(base, board.registered_model, version[1:])
                version = f"[{version}]({page})"
            lines.append(
                f"| {rank} | {link} | {version} | {row['aliases']} | {_number(row[board.metric])} |"
            )
        lines.append("")
    if decisions:
        lines += ["## Gate", ""]
        lines += [
            f"- **{decision.registered_model} v{decision.version}**: "
            f"{'promoted' if decision.promoted else 'kept as challenger'}: {decision.reason}"
            for decision in decisions
        ]
    return "\n".join(lines) + "\n"


def log_pipeline_summary(
    candidates: Sequence[Candidate], gates: Mapping[str, GateConfig], experiment_id: str
) -> None:
    """On the active pipeline run: ``<model run>.<gate metric>`` for every model scored, and
    per registered model its champion as it stands after the gate, ``champion.<registered
    model>`` (run name and version) with its ``champion.<registered model>.<metric>``; and
    the experiment's leaderboard view."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    metrics = {
        metric_key(item.run_name, gates[item.registered_model].metric): item.score
        for item in candidates
        if math.isfinite(item.score)
    }
    tags = {}
    for name in sorted({item.registered_model for item in candidates}):
        try:
            champion = client.get_model_version_by_alias(name, CHAMPION)
            run = client.get_run(version_run_id(champion))
        except (MlflowException, UserError):
            continue  # nothing registered yet (a run that stops before the gate)
        metric = gates[name].metric
        tags[metric_key("champion", name)] = f"{run.info.run_name} v{champion.version}"
        score = version_score(client, champion, metric, run)
        if score is not None:
            metrics[metric_key("champion", name, metric)] = score
    mlflow.log_metrics(metrics)
    mlflow.set_tags(tags)
    if gates:
        share_leaderboard_view(client, experiment_id, gates)


def metric_key(*parts: str) -> str:
    """Parts joined by dots, in the characters MLflow accepts in a metric or tag key."""
    return ".".join(re.sub(r"[^\w\-. /]+", "_", part) for part in parts)


def share_leaderboard_view(
    client: MlflowClient, experiment_id: str, gates: Mapping[str, GateConfig]
) -> None:
    """Save the experiment's leaderboard as a shared view of MLflow's runs table."""
    ranked = [(gates[name].metric, gates[name].greater_is_better) for name in sorted(gates)]
    key = ui_links.SHARED_VIEW_TAG + ui_links.LEADERBOARD_VIEW
    view = ui_links.leaderboard_view(ranked)
    if client.get_experiment(experiment_id).tags.get(key) != view:
        client.set_experiment_tag(experiment_id, key, view)


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.4g}"


def publish_leaderboard(
    task: str, context: RunContext, decisions: Sequence[GateDecision]
) -> str | None:
    """Publish the task's leaderboard on the flow run's page; the artifact's key, or None when
    there is no flow run to publish on."""
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:
        return None
    key = artifact_key(context.family, task)
    create_markdown_artifact(
        markdown=leaderboard_markdown(
            task, context, decisions, ui_links.ui_base(context.tracking_uri)
        ),
        key=key,
        description=f"{context.family} {task}: models ranked by their gate, and the gate's call",
    )
    return key


def flow_run_name(family: str, tasks: Sequence[str], profile: str, dvc_hash: str | None) -> str:
    """A flow run's name in the Prefect UI: family, tasks, profile and the data version."""
    data = f"-data-{dvc_hash[:8]}" if dvc_hash else ""
    return f"{family}-{'+'.join(tasks)}-{profile}{data}"


def rename_flow_run(name: str) -> None:
    """Rename the running flow run (its data version is known only once the data is in)."""
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    running = FlowRunContext.get()
    if running is None or running.flow_run is None:
        return
    with get_client(sync_client=True) as client:
        client.update_flow_run(running.flow_run.id, name=name)
