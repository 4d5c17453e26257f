"""A family's model runs from MLflow, one board per registered model, ranked by its gate."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

from components.core.registry import version_run_id, version_score
from components.core.stages import GATE_DIRECTION_TAG, GATE_METRIC_TAG

REGISTERED_MODEL_TAG = "seqpipe.registered_model"


@dataclass(frozen=True)
class TrackedRun:
    """What a leaderboard reads of one finished model run."""

    run_id: str
    name: str
    start_time: int  # milliseconds since the epoch, as MLflow records it
    tags: Mapping[str, str]
    metrics: Mapping[str, float]
    params: Mapping[str, str]

    @classmethod
    def from_run(cls, run: Run) -> TrackedRun:
        return cls(
            run.info.run_id,
            run.info.run_name,
            run.info.start_time,
            run.data.tags,
            run.data.metrics,
            run.data.params,
        )


@dataclass(frozen=True)
class Board:
    """One registered model's runs, best first by its gate: they share test data, so compare."""

    registered_model: str
    metric: str
    greater_is_better: bool
    runs: tuple[TrackedRun, ...]  # those that logged ``metric``


def rank_by_gate(runs: Iterable[TrackedRun]) -> list[Board]:
    """Group runs by the registered model they compete for and rank each group by the gate
    metric and direction its runs carry as tags, so a user's config (its own task names, its
    own gates) ranks as the default one does; boards sorted by registered model."""
    groups: dict[str, list[TrackedRun]] = {}
    for run in runs:
        if run.tags.get(REGISTERED_MODEL_TAG):
            groups.setdefault(run.tags[REGISTERED_MODEL_TAG], []).append(run)
    boards = []
    for name in sorted(groups):
        gated = [run for run in groups[name] if GATE_METRIC_TAG in run.tags]
        # Runs logged before the gate tags existed say nothing of their gate: a group without a
        # tagged run is skipped (its next flow run ranks it); untagged runs beside tagged ones
        # compete for the same registered model, so they share its gate and are ranked too.
        if not gated:
            continue
        # The latest run holds the gate as configured now (a config may have changed it).
        latest = max(gated, key=lambda run: run.start_time)
        metric = latest.tags[GATE_METRIC_TAG]
        greater = latest.tags.get(GATE_DIRECTION_TAG) == "greater"
        scored = [run for run in groups[name] if metric in run.metrics]
        boards.append(
            Board(name, metric, greater, tuple(sorted(scored, key=by_score(metric, greater))))
        )
    return boards


def by_score(metric: str, greater_is_better: bool) -> Callable[[TrackedRun], tuple[bool, float]]:
    """Sort key: best ``metric`` first, runs whose score is not a number last."""

    def key(run: TrackedRun) -> tuple[bool, float]:
        value = run.metrics[metric]
        return math.isnan(value), -value if greater_is_better else value

    return key


def family_model_runs(family: str) -> list[TrackedRun]:
    """The family's finished model runs, of every task's experiment."""
    client = MlflowClient()
    experiments = client.search_experiments(filter_string=f"tags.`seqpipe.family` = '{family}'")
    if not experiments:
        return []
    found: list[TrackedRun] = []
    token = None
    while True:
        page = client.search_runs(
            [experiment.experiment_id for experiment in experiments],
            filter_string="tags.`seqpipe.kind` = 'model' and attributes.status = 'FINISHED'",
            max_results=1000,
            page_token=token,
        )
        found += [TrackedRun.from_run(run) for run in page]
        token = page.token
        if not token:
            return found


def board_rows(
    runs: Sequence[TrackedRun], metric: str, extras: Sequence[str], params: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Table rows of ``runs`` in their order: registry version and aliases, ``metric``, the
    ``extras`` metrics and the ``params`` asked for (``None`` where a run did not log one)."""
    aliases = _aliases_by_run(MlflowClient(), {run.tags.get(REGISTERED_MODEL_TAG) for run in runs})
    rows = []
    for run in runs:
        version, names = aliases.get(run.run_id, ("", []))
        rows.append(
            {
                "run": run.name,
                "model": run.tags.get(REGISTERED_MODEL_TAG, ""),
                "version": version,
                "aliases": ", ".join(names),
                metric: run.metrics.get(metric),
                **{name: run.metrics.get(name) for name in extras},
                **{name: run.params.get(name) for name in params},
                "started": dt.datetime.fromtimestamp(run.start_time / 1000).strftime(
                    "%Y-%m-%d %H:%M"
                ),
            }
        )
    return rows


def leaderboard_rows(
    family: str,
    metric: str,
    greater_is_better: bool,
    extras: list[str],
    limit: int = 30,
    params: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The family's finished model runs (of every task's experiment), best ``metric`` first,
    with registry aliases and the ``params`` asked for (``None`` where a run did not log one)."""
    scored = [run for run in family_model_runs(family) if metric in run.metrics]
    ranked = sorted(scored, key=by_score(metric, greater_is_better))[:limit]
    return board_rows(ranked, metric, extras, params)


def _aliases_by_run(
    client: MlflowClient, names: set[str | None]
) -> dict[str, tuple[str, list[str]]]:
    found: dict[str, tuple[str, list[str]]] = {}
    for name in filter(None, names):
        try:
            registered = client.get_registered_model(name)
        except MlflowException:  # the flow of these runs stopped before registering anything
            continue
        by_version: dict[str, list[str]] = {}
        for alias, version in registered.aliases.items():
            by_version.setdefault(str(version), []).append(alias)
        for version in client.search_model_versions(f"name = '{name}'"):
            if not version.run_id:  # registered by hand, from no run of ours
                continue
            found[version.run_id] = (
                f"v{version.version}",
                sorted(by_version.get(str(version.version), [])),
            )
    return found


def champion_rows() -> list[dict[str, Any]]:
    """Every registered model's champion: version, run, gate metric and score, data version."""
    client = MlflowClient()
    rows = []
    for registered in client.search_registered_models():
        champion = registered.aliases.get("champion")
        if champion is None:
            continue
        version = client.get_model_version(registered.name, str(champion))
        run = client.get_run(version_run_id(version))
        others = sorted(
            f"{alias} v{number}"
            for alias, number in registered.aliases.items()
            if alias != "champion"
        )
        rows.append(
            {
                "registered_model": registered.name,
                "version": f"v{version.version}",
                "run": run.info.run_name,
                "metric": version.tags.get("gate.metric", ""),
                "score": version_score(client, version, run=run),
                "data_version": run.data.tags.get("data.dvc_hash", ""),
                "other_aliases": ", ".join(others),
                "registered": dt.datetime.fromtimestamp(version.creation_timestamp / 1000).strftime(
                    "%Y-%m-%d %H:%M"
                ),
            }
        )
    return sorted(rows, key=lambda row: row["registered_model"])
