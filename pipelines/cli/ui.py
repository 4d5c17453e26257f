"""``seqpipe ui``: the command that opens the MLflow UI on this workspace, or the UI itself."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from components.core.errors import UserError
from pipelines.cli.shared import print_ui_hint


def ui(
    launch: Annotated[
        bool, typer.Option(help="Start the MLflow UI instead of printing how.")
    ] = False,
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
) -> None:
    """Print (or run) the command that opens the MLflow UI on this workspace.

    Stopping it (Ctrl-C, SIGTERM) stops every process of the UI.
    """
    import shlex
    import sys

    from components.core import tracking
    from pipelines.common import workspace_dir
    from pipelines.processes import run_process_group

    if not launch:
        print_ui_hint(host=host, port=port)
        return
    command = tracking.ui_command(workspace_dir(), host, port)
    if not command.startswith("mlflow "):
        raise UserError(f"the tracking store is a server with its own UI: {command}")
    # The UI's background job runner serves GenAI features this project does not use; without
    # it, the UI is one server and its workers.
    env = os.environ | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    # This environment's MLflow, whether or not its bin/ is on PATH.
    argv = [sys.executable, "-m", *shlex.split(command)]
    raise typer.Exit(run_process_group(argv, env))
