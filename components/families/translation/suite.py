"""The pairs suite: Great Expectations checks of a source/target table with its split."""

from __future__ import annotations

from typing import Any

import pandas as pd

from components.core.validation import ValidationReport, validate_table
from components.families.translation.config import PairsTask
from components.families.translation.dates import PAIR_COLUMNS, SPLITS, parse_iso_date
from components.families.translation.sources import FILE_FORMAT
from components.families.translation.words import count_tokens

SOURCE_TOKENS = "source_tokens"  # 0 for a missing source
TARGET_TOKENS = "target_tokens"
TARGET_IS_DATE = "target_is_date"  # 1 where the target names a calendar day
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


def splits_column(side: str) -> str:
    """Derived column: in how many splits the row's ``side`` text occurs (1 = no leak)."""
    return f"splits_of_{side}"


def share_column(format_name: str, split: str) -> str:
    """Derived column whose mean is the share of ``format_name`` among the ``split`` rows."""
    return f"share_of_{format_name}_in_{split}"


def leak_side(task: PairsTask) -> str:
    """What must not straddle splits: a date (in any format), or a source sentence."""
    return "target" if task.source == "dates" else "source"


def formats(task: PairsTask) -> list[str]:
    return list(task.formats) if task.source == "dates" else [FILE_FORMAT]


def pairs_suite(task: PairsTask, name: str) -> list[Any]:
    """Expectations for a pairs table (``source, target, format, split``) of task ``name``."""
    import great_expectations.expectations as gxe

    lengths = task.vectorizer
    expectations: list[Any] = [gxe.ExpectTableRowCountToBeBetween(min_value=1)]
    expectations += [gxe.ExpectColumnToExist(column=name) for name in PAIR_COLUMNS]
    expectations += [
        gxe.ExpectColumnValuesToNotBeNull(column="source"),
        gxe.ExpectColumnValuesToNotBeNull(column="target"),
        # Longer sides would be cut: the model would learn and be scored on truncated pairs.
        gxe.ExpectColumnValuesToBeBetween(
            column=SOURCE_TOKENS,
            min_value=1,
            max_value=lengths.source_length,
            meta={"setting": f"tasks.{name}.vectorizer.source_length"},
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column=TARGET_TOKENS,
            min_value=1,
            max_value=lengths.target_length - 1,
            meta={"setting": f"tasks.{name}.vectorizer.target_length"},
        ),
        gxe.ExpectColumnValuesToBeInSet(column="format", value_set=formats(task)),
        gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
        gxe.ExpectColumnDistinctValuesToContainSet(column="split", value_set=list(SPLITS)),
        gxe.ExpectColumnValuesToBeBetween(
            column=splits_column(leak_side(task)), min_value=1, max_value=1
        ),
    ]
    if task.source == "dates":
        expectations += [
            gxe.ExpectColumnValuesToMatchRegex(column="target", regex=ISO_DATE),
            gxe.ExpectColumnValuesToBeBetween(column=TARGET_IS_DATE, min_value=1, max_value=1),
        ]
        expectations += [
            gxe.ExpectColumnMeanToBeBetween(
                column=share_column(format_name, split),
                min_value=task.min_format_share,
                max_value=1,
            )
            for split in SPLITS
            for format_name in task.formats
        ]
    return expectations


def validate_pairs_table(frame: pd.DataFrame, task: PairsTask, name: str) -> ValidationReport:
    """Validate a raw pairs table against the suite of ``task`` (suite ``pairs-<name>``)."""
    checked = frame.copy()
    missing = pd.Series(pd.NA, index=checked.index, dtype="object")  # reported by the suite
    source, target, format_name, split = (checked.get(column, missing) for column in PAIR_COLUMNS)
    level = task.vectorizer.level
    for column, side in ((SOURCE_TOKENS, source), (TARGET_TOKENS, target)):
        present = side.notna()
        checked[column] = 0
        if present.any():
            checked.loc[present, column] = count_tokens(side[present].astype(str).tolist(), level)
    leaking = checked.get(leak_side(task), missing)
    checked[splits_column(leak_side(task))] = split.groupby(leaking).transform("nunique")
    if task.source == "dates":
        checked[TARGET_IS_DATE] = target.map(
            lambda value: int(isinstance(value, str) and parse_iso_date(value) is not None)
        )
        for part in SPLITS:
            for known in task.formats:
                # 1 or 0 on the rows of this split, NaN elsewhere: the column mean is the share.
                checked[share_column(known, part)] = (
                    (format_name == known).astype("float64").where(split == part)
                )
    return validate_table(checked, pairs_suite(task, name), f"pairs-{name}")
