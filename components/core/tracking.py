"""MLflow tracking: where runs go, and what every run records."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from components.core.errors import UserError
from components.core.locks import exclusive

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


def embedded_store_exists(uri: str) -> bool:
    """Whether an embedded store has been written (opening a SQLite store creates it)."""
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).exists()
    return Path(uri.removeprefix("file://")).exists()


def artifact_root(workspace: Path) -> str | None:
    """Local artifact root for the embedded store; a tracking server chooses its own."""
    if not is_embedded(tracking_uri(workspace)):
        return None
    return (workspace / MLRUNS_DIR / "artifacts").resolve().as_uri()


SERVER_TIMEOUT_SECONDS = 5.0


def configure(workspace: Path) -> str:
    """Point MLflow's tracking and registry at the workspace store; return the URI.

    A tracking server must answer its health check within seconds: MLflow's own client would
    retry for minutes before failing.

    Raises:
        UserError: if a tracking server does not answer (the message names its URI).
    """
    import mlflow

    uri = tracking_uri(workspace)
    if not is_embedded(uri):
        check_server(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if is_embedded(uri):
        (workspace / MLRUNS_DIR).mkdir(parents=True, exist_ok=True)
        # The first client creates the schema; two flows starting at once would race on it.
        with exclusive(workspace, "mlflow-store"):
            mlflow.MlflowClient().search_experiments(max_results=1)
            mlflow.MlflowClient().search_registered_models(max_results=1)
    return uri


def check_server(uri: str, timeout: float = SERVER_TIMEOUT_SECONDS) -> None:
    """Raise ``UserError`` unless the MLflow server at ``uri`` answers ``/health``."""
    from urllib.error import URLError
    from urllib.request import urlopen

    try:
        with urlopen(f"{uri.rstrip('/')}/health", timeout=timeout):
            pass
    except (URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise UserError(
            f"the MLflow tracking server at {uri} does not answer ({reason}); start it, or "
            "unset MLFLOW_TRACKING_URI to use the workspace's own store under mlruns/"
        ) from None


# What the experiment holds, for MLflow's own clients; the UI's mode follows the page address
# instead (components.core.ui_links).
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def ensure_experiment(name: str, workspace: Path, tags: dict[str, str] | None = None) -> str:
    """The id of experiment ``name``, created with the workspace artifact root if missing;
    tagged as a model-development experiment with ``tags`` (e.g. its family)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode

    client = MlflowClient()
    wanted = EXPERIMENT_KIND | (tags or {})
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(
                name, artifact_location=artifact_root(workspace), tags=wanted
            )
        except MlflowException as error:
            # Two flows starting at once on one store: the other one created it first.
            if error.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
                raise
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    for key, value in wanted.items():
        if experiment.tags.get(key) != value:
            client.set_experiment_tag(experiment.experiment_id, key, value)
    return experiment.experiment_id


def process_tags() -> dict[str, str]:
    """Which process a run belongs to, so a later process can tell that it died."""
    return {"seqpipe.host": socket.gethostname(), "seqpipe.pid": str(os.getpid())}


def fail_orphaned_runs(experiment_ids: list[str]) -> list[str]:
    """Mark FAILED the RUNNING runs of this machine whose process is gone (killed mid-run);
    return their ids. Runs of other machines are left alone: only they can tell."""
    from mlflow import MlflowClient

    client = MlflowClient()
    host = socket.gethostname()
    orphans = []
    for run in client.search_runs(
        experiment_ids,
        f"attributes.status = 'RUNNING' and tags.`seqpipe.host` = '{host}'",
        max_results=1000,
    ):
        pid = int(run.data.tags.get("seqpipe.pid", "0"))
        if pid and not _alive(pid):
            client.set_tag(run.info.run_id, "seqpipe.error", f"process {pid} ended mid-run")
            client.set_terminated(run.info.run_id, status="FAILED")
            orphans.append(run.info.run_id)
    return orphans


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


# What the flows themselves rewrite in a checkout: the data version DVC records. Runs record
# that version on their own (``data.dvc_hash``); ``git.commit`` identifies the code.
DATA_BOOKKEEPING = ("data.dvc",)


def git_commit(directory: Path) -> str:
    """The commit checked out in ``directory``, or ``unknown``; ``-dirty`` when a tracked file
    other than the flows' own data bookkeeping (``DATA_BOOKKEEPING``) has changed."""
    excluded = [f":(exclude,top){path}" for path in DATA_BOOKKEEPING]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":/", *excluded],
            cwd=directory,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty.strip() else commit


def ui_command(workspace: Path, host: str = "127.0.0.1", port: int = 5000) -> str:
    """The command that opens the MLflow UI on this workspace's store."""
    uri = tracking_uri(workspace)
    if not is_embedded(uri):
        return f"open {uri} in a browser"
    root = artifact_root(workspace)
    return (
        f"mlflow ui --backend-store-uri {uri} --default-artifact-root {root} "
        f"--host {host} --port {port}"
    )
