"""Each family's drift statistics on its packaged data: more of the same passes, a source
that changed its nature (another alphabet, one label, overexposed images) is blocked."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pandas as pd
import pytest

from components.core.drift import DriftReport, judge
from components.families import get_family

CYRILLIC = ["съешь", "же", "ещё", "этих", "мягких", "французских", "булок", "да", "выпей", "чаю"]


def packaged(family_name: str) -> tuple[object, object, pd.DataFrame]:
    family = get_family(family_name)
    task = family.select_tasks(family.load_config(None, "quick"), None)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return family, task, family.load_table(task)


def report(family_name: str, reference: pd.DataFrame, current: pd.DataFrame) -> DriftReport:
    family, task, _ = packaged(family_name)
    statistics = family.drift_statistics(reference, current, task)  # type: ignore[attr-defined]
    return judge(statistics, task.config.drift, "reference", "current")  # type: ignore[attr-defined]


def foreign_reviews(table: pd.DataFrame) -> pd.DataFrame:
    rows = table.sample(300, random_state=1).copy()
    rows["text"] = [
        " ".join(CYRILLIC[(index + k) % len(CYRILLIC)] for k in range(12)) for index in range(300)
    ]
    rows["label"] = table["label"].iloc[0]
    return rows


def foreign_play(table: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {"document": ["foreign"], "text": ["\n".join(CYRILLIC) * 400], "split": ["train"]}
    )


def foreign_sources(table: pd.DataFrame) -> pd.DataFrame:
    rows = table.sample(300, random_state=1).copy()
    rows["source"] = [f"{CYRILLIC[index % len(CYRILLIC)]} {index}" for index in range(300)]
    return rows


def overexposed_digits(table: pd.DataFrame) -> pd.DataFrame:
    rows = table.sample(300, random_state=1).copy()
    pixels = [column for column in rows if column.startswith("pixel_")]
    rows[pixels] = (rows[pixels] + 0.5).clip(upper=1.0)  # a camera that lost its black
    rows["label"] = table["label"].iloc[0]
    return rows


CASES: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], set[str]]] = {
    "textclf": (foreign_reviews, {"out-of-vocabulary words", "label shares"}),
    "chargen": (foreign_play, {"characters outside the champion's set"}),
    "translation": (foreign_sources, {"source characters outside the champion's set"}),
    "images": (overexposed_digits, {"pixel intensity", "class shares"}),
}


@pytest.mark.parametrize("family_name", sorted(CASES))
def test_more_of_the_same_passes(family_name: str) -> None:
    _, _, table = packaged(family_name)
    held_back = (
        table.sample(frac=0.2, random_state=0).index if len(table) > 10 else table.index[-1:]
    )
    found = report(family_name, table.drop(index=held_back), table)
    assert not found.blocked, found.to_frame().to_string()
    assert found.judged  # it compared something


@pytest.mark.parametrize("family_name", sorted(CASES))
def test_a_changed_source_is_blocked_naming_the_statistics(family_name: str) -> None:
    _, _, table = packaged(family_name)
    make_drifted, expected = CASES[family_name]
    grown = pd.concat([table, make_drifted(table)], ignore_index=True)
    found = report(family_name, table, grown)
    blocked = {item.statistic.name for item in found.flagged("block")}
    assert expected <= blocked, found.to_frame().to_string()
