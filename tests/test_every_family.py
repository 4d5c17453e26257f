"""Every family of the registry through the contract: every model fits, logs and reloads with
the same predictions, and every family's flow ends with one champion per registered model.

A family's test setup lives in ``tests/families/<family>/tiny.py``; a family without one fails
here, so a new family cannot be missed.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from components.core import stages
from components.families import family_names, get_family

FAMILIES_DIR = Path(__file__).parent / "families"


@cache
def tiny(family: str) -> ModuleType:
    """The family's tiny test setup module."""
    path = FAMILIES_DIR / family / "tiny.py"
    if not path.exists():
        pytest.fail(f"family {family!r} has no test setup {path.relative_to(FAMILIES_DIR.parent)}")
    spec = importlib.util.spec_from_file_location(f"tiny_{family}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def prepared_data(family: str):
    """The tiny config with every model, and its prepared data (built once per session)."""
    config = tiny(family).every_model_config()
    return config, tiny(family).prepared(config)


CASES = [
    (family, run.key)
    for family in family_names()
    for run in tiny(family).every_model_config().runs()
]


@pytest.mark.parametrize("family", family_names())
def test_the_tiny_setup_covers_every_model_of_the_family(family: str) -> None:
    chosen = get_family(family)
    runs = tiny(family).every_model_config().runs()
    assert {run.name for run in runs} == set(chosen.model_names())
    assert set(chosen.baselines) <= set(chosen.model_names())


@pytest.mark.parametrize(("family", "key"), CASES, ids=[f"{f}-{k}" for f, k in CASES])
def test_every_model_fits_logs_and_reloads_with_the_same_predictions(
    family: str, key: str, mlflow_store: str, tmp_path: Path
) -> None:
    chosen = get_family(family)
    config, prepared = prepared_data(family)
    run = next(run for run in config.runs() if run.key == key)
    fitted = chosen.fit(prepared, run, tmp_path / "backup", [])
    if fitted.history:  # iterative models: a finite loss at every epoch
        assert fitted.history["loss"] and np.isfinite(fitted.history["loss"]).all()
    with mlflow.start_run():
        logged = chosen.log_model(prepared, fitted)
    reloaded = mlflow.pyfunc.load_model(logged.uri)
    tiny(family).same_predictions(logged.output, reloaded.predict(logged.example))
    scored = tmp_path / "evaluation"
    scored.mkdir()
    model = reloaded.unwrap_python_model()
    evaluation, _ = stages.assess(chosen, prepared, run, model, None, scored)
    assert np.isfinite(evaluation.metrics[chosen.gate(config, run).metric])
    assert evaluation.artifacts and all(path.exists() for path in evaluation.artifacts)


@pytest.mark.slow
@pytest.mark.parametrize("family", family_names())
def test_every_family_flow_ends_with_one_champion_per_registered_model(
    family: str, prefect_server, workspace: Path
) -> None:
    from pipelines.flow import pipeline_flow

    chosen = get_family(family)
    config_path = tiny(family).flow_config(workspace)
    config = chosen.load_config(config_path)
    decisions = pipeline_flow(family, profile="quick", config_path=str(config_path))
    expected = {
        chosen.registered_model(task, run)
        for task in chosen.select_tasks(config, None)
        for run in config.runs()
    }
    assert {decision.registered_model for decision in decisions} == expected
    client = MlflowClient()
    for name in expected:
        (version,) = client.search_model_versions(f"name = '{name}'")  # the flow's pick only
        champion = client.get_model_version_by_alias(name, "champion")
        assert champion.version == version.version and champion.description
        model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
        assert len(model.predict(model.input_example)) > 0
    experiments = client.search_experiments(filter_string=f"tags.`seqpipe.family` = '{family}'")
    runs = client.search_runs(
        [experiment.experiment_id for experiment in experiments], "tags.`seqpipe.kind` = 'model'"
    )
    baselines = {
        run.data.tags["seqpipe.model"]
        for run in runs
        if run.data.tags["seqpipe.baseline"] == "true"
    }
    assert baselines == set(chosen.baselines)  # trained in every flow
    gates = {
        chosen.registered_model(task, run): chosen.gate(config, run).metric
        for task in chosen.select_tasks(config, None)
        for run in config.runs()
    }
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.tags["data.dvc_hash"] and run.data.tags["git.commit"]
        assert gates[run.data.tags["seqpipe.registered_model"]] in run.data.metrics
        assert run.inputs.dataset_inputs  # the UI's Dataset column
