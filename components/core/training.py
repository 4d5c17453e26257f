"""Keras training shared by every family: optimizers, losses, callbacks, seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras

from components.core.config import OptimizerConfig, TrainingConfig


def make_optimizer(config: OptimizerConfig):
    """The Keras optimizer a config names."""

    rate = config.learning_rate
    factories = {
        "sgd": lambda: keras.optimizers.SGD(learning_rate=rate),
        "momentum": lambda: keras.optimizers.SGD(learning_rate=rate, momentum=config.momentum),
        "adagrad": lambda: keras.optimizers.Adagrad(learning_rate=rate),
        "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=rate),
        "adam": lambda: keras.optimizers.Adam(learning_rate=rate),
    }
    return factories[config.name]()


def make_loss(name: str):
    """The Keras loss a config names."""

    losses = {
        "huber": keras.losses.Huber,
        "mse": keras.losses.MeanSquaredError,
        "mae": keras.losses.MeanAbsoluteError,
    }
    if name not in losses:
        raise ValueError(f"unknown loss {name!r}; valid names: {sorted(losses)}")
    return losses[name]()


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the Keras backend."""

    keras.utils.set_random_seed(seed)


class EpochMetrics(keras.callbacks.Callback):
    """Logs each epoch's metrics to the active MLflow run, under Keras' names (``loss``,
    ``val_loss``, ...) with an optional prefix for an earlier phase (``lm_loss``).

    MLflow's own Keras callback also logs ``validation_*`` copies and the optimizer's settings
    as ``opt_*`` params, which repeat the metrics and the logged config.
    """

    def __init__(self, prefix: str = "") -> None:
        super().__init__()
        self.prefix = prefix

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        import mlflow

        if mlflow.active_run() is None:  # fitted outside a tracked run: nothing to log to
            return
        mlflow.log_metrics(
            {f"{self.prefix}{name}": float(value) for name, value in (logs or {}).items()},
            step=epoch,
        )


class EpochLogger(keras.callbacks.Callback):
    """Reports each finished epoch to a logger: the progress of long fits in flow logs."""

    def __init__(self, label: str, logger: Any) -> None:
        super().__init__()
        self.label = label
        self.logger = logger

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        shown = ", ".join(f"{name} {value:.4f}" for name, value in (logs or {}).items())
        self.logger.info("%s epoch %d/%d: %s", self.label, epoch + 1, self.params["epochs"], shown)


def fit_model(
    model,
    train_data,
    validation_data,
    config: TrainingConfig,
    backup_dir: Path,
    callbacks: list[Any] | None = None,
    verbose: int | str = "auto",
) -> dict[str, list[float]]:
    """Fit with early stopping on validation loss and resumable epochs; return the history.

    ``backup_dir`` holds ``BackupAndRestore`` state: a run interrupted mid-training resumes
    from its last finished epoch when started again with the same directory.
    """

    if config.max_train_batches:
        train_data = train_data.take(config.max_train_batches)
    standard = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.patience, restore_best_weights=True
        ),
        keras.callbacks.BackupAndRestore(backup_dir=str(backup_dir)),
    ]
    history = model.fit(
        train_data,
        validation_data=validation_data,
        epochs=config.epochs,
        callbacks=standard + list(callbacks or []),
        verbose=verbose,
        shuffle=False,  # the window datasets shuffle themselves, seeded
    )
    return {name: [float(value) for value in values] for name, values in history.history.items()}
