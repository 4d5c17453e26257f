"""Configuration of the translation family."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from components.core.config import (
    FamilyConfig,
    GateConfig,
    ResolvedRun,
    StrictModel,
    TrainingConfig,
)
from components.families.translation.dates import DATE_FORMATS

PairSource = Literal["dates", "tab_file"]


class VectorizerConfig(StrictModel):
    """How each side of a pair becomes token ids (Keras ``TextVectorization``)."""

    level: Literal["character", "word"] = "character"  # characters for dates, words for sentences
    vocabulary_size: int = Field(200, ge=4)  # per side; padding, unknown, start and end included
    source_length: int = Field(32, ge=2)  # tokens of the longest source the model reads
    target_length: int = Field(12, ge=2)  # tokens of the longest target, its end token included


class PairsTask(StrictModel):
    """One translation task: where its pairs come from and how they split."""

    source: PairSource  # dates (generated, seeded) | tab_file (Anki/Tatoeba source<TAB>target)
    # dates: how many pairs per split; every pair is a distinct calendar day.
    train_size: int = Field(20_000, ge=1)
    validation_size: int = Field(2_000, ge=1)
    test_size: int = Field(2_000, ge=1)
    first_date: dt.date = dt.date(1000, 1, 1)
    last_date: dt.date = dt.date(9999, 12, 31)
    formats: list[str] = Field(default_factory=lambda: list(DATE_FORMATS))  # input formats drawn
    seed: int = 42  # seeds the dates, their formats and the hash of a file's split
    min_format_share: float = Field(0.02, ge=0, le=1)  # validation: each format's share per split
    # tab_file: a UTF-8 file of source<TAB>target[<TAB>attribution] lines (relative: to the config)
    path: Path | None = None
    encoding: str = "utf-8"
    max_pairs: int | None = Field(None, ge=3)  # the file's first pairs only (None: all)
    # tab_file: expected shares of the distinct source sentences; a seeded hash of each source
    # sentence decides its split, so the split stays the same as the file grows.
    validation_fraction: float = Field(0.1, gt=0, lt=1)
    test_fraction: float = Field(0.1, gt=0, lt=1)
    vectorizer: VectorizerConfig = VectorizerConfig()

    @model_validator(mode="after")
    def _consistent(self) -> PairsTask:
        if self.source == "tab_file" and self.path is None:
            raise ValueError("path is required when source is 'tab_file'")
        unknown = sorted(set(self.formats) - set(DATE_FORMATS))
        if unknown:
            raise ValueError(f"unknown date format(s) {unknown}; valid: {sorted(DATE_FORMATS)}")
        if not self.formats:
            raise ValueError("formats must name at least one date format")
        if self.first_date >= self.last_date:
            raise ValueError(
                f"first_date {self.first_date} must precede last_date {self.last_date}"
            )
        needed = self.train_size + self.validation_size + self.test_size
        available = (self.last_date - self.first_date).days + 1
        if self.source == "dates" and needed > available:
            raise ValueError(f"{needed} distinct dates asked for, {available} in the date range")
        if self.validation_fraction + self.test_fraction >= 1:
            raise ValueError("validation_fraction + test_fraction must leave pairs to train on")
        return self


class Seq2SeqArchitecture(StrictModel):
    """Hyperparameters of the encoder-decoders; each builder reads the fields it needs."""

    embedding_dim: int = Field(32, ge=1)  # per token, on each side
    units: int = Field(64, ge=1)  # LSTM units (per direction for the bidirectional encoder)


class DecodingConfig(StrictModel):
    """How a trained model writes its output, one token at a time."""

    beam_width: int = Field(3, ge=1)  # 1: greedy search
    # Finished hypotheses are ranked by log-probability / length ** length_penalty: 0 favours
    # short outputs (every token costs log-probability), 1 ranks by mean token log-probability.
    length_penalty: float = Field(0.7, ge=0)


class TranslationTrainingConfig(TrainingConfig):
    """How an encoder-decoder is fitted (teacher forcing: the decoder reads the true prefix)."""

    loss: Literal["crossentropy"] = "crossentropy"  # per target token, padding left out


class ResolvedTranslationRun(ResolvedRun):
    """A model run with every field decided."""

    architecture: Seq2SeqArchitecture
    training: TranslationTrainingConfig


class TranslationConfig(FamilyConfig[ResolvedTranslationRun]):
    """Everything a translation flow needs."""

    tasks: dict[str, PairsTask]  # task name -> task; models are registered as translation-<task>
    architecture: Seq2SeqArchitecture = Seq2SeqArchitecture()
    training: TranslationTrainingConfig = TranslationTrainingConfig()
    decoding: DecodingConfig = DecodingConfig()
    attention_examples: int = Field(4, ge=0)  # test inputs drawn as attention heatmaps
    gate: GateConfig = GateConfig(metric="test_exact_match", greater_is_better=True, margin=0.0)
