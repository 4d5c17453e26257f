"""MLflow tracking: where runs go, and what every run records."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

MLRUNS_DIR = "mlruns"


def tracking_uri(workspace: Path) -> str:
    """``MLFLOW_TRACKING_URI`` when set, else a SQLite store under the workspace's ``mlruns/``."""
    configured = os.environ.get("MLFLOW_TRACKING_URI")
    if configured:
        return configured
    return f"sqlite:///{(workspace / MLRUNS_DIR / 'mlflow.db').resolve()}"


def is_embedded(uri: str) -> bool:
    """Whether ``uri`` is a store on this machine rather than a tracking server."""
    return uri.startswith(("sqlite:", "file:")) or "://" not in uri


def artifact_root(workspace: Path) -> str | None:
    """Local artifact root for the embedded store; a tracking server chooses its own."""
    if not is_embedded(tracking_uri(workspace)):
        return None
    return (workspace / MLRUNS_DIR / "artifacts").resolve().as_uri()


def configure(workspace: Path) -> str:
    """Point MLflow's tracking and registry at the workspace store; return the URI."""
    import mlflow

    (workspace / MLRUNS_DIR).mkdir(parents=True, exist_ok=True)
    uri = tracking_uri(workspace)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


# Opens the MLflow UI on the runs table of model training, not on the GenAI overview.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def ensure_experiment(name: str, workspace: Path, tags: dict[str, str] | None = None) -> str:
    """The id of experiment ``name``, created with the workspace artifact root if missing;
    tagged as a model-development experiment with ``tags`` (e.g. its family)."""
    from mlflow import MlflowClient

    client = MlflowClient()
    wanted = EXPERIMENT_KIND | (tags or {})
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return client.create_experiment(
            name, artifact_location=artifact_root(workspace), tags=wanted
        )
    for key, value in wanted.items():
        if experiment.tags.get(key) != value:
            client.set_experiment_tag(experiment.experiment_id, key, value)
    return experiment.experiment_id


def git_commit(directory: Path) -> str:
    """The commit checked out in ``directory`` (``-dirty`` when it has changes), or ``unknown``."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty.strip() else commit


def ui_command(workspace: Path) -> str:
    """The command that opens the MLflow UI on this workspace's store."""
    uri = tracking_uri(workspace)
    if not is_embedded(uri):
        return f"open {uri} in a browser"
    root = artifact_root(workspace)
    return f"mlflow ui --backend-store-uri {uri} --default-artifact-root {root} --port 5000"
