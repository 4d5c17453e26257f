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
