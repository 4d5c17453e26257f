"""Every network builder, the tf.data windows, stateful batches, and the n-gram's arithmetic."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from components.core.contract import Task
from components.core.training import fit_model
from components.families.chargen.config import CharArchitecture, CharTrainingConfig, WindowConfig
from components.families.chargen.family import ChargenFamily
from components.families.chargen.models import BASELINE
from components.families.chargen.networks import (
    BUILDERS,
    CharNetwork,
    CharSpec,
    ConsecutiveBatches,
    StatefulEpochs,
    builder,
    window_dataset,
)
from components.families.chargen.ngram import WittenBellModel
from components.families.chargen.vectorizer import CharVectorizer

from .tiny import every_model_config, prepared

ARCHITECTURE = CharArchitecture(embedding_dim=4, units=6, layers=2)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_builder_gives_next_character_logits_at_every_step(name: str) -> None:
    model = builder(name)(ARCHITECTURE, CharSpec(vocabulary_size=11))
    logits = model(np.array([[2, 3, 4], [5, 6, 7]]))
    assert tuple(logits.shape) == (2, 3, 11)
    assert np.isfinite(np.asarray(logits)).all()


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_a_stateful_copy_reads_a_text_in_pieces_as_the_stateless_model_reads_it_whole(
    name: str,
) -> None:
    stateless = builder(name)(ARCHITECTURE, CharSpec(vocabulary_size=11))
    stateful = builder(name)(ARCHITECTURE, CharSpec(11, stateful=True, batch_size=1))
    stateful.set_weights(stateless.get_weights())
    text = np.array([[2, 5, 3, 9, 4, 4, 7, 10]])
    whole = np.asarray(stateless(text))[0, -1]
    stateful(text[:, :5])
    pieces = np.asarray(stateful(text[:, 5:]))[0, -1]
    np.testing.assert_allclose(pieces, whole, rtol=1e-5, atol=1e-5)


def test_an_unknown_network_name_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="valid names"):
        builder("transformer")
    assert {*BUILDERS, BASELINE} == set(ChargenFamily().model_names())


def test_windows_pair_each_character_with_the_next_one() -> None:
    ids = np.arange(100, dtype="int64")
    window = WindowConfig(sequence_length=10, shift=10, shuffle_buffer=100)
    batches = list(window_dataset(ids, window, batch_size=3, shuffle=True, seed=1))
    assert len(batches) == 3  # 9 full windows of 11 ids, batched by 3, remainder dropped
    inputs, targets = (
        np.concatenate([np.asarray(batch[part]) for batch in batches]) for part in (0, 1)
    )
    assert inputs.shape == (9, 10)
    np.testing.assert_array_equal(targets, inputs + 1)
    assert sorted(inputs[:, 0]) == list(range(0, 90, 10))  # every window, shuffled
    assert list(inputs[:, 0]) != sorted(inputs[:, 0])


def test_stateful_batches_continue_each_row_from_the_previous_batch() -> None:
    ids = np.arange(61, dtype="int64")
    batches = list(ConsecutiveBatches(ids, length=5, batch_size=3).dataset())
    assert len(batches) == 4  # 3 streams of 20 characters, 4 windows each
    for earlier, later in itertools.pairwise(batches):
        np.testing.assert_array_equal(np.asarray(later[0])[:, 0], np.asarray(earlier[0])[:, -1] + 1)
    np.testing.assert_array_equal(np.asarray(batches[0][1]), np.asarray(batches[0][0]) + 1)
    with pytest.raises(ValueError, match="too few"):
        ConsecutiveBatches(ids[:10], length=5, batch_size=3)


def test_capped_stateful_epochs_move_on_through_the_whole_text(tmp_path: Path) -> None:
    ids = np.arange(211, dtype="int64") % 11  # 3 streams of 70 characters: 7 windows of 10
    streams = ConsecutiveBatches(ids, length=10, batch_size=3, steps=3)
    assert streams.passes == 3
    read: list[int] = []  # the first stream's first character of every batch trained on

    def record(inputs: tf.Tensor) -> tf.Tensor:
        read.append(int(np.asarray(inputs)[0, 0]))
        return inputs

    train = streams.dataset().map(
        lambda inputs, targets: (
            tf.ensure_shape(tf.py_function(record, [inputs], tf.int64), inputs.shape),
            targets,
        )
    )
    network = builder("gru")(ARCHITECTURE, CharSpec(11, stateful=True, batch_size=3))
    network.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    training = CharTrainingConfig(epochs=4, patience=5, max_train_batches=3)
    validation = ConsecutiveBatches(ids, length=10, batch_size=3).dataset()
    datasets = {"train": train, "validation": validation}
    fit_model(network, datasets, training, tmp_path, [StatefulEpochs(streams)])
    # Windows 0-2, 3-5, then the last three (4-6) so the end is read too, then from the start;
    # (Keras may read one batch before the first epoch to build the model.)
    epochs = [[ids[10 * window] for window in windows] for windows in ((0, 1, 2), (3, 4, 5))]
    epochs += [[ids[10 * window] for window in windows] for windows in ((4, 5, 6), (0, 1, 2))]
    assert read[-12:] == [first for epoch in epochs for first in epoch]
    keras.backend.clear_session()


def test_witten_bell_follows_its_formula_and_sums_to_one() -> None:
    vectorizer = CharVectorizer(list("ab"), lowercase=False)
    model = WittenBellModel(2, vectorizer).fit("aab")
    # Unigrams: C(a)=2, C(b)=1, N=3, T=2; uniform over a, b and unknown = 1/3.
    unigram_b = (1 + 2 * (1 / 3)) / (3 + 2)
    # After "a": C(ab)=1, C(aa)=1, C(a.)=2, T(a)=2.
    assert model.probability("a", "b") == pytest.approx((1 + 2 * unigram_b) / (2 + 2))
    assert model.probability("b", "b") == pytest.approx(unigram_b)  # "b" never had a successor
    for context in ("", "a", "b", "ab"):
        assert np.exp(model.logits(context)).sum() == pytest.approx(1.0)


def test_a_higher_order_n_gram_predicts_shakespeare_better_than_a_unigram() -> None:
    config, data = every_model_config(), prepared(every_model_config())
    bits = {
        order: WittenBellModel(order, data.vectorizer)
        .fit(data.texts["train"])
        .score(data.texts["test"])
        .bits_per_char
        for order in (1, 3)
    }
    assert bits[3] < bits[1] < math.log2(data.vectorizer.size)
    assert config.ngram.order == 3


def test_the_stateful_gru_trains_and_serves_as_a_stateless_copy(tmp_path: Path) -> None:
    config = every_model_config()
    data = prepared(config)
    run = config.resolve({"name": "gru", "stateful": True})
    network = CharNetwork(run, data.vectorizer)
    history = network.fit(data.ids, config.window, tmp_path / "backup")
    assert set(history) >= {"loss", "val_loss", "accuracy", "val_accuracy"}
    served = network.network_
    assert not any(getattr(layer, "stateful", False) for layer in served.layers)
    assert served.input_shape[0] is None  # any batch size
    scores = network.score(data.texts["test"], window=32)
    assert scores.log2_probabilities.size == len(data.texts["test"]) - 1
    assert 0 <= scores.accuracy <= 1


def test_runs_too_long_for_the_text_are_reported_before_training() -> None:
    config = every_model_config()
    data = prepared(config)
    long_windows = config.model_copy(
        update={"window": WindowConfig(sequence_length=200, evaluation_window=32)}
    )
    runs = [*long_windows.runs(), config.resolve({"name": "gru", "stateful": True})]
    unfit = ChargenFamily().unfit_runs(replace(data, task=Task(long_windows, "tiny")), runs)
    assert set(unfit) == {"gru", "gru-stateful", "lstm", "stacked_gru"}  # the n-gram is fine
    assert "characters" in unfit["gru-stateful"] and "801" in unfit["gru-stateful"]
    assert ChargenFamily().unfit_runs(data, config.runs()) == {}
    keras.backend.clear_session()


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_a_network_run_logs_exactly_the_architecture_its_builder_reads(name: str) -> None:
    from components.families.chargen.config import ARCHITECTURE_READS
    from tests.architecture_reads import ReadRecorder

    recorder = ReadRecorder(ARCHITECTURE)
    builder(name)(recorder, CharSpec(vocabulary_size=11))  # type: ignore[arg-type]
    assert recorder.read == set(ARCHITECTURE_READS[name])
    config = every_model_config()
    logged = ChargenFamily().run_params(prepared(config), config.resolve({"name": name}))
    assert set(logged["architecture"]) == recorder.read  # a GRU run logs no `layers`
