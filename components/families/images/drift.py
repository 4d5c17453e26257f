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
    columns = pixel_columns(image_size)
    # An image is its pixels (the table's image names are positions, which growth moves).
    added = added_rows(
        _with_content(reference, columns), _with_content(current, columns), [CONTENT]
    )
    return [
        distribution_shift("pixel intensity", _pixels(reference, columns), _pixels(added, columns)),
        share_shift("class shares", reference["label"], added["label"]),
    ]


CONTENT = "content"


def _with_content(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    present = [column for column in columns if column in frame]
    return frame.assign(**{CONTENT: pd.util.hash_pandas_object(frame[present], index=False)})


def _pixels(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    present = [column for column in columns if column in frame]
    values = frame[present].to_numpy("float64").ravel()
    if values.size <= MAX_PIXELS:
        return values
    return np.random.default_rng(0).choice(values, MAX_PIXELS, replace=False)
