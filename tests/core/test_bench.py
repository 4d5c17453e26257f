"""The text classification benchmark's figures, from runs as MLflow returns them."""

from __future__ import annotations

import pytest

from bench.textclf import BASELINE, summarize


def row(run: str, seed: int, f1: float) -> dict:
    return {"run": run, "seed": seed, "test_macro_f1": f1, "test_accuracy": f1 + 0.05}


def test_summarize_compares_seed_means_with_the_baseline_and_pairs_pretraining() -> None:
    rows = [
        row(BASELINE, -1, 0.70),
        row("gru", 1, 0.74),
        row("gru", 2, 0.68),
        row("lstm", 1, 0.60),
        row("lstm", 2, 0.66),
        row("lstm-pretrained", 1, 0.64),
        row("lstm-pretrained", 2, 0.65),
        row("gru", 3, 0.99),  # a seed outside the benchmark's is left out
    ]
    found = summarize(rows, seeds=[1, 2])
    summary, table = found["summary"], found["leaderboard"]
    assert [entry["run"] for entry in table] == ["gru", BASELINE, "lstm-pretrained", "lstm"]
    assert summary["best_rnn"] == "gru"
    assert summary["best_rnn_test_macro_f1_mean"] == pytest.approx(0.71)
    assert summary["best_rnn_minus_baseline_points"] == pytest.approx(1.0)
    assert summary["best_rnn_seeds_above_baseline"] == 1
    assert summary["pretrained_minus_scratch_points"] == pytest.approx(1.5)
    assert summary["pretrained_wins"] == 1 and summary["paired_seeds"] == 2
    gru = next(entry for entry in table if entry["run"] == "gru")
    assert gru["seeds"] == 2 and gru["test_macro_f1_sd"] == pytest.approx(0.0424, abs=1e-4)
