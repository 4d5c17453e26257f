"""The translation family: source/target pairs per task, encoder-decoders with and without
attention, greedy and beam search."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from components.core.contract import Evaluation, Family, Fitted, LoggedModel, Prepared, Scores, Task
from components.core.drift import DriftStatistic
from components.core.validation import ValidationReport
from components.core.versioning import DataVersion
from components.families.translation.config import (
    PairsTask,
    ResolvedTranslationRun,
    TranslationConfig,
)
from components.families.translation.dates import SPLITS, date_vectors
from components.families.translation.drift import pairs_drift
from components.families.translation.models import BASELINE, VECTOR_TO_SEQUENCE, translator_entry
from components.families.translation.serving import VECTOR_COLUMNS, TranslationModel
from components.families.translation.sources import load_pairs_table
from components.families.translation.suite import validate_pairs_table

if TYPE_CHECKING:
    from components.families.translation.decoding import Decoded
    from components.families.translation.networks import Translator
    from components.families.translation.vectorizer import SequenceVectorizer

EXAMPLE_INPUTS = 3  # test inputs logged as the model's input example
MISTAKES = 100  # wrong test translations listed in mistakes.json


@dataclass(frozen=True)
class PreparedPairs(Prepared[TranslationConfig]):
    """A validated pairs table and the vectorizers fitted on its training split."""

    frame: pd.DataFrame
    source_vectorizer: SequenceVectorizer
    target_vectorizer: SequenceVectorizer

    @property
    def task_config(self) -> PairsTask:
        """The task's section of the config: its source, sizes and vectorizer."""
        return self.config.tasks[self.task.name]

    def rows(self, split: str) -> pd.DataFrame:
        return self.frame.loc[self.frame["split"] == split]

    def inputs(self, split: str, reads: str) -> Any:
        """What a model reading ``reads`` gets for a split: source strings, or the
        (year, month, day) table of the target dates."""
        rows = self.rows(split)
        if reads == "date_vector":
            return pd.DataFrame(
                date_vectors(rows["target"]).astype("int64"), columns=VECTOR_COLUMNS
            )
        return rows["source"].tolist()

    def splits(self) -> Mapping[str, pd.DataFrame]:
        return {split: self.rows(split)[["source", "target", "format"]] for split in SPLITS}


class TranslationFamily(
    Family[TranslationConfig, PreparedPairs, ResolvedTranslationRun, TranslationModel]
):
    """Sources to targets, one registered model per task (the vector-to-sequence decoder,
    which reads no source text, under its own name)."""

    name = "translation"
    leaderboard_columns = ("test_token_accuracy", "test_exact_match_baseline")
    baselines = (BASELINE,)
    floor_metric = "test_exact_match_baseline"

    def tasks(self, config: TranslationConfig) -> list[str]:
        return list(config.tasks)

    def model_names(self) -> list[str]:
        # The registry lives beside the Keras builders: listed only when asked.
        from components.families.translation.networks import TRANSLATORS

        return sorted(TRANSLATORS)

    def baseline_runs(
        self, config: TranslationConfig, runs: list[ResolvedTranslationRun]
    ) -> list[ResolvedTranslationRun]:
        reads_text = any(translator_entry(run.name).reads == "text" for run in runs)
        return [config.resolve({"name": BASELINE})] if reads_text else []

    def registered_model(self, task: Task[TranslationConfig], run: ResolvedTranslationRun) -> str:
        # It reads (year, month, day), not text: it cannot serve the task's requests.
        suffix = "-vec2seq" if run.name == VECTOR_TO_SEQUENCE else ""
        return f"{self.name}-{task.name}{suffix}"

    def run_params(self, prepared: PreparedPairs, run: ResolvedTranslationRun) -> dict[str, Any]:
        return (
            super().run_params(prepared, run)
            | {"reads": translator_entry(run.name).reads}
            | {"decoding": prepared.config.decoding.model_dump(mode="json")}
            | {"task": prepared.task_config.model_dump(mode="json")}
            | {f"n_{split}": len(prepared.rows(split)) for split in SPLITS}
            | {
                "source_vocabulary_learned": prepared.source_vectorizer.size,
                "target_vocabulary_learned": prepared.target_vectorizer.size,
            }
        )

    def load_table(self, task: Task[TranslationConfig]) -> pd.DataFrame:
        return load_pairs_table(task.config.tasks[task.name])

    def validate(self, frame: pd.DataFrame, task: Task[TranslationConfig]) -> ValidationReport:
        return validate_pairs_table(frame, task.config.tasks[task.name], task.name)

    def drift_statistics(
        self, reference: pd.DataFrame, current: pd.DataFrame, task: Task[TranslationConfig]
    ) -> list[DriftStatistic]:
        return pairs_drift(reference, current)

    def prepare(
        self, frame: pd.DataFrame, task: Task[TranslationConfig], data: DataVersion
    ) -> PreparedPairs:
        """Fit each side's vectorizer on the training pairs only."""
        from components.families.translation.vectorizer import SequenceVectorizer

        settings = task.config.tasks[task.name]
        train = frame.loc[frame["split"] == "train"]
        level, size = settings.vectorizer.level, settings.vectorizer.vocabulary_size
        return PreparedPairs(
            task=task,
            data=data,
            frame=frame.reset_index(drop=True),
            source_vectorizer=SequenceVectorizer(level, size).fit(train["source"].tolist()),
            target_vectorizer=SequenceVectorizer(level, size).fit(train["target"].tolist()),
        )

    def unfit_runs(
        self, prepared: PreparedPairs, runs: list[ResolvedTranslationRun]
    ) -> dict[str, str]:
        if prepared.task_config.source == "dates":
            return {}
        return {
            run.key: "the vector-to-sequence model reads (year, month, day): a dates task only"
            for run in runs
            if translator_entry(run.name).reads == "date_vector"
        }

    def fit(
        self,
        prepared: PreparedPairs,
        run: ResolvedTranslationRun,
        backup_dir: Path,
        callbacks: list[Any],
    ) -> Fitted[TranslationModel]:
        from components.families.translation.networks import Translator

        lengths = prepared.task_config.vectorizer
        translator = Translator(
            run,
            prepared.source_vectorizer,
            prepared.target_vectorizer,
            lengths.source_length,
            lengths.target_length,
            prepared.config.decoding,
            output="iso_date" if prepared.task_config.source == "dates" else "text",
        )
        parts = ("train", "validation")
        history = translator.fit(
            {part: prepared.inputs(part, translator.reads) for part in parts},
            {part: prepared.rows(part)["target"].tolist() for part in parts},
            backup_dir=backup_dir,
            callbacks=callbacks,
        )
        return Fitted(model=TranslationModel(translator), history=history)

    def log_model(self, prepared: PreparedPairs, fitted: Fitted[TranslationModel]) -> LoggedModel:
        reads = fitted.model.translator.reads
        return fitted.model.log(_head(prepared.inputs("test", reads), EXAMPLE_INPUTS))

    def score(
        self, prepared: PreparedPairs, run: ResolvedTranslationRun, model: TranslationModel
    ) -> Scores:
        """Every test metric but the floor, the same for a new model and a champion trained
        on other data: outputs are read with the translator's own vocabulary."""
        from components.families.translation.metrics import (
            corpus_scores,
            exact_match_by_group,
            sequence_metrics,
        )

        translator = model.translator
        decoding = prepared.config.decoding
        test = prepared.rows("test")
        translations, decoded = translator.translate(
            prepared.inputs("test", translator.reads), decoding.beam_width
        )
        target = translator.target_vectorizer
        outputs = [target.decode_tokens(ids) for ids in decoded.ids]
        wanted = [target.split(text) for text in test["target"]]
        metrics = {
            f"test_{name}": value for name, value in sequence_metrics(outputs, wanted).items()
        }
        metrics |= {
            "test_log_probability": float(np.mean(decoded.log_probability)),
            "test_pairs": float(len(test)),
        }
        if translator.reads == "text":
            by_format = exact_match_by_group(outputs, wanted, test["format"].tolist())
            metrics |= {f"test_exact_match_{name}": value for name, value in by_format.items()}
        if target.level == "word":
            references = [target.join(tokens) for tokens in wanted]
            scores = corpus_scores(translations, references)
            metrics |= {f"test_{name}": value for name, value in scores.items()}
        evaluated_on = {"test_pairs": len(test), "decoding": decoding.model_dump(mode="json")}
        outputs_made = TranslatedTest(translations, outputs, wanted, decoded)
        return Scores(metrics, evaluated_on, outputs_made)

    def report(
        self,
        prepared: PreparedPairs,
        run: ResolvedTranslationRun,
        model: TranslationModel,
        scores: Scores,
        reference: dict[str, float] | None,
        out_dir: Path,
    ) -> Evaluation:
        made: TranslatedTest = scores.outputs
        floor = self._floor(run, scores.metrics, reference)
        test = prepared.rows("test")
        artifacts = [self._mistakes(test, made.translations, made.outputs, made.wanted, out_dir)]
        if made.decoded.attention is not None and prepared.config.attention_examples:
            artifacts.append(self._attention(prepared, run, model.translator, out_dir))
        return Evaluation({"test_exact_match_baseline": floor}, artifacts)

    def _floor(
        self,
        run: ResolvedTranslationRun,
        metrics: dict[str, float],
        reference: dict[str, float] | None,
    ) -> float:
        """What this model must beat: the no-attention encoder-decoder on the same test pairs
        (its own score for the baseline run); 0 for the vector-to-sequence decoder."""
        if self.is_baseline(run):
            return metrics["test_exact_match"]
        if translator_entry(run.name).reads == "date_vector":
            # It reads no source, so no text model is its baseline; and no test day is a
            # training day, so an answer learned by rote (the most frequent training date)
            # gets none right. Its floor is 0: any exactly right test date passes it.
            return 0.0
        return reference["test_exact_match"] if reference else float("nan")

    @staticmethod
    def _mistakes(
        test: pd.DataFrame,
        translations: list[str],
        outputs: list[list[str]],
        wanted: list[list[str]],
        out_dir: Path,
    ) -> Path:
        wrong = [index for index, (a, b) in enumerate(zip(outputs, wanted, strict=True)) if a != b]
        table = test.iloc[wrong[:MISTAKES]][["source", "target", "format"]].assign(
            translation=[translations[index] for index in wrong[:MISTAKES]]
        )
        path = out_dir / "mistakes.json"
        path.write_text(table.to_json(orient="split", index=False))
        return path

    @staticmethod
    def _attention(
        prepared: PreparedPairs,
        run: ResolvedTranslationRun,
        translator: Translator,
        out_dir: Path,
    ) -> Path:
        from components.families.translation.metrics import AttentionExample, plot_attention

        examples_wanted = prepared.config.attention_examples
        test = prepared.rows("test").iloc[:examples_wanted]
        sources = test["source"].tolist()
        decoded = translator.decode(sources, beam_width=1)
        if decoded.attention is None:
            raise ValueError(f"{run.key} has no attention to draw")
        target = translator.target_vectorizer
        examples = [
            AttentionExample(
                translator.source_vectorizer.split(source),
                [*target.decode_tokens(ids), "[end]"],
                weights,
                expected=expected,
                correct=target.decode_tokens(ids) == target.split(expected),
            )
            for source, ids, weights, expected in zip(
                sources, decoded.ids, decoded.attention, test["target"], strict=True
            )
        ]
        title = f"{prepared.task.name} {run.key}: attention while writing (greedy)"
        return plot_attention(examples, title, out_dir / "attention.png")


@dataclass(frozen=True)
class TranslatedTest:
    """A translator's test outputs behind its metrics."""

    translations: list[str]
    outputs: list[list[str]]  # output tokens per test pair
    wanted: list[list[str]]  # reference tokens per test pair
    decoded: Decoded


def _head(inputs: Any, count: int) -> Any:
    return inputs.head(count) if isinstance(inputs, pd.DataFrame) else inputs[:count]
