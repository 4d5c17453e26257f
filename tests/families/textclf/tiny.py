"""A tiny text classification setup for the tests over every family: every model, seconds."""

from __future__ import annotations

import pandas as pd
import yaml

from components.core.contract import Task
from components.core.versioning import DataVersion
from components.families.textclf.config import TextclfConfig
from components.families.textclf.family import PreparedText, TextclfFamily

LABELS = ["comedies", "histories", "tragedies"]
TEXTS = [
    "a merry jest and a wedding",
    "the king and his crown of england",
    "death and blood and grief",
    "love and laughter at the wedding",
    "war for the crown of france",
    "the ghost and the poison",
]


def every_model_config() -> TextclfConfig:
    """Every registered classifier (and the pretrained LSTM) with a few units, one epoch."""
    family = TextclfFamily()
    models = [{"name": name} for name in family.model_names()]
    models.append({"name": "lstm", "pretrained": True})
    return TextclfConfig.model_validate(
        {
            "tasks": {
                "tiny": {
                    "source": "imdb_files",
                    "path": "unused.csv",
                    "labels": LABELS,
                    "vectorizer": {"vocabulary_size": 50, "sequence_length": 8},
                }
            },
            "architecture": {"embedding_dim": 4, "units": 4, "layers": 2, "dropout": 0.0},
            "training": {"epochs": 1, "batch_size": 6, "patience": 1},
            "pretraining": {"epochs": 1, "batch_size": 6},
            "baseline": {"min_df": 1},
            "models": models,
        }
    )


def prepared(config: TextclfConfig) -> PreparedText:
    rows = [
        {
            "document": f"{split}-{index}",
            "text": text,
            "label": LABELS[index % 3],
            "split": split,
        }
        for split, copies in (("train", 3), ("validation", 1), ("test", 1))
        for index, text in enumerate(TEXTS * copies)
    ]
    data = DataVersion("tiny.dir", "tiny", "data/raw/textclf-tiny.csv")
    return TextclfFamily().prepare(pd.DataFrame(rows), Task(config, "tiny"), data)


def flow_document() -> dict:
    """A config for the real flow: the fine-food reviews, the baseline and a GRU."""
    family = TextclfFamily()
    finefoods = yaml.safe_load(family.default_config.read_text())["tasks"]["finefoods"]
    finefoods["vectorizer"] = {"vocabulary_size": 2000, "sequence_length": 48}
    document = {
        "tasks": {"finefoods": finefoods},
        "architecture": {"embedding_dim": 16, "units": 8, "dropout": 0.0},
        "training": {"epochs": 1, "patience": 1, "batch_size": 64, "max_train_batches": 20},
        "gate_baseline": "majority_class",
        "models": [{"name": "gru"}],
        "profiles": {"quick": {}},
    }
    return document
