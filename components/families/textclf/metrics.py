"""Classification evaluation: test metrics, the confusion matrix, curves compared side by side."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from components.core.plots import pyplot, save_figure


def classification_metrics(
    actual: np.ndarray, predicted: np.ndarray, labels: Sequence[str]
) -> dict[str, float]:
    """Accuracy, macro-F1 and each label's precision and recall (label ids in, names out)."""
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    if actual.shape != predicted.shape:
        raise ValueError(f"shape mismatch: actual {actual.shape} vs predicted {predicted.shape}")
    ids = list(range(len(labels)))
    precision = precision_score(actual, predicted, labels=ids, average=None, zero_division=0)
    recall = recall_score(actual, predicted, labels=ids, average=None, zero_division=0)
    metrics = {
        "accuracy": float(accuracy_score(actual, predicted)),
        "macro_f1": float(
            f1_score(actual, predicted, labels=ids, average="macro", zero_division=0)
        ),
    }
    for label, label_precision, label_recall in zip(labels, precision, recall, strict=True):
        metrics[f"precision_{label}"] = float(label_precision)
        metrics[f"recall_{label}"] = float(label_recall)
    return metrics


def majority_class(train_targets: np.ndarray, n_test: int) -> np.ndarray:
    """Predictions of the guess that always names the most frequent training label."""
    return np.full(n_test, int(np.bincount(train_targets).argmax()))


def misclassified(
    texts: Sequence[str],
    actual: np.ndarray,
    probabilities: np.ndarray,
    labels: Sequence[str],
    limit: int = 200,
    max_chars: int = 500,
) -> pd.DataFrame:
    """The most confidently wrong test examples first, texts cut to ``max_chars``."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != actual)
    confidence = probabilities[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")][:limit]
    return pd.DataFrame(
        {
            "text": [str(texts[index])[:max_chars] for index in order],
            "label": [labels[actual[index]] for index in order],
            "predicted": [labels[predicted[index]] for index in order],
            "probability": [float(probabilities[index, predicted[index]]) for index in order],
        }
    )


def plot_confusion_matrix(
    actual: np.ndarray, predicted: np.ndarray, labels: Sequence[str], title: str, path: Path
) -> Path:
    """Counts of true (rows) against predicted (columns) labels, shaded by row share."""
    plt = pyplot()
    from sklearn.metrics import confusion_matrix

    counts = confusion_matrix(actual, predicted, labels=list(range(len(labels))))
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 2.5 + 0.9 * len(labels)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for row in range(len(labels)):
        for column in range(len(labels)):
            axis.text(
                column,
                row,
                str(counts[row, column]),
                ha="center",
                va="center",
                color="white" if shares[row, column] > 0.5 else "black",
            )
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title)
    figure.colorbar(image, ax=axis, label="share of the true label")
    return save_figure(figure, path)
