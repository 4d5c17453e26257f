"""Drift of a grown labelled text table against the champion's: what the new texts say,
how long they are, and how many of their words the champion never read."""

from __future__ import annotations

import re

import pandas as pd

from components.core.drift import (
    DriftStatistic,
    added_rows,
    distribution_shift,
    share_shift,
    unseen_since_training,
)

WORD = re.compile(r"\w+", re.UNICODE)


def text_drift(reference: pd.DataFrame, current: pd.DataFrame) -> list[DriftStatistic]:
    """Label shares and word counts of the new texts against the reference's, and the rise
    of the out-of-vocabulary rate: the share of the new texts' words that the reference's
    training texts lack, against that share for the reference's own held-out texts."""
    added = added_rows(reference, current, ["text"])
    return [
        share_shift("label shares", reference["label"], added["label"]),
        distribution_shift(
            "words per text",
            reference["text"].map(lambda text: len(_words(text))),
            added["text"].map(lambda text: len(_words(text))),
        ),
        unseen_since_training("out-of-vocabulary words", reference, added, "text", _words),
    ]


def _words(text: str) -> list[str]:
    return WORD.findall(str(text).lower())
