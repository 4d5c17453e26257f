"""Bad series files a user may write, each with the message that must stop it at reading or at
the suite (the cases of the bad-input test over every family, in tests/test_every_family.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FILE = "sales.csv"  # where each case writes, beside the config
CONFIG = """\
dataset: {name: sales, source: file, path: sales.csv, date_column: day,
          target_column: sales, covariates: [price], target_min: 0,
          target_max: 100}
split: {train_end: 2020-01-31, validation_end: 2020-02-15, test_end: null}
window: 7
models: [{name: naive_seasonal}]
profiles: {quick: {}}
"""
GOOD_ROWS = 60


def good_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "day": pd.date_range("2020-01-01", periods=GOOD_ROWS).strftime("%Y-%m-%d"),
            "sales": [float(10 + index % 7) for index in range(GOOD_ROWS)],
            "price": [2.5] * GOOD_ROWS,
        }
    )


def write(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False)


def good(path: Path) -> None:
    write(good_table(), path)


def with_nan(path: Path) -> None:
    write(good_table().assign(sales=lambda f: f["sales"].where(f.index != 7)), path)


def with_wrong_dtype(path: Path) -> None:
    write(good_table().assign(price=lambda f: f["price"].astype(str) + " EUR"), path)


def with_wrong_encoding(path: Path) -> None:
    path.write_bytes(good_table().to_csv(index=False).replace("price", "prix_é").encode("latin-1"))


def with_duplicated_dates(path: Path) -> None:
    table = good_table()
    table.loc[5, "day"] = table.loc[4, "day"]
    write(table, path)


def with_out_of_range(path: Path) -> None:
    write(good_table().assign(sales=lambda f: f["sales"].where(f.index != 9, -3.0)), path)


def truncated(path: Path) -> None:
    text = good_table().to_csv(index=False)
    path.write_text(text[: text.rindex(",")])  # the last row loses its price


def with_wrong_schema(path: Path) -> None:
    write(good_table().rename(columns={"sales": "units"}), path)


def with_wrong_date_format(path: Path) -> None:
    write(good_table().assign(day=lambda f: f["day"].str.replace("-", "/") + " or so"), path)


def with_a_gap(path: Path) -> None:
    write(good_table().drop(index=20), path)


READING = {  # stopped at reading: name -> (what is at FILE, the message)
    "missing file": (None, r"sales\.csv: no such file"),
    "empty file": ("", r"the file is empty"),
    "wrong encoding": (with_wrong_encoding, r"not utf-8 text .*set dataset\.encoding"),
    "wrong date format": (with_wrong_date_format, r"column 'day' are not dates.*row\(s\) \[0"),
}

SUITE = {  # read, then stopped by the suite
    "header only": ("day,sales,price\n", r"expect_table_row_count_to_be_between: observed 0"),
    "NaN": (with_nan, r"not_be_null on column 'sales': 1 unexpected value\(s\).*rows \[7\]"),
    "wrong dtype": (with_wrong_dtype, r"in_type_list on column 'price'"),
    "duplicated keys": (with_duplicated_dates, r"be_unique on column 'day'.*2020-01-05"),
    "out of range": (
        with_out_of_range,
        r"between on column 'sales'.*\[-3\.0\] at rows \[9\], expected between 0\.0 and 100\.0; "
        r"to change the bounds, set dataset\.target_min / dataset\.target_max",
    ),
    "truncated file": (truncated, r"not_be_null on column 'price'.*rows \[59\]"),
    "wrong schema": (with_wrong_schema, r"expect_column_to_exist on column 'sales'"),
    "gap in dates": (with_a_gap, r"periods_since_previous_date.*\[2\.0\]"),
}
