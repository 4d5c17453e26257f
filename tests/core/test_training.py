"""Shared Keras training: epochs logged once across an interrupted and resumed fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def test_an_epoch_logged_before_an_interruption_keeps_its_first_value(tmp_path: Path) -> None:
    import keras
    import mlflow

    from components.core.training import EpochMetrics

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    features, targets = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
    with mlflow.start_run() as run:
        # Killed after epoch 0 was logged but before it was saved: the rerun trains it again.
        mlflow.log_metric("loss", -1.0, step=0)
        model.fit(features, targets, epochs=2, callbacks=[EpochMetrics()], verbose=0)
    history = mlflow.MlflowClient().get_metric_history(run.info.run_id, "loss")
    by_step = sorted((point.step, point.value) for point in history)
    assert [step for step, _ in by_step] == [0, 1]
    assert by_step[0][1] == -1.0
