"""Text sources, markup stripping, leak-free splits, the vectorizer and the text suite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.core.contract import Task
from components.core.corpora import strip_markup
from components.core.validation import DataValidationError
from components.families.textclf.config import TextTask
from components.families.textclf.family import TextclfFamily
from components.families.textclf.sources import load_shakespeare, load_text_table
from components.families.textclf.suite import validate_text_table
from components.families.textclf.text import (
    SPLITS,
    carve_validation,
    cut_passages,
    drop_leaked_texts,
    normalized,
)

FIXTURES = Path(__file__).parent / "fixtures"
TASKS = TextclfFamily().load_config().tasks

PLAY = "\n".join(
    [
        "# The Tragedy of Testing",
        "",
        "## ACT I",
        "",
        "## SCENE I. A desert place.",
        "",
        "_Thunder and lightning. Enter three Witches_",
        "",
        "**First Witch**  ",
        "When shall we three meet again  ",
        "In thunder, lightning, or in rain?",
        "",
        "_Alarum within. Enter DUNCAN, MALCOLM, with Attendants,",
        "meeting a bleeding Sergeant_",
        "",
        "**DUNCAN**  ",
        "_\\[Aside]_  ",
        "What bloody man is that? *[Draws.]*  ",
        "\\--As thou didst leave it.",
        "",
        "**LYSANDER**  ",
        "__\\[Awaking]_  ",
        "And run through fire I will.",
        "",
        "*Exeunt.*",
        "",
    ]
)


def test_strip_markup_keeps_only_the_spoken_words() -> None:
    assert strip_markup(PLAY) == (
        "When shall we three meet again In thunder, lightning, or in rain? "
        "What bloody man is that? --As thou didst leave it. And run through fire I will."
    )


def test_passages_have_exactly_the_configured_words_and_drop_the_remainder() -> None:
    words = " ".join(f"w{index}" for index in range(25))
    passages = cut_passages(words, 10)
    assert [len(passage.split()) for passage in passages] == [10, 10]
    assert passages[1].startswith("w10 ")
    with pytest.raises(ValueError, match="at least one word"):
        cut_passages(words, 0)


def test_shakespeare_is_split_by_play_into_150_word_passages(shakespeare: pd.DataFrame) -> None:
    task = TASKS["shakespeare-genre"]
    assert set(shakespeare["label"]) == set(task.labels)
    assert (shakespeare["text"].str.split().str.len() == task.passage_words).all()
    plays = shakespeare.groupby("document")["split"].agg(set)
    assert (plays.map(len) == 1).all(), "a play must sit in one split"
    assert set(plays[plays == {"test"}].index) == set(task.test_plays)
    assert set(plays[plays == {"validation"}].index) == set(task.validation_plays)
    assert len(plays) == 38
    for split in SPLITS:  # every group is represented in every split
        assert set(shakespeare.loc[shakespeare["split"] == split, "label"]) == set(task.labels)
    assert not shakespeare["text"].str.contains(r"[*_#\\]").any(), "markup left in the text"


def test_unknown_play_in_the_split_names_the_valid_plays(tmp_path: Path) -> None:
    (tmp_path / "tragedies").mkdir()
    (tmp_path / "tragedies" / "macbeth.md").write_text(PLAY)
    task = TASKS["shakespeare-genre"].model_copy(
        update={"validation_plays": ["macbeth"], "test_plays": ["hamlett"]}
    )
    with pytest.raises(
        ValueError, match=r"unknown play\(s\) \['hamlett'\].*valid plays: \['macbeth'\]"
    ):
        load_shakespeare(task, tmp_path)


def test_finefoods_keeps_the_packaged_test_set_and_carves_validation(
    finefoods: pd.DataFrame,
) -> None:
    counts = finefoods.groupby(["split", "label"]).size().unstack()
    assert counts.loc["test"].sum() == 1000  # the packaged test reviews, untouched
    assert counts.loc[["train", "validation"]].to_numpy().sum() < 4000  # repeated texts removed
    shares = counts.div(counts.sum(axis=1), axis=0)["great"]
    assert shares["validation"] == pytest.approx(shares["train"], abs=0.01)  # stratified
    assert counts.loc["validation"].sum() / counts.loc[
        ["train", "validation"]
    ].to_numpy().sum() == (pytest.approx(0.2, abs=0.01))
    normalized = finefoods["text"].str.lower().str.split().str.join(" ")
    assert normalized.groupby(normalized).transform("size").max() == 1  # no text twice


def test_validation_carving_is_seeded_stratified_and_moves_whole_documents() -> None:
    documents = [f"d{index // 2}" for index in range(40)]  # 20 documents of two rows
    frame = pd.DataFrame(
        {
            "document": documents,
            "text": [f"t{index}" for index in range(40)],
            "label": ["a" if int(d[1:]) < 10 else "b" for d in documents],
            "split": "train",
        }
    )
    carved = carve_validation(frame, 0.2, seed=7)
    assert carved.equals(carve_validation(frame, 0.2, seed=7))
    assert not carved.equals(carve_validation(frame, 0.2, seed=8))
    assert (carved.groupby("document")["split"].nunique() == 1).all()
    validation = carved[carved["split"] == "validation"]
    assert validation.groupby("label")["document"].nunique().to_dict() == {"a": 2, "b": 2}


def test_repeated_texts_stay_only_in_their_last_split() -> None:
    frame = pd.DataFrame(
        {
            "document": ["1", "2", "3", "4", "5"],
            "text": ["Same words", "same  WORDS", "other", "other", "unique"],
            "label": ["a"] * 5,
            "split": ["train", "test", "train", "train", "validation"],
        }
    )
    kept = drop_leaked_texts(frame)
    assert list(kept["document"]) == ["2", "3", "5"]


def test_imdb_folder_layout(tmp_path: Path) -> None:
    task = TextTask(
        source="imdb_files",
        path=FIXTURES / "aclImdb",
        labels=["neg", "pos"],
        validation_fraction=0.25,
    )
    frame = load_text_table(task)
    assert len(frame) == 18  # the unsup review is ignored
    assert frame.groupby("split").size().to_dict() == {"test": 6, "train": 8, "validation": 4}
    assert set(frame.loc[frame["split"] == "validation", "label"]) == {"neg", "pos"}
    assert frame.loc[frame["document"] == "train/pos/0_9", "text"].item().startswith("A wonderful")
    assert validate_text_table(
        frame, task.model_copy(update={"min_class_share": 0.2}), "imdb"
    ).success


def test_imdb_csv_without_split_hashes_test_and_validation() -> None:
    task = TextTask(
        source="imdb_files",
        path=FIXTURES / "imdb.csv",
        labels=["negative", "positive"],
        test_fraction=0.25,
        validation_fraction=0.25,
    )
    frame = load_text_table(task)
    assert frame.groupby("split").size().to_dict() == {"test": 5, "train": 10, "validation": 3}
    assert frame.groupby("split")["label"].nunique().to_dict() == {
        "test": 2,
        "train": 2,
        "validation": 2,
    }


def test_imdb_csv_with_wrong_columns_names_them(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"body": ["good"], "stars": ["5"]}).to_csv(path, index=False)
    task = TextTask(source="imdb_files", path=path, labels=["negative", "positive"])
    with pytest.raises(ValueError, match=r"missing column\(s\) \['review', 'sentiment'\]"):
        load_text_table(task)


def test_imdb_needs_a_path() -> None:
    with pytest.raises(ValueError, match="path is required"):
        TextTask(source="imdb_files", labels=["neg", "pos"])


def test_vectorizer_vocabulary_comes_from_the_training_split_only(finefoods: pd.DataFrame) -> None:
    from components.core.versioning import DataVersion
    from components.families.textclf.config import TextclfConfig

    sample = pd.concat([finefoods[finefoods["split"] == split].head(200) for split in SPLITS])
    config = TextclfConfig(tasks={"finefoods": TASKS["finefoods"]}, models=[])
    prepared = TextclfFamily().prepare(
        sample, Task(config, "finefoods"), DataVersion("h", "m", "p")
    )
    vocabulary = set(prepared.vectorizer.vocabulary_[2:])

    def words(split: str) -> set[str]:
        texts = (
            sample.loc[sample["split"] == split, "text"]
            .str.lower()
            .str.replace(r"<[^>]*>", " ", regex=True)
            .str.replace(r"[^\w']+", " ", regex=True)
        )
        return set(" ".join(texts).split())

    only_elsewhere = (words("validation") | words("test")) - words("train")
    assert vocabulary <= words("train")
    assert only_elsewhere and not (vocabulary & only_elsewhere)
    unseen = sorted(only_elsewhere)[0]
    assert prepared.vectorizer.transform([unseen])[0, 0] == 1  # out of vocabulary
    assert prepared.ids["test"].shape == (200, TASKS["finefoods"].vectorizer.sequence_length)
    assert set(np.unique(prepared.targets["train"])) == {0, 1}


def check(frame: pd.DataFrame, task: str = "finefoods"):
    return validate_text_table(frame, TASKS[task], task)


def test_real_tables_pass(finefoods: pd.DataFrame, shakespeare: pd.DataFrame) -> None:
    for name, frame in (("finefoods", finefoods), ("shakespeare-genre", shakespeare)):
        report = check(frame, name)
        assert report.success, report.failures


def with_empty_text(frame):
    frame.loc[3, "text"] = "   "
    frame.loc[4, "text"] = None
    return frame


def with_unknown_label(frame):
    frame.loc[5, "label"] = "meh"
    return frame


def with_document_in_two_splits(frame):
    test_row = frame.index[frame["split"] == "test"][0]
    frame.loc[test_row, "document"] = frame.loc[0, "document"]
    return frame


def with_text_in_two_splits(frame):
    test_row = frame.index[frame["split"] == "test"][0]
    frame.loc[test_row, "text"] = frame.loc[0, "text"].upper()
    return frame


def without_other_in_test(frame):
    return frame[~((frame["split"] == "test") & (frame["label"] == "other"))]


def without_validation(frame):
    return frame[frame["split"] != "validation"]


CASES: list[tuple[Callable, str, str]] = [
    (
        with_empty_text,
        "expect_column_values_to_be_between on column 'words_in_text'",
        "[0, 0] at rows [3, 4]",
    ),
    (with_empty_text, "expect_column_values_to_not_be_null on column 'text'", "at rows [4]"),
    (
        with_unknown_label,
        "expect_column_values_to_be_in_set on column 'label'",
        "['meh'] at rows [5]",
    ),
    (with_document_in_two_splits, "on column 'splits_of_document'", "[2, 2]"),
    (with_text_in_two_splits, "on column 'splits_of_text'", "[2, 2]"),
    (without_other_in_test, "on column 'share_of_great_in_test'", "observed np.float64(1.0)"),
    (
        without_validation,
        "expect_column_distinct_values_to_contain_set on column 'split'",
        "validation",
    ),
]


@pytest.mark.parametrize(
    ("corrupt", "expectation", "evidence"),
    CASES,
    ids=[f"{case[0].__name__}-{index}" for index, case in enumerate(CASES)],
)
def test_corrupted_copies_fail_with_named_expectation_and_values(
    finefoods: pd.DataFrame, corrupt: Callable, expectation: str, evidence: str
) -> None:
    report = check(corrupt(finefoods.copy()))
    assert not report.success
    message = str(DataValidationError(report))
    failure = next((line for line in message.splitlines() if expectation in line), None)
    assert failure is not None, message
    assert evidence in failure, failure


def test_missing_column_is_reported(finefoods: pd.DataFrame) -> None:
    message = str(DataValidationError(check(finefoods.drop(columns=["document"]))))
    assert "expect_column_to_exist on column 'document'" in message


def growing_reviews(total: int) -> pd.DataFrame:
    """The first ``total`` reviews of a growing file, shuffled (seeded by the size), so rows
    arrive at every position and not only at the end."""
    reviews = pd.DataFrame(
        {
            "review_id": [f"r{number}" for number in range(total)],
            "review": [
                f"Review number {number}, a film I would call {number % 7}."
                for number in range(total)
            ],
            "sentiment": ["pos" if number % 3 else "neg" for number in range(total)],
        }
    )
    return reviews.sample(frac=1, random_state=total).reset_index(drop=True)


@pytest.mark.parametrize("id_column", [None, "review_id"])
def test_a_growing_csv_keeps_every_review_in_its_split(
    tmp_path: Path, id_column: str | None, splits_survive_growth
) -> None:
    path = tmp_path / "reviews.csv"
    task = TextTask(source="imdb_files", path=path, labels=["neg", "pos"], id_column=id_column)
    steps = []
    for total in (200, 300, 400):
        growing_reviews(total).to_csv(path, index=False)
        frame = load_text_table(task)
        assert len(frame) == total
        steps.append(dict(zip(frame["text"], frame["split"], strict=True)))
    splits_survive_growth(steps)
    shares = pd.Series(steps[-1]).value_counts(normalize=True)
    assert shares["test"] == pytest.approx(0.2, abs=0.06)
    assert shares["validation"] == pytest.approx(0.16, abs=0.06)


def test_repeated_texts_share_a_split_and_ids_name_documents(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    reviews = growing_reviews(60)
    repeated = reviews.assign(
        review=reviews["review"].str.upper(), review_id="copy-" + reviews["review_id"]
    )
    pd.concat([reviews, repeated]).to_csv(path, index=False)
    by_text = load_text_table(TextTask(source="imdb_files", path=path, labels=["neg", "pos"]))
    assert len(by_text) == 60  # each repeat is the same document, kept once
    by_id = load_text_table(
        TextTask(source="imdb_files", path=path, labels=["neg", "pos"], id_column="review_id")
    )
    assert set(by_id["document"]) <= set(reviews["review_id"]) | set(repeated["review_id"])
    assert not normalized(by_id["text"]).duplicated().any()  # repeats in two splits: dropped


def test_an_empty_or_missing_id_is_named(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    growing_reviews(10).assign(review_id=lambda f: f["review_id"].where(f.index != 3, "")).to_csv(
        path, index=False
    )
    with pytest.raises(ValueError, match=r"empty id\(s\) in column 'review_id' at row\(s\) \[3\]"):
        load_text_table(
            TextTask(source="imdb_files", path=path, labels=["neg", "pos"], id_column="review_id")
        )
    with pytest.raises(ValueError, match=r"missing column\(s\) \['key'\]"):
        load_text_table(
            TextTask(source="imdb_files", path=path, labels=["neg", "pos"], id_column="key")
        )


def test_a_growing_review_folder_keeps_its_validation_split(
    tmp_path: Path, splits_survive_growth
) -> None:
    task = TextTask(source="imdb_files", path=tmp_path, labels=["neg", "pos"])
    steps = []
    for total in (100, 150, 200):
        for number in range(total):
            split = "test" if number % 5 == 0 else "train"
            folder = tmp_path / split / ("pos" if number % 2 else "neg")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{number}_7.txt").write_text(f"Review {number} of a film.", encoding="utf-8")
        frame = load_text_table(task)
        steps.append(dict(zip(frame["document"], frame["split"], strict=True)))
    splits_survive_growth(steps)
    assert all(
        split == "test" for document, split in steps[-1].items() if document.startswith("test/")
    )
