"""Faults leave nothing half-done: a killed run resumes, concurrent first runs in a fresh
workspace both finish, an unreachable tracking server fails fast. Real ``seqpipe`` processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.families.forecasting.tiny import chicago_document

SEQPIPE = str(Path(sys.executable).with_name("seqpipe"))

CHICAGO = chicago_document()


def environment(workspace: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API")}
    env.pop("MLFLOW_TRACKING_URI", None)
    return (
        env
        | {"SEQPIPE_WORKSPACE": str(workspace), "PREFECT_HOME": str(workspace / ".prefect")}
        | extra
    )


def tiny_config(directory: Path, models: list[dict], epochs: int = 2, batches: int = 8) -> Path:
    document = {
        "window": 28,
        "dataset": CHICAGO["dataset"],
        "split": {**CHICAGO["split"], "train_start": "2011-01-01"},
        "architecture": {"units": 8, "layers": 1},
        "training": {
            "epochs": epochs,
            "patience": epochs,
            "batch_size": 32,
            "max_train_batches": batches,
        },
        "models": models,
        "profiles": {"quick": {}},
    }
    path = directory / "tiny.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def store(workspace: Path):
    import mlflow

    uri = f"sqlite:///{workspace / 'mlruns' / 'mlflow.db'}"
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def model_runs(client, experiment: str = "forecasting-chicago"):
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    return client.search_runs([experiment_id], "tags.`seqpipe.kind` = 'model'")


@pytest.mark.slow
def test_a_killed_run_resumes_with_every_epoch_and_leaves_no_process(tmp_path: Path) -> None:
    config = tiny_config(tmp_path, [{"name": "gru"}], epochs=6, batches=60)
    env = environment(tmp_path)
    killed = subprocess.Popen(
        [SEQPIPE, "run", "forecasting", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    backups = tmp_path / ".seqpipe" / "backups"
    deadline = time.monotonic() + 600
    while not any(backups.glob("*/*")) and time.monotonic() < deadline:  # an epoch is saved
        assert killed.poll() is None, "the run ended before it could be killed"
        time.sleep(0.5)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    time.sleep(3)  # the kernel stops the temporary Prefect server (parent-death signal)
    server = subprocess.run(
        ["pgrep", "-f", f"prefect.server.api.server.*{killed.pid}|uvicorn.*create_app"],
        capture_output=True,
        text=True,
    )
    survivors = [pid for pid in server.stdout.split() if _parent(int(pid)) == killed.pid]
    assert survivors == []

    resumed = subprocess.run(
        [SEQPIPE, "run", "forecasting", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    client = store(tmp_path)
    runs = model_runs(client)
    assert {run.info.status for run in runs} == {"FINISHED"}  # the killed one resumed, none RUNNING
    gru = next(run for run in runs if run.data.tags["seqpipe.model"] == "gru")
    steps = sorted(point.step for point in client.get_metric_history(gru.info.run_id, "val_loss"))
    assert steps == list(range(6))  # every epoch, the ones before the kill included
    pipelines = client.search_runs(
        [client.get_experiment_by_name("forecasting-chicago").experiment_id],
        "tags.`seqpipe.kind` = 'pipeline'",
    )
    assert "RUNNING" not in {run.info.status for run in pipelines}  # the killed one is FAILED
    assert client.get_model_version_by_alias("forecasting-chicago", "champion")


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().split()[3])
    except (OSError, ValueError, IndexError):
        return -1


@pytest.mark.slow
def test_two_first_runs_in_a_fresh_workspace_end_with_one_champion(tmp_path: Path) -> None:
    env = environment(tmp_path)
    configs = []
    # Quick models: what races is the store, the experiment and the gate, not the training.
    challengers = [{"name": "gbm"}, {"name": "ar", "features": "univariate"}]
    for index, model in enumerate(challengers):
        folder = tmp_path / f"config-{index}"
        folder.mkdir()
        configs.append(
            tiny_config(folder, [{"name": "naive_seasonal", "features": "univariate"}, model])
        )
    runs = [
        subprocess.Popen(
            [SEQPIPE, "run", "forecasting", "--config", str(config)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for config in configs
    ]
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(out[-2000:] for out in outputs)
    client = store(tmp_path)
    runs = [
        run
        for run in model_runs(client)
        if run.data.tags["seqpipe.registered_model"] == "forecasting-chicago"
    ]
    # Each flow scores the runs it trained, even when both trained the baseline at once.
    assert all("test_mae" in run.data.metrics for run in runs), [r.info.run_name for r in runs]
    scores = {run.info.run_id: run.data.metrics["test_mae"] for run in runs}
    champion = client.get_model_version_by_alias("forecasting-chicago", "champion")
    # The better of both flows; both train the same baseline, so the best score may be a tie.
    assert scores[champion.run_id] == min(scores.values())
    versions = client.search_model_versions("name = 'forecasting-chicago'")
    assert all("gate.decision" in version.tags for version in versions)  # each gated once


def test_an_unreachable_tracking_server_fails_fast_and_leaves_nothing(tmp_path: Path) -> None:
    env = environment(tmp_path, MLFLOW_TRACKING_URI="http://127.0.0.1:9")
    started = time.monotonic()
    result = subprocess.run(
        [SEQPIPE, "leaderboard", "forecasting"], env=env, capture_output=True, text=True, timeout=60
    )
    assert time.monotonic() - started < 15
    assert result.returncode == 2
    assert "http://127.0.0.1:9 does not answer" in result.stderr
    assert not (tmp_path / "mlruns").exists()
