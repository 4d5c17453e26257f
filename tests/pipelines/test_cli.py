"""The seqpipe command line: help, argument errors, leaderboard on an empty store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "leaderboard", "rollback", "schedule", "serve", "ui"):
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


def test_a_config_error_stops_before_any_work_in_a_few_lines(workspace) -> None:
    config = workspace / "typo.yaml"
    config.write_text(
        "windw: 3\ndataset: {frequency: fortnightly}\n"
        "models: [{name: gru}]\nprofiles: {quick: {}}\n"
    )
    result = seqpipe("run", "forecasting", "--config", str(config))
    assert result.returncode == 2
    message = [line for line in result.stderr.splitlines() if "oneDNN" not in line]
    assert (
        "invalid config" in result.stderr
        and "windw: Extra inputs are not permitted" in result.stderr
    )
    assert "unknown frequency 'fortnightly'" in result.stderr
    assert "Traceback" not in result.stderr and len(message) < 12
    assert not (workspace / "data").exists()  # nothing ingested


def test_an_unknown_model_is_named_with_the_valid_ones(workspace) -> None:
    result = seqpipe("run", "forecasting", "-m", "grux")
    assert result.returncode == 2
    assert "unknown model(s) ['grux']" in result.stderr and "'gru'" in result.stderr
    assert not (workspace / "data").exists()


def test_serving_a_model_that_is_not_registered_names_the_registered_ones(workspace) -> None:
    result = seqpipe("serve", "forecasting-moon", "--port", "0")
    assert result.returncode == 2
    assert "no registered model 'forecasting-moon'" in result.stderr
    assert "seqpipe run all" in result.stderr  # an empty store says how to fill it


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_stopping_the_ui_leaves_no_process_behind(workspace) -> None:
    import signal
    import socket
    import time
    from urllib.request import urlopen

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    executable = Path(sys.executable).with_name("seqpipe")
    ui = subprocess.Popen(
        [str(executable), "ui", "--launch", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert ui.poll() is None and time.monotonic() < deadline, "the UI did not start"
            try:
                with urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                time.sleep(1)
        started = descendants(ui.pid)
        assert started  # the UI server and its workers
        ui.send_signal(signal.SIGTERM)
        ui.wait(timeout=30)
    finally:
        ui.kill()
    time.sleep(0.5)
    assert not [pid for pid in started if alive(pid)]


def test_generate_without_a_text_generator_says_how_to_get_one(workspace) -> None:
    result = seqpipe("generate", "To be")
    assert result.returncode == 2
    assert "no registered model with a champion generates text" in result.stderr


def test_reproducing_an_unknown_version_is_a_short_error(workspace) -> None:
    result = seqpipe("reproduce", "nosuch@champion")
    assert result.returncode == 2
    assert "no model version 'nosuch@champion'" in result.stderr
    assert "Traceback" not in result.stderr
