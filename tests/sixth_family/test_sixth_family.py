"""A sixth family, defined only here, plugs into the flow, the CLI, the leaderboard and the
deployments with nothing but its folder and one registry line."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from components.families import FAMILIES, family_names, get_family

FOLDER = Path(__file__).parent / "tally"


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
    tally, prefect_server, workspace: Path
) -> None:
    from pipelines.cli import app
    from pipelines.deployments import deployment_for

    runner = CliRunner()
    result = runner.invoke(app, ["run", "tally"])
    assert result.exit_code == 0, result.output
    assert "tally-line leaderboard" in result.output  # the run ends with its leaderboard

    champion = MlflowClient().get_model_version_by_alias("tally-line", "champion")
    run = mlflow.get_run(champion.run_id)
    assert run.data.tags["seqpipe.model"] == "ridge"  # the line beats its mean
    assert run.data.metrics["test_mae"] < run.data.metrics["test_mae_baseline"]
    model = mlflow.pyfunc.load_model("models:/tally-line@champion")
    answer = model.predict(pd.DataFrame({"x": [0.0, 0.5]}))
    assert answer["y"].tolist() == pytest.approx([1.0, 2.5], abs=0.1)  # y = 3x + 1

    board = runner.invoke(app, ["leaderboard", "tally"])
    assert board.exit_code == 0, board.output
    assert "ridge" in board.output and "mean" in board.output

    deployment = deployment_for("tally", profile="quick")
    assert deployment.parameters == {"family": "tally", "profile": "quick"}
