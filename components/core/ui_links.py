"""Addresses of MLflow UI pages: experiments' runs, runs and registry versions, each opened in
model-training mode.

MLflow 3's UI shows every experiment in one of two modes, GenAI (traces, token usage) or model
training (runs, metrics). It takes the mode from the page's ``workflowType`` query parameter,
else from what the browser stored when the user last clicked the mode switch, else GenAI; the
experiment's ``mlflow.experimentKind`` tag does not decide it. So every address printed or
linked here carries the parameter.
"""

from __future__ import annotations

import json
from urllib.parse import quote

MODEL_TRAINING = "workflowType=machine_learning"
# MLflow's shared views: an experiment tag ``mlflow.sharedViewState.<key>`` holds a runs
# table's filter, sort and columns, which ``?viewStateShareKey=<key>`` opens.
SHARED_VIEW_TAG = "mlflow.sharedViewState."
LEADERBOARD_VIEW = "seqpipe-leaderboard"
# Where ``seqpipe ui --launch`` serves the workspace's embedded store by default.
EMBEDDED_HOST, EMBEDDED_PORT = "127.0.0.1", 5000


def ui_base(tracking_uri: str, host: str = EMBEDDED_HOST, port: int = EMBEDDED_PORT) -> str:
    """The MLflow UI of a store: a tracking server serves its own; an embedded store is seen
    through ``seqpipe ui --launch`` on ``host:port``."""
    from components.core.tracking import is_embedded

    return f"http://{host}:{port}" if is_embedded(tracking_uri) else tracking_uri.rstrip("/")


def experiment_runs(base: str, experiment_id: str, view: str | None = None) -> str:
    """An experiment's table of training runs, as the shared ``view`` shows it if given."""
    shown = f"&viewStateShareKey={view}" if view else ""
    return f"{base}/#/experiments/{experiment_id}/runs?{MODEL_TRAINING}{shown}"


def saved_view(experiment_tags: dict[str, str]) -> str | None:
    """The leaderboard view when the experiment holds it (an unknown key is an error page)."""
    return LEADERBOARD_VIEW if SHARED_VIEW_TAG + LEADERBOARD_VIEW in experiment_tags else None


def leaderboard_view(gate_metrics: list[tuple[str, bool]]) -> str:
    """The runs table as a leaderboard: model runs only, best first by the first gate metric
    (``(metric, greater_is_better)`` per registered model), with each gate metric, the
    registered model a run competes for, the champion's tag and the gate's decision."""
    metrics = list(dict.fromkeys(metric for metric, _ in gate_metrics))
    columns = [f"metrics.`{metric}`" for metric in metrics]
    columns += [
        "tags.`seqpipe.registered_model`",
        "tags.`seqpipe.champion`",
        "tags.`gate.decision`",
        "metrics.`train_seconds`",
        "attributes.`Models`",
    ]
    state = {
        "searchFilter": "tags.`seqpipe.kind` = 'model'",
        "orderByKey": columns[0],
        "orderByAsc": not gate_metrics[0][1],
        "selectedColumns": columns,
    }
    return json.dumps(state)


def run_page(base: str, experiment_id: str, run_id: str) -> str:
    """One run's page: its params, metrics, tags and artifacts."""
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}?{MODEL_TRAINING}"


def compare_runs(base: str, experiment_id: str, run_ids: list[str]) -> str:
    """MLflow's side-by-side comparison of ``run_ids``."""
    runs = quote(json.dumps(run_ids), safe="")
    experiments = quote(json.dumps([experiment_id]), safe="")
    return f"{base}/#/compare-runs?runs={runs}&experiments={experiments}&{MODEL_TRAINING}"


def registered_model(base: str, name: str) -> str:
    """A registered model's page: its versions and aliases."""
    return f"{base}/#/models/{quote(name, safe='')}?{MODEL_TRAINING}"


def model_version(base: str, name: str, version: str) -> str:
    """One registered version's page: its tags, description and source run."""
    return f"{base}/#/models/{quote(name, safe='')}/versions/{version}?{MODEL_TRAINING}"
