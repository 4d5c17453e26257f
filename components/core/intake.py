"""New data's way in: staged, checked, then accepted as current or set aside with its reports.

A source is read into ``.seqpipe/incoming/`` first. Only data that passed the suite and the
drift check is copied under ``data/raw`` and versioned with DVC, so ``data.dvc``, the caches
and the next drift check never point at data that failed. Data that failed is kept under
``.seqpipe/rejected/<table>/<md5>/`` beside its reports; a user who knows the change is real
accepts it on purpose (``seqpipe data accept``), and it then passes the drift check once and
becomes the reference of the next one.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from components.core.errors import UserError
from components.core.locks import exclusive
from components.core.versioning import DATA_DIR, DataVersion, file_md5, track_data, write_table

INTAKE_DIR = Path(".seqpipe")
INCOMING = INTAKE_DIR / "incoming"
REJECTED = INTAKE_DIR / "rejected"
ACCEPTED = INTAKE_DIR / "accepted"  # versions a user accepted on purpose, with their files
ACCEPTED_LOG = "accepted.jsonl"


@dataclass(frozen=True)
class Incoming:
    """A task's table as its source holds it now, staged before it may become current."""

    table: str  # <family>-<task>: the raw file's name under data/raw
    file_md5: str  # the digest DVC will record for it (what the caches key on)
    path: str  # the staged file, relative to the workspace


def stage(frame: pd.DataFrame, workspace: Path, table: str) -> Incoming:
    """Write a source's table under ``.seqpipe/incoming`` (byte-stable, so an unchanged
    source gives the same digest)."""
    path = write_table(frame, workspace / INCOMING / f"{table}.csv")
    return Incoming(table, file_md5(path), str(path.relative_to(workspace)))


def current_file(workspace: Path, table: str) -> Path:
    """The accepted raw file of a table (it may not exist yet)."""
    return workspace / DATA_DIR / "raw" / f"{table}.csv"


def accept(workspace: Path, incoming: Incoming) -> DataVersion:
    """Make staged data current: copy it under ``data/raw`` and version ``data/`` with DVC."""
    target = current_file(workspace, incoming.table)
    source = workspace / incoming.path
    if not target.exists() or file_md5(target) != incoming.file_md5:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".csv.partial")
        shutil.copyfile(source, partial)
        partial.replace(target)  # whole or not at all, for a process killed while copying
    return track_data(workspace, target)


def set_aside(workspace: Path, incoming: Incoming, reason: str, reports: dict[str, str]) -> Path:
    """Keep data that failed, with its reports (file name -> content), for the user to
    inspect; return its folder. The current data is left as it was."""
    folder = workspace / REJECTED / incoming.table / incoming.file_md5
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(workspace / incoming.path, folder / f"{incoming.table}.csv")
    for name, content in reports.items():
        (folder / name).write_text(content)
    record = {"table": incoming.table, "md5": incoming.file_md5, "reason": reason}
    record["rejected_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    (folder / "rejected.json").write_text(json.dumps(record, indent=2))
    return folder


def rejected_versions(workspace: Path, table: str | None = None) -> list[dict[str, Any]]:
    """The data versions set aside, newest first (each: table, md5, reason, rejected_at,
    folder)."""
    root = workspace / REJECTED
    pattern = f"{table}/*/rejected.json" if table else "*/*/rejected.json"
    found = [
        json.loads(path.read_text()) | {"folder": str(path.parent)} for path in root.glob(pattern)
    ]
    return sorted(found, key=lambda record: record["rejected_at"], reverse=True)


def accept_on_purpose(workspace: Path, table: str, md5: str | None = None) -> dict[str, Any]:
    """Accept a version the drift check set aside: its next run passes the check, and it
    becomes the reference for the checks after it.

    Raises:
        UserError: if no such version was set aside, or it failed validation (a suite's
            failure is broken data, fixed at the source or in the suite's config keys).
    """
    candidates = [
        record
        for record in rejected_versions(workspace, table)
        if md5 is None or record["md5"].startswith(md5)
    ]
    if not candidates:
        known = [f"{record['table']} {record['md5']}" for record in rejected_versions(workspace)]
        raise UserError(
            f"no data version of {table}{f' matching {md5}' if md5 else ''} was set aside; "
            f"set aside: {known or 'none'}"
        )
    chosen = candidates[0]
    if not chosen["reason"].startswith("drift"):
        raise UserError(
            f"{table} {chosen['md5']} failed validation ({chosen['reason']}); only drifted data "
            "can be accepted: fix the data or the suite's config keys named in its report"
        )
    folder = Path(chosen["folder"])
    kept = workspace / ACCEPTED / table
    kept.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / f"{table}.csv", kept / f"{chosen['md5']}.csv")
    record = {
        "table": table,
        "md5": chosen["md5"],
        "accepted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with exclusive(workspace, "intake"), (workspace / ACCEPTED / ACCEPTED_LOG).open("a") as log:
        log.write(json.dumps(record) + "\n")  # appended: earlier acceptances stay on record
    return record


def accepted_record(workspace: Path, table: str, md5: str | None = None) -> dict[str, Any] | None:
    """The newest on-purpose acceptance of a table (of version ``md5`` when given)."""
    log = workspace / ACCEPTED / ACCEPTED_LOG
    if not log.exists():
        return None
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    matching = [
        record
        for record in records
        if record["table"] == table and (md5 is None or record["md5"] == md5)
    ]
    return matching[-1] if matching else None


def accepted_file(workspace: Path, table: str, md5: str) -> Path:
    """The kept copy of a version accepted on purpose."""
    return workspace / ACCEPTED / table / f"{md5}.csv"
