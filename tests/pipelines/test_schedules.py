"""Schedules fire: a real Prefect server's scheduler creates a run of a family deployment,
``seqpipe schedule`` executes it to a champion, and stops within seconds when told to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bench.services import api, free_port
from tests.families.forecasting.tiny import chicago_document

pytestmark = pytest.mark.slow

CHICAGO = chicago_document()

BIN = Path(sys.executable).parent


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def scheduling_server(tmp_path: Path):
    """A real Prefect server with its services, on loopback, its scheduler looping every 2 s."""
    port = free_port()
    env = os.environ | {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
    }
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen(
        [
            str(BIN / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-ui",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api"

    def healthy() -> bool:
        try:
            return api(url, "/health") is True
        except OSError:
            return False

    try:
        wait_for(healthy, 180, "the Prefect server")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_scheduler_creates_a_run_that_the_schedule_command_completes(
    scheduling_server: str, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    config = tmp_path / "tiny.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "window": 28,
                "dataset": CHICAGO["dataset"],
                "split": {**CHICAGO["split"], "train_start": "2013-01-01"},
                "models": [{"name": "naive_seasonal", "features": "univariate"}],
                "profiles": {"quick": {}},
            }
        )
    )
    env = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
    env |= {
        "PREFECT_API_URL": scheduling_server,
        "PREFECT_HOME": str(tmp_path / "client"),
        "SEQPIPE_WORKSPACE": str(workspace),
    }
    log = tmp_path / "schedule.log"
    scheduler = subprocess.Popen(
        [
            str(BIN / "seqpipe"),
            "schedule",
            "forecasting",
            "--interval",
            "10",  # the first run is due one interval after the deployment is created
            "--profile",
            "quick",
            "--config",
            str(config),
        ],
        env=env,
        cwd=tmp_path,  # not the repository: the deployment names its module and workspace
        stdout=log.open("w"),  # a pipe nobody reads would fill up and stall the scheduler
        stderr=subprocess.STDOUT,
    )
    try:

        def completed():
            # Future runs are scheduled too: ask for the completed ones only.
            completed_only = {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}
            return api(scheduling_server, "/flow_runs/filter", completed_only | {"limit": 5})

        run = wait_for(completed, 600, "a completed scheduled run")[0]
        assert run["auto_scheduled"] is True  # created by the server's scheduler, not by us
        assert run["parameters"]["workspace"] == str(workspace.resolve())
        import mlflow

        uri = f"sqlite:///{workspace / 'mlruns' / 'mlflow.db'}"
        client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
        assert client.get_model_version_by_alias("forecasting-chicago", "champion")
        # The retrain also waits for a monitor's verdict: its trigger is an automation.
        automations = api(scheduling_server, "/automations/filter", {})
        assert [item["name"] for item in automations] == ["retrain forecasting on a degraded model"]
    finally:
        scheduler.send_signal(signal.SIGTERM)
        started = time.monotonic()
        scheduler.wait(timeout=30)
    output = log.read_text()
    assert time.monotonic() - started < 15, output[-2000:]
    # Stopped through the runner's own stop, no coroutine left unawaited.
    assert "never awaited" not in output and "Traceback" not in output, output[-3000:]


def test_a_replaced_schedule_leaves_no_due_run_behind(scheduling_server, tmp_path: Path) -> None:
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from pipelines.deployments import deployment_for
    from pipelines.scheduler import drop_runs_of_old_schedules, replaced_schedules

    def due_runs() -> list:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs()
        now = time.time()
        return [
            run
            for run in runs
            if run.state_type == "SCHEDULED"
            and run.expected_start_time is not None
            and run.expected_start_time.timestamp() < now
        ]

    with temporary_settings({PREFECT_API_URL: scheduling_server}):
        every_second = deployment_for("forecasting", profile="quick", interval_seconds=1)
        every_second.apply()
        # The server schedules runs ahead; with no scheduler serving them, they fall due.
        wait_for(due_runs, 120, "a scheduled run to fall due")
        again = deployment_for("forecasting", profile="quick", interval_seconds=1)
        assert replaced_schedules([again]) == []  # the same schedule keeps its runs
        nightly = deployment_for("forecasting", "0 3 * * *", profile="quick")
        replaced = replaced_schedules([nightly])
        assert replaced == ["seqpipe/forecasting-daily"]
        nightly.apply()  # as the scheduler serves it
        assert due_runs()  # Prefect's own apply leaves the due runs of the old schedule
        assert drop_runs_of_old_schedules(replaced) >= 1
        assert not due_runs()  # nothing of the old schedule starts under the new one
