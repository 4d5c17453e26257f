"""Every text classifier builder: shapes, masking, pretraining transfer, fit and round trip."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from components.core.persistence import load_fitted
from components.families.textclf.config import (
    PretrainingConfig,
    TextArchitecture,
    TextclfConfig,
    TextTrainingConfig,
)
from components.families.textclf.family import TextclfFamily
from components.families.textclf.models import TfidfBaseline
from components.families.textclf.networks import (
    BUILDERS,
    MaskedGlobalMaxPooling1D,
    TextClassifier,
    TextSpec,
    build_classifier,
    build_language_model,
    label_weights,
    transfer_pretrained,
    word_log_frequencies,
)
from components.families.textclf.vectorizer import WordVectorizer

TINY = TextArchitecture(embedding_dim=4, units=3, layers=2, dropout=0.0)
SPECS = {
    "binary": TextSpec(vocabulary_size=30, n_labels=2),
    "six": TextSpec(vocabulary_size=30, n_labels=6),
}
TOKENS = np.array([[5, 9, 2, 17, 3, 0, 0], [8, 8, 1, 0, 0, 0, 0]], dtype="int64")
POOLINGS = ("last", "mean_max")
CASES = [
    (name, spec, pooling)
    for name in sorted(BUILDERS)
    for spec in sorted(SPECS)
    for pooling in POOLINGS
]


def padded(ids: np.ndarray, extra: int) -> np.ndarray:
    return np.pad(ids, ((0, 0), (0, extra)))


@pytest.mark.parametrize(("name", "spec", "pooling"), CASES, ids=["-".join(c) for c in CASES])
def test_builder_shapes_and_masking_ignores_padding(name: str, spec: str, pooling: str) -> None:
    model = build_classifier(name, TINY.model_copy(update={"pooling": pooling}), SPECS[spec])
    expected = 1 if spec == "binary" else 6
    assert tuple(model.output_shape) == (None, expected)
    short = model.predict(TOKENS, verbose=0)
    long = model.predict(padded(TOKENS, 20), verbose=0)
    np.testing.assert_allclose(short, long, rtol=1e-5, atol=1e-6)
    if spec == "six":
        np.testing.assert_allclose(short.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_without_masking_padding_changes_the_output(pooling: str) -> None:
    config = TINY.model_copy(update={"masking": False, "pooling": pooling})
    unmasked = build_classifier("gru", config, SPECS["binary"])
    short = unmasked.predict(TOKENS, verbose=0)
    long = unmasked.predict(padded(TOKENS, 20), verbose=0)
    assert not np.allclose(short, long, atol=1e-6)


def test_masked_max_pooling_leaves_padding_out() -> None:
    states = np.array([[[-3.0, 1.0], [-2.0, 5.0], [0.0, 9.0]]], dtype="float32")
    mask = np.array([[True, True, False]])
    pooled = MaskedGlobalMaxPooling1D()(states, mask=mask)
    np.testing.assert_allclose(np.asarray(pooled), [[-2.0, 5.0]])
    np.testing.assert_allclose(np.asarray(MaskedGlobalMaxPooling1D()(states)), [[0.0, 9.0]])


def test_every_classifier_name_has_its_builder() -> None:
    assert {*BUILDERS, TfidfBaseline.kind} == set(TextclfFamily().model_names())


def test_tfidf_baseline_saves_and_reloads(tmp_path) -> None:
    settings = TextclfFamily().load_config().baseline.model_copy(update={"min_df": 1})
    baseline = TfidfBaseline(settings, ["neg", "pos"]).fit(TEXTS["train"], LABELS["train"])
    baseline.save(tmp_path / "tfidf")
    reloaded = load_fitted(tmp_path / "tfidf")
    assert reloaded.labels == ["neg", "pos"]
    np.testing.assert_allclose(
        reloaded.predict_proba(TEXTS["validation"]), baseline.predict_proba(TEXTS["validation"])
    )


def test_unknown_builder_lists_valid_names() -> None:
    with pytest.raises(
        ValueError, match=r"unknown text classifier 'transformer'.*'bidirectional_gru'"
    ):
        build_classifier("transformer", TINY, SPECS["binary"])


def test_pretrained_weights_initialize_the_lstm_classifier_only() -> None:
    language_model = build_language_model(TINY, 30)
    assert tuple(language_model.output_shape) == (None, None, 30)
    classifier = build_classifier("lstm", TINY, SPECS["six"])
    transfer_pretrained(language_model, classifier)
    for name in ("embedding", "encoder"):
        for copied, source in zip(
            classifier.get_layer(name).get_weights(),
            language_model.get_layer(name).get_weights(),
            strict=True,
        ):
            np.testing.assert_array_equal(copied, source)
    with pytest.raises(ValueError, match="initializes an LSTM encoder; gru has GRU"):
        transfer_pretrained(language_model, build_classifier("gru", TINY, SPECS["six"]))


def test_language_model_output_starts_from_word_frequencies() -> None:
    ids = np.array([[2, 2, 2, 3, 0, 0], [2, 4, 0, 0, 0, 0]])
    frequencies = word_log_frequencies(ids, 6)
    np.testing.assert_allclose(np.exp(frequencies).sum(), 1.0, rtol=1e-6)
    assert frequencies[2] > frequencies[3] == frequencies[4] > frequencies[5] == frequencies[0]
    language_model = build_language_model(TINY, 6, frequencies)
    np.testing.assert_allclose(language_model.get_layer("next_word").get_weights()[1], frequencies)


def test_label_weights_balance_the_labels() -> None:
    weights = label_weights(np.array([0, 0, 0, 1]), 2)
    np.testing.assert_allclose(weights, [4 / 6, 2.0])
    with pytest.raises(ValueError, match=r"label id\(s\) \[2\] have no training example"):
        label_weights(np.array([0, 1]), 3)


TEXTS = {
    "train": [
        "great tasty snack",
        "love this great tea",
        "awful stale chips",
        "bad bitter coffee",
        "great price great taste",
        "stale and bad",
        "tasty and fresh",
        "never again awful",
    ]
    * 4,
    "validation": ["great fresh tea", "bad stale snack", "love it", "awful taste"],
}
LABELS = {"train": np.array([0, 0, 1, 1, 0, 1, 0, 1] * 4), "validation": np.array([0, 1, 0, 1])}


@pytest.mark.parametrize(
    ("pretrained", "pooling"),
    [(False, "last"), (True, "mean_max")],
    ids=["scratch-last", "pretrained-mean_max"],
)
def test_classifier_fits_saves_and_reloads_on_raw_strings(
    pretrained: bool, pooling: str, tmp_path
) -> None:
    vectorizer = WordVectorizer(vocabulary_size=40, sequence_length=6).fit(TEXTS["train"])
    training = TextTrainingConfig(epochs=2, batch_size=8, patience=2, max_train_batches=2)
    architecture = TINY.model_copy(update={"pooling": pooling})
    run = TextclfConfig(tasks={}, models=[], architecture=architecture, training=training).resolve(
        {"name": "lstm", "pretrained": pretrained}
    )
    classifier = TextClassifier(run, ["great", "other"], vectorizer)
    ids = {split: vectorizer.transform(texts) for split, texts in TEXTS.items()}
    history = classifier.fit(
        ids,
        LABELS,
        backup_dir=tmp_path / "backup",
        pretraining=PretrainingConfig(epochs=1, batch_size=8, max_train_batches=2),
    )
    assert len(history["val_loss"]) == 2 and np.isfinite(history["loss"]).all()
    assert bool(classifier.pretraining_history_) == pretrained
    probabilities = classifier.predict_proba(["great tea", "stale unknownword chips"])
    assert probabilities.shape == (2, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    classifier.save(tmp_path / "saved")
    reloaded = load_fitted(tmp_path / "saved")
    assert reloaded.labels == ["great", "other"] and reloaded.run == run
    np.testing.assert_allclose(
        reloaded.predict_proba(["great tea", "stale unknownword chips"]), probabilities, rtol=1e-5
    )


class InterruptAfterFirstEpoch(keras.callbacks.Callback):
    """Stops a fit once its first epoch is finished and saved."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt("machine went away")


class EpochCount(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def test_interrupted_pretrained_run_resumes_without_repeating_finished_work(tmp_path) -> None:
    vectorizer = WordVectorizer(vocabulary_size=40, sequence_length=6).fit(TEXTS["train"])
    training = TextTrainingConfig(epochs=2, batch_size=8, patience=5, max_train_batches=2)
    run = TextclfConfig(tasks={}, models=[], architecture=TINY, training=training).resolve(
        {"name": "lstm", "pretrained": True}
    )
    ids = {split: vectorizer.transform(texts) for split, texts in TEXTS.items()}
    pretraining = PretrainingConfig(epochs=3, batch_size=8, max_train_batches=2)
    backup = tmp_path / "backup"

    def fit(**callbacks):
        classifier = TextClassifier(run, ["great", "other"], vectorizer)
        history = classifier.fit(ids, LABELS, backup, pretraining=pretraining, **callbacks)
        return classifier, history

    # Stopped during pretraining: the language model resumes after its first epoch.
    with pytest.raises(KeyboardInterrupt):
        fit(pretraining_callbacks=[InterruptAfterFirstEpoch()])
    language_model_epochs = EpochCount()
    # Stopped during fine-tuning: the finished language model is kept.
    with pytest.raises(KeyboardInterrupt):
        fit(
            pretraining_callbacks=[language_model_epochs],
            callbacks=[InterruptAfterFirstEpoch()],
        )
    assert language_model_epochs.epochs == 2
    again = EpochCount()
    classifier, history = fit(pretraining_callbacks=[again])
    assert again.epochs == 0  # reloaded, not pretrained again
    assert len(classifier.pretraining_history_["loss"]) == 2
    assert len(history["loss"]) == 1  # the classifier's first epoch was restored
    assert not backup.exists()  # everything is removed once the classifier is fitted


def test_tfidf_baseline_scores_every_label() -> None:
    settings = TextclfFamily().load_config().baseline
    baseline = TfidfBaseline(settings.model_copy(update={"min_df": 1}), ["neg", "pos"])
    probabilities = baseline.fit(TEXTS["train"], LABELS["train"]).predict_proba(TEXTS["validation"])
    assert probabilities.shape == (4, 2)
    assert (probabilities.argmax(axis=1) == LABELS["validation"]).mean() >= 0.75
    with pytest.raises(ValueError, match="no training example"):
        TfidfBaseline(settings, ["a", "b", "c"]).fit(TEXTS["train"], LABELS["train"])


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_default_config_runs_every_builder_on_both_tasks(profile: str) -> None:
    config = TextclfFamily().load_config(profile=profile)
    assert set(config.tasks) == {"finefoods", "shakespeare-genre"}
    assert {entry["name"] for entry in config.models} == set(BUILDERS)
    keys = [run.key for run in config.runs()]
    assert len(keys) == len(set(keys)) and {"gru-nomask", "lstm-pretrained", "lstm"} <= set(keys)
    assert [optimizer.name for optimizer in config.optimizer_study.optimizers] == [
        "sgd",
        "momentum",
        "adagrad",
        "rmsprop",
        "adam",
    ]


def test_config_rejects_unknown_tasks_models_and_overlapping_plays() -> None:
    config = TextclfFamily().load_config()
    with pytest.raises(ValueError, match=r"unknown task 'imdb'.*'finefoods'"):
        TextclfFamily().select_tasks(config, "imdb")
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['bert'\]"):
        config.runs(["bert"])
    with pytest.raises(ValueError, match="both validation_plays and test_plays"):
        config.tasks["shakespeare-genre"].model_validate(
            {**config.tasks["shakespeare-genre"].model_dump(), "validation_plays": ["macbeth"]}
        )


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_a_network_run_logs_exactly_the_architecture_its_builder_reads(name: str) -> None:
    from components.families.textclf.config import ARCHITECTURE_READS
    from tests.architecture_reads import ReadRecorder
    from tests.families.textclf.tiny import every_model_config, prepared

    recorder = ReadRecorder(TINY)
    build_classifier(name, recorder, SPECS["six"])  # type: ignore[arg-type]
    assert recorder.read == set(ARCHITECTURE_READS[name])
    config = every_model_config()
    logged = TextclfFamily().run_params(prepared(config), config.resolve({"name": name}))
    assert set(logged["architecture"]) == recorder.read  # a GRU run logs no `layers`
