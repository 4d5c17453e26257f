"""Users' bad corpora stop at reading or at the suite, with a message that names the problem
and where; nothing would be trained (the flow stops at the same two stages)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from components.core.contract import Task
from components.core.errors import UserError
from components.core.validation import DataValidationError
from components.families.chargen.config import ChargenConfig
from components.families.chargen.family import ChargenFamily

GOOD_TEXT = "It was the best of times, it was the worst of times.\n" * 40


def config_for(path: Path, **corpus) -> ChargenConfig:
    return ChargenConfig.model_validate(
        {
            "corpus": {"source": "files", "path": str(path), "min_split_characters": 100} | corpus,
            "models": [{"name": "gru"}],
        }
    )


def read_and_validate(config: ChargenConfig) -> None:
    """What the flow's ingest and validate stages do with a corpus."""
    family = ChargenFamily()
    table = family.load_table(Task(config, config.corpus.name))
    report = family.validate(table, Task(config, config.corpus.name))
    if not report.success:
        raise DataValidationError(report)


def missing(path: Path) -> dict:
    return {}


def empty(path: Path) -> dict:
    path.write_text("  \n")
    return {}


def wrong_encoding(path: Path) -> dict:
    path.write_bytes(("Café society. " + GOOD_TEXT).encode("latin-1"))
    return {}


def outside_charset(path: Path) -> dict:
    path.write_text(GOOD_TEXT + "§ 12")
    return {"charset": "abcdefghijklmnopqrstuvwxyz ,.\n", "lowercase": True}


def too_short(path: Path) -> dict:
    path.write_text("Call me Ishmael. " * 20)
    return {"min_split_characters": 50}


def folder_without_split(path: Path) -> dict:
    path.mkdir()
    (path / "one.txt").write_text(GOOD_TEXT)
    return {}


def folder_with_unknown_file(path: Path) -> dict:
    path.mkdir()
    for name in ("one", "two", "three"):
        (path / f"{name}.txt").write_text(GOOD_TEXT)
    return {"validation_documents": ["two"], "test_documents": ["four"]}


def empty_folder(path: Path) -> dict:
    path.mkdir()
    return {"validation_documents": ["a"], "test_documents": ["b"]}


CASES: list[tuple[Callable[[Path], dict], type[Exception], list[str]]] = [
    (missing, UserError, ["no such file or folder"]),
    (empty, UserError, ["the file is empty"]),
    (wrong_encoding, UserError, ["not utf-8 text", "b'\\xe9'", "offset 3"]),
    (outside_charset, DataValidationError, ["characters_outside_charset", "§"]),
    (too_short, DataValidationError, ["characters_in_validation", "observed", "34"]),
    (folder_without_split, UserError, ["split by file", "one"]),
    (folder_with_unknown_file, UserError, ["unknown file(s) ['four']"]),
    (empty_folder, UserError, ["no *.txt files"]),
]


@pytest.mark.parametrize(
    ("make", "error", "phrases"), CASES, ids=[make.__name__ for make, _, _ in CASES]
)
def test_a_bad_corpus_is_stopped_with_a_message_naming_it(
    tmp_path: Path, make: Callable[[Path], dict], error: type[Exception], phrases: list[str]
) -> None:
    path = tmp_path / ("corpus" if "folder" in make.__name__ else "corpus.txt")
    config = config_for(path, **make(path))
    with pytest.raises(error) as failure:
        read_and_validate(config)
    message = str(failure.value)
    for phrase in phrases:
        assert phrase in message
    assert len(message.splitlines()) <= 6


def test_a_good_file_passes_the_same_checks(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_text(GOOD_TEXT)
    read_and_validate(config_for(path, charset="abcdefghijklmnopqrstuvwxyz ,.\n"))


@pytest.mark.parametrize(
    ("corpus", "named"),
    [
        ({"source": "files"}, "path is required"),
        ({"validation_documents": ["hamlet"], "test_documents": []}, "lists its"),
        ({"validation_documents": ["hamlet"], "test_documents": ["hamlet"]}, "both"),
        ({"charset": "abca"}, "twice"),
        (
            {
                "plays": ["hamlet"],
                "validation_documents": ["macbeth"],
                "test_documents": ["hamlet"],
            },
            "not among",
        ),
    ],
)
def test_a_bad_corpus_config_is_refused_before_any_work(corpus: dict, named: str) -> None:
    base = {"validation_documents": ["othello"], "test_documents": ["macbeth"]}
    with pytest.raises(ValueError, match=named):
        ChargenConfig.model_validate({"corpus": base | corpus, "models": [{"name": "gru"}]})


def test_an_unknown_model_or_a_stateful_n_gram_is_refused() -> None:
    family = ChargenFamily()
    config = family.load_config()
    unknown = config.resolve(config.models[0] | {"name": "transformer"})
    with pytest.raises(ValueError, match="valid names"):
        family.check(config, [unknown])
    stateful_ngram = config.resolve(config.models[0] | {"name": "ngram", "stateful": True})
    with pytest.raises(ValueError, match="no state"):
        family.check(config, [stateful_ngram])
