"""Experiments on a store shared by flows that start at the same moment."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_an_experiment_created_by_another_flow_meanwhile_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow
    from mlflow import MlflowClient

    from components.core.tracking import ensure_experiment

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    created_by_other_flow = MlflowClient().create_experiment("forecasting-chicago")
    looked_up = MlflowClient.get_experiment_by_name
    calls = []

    def not_there_yet(client: MlflowClient, name: str):  # the other flow's insert lands after
        calls.append(name)
        return None if len(calls) == 1 else looked_up(client, name)

    monkeypatch.setattr(MlflowClient, "get_experiment_by_name", not_there_yet)
    assert ensure_experiment("forecasting-chicago", tmp_path, {"family": "forecasting"}) == (
        created_by_other_flow
    )
    assert MlflowClient().get_experiment(created_by_other_flow).tags["family"] == "forecasting"


def test_the_commit_is_dirty_for_a_code_change_not_for_the_flows_data_bookkeeping(
    tmp_path: Path,
) -> None:
    import subprocess

    from components.core.tracking import git_commit

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.email=a@b", "-c", "user.name=a", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "data.dvc").write_text("outs: []\n")
    git("add", ".")
    git("commit", "-qm", "first")
    head = git("rev-parse", "HEAD")
    (tmp_path / "data.dvc").write_text("outs: [{md5: abc.dir}]\n")  # a flow's ingest
    assert git_commit(tmp_path) == head
    (tmp_path / "code.py").write_text("x = 2\n")  # a real uncommitted change
    assert git_commit(tmp_path) == f"{head}-dirty"
    assert git_commit(tmp_path / "missing") == "unknown"
