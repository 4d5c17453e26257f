"""Every family of the registry through the contract: every model fits, logs and reloads with
the same predictions, every family's flow ends with one champion per registered model, and
every bad input a user may write stops at reading or at the suite with a message naming it.

A family's test setup lives in ``tests/families/<family>/tiny.py`` and its table of bad inputs
in ``tests/families/<family>/bad_inputs.py``; a family without either fails here, so a new
family cannot be missed. A table holds ``FILE`` (where a case writes, beside the config),
``CONFIG`` (the user's config YAML pointing at it), ``good`` (writes a file that passes) and
its cases, name -> (what is at ``FILE``, a regex the error message must match), in
``READING`` (stopped at reading) and ``SUITE`` (read, then stopped by the suite). What is at
``FILE`` is nothing (None), that content (text or bytes), or what a function writes there (it
returns changes to ``CONFIG``, or None).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from components.core import stages
from components.core.config import deep_merge
from components.core.errors import UserError
from components.core.validation import DataValidationError
from components.families import family_names, get_family

FAMILIES_DIR = Path(__file__).parent / "families"


@cache
def family_test_module(family: str, name: str) -> ModuleType:
    """``tests/families/<family>/<name>.py`` (test folders are not packages)."""
    path = FAMILIES_DIR / family / f"{name}.py"
    if not path.exists():
        pytest.fail(f"family {family!r} has no {path.relative_to(FAMILIES_DIR.parent)}")
    spec = importlib.util.spec_from_file_location(f"{name}_{family}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny(family: str) -> ModuleType:
    """The family's tiny test setup module."""
    return family_test_module(family, "tiny")


def bad_inputs(family: str) -> ModuleType:
    """The family's table of bad inputs."""
    return family_test_module(family, "bad_inputs")


def same_frames(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    """What a reloaded model answers equals what the model in memory answered (a family's
    tiny setup may say how, as ``same_predictions``)."""
    pd.testing.assert_frame_equal(expected, actual, rtol=1e-5, atol=1e-6)


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
    same_predictions = getattr(tiny(family), "same_predictions", same_frames)
    same_predictions(logged.output, reloaded.predict(logged.example))
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
    config_path = workspace / f"{family}-tiny.yaml"
    config_path.write_text(yaml.safe_dump(tiny(family).flow_document(), sort_keys=False))
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


STAGES = ("READING", "SUITE")  # where the flow stops a bad input: ingest, or validate
BAD_INPUTS = [
    (family, stage, case)
    for family in family_names()
    if (FAMILIES_DIR / family / "bad_inputs.py").exists()  # else the declaring test fails
    for stage in STAGES
    for case in getattr(bad_inputs(family), stage)
]


def read_and_validate(family: str, config_path: Path) -> None:
    """What the flow's ingest and validate stages do with a user's config and data: the one
    place these tests call the family's data contract."""
    chosen = get_family(family)
    config = chosen.load_config(config_path)
    for task in chosen.select_tasks(config, None):
        report = chosen.validate(chosen.load_table(task), task)
        if not report.success:
            raise DataValidationError(report)


def user_config(
    family: str, directory: Path, written: Callable[[Path], dict | None] | str | bytes | None
) -> Path:
    """The family's bad-input config in ``directory``, beside what a case puts there."""
    table = bad_inputs(family)
    if isinstance(written, str):
        written = written.encode()
    if isinstance(written, bytes):
        (directory / table.FILE).write_bytes(written)
    changes = written(directory / table.FILE) if callable(written) else None
    path = directory / f"{family}.yaml"  # relative paths in it are its neighbours
    path.write_text(yaml.safe_dump(deep_merge(yaml.safe_load(table.CONFIG), changes or {})))
    return path


@pytest.mark.parametrize("family", family_names())
def test_every_family_declares_bad_inputs_whose_config_passes_a_good_file(
    family: str, tmp_path: Path
) -> None:
    table = bad_inputs(family)
    assert all(getattr(table, stage) for stage in STAGES)
    assert not set(table.READING) & set(table.SUITE)  # a case's name is its test id
    read_and_validate(family, user_config(family, tmp_path, table.good))


@pytest.mark.parametrize(
    ("family", "stage", "case"), BAD_INPUTS, ids=[f"{f}-{c}" for f, _, c in BAD_INPUTS]
)
def test_a_bad_input_is_stopped_with_a_short_message_naming_the_problem(
    family: str, stage: str, case: str, tmp_path: Path
) -> None:
    written, message = getattr(bad_inputs(family), stage)[case]
    config_path = user_config(family, tmp_path, written)
    with pytest.raises(UserError, match=message) as failure:
        read_and_validate(family, config_path)
    by_the_suite = isinstance(failure.value, DataValidationError)
    assert by_the_suite == (stage == "SUITE")
    _, *details = str(failure.value).splitlines()  # what, where, what to do: never a dump
    if by_the_suite:  # one line per failed expectation
        assert len(details) == len(failure.value.report.failures) <= 6
    else:
        assert len(details) <= 5
