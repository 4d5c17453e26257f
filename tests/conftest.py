"""Shared fixtures: real data slices, an isolated workspace and one Prefect server per session."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import combinations
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def chicago() -> pd.DataFrame:
    """The real Chicago ridership table, as ingested."""
    from components.families.forecasting.family import ForecastingFamily
    from components.families.forecasting.sources import load_series_table

    return load_series_table(ForecastingFamily().load_config().dataset)


@pytest.fixture(scope="session")
def finefoods() -> pd.DataFrame:
    """The real fine-food reviews table with its split, as ingested."""
    from components.families.textclf.family import TextclfFamily
    from components.families.textclf.sources import load_text_table

    return load_text_table(TextclfFamily().load_config().tasks["finefoods"])


@pytest.fixture(scope="session")
def shakespeare() -> pd.DataFrame:
    """The real Shakespeare passages table with its by-play split, as ingested."""
    from components.families.textclf.family import TextclfFamily
    from components.families.textclf.sources import load_text_table

    return load_text_table(TextclfFamily().load_config().tasks["shakespeare-genre"])


def point_at_workspace(patch: pytest.MonkeyPatch, directory: Path) -> None:
    """Flows and stores use ``directory`` as their workspace, never an outside MLflow server."""
    patch.setenv("SEQPIPE_WORKSPACE", str(directory))
    patch.delenv("MLFLOW_TRACKING_URI", raising=False)


@contextmanager
def _workspace_env(directory: Path) -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        point_at_workspace(patch, directory)
        yield patch


@pytest.fixture(scope="session")
def workspace_env():
    """A context manager pointing flows at a workspace directory (for module-scoped fixtures);
    it yields its ``MonkeyPatch`` and undoes everything on exit."""
    return _workspace_env


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace with its own DVC repo and MLflow store."""
    point_at_workspace(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def mlflow_store(workspace: Path) -> str:
    """MLflow tracking and registry pointed at the workspace's SQLite store."""
    from components.core import tracking

    uri = tracking.configure(workspace)
    yield uri
    import mlflow

    while mlflow.active_run():
        mlflow.end_run()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory):
    """One temporary Prefect server and database for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    storage = tmp_path_factory.mktemp("prefect-results")
    os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(storage)
    with prefect_test_harness(server_startup_timeout=120):
        yield


def check_splits_survive_growth(steps: Sequence[Mapping[str, str]]) -> None:
    """Asserts what a growing source's hash split promises over its versions (each maps an
    item's identity to its split): every item keeps its split, and a later test split holds
    every earlier test item and gains only items no earlier version held out or trained on."""
    for step, assignment in enumerate(steps):
        assert set(assignment.values()) == {"train", "validation", "test"}, f"version {step}"
    for earlier, later in combinations(steps, 2):
        assert set(earlier) < set(later), "every version adds items to the ones before"
        moved = {item for item, split in earlier.items() if later[item] != split}
        assert not moved, f"items changed split as the source grew: {sorted(moved)[:5]}"
        earlier_test = {item for item, split in earlier.items() if split == "test"}
        later_test = {item for item, split in later.items() if split == "test"}
        assert earlier_test <= later_test
        seen = {item for item, split in earlier.items() if split != "test"}
        assert not later_test & seen, "a later test split holds items trained or validated on"


@pytest.fixture
def splits_survive_growth() -> Callable[[Sequence[Mapping[str, str]]], None]:
    """``check_splits_survive_growth``, for test modules (test folders are not packages)."""
    return check_splits_survive_growth
