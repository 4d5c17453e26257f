"""Against a real tracking server (MLflow + PostgreSQL, started by infra/local's script): two
flows at once end with one champion, which then serves over HTTP with its lineage."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.families.forecasting.tiny import chicago_document

pytestmark = pytest.mark.slow

CHICAGO = chicago_document()

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "infra" / "local" / "tracking-server.sh"
SEQPIPE = str(Path(sys.executable).with_name("seqpipe"))
NAME = "forecasting-chicago"
TINY = {
    "window": 28,
    "dataset": CHICAGO["dataset"],
    "split": {**CHICAGO["split"], "train_start": "2013-01-01"},
    "models": [{"name": "naive_seasonal", "features": "univariate"}],
    "profiles": {"quick": {}},
}

JSON = {"accept": "application/json"}  # /version answers the lineage as JSON


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def tracking_server() -> str:
    """A PostgreSQL-backed MLflow server for this module; yields its URI."""
    # Not under pytest's private temporary folder: as root, the script runs PostgreSQL as the
    # postgres user, who must be able to reach the cluster's directory.
    directory = Path(tempfile.mkdtemp(prefix="seqpipe-tracking-"))
    directory.chmod(0o755)
    mlflow_port = free_port()
    started = subprocess.run(
        ["bash", str(SCRIPT), "start", str(directory), str(free_port()), str(mlflow_port)],
        env=os.environ | {"SEQPIPE_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        assert started.returncode == 0, started.stderr
        yield f"http://127.0.0.1:{mlflow_port}"
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(directory)], timeout=120)
        shutil.rmtree(directory, ignore_errors=True)


def test_two_flows_at_once_end_with_one_champion_that_serves_from_the_server(
    tracking_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow
    from fastapi.testclient import TestClient
    from mlflow import MlflowClient

    from components.core.lineage import lineage
    from pipelines.alias_follower import AliasFollower
    from pipelines.model_server import create_app

    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    flows = []
    for machine in ("first", "second"):  # two workspaces: two machines sharing one server
        workspace = tmp_path / machine
        workspace.mkdir()
        env = os.environ | {
            "MLFLOW_TRACKING_URI": tracking_server,
            "SEQPIPE_WORKSPACE": str(workspace),
            "PREFECT_HOME": str(workspace / ".prefect"),  # nor do they share cached results
        }
        env.pop("PREFECT_API_URL", None)
        flows.append(
            subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("seqpipe")),
                    "run",
                    "forecasting",
                    "--config",
                    str(config),
                ],
                env=env,
                stdout=(workspace / "run.log").open("w"),
                stderr=subprocess.STDOUT,
            )
        )
    for flow, machine in zip(flows, ("first", "second"), strict=True):
        assert flow.wait(timeout=600) == 0, (tmp_path / machine / "run.log").read_text()[-3000:]

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server)
    mlflow.set_tracking_uri(tracking_server)
    mlflow.set_registry_uri(tracking_server)
    client = MlflowClient()
    versions = client.search_model_versions(f"name = '{NAME}'")
    decisions = sorted(version.tags.get("gate.decision", "") for version in versions)
    # One version is promoted. The same data version is gated once: a flow that registers
    # after the other has recorded its decision registers nothing; one racing it is kept.
    kinds = [decision.split(":")[0] for decision in decisions]
    assert kinds in (["promoted"], ["kept", "promoted"]), decisions
    champion = client.get_model_version_by_alias(NAME, "champion")
    assert champion.tags["gate.decision"].startswith("promoted")
    # Artifacts live behind the tracking server, not on a client's disk.
    assert client.get_run(champion.run_id).info.artifact_uri.startswith("mlflow-artifacts:")

    follower = AliasFollower(NAME, "champion")
    assert follower.refresh()
    http = TestClient(create_app(follower))
    local = mlflow.artifacts.download_artifacts(f"models:/{NAME}@champion")
    body = json.loads(mlflow.models.Model.load(local).get_serving_input(local))
    response = http.post("/predict", json=body)
    assert response.status_code == 200, response.text
    assert http.get("/version", headers=JSON).json()["version"] == str(champion.version)
    assert lineage(f"{NAME}@champion").data_version.endswith(".dir")
