"""Drift of a grown file of sentence pairs against the champion's: how long the sources
are and which characters they use."""

from __future__ import annotations

import pandas as pd

from components.core.drift import (
    DriftStatistic,
    added_rows,
    distribution_shift,
    unseen_since_training,
)


def pairs_drift(reference: pd.DataFrame, current: pd.DataFrame) -> list[DriftStatistic]:
    """Source lengths (characters) of the new pairs against the reference's, and the share
    of their source characters the reference's training sources lack (against its own
    held-out sources')."""
    added = added_rows(reference, current, ["source"])
    return [
        distribution_shift(
            "source length (characters)",
            reference["source"].str.len(),
            added["source"].str.len(),
        ),
        unseen_since_training(
            "source characters outside the champion's set", reference, added, "source", str
        ),
    ]
