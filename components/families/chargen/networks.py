"""Character networks: Keras builders, ``tf.data`` windows, the fitted network and its decoder."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from components.core.persistence import read_settings, write_manifest
from components.core.training import fit_model, make_optimizer, seed_everything
from components.families.chargen.config import CharArchitecture, ResolvedCharRun, WindowConfig
from components.families.chargen.decoding import CharScores
from components.families.chargen.vectorizer import PADDING_ID, CharVectorizer

FIT_SPLITS = ("train", "validation")
LANGUAGE_MODEL = "language_model"  # the id-level network inside the string-input model
CHUNK_WINDOWS = 512  # test windows scored at once


@dataclass(frozen=True)
class CharSpec:
    """What a builder needs to know besides the architecture."""

    vocabulary_size: int  # ids of the embedding and the output, padding and unknown included
    stateful: bool = False  # recurrent state carried from one batch to the next
    batch_size: int | None = None  # fixed when stateful: one state per batch row


Builder = Callable[[CharArchitecture, CharSpec], keras.Model]


def _language_model(spec: CharSpec, config: CharArchitecture, recurrent: list[Any]) -> keras.Model:
    """Character ids -> embedding -> recurrent layers -> next-character logits at every step.

    The output is logits (the softmax lives in the loss and in sampling), so a temperature
    divides them directly.
    """
    ids = keras.Input(batch_shape=(spec.batch_size, None), dtype="int64", name="ids")
    hidden = layers.Embedding(spec.vocabulary_size, config.embedding_dim, name="embedding")(ids)
    for layer in recurrent:
        hidden = layer(hidden)
    logits = layers.Dense(spec.vocabulary_size, name="next_char")(hidden)
    return keras.Model(ids, logits, name=LANGUAGE_MODEL)


def _recurrent(kind: type, config: CharArchitecture, spec: CharSpec, name: str) -> Any:
    return kind(
        config.units,
        return_sequences=True,
        stateful=spec.stateful,
        dropout=config.dropout,
        name=name,
    )


def build_gru(config: CharArchitecture, spec: CharSpec) -> keras.Model:
    """Embedding -> GRU -> Dense, the textbook's Char-RNN."""
    return _language_model(spec, config, [_recurrent(layers.GRU, config, spec, "gru")])


def build_lstm(config: CharArchitecture, spec: CharSpec) -> keras.Model:
    """Embedding -> LSTM -> Dense."""
    return _language_model(spec, config, [_recurrent(layers.LSTM, config, spec, "lstm")])


def build_stacked_gru(config: CharArchitecture, spec: CharSpec) -> keras.Model:
    """``config.layers`` GRU layers, each reading every step of the one below."""
    stack = [
        _recurrent(layers.GRU, config, spec, f"gru_{index + 1}") for index in range(config.layers)
    ]
    return _language_model(spec, config, stack)


# Network name -> its builder: the family's networks (a config names them; the n-gram aside).
BUILDERS: dict[str, Builder] = {
    "gru": build_gru,
    "lstm": build_lstm,
    "stacked_gru": build_stacked_gru,
}


def builder(name: str) -> Builder:
    """The builder registered under ``name``.

    Raises:
        ValueError: if the name is not in the registry (the message lists valid names).
    """
    if name not in BUILDERS:
        raise ValueError(f"unknown character network {name!r}; valid names: {sorted(BUILDERS)}")
    return BUILDERS[name]


def window_dataset(
    ids: np.ndarray, window: WindowConfig, batch_size: int, shuffle: bool, seed: int
) -> tf.data.Dataset:
    """Batches of (``sequence_length`` ids, the same ids shifted by one) cut from one text.

    Windows start every ``window.shift`` characters (``window``, ``flat_map``, then ``cache``),
    are shuffled (seeded, again every epoch) and batched; ``prefetch`` prepares the next batch
    while the current one trains, so the input pipeline is not the bottleneck.
    """
    length = window.sequence_length
    dataset = tf.data.Dataset.from_tensor_slices(ids)
    dataset = dataset.window(length + 1, shift=window.shift or length, drop_remainder=True)
    # Cut once, kept in memory: later epochs reshuffle the cached windows instead of cutting
    # them again, which is what makes the pipeline outrun the training step.
    dataset = dataset.flat_map(lambda chars: chars.batch(length + 1)).cache()
    if shuffle:
        dataset = dataset.shuffle(window.shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=shuffle)
    # flat_map hides the size; stating it lets Keras count steps instead of running dry.
    windows = max((len(ids) - length - 1) // (window.shift or length) + 1, 0)
    batches = windows // batch_size if shuffle else math.ceil(windows / batch_size)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(batches))
    return dataset.map(
        lambda chars: (chars[:, :-1], chars[:, 1:]), num_parallel_calls=tf.data.AUTOTUNE
    ).prefetch(tf.data.AUTOTUNE)


class ConsecutiveBatches:
    """Batches for a stateful network: row j of batch k continues row j of batch k - 1.

    The text is cut into ``batch_size`` equal streams, each read in consecutive,
    non-overlapping windows of ``length``; the order is fixed, never shuffled. An epoch reads
    ``steps`` windows of every stream (all of them when None). When that is fewer than the
    streams hold, each epoch starts where the previous one stopped (the last start is moved back
    to end at the streams' end, then the next starts over), so every ``passes`` epochs read the
    whole text instead of every epoch rereading its beginning. ``StatefulEpochs`` moves the
    start.

    Raises:
        ValueError: if the text is too short for one window per stream.
    """

    def __init__(
        self, ids: np.ndarray, length: int, batch_size: int, steps: int | None = None
    ) -> None:
        windows = (len(ids) - 1) // (batch_size * length)
        if windows < 1:
            raise ValueError(
                f"{len(ids)} characters are too few for {batch_size} streams of "
                f"{length}-character windows (at least {batch_size * length + 1} needed)"
            )
        used = batch_size * windows * length
        streams = [ids[:used], ids[1 : used + 1]]  # inputs and next-character targets
        self.inputs, self.targets = (
            part.reshape(batch_size, windows, length).transpose(1, 0, 2) for part in streams
        )
        self.windows = windows
        self.steps = min(steps or windows, windows)
        self.passes = math.ceil(windows / self.steps)
        # The first window an epoch reads: set before the epoch, read as the dataset iterates.
        self._first = tf.Variable(0, dtype=tf.int64, trainable=False)

    def start_epoch(self, epoch: int) -> None:
        """Point the next pass over the dataset at epoch ``epoch``'s windows."""
        first = min(epoch % self.passes * self.steps, self.windows - self.steps)
        self._first.assign(first)

    def dataset(self) -> tf.data.Dataset:
        """``steps`` (inputs, targets) batches from the current start."""
        inputs, targets = tf.constant(self.inputs), tf.constant(self.targets)
        first = self._first
        return (
            tf.data.Dataset.range(self.steps)
            .map(lambda step: (inputs[first + step], targets[first + step]))
            .prefetch(tf.data.AUTOTUNE)
        )


class StatefulEpochs(keras.callbacks.Callback):
    """Clears the recurrent state of a stateful network at each epoch and before validation
    (the state carries within one pass over the text, never from its end to its start), and
    points each epoch at its own stretch of the training streams."""

    def __init__(self, train: ConsecutiveBatches) -> None:
        super().__init__()
        self.train = train

    def _reset(self) -> None:
        for layer in self.model.layers:
            if getattr(layer, "stateful", False):
                layer.reset_states()

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._reset()
        self.train.start_epoch(epoch)

    def on_test_begin(self, logs: dict[str, float] | None = None) -> None:
        self._reset()


class CharNetwork:
    """A character network built by name, fitted on ids, served on raw strings.

    Args:
        run: the model run (network name, stateful training, architecture, training).
        vectorizer: the characters and lower-casing of the training text.
        model: a fitted string-input model (when loaded).
    """

    def __init__(
        self, run: ResolvedCharRun, vectorizer: CharVectorizer, model: keras.Model | None = None
    ) -> None:
        builder(run.name)  # an unknown name fails here, before any data is read
        self.run = run
        self.vectorizer = vectorizer
        self.model_ = model
        self._decoder: NetworkDecoder | None = None
        self._decoding = threading.Lock()

    def build(self, stateful: bool = False, batch_size: int | None = None) -> keras.Model:
        """The untrained id-level network."""
        spec = CharSpec(self.vectorizer.size, stateful, batch_size)
        return builder(self.run.name)(self.run.architecture, spec)

    def fit(
        self,
        ids: dict[str, np.ndarray],
        window: WindowConfig,
        backup_dir: Path,
        callbacks: list[Any] | None = None,
    ) -> dict[str, list[float]]:
        """Fit on the train ids, stop early on validation loss; return the history.

        A stateless network reads shuffled windows; a stateful one reads consecutive batches
        with its state reset every epoch, then serves as a stateless copy with its weights.
        """
        training = self.run.training
        seed_everything(training.seed)
        stateful = self.run.stateful
        network = self.build(stateful, training.batch_size if stateful else None)
        network.compile(
            optimizer=make_optimizer(training.optimizer),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        if stateful:
            length, batch = window.sequence_length, training.batch_size
            # Cut to the batches an epoch may take, so that later epochs move on through the
            # text rather than take the same first batches again.
            streams = ConsecutiveBatches(ids["train"], length, batch, training.max_train_batches)
            train = streams.dataset()
            validation = ConsecutiveBatches(ids["validation"], length, batch).dataset()
            callbacks = [StatefulEpochs(streams), *(callbacks or [])]
        else:
            train, validation = (
                window_dataset(
                    ids[part], window, training.batch_size, part == "train", training.seed
                )
                for part in FIT_SPLITS
            )
        datasets = {"train": train, "validation": validation}
        history = fit_model(network, datasets, training, backup_dir, callbacks)
        if stateful:
            stateless = self.build()
            stateless.set_weights(network.get_weights())
            network = stateless
        self.model_ = self.serving_model(network)
        self._decoder = None
        return history

    def serving_model(self, network: keras.Model) -> keras.Model:
        """Raw strings -> vectorizer -> network -> next-character logits, one Keras model."""
        text = keras.Input(shape=(), dtype="string", name="text")
        return keras.Model(text, network(self.vectorizer.layer()(text)), name=self.run.name)

    @property
    def network_(self) -> keras.Model:
        if self.model_ is None:
            raise ValueError("the network is not fitted")
        return self.model_.get_layer(LANGUAGE_MODEL)

    def score(self, text: str, window: int = 400, batch_size: int = 64) -> CharScores:
        """log2 P of every character of ``text`` but the first, read in windows of ``window``
        characters (the state starts afresh in each), and next-character accuracy."""
        ids = self.vectorizer.transform(text)
        starts = range(0, max(len(ids) - 1, 0), window)
        inputs = np.full((len(starts), window), PADDING_ID, dtype="int64")
        targets = np.full((len(starts), window), -1, dtype="int64")  # -1: nothing to score
        for row, start in enumerate(starts):
            piece = ids[start : start + window + 1]
            inputs[row, : len(piece) - 1] = piece[:-1]
            targets[row, : len(piece) - 1] = piece[1:]
        log2, correct = [], []
        # Compiled predict, in chunks so the logits of a book never sit in memory at once.
        for first in range(0, len(inputs), CHUNK_WINDOWS):
            logits = self.network_.predict(
                inputs[first : first + CHUNK_WINDOWS], batch_size=batch_size, verbose=0
            )
            log_probabilities = np.asarray(tf.nn.log_softmax(logits), dtype="float64")
            wanted = targets[first : first + CHUNK_WINDOWS]
            scored = wanted >= 0
            chosen = np.take_along_axis(log_probabilities, np.maximum(wanted, 0)[..., None], -1)
            log2.append(chosen[..., 0][scored] / np.log(2))
            correct.append((log_probabilities.argmax(-1) == wanted)[scored])
        if not log2:
            return CharScores(np.zeros(0))
        hits = np.concatenate(correct)
        return CharScores(np.concatenate(log2), float(hits.mean()) if hits.size else None)

    @contextmanager
    def decoding(self) -> Iterator[NetworkDecoder]:
        """The network read one character at a time, by one caller at a time.

        The decoder is built once, as building and tracing it costs more than a short
        request; its recurrent state is the text being generated, so concurrent requests (a
        threaded server) take turns instead of interleaving their states.
        """
        with self._decoding:
            if self._decoder is None:
                self._decoder = NetworkDecoder(self)
            yield self._decoder

    def save(self, directory: Path) -> None:
        """Write the string-input model and the run, characters and lower-casing."""
        if self.model_ is None:
            raise ValueError("the network is not fitted")
        settings = {
            "run": self.run.model_dump(mode="json"),
            "characters": self.vectorizer.characters,
            "lowercase": self.vectorizer.lowercase,
        }
        write_manifest(directory, self, settings)
        self.model_.save(directory / "model.keras")

    @classmethod
    def load(cls, directory: Path) -> CharNetwork:
        """A network written by ``save``."""
        import components.families.chargen.standardize  # noqa: F401  (registers lower_unicode)

        settings = read_settings(directory)
        model = keras.models.load_model(Path(directory) / "model.keras")
        vectorizer = CharVectorizer(settings["characters"], settings["lowercase"])
        return cls(ResolvedCharRun.model_validate(settings["run"]), vectorizer, model)


class NetworkDecoder:
    """Reads text through a batch-of-one stateful copy of the network: the prompt once, then
    one character per step, the state carrying the context (whatever the training)."""

    def __init__(self, network: CharNetwork) -> None:
        self.vectorizer = network.vectorizer
        self.model = network.build(stateful=True, batch_size=1)
        self.model.set_weights(network.network_.get_weights())
        self._next_logits = tf.function(
            lambda ids: self.model(ids, training=False)[0, -1],
            input_signature=[tf.TensorSpec((1, None), tf.int64)],
            autograph=False,
        )

    def start(self, prompt: str) -> np.ndarray:
        for layer in self.model.layers:
            if getattr(layer, "stateful", False):
                layer.reset_states()
        return self._read(self.vectorizer.transform(prompt))

    def step(self, char_id: int) -> np.ndarray:
        return self._read(np.asarray([char_id], dtype="int64"))

    def _read(self, ids: np.ndarray) -> np.ndarray:
        return np.asarray(self._next_logits(tf.constant(ids[None], dtype=tf.int64)), "float64")
