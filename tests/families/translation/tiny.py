"""A tiny translation setup for the tests over every family: every model, seconds."""

from __future__ import annotations

from typing import Any

import pandas as pd

from components.core.contract import Task
from components.core.versioning import DataVersion
from components.families.translation.config import TranslationConfig
from components.families.translation.family import PreparedPairs, TranslationFamily

TINY_DATES = {
    "source": "dates",
    "train_size": 160,
    "validation_size": 16,
    "test_size": 16,
    "min_format_share": 0.0,
    "vectorizer": {
        "level": "character",
        "vocabulary_size": 60,
        "source_length": 32,
        "target_length": 11,
    },
}


def every_model_config(**overrides: Any) -> TranslationConfig:
    """Every registered translator with a few units, one epoch."""
    models = [{"name": name} for name in TranslationFamily().model_names()]
    document = {
        "tasks": {"dates": TINY_DATES},
        "architecture": {"embedding_dim": 4, "units": 4},
        "training": {"epochs": 1, "batch_size": 16, "patience": 1},
        "decoding": {"beam_width": 2},
        "attention_examples": 2,
        "models": models,
    }
    return TranslationConfig.model_validate(document | overrides)


def prepared(config: TranslationConfig, task: str = "dates") -> PreparedPairs:
    family = TranslationFamily()
    data = DataVersion("tiny.dir", "tiny", f"data/raw/translation-{task}.csv")
    bound = Task(config, task)
    return family.prepare(family.load_table(bound), bound, data)


def flow_document() -> dict:
    """A config for the real flow: a few hundred dates, the baseline and Luong attention."""
    document = {
        "tasks": {
            "dates": TINY_DATES | {"train_size": 400, "validation_size": 50, "test_size": 50}
        },
        "architecture": {"embedding_dim": 8, "units": 16},
        "training": {"epochs": 1, "patience": 1, "batch_size": 64},
        "decoding": {"beam_width": 2},
        "models": [{"name": "luong_attention"}],
        "profiles": {"quick": {}},
    }
    return document


def same_predictions(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(expected, actual, rtol=1e-4, atol=1e-5)
