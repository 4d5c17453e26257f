"""The MLflow UI hint every command ends with: one command that runs as printed, from any
shell (no activated virtualenv), on the workspace the runs went to."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from components.core import tracking
from pipelines.cli.shared import ui_launch_command

FAMILY_TAG = {"seqpipe.family": "textclf"}


def test_the_hint_runs_as_printed_without_an_activated_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = tmp_path / "my workspace"
    workspace.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEQPIPE_WORKSPACE", str(workspace))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracking.configure(workspace)
    experiment = tracking.ensure_experiment("textclf-reviews", workspace, FAMILY_TAG)
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
    # Each experiment's training runs, opened in model-training mode (not GenAI).
    runs = f"http://127.0.0.1:5000/#/experiments/{experiment}/runs?workflowType=machine_learning"
    assert f"textclf-reviews: {runs}\n" in printed.stdout
    assert f"SEQPIPE_WORKSPACE={shlex.quote(str(workspace))} " in printed.stdout


def test_inside_the_workspace_the_hint_is_just_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEQPIPE_WORKSPACE", raising=False)
    assert ui_launch_command().endswith("seqpipe ui --launch")
    assert "SEQPIPE_WORKSPACE" not in ui_launch_command()
    assert "--port 5001" in ui_launch_command(port=5001)


def test_an_experiment_with_its_leaderboard_view_is_printed_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlflow import MlflowClient

    from components.core import ui_links
    from pipelines.cli.shared import print_ui_hint

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEQPIPE_WORKSPACE", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracking.configure(tmp_path)
    plain = tracking.ensure_experiment("textclf-reviews", tmp_path, FAMILY_TAG)
    viewed = tracking.ensure_experiment("chargen-plays", tmp_path, {"seqpipe.family": "chargen"})
    view = ui_links.leaderboard_view([("test_bits_per_char", False)])
    MlflowClient().set_experiment_tag(
        viewed, ui_links.SHARED_VIEW_TAG + "seqpipe-leaderboard", view
    )
    tracking.ensure_experiment("scratch", tmp_path)  # no family: not a seqpipe experiment
    print_ui_hint()
    printed = capsys.readouterr().out
    assert f"/#/experiments/{plain}/runs?workflowType=machine_learning\n" in printed
    assert (
        f"/#/experiments/{viewed}/runs?workflowType=machine_learning"
        "&viewStateShareKey=seqpipe-leaderboard\n"
    ) in printed
    assert "scratch" not in printed
    print_ui_hint(["chargen"])
    assert "textclf-reviews" not in capsys.readouterr().out
