"""Date pairs: real calendar days written in human-readable formats, with their ISO form."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

SPLITS = ("train", "validation", "test")
PAIR_COLUMNS = ["source", "target", "format", "split"]  # the raw table every source produces


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _month(day: dt.date) -> str:
    return calendar.month_name[day.month]


def _abbreviation(day: dt.date) -> str:
    return calendar.month_abbr[day.month]


def _weekday(day: dt.date) -> str:
    return calendar.day_name[day.weekday()]


@dataclass(frozen=True)
class DateFormat:
    """One way of writing a date, and which dates it may write without ambiguity."""

    render: Callable[[dt.date], str]
    applies: Callable[[dt.date], bool] = lambda day: True


# Format name -> how it writes a date. "22.04.2019" is written only where no month/day swap
# could read it differently (day above 12, or day equal to month).
DATE_FORMATS: Mapping[str, DateFormat] = {
    "month_day_year": DateFormat(lambda d: f"{_month(d)} {d.day}, {d.year}"),
    "abbreviated_month_day_year": DateFormat(lambda d: f"{_abbreviation(d)} {d.day}, {d.year}"),
    "day_month_year": DateFormat(lambda d: f"{d.day} {_month(d)} {d.year}"),
    "day_abbreviated_month_year": DateFormat(lambda d: f"{d.day} {_abbreviation(d)} {d.year}"),
    "weekday_month_day_year": DateFormat(lambda d: f"{_weekday(d)}, {_month(d)} {d.day}, {d.year}"),
    "year_month_day": DateFormat(lambda d: f"{d.year} {_month(d)} {d.day}"),
    "ordinal_day_of_month_year": DateFormat(
        lambda d: f"the {_ordinal(d.day)} of {_month(d)} {d.year}"
    ),
    "dotted_day_month_year": DateFormat(
        lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
        applies=lambda d: d.day > 12 or d.day == d.month,
    ),
}


def render_date(day: dt.date, format_name: str) -> str:
    """``day`` written in a named format.

    Raises:
        ValueError: if the format is unknown or would be ambiguous for this date.
    """
    if format_name not in DATE_FORMATS:
        raise ValueError(f"unknown date format {format_name!r}; valid: {sorted(DATE_FORMATS)}")
    date_format = DATE_FORMATS[format_name]
    if not date_format.applies(day):
        raise ValueError(f"format {format_name!r} would be ambiguous for {day.isoformat()}")
    return date_format.render(day)


def generate_date_pairs(
    sizes: Mapping[str, int],
    first: dt.date,
    last: dt.date,
    formats: list[str],
    seed: int,
) -> pd.DataFrame:
    """Distinct calendar days between ``first`` and ``last`` (both included), ``sizes[split]``
    per split, each written in one of ``formats`` (drawn uniformly among those that apply).

    A day belongs to one split only, so no test date is ever seen in training, in any format.
    Columns: ``source`` (human-readable), ``target`` (ISO 8601), ``format``, ``split``.
    """
    rng = np.random.default_rng(seed)
    span = (last - first).days + 1
    total = sum(sizes.values())
    if total > span:
        raise ValueError(f"{total} distinct dates asked for, {span} between {first} and {last}")
    offsets = rng.choice(span, size=total, replace=False)
    days = [first + dt.timedelta(days=int(offset)) for offset in offsets]
    rows = []
    splits = np.repeat(list(sizes), list(sizes.values()))
    for day, split in zip(days, splits, strict=True):
        usable = [name for name in formats if DATE_FORMATS[name].applies(day)]
        if not usable:
            raise ValueError(f"none of the formats {formats} can write {day.isoformat()}")
        chosen = usable[rng.integers(len(usable))]
        rows.append((DATE_FORMATS[chosen].render(day), day.isoformat(), chosen, str(split)))
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def parse_iso_date(text: str) -> dt.date | None:
    """The date an ISO ``YYYY-MM-DD`` string names, or None when it names no calendar day."""
    if len(text) != 10:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def date_vectors(targets: pd.Series | list[str]) -> np.ndarray:
    """(year, month, day) of ISO dates, shape (dates, 3), float32: the vector-to-sequence input."""
    days = [dt.date.fromisoformat(text) for text in targets]
    return np.asarray([(day.year, day.month, day.day) for day in days], dtype="float32")
