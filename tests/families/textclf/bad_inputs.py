"""Bad text files a user may write, each with the message that must stop it at reading or at
the suite (the cases of the bad-input test over every family, in tests/test_every_family.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FILE = "reviews.csv"  # where each case writes, beside the config
CONFIG = """\
tasks:
  reviews: {source: imdb_files, path: reviews.csv, labels: [neg, pos],
            min_class_share: 0.2, max_class_share: 0.8}
models: [{name: gru}]
profiles: {quick: {}}
"""

REVIEWS = [
    ("Wonderful tea, fresh and fragrant.", "pos"),
    ("Stale crackers, would not buy again.", "neg"),
    ("My children love these snacks.", "pos"),
    ("Arrived broken and late.", "neg"),
]


def good_table() -> pd.DataFrame:
    rows = [
        (f"{text} Batch {index}.", label, split)
        for index, split in enumerate(["train"] * 6 + ["validation"] * 2 + ["test"] * 2)
        for text, label in REVIEWS
    ]
    return pd.DataFrame(rows, columns=["review", "sentiment", "split"])


def write(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False)


def good(path: Path) -> None:
    write(good_table(), path)


def with_blank_texts(path: Path) -> None:
    table = good_table()
    table.loc[[3, 5], "review"] = ""
    write(table, path)


def with_numbers_for_text(path: Path) -> None:
    write(good_table().assign(review=lambda f: f["review"].where(f.index != 2, "12345")), path)


def with_wrong_encoding(path: Path) -> None:
    path.write_bytes(
        good_table().to_csv(index=False).replace("Wonderful", "Délicieux").encode("latin-1")
    )


def with_duplicated_texts_across_splits(path: Path) -> None:
    table = good_table()
    table["document"] = "same"
    write(
        table.assign(review=lambda f: f["review"].str.replace(r" Batch \d+\.", "", regex=True)),
        path,
    )


def with_skewed_labels(path: Path) -> None:
    write(good_table().assign(sentiment="pos"), path)


def truncated(path: Path) -> None:
    text = good_table().to_csv(index=False)
    path.write_text(text + '"An unfinished review, cut off mid-way')


def with_wrong_schema(path: Path) -> None:
    write(good_table().rename(columns={"review": "text"}), path)


def with_unknown_labels(path: Path) -> None:
    write(good_table().assign(sentiment=lambda f: f["sentiment"].where(f.index != 11, "meh")), path)


def with_unknown_split(path: Path) -> None:
    write(good_table().assign(split=lambda f: f["split"].where(f.index != 0, "tset")), path)


READING = {  # stopped at reading: name -> (what is at FILE, the message)
    "missing file": (None, r"reviews\.csv: no such file"),
    "empty file": ("", r"the file is empty"),
    "header only": ("review,sentiment,split\n", r"a header but no rows"),
    "wrong encoding": (with_wrong_encoding, r"not utf-8 text .*set the task's encoding"),
    "duplicated keys": (
        with_duplicated_texts_across_splits,
        r"removing 36 text\(s\) that repeat texts",
    ),
    "truncated file": (truncated, r"not a well-formed CSV"),
    "wrong schema": (with_wrong_schema, r"missing column\(s\) \['review'\]"),
    "unknown labels": (with_unknown_labels, r"unknown label\(s\) \['meh'\] at row\(s\) \[11\]"),
    "unknown split": (with_unknown_split, r"unknown split value\(s\) \['tset'\]"),
}

SUITE = {  # read, then stopped by the suite
    "blank texts": (with_blank_texts, r"'words_in_text': 2 unexpected value\(s\).*\[3, 5\]"),
    "wrong dtype": (with_numbers_for_text, r"'words_in_text': 1 unexpected value\(s\).*\[2\]"),
    "out of range": (with_skewed_labels, r"share_of_pos_in_train"),
}
