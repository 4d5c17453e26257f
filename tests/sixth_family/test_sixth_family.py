"""A sixth family, defined only here, plugs into the flow, the CLI, the leaderboard and the
deployments with nothing but its folder and one registry line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from components.families import FAMILIES, family_names, get_family

FOLDER = Path(__file__).parent / "tally"
# What a user's entry point adds to the registry: the family's folder and its one line.
REGISTER = (
    f"import sys; sys.path.insert(0, {str(FOLDER.parent)!r}); "
    "from components.families import FAMILIES; "
    "FAMILIES['tally'] = 'tally.family:TallyFamily'; "
)


def seqpipe(*arguments: str) -> subprocess.CompletedProcess[str]:
    """The ``seqpipe`` command with the tally family registered, as its own process."""
    from prefect.settings import PREFECT_API_URL

    program = REGISTER + f"from pipelines.cli import app; app({list(arguments)!r})"
    environment = os.environ | {"PREFECT_API_URL": str(PREFECT_API_URL.value())}
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=environment
    )


@pytest.fixture
def tally(monkeypatch: pytest.MonkeyPatch):
    """The tally family in the registry: its folder importable, and its one line."""
    monkeypatch.syspath_prepend(str(FOLDER.parent))
    monkeypatch.setitem(FAMILIES, "tally", "tally.family:TallyFamily")
    get_family.cache_clear()
    yield get_family("tally")
    get_family.cache_clear()


def test_the_family_is_its_folder_alone() -> None:
    assert sorted(path.name for path in FOLDER.iterdir() if path.name != "__pycache__") == [
        "__init__.py",
        "config.py",
        "family.py",
        "tally.yaml",
    ]


def test_the_registry_line_makes_it_a_family(tally) -> None:
    assert "tally" in family_names()
    config = tally.load_config()  # its YAML found beside its module, its run type derived
    assert [run.key for run in config.runs()] == ["ridge"]
    assert tally.config_type.__name__ == "TallyConfig"


@pytest.mark.slow
def test_a_sixth_family_runs_through_the_flow_cli_leaderboard_and_deployments(
    tally, prefect_server, mlflow_store: str
) -> None:
    from pipelines.deployments import deployment_for

    result = seqpipe("run", "tally")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tally-line leaderboard" in result.stdout  # the run ends with its leaderboard

    champion = MlflowClient().get_model_version_by_alias("tally-line", "champion")
    run = mlflow.get_run(champion.run_id)
    assert run.data.tags["seqpipe.model"] == "ridge"  # the line beats its mean
    assert run.data.metrics["test_mae"] < run.data.metrics["test_mae_baseline"]
    model = mlflow.pyfunc.load_model("models:/tally-line@champion")
    answer = model.predict(pd.DataFrame({"x": [0.0, 0.5]}))
    assert answer["y"].tolist() == pytest.approx([1.0, 2.5], abs=0.1)  # y = 3x + 1

    board = seqpipe("leaderboard", "tally")
    assert board.returncode == 0, board.stdout + board.stderr
    assert "ridge" in board.stdout and "mean" in board.stdout

    deployment = deployment_for("tally", profile="quick")
    assert deployment.parameters == {"family": "tally", "profile": "quick"}
