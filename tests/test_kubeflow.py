"""Every family's flow compiles to a Kubeflow Pipelines v2 spec whose steps run real seqpipe
commands: validate and baselines, every other model in parallel, then the registry gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml

from components.families import family_names
from pipelines.cli import app
from pipelines.flow import STAGES
from pipelines.kubeflow import compile_family, family_models

pytestmark = pytest.mark.slow  # a second Python environment, and every family's config


def run_options() -> set[str]:
    command = typer.main.get_command(app).commands["run"]
    return {option for parameter in command.params for option in parameter.opts}


@pytest.mark.parametrize("family", family_names())
def test_the_family_compiles_to_a_pipeline_of_its_stages(family: str, tmp_path: Path) -> None:
    spec, platform = yaml.safe_load_all(compile_family(family, tmp_path / "p.yaml").read_text())
    models, baselines = family_models(family)
    tasks = spec["root"]["dag"]["tasks"]
    loop = next(task for name, task in tasks.items() if name.startswith("for-loop"))
    assert loop["dependentTasks"] == ["validate-and-baselines"]
    assert tasks["register"]["dependentTasks"] == [next(n for n in tasks if n.startswith("for-"))]
    looped = json.loads(loop["parameterIterator"]["items"]["raw"])
    assert sorted(looped + baselines) == models and baselines  # each model in one step

    executors = spec["deploymentSpec"]["executors"]
    assert set(executors) == {
        "exec-validate-and-baselines",
        "exec-train-and-evaluate",
        "exec-register",
    }
    options = run_options()
    for executor in executors.values():
        container = executor["container"]
        assert container["command"] == ["seqpipe"] and container["args"][:2] == ["run", family]
        arguments = container["args"][2:]
        assert {word for word in arguments if word.startswith("--")} <= options
        assert arguments[arguments.index("--until") + 1] in STAGES
        named = [arguments[i + 1] for i, word in enumerate(arguments) if word == "--model"]
        assert all(name in models or name.startswith("{{") for name in named)
    assert executors["exec-validate-and-baselines"]["container"]["args"].count("--model") == len(
        baselines
    )
    mounts = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for executor in mounts.values():
        assert executor["pvcMount"][0]["mountPath"] == "/workspace"
        assert executor["configMapAsEnv"][0]["configMapName"] == "seqpipe-config"


def test_the_flow_stops_after_the_stage_it_is_asked_for() -> None:
    assert STAGES == ("validate", "evaluate", "register")
    assert "--until" in run_options()
