"""The TF-IDF + logistic regression baseline, beside the recurrent classifiers of
``networks.BUILDERS`` and saved and loaded the same way."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from components.core.errors import UserError
from components.core.persistence import read_settings, write_manifest
from components.families.textclf.config import BaselineConfig


class TfidfBaseline:
    """TF-IDF word n-grams + logistic regression (scikit-learn): what a user would pick instead,
    and a registrable model of its own.

    Args:
        config: vectorizer and regularization settings.
        labels: label names in output order.
        class_weighting: weight labels by inverse training frequency.
        seed: seeds the solver.
        pipeline: a fitted scikit-learn pipeline (when loaded).
    """

    kind = "tfidf_logreg"

    def __init__(
        self,
        config: BaselineConfig,
        labels: Sequence[str],
        class_weighting: bool = True,
        seed: int = 42,
        pipeline: Any = None,
    ) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.config = config
        self.labels = list(labels)
        self.n_labels = len(self.labels)
        self.pipeline = pipeline or make_pipeline(
            TfidfVectorizer(
                max_features=config.max_features,
                ngram_range=(1, config.ngram_max),
                min_df=config.min_df,
                sublinear_tf=True,
            ),
            LogisticRegression(
                C=config.c,
                max_iter=2000,
                random_state=seed,
                class_weight="balanced" if class_weighting else None,
            ),
        )

    def fit(self, texts: Sequence[str], targets: np.ndarray) -> TfidfBaseline:
        """Fit on the training texts and their label ids."""
        missing = sorted(set(range(self.n_labels)) - set(np.unique(targets).tolist()))
        if missing:
            raise UserError(f"label id(s) {missing} have no training example")
        self.pipeline.fit(list(texts), targets)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of every label, shape (texts, labels)."""
        return self.pipeline.predict_proba(list(texts))

    def save(self, directory: Path) -> None:
        """Write the fitted pipeline (joblib), the labels and the settings."""
        import joblib

        settings = {"labels": self.labels, "baseline": self.config.model_dump(mode="json")}
        write_manifest(directory, self, settings)
        joblib.dump(self.pipeline, directory / "pipeline.joblib")

    @classmethod
    def load(cls, directory: Path) -> TfidfBaseline:
        """A baseline written by ``save``."""
        import joblib

        settings = read_settings(directory)
        pipeline = joblib.load(Path(directory) / "pipeline.joblib")
        config = BaselineConfig.model_validate(settings["baseline"])
        return cls(config, settings["labels"], pipeline=pipeline)
