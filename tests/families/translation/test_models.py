"""Translators by name on users' own sentence pairs: word-level vectorizers, BLEU and chrF."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.core import stages
from components.core.contract import Task
from components.core.versioning import DataVersion
from components.families.translation.family import TranslationFamily
from components.families.translation.networks import teacher_forcing

FIXTURE = Path(__file__).parent / "fixtures" / "spa-tiny.txt"
FAMILY = TranslationFamily()


def sentences_config(tmp_path: Path):
    config_path = tmp_path / "spa.yaml"
    config_path.write_text(
        f"tasks:\n  spa:\n    source: tab_file\n    path: {FIXTURE}\n"
        "    validation_fraction: 0.2\n    test_fraction: 0.2\n"
        "    vectorizer: {level: word, vocabulary_size: 80, source_length: 8, target_length: 8}\n"
        "architecture: {embedding_dim: 4, units: 4}\n"
        "training: {epochs: 1, batch_size: 8, patience: 1}\n"
        "models: [{name: luong_attention}, {name: vector_to_sequence}]\n"
        "profiles: {quick: {}}\n"
    )
    return FAMILY.load_config(config_path)


def test_a_sentence_task_trains_word_level_and_scores_bleu_and_chrf(tmp_path: Path) -> None:
    config = sentences_config(tmp_path)
    table = FAMILY.load_table(Task(config, "spa"))
    prepared = FAMILY.prepare(table, Task(config, "spa"), DataVersion("spa.dir", "spa", "spa.csv"))
    vocabulary = prepared.target_vectorizer.vocabulary_
    assert {"¡", "estoy", "[start]", "[end]"} <= set(vocabulary)  # words, punctuation apart
    runs = config.runs()
    assert FAMILY.unfit_runs(prepared, runs) == {
        "vector_to_sequence": "the vector-to-sequence model reads (year, month, day): "
        "a dates task only"
    }
    assert [run.name for run in FAMILY.baseline_runs(config, runs)] == ["encoder_decoder"]
    fitted = FAMILY.fit(prepared, runs[0], tmp_path / "backup", [])
    evaluation, _ = stages.assess(FAMILY, prepared, runs[0], fitted.model, None, tmp_path)
    metrics = evaluation.metrics
    assert {"test_bleu", "test_chrf", "test_exact_match_sentence"} <= set(metrics)
    assert 0 <= metrics["test_bleu"] <= 100 and 0 <= metrics["test_chrf"] <= 100
    answer = fitted.model.predict(None, ["I'm sad.", "Who is Tom?"])  # unknown words: [UNK]
    assert answer["translation"].map(type).eq(str).all()


def test_teacher_forcing_shifts_the_target_behind_a_start_token() -> None:
    start, end = 5, 6
    targets = [[2, 3, 4, 0], [2, 0, 0, 0]]
    import numpy as np

    decoder_input, decoder_output, weights = teacher_forcing(np.array(targets), start, end, 4)
    assert decoder_input.tolist() == [[5, 2, 3, 4], [5, 2, 0, 0]]
    assert decoder_output.tolist() == [[2, 3, 4, 6], [2, 6, 0, 0]]
    assert weights.tolist() == [[1, 1, 1, 1], [1, 1, 0, 0]]


def test_an_unknown_translator_is_refused_with_the_valid_names(tmp_path: Path) -> None:
    config = sentences_config(tmp_path)
    run = config.runs()[0].model_copy(update={"name": "transformer"})
    with pytest.raises(ValueError, match=r"unknown translation model\(s\) \['transformer'\]"):
        FAMILY.check(config, [run])
