"""Encoder-decoders: Keras builders (training, encoder and one-step decoder models sharing
layers), teacher-forced training and the fitted translator."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import keras
import numpy as np
from keras import layers

from components.core.persistence import read_settings, write_manifest
from components.core.training import fit_model, make_optimizer, seed_everything
from components.families.translation.config import (
    DecodingConfig,
    ResolvedTranslationRun,
    Seq2SeqArchitecture,
)
from components.families.translation.decoding import Decoded, search
from components.families.translation.vectorizer import SequenceVectorizer

DATE_VECTOR_SIZE = 3  # (year, month, day)


@dataclass(frozen=True)
class Seq2SeqSpec:
    """What a builder needs to know about the data."""

    source_vocabulary: int  # source ids, padding and unknown included (unused by vectors)
    target_vocabulary: int  # target ids, padding, unknown, start and end included


class Seq2SeqNetwork(NamedTuple):
    """Three views of one set of layers."""

    training: keras.Model  # {source, decoder_input} -> next-token logits at every step
    encoder: keras.Model  # {source} -> the decoder's carry: states (and memory with attention)
    step: keras.Model  # {token, **carry} -> {logits, **carry (updated), attention?}


@keras.saving.register_keras_serializable(package="seqpipe")
class PeriodicEncoding(layers.Layer):
    """Numbers -> sine and cosine of 2 pi x / period for each period.

    A decimal digit of x is the angle of x / 10 ** (place + 1) cut into ten sectors, which a
    dense layer reads far more easily than from x scaled to [0, 1].
    """

    def __init__(self, periods: Sequence[float] = (10, 100, 1000, 10000), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.periods = [float(period) for period in periods]

    def call(self, inputs):
        angles = keras.ops.expand_dims(inputs, -1) * (
            2 * math.pi / keras.ops.convert_to_tensor(self.periods)
        )
        features = keras.ops.concatenate([keras.ops.sin(angles), keras.ops.cos(angles)], axis=-1)
        return keras.ops.reshape(features, (-1, inputs.shape[-1] * 2 * len(self.periods)))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1] * 2 * len(self.periods))

    def get_config(self) -> dict[str, Any]:
        return super().get_config() | {"periods": self.periods}


@dataclass(frozen=True)
class _Encoded:
    """What an encoder hands the decoder."""

    states: list[Any]  # initial hidden and cell state of the decoder LSTM
    memory: Any = None  # every source step's encoding (what attention reads)
    units: int = 0  # the decoder's units: the states' width


Encoder = Callable[[Seq2SeqArchitecture, Seq2SeqSpec, Any], _Encoded]
AttentionFactory = Callable[[], layers.Layer]


def _embedded_source(config: Seq2SeqArchitecture, spec: Seq2SeqSpec, source: Any) -> Any:
    return layers.Embedding(
        spec.source_vocabulary, config.embedding_dim, mask_zero=True, name="source_embedding"
    )(source)


def _lstm_encoder(config: Seq2SeqArchitecture, spec: Seq2SeqSpec, source: Any) -> _Encoded:
    memory, state_h, state_c = layers.LSTM(
        config.units, return_sequences=True, return_state=True, name="encoder"
    )(_embedded_source(config, spec, source))
    return _Encoded([state_h, state_c], memory, config.units)


def _bidirectional_encoder(config: Seq2SeqArchitecture, spec: Seq2SeqSpec, source: Any) -> _Encoded:
    memory, forward_h, forward_c, backward_h, backward_c = layers.Bidirectional(
        layers.LSTM(config.units, return_sequences=True, return_state=True), name="encoder"
    )(_embedded_source(config, spec, source))
    states = [
        layers.Concatenate(name="state_h")([forward_h, backward_h]),
        layers.Concatenate(name="state_c")([forward_c, backward_c]),
    ]
    return _Encoded(states, memory, 2 * config.units)


def _vector_encoder(config: Seq2SeqArchitecture, spec: Seq2SeqSpec, source: Any) -> _Encoded:
    features = PeriodicEncoding(name="periodic")(source)
    hidden = layers.Dense(config.units, activation="tanh", name="vector_hidden")(features)
    states = [
        layers.Dense(config.units, activation="tanh", name="initial_h")(hidden),
        layers.Dense(config.units, name="initial_c")(hidden),
    ]
    return _Encoded(states, None, config.units)


class _Decoder:
    """The decoder's layers, applied to a whole teacher-forced sequence or to one token."""

    def __init__(
        self,
        config: Seq2SeqArchitecture,
        spec: Seq2SeqSpec,
        units: int,
        attention: AttentionFactory | None,
    ) -> None:
        self.embedding = layers.Embedding(
            spec.target_vocabulary, config.embedding_dim, mask_zero=True, name="target_embedding"
        )
        self.lstm = layers.LSTM(units, return_sequences=True, return_state=True, name="decoder")
        self.attention = attention() if attention else None
        self.output = layers.Dense(spec.target_vocabulary, name="logits")

    def __call__(self, tokens: Any, states: list[Any], memory: Any, source_mask: Any):
        """Logits per step, the new states and the attention weights (None without)."""
        hidden, state_h, state_c = self.lstm(self.embedding(tokens), initial_state=states)
        weights = None
        if self.attention is not None:
            # Query: each decoder step; value: each source step, padding left out.
            context, weights = self.attention(
                [hidden, memory],
                mask=[None, keras.ops.cast(source_mask, "bool")],
                return_attention_scores=True,
            )
            hidden = keras.ops.concatenate([hidden, context], axis=-1)
        return self.output(hidden), state_h, state_c, weights


def _seq2seq(
    config: Seq2SeqArchitecture,
    spec: Seq2SeqSpec,
    encode: Encoder,
    name: str,
    attention: AttentionFactory | None = None,
    source_shape: tuple[int | None, ...] = (None,),
    source_dtype: str = "int64",
) -> Seq2SeqNetwork:
    """An encoder, an LSTM decoder (with ``attention`` over the encoder's steps if given) and
    the three models that share them."""
    source = keras.Input(shape=source_shape, dtype=source_dtype, name="source")
    encoded = encode(config, spec, source)
    carry = {"state_h": encoded.states[0], "state_c": encoded.states[1]}
    source_mask = None
    if attention is not None:
        source_mask = keras.ops.cast(keras.ops.not_equal(source, 0), "float32")
        carry |= {"memory": encoded.memory, "source_mask": source_mask}
    decoder = _Decoder(config, spec, encoded.units, attention)
    decoder_input = keras.Input(shape=(None,), dtype="int64", name="decoder_input")
    logits, *_ = decoder(decoder_input, encoded.states, encoded.memory, source_mask)
    training = keras.Model({"source": source, "decoder_input": decoder_input}, logits, name=name)
    encoder = keras.Model({"source": source}, carry, name=f"{name}_encoder")

    token = keras.Input(shape=(1,), dtype="int64", name="token")
    carried = {
        "state_h": keras.Input(shape=(encoded.units,), name="state_h"),
        "state_c": keras.Input(shape=(encoded.units,), name="state_c"),
    }
    if attention is not None:
        memory_width = encoded.memory.shape[-1]
        carried |= {
            "memory": keras.Input(shape=(None, memory_width), name="memory"),
            "source_mask": keras.Input(shape=(None,), name="source_mask"),
        }
    logits, state_h, state_c, weights = decoder(
        token,
        [carried["state_h"], carried["state_c"]],
        carried.get("memory"),
        carried.get("source_mask"),
    )
    outputs = {"logits": logits[:, 0], "state_h": state_h, "state_c": state_c}
    if weights is not None:
        outputs["attention"] = weights[:, 0]
    step = keras.Model({"token": token, **carried}, outputs, name=f"{name}_step")
    return Seq2SeqNetwork(training, encoder, step)


def build_encoder_decoder(config: Seq2SeqArchitecture, spec: Seq2SeqSpec) -> Seq2SeqNetwork:
    """An LSTM reads the source; its final states start the LSTM decoder (no attention)."""
    return _seq2seq(config, spec, _lstm_encoder, "encoder_decoder")


def build_bidirectional(config: Seq2SeqArchitecture, spec: Seq2SeqSpec) -> Seq2SeqNetwork:
    """A bidirectional LSTM reads the source; both directions' final states start the decoder."""
    return _seq2seq(config, spec, _bidirectional_encoder, "bidirectional")


def build_luong_attention(config: Seq2SeqArchitecture, spec: Seq2SeqSpec) -> Seq2SeqNetwork:
    """Encoder-decoder whose every output step attends to every source step (dot-product,
    Luong); the context joins the decoder's state before the output layer."""
    return _seq2seq(
        config,
        spec,
        _lstm_encoder,
        "luong_attention",
        attention=lambda: layers.Attention(name="attention"),
    )


def build_bahdanau_attention(config: Seq2SeqArchitecture, spec: Seq2SeqSpec) -> Seq2SeqNetwork:
    """Encoder-decoder with additive (Bahdanau) attention over the source steps."""
    return _seq2seq(
        config,
        spec,
        _lstm_encoder,
        "bahdanau_attention",
        attention=lambda: layers.AdditiveAttention(name="attention"),
    )


def build_vector_to_sequence(config: Seq2SeqArchitecture, spec: Seq2SeqSpec) -> Seq2SeqNetwork:
    """The decoder on its own: (year, month, day) -> the date's ISO string, token by token."""
    return _seq2seq(
        config,
        spec,
        _vector_encoder,
        "vector_to_sequence",
        source_shape=(DATE_VECTOR_SIZE,),
        source_dtype="float32",
    )


Builder = Callable[[Seq2SeqArchitecture, Seq2SeqSpec], Seq2SeqNetwork]
Reads = Literal["text", "date_vector"]


@dataclass(frozen=True)
class TranslatorEntry:
    """A registered translator: its builder and what it reads."""

    build: Builder
    reads: Reads = "text"  # text: source strings; date_vector: (year, month, day) of the target


# Translator name -> its entry; ``models.BASELINE`` (no attention) is what the others must beat.
TRANSLATORS: dict[str, TranslatorEntry] = {
    "encoder_decoder": TranslatorEntry(build_encoder_decoder),
    "bidirectional": TranslatorEntry(build_bidirectional),
    "luong_attention": TranslatorEntry(build_luong_attention),
    "bahdanau_attention": TranslatorEntry(build_bahdanau_attention),
    "vector_to_sequence": TranslatorEntry(build_vector_to_sequence, reads="date_vector"),
}


def translator_entry(name: str) -> TranslatorEntry:
    """The registry entry of ``name``.

    Raises:
        ValueError: if no translator has that name (the message lists the valid names).
    """
    if name not in TRANSLATORS:
        raise ValueError(f"unknown translator {name!r}; valid names: {sorted(TRANSLATORS)}")
    return TRANSLATORS[name]


def teacher_forcing(target_ids: np.ndarray, start_id: int, end_id: int, length: int):
    """Decoder inputs (start, then the target) and outputs (the target, then end), both
    ``length`` long, and weights that leave padding out of the loss and accuracy."""
    count = len(target_ids)
    content = target_ids[:, : length - 1]
    lengths = (content != 0).sum(axis=1)
    decoder_input = np.zeros((count, length), dtype="int64")
    decoder_input[:, 0] = start_id
    decoder_input[:, 1:] = content
    decoder_output = np.zeros((count, length), dtype="int64")
    decoder_output[:, : length - 1] = content
    decoder_output[np.arange(count), lengths] = end_id
    return decoder_input, decoder_output, (decoder_output != 0).astype("float32")


def pairs_dataset(
    sources: np.ndarray,
    target_ids: np.ndarray,
    start_id: int,
    end_id: int,
    length: int,
    batch_size: int,
    shuffle: bool,
    seed: int,
):
    """Batches of ({source, decoder_input}, next tokens, weights) for teacher forcing."""
    import tensorflow as tf

    decoder_input, decoder_output, weights = teacher_forcing(target_ids, start_id, end_id, length)
    dataset = tf.data.Dataset.from_tensor_slices(
        ({"source": sources, "decoder_input": decoder_input}, decoder_output, weights)
    )
    if shuffle:
        dataset = dataset.shuffle(len(sources), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


class Translator:
    """An encoder-decoder built by name, trained with teacher forcing, decoding raw inputs.

    Args:
        run: the model run (builder name, architecture, training).
        source_vectorizer: fitted on the training sources (unused by vector inputs).
        target_vectorizer: fitted on the training targets; holds the start and end tokens.
        source_length: tokens of the longest source the model reads.
        target_length: tokens of the longest output, the end token included.
        decoding: default beam width and length penalty.
        output: ``iso_date`` when every output must name a calendar day, else ``text``.
        network: fitted networks (when loaded).
    """

    def __init__(
        self,
        run: ResolvedTranslationRun,
        source_vectorizer: SequenceVectorizer,
        target_vectorizer: SequenceVectorizer,
        source_length: int,
        target_length: int,
        decoding: DecodingConfig,
        output: Literal["text", "iso_date"] = "text",
        network: Seq2SeqNetwork | None = None,
    ) -> None:
        self.entry = translator_entry(run.name)  # an unknown name fails before any data
        self.run = run
        self.source_vectorizer = source_vectorizer
        self.target_vectorizer = target_vectorizer
        self.source_length = source_length
        self.target_length = target_length
        self.decoding = decoding
        self.output = output
        self.network_ = network

    @property
    def reads(self) -> str:
        """``text`` (source strings) or ``date_vector`` ((year, month, day) rows)."""
        return self.entry.reads

    @property
    def spec(self) -> Seq2SeqSpec:
        return Seq2SeqSpec(self.source_vectorizer.size, self.target_vectorizer.size)

    def build(self) -> Seq2SeqNetwork:
        return self.entry.build(self.run.architecture, self.spec)

    def encode_inputs(self, inputs: Any) -> np.ndarray:
        """What the encoder reads: source ids for texts, float rows for date vectors."""
        if self.reads == "date_vector":
            return np.asarray(inputs, dtype="float32").reshape(-1, DATE_VECTOR_SIZE)
        return self.source_vectorizer.transform(inputs, self.source_length)

    def fit(
        self,
        sources: dict[str, Any],
        targets: dict[str, Sequence[str]],
        backup_dir: Path,
        callbacks: list[Any] | None = None,
    ) -> dict[str, list[float]]:
        """Fit on the train split with teacher forcing, stop early on validation loss.

        Args:
            sources: raw inputs per split (``train``, ``validation``): strings, or date vectors.
            targets: target strings per split.
            backup_dir: ``ResumableEpochs`` state, so an interrupted fit resumes.
            callbacks: extra Keras callbacks.
        """
        training = self.run.training
        seed_everything(training.seed)
        network = self.build()
        network.training.compile(
            optimizer=make_optimizer(training.optimizer),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")],
        )
        target = self.target_vectorizer
        datasets = {
            part: pairs_dataset(
                self.encode_inputs(sources[part]),
                target.transform(targets[part], self.target_length),
                target.start_id,
                target.end_id,
                self.target_length,
                training.batch_size,
                shuffle=part == "train",
                seed=training.seed,
            )
            for part in ("train", "validation")
        }
        history = fit_model(network.training, datasets, training, backup_dir, callbacks)
        self.network_ = network
        return history

    def _fitted(self) -> Seq2SeqNetwork:
        if self.network_ is None:
            raise ValueError("the translator is not fitted")
        return self.network_

    def decode(self, inputs: Any, beam_width: int | None = None) -> Decoded:
        """Token ids of the most likely output per input (beam width from the config unless
        given), with log-probabilities and attention weights."""
        network = self._fitted()
        encoded = network.encoder.predict_on_batch({"source": self.encode_inputs(inputs)})
        carry = {name: np.asarray(value) for name, value in encoded.items()}

        def step(tokens: np.ndarray, carry: dict[str, np.ndarray]):
            outputs = network.step.predict_on_batch({"token": tokens[:, None], **carry})
            logits = np.asarray(outputs["logits"], dtype="float64")
            log_probabilities = logits - _log_sum_exp(logits)
            updated = carry | {"state_h": outputs["state_h"], "state_c": outputs["state_c"]}
            return log_probabilities, updated, outputs.get("attention")

        return search(
            step,
            carry,
            self.target_vectorizer.start_id,
            self.target_vectorizer.end_id,
            self.target_length,
            width=beam_width or self.decoding.beam_width,
            length_penalty=self.decoding.length_penalty,
        )

    def translate(self, inputs: Any, beam_width: int | None = None) -> tuple[list[str], Decoded]:
        """Output strings (and the decoding behind them) of raw inputs."""
        decoded = self.decode(inputs, beam_width)
        target = self.target_vectorizer
        return [target.join(target.decode_tokens(ids)) for ids in decoded.ids], decoded

    def save(self, directory: Path) -> None:
        """Write the weights and the run, vocabularies, lengths and decoding."""
        network = self._fitted()
        settings = {
            "run": self.run.model_dump(mode="json"),
            "source_vectorizer": _vectorizer_state(self.source_vectorizer),
            "target_vectorizer": _vectorizer_state(self.target_vectorizer),
            "source_length": self.source_length,
            "target_length": self.target_length,
            "decoding": self.decoding.model_dump(mode="json"),
            "output": self.output,
        }
        write_manifest(directory, self, settings)
        network.training.save_weights(directory / "network.weights.h5")

    @classmethod
    def load(cls, directory: Path) -> Translator:
        """A translator written by ``save``: the builder rebuilds the layers, then the weights
        are loaded into them."""
        settings = read_settings(directory)
        translator = cls(
            ResolvedTranslationRun.model_validate(settings["run"]),
            SequenceVectorizer(**settings["source_vectorizer"]),
            SequenceVectorizer(**settings["target_vectorizer"]),
            settings["source_length"],
            settings["target_length"],
            DecodingConfig.model_validate(settings["decoding"]),
            settings["output"],
        )
        network = translator.build()
        network.training.load_weights(Path(directory) / "network.weights.h5")
        translator.network_ = network
        return translator


def _vectorizer_state(vectorizer: SequenceVectorizer) -> dict[str, Any]:
    return {
        "level": vectorizer.level,
        "vocabulary_size": vectorizer.vocabulary_size,
        "vocabulary": vectorizer.vocabulary_,
        "words": vectorizer.words_,
    }


def _log_sum_exp(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=-1, keepdims=True)
    return top + np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))
