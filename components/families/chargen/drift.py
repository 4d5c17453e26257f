"""Drift of a grown corpus against the champion's: its characters and their pairs."""

from __future__ import annotations

import pandas as pd

from components.core.drift import DriftStatistic, added_rows, share_shift, unseen_since_training

# Character pairs sampled per side: enough for stable shares, bounded for a large corpus.
MAX_PAIRS = 200_000


def corpus_drift(reference: pd.DataFrame, current: pd.DataFrame) -> list[DriftStatistic]:
    """The share of the new documents' characters the reference's training text lacks
    (against its own held-out text's), and the character-pair shares of the new text
    against the reference's."""
    added = added_rows(reference, current, ["document"])
    return [
        unseen_since_training(
            "characters outside the champion's set", reference, added, "text", str
        ),
        share_shift("character pairs", _pairs(reference["text"]), _pairs(added["text"])),
    ]


def _pairs(texts: pd.Series) -> list[str]:
    text = "\n".join(map(str, texts))
    step = max(1, (len(text) - 1) // MAX_PAIRS)  # evenly spaced over the whole corpus
    return [text[index : index + 2] for index in range(0, len(text) - 1, step)]
