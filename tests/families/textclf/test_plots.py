"""The confusion matrix renders to a PNG file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.families.textclf.metrics import plot_confusion_matrix


def test_confusion_matrix_writes_a_png(tmp_path: Path) -> None:
    path = plot_confusion_matrix(
        np.array([0, 1, 2, 2]),
        np.array([0, 2, 2, 1]),
        ["a", "b", "c"],
        "confusion",
        tmp_path / "confusion.png",
    )
    assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 5_000
