"""Text preparation: passages and leak-free splits."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from components.core.errors import UserError
from components.core.splits import hash_splits

SPLITS = ("train", "validation", "test")
TEXT_COLUMNS = ["document", "text", "label", "split"]  # the raw table every source produces


def cut_passages(text: str, words: int) -> list[str]:
    """Consecutive, non-overlapping passages of exactly ``words`` words; the rest is dropped."""
    if words < 1:
        raise ValueError(f"a passage needs at least one word, got {words}")
    tokens = text.split()
    return [
        " ".join(tokens[start : start + words])
        for start in range(0, len(tokens) - words + 1, words)
    ]


def normalized(texts: pd.Series) -> pd.Series:
    """Texts compared for duplicates: lower case, single spaces."""
    return texts.astype(str).str.lower().str.split().str.join(" ")


def carve_validation(
    frame: pd.DataFrame, fraction: float, seed: int, source: str = "train"
) -> pd.DataFrame:
    """Move a stratified, seeded ``fraction`` of the ``source`` split's documents to ``validation``.

    Whole documents move, so a document never sits in two splits. The draw depends on every
    document present: for packaged data that never grows (a user's growing source is split by
    ``hash_documents``).
    """
    from sklearn.model_selection import train_test_split

    documents = frame.loc[frame["split"] == source].groupby("document", sort=True)["label"].first()
    if documents.empty:
        raise UserError(f"the {source} split is empty: nothing to carve the validation split from")
    _, moved = train_test_split(
        documents.index.to_numpy(),
        test_size=fraction,
        random_state=seed,
        stratify=documents.to_numpy(),
    )
    carved = frame.copy()
    carved.loc[(carved["split"] == source) & carved["document"].isin(moved), "split"] = "validation"
    return carved


def hash_documents(
    frame: pd.DataFrame, fractions: Mapping[str, float], seed: int, source: str = "train"
) -> pd.DataFrame:
    """Move ``source`` documents to the held-out splits of ``fractions`` (shares of all the
    ``source`` documents, see ``hash_splits``) by a seeded hash of each document's name.

    A document's split depends on its name alone, so documents added to a growing source never
    move the ones already there, and a document never sits in two splits.
    """
    rows = frame["split"] == source
    carved = frame.copy()
    carved.loc[rows, "split"] = hash_splits(
        frame.loc[rows, "document"].astype(str), fractions, seed, rest=source
    )
    return carved


def drop_leaked_texts(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep one copy of each repeated text, in the last split it occurs in (train, validation,
    test), so no text is both learned from and scored."""
    # Blank texts are not repeats of each other: they stay, every one, for the suite to count.
    key = normalized(frame["text"])
    blank = key.str.len().eq(0) | frame["text"].isna()
    key = key.where(~blank, "\0blank-" + frame.index.astype(str))
    rank = frame["split"].map({name: order for order, name in enumerate(SPLITS)})
    latest = rank.groupby(key).transform("max")
    kept = frame.loc[rank == latest]
    return kept.loc[~key.loc[kept.index].duplicated()].reset_index(drop=True)
