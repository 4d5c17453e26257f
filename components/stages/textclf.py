"""Text classification stages: ingest, validate, prepare, baseline, train, evaluate, study."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import keras
import mlflow
import mlflow.tensorflow
import numpy as np
import pandas as pd

from components.classification import (
    classification_metrics,
    majority_class,
    misclassified,
    plot_compared_curves,
    plot_confusion_matrix,
)
from components.config import flatten
from components.configs.textclf import ModelRun, ResolvedTextRun, TextclfConfig, TextTask
from components.evaluation import plot_learning_curves
from components.models.textclf import TextClassifier, TfidfBaseline, builder
from components.preprocessing.text import SPLITS
from components.preprocessing.vectorizer import WordVectorizer
from components.registry import Candidate
from components.serving import log_text_classifier
from components.stages.common import (
    MODEL_URI_TAG,
    logged_model_uri,
    provenance_tags,
    write_report,
)
from components.text_sources import load_text_table
from components.validation import validate_text_table
from components.versioning import DataVersion, track_data, write_raw_table

FAMILY = "textclf"
EXAMPLE_TEXTS = 3  # test texts logged as the model's input example


@dataclass(frozen=True)
class PreparedText:
    """A validated task table, its vectorizer fitted on the training split, and token ids."""

    task_name: str
    task: TextTask
    frame: pd.DataFrame
    vectorizer: WordVectorizer
    ids: dict[str, np.ndarray]  # split -> padded token ids
    targets: dict[str, np.ndarray]  # split -> label ids (positions in task.labels)
    data: DataVersion

    def texts(self, split: str) -> list[str]:
        """The raw texts of one split, in table order."""
        return self.frame.loc[self.frame["split"] == split, "text"].tolist()


@dataclass(frozen=True)
class BaselineResult:
    """The TF-IDF baseline's run and its scores, with the majority-class guess's."""

    run_id: str
    metrics: dict[str, float]  # test_accuracy_baseline, test_macro_f1_baseline, ..._majority


def model_name(task_name: str) -> str:
    """Registered model name: textclf-<task>."""
    return f"{FAMILY}-{task_name}"


def pipeline_run_name(task_name: str) -> str:
    """Name of a task's pipeline run; its model runs nest under it in the MLflow UI."""
    return f"{FAMILY}-{task_name}-pipeline"


def ingest(config: TextclfConfig, task_name: str, workspace: Path) -> DataVersion:
    """Materialise the task's table under ``data/raw`` and version ``data/`` with DVC."""
    frame = load_text_table(config.tasks[task_name])
    path = write_raw_table(frame, workspace, model_name(task_name))
    return track_data(workspace, path)


def read_raw(workspace: Path, data: DataVersion) -> pd.DataFrame:
    """Read an ingested table back; only an empty field is missing (a review may say "NA")."""
    return pd.read_csv(workspace / data.path, dtype=str, keep_default_na=False, na_values=[""])


def validate(frame: pd.DataFrame, task: TextTask, task_name: str, report_dir: Path) -> Path:
    """Run the text suite; write its JSON result; raise ``DataValidationError`` on failure."""
    return write_report(validate_text_table(frame, task, task_name), report_dir)


def prepare(
    frame: pd.DataFrame, config: TextclfConfig, task_name: str, data: DataVersion
) -> PreparedText:
    """Fit the vectorizer on the training texts only, then turn every split into token ids."""
    task = config.tasks[task_name]
    label_ids = {label: index for index, label in enumerate(task.labels)}
    texts = {split: frame.loc[frame["split"] == split, "text"].tolist() for split in SPLITS}
    vectorizer = WordVectorizer(task.vectorizer.vocabulary_size, task.vectorizer.sequence_length)
    vectorizer.fit(texts["train"])
    return PreparedText(
        task_name=task_name,
        task=task,
        frame=frame.reset_index(drop=True),
        vectorizer=vectorizer,
        ids={split: vectorizer.transform(texts[split]) for split in SPLITS},
        targets={
            split: frame.loc[frame["split"] == split, "label"].map(label_ids).to_numpy("int64")
            for split in SPLITS
        },
        data=data,
    )


def run_tags(
    config: TextclfConfig,
    prepared: PreparedText,
    model: str,
    project_dir: Path,
    parent_run_id: str | None = None,
) -> dict[str, str]:
    """Tags every model run carries: what data, code and config produced it."""
    identity = {
        "seqpipe.task": prepared.task_name,
        "seqpipe.model": model,
        "seqpipe.registered_model": model_name(prepared.task_name),
    }
    return provenance_tags(FAMILY, identity, config, prepared.data, project_dir, parent_run_id)


def _log_data_params(prepared: PreparedText) -> None:
    mlflow.log_params({f"n_{split}": len(prepared.targets[split]) for split in SPLITS})
    mlflow.log_param("vocabulary_learned", prepared.vectorizer.size)


def _log_test_report(prepared: PreparedText, probabilities: np.ndarray, title: str) -> None:
    """Confusion matrix and the misclassified test examples, on the active run."""
    labels = prepared.task.labels
    actual = prepared.targets["test"]
    with tempfile.TemporaryDirectory() as scratch:
        mlflow.log_artifact(
            str(
                plot_confusion_matrix(
                    actual,
                    probabilities.argmax(axis=1),
                    labels,
                    title,
                    Path(scratch) / "confusion_matrix.png",
                )
            )
        )
    mlflow.log_table(
        misclassified(prepared.texts("test"), actual, probabilities, labels),
        artifact_file="misclassified.json",
    )


def train_baseline(
    prepared: PreparedText,
    config: TextclfConfig,
    experiment_id: str,
    parent_run_id: str | None,
    project_dir: Path,
) -> BaselineResult:
    """Fit TF-IDF + logistic regression on the training split and score it on the test split.

    It gets its own run in the family experiment; its scores (and the majority-class
    guess's) are returned so every model run can log them beside its own.
    """
    task = prepared.task
    baseline = TfidfBaseline(
        config.baseline, len(task.labels), config.training.class_weighting, config.training.seed
    )
    baseline.fit(prepared.texts("train"), prepared.targets["train"])
    probabilities = baseline.predict_proba(prepared.texts("test"))
    actual = prepared.targets["test"]
    scores = classification_metrics(actual, probabilities.argmax(axis=1), task.labels)
    guess = classification_metrics(
        actual, majority_class(prepared.targets["train"], len(actual)), task.labels
    )
    shared = {
        "test_accuracy_baseline": scores["accuracy"],
        "test_macro_f1_baseline": scores["macro_f1"],
        "test_accuracy_majority": guess["accuracy"],
        "test_macro_f1_majority": guess["macro_f1"],
    }
    tags = run_tags(config, prepared, "tfidf_logreg", project_dir, parent_run_id)
    with mlflow.start_run(experiment_id=experiment_id, run_name="tfidf_logreg", tags=tags) as run:
        mlflow.log_params(
            flatten(
                {
                    "task": task.model_dump(mode="json"),
                    "baseline": config.baseline.model_dump(mode="json"),
                }
            )
        )
        _log_data_params(prepared)
        mlflow.log_metrics({f"test_{name}": value for name, value in scores.items()} | shared)
        _log_test_report(
            prepared,
            probabilities,
            f"{prepared.task_name} TF-IDF + logistic regression: macro-F1 {scores['macro_f1']:.3f}",
        )
    return BaselineResult(run_id=run.info.run_id, metrics=shared)


def make_classifier(prepared: PreparedText, run: ResolvedTextRun) -> TextClassifier:
    """The untrained classifier a model run names, over the task's fitted vectorizer."""
    return TextClassifier(run, prepared.task.labels, prepared.vectorizer)


def train(
    prepared: PreparedText,
    config: TextclfConfig,
    run: ResolvedTextRun,
    experiment_id: str,
    parent_run_id: str | None,
    backup_dir: Path,
    project_dir: Path,
    callbacks: list | None = None,
) -> str:
    """Fit one classifier, log config, data version and curves, and log it as a pyfunc.

    Returns the MLflow run id.
    """
    tags = run_tags(config, prepared, run.name, project_dir, parent_run_id)
    classifier = make_classifier(prepared, run)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run.key, tags=tags) as active:
        run_config = config.model_dump(mode="json", exclude={"models", "tasks", "optimizer_study"})
        run_config.update(run.model_dump(mode="json"))
        run_config["task"] = prepared.task.model_dump(mode="json")
        mlflow.log_params(flatten(run_config))
        mlflow.log_dict(run_config, "config.json")
        _log_data_params(prepared)
        history = classifier.fit(
            prepared.ids,
            prepared.targets,
            backup_dir=backup_dir,
            pretraining=config.pretraining,
            callbacks=[mlflow.tensorflow.MlflowCallback(), *(callbacks or [])],
            pretraining_callbacks=[PrefixedMetricsCallback("lm_")],
        )
        with tempfile.TemporaryDirectory() as scratch:
            mlflow.log_artifact(
                str(
                    plot_learning_curves(
                        history,
                        f"{prepared.task_name} {run.key}: learning curves",
                        Path(scratch) / "learning_curves.png",
                    )
                )
            )
            if classifier.pretraining_history_:
                mlflow.log_artifact(
                    str(
                        plot_learning_curves(
                            classifier.pretraining_history_,
                            "language model pretraining",
                            Path(scratch) / "language_model_curves.png",
                        )
                    )
                )
        mlflow.set_tag(
            MODEL_URI_TAG, log_text_classifier(classifier, prepared.texts("test")[:EXAMPLE_TEXTS])
        )
        return active.info.run_id


class PrefixedMetricsCallback(keras.callbacks.Callback):
    """Logs per-epoch metrics under a prefix: the language model's curves keep their own names."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        mlflow.log_metrics(
            {f"{self.prefix}{name}": float(value) for name, value in (logs or {}).items()},
            step=epoch,
        )


def evaluate(
    prepared: PreparedText, run: ResolvedTextRun, run_id: str, baseline: BaselineResult
) -> dict[str, float]:
    """Score the logged model on the raw test texts, beside the baseline's scores.

    The model is loaded back from MLflow, so the numbers describe what will be registered.
    """
    model = mlflow.pyfunc.load_model(logged_model_uri(run_id))
    labels = prepared.task.labels
    predicted = model.predict(prepared.texts("test"))
    probabilities = predicted[[f"probability_{label}" for label in labels]].to_numpy("float64")
    scores = classification_metrics(prepared.targets["test"], probabilities.argmax(axis=1), labels)
    metrics = {f"test_{name}": value for name, value in scores.items()} | baseline.metrics
    metrics["test_texts"] = float(len(probabilities))
    with mlflow.start_run(run_id=run_id):
        mlflow.log_metrics(metrics)
        _log_test_report(
            prepared,
            probabilities,
            f"{prepared.task_name} {run.key}: macro-F1 "
            f"{scores['macro_f1']:.3f} (TF-IDF {metrics['test_macro_f1_baseline']:.3f})",
        )
    return metrics


def evaluation_key(prepared: PreparedText) -> str:
    """Identifies the test texts and data a score was computed on."""
    return json.dumps(
        {
            "data": prepared.data.file_md5,
            "task": prepared.task_name,
            "test_texts": len(prepared.targets["test"]),
        },
        sort_keys=True,
    )


def gate_floor(config: TextclfConfig, metrics: dict[str, float]) -> float:
    """The score a challenger must beat besides the champion (``config.gate_baseline``)."""
    column = {"tfidf_logreg": "test_macro_f1_baseline", "majority_class": "test_macro_f1_majority"}[
        config.gate_baseline
    ]
    return metrics[column]


def candidate(
    prepared: PreparedText, config: TextclfConfig, run_id: str, metrics: dict[str, float]
) -> Candidate:
    """The registry candidate of an evaluated run."""
    return Candidate(
        run_id=run_id,
        model_uri=logged_model_uri(run_id),
        model_name=model_name(prepared.task_name),
        score=metrics[config.gate.metric],
        baseline_score=gate_floor(config, metrics),
        evaluation_key=evaluation_key(prepared),
    )


def rescore(prepared: PreparedText, model_uri: str) -> float:
    """A registered model's test macro-F1 on this data (for a champion trained on other data)."""
    model = mlflow.pyfunc.load_model(model_uri)
    labels = prepared.task.labels
    predicted = model.predict(prepared.texts("test"))["label"]
    label_ids = {label: index for index, label in enumerate(labels)}
    return classification_metrics(
        prepared.targets["test"], predicted.map(label_ids).to_numpy("int64"), labels
    )["macro_f1"]


def study_runs(config: TextclfConfig, model: str) -> dict[str, ResolvedTextRun]:
    """Optimizer name -> the model run trained with it, on the study's equal epoch budget.

    Early stopping is off (patience = epochs): every optimizer gets the same epochs.

    Raises:
        ValueError: if ``model`` is not a registered classifier.
    """
    builder(model)  # an unknown name fails before any data is touched
    study = config.optimizer_study
    base = config.resolve(ModelRun(name=model))
    runs = {}
    for optimizer in study.optimizers:
        training = base.training.model_copy(
            update={
                "optimizer": optimizer,
                "epochs": study.epochs,
                "patience": study.epochs,
                "max_train_batches": study.max_train_batches,
            }
        )
        runs[optimizer.name] = base.model_copy(update={"training": training})
    return runs


def train_trial(
    prepared: PreparedText,
    config: TextclfConfig,
    run: ResolvedTextRun,
    experiment_id: str,
    study_run_id: str,
    backup_dir: Path,
    project_dir: Path,
    callbacks: list | None = None,
) -> dict[str, list[float]]:
    """Train one optimizer's model (``run.training.optimizer``) as a child run of the study;
    return its history."""
    optimizer = run.training.optimizer
    tags = run_tags(config, prepared, run.name, project_dir, study_run_id) | {
        "seqpipe.kind": "optimizer-trial",
        "seqpipe.optimizer": optimizer.name,
    }
    classifier = make_classifier(prepared, run)
    with mlflow.start_run(
        experiment_id=experiment_id, tags=tags, run_name=f"{run.name}-{optimizer.name}"
    ):
        mlflow.log_params(
            flatten(
                {
                    "model": run.model_dump(mode="json"),
                    "task": prepared.task.model_dump(mode="json"),
                }
            )
        )
        history = classifier.fit(
            prepared.ids,
            prepared.targets,
            backup_dir=backup_dir,
            callbacks=[mlflow.tensorflow.MlflowCallback(), *(callbacks or [])],
        )
        best = int(np.argmin(history["val_loss"]))
        probabilities = classifier.predict_proba(prepared.texts("test"))
        scores = classification_metrics(
            prepared.targets["test"], probabilities.argmax(axis=1), prepared.task.labels
        )
        mlflow.log_metrics(
            {
                "best_val_loss": history["val_loss"][best],
                "best_val_accuracy": max(history["val_accuracy"]),
                "best_epoch": float(best + 1),
                "test_accuracy": scores["accuracy"],
                "test_macro_f1": scores["macro_f1"],
            }
        )
    return history


def summarize_study(
    histories: dict[str, dict[str, list[float]]], title: str, study_run_id: str
) -> pd.DataFrame:
    """Plot every optimizer's validation curves together on the study run; return a summary."""
    summary = (
        pd.DataFrame(
            [
                {
                    "optimizer": name,
                    "best_val_loss": min(history["val_loss"]),
                    "best_val_accuracy": max(history["val_accuracy"]),
                    "final_val_loss": history["val_loss"][-1],
                    "epochs": len(history["val_loss"]),
                }
                for name, history in histories.items()
            ]
        )
        .sort_values("best_val_loss", kind="stable")
        .reset_index(drop=True)
    )
    client = mlflow.MlflowClient()
    with tempfile.TemporaryDirectory() as scratch:
        plot = plot_compared_curves(
            histories, ["val_loss", "val_accuracy"], title, Path(scratch) / "optimizer_study.png"
        )
        client.log_artifact(study_run_id, str(plot))
        table = Path(scratch) / "optimizer_study.json"
        table.write_text(summary.to_json(orient="records", indent=2))
        client.log_artifact(study_run_id, str(table))
    for row in summary.itertuples():
        client.log_metric(study_run_id, f"best_val_loss_{row.optimizer}", row.best_val_loss)
    client.set_tag(study_run_id, "optimizer_study.best", summary["optimizer"].iloc[0])
    return summary
