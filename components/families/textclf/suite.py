"""The text suite: Great Expectations checks of a labelled text table with its split."""

from __future__ import annotations

from typing import Any

import pandas as pd

from components.core.validation import ValidationReport, validate_table
from components.families.textclf.config import TextTask
from components.families.textclf.text import SPLITS, TEXT_COLUMNS, normalized

DOCUMENT_SPLITS_COLUMN = "splits_of_document"
TEXT_SPLITS_COLUMN = "splits_of_text"
WORDS_COLUMN = "words_in_text"  # words with a letter; 0 for a missing, blank or number-only text


def share_column(label: str, split: str) -> str:
    """Derived column whose mean is the share of ``label`` among the ``split`` rows."""
    return f"share_of_{label}_in_{split}"


def text_suite(task: TextTask) -> list[Any]:
    """Expectations for a labelled text table (``document, text, label, split``)."""
    import great_expectations.expectations as gxe

    expectations: list[Any] = [gxe.ExpectTableRowCountToBeBetween(min_value=1)]
    expectations += [gxe.ExpectColumnToExist(column=name) for name in TEXT_COLUMNS]
    expectations += [
        gxe.ExpectColumnValuesToNotBeNull(column="text"),
        gxe.ExpectColumnValuesToBeBetween(column=WORDS_COLUMN, min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="document"),
        gxe.ExpectColumnValuesToBeInSet(column="label", value_set=list(task.labels)),
        gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
        gxe.ExpectColumnDistinctValuesToContainSet(column="split", value_set=list(SPLITS)),
        # A document (product, play, review file) or an identical text in two splits leaks.
        gxe.ExpectColumnValuesToBeBetween(column=DOCUMENT_SPLITS_COLUMN, min_value=1, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(column=TEXT_SPLITS_COLUMN, min_value=1, max_value=1),
    ]
    expectations += [
        gxe.ExpectColumnMeanToBeBetween(
            column=share_column(label, split),
            min_value=task.min_class_share,
            max_value=task.max_class_share,
        )
        for split in SPLITS
        for label in task.labels
    ]
    return expectations


def validate_text_table(frame: pd.DataFrame, task: TextTask, name: str) -> ValidationReport:
    """Validate a raw text table against the text suite of ``task`` (suite ``text-<name>``)."""
    checked = frame.copy()
    missing = pd.Series(pd.NA, index=checked.index, dtype="object")  # reported by the suite
    document, text, label, split = (checked.get(name, missing) for name in TEXT_COLUMNS)
    checked[WORDS_COLUMN] = text.map(
        lambda value: (
            sum(any(char.isalpha() for char in word) for word in value.split())
            if isinstance(value, str)
            else 0
        )
    )
    checked[DOCUMENT_SPLITS_COLUMN] = split.groupby(document).transform("nunique")
    same_text = normalized(text).where(text.notna())  # missing texts are reported, not grouped
    checked[TEXT_SPLITS_COLUMN] = split.groupby(same_text).transform("nunique")
    for part in SPLITS:
        for known in task.labels:
            # 1 or 0 on the rows of this split, NaN elsewhere: the column mean is the share.
            share = (label == known).astype("float64").where(split == part)
            checked[share_column(known, part)] = share
    return validate_table(checked, text_suite(task), f"text-{name}")
