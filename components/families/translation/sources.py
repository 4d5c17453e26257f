"""Pair sources: generated date pairs, or a user's tab-separated sentence pairs, split leak-free."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from components.core.config import user_path
from components.core.errors import UserError
from components.core.splits import hash_splits
from components.families.translation.config import PairsTask
from components.families.translation.dates import PAIR_COLUMNS, generate_date_pairs

FILE_FORMAT = "sentence"  # the ``format`` of every pair read from a file


def load_pairs_table(task: PairsTask) -> pd.DataFrame:
    """The task's pairs with columns ``source, target, format, split``."""
    if task.source not in LOADERS:
        raise UserError(f"unknown pair source {task.source!r}; valid sources: {sorted(LOADERS)}")
    return LOADERS[task.source](task)[PAIR_COLUMNS].reset_index(drop=True)


def load_dates(task: PairsTask) -> pd.DataFrame:
    """Seeded date pairs, every calendar day in one split only."""
    sizes = {"train": task.train_size, "validation": task.validation_size, "test": task.test_size}
    return generate_date_pairs(sizes, task.first_date, task.last_date, task.formats, task.seed)


def load_tab_file(task: PairsTask) -> pd.DataFrame:
    """Sentence pairs from an Anki/Tatoeba file (``source<TAB>target[<TAB>attribution]`` per
    line), split by source sentence: a sentence and all its translations sit in one split, so
    no test sentence is seen in training, and pairs added to the file later never move the
    ones already there.

    Raises:
        UserError: if the file is missing, empty, not in the task's encoding, or a line lacks
            a tab or a side.
    """
    path = user_path(task.path, "the task's path")
    if not path.is_file():
        raise UserError(f"{path}: no such file; check the task's path")
    try:
        lines = path.read_text(encoding=task.encoding).splitlines()
    except UnicodeDecodeError as error:
        raise UserError(
            f"{path}: not {task.encoding} text (byte {error.object[error.start : error.end]!r} "
            f"at offset {error.start}); set the task's encoding"
        ) from None
    pairs, malformed = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            malformed.append(number)
            continue
        pairs.append((fields[0].strip(), fields[1].strip()))
        if task.max_pairs is not None and len(pairs) == task.max_pairs:
            break
    if malformed:
        raise UserError(
            f"{path}: line(s) {malformed[:10]} are not source<TAB>target "
            f"({len(malformed)} in all); every line needs both sides, separated by a tab"
        )
    frame = pd.DataFrame(pairs, columns=["source", "target"])
    if frame["source"].nunique() < 3:
        raise UserError(
            f"{path}: {frame['source'].nunique()} distinct source sentence(s); the train, "
            "validation and test splits need at least 3"
        )
    frame["format"] = FILE_FORMAT
    frame["split"] = split_by_source(frame["source"], task)
    return frame


def split_by_source(sources: pd.Series, task: PairsTask) -> np.ndarray:
    """Each pair's split, by a seeded hash of its source sentence (expected shares of the
    distinct sources: ``task.test_fraction``, ``task.validation_fraction``)."""
    fractions = {"test": task.test_fraction, "validation": task.validation_fraction}
    return hash_splits(sources, fractions, task.seed)


LOADERS: dict[str, Callable[[PairsTask], pd.DataFrame]] = {
    "dates": load_dates,
    "tab_file": load_tab_file,
}
