"""The date generator, the Anki/Tatoeba reader and the pairs suite: what a table must be
before any model sees it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from components.families.translation.config import PairsTask
from components.families.translation.dates import (
    DATE_FORMATS,
    generate_date_pairs,
    parse_iso_date,
    render_date,
)
from components.families.translation.sources import load_pairs_table
from components.families.translation.suite import validate_pairs_table

FIXTURE = Path(__file__).parent / "fixtures" / "spa-tiny.txt"
SIZES = {"train": 600, "validation": 150, "test": 150}


def dates_task(**overrides) -> PairsTask:
    sizes = {f"{split}_size": size for split, size in SIZES.items()}
    return PairsTask.model_validate({"source": "dates", **sizes} | overrides)


def file_task(path: Path = FIXTURE, **overrides) -> PairsTask:
    document = {
        "source": "tab_file",
        "path": str(path),
        "validation_fraction": 0.2,
        "test_fraction": 0.2,
        "vectorizer": {"level": "word", "source_length": 8, "target_length": 8},
    }
    return PairsTask.model_validate(document | overrides)


@pytest.fixture(scope="module")
def dates() -> pd.DataFrame:
    return load_pairs_table(dates_task())


def test_every_format_writes_april_22_2019_as_people_do() -> None:
    day = dt.date(2019, 4, 22)
    written = {name: render_date(day, name) for name in DATE_FORMATS}
    assert written == {
        "month_day_year": "April 22, 2019",
        "abbreviated_month_day_year": "Apr 22, 2019",
        "day_month_year": "22 April 2019",
        "day_abbreviated_month_year": "22 Apr 2019",
        "weekday_month_day_year": "Monday, April 22, 2019",
        "year_month_day": "2019 April 22",
        "ordinal_day_of_month_year": "the 22nd of April 2019",
        "dotted_day_month_year": "22.04.2019",
    }
    assert (
        render_date(dt.date(1000, 1, 1), "ordinal_day_of_month_year") == "the 1st of January 1000"
    )
    assert render_date(dt.date(9999, 12, 13), "ordinal_day_of_month_year").startswith("the 13th")


def test_a_dotted_date_is_written_only_where_day_and_month_cannot_swap() -> None:
    with pytest.raises(ValueError, match="ambiguous for 2019-04-05"):
        render_date(dt.date(2019, 4, 5), "dotted_day_month_year")
    assert render_date(dt.date(2019, 4, 4), "dotted_day_month_year") == "04.04.2019"


def test_generated_pairs_are_seeded_real_days_and_no_day_is_in_two_splits(dates) -> None:
    assert dates.equals(load_pairs_table(dates_task()))
    assert not dates.equals(load_pairs_table(dates_task(seed=7)))
    assert dates["split"].value_counts().to_dict() == SIZES
    assert dates["target"].is_unique  # a day is in one split, in one format
    days = [parse_iso_date(text) for text in dates["target"]]
    assert all(days) and dt.date(1000, 1, 1) <= min(days) and max(days) <= dt.date(9999, 12, 31)
    assert min(days).year < 2000 < max(days).year  # the whole range, not one century
    for row in dates.itertuples():
        assert render_date(dt.date.fromisoformat(row.target), row.format) == row.source
    assert set(dates["format"]) == set(DATE_FORMATS)


def test_the_suite_passes_generated_pairs(dates) -> None:
    report = validate_pairs_table(dates, dates_task(), "dates")
    assert report.success, [str(failure) for failure in report.failures]


def test_the_suite_names_every_problem_of_a_table_at_once(dates) -> None:
    table = dates.copy()
    first_test = table.index[table["split"] == "test"][0]
    table.loc[first_test, "target"] = table.loc[0, "target"]  # a training day again in test
    table.loc[3, "target"] = "2019-02-30"
    table.loc[4, "target"] = "22/04/2019"
    table.loc[5, "source"] = None
    table.loc[6, "source"] = "the twenty-second day of the month of April in the year 2019"
    table.loc[table["format"] == "year_month_day", "format"] = "month_day_year"
    table.loc[7, "split"] = "tset"
    report = validate_pairs_table(table, dates_task(), "dates")
    failed = "\n".join(str(failure) for failure in report.failures)
    assert not report.success
    for expected in (
        "on column 'splits_of_target'",
        "on column 'target_is_date'",
        "expect_column_values_to_match_regex on column 'target'",
        "on column 'source_tokens': 2 unexpected value(s), e.g. [0, 60] at rows [5, 6]",
        "on column 'share_of_year_month_day_in_train'",
        "on column 'split': 1 unexpected value(s), e.g. ['tset']",
    ):
        assert expected in failed


def test_a_tab_file_splits_by_source_sentence_and_passes_the_suite() -> None:
    table = load_pairs_table(file_task())
    assert len(table) == 22 and set(table["format"]) == {"sentence"}
    assert table.groupby("source")["split"].nunique().max() == 1  # "Go." and its translations
    assert set(table["split"]) == {"train", "validation", "test"}
    assert table.loc[table["source"] == "Run!", "target"].tolist() == ["¡Corre!"]
    report = validate_pairs_table(table, file_task(), "spa")
    assert report.success, [str(failure) for failure in report.failures]


def test_a_config_that_cannot_be_generated_fails_before_any_work() -> None:
    with pytest.raises(ValueError, match="unknown date format"):
        dates_task(formats=["month_day_year", "roman_numerals"])
    with pytest.raises(ValueError, match="distinct dates asked for"):
        dates_task(first_date="2019-01-01", last_date="2019-12-31")
    with pytest.raises(ValueError, match="path is required"):
        PairsTask(source="tab_file")


def test_the_generator_refuses_formats_that_cannot_write_a_day() -> None:
    with pytest.raises(ValueError, match="can write"):
        generate_date_pairs(
            {"train": 50},
            dt.date(2019, 1, 1),
            dt.date(2019, 12, 31),
            ["dotted_day_month_year"],
            seed=1,
        )


def test_a_growing_tab_file_keeps_every_sentence_in_its_split(
    tmp_path: Path, splits_survive_growth
) -> None:
    path = tmp_path / "pairs.txt"
    steps = []
    for total in (200, 300, 400):
        # New sentences arrive at every position, each with one or two translations.
        numbers = pd.Series(range(total)).sample(frac=1, random_state=total)
        lines = [
            f"Sentence {number}.\tFrase {number}{variant}.\tattribution"
            for number in numbers
            for variant in ("", " bis")[: 1 + number % 2]
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        table = load_pairs_table(file_task(path))
        assert table.groupby("source")["split"].nunique().max() == 1
        steps.append(dict(zip(table["source"], table["split"], strict=False)))
    splits_survive_growth(steps)
    shares = pd.Series(steps[-1]).value_counts(normalize=True)
    assert shares["test"] == pytest.approx(0.2, abs=0.06)
    assert shares["validation"] == pytest.approx(0.2, abs=0.06)
