"""A tiny image setup for the tests over every family: every model, a few hundred real digits,
one or two epochs."""

from __future__ import annotations

from components.core.contract import Task
from components.core.versioning import DataVersion
from components.families.images.config import ImagesConfig
from components.families.images.family import ImagesFamily, PreparedImages
from components.families.images.sources import load_image_table

TINY = {
    "dataset": {"max_images": 300},
    "architecture": {"latent_dim": 4, "units": 16, "filters": 4, "noise_dim": 4},
    "diffusion": {"steps": 4, "time_dim": 8},
    "training": {"epochs": 1, "batch_size": 64, "patience": 1},
    "scoring": {"classifier_epochs": 1, "feature_dim": 8, "samples": 40},
}


def every_model_config() -> ImagesConfig:
    """Every registered model, each a few units wide."""
    models = [{"name": name} for name in ImagesFamily().model_names()]
    return ImagesConfig.model_validate(TINY | {"models": models})


def prepared(config: ImagesConfig) -> PreparedImages:
    table = load_image_table(config.dataset)
    data = DataVersion("tiny.dir", "tiny-digits", "data/raw/images-digits.csv")
    return ImagesFamily().prepare(table, Task(config, config.dataset.name), data)


def flow_document() -> dict:
    """A config for the real flow: a Keras autoencoder (its baseline joins it) and the
    generator baseline, so both registered models get a champion."""
    document = TINY | {
        "models": [{"name": "linear_ae"}, {"name": "pca_gaussian"}],
        "profiles": {"quick": {}},
    }
    return document
