"""The seqpipe command line: help, argument errors, leaderboard on an empty store."""

from __future__ import annotations

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


def test_leaderboard_of_an_empty_store_prints_an_empty_table(workspace) -> None:
    result = runner.invoke(app, ["leaderboard", "forecasting"])
    assert result.exit_code == 0, result.output
    assert "forecasting leaderboard" in result.output


def test_rollback_without_a_previous_champion_is_an_error(workspace) -> None:
    result = runner.invoke(app, ["rollback", "forecasting-chicago"])
    assert result.exit_code == 2
    assert "previous-champion" in result.output


def test_deployment_has_a_daily_cron_schedule() -> None:
    from pipelines.deployments import deployment_for

    deployment = deployment_for("forecasting")
    assert deployment.name == "forecasting-daily"
    assert [schedule.schedule.cron for schedule in deployment.schedules] == ["0 3 * * *"]
    assert deployment.parameters == {"profile": "full"}
