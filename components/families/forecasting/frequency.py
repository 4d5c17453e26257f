"""Series frequencies: pandas offset aliases old and new, seasonal periods, calendar features.

pandas 3 rejects the aliases most people know (``M``, ``Q``, ``Y``, ``H``, ``T``) for offsets,
and ``Period`` accepts a different set again; everything here works on offsets only, so a
series of any regular frequency pandas knows runs the same way.
"""

from __future__ import annotations

import re

import pandas as pd
from pandas.tseries.offsets import DateOffset

from components.core.errors import UserError

# Aliases pandas 3 no longer takes for offsets -> the name it takes now.
LEGACY_ALIASES = {
    "M": "ME",
    "Q": "QE",
    "Y": "YE",
    "A": "YE",
    "AS": "YS",
    "BM": "BME",
    "BQ": "BQE",
    "BA": "BYE",
    "BY": "BYE",
    "SM": "SME",
    "H": "h",
    "BH": "bh",
    "T": "min",
    "S": "s",
    "L": "ms",
    "U": "us",
    "N": "ns",
}
_ALIAS = re.compile(r"^(?P<count>\d*)(?P<name>[A-Za-z]+)(?P<anchor>-[A-Za-z0-9]+)?$")

# The usual season of each kind of step (one step each): a week of days, a year of months...
SEASONAL_PERIODS = {
    "Day": 7,
    "BusinessDay": 5,
    "Week": 52,
    "SemiMonthBegin": 24,
    "SemiMonthEnd": 24,
    "MonthBegin": 12,
    "MonthEnd": 12,
    "BusinessMonthBegin": 12,
    "BusinessMonthEnd": 12,
    "QuarterBegin": 4,
    "QuarterEnd": 4,
    "BQuarterBegin": 4,
    "BQuarterEnd": 4,
    "YearBegin": 1,
    "YearEnd": 1,
    "BYearBegin": 1,
    "BYearEnd": 1,
    "Hour": 24,
    "BusinessHour": 8,
    "Minute": 60,
}
DAILY_OR_FINER = {"Day", "BusinessDay", "Hour", "BusinessHour", "Minute", "Second"}
YEARLY = {"YearBegin", "YearEnd", "BYearBegin", "BYearEnd"}


def to_offset(alias: str) -> DateOffset:
    """The pandas offset of ``alias``, old names (``M``, ``Q``, ``Y``, ``H``) included.

    Raises:
        ValueError: if pandas knows no such frequency (the message gives examples).
    """
    normalized = alias.strip()
    match = _ALIAS.match(normalized)
    if match and match["name"] in LEGACY_ALIASES:
        name = LEGACY_ALIASES[match["name"]]
        normalized = f"{match['count']}{name}{match['anchor'] or ''}"
    try:
        return pd.tseries.frequencies.to_offset(normalized)
    except ValueError as error:
        raise UserError(
            f"unknown frequency {alias!r}: use a pandas offset alias such as D (daily), "
            "B (business days), W-SUN (weekly), MS or ME (monthly), QS or QE (quarterly), "
            "YS or YE (yearly), h (hourly)"
        ) from error


def normalize(alias: str) -> str:
    """The alias pandas 3 takes for the same frequency (``M`` -> ``ME``, ``QS`` -> ``QS-JAN``)."""
    return to_offset(alias).freqstr


def seasonal_period(alias: str) -> int:
    """The usual seasonal period of a frequency (days: 7, months: 12, quarters: 4, ...).

    Raises:
        ValueError: if the frequency has no usual season (set ``dataset.seasonal_period``).
    """
    offset = to_offset(alias)
    kind = type(offset).__name__
    if offset.n != 1 or kind not in SEASONAL_PERIODS:
        raise UserError(
            f"no usual seasonal period for frequency {alias!r}; set dataset.seasonal_period"
        )
    return SEASONAL_PERIODS[kind]


def is_daily_or_finer(alias: str) -> bool:
    """Whether steps are days or shorter: day of week and holidays then matter."""
    return type(to_offset(alias)).__name__ in DAILY_OR_FINER


def is_yearly(alias: str) -> bool:
    """Whether steps are years: the position in the year then carries nothing."""
    return type(to_offset(alias)).__name__ in YEARLY


def periods_between(dates: pd.Series, alias: str) -> pd.Series:
    """Whole periods between each date and the one before it: 1 on a regular series, more
    across a gap, negative going backwards, 0 for a date off the frequency's grid (a Tuesday
    in a Monday-weekly series); NaN for the first row and where a date is missing."""
    if not pd.api.types.is_datetime64_any_dtype(dates) or dates.isna().all():
        return pd.Series(float("nan"), index=dates.index)
    grid = pd.date_range(dates.min(), dates.max(), freq=to_offset(alias))
    positions = pd.Series(grid.get_indexer(pd.DatetimeIndex(dates)), index=dates.index)
    on_grid = positions.astype("Float64").where(positions >= 0)
    steps = on_grid.diff()
    steps[(positions < 0) & dates.notna()] = 0
    return steps
