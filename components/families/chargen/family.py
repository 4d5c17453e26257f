"""The character-level generation family: Char-RNN language models and a smoothed n-gram."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from components.core.contract import Evaluation, Family, Fitted, LoggedModel, Prepared, Scores, Task
from components.core.drift import DriftStatistic
from components.core.errors import UserError
from components.core.validation import ValidationReport
from components.core.versioning import DataVersion
from components.families.chargen.config import ARCHITECTURE_READS, ChargenConfig, ResolvedCharRun
from components.families.chargen.drift import corpus_drift
from components.families.chargen.models import BASELINE
from components.families.chargen.ngram import WittenBellModel
from components.families.chargen.serving import CharGeneratorModel, configured_params
from components.families.chargen.sources import SPLITS, load_corpus_table, normalize
from components.families.chargen.suite import validate_corpus_table
from components.families.chargen.vectorizer import CharVectorizer

DOCUMENT_SEPARATOR = " "  # between the documents of one split, as between words


@dataclass(frozen=True)
class PreparedCorpus(Prepared[ChargenConfig]):
    """A validated corpus: each split's text, the vocabulary of the training text, and ids."""

    frame: pd.DataFrame
    texts: dict[str, str]  # split -> its documents' normalized text, joined
    vectorizer: CharVectorizer
    ids: dict[str, np.ndarray]  # split -> character ids

    def splits(self) -> Mapping[str, pd.DataFrame]:
        sizes = self.frame.assign(characters=self.frame["text"].str.len())
        return {
            split: sizes.loc[sizes["split"] == split, ["document", "characters"]]
            for split in SPLITS
        }


class ChargenFamily(Family[ChargenConfig, PreparedCorpus, ResolvedCharRun, CharGeneratorModel]):
    """Text to more text, one character at a time; one registered model per corpus."""

    name = "chargen"
    leaderboard_columns = ("test_perplexity", "test_accuracy", "test_bits_per_char_baseline")
    baselines = (BASELINE,)
    floor_metric = "test_bits_per_char_baseline"
    architecture_reads = ARCHITECTURE_READS

    def tasks(self, config: ChargenConfig) -> list[str]:
        return [config.corpus.name]

    def model_names(self) -> list[str]:
        # The networks' registry lives beside their Keras builders: listed only when asked.
        from components.families.chargen.networks import BUILDERS

        return sorted([*BUILDERS, BASELINE])

    def baseline_runs(
        self, config: ChargenConfig, runs: list[ResolvedCharRun]
    ) -> list[ResolvedCharRun]:
        return [config.resolve({"name": BASELINE})] if runs else []

    def check(self, config: ChargenConfig, runs: list[ResolvedCharRun]) -> None:
        super().check(config, runs)
        stateful_baseline = [run.key for run in runs if run.name == BASELINE and run.stateful]
        if stateful_baseline:
            raise UserError(f"the n-gram baseline has no state to carry: {stateful_baseline}")

    def run_params(self, prepared: PreparedCorpus, run: ResolvedCharRun) -> dict[str, Any]:
        config = prepared.config
        data = {f"characters_{split}": len(prepared.texts[split]) for split in SPLITS}
        corpus = {"corpus": config.corpus.model_dump(mode="json")}
        vocabulary = {"vocabulary_size": prepared.vectorizer.size}
        if run.name == BASELINE:
            model = {"model": run.name, "ngram": config.ngram.model_dump(mode="json")}
        else:
            model = super().run_params(prepared, run)
            model["window"] = config.window.model_dump(mode="json")
        return model | corpus | data | vocabulary

    def load_table(self, task: Task[ChargenConfig]) -> pd.DataFrame:
        return load_corpus_table(task.config.corpus)

    def validate(self, frame: pd.DataFrame, task: Task[ChargenConfig]) -> ValidationReport:
        return validate_corpus_table(frame, task.config.corpus, task.name)

    def drift_statistics(
        self, reference: pd.DataFrame, current: pd.DataFrame, task: Task[ChargenConfig]
    ) -> list[DriftStatistic]:
        return corpus_drift(reference, current)

    def prepare(
        self, frame: pd.DataFrame, task: Task[ChargenConfig], data: DataVersion
    ) -> PreparedCorpus:
        """Join each split's documents; learn the vocabulary from the training text only."""
        corpus = task.config.corpus
        texts = {
            split: DOCUMENT_SEPARATOR.join(
                normalize(text, corpus) for text in frame.loc[frame["split"] == split, "text"]
            )
            for split in SPLITS
        }
        vectorizer = CharVectorizer.fit(texts["train"], corpus.lowercase, corpus.charset)
        return PreparedCorpus(
            task=task,
            data=data,
            frame=frame.reset_index(drop=True),
            texts=texts,
            vectorizer=vectorizer,
            ids={split: vectorizer.transform(texts[split]) for split in SPLITS},
        )

    def unfit_runs(self, prepared: PreparedCorpus, runs: list[ResolvedCharRun]) -> dict[str, str]:
        window = prepared.config.window
        length = window.sequence_length
        shift = window.shift or length
        train, validation = len(prepared.ids["train"]), len(prepared.ids["validation"])
        unfit = {}
        for run in runs:
            if run.name == BASELINE:
                continue
            batch = run.training.batch_size
            # Stateful: one stream per batch row in both splits; else one batch of windows.
            needed = (
                {"train": batch * length + 1, "validation": batch * length + 1}
                if run.stateful
                else {"train": (batch - 1) * shift + length + 1, "validation": length + 1}
            )
            have = {"train": train, "validation": validation}
            short = [split for split in needed if have[split] < needed[split]]
            if short:
                unfit[run.key] = "; ".join(
                    f"the {split} split has {have[split]} characters, fewer than the "
                    f"{needed[split]} one batch of {batch} x {length}-character windows needs"
                    for split in short
                )
        return unfit

    def fit(
        self,
        prepared: PreparedCorpus,
        run: ResolvedCharRun,
        backup_dir: Path,
        callbacks: list[Any],
    ) -> Fitted[CharGeneratorModel]:
        config = prepared.config
        params = configured_params(config.sampling)
        if run.name == BASELINE:
            ngram = WittenBellModel(config.ngram.order, prepared.vectorizer)
            model = CharGeneratorModel(ngram.fit(prepared.texts["train"]), params)
            return Fitted(model=model)
        from components.families.chargen.networks import CharNetwork

        network = CharNetwork(run, prepared.vectorizer)
        history = network.fit(prepared.ids, config.window, backup_dir, callbacks)
        return Fitted(model=CharGeneratorModel(network, params), history=history)

    def log_model(
        self, prepared: PreparedCorpus, fitted: Fitted[CharGeneratorModel]
    ) -> LoggedModel:
        example = [prepared.texts["test"][:40]]
        return fitted.model.log(example)

    def score(
        self, prepared: PreparedCorpus, run: ResolvedCharRun, model: CharGeneratorModel
    ) -> Scores:
        window = prepared.config.window.evaluation_window
        scores = model.language_model.score(prepared.texts["test"], window)
        bits = scores.bits_per_char
        metrics = {
            "test_bits_per_char": bits,
            "test_perplexity": float(2**bits),
            "test_characters": float(scores.log2_probabilities.size),
        }
        if scores.accuracy is not None:
            metrics["test_accuracy"] = scores.accuracy
        evaluated_on = {
            "test_characters": len(prepared.texts["test"]),
            "lowercase": prepared.config.corpus.lowercase,
            "evaluation_window": window,
        }
        return Scores(metrics, evaluated_on)

    def report(
        self,
        prepared: PreparedCorpus,
        run: ResolvedCharRun,
        model: CharGeneratorModel,
        scores: Scores,
        reference: dict[str, float] | None,
        out_dir: Path,
    ) -> Evaluation:
        bits = scores.metrics["test_bits_per_char"]
        metrics = {}
        # The n-gram's score beside every model's; the baseline's own run holds its own.
        baseline = reference if reference is not None else scores.metrics
        if reference is not None or self.is_baseline(run):
            metrics["test_bits_per_char_baseline"] = baseline["test_bits_per_char"]
            metrics["test_bits_per_char_vs_baseline"] = bits / baseline["test_bits_per_char"]
        samples = out_dir / "samples.txt"
        samples.write_text(self._samples(model, prepared.config, run, bits))
        return Evaluation(metrics, [samples])

    @staticmethod
    def _samples(
        model: CharGeneratorModel, config: ChargenConfig, run: ResolvedCharRun, bits: float
    ) -> str:
        """Continuations of the configured prompts at each configured temperature."""
        sampling = config.sampling
        lines = [f"{run.key}: {bits:.3f} test bits per character", ""]
        for temperature in sampling.temperatures:
            params = {"max_chars": sampling.max_chars, "temperature": temperature}
            generated = model.predict(None, sampling.prompts, params | {"seed": sampling.seed})
            for row in generated.itertuples(index=False):
                lines += [
                    f"--- temperature {temperature} (entropy {row.entropy_bits:.2f} bits/char)",
                    f"{row.prompt}{row.generated}",
                    "",
                ]
        return "\n".join(lines)
