"""The image suite: Great Expectations checks of an image table's shape, pixels, labels, split."""

from __future__ import annotations

from typing import Any

import pandas as pd

from components.core.validation import ValidationReport, validate_table
from components.families.images.config import DatasetConfig
from components.families.images.sources import SPLITS, pixel_columns

ID_COLUMNS = ["image", "label", "split"]
# Derived per-row columns: 64 pixel-wise expectations would say the same, 64 times slower.
PIXELS_COLUMN = "pixel_columns_found"  # image_size squared when named pixel_0, ... in order
MISSING_COLUMN = "missing_pixels"
LOW_COLUMN = "lowest_pixel"
HIGH_COLUMN = "highest_pixel"
CONTRAST_COLUMN = "pixel_contrast"  # highest - lowest: 0 for a blank image
LABELS_IN_SPLIT_COLUMN = "labels_in_split"  # distinct labels among the rows of the row's split


def image_suite(dataset: DatasetConfig) -> list[Any]:
    """Expectations for an image table (``image, label, split, pixel_0, ...``)."""
    import great_expectations.expectations as gxe

    size = dataset.image_size * dataset.image_size
    return [
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
        *(gxe.ExpectColumnToExist(column=name) for name in ID_COLUMNS),
        gxe.ExpectColumnValuesToBeUnique(column="image"),
        gxe.ExpectColumnValuesToBeBetween(column=PIXELS_COLUMN, min_value=size, max_value=size),
        gxe.ExpectColumnValuesToBeBetween(column=MISSING_COLUMN, min_value=0, max_value=0),
        gxe.ExpectColumnValuesToBeBetween(column=LOW_COLUMN, min_value=0.0, max_value=1.0),
        gxe.ExpectColumnValuesToBeBetween(column=HIGH_COLUMN, min_value=0.0, max_value=1.0),
        gxe.ExpectColumnValuesToBeBetween(column=CONTRAST_COLUMN, min_value=1e-6),
        gxe.ExpectColumnValuesToBeInSet(column="label", value_set=list(dataset.labels)),
        gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
        gxe.ExpectColumnDistinctValuesToContainSet(column="split", value_set=list(SPLITS)),
        # Sample coverage and the FID classifier need every label in every split.
        gxe.ExpectColumnValuesToBeBetween(
            column=LABELS_IN_SPLIT_COLUMN,
            min_value=len(dataset.labels),
            max_value=len(dataset.labels),
        ),
    ]


def validate_image_table(
    frame: pd.DataFrame, dataset: DatasetConfig, name: str
) -> ValidationReport:
    """Validate a raw image table against the image suite (suite ``images-<name>``)."""
    checked = frame.copy()
    # Pixels are columns pixel_0 ... pixel_<size*size - 1>: a wrong count is a wrong size.
    found = [column for column in frame if column.startswith("pixel_")]
    pixels = checked[found].apply(pd.to_numeric, errors="coerce")
    checked[PIXELS_COLUMN] = len(found) if found == pixel_columns(dataset.image_size) else -1
    checked[MISSING_COLUMN] = pixels.isna().sum(axis=1)
    checked[LOW_COLUMN] = pixels.min(axis=1)
    checked[HIGH_COLUMN] = pixels.max(axis=1)
    checked[CONTRAST_COLUMN] = checked[HIGH_COLUMN] - checked[LOW_COLUMN]
    missing = pd.Series(pd.NA, index=checked.index, dtype="object")
    split, label = checked.get("split", missing), checked.get("label", missing)
    checked[LABELS_IN_SPLIT_COLUMN] = label.groupby(split).transform("nunique")
    return validate_table(checked, image_suite(dataset), f"images-{name}")
