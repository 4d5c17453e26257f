"""Image grids: generated samples, and test images above their reconstructions."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from components.core.plots import pyplot, save_figure


def plot_image_grid(
    images: np.ndarray,
    columns: int,
    title: str,
    path: Path,
    row_labels: Sequence[str] = (),
) -> Path:
    """(n, size, size) images in [0, 1], row by row, black on white as digits are drawn; each
    row named on its left by ``row_labels`` (cycled) when given."""
    plt = pyplot()
    rows = int(np.ceil(len(images) / columns))
    margin = 1.1 if row_labels else 0.0  # room for the labels
    figure, axes = plt.subplots(
        rows, columns, figsize=(0.9 * columns + margin, 0.9 * rows + 0.6), squeeze=False
    )
    for axis in axes.flat:
        axis.axis("off")
    for axis, image in zip(axes.flat, images, strict=False):
        axis.imshow(image, cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
    for row, label in zip(range(rows), itertools.cycle(row_labels or [""]), strict=False):
        axes[row, 0].text(
            -0.15,
            0.5,
            label,
            transform=axes[row, 0].transAxes,
            ha="right",
            va="center",
            fontsize=8,
        )
    return save_figure(figure, path, title)


def plot_reconstructions(
    originals: np.ndarray, reconstructions: np.ndarray, title: str, path: Path
) -> Path:
    """Pairs of rows: test images, then what the model made of them."""
    columns = min(len(originals), 10)
    rows = []
    blank = np.zeros((columns, *originals.shape[1:]), dtype=originals.dtype)  # white
    for first in range(0, len(originals), columns):
        for images in (originals, reconstructions):  # a short last row padded to a full one
            row = images[first : first + columns]
            rows.append(np.concatenate([row, blank[len(row) :]]))
    return plot_image_grid(
        np.concatenate(rows), columns, title, path, row_labels=("test image", "reconstructed")
    )
