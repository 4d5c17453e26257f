"""Deployments come from the family registry: one per family, in code and in infra/."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.core.errors import UserError
from components.families import family_names
from pipelines.deployments import (
    ENTRYPOINT,
    MONITOR_ENTRYPOINT,
    deployment_for,
    deployment_name,
    deployment_parameters,
    monitor_deployment_for,
)

PREFECT_YAML = Path(__file__).resolve().parents[2] / "infra" / "prefect" / "prefect.yaml"


def test_prefect_yaml_has_one_deployment_per_registered_family() -> None:
    deployments = yaml.safe_load(PREFECT_YAML.read_text())["deployments"]
    by_name = {deployment["name"]: deployment for deployment in deployments}
    assert set(by_name) == {deployment_name(family) for family in family_names()}
    for family in family_names():
        deployment = by_name[deployment_name(family)]
        assert deployment["entrypoint"] == ENTRYPOINT
        assert deployment["parameters"] == deployment_parameters(family, "full")
        (schedule,) = deployment["schedules"]
        assert schedule["timezone"] == "UTC" and schedule["cron"]
        assert deployment["concurrency_limit"] == 1


def test_the_entrypoint_names_the_flow_every_deployment_runs() -> None:
    from pipelines.flow import pipeline_flow

    path, _, attribute = ENTRYPOINT.partition(":")
    assert (PREFECT_YAML.parents[2] / path).is_file()
    assert attribute == pipeline_flow.fn.__name__


@pytest.mark.parametrize("family", family_names())
def test_every_family_has_a_deployment_with_a_cron_schedule(family: str) -> None:
    deployment = deployment_for(family, cron="0 3 * * *", profile="full")
    assert deployment.name == deployment_name(family)
    assert deployment.parameters == {"family": family, "profile": "full"}
    assert [schedule.schedule.cron for schedule in deployment.schedules] == ["0 3 * * *"]


def test_an_unknown_family_has_no_deployment() -> None:
    with pytest.raises(UserError, match=r"unknown family 'weather'.*forecasting"):
        deployment_for("weather")


def test_a_family_is_retrained_when_a_monitor_reports_one_of_its_models_degraded() -> None:
    from prefect.events import DeploymentEventTrigger

    from pipelines.monitor import DEGRADED_EVENT, model_resource

    (trigger,) = deployment_for("forecasting").triggers
    assert isinstance(trigger, DeploymentEventTrigger)
    assert trigger.expect == {DEGRADED_EVENT}
    resource = model_resource("forecasting-chicago-h14", "forecasting")
    assert all(resource[label] == value for label, value in trigger.match.root.items())
    assert model_resource("textclf-finefoods", "textclf")["seqpipe.family"] != "forecasting"


def test_a_monitor_deployment_runs_the_monitor_flow_on_its_schedule(tmp_path) -> None:
    from pipelines.monitor import monitor_flow

    deployment = monitor_deployment_for("forecasting-chicago", "15 * * * *", tmp_path, 2.0)
    assert deployment.name == "forecasting-chicago-monitor"
    assert deployment.parameters == {
        "model_name": "forecasting-chicago",
        "max_ratio": 2.0,
        "workspace": str(tmp_path.resolve()),
    }
    assert [schedule.schedule.cron for schedule in deployment.schedules] == ["15 * * * *"]
    assert MONITOR_ENTRYPOINT.endswith(f":{monitor_flow.fn.__name__}")
