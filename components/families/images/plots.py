"""Image grids: generated samples, and test images above their reconstructions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from components.core.plots import pyplot, save_figure


def plot_image_grid(images: np.ndarray, columns: int, title: str, path: Path) -> Path:
    """(n, size, size) images in [0, 1], row by row, black on white as digits are drawn."""
    plt = pyplot()
    rows = int(np.ceil(len(images) / columns))
    figure, axes = plt.subplots(
        rows, columns, figsize=(0.9 * columns, 0.9 * rows + 0.6), squeeze=False
    )
    for axis in axes.flat:
        axis.axis("off")
    for axis, image in zip(axes.flat, images, strict=False):
        axis.imshow(image, cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
    return save_figure(figure, path, title)


def plot_reconstructions(
    originals: np.ndarray, reconstructions: np.ndarray, title: str, path: Path
) -> Path:
    """Pairs of rows: test images, then what the model made of them."""
    columns = min(len(originals), 10)
    rows = []
    for first in range(0, len(originals), columns):
        rows += [originals[first : first + columns], reconstructions[first : first + columns]]
    return plot_image_grid(np.concatenate(rows), columns, title, path)
