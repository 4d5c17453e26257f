"""The MLflow UI hint every command ends with: one command that runs as printed, from any
shell (no activated virtualenv), on the workspace the runs went to."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli.shared import ui_launch_command


def test_the_hint_runs_as_printed_without_an_activated_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = tmp_path / "my workspace"
    workspace.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEQPIPE_WORKSPACE", str(workspace))
    command = ui_launch_command()
    assert command.startswith(f"SEQPIPE_WORKSPACE={shlex.quote(str(workspace))} ")
    assert command.endswith("seqpipe ui --launch")
    # Run as a user would paste it, with this environment's bin/ off PATH: `seqpipe ui` (its
    # dry form) runs, on this very workspace.
    shown = command.replace(" ui --launch", " ui")
    path = os.pathsep.join(
        part
        for part in os.environ["PATH"].split(os.pathsep)
        if Path(sys.executable).parent != Path(part)
    )
    env = {key: value for key, value in os.environ.items() if key != "SEQPIPE_WORKSPACE"}
    env.pop("MLFLOW_TRACKING_URI", None)
    printed = subprocess.run(
        shown, shell=True, cwd=tmp_path, env=env | {"PATH": path}, capture_output=True, text=True
    )
    assert printed.returncode == 0, printed.stderr[-2000:]
    assert "workflowType=machine_learning" in printed.stdout
    assert f"SEQPIPE_WORKSPACE={shlex.quote(str(workspace))} " in printed.stdout


def test_inside_the_workspace_the_hint_is_just_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEQPIPE_WORKSPACE", raising=False)
    assert ui_launch_command().endswith("seqpipe ui --launch")
    assert "SEQPIPE_WORKSPACE" not in ui_launch_command()
    assert "--port 5001" in ui_launch_command(port=5001)
