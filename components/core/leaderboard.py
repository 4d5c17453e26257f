"""A family's model runs from MLflow, ranked by its gate metric."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


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
    client = MlflowClient()
    experiments = client.search_experiments(filter_string=f"tags.`seqpipe.family` = '{family}'")
    if not experiments:
        return []
    order = "DESC" if greater_is_better else "ASC"
    runs = client.search_runs(
        [experiment.experiment_id for experiment in experiments],
        filter_string="tags.`seqpipe.kind` = 'model' and attributes.status = 'FINISHED'",
        order_by=[f"metrics.{metric} {order}"],
        max_results=limit,
    )
    aliases = _aliases_by_run(
        client, {run.data.tags.get("seqpipe.registered_model") for run in runs}
    )
    rows = []
    for run in (run for run in runs if metric in run.data.metrics):
        version, names = aliases.get(run.info.run_id, ("", []))
        rows.append(
            {
                "run": run.info.run_name,
                "model": run.data.tags.get("seqpipe.registered_model", ""),
                "version": version,
                "aliases": ", ".join(names),
                metric: run.data.metrics.get(metric),
                **{name: run.data.metrics.get(name) for name in extras},
                **{name: run.data.params.get(name) for name in params},
                "started": dt.datetime.fromtimestamp(run.info.start_time / 1000).strftime(
                    "%Y-%m-%d %H:%M"
                ),
            }
        )
    return rows


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
        run = client.get_run(version.run_id)
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
                "score": float(version.tags["score"]) if "score" in version.tags else None,
                "data_version": run.data.tags.get("data.dvc_hash", ""),
                "other_aliases": ", ".join(others),
                "registered": dt.datetime.fromtimestamp(version.creation_timestamp / 1000).strftime(
                    "%Y-%m-%d %H:%M"
                ),
            }
        )
    return sorted(rows, key=lambda row: row["registered_model"])
