"""The seqpipe command line: help, argument errors, leaderboard on an empty store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "leaderboard", "rollback", "serve", "ui"):
        assert command in result.output


def test_run_help_documents_the_options() -> None:
    result = runner.invoke(app, ["run", "--help"])
    assert result.exit_code == 0
    for option in ("--model", "--profile", "--config"):
        assert option in result.output


def test_unknown_family_is_rejected_with_the_valid_names() -> None:
    result = runner.invoke(app, ["run", "weather"])
    assert result.exit_code == 2
    assert "unknown family 'weather'" in result.output and "forecasting" in result.output


def seqpipe(*args: str) -> subprocess.CompletedProcess[str]:
    # A real process: the commands below open the MLflow store, which is what users run.
    executable = Path(sys.executable).with_name("seqpipe")
    return subprocess.run([str(executable), *args], capture_output=True, text=True, timeout=120)


def test_leaderboard_of_an_empty_store_prints_an_empty_table(workspace) -> None:
    result = seqpipe("leaderboard", "forecasting")
    assert result.returncode == 0, result.stderr
    assert "forecasting leaderboard" in result.stdout


def test_rollback_without_a_previous_champion_is_an_error(workspace) -> None:
    result = seqpipe("rollback", "forecasting-chicago")
    assert result.returncode == 2
    assert "previous-champion" in result.stderr
