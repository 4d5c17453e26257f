"""Bad corpora a user may write, each with the message that must stop it at reading or at the
suite (the cases of the bad-input test over every family, in tests/test_every_family.py).

A case returns the changes its corpus needs in the config (a folder is split by file)."""

from __future__ import annotations

from pathlib import Path

FILE = "corpus"  # a text file, or a folder of them, beside the config
CONFIG = """\
corpus: {source: files, path: corpus, min_split_characters: 100}
models: [{name: gru}]
profiles: {quick: {}}
"""
GOOD_TEXT = "It was the best of times, it was the worst of times.\n" * 40


def corpus(**changes) -> dict:
    return {"corpus": changes}


def good(path: Path) -> dict:
    path.write_text(GOOD_TEXT)
    return corpus(charset="abcdefghijklmnopqrstuvwxyz ,.\n")


def outside_charset(path: Path) -> dict:
    path.write_text(GOOD_TEXT + "§ 12")
    return corpus(charset="abcdefghijklmnopqrstuvwxyz ,.\n", lowercase=True)


def too_short(path: Path) -> dict:
    path.write_text("Call me Ishmael. " * 20)
    return corpus(min_split_characters=50)


def folder_without_split(path: Path) -> None:
    path.mkdir()
    (path / "one.txt").write_text(GOOD_TEXT)


def folder_with_unknown_file(path: Path) -> dict:
    path.mkdir()
    for name in ("one", "two", "three"):
        (path / f"{name}.txt").write_text(GOOD_TEXT)
    return corpus(validation_documents=["two"], test_documents=["four"])


def empty_folder(path: Path) -> dict:
    path.mkdir()
    return corpus(validation_documents=["a"], test_documents=["b"])


READING = {  # stopped at reading: name -> (what is at FILE, the message)
    "missing": (None, r"no such file or folder"),
    "empty": ("  \n", r"the file is empty"),
    "folder without split": (folder_without_split, r"left no file for .*add files.*'one'"),
    "folder with unknown file": (folder_with_unknown_file, r"unknown file\(s\) \['four'\]"),
    "empty folder": (empty_folder, r"no \*\.txt files"),
    "wrong encoding": (
        ("Café society. " + GOOD_TEXT).encode("latin-1"),
        r"not utf-8 text.*b'\\xe9'.*offset 3",
    ),
}

SUITE = {  # read, then stopped by the suite
    "outside charset": (outside_charset, r"characters_outside_charset.*§"),
    "too short": (too_short, r"characters_in_validation.*observed.*34"),
}
