"""Keras training shared by every family: optimizers, losses, callbacks, seeds."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
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


def save_weights_atomically(model, path: Path) -> None:
    """Save a model's weights so that ``path`` holds either nothing or all of them: a process
    killed while HDF5 is being written leaves only a partial file under another name."""

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".partial-{os.getpid()}-{path.name}")  # still ends in .weights.h5
    model.save_weights(partial, overwrite=True)
    os.replace(partial, path)


def write_text_atomically(path: Path, text: str) -> None:
    """Replace a small text file in one step (write beside it, then rename over it)."""

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".partial-{os.getpid()}-{path.name}")
    partial.write_text(text)
    os.replace(partial, path)


class ResumableEpochs(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` whose every saved epoch is all or nothing.

    Keras writes ``latest.weights.h5`` in place, so a run killed mid-write leaves a file that
    cannot be opened and the next start fails. Here each epoch's weights go to a file of their
    own and the metadata naming them is replaced atomically last: it is the commit point, and
    an interrupted save leaves the previous epoch's state untouched.
    """

    def __init__(self, backup_dir: str | Path) -> None:
        super().__init__(backup_dir=str(backup_dir), save_freq="epoch")
        self._metadata = Path(self._training_metadata_path)

    def _save_model(self) -> None:
        directory = Path(self.backup_dir)
        weights = directory / f"epoch-{self._current_epoch}.weights.h5"
        save_weights_atomically(self.model, weights)
        write_text_atomically(
            self._metadata,
            json.dumps({"epoch": self._current_epoch, "batch": 0, "weights": weights.name}),
        )
        stale = [*directory.glob("epoch-*.weights.h5"), *directory.glob(".partial-*")]
        for path in stale:  # earlier epochs and interrupted saves; other files are not ours
            if path != weights:
                path.unlink(missing_ok=True)

    def _load_model(self) -> None:
        if not self._metadata.exists():
            return  # nothing committed yet: train from the first epoch
        state = json.loads(self._metadata.read_text())
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)  # restores its slots too
        self.model.load_weights(Path(self.backup_dir) / state["weights"])
        self.model._initial_epoch = state["epoch"]


class EpochMetrics(keras.callbacks.Callback):
    """Logs each epoch's metrics to the active MLflow run, under Keras' names (``loss``,
    ``val_loss``, ...) with an optional prefix for an earlier phase (``lm_loss``).

    MLflow's own Keras callback also logs ``validation_*`` copies and the optimizer's settings
    as ``opt_*`` params, which repeat the metrics and the logged config. It runs before
    ``ResumableEpochs`` commits the epoch, so every committed epoch is logged; an epoch logged
    but not committed before an interruption is trained again and keeps its first values.
    """

    def __init__(self, prefix: str = "") -> None:
        super().__init__()
        self.prefix = prefix
        self._logged_steps: set[int] | None = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self._logged_steps = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        import mlflow

        run = mlflow.active_run()
        if run is None or not logs:  # fitted outside a tracked run: nothing to log to
            return
        metrics = {f"{self.prefix}{name}": float(value) for name, value in logs.items()}
        if self._logged_steps is None:
            # A resumed run may hold epochs logged but never committed, the first one
            # included (killed between its log and its save), so look even at epoch 0.
            history = mlflow.MlflowClient().get_metric_history(run.info.run_id, next(iter(metrics)))
            self._logged_steps = {point.step for point in history}
        if epoch not in self._logged_steps:
            mlflow.log_metrics(metrics, step=epoch)


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
    model: Any,
    datasets: Mapping[str, Any],
    config: TrainingConfig,
    backup_dir: Path,
    callbacks: list[Any] | None = None,
    verbose: int | str = 0,
) -> dict[str, list[float]]:
    """Fit on ``datasets["train"]`` with early stopping on ``datasets["validation"]``'s loss
    and resumable epochs; return the history.

    ``backup_dir`` holds ``ResumableEpochs`` state: a run interrupted mid-training resumes
    from its last finished epoch when started again with the same directory.
    """
    train_data, validation_data = datasets["train"], datasets["validation"]
    if config.max_train_batches:
        train_data = train_data.take(config.max_train_batches)
    stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=config.patience, restore_best_weights=True
    )
    history = model.fit(
        train_data,
        validation_data=validation_data,
        epochs=config.epochs,
        # The epoch is committed last, after every other callback has seen (and logged) it.
        callbacks=[stopping, *(callbacks or []), ResumableEpochs(backup_dir)],
        verbose=verbose,
        shuffle=False,  # the window datasets shuffle themselves, seeded
    )
    return {name: [float(value) for value in values] for name, values in history.history.items()}
