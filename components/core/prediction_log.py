"""The prediction log: every served and batch prediction, one JSON line each, in daily files.

``<directory>/<registered model>/<YYYY-MM-DD>.jsonl`` (the UTC day of the prediction) holds one
record per request: when, which request, which version under which alias, what went in and
what came out. Files are only ever appended to: a record written is never rewritten, so a
restarted server or a batch run beside it adds to the same day's file. A record's line is
encoded first and written with one ``write`` under a lock, so concurrent requests never
interleave; rows and bytes stored per record are capped so a huge request cannot fill a disk.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger("seqpipe.predictions")

DIRECTORY_NAME = "predictions"  # under the workspace, unless configured elsewhere
DEFAULT_MAX_ROWS = 100  # input or output rows kept per record
DEFAULT_MAX_RECORD_BYTES = 64_000  # a record's encoded line, beyond which its inputs are dropped
SUFFIX = ".jsonl"


def default_directory(workspace: Path) -> Path:
    """Where a workspace's prediction log lives unless configured elsewhere."""
    return workspace / DIRECTORY_NAME


def new_request_id() -> str:
    """A request id for a caller that sent none."""
    return uuid.uuid4().hex


def as_rows(value: Any) -> list[Any]:
    """A model's input or output as JSON-ready rows: a table's records (dates in ISO form), a
    sequence's items, or the value itself as one row."""
    if isinstance(value, pd.DataFrame):
        # pandas' own encoder turns timestamps and numpy scalars into JSON in one pass.
        table = value.copy()
        table.columns = [str(name) for name in table.columns]
        return json.loads(table.to_json(orient="records", date_format="iso"))
    if isinstance(value, pd.Series):
        return json.loads(value.to_json(orient="values", date_format="iso"))
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _jsonable(value: Any) -> Any:
    """``json.dumps``' fallback: numpy scalars and arrays, timestamps, anything else as text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Prediction:
    """What one request (or one slice of a batch) asked and what the model answered."""

    request_id: str
    registered_model: str
    alias: str
    version: str
    run_id: str
    inputs: Any  # a table, a list of texts...: stored as rows
    outputs: Any
    source: str = "server"  # "server", "shadow" (the shadow alias' answer) or "batch"
    first_row: int = 0  # the row of the request's input this record's rows start at (batch)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))


def encode(prediction: Prediction, max_rows: int, max_bytes: int) -> bytes:
    """The record's JSON line, at most ``max_rows`` rows per side and about ``max_bytes``.

    Rows past the cap are left out, and a record still too large loses its inputs, then its
    outputs; ``input_rows``/``output_rows`` keep the full counts and ``truncated`` names the
    sides cut, so a reader knows what it does not see.
    """
    inputs, outputs = as_rows(prediction.inputs), as_rows(prediction.outputs)
    record: dict[str, Any] = {
        "time": prediction.time.astimezone(UTC).isoformat(),
        "request_id": prediction.request_id,
        "source": prediction.source,
        "registered_model": prediction.registered_model,
        "alias": prediction.alias,
        "version": prediction.version,
        "run_id": prediction.run_id,
        "first_row": prediction.first_row,
        "input_rows": len(inputs),
        "output_rows": len(outputs),
        "inputs": inputs[:max_rows],
        "outputs": outputs[:max_rows],
        "truncated": [
            side
            for side, rows in (("inputs", inputs), ("outputs", outputs))
            if len(rows) > max_rows
        ],
    }
    line = json.dumps(record, default=_jsonable, allow_nan=False, separators=(",", ":"))
    for side in ("inputs", "outputs"):
        if len(line.encode()) <= max_bytes:
            break
        record[side] = None
        record["truncated"] = sorted({*record["truncated"], side})
        line = json.dumps(record, default=_jsonable, allow_nan=False, separators=(",", ":"))
    return (line + "\n").encode()


class PredictionLog:
    """Appends prediction records to daily JSON-lines files under ``directory``.

    A failed write (disk full, permissions, a value JSON cannot hold) never fails the caller:
    it is logged the first time, then only counted in ``failures``.
    """

    def __init__(
        self,
        directory: Path,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        if max_rows < 1 or max_record_bytes < 1:
            raise ValueError("a prediction log keeps at least one row and one byte per record")
        self.directory = Path(directory)
        self.max_rows, self.max_record_bytes = max_rows, max_record_bytes
        self.written = 0
        self.failures = 0
        self._lock = threading.Lock()

    def path_for(self, registered_model: str, when: datetime) -> Path:
        """The file that holds a model's records of ``when``'s UTC day."""
        day = when.astimezone(UTC).date().isoformat()
        return self.directory / registered_model / f"{day}{SUFFIX}"

    def write(self, prediction: Prediction) -> bool:
        """Append one record; return whether it was written."""
        try:
            line = encode(prediction, self.max_rows, self.max_record_bytes)
            path = self.path_for(prediction.registered_model, prediction.time)
            with self._lock:
                path.parent.mkdir(parents=True, exist_ok=True)
                # O_APPEND and one write of the whole line: other processes appending to the
                # same day (a batch beside the server) cannot land inside it either.
                descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    if os.write(descriptor, line) != len(line):
                        raise OSError(f"short write to {path}")
                finally:
                    os.close(descriptor)
                self.written += 1
        except (OSError, TypeError, ValueError) as error:
            with self._lock:
                self.failures += 1
                first = self.failures == 1
            if first:
                logger.warning(
                    "prediction log: cannot write to %s (%s); predictions go on unlogged and "
                    "failures are counted",
                    self.directory,
                    error,
                )
            return False
        return True


@dataclass(frozen=True)
class LogReading:
    """The records of one registered model, and how many lines could not be read."""

    records: list[dict[str, Any]]
    unreadable_lines: int
    files: int


def read_records(directory: Path, registered_model: str, since: str | None = None) -> LogReading:
    """Every record of ``registered_model`` under ``directory``, oldest file first; only days
    from ``since`` (``YYYY-MM-DD``) on when given.

    A line that is not a whole JSON record (a process killed mid-write) is skipped and counted.
    """
    records: list[dict[str, Any]] = []
    unreadable = 0
    files = sorted(_day_files(directory / registered_model, since))
    for path in files:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    unreadable += 1
                    continue
                if isinstance(record, dict):
                    records.append(record)
                else:
                    unreadable += 1
    return LogReading(records, unreadable, len(files))


def _day_files(folder: Path, since: str | None) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for path in folder.glob(f"*{SUFFIX}"):
        if since is None or path.stem >= since:
            yield path
