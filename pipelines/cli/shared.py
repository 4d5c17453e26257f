"""What the commands share: consoles, common options, the invocation's state, the UI hint."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from components.families import family_names

console = Console(width=max(Console().width, 120))
errors = Console(stderr=True, width=max(Console().width, 120))

ProfileOption = Annotated[str, typer.Option(help="Config profile: quick (minutes) or full.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(help="A family config YAML instead of the default.", exists=True, dir_okay=False),
]
REGISTERED_MODEL_HELP = "Registered model (`seqpipe leaderboard --all` lists them)."
PredictionLogOption = Annotated[
    Path | None,
    typer.Option(
        envvar="SEQPIPE_PREDICTION_LOG",
        help="Folder of the prediction log (default: the workspace's predictions/).",
        file_okay=False,
        show_default=False,
    ),
]


@dataclass
class Invocation:
    """What one command line sets up once, reset by the app's callback before each command."""

    verbose: bool = False
    workspace: Path | None = None  # set once MLflow points at the workspace's store

    def reset(self, verbose: bool) -> None:
        """Start a command line: nothing carries over from an earlier one in this process."""
        self.verbose, self.workspace = verbose, None


invocation = Invocation()


def tracked_workspace() -> Path:
    """The workspace, with MLflow's tracking and registry pointed at its store (once a command).

    Raises:
        UserError: if a tracking server does not answer.
    """
    if invocation.workspace is None:
        from components.core import tracking
        from pipelines.common import workspace_dir

        workspace = workspace_dir()
        tracking.configure(workspace)
        invocation.workspace = workspace
    return invocation.workspace


def prediction_log_dir(option: Path | None) -> Path:
    """The prediction log's folder: the option's (or SEQPIPE_PREDICTION_LOG's), else the
    workspace's ``predictions/``."""
    from components.core.prediction_log import default_directory
    from pipelines.common import workspace_dir

    return option.resolve() if option else default_directory(workspace_dir())


def quiet_libraries() -> None:
    """Environment defaults for the libraries a command is about to import."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    # Reading a run's config is one small file: a progress bar would only clutter the output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # Pipelines run offline by default; the Prefect server must not try to phone home.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The temporary local server competes with TensorFlow's import for two cores at start.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


def quiet_flow_logs() -> None:
    """Prefect logs a failed task's traceback: for the user's errors, only without --verbose."""
    from pipelines.errors import hide_user_error_tracebacks

    if not invocation.verbose:
        hide_user_error_tracebacks()


def checked_family(name: str) -> str:
    """``name`` if a family has it, else a usage error naming the valid ones."""
    if name not in family_names():
        raise typer.BadParameter(f"unknown family {name!r}; valid: {family_names()}")
    return name


def print_ui_hint(
    families: Sequence[str] | None = None, host: str = "127.0.0.1", port: int = 5000
) -> None:
    """How to open the MLflow UI on this workspace's runs: one command that runs as printed,
    without an activated virtualenv, then each experiment's training runs (of ``families``,
    default every family), as pages that open in model-training mode, not GenAI."""
    from components.core import tracking, ui_links
    from pipelines.common import workspace_dir

    uri = tracking.tracking_uri(workspace_dir())
    base = ui_links.ui_base(uri, host, port)
    if tracking.is_embedded(uri):
        console.print(f"Open the MLflow UI: {ui_launch_command(host, port)}", soft_wrap=True)
    else:
        console.print(f"Open the MLflow UI: {base}/#/experiments?{ui_links.MODEL_TRAINING}")
    experiments = family_experiments(uri, families)
    if experiments:
        console.print("  then browse each experiment's runs:")
    elif tracking.is_embedded(uri):
        page = f"{base}/#/experiments?{ui_links.MODEL_TRAINING}"
        console.print(f"  then browse {page} (no experiment yet)", soft_wrap=True)
    for name, experiment_id, view in experiments:
        page = ui_links.experiment_runs(base, experiment_id, view)
        console.print(f"  {name}: {page}", soft_wrap=True)


def family_experiments(
    tracking_uri: str, families: Sequence[str] | None = None
) -> list[tuple[str, str, str | None]]:
    """(name, id, leaderboard view if saved) of the store's experiments of ``families``
    (default every family), by name; none when the store does not exist yet."""
    from mlflow import MlflowClient

    from components.core import tracking, ui_links
    from components.core.errors import UserError

    if tracking.is_embedded(tracking_uri) and not tracking.embedded_store_exists(tracking_uri):
        return []
    if not tracking.is_embedded(tracking_uri):
        try:
            tracking.check_server(tracking_uri)  # seconds, not MLflow's minutes of retries
        except UserError:
            return []
    found = MlflowClient(tracking_uri).search_experiments(
        filter_string="tags.`seqpipe.family` != ''"
    )
    return sorted(
        (experiment.name, experiment.experiment_id, ui_links.saved_view(experiment.tags))
        for experiment in found
        if families is None or experiment.tags.get("seqpipe.family") in families
    )


def ui_launch_command(host: str = "127.0.0.1", port: int = 5000) -> str:
    """``seqpipe ui --launch`` from this environment's own bin/, on this workspace."""
    import shlex
    import sys

    from pipelines.common import workspace_dir

    executable = Path(sys.executable).with_name("seqpipe")
    here = Path.cwd().resolve()
    shown = executable.relative_to(here) if executable.is_relative_to(here) else executable
    argv = [str(shown), "ui", "--launch"]
    if (host, port) != ("127.0.0.1", 5000):
        argv += ["--host", host, "--port", str(port)]
    workspace = workspace_dir().resolve()
    prefix = "" if workspace == here else f"SEQPIPE_WORKSPACE={shlex.quote(str(workspace))} "
    return prefix + shlex.join(argv)
