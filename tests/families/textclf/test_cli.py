"""The text classification family on the command line: its options and argument errors."""

from __future__ import annotations

from typer.testing import CliRunner

from components.families import family_names, get_family
from pipelines.cli import app

runner = CliRunner()


def test_family_is_registered_with_its_gate_metric() -> None:
    assert "textclf" in family_names()
    family = get_family("textclf")
    gate = family.load_config().gate
    assert (gate.metric, gate.greater_is_better) == ("test_macro_f1", True)
    assert {"test_accuracy", "test_macro_f1_baseline"} <= set(family.leaderboard_columns)


def test_study_command_documents_its_options() -> None:
    result = runner.invoke(app, ["study", "--help"])
    assert result.exit_code == 0
    for option in ("--task", "--model", "--profile", "--config"):
        assert option in result.output


def test_optimizer_study_of_a_family_without_one_is_rejected() -> None:
    result = runner.invoke(app, ["study", "forecasting", "optimizers", "--task", "chicago"])
    assert result.exit_code == 2
    assert "no optimizer study for 'forecasting'" in result.output
