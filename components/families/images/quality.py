"""Sample quality: a digit classifier's features, the Frechet distance on them, label coverage."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from components.families.images.config import ScoringConfig

SINGULAR_RIDGE = 1e-6
COVERED_SHARE = 0.01  # a label is covered when at least this share of samples shows it
# The latest scorer only: a flow scores on one data version, so a long-lived process that
# sees new data (a schedule, a server) keeps one classifier in memory, not one per version.
_CACHE: dict[tuple[Any, ...], ImageScorer] = {}
_CACHE_LOCK = threading.Lock()  # generators of one flow are evaluated in parallel threads


def frechet_distance(first: np.ndarray, second: np.ndarray) -> float:
    """The Frechet distance between Gaussians fitted to two feature sets (rows: samples):
    |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))."""
    from scipy.linalg import sqrtm

    mean_gap = first.mean(axis=0) - second.mean(axis=0)
    # Dead ReLU features make singular covariances; a tiny ridge keeps the root defined.
    ridge = SINGULAR_RIDGE * np.eye(first.shape[1])
    cov_first = np.cov(first, rowvar=False) + ridge
    cov_second = np.cov(second, rowvar=False) + ridge
    root = sqrtm(cov_first @ cov_second).real  # numerical noise makes tiny imaginary parts
    return float(mean_gap @ mean_gap + np.trace(cov_first + cov_second - 2.0 * root))


@dataclass
class ImageScorer:
    """A small CNN trained to tell the labels apart; its penultimate layer is the feature
    space of the Frechet distance."""

    classifier: Any  # keras.Model: image -> label probabilities
    features: Any  # keras.Model: image -> penultimate activations
    test_accuracy: float
    n_labels: int

    def embed(self, images: np.ndarray) -> np.ndarray:
        return np.asarray(self.features.predict(images[..., None], verbose=0), dtype="float64")

    def fid(self, images: np.ndarray, reference: np.ndarray) -> float:
        return frechet_distance(self.embed(images), self.embed(reference))

    def label_shares(self, images: np.ndarray) -> np.ndarray:
        """Each label's share of the images, by the classifier's verdict."""
        predicted = self.classifier.predict(images[..., None], verbose=0).argmax(axis=1)
        return np.bincount(predicted, minlength=self.n_labels) / len(images)


def train_scorer(
    images: dict[str, np.ndarray],
    targets: dict[str, np.ndarray],
    n_labels: int,
    config: ScoringConfig,
    seed: int,
) -> ImageScorer:
    """Train the feature classifier on the training split (validation: early stopping)."""
    import keras
    from keras import layers

    from components.core.training import seed_everything

    seed_everything(seed)
    size = images["train"].shape[1]
    inputs = keras.Input((size, size, 1), name="image")
    hidden = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    hidden = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(hidden)
    hidden = layers.Dropout(0.25)(layers.Flatten()(hidden))
    features = layers.Dense(config.feature_dim, activation="relu", name="features")(hidden)
    outputs = layers.Dense(n_labels, activation="softmax")(layers.Dropout(0.25)(features))
    classifier = keras.Model(inputs, outputs, name="digit_classifier")
    classifier.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    classifier.fit(
        images["train"][..., None],
        targets["train"],
        validation_data=(images["validation"][..., None], targets["validation"]),
        epochs=config.classifier_epochs,
        batch_size=64,
        callbacks=[keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)],
        verbose=0,
    )
    predicted = classifier.predict(images["test"][..., None], verbose=0).argmax(axis=1)
    return ImageScorer(
        classifier=classifier,
        features=keras.Model(inputs, features),
        test_accuracy=float((predicted == targets["test"]).mean()),
        n_labels=n_labels,
    )


def scorer_for(
    data_key: str,
    images: dict[str, np.ndarray],
    targets: dict[str, np.ndarray],
    n_labels: int,
    config: ScoringConfig,
    seed: int,
) -> ImageScorer:
    """The scorer of one prepared dataset, trained once: every generator evaluated on that
    data is scored in the same feature space. Asking for another dataset drops the last one."""
    key = (data_key, config.model_dump_json(), seed)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE.clear()
            _CACHE[key] = train_scorer(images, targets, n_labels, config, seed)
        return _CACHE[key]


def coverage(shares: np.ndarray) -> float:
    """The share of labels that at least ``COVERED_SHARE`` of the samples show."""
    return float((shares >= COVERED_SHARE).mean())
