"""What every run is scored and logged with: bits per character against the n-gram, perplexity,
accuracy, and samples at each configured temperature."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from components.core import stages
from components.families.chargen.family import ChargenFamily

from .tiny import every_model_config, prepared


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory):
    """The n-gram and a GRU fitted on the tiny corpus, each evaluated (GRU against the n-gram)."""
    family, config = ChargenFamily(), every_model_config()
    data = prepared(config)
    results = {}
    reference = None
    for name in ("ngram", "gru"):
        run = config.resolve({"name": name})
        directory = tmp_path_factory.mktemp(name)
        fitted = family.fit(data, run, directory / "backup", [])
        results[name], _ = stages.assess(family, data, run, fitted.model, reference, directory)
        reference = results[name].metrics if name == "ngram" else reference
    return results


def test_the_baseline_scores_beside_every_model(scored) -> None:
    ngram, gru = scored["ngram"].metrics, scored["gru"].metrics
    assert ngram["test_bits_per_char_baseline"] == ngram["test_bits_per_char"]
    assert gru["test_bits_per_char_baseline"] == ngram["test_bits_per_char"]
    assert gru["test_bits_per_char_vs_baseline"] == pytest.approx(
        gru["test_bits_per_char"] / ngram["test_bits_per_char"]
    )
    for metrics in (ngram, gru):
        assert metrics["test_perplexity"] == pytest.approx(2 ** metrics["test_bits_per_char"])
    assert 0 <= gru["test_accuracy"] <= 1 and "test_accuracy" not in ngram
    # Three repeated sonnet lines: an order-3 n-gram has learned them; one GRU epoch has not.
    assert ngram["test_bits_per_char"] < gru["test_bits_per_char"] < math.log2(40)


def test_samples_at_every_configured_temperature_are_logged(scored) -> None:
    config = every_model_config()
    for evaluation in scored.values():
        (samples,) = evaluation.artifacts
        assert Path(samples).name == "samples.txt"
        text = Path(samples).read_text()
        for temperature in config.sampling.temperatures:
            assert f"--- temperature {temperature} " in text
        assert text.count(config.sampling.prompts[0]) == len(config.sampling.temperatures)
