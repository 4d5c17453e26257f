"""Recurrent text classifiers: Keras builders, language-model pretraining, the fitted classifier."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers

from components.core.errors import UserError
from components.core.persistence import read_settings, write_manifest
from components.core.training import (
    ResumableEpochs,
    fit_model,
    make_optimizer,
    save_weights_atomically,
    seed_everything,
    write_text_atomically,
)
from components.families.textclf.config import PretrainingConfig, ResolvedTextRun, TextArchitecture
from components.families.textclf.vectorizer import WordVectorizer, as_string_array


@dataclass(frozen=True)
class TextSpec:
    """What a builder needs to know about the data."""

    vocabulary_size: int  # ids the embedding holds, padding (0) and unknown (1) included
    n_labels: int  # 2: one sigmoid output; more: a softmax over the labels


Encoder = Callable[[Any], Any]
Builder = Callable[[TextArchitecture, TextSpec], keras.Model]


@keras.saving.register_keras_serializable(package="seqpipe")
class MaskedGlobalMaxPooling1D(layers.Layer):
    """The maximum over steps of each feature, padding steps left out.

    Keras' ``GlobalMaxPooling1D`` ignores the mask (``GlobalAveragePooling1D`` honours it), so
    padding would count as a zero state.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is not None:
            lowest = float(np.finfo("float32").min)
            inputs = keras.ops.where(keras.ops.expand_dims(mask, -1), inputs, lowest)
        return keras.ops.max(inputs, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


def _pool(config: TextArchitecture, states: Any) -> Any:
    """Every step's states -> one vector per text, as ``config.pooling`` says."""
    if config.pooling == "last":
        return states
    return layers.Concatenate(name="pooled")(
        [
            layers.GlobalAveragePooling1D(name="mean_pool")(states),
            MaskedGlobalMaxPooling1D(name="max_pool")(states),
        ]
    )


def _every_step(config: TextArchitecture) -> bool:
    """Whether the top recurrent layer returns every step's state (for pooling)."""
    return config.pooling != "last"


def _classifier(
    config: TextArchitecture, spec: TextSpec, encoder: Encoder, name: str
) -> keras.Model:
    """Token ids -> embedding -> recurrent encoder -> pooling -> label probabilities.

    The input length is free, so the same weights score any padding; with ``masking`` the
    recurrent layers skip padding steps entirely and pooling leaves them out.
    """
    if spec.n_labels < 2:
        raise ValueError(f"a classifier needs at least two labels, got {spec.n_labels}")
    tokens = keras.Input(shape=(None,), dtype="int64", name="tokens")
    hidden = layers.Embedding(
        spec.vocabulary_size, config.embedding_dim, mask_zero=config.masking, name="embedding"
    )(tokens)
    hidden = layers.SpatialDropout1D(config.embedding_dropout, name="embedding_dropout")(hidden)
    hidden = layers.Dropout(config.dropout, name="dropout")(_pool(config, encoder(hidden)))
    binary = spec.n_labels == 2
    outputs = layers.Dense(
        1 if binary else spec.n_labels,
        activation="sigmoid" if binary else "softmax",
        name="probabilities",
    )(hidden)
    return keras.Model(tokens, outputs, name=name)


def _lstm(config: TextArchitecture, **options: Any) -> layers.LSTM:
    return layers.LSTM(config.units, recurrent_dropout=config.recurrent_dropout, **options)


def _gru(config: TextArchitecture, **options: Any) -> layers.GRU:
    return layers.GRU(config.units, recurrent_dropout=config.recurrent_dropout, **options)


def build_simple_rnn(config: TextArchitecture, spec: TextSpec) -> keras.Model:
    """One SimpleRNN layer reads the words; its last state classifies."""
    encoder = layers.SimpleRNN(
        config.units,
        recurrent_dropout=config.recurrent_dropout,
        return_sequences=_every_step(config),
        name="encoder",
    )
    return _classifier(config, spec, encoder, "simple_rnn")


def build_lstm(config: TextArchitecture, spec: TextSpec) -> keras.Model:
    """One LSTM layer (the shape the language model pretrains)."""
    encoder = _lstm(config, return_sequences=_every_step(config), name="encoder")
    return _classifier(config, spec, encoder, "lstm")


def build_gru(config: TextArchitecture, spec: TextSpec) -> keras.Model:
    """One GRU layer."""
    encoder = _gru(config, return_sequences=_every_step(config), name="encoder")
    return _classifier(config, spec, encoder, "gru")


def build_stacked_gru(config: TextArchitecture, spec: TextSpec) -> keras.Model:
    """``config.layers`` GRU layers; all but the last pass on every step."""

    def encoder(hidden):
        for index in range(config.layers):
            name = "encoder" if index == 0 else f"encoder_{index + 1}"
            every_step = index < config.layers - 1 or _every_step(config)
            hidden = _gru(config, return_sequences=every_step, name=name)(hidden)
        return hidden

    return _classifier(config, spec, encoder, "stacked_gru")


def build_bidirectional_lstm(config: TextArchitecture, spec: TextSpec) -> keras.Model:
    """An LSTM reading forwards and one reading backwards, their states concatenated."""
    encoder = layers.Bidirectional(
        _lstm(config, return_sequences=_every_step(config)), name="encoder"
    )
    return _classifier(config, spec, encoder, "bidirectional_lstm")


def build_bidirectional_gru(config: TextArchitecture, spec: TextSpec) -> keras.Model:
    """A GRU reading forwards and one reading backwards, their states concatenated."""
    encoder = layers.Bidirectional(
        _gru(config, return_sequences=_every_step(config)), name="encoder"
    )
    return _classifier(config, spec, encoder, "bidirectional_gru")


# Classifier name -> its builder: the family's networks (a config names them; TF-IDF aside).
BUILDERS: dict[str, Builder] = {
    "simple_rnn": build_simple_rnn,
    "lstm": build_lstm,
    "gru": build_gru,
    "stacked_gru": build_stacked_gru,
    "bidirectional_lstm": build_bidirectional_lstm,
    "bidirectional_gru": build_bidirectional_gru,
}


def builder(name: str) -> Builder:
    """The builder registered under ``name``.

    Raises:
        ValueError: if the name is not in the registry (the message lists valid names).
    """
    if name not in BUILDERS:
        raise ValueError(f"unknown text classifier {name!r}; valid names: {sorted(BUILDERS)}")
    return BUILDERS[name]


def build_classifier(name: str, config: TextArchitecture, spec: TextSpec) -> keras.Model:
    """The token-level classifier a name selects (``ValueError`` for an unknown name)."""
    return builder(name)(config, spec)


def build_language_model(
    config: TextArchitecture, vocabulary_size: int, word_log_frequencies: np.ndarray | None = None
) -> keras.Model:
    """A word-level LSTM language model: next-word logits at every step.

    Its ``embedding`` and ``encoder`` layers have the shapes of the LSTM classifier's, so
    their weights can initialize it.

    Args:
        config: the classifier's architecture (embedding size, units, dropout).
        vocabulary_size: ids the embedding and the output hold.
        word_log_frequencies: log unigram frequencies that start the output bias. Without
            them the LSTM learns word frequencies first, through a saturated constant state
            that carries nothing a classifier could use.
    """
    bias = (
        keras.initializers.Constant(word_log_frequencies)
        if word_log_frequencies is not None
        else "zeros"
    )
    tokens = keras.Input(shape=(None,), dtype="int64", name="tokens")
    hidden = layers.Embedding(
        vocabulary_size, config.embedding_dim, mask_zero=True, name="embedding"
    )(tokens)
    hidden = _lstm(config, return_sequences=True, name="encoder")(hidden)
    logits = layers.Dense(vocabulary_size, bias_initializer=bias, name="next_word")(hidden)
    return keras.Model(tokens, logits, name="language_model")


def word_log_frequencies(ids: np.ndarray, vocabulary_size: int) -> np.ndarray:
    """Log frequency of every id among the non-padding tokens (add-one smoothed)."""
    counts = np.bincount(ids[ids != 0], minlength=vocabulary_size).astype("float64") + 1
    return np.log(counts / counts.sum()).astype("float32")


def next_word_dataset(ids: np.ndarray, batch_size: int, shuffle: bool, seed: int):
    """(words so far, next word, weight) triples; padding targets weigh nothing."""
    import tensorflow as tf

    inputs, targets = ids[:, :-1], ids[:, 1:]
    weights = (targets != 0).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets, weights))
    if shuffle:
        dataset = dataset.shuffle(len(ids), seed=seed)
    return dataset.batch(batch_size)


def pretrain_language_model(
    config: TextArchitecture,
    pretraining: PretrainingConfig,
    vocabulary_size: int,
    train_ids: np.ndarray,
    validation_ids: np.ndarray,
    seed: int,
    callbacks: list[Any] | None = None,
    backup_dir: Path | None = None,
) -> tuple[keras.Model, dict[str, list[float]]]:
    """Train the language model on the training texts; return it and its history.

    With ``backup_dir`` an interrupted pretraining resumes from its last finished epoch, and a
    finished one is kept there (weights and history), so a classifier interrupted during
    fine-tuning does not pretrain again when it resumes.
    """
    seed_everything(seed)
    model = build_language_model(
        config, vocabulary_size, word_log_frequencies(train_ids, vocabulary_size)
    )
    finished = backup_dir / "language_model.weights.h5" if backup_dir else None
    finished_history = backup_dir / "language_model_history.json" if backup_dir else None
    if finished is not None and finished_history is not None and finished.exists():
        model.load_weights(finished)
        return model, json.loads(finished_history.read_text())
    model.compile(
        optimizer=make_optimizer(pretraining.optimizer),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=["accuracy"],
    )
    train = next_word_dataset(train_ids, pretraining.batch_size, shuffle=True, seed=seed)
    if pretraining.max_train_batches:
        train = train.take(pretraining.max_train_batches)
    resumable = [ResumableEpochs(backup_dir / "language_model_epochs")] if backup_dir else []
    fitted = model.fit(
        train,
        epochs=pretraining.epochs,
        verbose=0,
        callbacks=[*(callbacks or []), *resumable],
        shuffle=False,  # the dataset shuffles itself, seeded
        validation_data=next_word_dataset(
            validation_ids, pretraining.batch_size, shuffle=False, seed=seed
        ),
    )
    history = {name: [float(v) for v in values] for name, values in fitted.history.items()}
    # The weights are the commit point: written last, atomically.
    if finished is not None and finished_history is not None:
        write_text_atomically(finished_history, json.dumps(history))
        save_weights_atomically(model, finished)
    return model, history


def transfer_pretrained(language_model: keras.Model, classifier: keras.Model) -> None:
    """Copy the language model's embedding and LSTM encoder into the classifier.

    Raises:
        ValueError: if the classifier has no single LSTM layer named ``encoder``.
    """
    encoder = next((layer for layer in classifier.layers if layer.name == "encoder"), None)
    if not isinstance(encoder, layers.LSTM):
        kind = type(encoder).__name__ if encoder is not None else "no encoder"
        raise UserError(f"pretraining initializes an LSTM encoder; {classifier.name} has {kind}")
    for name in ("embedding", "encoder"):
        classifier.get_layer(name).set_weights(language_model.get_layer(name).get_weights())


def label_weights(targets: np.ndarray, n_labels: int) -> np.ndarray:
    """Per-label weights n / (labels x count): each label weighs the same in total."""
    counts = np.bincount(targets, minlength=n_labels).astype("float64")
    if (counts == 0).any():
        missing = [int(index) for index in np.flatnonzero(counts == 0)]
        raise UserError(f"label id(s) {missing} have no training example")
    return (len(targets) / (n_labels * counts)).astype("float32")


def classification_dataset(
    ids: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray | None,
    n_labels: int,
    batch_size: int,
    shuffle: bool,
    seed: int,
):
    """Batches of (token ids, label, weight); a binary label is the float of label id 1."""
    import tensorflow as tf

    labels = targets.astype("float32")[:, None] if n_labels == 2 else targets.astype("int64")
    example_weights = (
        weights[targets] if weights is not None else np.ones(len(targets), dtype="float32")
    )
    dataset = tf.data.Dataset.from_tensor_slices((ids, labels, example_weights))
    if shuffle:
        dataset = dataset.shuffle(len(ids), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size)


class TextClassifier:
    """A recurrent classifier built by name, fitted on token ids, served on raw strings.

    Args:
        run: the model run (builder name, architecture, training, pretraining flag).
        labels: label names in output order.
        vectorizer: a vectorizer fitted on the training split.
        model: a fitted string-input model (when loaded).
    """

    def __init__(
        self,
        run: ResolvedTextRun,
        labels: Sequence[str],
        vectorizer: WordVectorizer,
        model: keras.Model | None = None,
    ) -> None:
        builder(run.name)  # an unknown name fails here, before any data is touched
        self.run = run
        self.labels = list(labels)
        self.vectorizer = vectorizer
        self.model_ = model
        self.pretraining_history_: dict[str, list[float]] = {}

    @property
    def spec(self) -> TextSpec:
        return TextSpec(vocabulary_size=self.vectorizer.size, n_labels=len(self.labels))

    def build(self) -> keras.Model:
        """The untrained token-level classifier."""
        return build_classifier(self.run.name, self.run.architecture, self.spec)

    def fit(
        self,
        ids: dict[str, np.ndarray],
        targets: dict[str, np.ndarray],
        backup_dir: Path,
        pretraining: PretrainingConfig | None = None,
        callbacks: list[Any] | None = None,
        pretraining_callbacks: list[Any] | None = None,
    ) -> dict[str, list[float]]:
        """Fit on the train split, stop early on validation; return the classifier's history.

        Args:
            ids: token ids per split (``train``, ``validation``).
            targets: label ids per split.
            backup_dir: ``ResumableEpochs`` state, so an interrupted fit resumes (the language
                model of a ``pretrained`` run included); removed once the classifier is fitted.
            pretraining: how to train the language model of a ``pretrained`` run.
            callbacks: extra Keras callbacks of the classifier's fit.
            pretraining_callbacks: Keras callbacks of the language model's fit.

        Raises:
            ValueError: if a ``pretrained`` run gets no pretraining config.
        """
        training = self.run.training
        seed_everything(training.seed)
        classifier = self.build()
        if self.run.pretrained:
            if pretraining is None:
                raise ValueError("a pretrained run needs the pretraining config")
            language_model, self.pretraining_history_ = pretrain_language_model(
                self.run.architecture,
                pretraining,
                self.spec.vocabulary_size,
                ids["train"],
                ids["validation"],
                training.seed,
                pretraining_callbacks,
                backup_dir=backup_dir,
            )
            transfer_pretrained(language_model, classifier)
        binary = len(self.labels) == 2
        classifier.compile(
            optimizer=make_optimizer(training.optimizer),
            loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
            weighted_metrics=["accuracy"],
        )
        weights = (
            label_weights(targets["train"], len(self.labels)) if training.class_weighting else None
        )
        datasets = {
            part: classification_dataset(
                ids[part],
                targets[part],
                weights,
                len(self.labels),
                training.batch_size,
                shuffle=part == "train",
                seed=training.seed,
            )
            for part in ("train", "validation")
        }
        history = fit_model(classifier, datasets, training, backup_dir, callbacks)
        self.model_ = self.serving_model(classifier)
        return history

    def serving_model(self, classifier: keras.Model) -> keras.Model:
        """Raw strings -> vectorizer -> classifier -> probabilities, one Keras model."""
        text = keras.Input(shape=(), dtype="string", name="text")
        return keras.Model(text, classifier(self.vectorizer.layer()(text)), name=classifier.name)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of every label, shape (texts, labels)."""
        if self.model_ is None:
            raise ValueError("the classifier is not fitted")
        output = np.asarray(
            self.model_.predict(as_string_array(texts), verbose=0, batch_size=256), dtype="float64"
        )
        return np.hstack([1 - output, output]) if len(self.labels) == 2 else output

    def save(self, directory: Path) -> None:
        """Write the string-input model and the labels, run and vectorizer settings."""
        if self.model_ is None:
            raise ValueError("the classifier is not fitted")
        settings = {
            "labels": self.labels,
            "run": self.run.model_dump(mode="json"),
            "vocabulary_size": self.vectorizer.vocabulary_size,
            "sequence_length": self.vectorizer.sequence_length,
        }
        write_manifest(directory, self, settings)
        self.model_.save(directory / "model.keras")

    @classmethod
    def load(cls, directory: Path) -> TextClassifier:
        """A classifier written by ``save``."""
        settings = read_settings(directory)
        model = keras.models.load_model(Path(directory) / "model.keras")
        vocabulary = model.get_layer("vectorizer").get_vocabulary()
        vectorizer = WordVectorizer(
            settings["vocabulary_size"], settings["sequence_length"], vocabulary
        )
        run = ResolvedTextRun.model_validate(settings["run"])
        return cls(run, settings["labels"], vectorizer, model)
