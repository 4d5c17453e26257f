"""Leaderboards rank each registered model's runs by the gate its runs logged, not the config."""

from __future__ import annotations

import math

import pytest

from components.core.errors import UserError, is_user_error
from components.core.leaderboard import TrackedRun, rank_by_gate
from components.core.stages import GATE_DIRECTION_TAG, GATE_METRIC_TAG


def model_run(
    name: str, registered: str, metrics: dict[str, float], gate: tuple[str, str] | None, start=0
) -> TrackedRun:
    tags = {"seqpipe.registered_model": registered}
    if gate:
        tags |= {GATE_METRIC_TAG: gate[0], GATE_DIRECTION_TAG: gate[1]}
    return TrackedRun(name, name, start, tags, metrics, {})


def test_each_registered_model_ranks_by_its_own_tagged_gate() -> None:
    # Task names of a user's config: no default YAML knows them.
    errors, scores = ("test_mae", "less"), ("test_macro_f1", "greater")
    runs = [
        model_run("naive", "forecasting-my-store", {"test_mae": 3.0}, errors),
        model_run("gru", "forecasting-my-store", {"test_mae": 1.0}, errors),
        model_run("lstm", "forecasting-my-store", {"test_mae": math.nan}, errors),
        model_run("tfidf", "textclf-my-reviews", {"test_macro_f1": 0.7}, scores),
        model_run("cnn", "textclf-my-reviews", {"test_macro_f1": 0.9}, scores),
        model_run("older", "textclf-my-reviews", {"test_macro_f1": 0.8}, None),
        model_run("unscored", "textclf-my-reviews", {}, scores),
    ]
    boards = {board.registered_model: board for board in rank_by_gate(runs)}
    store, reviews = boards["forecasting-my-store"], boards["textclf-my-reviews"]
    assert (store.metric, store.greater_is_better) == ("test_mae", False)
    assert [run.name for run in store.runs] == ["gru", "naive", "lstm"]  # not a number: last
    assert (reviews.metric, reviews.greater_is_better) == ("test_macro_f1", True)
    # A run from before the tags shares its registered model's gate; one without the metric
    # has no place on the board.
    assert [run.name for run in reviews.runs] == ["cnn", "older", "tfidf"]


def test_untagged_registered_models_are_skipped_and_the_latest_gate_wins() -> None:
    runs = [
        model_run("old", "chargen-sonnets", {"test_bits_per_char": 2.0}, None),
        model_run(
            "first",
            "translation-spa",
            {"test_bleu": 20.0, "test_loss": 1.0},
            ("test_loss", "less"),
            1,
        ),
        model_run(
            "then",
            "translation-spa",
            {"test_bleu": 30.0, "test_loss": 2.0},
            ("test_bleu", "greater"),
            2,
        ),
    ]
    (board,) = rank_by_gate(runs)
    assert (board.registered_model, board.metric) == ("translation-spa", "test_bleu")
    assert [run.name for run in board.runs] == ["then", "first"]


def test_only_user_errors_are_the_users() -> None:
    from pydantic import BaseModel, ValidationError

    class Strict(BaseModel):
        window: int

    with pytest.raises(ValidationError) as invalid:
        Strict(window="many")
    assert is_user_error(invalid.value) and is_user_error(UserError("bad config"))
    assert not is_user_error(ValueError("a bug")) and not is_user_error(None)
