"""The text classification family: labelled texts per task, recurrent classifiers and TF-IDF."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from components.core.contract import (
    Evaluation,
    Family,
    Fitted,
    Gate,
    LoggedModel,
    Prepared,
    Scores,
    Task,
)
from components.core.drift import DriftStatistic
from components.core.validation import ValidationReport
from components.core.versioning import DataVersion
from components.families.textclf.config import (
    ARCHITECTURE_READS,
    ResolvedTextRun,
    TextclfConfig,
    TextTask,
)
from components.families.textclf.drift import text_drift
from components.families.textclf.metrics import (
    classification_metrics,
    majority_class,
    misclassified,
    plot_confusion_matrix,
)
from components.families.textclf.models import TfidfBaseline
from components.families.textclf.serving import TextClassifierModel
from components.families.textclf.sources import load_text_table
from components.families.textclf.suite import validate_text_table
from components.families.textclf.text import SPLITS

if TYPE_CHECKING:
    from components.families.textclf.vectorizer import WordVectorizer

BASELINE = TfidfBaseline.kind
EXAMPLE_TEXTS = 3  # test texts logged as the model's input example
OPTIMIZER_STUDY = "optimizers"


@dataclass(frozen=True)
class PreparedText(Prepared[TextclfConfig]):
    """A validated task table, its vectorizer fitted on the training split, and token ids."""

    frame: pd.DataFrame
    vectorizer: WordVectorizer
    ids: dict[str, np.ndarray]  # split -> padded token ids
    targets: dict[str, np.ndarray]  # split -> label ids (positions in task_config.labels)

    @property
    def task_config(self) -> TextTask:
        """The task's section of the config: its source, labels and vectorizer."""
        return self.config.tasks[self.task.name]

    def texts(self, split: str) -> list[str]:
        """The raw texts of one split, in table order."""
        return self.frame.loc[self.frame["split"] == split, "text"].tolist()

    def splits(self) -> Mapping[str, pd.DataFrame]:
        columns = ["document", "text", "label"]
        return {split: self.frame.loc[self.frame["split"] == split, columns] for split in SPLITS}


class TextclfFamily(Family[TextclfConfig, PreparedText, ResolvedTextRun, TextClassifierModel]):
    """Texts to labels, one registered model per task of the config."""

    name = "textclf"
    leaderboard_columns = ("test_accuracy", "test_macro_f1_baseline")
    baselines = (BASELINE,)
    floor_metric = "test_macro_f1_baseline"  # TF-IDF's; `gate` reads config.gate_baseline
    architecture_reads = ARCHITECTURE_READS
    studies = (OPTIMIZER_STUDY,)

    def tasks(self, config: TextclfConfig) -> list[str]:
        return list(config.tasks)

    def model_names(self) -> list[str]:
        # The networks' registry lives beside their Keras builders: listed only when asked.
        from components.families.textclf.networks import BUILDERS

        return sorted([*BUILDERS, BASELINE])

    def baseline_runs(
        self, config: TextclfConfig, runs: list[ResolvedTextRun]
    ) -> list[ResolvedTextRun]:
        return [config.resolve({"name": BASELINE})] if runs else []

    def gate(self, config: TextclfConfig, run: ResolvedTextRun) -> Gate:
        floor = {
            "tfidf_logreg": "test_macro_f1_baseline",
            "majority_class": "test_majority_macro_f1",
        }[config.gate_baseline]
        return Gate.of(config.gate, floor, config.gate_baseline)

    def run_params(self, prepared: PreparedText, run: ResolvedTextRun) -> dict[str, Any]:
        config = prepared.config
        data = {f"n_{split}": len(prepared.targets[split]) for split in SPLITS}
        task = {"task": prepared.task_config.model_dump(mode="json")}
        if run.name == BASELINE:
            training = {
                "class_weighting": run.training.class_weighting,
                "seed": run.training.seed,
            }
            return (
                {
                    "model": run.name,
                    "baseline": config.baseline.model_dump(mode="json"),
                    "training": training,
                }
                | task
                | data
            )
        pretraining = (
            {"pretraining": config.pretraining.model_dump(mode="json")} if run.pretrained else {}
        )
        vocabulary = {"vocabulary_learned": prepared.vectorizer.size}
        return super().run_params(prepared, run) | pretraining | task | data | vocabulary

    def load_table(self, task: Task[TextclfConfig]) -> pd.DataFrame:
        return load_text_table(task.config.tasks[task.name])

    def validate(self, frame: pd.DataFrame, task: Task[TextclfConfig]) -> ValidationReport:
        return validate_text_table(frame, task.config.tasks[task.name], task.name)

    def drift_statistics(
        self, reference: pd.DataFrame, current: pd.DataFrame, task: Task[TextclfConfig]
    ) -> list[DriftStatistic]:
        return text_drift(reference, current)

    def prepare(
        self, frame: pd.DataFrame, task: Task[TextclfConfig], data: DataVersion
    ) -> PreparedText:
        """Fit the vectorizer on the training texts only, then turn every split into ids."""
        from components.families.textclf.vectorizer import WordVectorizer

        settings = task.config.tasks[task.name]
        label_ids = {label: index for index, label in enumerate(settings.labels)}
        texts = {split: frame.loc[frame["split"] == split, "text"].tolist() for split in SPLITS}
        vectorizer = WordVectorizer(
            settings.vectorizer.vocabulary_size, settings.vectorizer.sequence_length
        )
        vectorizer.fit(texts["train"])
        return PreparedText(
            task=task,
            data=data,
            frame=frame.reset_index(drop=True),
            vectorizer=vectorizer,
            ids={split: vectorizer.transform(texts[split]) for split in SPLITS},
            targets={
                split: frame.loc[frame["split"] == split, "label"].map(label_ids).to_numpy("int64")
                for split in SPLITS
            },
        )

    def fit(
        self, prepared: PreparedText, run: ResolvedTextRun, backup_dir: Path, callbacks: list[Any]
    ) -> Fitted[TextClassifierModel]:
        config = prepared.config
        labels = prepared.task_config.labels
        if run.name == BASELINE:
            baseline = TfidfBaseline(
                config.baseline, labels, run.training.class_weighting, run.training.seed
            )
            baseline.fit(prepared.texts("train"), prepared.targets["train"])
            return Fitted(model=TextClassifierModel(baseline))
        from components.core.training import EpochMetrics
        from components.families.textclf.networks import TextClassifier

        classifier = TextClassifier(run, labels, prepared.vectorizer)
        history = classifier.fit(
            prepared.ids,
            prepared.targets,
            backup_dir=backup_dir,
            pretraining=config.pretraining,
            callbacks=callbacks,
            pretraining_callbacks=[EpochMetrics("lm_")],
        )
        phases = (
            {"language_model": classifier.pretraining_history_}
            if classifier.pretraining_history_
            else {}
        )
        return Fitted(model=TextClassifierModel(classifier), history=history, phases=phases)

    def log_model(self, prepared: PreparedText, fitted: Fitted[TextClassifierModel]) -> LoggedModel:
        return fitted.model.log(prepared.texts("test")[:EXAMPLE_TEXTS])

    def score(
        self, prepared: PreparedText, run: ResolvedTextRun, model: TextClassifierModel
    ) -> Scores:
        labels = prepared.task_config.labels
        actual = prepared.targets["test"]
        probabilities = self._probabilities(model, prepared)
        scores = classification_metrics(actual, probabilities.argmax(axis=1), labels)
        guess = classification_metrics(
            actual, majority_class(prepared.targets["train"], len(actual)), labels
        )
        metrics = {f"test_{name}": value for name, value in scores.items()} | {
            "test_majority_accuracy": guess["accuracy"],
            "test_majority_macro_f1": guess["macro_f1"],
            "test_texts": float(len(actual)),
        }
        return Scores(metrics, {"test_texts": len(actual)}, probabilities)

    def report(
        self,
        prepared: PreparedText,
        run: ResolvedTextRun,
        model: TextClassifierModel,
        scores: Scores,
        reference: dict[str, float] | None,
        out_dir: Path,
    ) -> Evaluation:
        labels = prepared.task_config.labels
        actual = prepared.targets["test"]
        probabilities: np.ndarray = scores.outputs
        metrics = {}
        # The TF-IDF baseline's scores beside every model's; the baseline's run holds its own.
        baseline = (
            reference
            if reference is not None
            else (scores.metrics if self.is_baseline(run) else {})
        )
        if baseline:
            metrics["test_accuracy_baseline"] = baseline["test_accuracy"]
            metrics["test_macro_f1_baseline"] = baseline["test_macro_f1"]
        compared = (
            f" (TF-IDF {metrics['test_macro_f1_baseline']:.3f})" if reference is not None else ""
        )
        confusion = plot_confusion_matrix(
            actual,
            probabilities.argmax(axis=1),
            labels,
            f"{prepared.task.name} {run.key}: macro-F1 {scores.metrics['test_macro_f1']:.3f}"
            f"{compared}",
            out_dir / "confusion_matrix.png",
        )
        wrong = out_dir / "misclassified.json"
        wrong.write_text(
            misclassified(prepared.texts("test"), actual, probabilities, labels).to_json(
                orient="split", index=False
            )
        )
        return Evaluation(metrics, [confusion, wrong])

    @staticmethod
    def _probabilities(model: TextClassifierModel, prepared: PreparedText) -> np.ndarray:
        """Every label's probability for the raw test texts, through the pyfunc wrapper."""
        predicted = model.predict(None, prepared.texts("test"))
        columns = [f"probability_{label}" for label in prepared.task_config.labels]
        return predicted[columns].to_numpy("float64")

    def study_runs(
        self, config: TextclfConfig, study: str, model: str
    ) -> dict[str, ResolvedTextRun]:
        """Optimizer name -> the model run trained with it, on the study's equal epoch budget.

        Early stopping is off (patience = epochs): every optimizer gets the same epochs.
        """
        if study != OPTIMIZER_STUDY:
            return super().study_runs(config, study, model)
        self.check(config, [config.resolve({"name": model})])
        settings = config.optimizer_study
        base = config.resolve({"name": model})
        runs: dict[str, ResolvedTextRun] = {}
        for optimizer in settings.optimizers:
            training = base.training.model_copy(
                update={
                    "optimizer": optimizer,
                    "epochs": settings.epochs,
                    "patience": settings.epochs,
                    "max_train_batches": settings.max_train_batches,
                }
            )
            runs[optimizer.name] = base.model_copy(update={"training": training})
        return runs

    def summarize_study(
        self, study: str, trials: dict[str, str], title: str, parent_run_id: str
    ) -> pd.DataFrame:
        """Plot every optimizer's validation curves together on the study run; return a
        summary, best validation loss first."""
        from components.families.textclf.study import summarize_optimizers

        if study != OPTIMIZER_STUDY:
            return super().summarize_study(study, trials, title, parent_run_id)
        return summarize_optimizers(trials, title, parent_run_id)
