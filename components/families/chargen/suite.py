"""The corpus suite: Great Expectations checks of the documents, their split and characters."""

from __future__ import annotations

from typing import Any

import pandas as pd

from components.core.validation import ValidationReport, validate_table
from components.families.chargen.config import CorpusConfig
from components.families.chargen.sources import CORPUS_COLUMNS, SPLITS, normalize

CHARACTERS_COLUMN = "characters_in_text"
UNEXPECTED_COLUMN = "characters_outside_charset"


def split_size_column(split: str) -> str:
    """Derived column whose sum is the number of characters in ``split``."""
    return f"characters_in_{split}"


def corpus_suite(corpus: CorpusConfig) -> list[Any]:
    """Expectations for a corpus table (``document, text, split``)."""
    import great_expectations.expectations as gxe

    expectations: list[Any] = [gxe.ExpectTableRowCountToBeBetween(min_value=1)]
    expectations += [gxe.ExpectColumnToExist(column=name) for name in CORPUS_COLUMNS]
    expectations += [
        gxe.ExpectColumnValuesToNotBeNull(column="text"),
        gxe.ExpectColumnValuesToBeBetween(column=CHARACTERS_COLUMN, min_value=1),
        gxe.ExpectColumnValuesToNotBeNull(column="document"),
        # One row per document: a play listed twice would sit in two splits or count twice.
        gxe.ExpectColumnValuesToBeUnique(column="document"),
        gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)),
        gxe.ExpectColumnDistinctValuesToContainSet(column="split", value_set=list(SPLITS)),
    ]
    expectations += [
        gxe.ExpectColumnSumToBeBetween(
            column=split_size_column(split), min_value=corpus.min_split_characters
        )
        for split in SPLITS
    ]
    if corpus.charset is not None:
        # Each document's characters outside the charset, as one string: the report names them.
        expectations.append(
            gxe.ExpectColumnValuesToBeInSet(column=UNEXPECTED_COLUMN, value_set=[""])
        )
    return expectations


def validate_corpus_table(frame: pd.DataFrame, corpus: CorpusConfig, name: str) -> ValidationReport:
    """Validate a raw corpus table against the corpus suite (suite ``corpus-<name>``)."""
    checked = frame.copy()
    missing = pd.Series(pd.NA, index=checked.index, dtype="object")  # reported by the suite
    text, split = (checked.get(column, missing) for column in ("text", "split"))
    normalized = text.map(lambda value: normalize(value, corpus) if isinstance(value, str) else "")
    checked[CHARACTERS_COLUMN] = normalized.str.len()
    for part in SPLITS:
        checked[split_size_column(part)] = checked[CHARACTERS_COLUMN].where(split == part, 0)
    if corpus.charset is not None:
        allowed = set(corpus.charset)
        checked[UNEXPECTED_COLUMN] = normalized.map(
            lambda value: "".join(sorted(set(value) - allowed))
        )
    return validate_table(checked, corpus_suite(corpus), f"corpus-{name}")
