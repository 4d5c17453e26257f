"""Text classifiers by name: the recurrent networks (``networks.py``, Keras loaded only when
one is built) and TF-IDF + logistic regression, saved and loaded the same way."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from components.families.textclf.config import BaselineConfig

# Classifier name -> its builder in networks.py.
CLASSIFIERS: dict[str, str] = {
    "simple_rnn": "build_simple_rnn",
    "lstm": "build_lstm",
    "gru": "build_gru",
    "stacked_gru": "build_stacked_gru",
    "bidirectional_lstm": "build_bidirectional_lstm",
    "bidirectional_gru": "build_bidirectional_gru",
}


def load_text_classifier(directory: Path) -> Any:
    """Load a classifier written by ``TextClassifier.save`` or ``TfidfBaseline.save``."""
    manifest = json.loads((Path(directory) / "classifier.json").read_text())
    if manifest.get("kind") == TfidfBaseline.kind:
        return TfidfBaseline.load(Path(directory), manifest)
    from components.families.textclf.networks import load_network

    return load_network(Path(directory), manifest)


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
            raise ValueError(f"label id(s) {missing} have no training example")
        self.pipeline.fit(list(texts), targets)
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of every label, shape (texts, labels)."""
        return self.pipeline.predict_proba(list(texts))

    def save(self, directory: Path) -> None:
        """Write the fitted pipeline (joblib) and a manifest (labels, settings)."""
        import joblib

        directory.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.pipeline, directory / "pipeline.joblib")
        manifest = {
            "kind": self.kind,
            "labels": self.labels,
            "baseline": self.config.model_dump(mode="json"),
        }
        (directory / "classifier.json").write_text(json.dumps(manifest, indent=2))

    @classmethod
    def load(cls, directory: Path, manifest: dict[str, Any]) -> TfidfBaseline:
        import joblib

        pipeline = joblib.load(directory / "pipeline.joblib")
        config = BaselineConfig.model_validate(manifest["baseline"])
        return cls(config, manifest["labels"], pipeline=pipeline)
