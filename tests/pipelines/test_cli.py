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
        "windw: 3\n"
        "dataset: {path: s.csv, date_column: d, target_column: y, frequency: fortnightly}\n"
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


def test_a_user_configs_tasks_get_their_own_leaderboards_ranked_by_their_gates(
    mlflow_store: str,
) -> None:
    from mlflow import MlflowClient

    from components.core.stages import GATE_DIRECTION_TAG, GATE_METRIC_TAG

    client = MlflowClient()
    experiment = client.create_experiment("textclf-mine", tags={"seqpipe.family": "textclf"})
    boards = {  # task names no default config holds, with gates of their own
        "textclf-my-reviews": ("test_macro_f1", "greater", {"best-f1": 0.9, "worst-f1": 0.6}),
        "textclf-my-plays": ("test_loss", "less", {"best-loss": 0.2, "worst-loss": 0.8}),
    }
    for registered, (metric, direction, scores) in boards.items():
        for name, score in scores.items():
            tags = {
                "seqpipe.kind": "model",
                "seqpipe.registered_model": registered,
                GATE_METRIC_TAG: metric,
                GATE_DIRECTION_TAG: direction,
            }
            run = client.create_run(experiment, tags=tags, run_name=name)
            client.log_metric(run.info.run_id, metric, score)
            client.set_terminated(run.info.run_id)
    result = runner.invoke(app, ["leaderboard", "textclf"])
    assert result.exit_code == 0, result.output
    for registered, (metric, _, scores) in boards.items():
        assert f"{registered} leaderboard (best {metric} first)" in result.output
        best, worst = scores
        assert result.output.index(best) < result.output.index(worst)


def test_a_bug_is_a_short_error_with_a_hint_and_its_traceback_only_when_verbose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import components.core.lineage

    def broken(reference: str) -> None:
        raise KeyError("a bug of ours")

    monkeypatch.setattr("pipelines.cli.registry.tracked_workspace", lambda: None)
    monkeypatch.setattr(components.core.lineage, "lineage", broken)
    quiet = runner.invoke(app, ["lineage", "forecasting-chicago"])
    assert quiet.exit_code == 1
    assert "KeyError: 'a bug of ours'" in quiet.output and "--verbose" in quiet.output
    assert "Traceback" not in quiet.output
    verbose = runner.invoke(app, ["--verbose", "lineage", "forecasting-chicago"])
    assert verbose.exit_code == 1 and "Traceback" in verbose.output


def test_generation_params_take_the_types_of_the_signature() -> None:
    from mlflow.types import ParamSchema, ParamSpec

    from components.core.errors import UserError
    from pipelines.cli.params import params_from_text

    schema = ParamSchema(
        [
            ParamSpec("max_chars", "long", 200),
            ParamSpec("temperature", "double", 1.0),
            ParamSpec("greedy", "boolean", False),
            ParamSpec("stop", "string", ["."], shape=(-1,)),
        ]
    )
    given = ["max_chars=60", "temperature=0.5", "greedy=true", "stop=.,!"]
    assert params_from_text(given, schema, "m") == {
        "max_chars": 60,
        "temperature": 0.5,
        "greedy": True,
        "stop": [".", "!"],
    }
    with pytest.raises(UserError, match="m takes no param 'chars'; valid params: max_chars"):
        params_from_text(["chars=60"], schema, "m")
    with pytest.raises(UserError, match="max_chars takes a whole number"):
        params_from_text(["max_chars=many"], schema, "m")
    with pytest.raises(UserError, match="write NAME=VALUE"):
        params_from_text(["temperature"], schema, "m")
