"""Drift of a grown image set against the champion's: pixel intensities and class shares."""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.core.drift import DriftStatistic, added_rows, distribution_shift, share_shift
from components.families.images.sources import pixel_columns

# Pixel values sampled per side: the intensity histogram is stable well below this.
MAX_PIXELS = 100_000


def image_drift(
    reference: pd.DataFrame, current: pd.DataFrame, image_size: int
) -> list[DriftStatistic]:
    """The intensity distribution and the class shares of the new images against the
    reference's."""
    added = added_rows(reference, current, ["image"])
    columns = pixel_columns(image_size)
    return [
        distribution_shift("pixel intensity", _pixels(reference, columns), _pixels(added, columns)),
        share_shift("class shares", reference["label"], added["label"]),
    ]


def _pixels(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    present = [column for column in columns if column in frame]
    values = frame[present].to_numpy("float64").ravel()
    if values.size <= MAX_PIXELS:
        return values
    return np.random.default_rng(0).choice(values, MAX_PIXELS, replace=False)
