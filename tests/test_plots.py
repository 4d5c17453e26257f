"""Every plot logged to MLflow renders to a PNG file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from components.classification import plot_compared_curves, plot_confusion_matrix
from components.evaluation import plot_forecast, plot_learning_curves

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HISTORY = {"loss": [0.9, 0.6, 0.5], "val_loss": [1.0, 0.8, 0.85], "val_accuracy": [0.5, 0.6, 0.6]}


def draw(name: str, path: Path) -> Path:
    days = np.arange("2020-01-01", "2020-01-11", dtype="datetime64[D]")
    actual = np.linspace(1, 2, 10)
    return {
        "forecast": lambda: plot_forecast(days, actual, actual + 0.1, actual - 0.1, "f", path),
        "learning_curves": lambda: plot_learning_curves(HISTORY, "curves", path),
        "confusion_matrix": lambda: plot_confusion_matrix(
            np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1]), ["a", "b", "c"], "confusion", path
        ),
        "compared_curves": lambda: plot_compared_curves(
            {"sgd": HISTORY, "adam": HISTORY}, ["val_loss", "val_accuracy"], "study", path
        ),
    }[name]()


@pytest.mark.parametrize(
    "name", ["forecast", "learning_curves", "confusion_matrix", "compared_curves"]
)
def test_plot_writes_a_png(name: str, tmp_path: Path) -> None:
    path = draw(name, tmp_path / f"{name}.png")
    assert path == tmp_path / f"{name}.png"
    content = path.read_bytes()
    assert content.startswith(PNG_SIGNATURE) and len(content) > 5_000
