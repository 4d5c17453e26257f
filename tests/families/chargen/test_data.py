"""Corpus sources, the split by play or file, the corpus suite and the character vectorizer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.core.contract import Task
from components.core.errors import UserError
from components.core.validation import DataValidationError
from components.core.versioning import DataVersion
from components.families.chargen.config import ChargenConfig, CorpusConfig
from components.families.chargen.family import ChargenFamily
from components.families.chargen.sources import load_corpus_table, load_plays
from components.families.chargen.suite import validate_corpus_table
from components.families.chargen.vectorizer import UNKNOWN_ID, CharVectorizer

FIXTURES = Path(__file__).parent / "fixtures"
PLAYS = FIXTURES / "plays"


def quick_corpus() -> CorpusConfig:
    return ChargenFamily().load_config(profile="quick").corpus


def test_plays_are_split_by_play_as_the_config_lists_them() -> None:
    corpus = CorpusConfig(
        plays=["the-storm", "the-quarrel", "the-wedding"],
        validation_documents=["the-quarrel"],
        test_documents=["the-wedding"],
    )
    table = load_plays(corpus, PLAYS)
    assert dict(zip(table["document"], table["split"], strict=True)) == {
        "the-storm": "train",
        "the-quarrel": "validation",
        "the-wedding": "test",
    }
    storm = table.set_index("document").loc["the-storm", "text"]
    assert storm.startswith("Blow, winds, and crack your cheeks!")
    assert "**" not in storm and "Exit" not in storm  # markup and directions are stripped


@pytest.fixture(scope="module")
def shakespeare_corpus() -> tuple[pd.DataFrame, CorpusConfig]:
    corpus = ChargenFamily().load_config(profile="full").corpus
    return load_corpus_table(corpus), corpus


def test_the_full_split_holds_every_play_once_and_the_suite_passes(shakespeare_corpus) -> None:
    table, corpus = shakespeare_corpus
    assert len(table) == 38 and table["document"].is_unique
    assert (table["split"] == "test").sum() == len(corpus.test_documents) == 6
    report = validate_corpus_table(table, corpus, "shakespeare")
    assert report.success, report.failures


def test_an_unknown_play_in_the_split_is_named() -> None:
    corpus = quick_corpus().model_copy(update={"test_documents": ["hamlet-ii"], "plays": None})
    with pytest.raises(UserError, match="hamlet-ii"):
        load_corpus_table(corpus)


def test_a_folder_of_files_is_split_by_file_stem(tmp_path: Path) -> None:
    for name in ("one", "two", "three"):
        (tmp_path / f"{name}.txt").write_text(f"the text of {name}\n" * 5)
    corpus = CorpusConfig(
        source="files",
        path=tmp_path,
        validation_documents=["two"],
        test_documents=["three"],
    )
    table = load_corpus_table(corpus)
    assert dict(zip(table["document"], table["split"], strict=True)) == {
        "one": "train",
        "three": "test",
        "two": "validation",
    }


def test_a_single_file_is_cut_in_reading_order(tmp_path: Path) -> None:
    path = tmp_path / "book.txt"
    path.write_text("".join(f"{index:03d} " for index in range(250)))
    table = load_corpus_table(CorpusConfig(source="files", path=path))
    parts = table.set_index("split")["text"]
    assert "".join(parts[["train", "validation", "test"]]) == path.read_text()
    assert len(parts["test"]) == pytest.approx(len(path.read_text()) * 0.1, abs=1)
    assert parts["test"].endswith("249 ")


def test_the_suite_names_characters_outside_the_charset_and_short_splits() -> None:
    corpus = CorpusConfig(
        source="files",
        path=Path("unused.txt"),
        charset="abcdefghijklmnopqrstuvwxyz .",
        min_split_characters=20,
    )
    table = pd.DataFrame(
        {
            "document": ["a", "b", "c"],
            "text": ["to be or not to be. " * 3, "a short #line", "that is the question. " * 2],
            "split": ["train", "validation", "test"],
        }
    )
    report = validate_corpus_table(table, corpus, "tiny")
    assert not report.success
    message = str(DataValidationError(report))
    assert "characters_outside_charset" in message and "'#'" in message
    assert "characters_in_validation" in message  # 13 characters, fewer than 20
    assert "characters_in_train" not in message


def test_the_suite_rejects_a_document_listed_twice_and_a_missing_split() -> None:
    corpus = CorpusConfig(source="files", path=Path("unused.txt"), min_split_characters=1)
    table = pd.DataFrame(
        {"document": ["a", "a"], "text": ["some text", "more text"], "split": ["train", "test"]}
    )
    report = validate_corpus_table(table, corpus, "tiny")
    failed = {(failure.expectation, failure.column) for failure in report.failures}
    assert ("expect_column_values_to_be_unique", "document") in failed
    assert ("expect_column_distinct_values_to_contain_set", "split") in failed


def test_the_vectorizer_lowercases_and_maps_unseen_characters_to_the_unknown_id() -> None:
    vectorizer = CharVectorizer.fit("to be or not", lowercase=True)
    assert vectorizer.characters == sorted(set("to be or not"))
    ids = vectorizer.transform("To BE?")
    assert vectorizer.decode(ids) == "to be"  # "?" was never seen in training
    assert ids[-1] == UNKNOWN_ID and ids.dtype == np.int64
    assert vectorizer.size == len(vectorizer.characters) + 2


def test_prepare_learns_the_vocabulary_from_the_training_split_only() -> None:
    config = ChargenConfig.model_validate(
        {"corpus": {"source": "files", "path": "unused.txt"}, "models": [{"name": "gru"}]}
    )
    table = pd.DataFrame(
        {
            "document": ["a", "b", "c"],
            "text": ["AB ab", "abz", "xyz"],
            "split": ["train", "validation", "test"],
        }
    )
    data = DataVersion("tiny.dir", "tiny", "data/raw/chargen-tiny.csv")
    prepared = ChargenFamily().prepare(table, Task(config, "tiny"), data)
    assert prepared.vectorizer.characters == [" ", "a", "b"]
    assert prepared.texts["train"] == "ab ab"
    assert (prepared.ids["test"] == UNKNOWN_ID).all()


@pytest.mark.parametrize("test_documents", [[], ["part-a/chapter-000"]])
def test_a_growing_folder_keeps_every_file_in_its_split(
    tmp_path: Path, test_documents: list[str], splits_survive_growth
) -> None:
    corpus = CorpusConfig(
        source="files",
        path=tmp_path,
        test_documents=test_documents,
        validation_fraction=0.2,
        test_fraction=0.2,
    )
    steps = []
    for total in (20, 30, 40):
        for number in range(total):
            folder = tmp_path / ("part-b" if number % 2 else "part-a")
            folder.mkdir(exist_ok=True)
            (folder / f"chapter-{number:03d}.txt").write_text(f"chapter {number} of the tale\n")
        table = load_corpus_table(corpus)
        steps.append(dict(zip(table["document"], table["split"], strict=True)))
    splits_survive_growth(steps)
    if test_documents:  # a listed split takes no hashed file
        assert {name for name, split in steps[-1].items() if split == "test"} == {*test_documents}
