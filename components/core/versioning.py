"""Data versioning with DVC: the top-level ``data.dvc`` tracks ``data/``, pushed to a remote."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from components.core.errors import UserError
from components.core.locks import exclusive

DATA_DIR = "data"
DEFAULT_REMOTE = "local"
# What ``track_data`` last recorded in data.dvc: each file of data/ with its md5.
TRACKED_STAMP = Path(".seqpipe") / "dvc-tracked.json"


@dataclass(frozen=True)
class DataVersion:
    """Identifies the data a run saw."""

    dvc_hash: str  # md5 of the whole data/ directory as recorded in data.dvc
    file_md5: str  # md5 of the family's own raw file (what caches key on)
    path: str  # the raw file, relative to the workspace


def write_raw_table(frame: pd.DataFrame, workspace: Path, name: str) -> Path:
    """Write a raw table as CSV under ``data/raw`` (see ``write_table``)."""
    return write_table(frame, workspace / DATA_DIR / "raw" / f"{name}.csv")


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write a table as CSV with byte-stable formatting.

    Identical frames give identical bytes, so re-ingesting unchanged data keeps the DVC hash.
    Dates are ISO (with the time of day only when some row has one); the file is replaced
    whole, so a process killed while writing leaves the previous version, not half a table.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    content = frame.to_csv(index=False, lineterminator="\n")
    if not path.exists() or path.read_text() != content:
        partial = path.with_suffix(f".csv.{os.getpid()}.partial")
        partial.write_text(content)
        partial.replace(path)
    return path


def file_md5(path: Path) -> str:
    """MD5 of a file's bytes, the same digest DVC records for it."""
    return hashlib.md5(path.read_bytes()).hexdigest()


def ensure_dvc_repo(workspace: Path) -> None:
    """Initialise DVC in ``workspace`` with a local default remote if it has none yet."""
    if not (workspace / ".dvc").is_dir():
        no_scm = [] if (workspace / ".git").exists() else ["--no-scm"]
        _dvc(workspace, "init", "--quiet", *no_scm)
    if _dvc(workspace, "remote", "default", check=False).returncode != 0:
        # A path relative to .dvc/config, so the workspace can move; git ignores it.
        _dvc(workspace, "remote", "add", "--default", DEFAULT_REMOTE, ".dvc/storage")
        ignore = workspace / ".dvc" / ".gitignore"
        with ignore.open("a") as handle:
            handle.write("/storage\n")


def track_data(workspace: Path, raw_file: Path, push: bool = True) -> DataVersion:
    """Record ``data/`` in ``data.dvc`` (and push it to the default remote); return its version.

    Flows of one workspace take turns here: DVC's set-up and its commits must not interleave.
    When ``data/`` holds the very files this function last recorded (and pushed), DVC is not
    run again: a run on unchanged data would otherwise spend seconds on its commands.
    """
    with exclusive(workspace, "dvc"):
        files = _data_files(workspace)
        stamp = workspace / TRACKED_STAMP
        if not _recorded(workspace, stamp, files, push):
            ensure_dvc_repo(workspace)
            _dvc(workspace, "add", "--quiet", DATA_DIR)
            if push:
                _dvc(workspace, "push", "--quiet", DATA_DIR + ".dvc")
            stamp.parent.mkdir(parents=True, exist_ok=True)
            record = {"dvc_hash": read_dvc_hash(workspace), "pushed": push, "files": files}
            stamp.write_text(json.dumps(record, indent=2))
        return DataVersion(
            dvc_hash=read_dvc_hash(workspace),
            file_md5=file_md5(raw_file),
            path=str(raw_file.relative_to(workspace)),
        )


def _data_files(workspace: Path) -> dict[str, str]:
    """Every file under ``data/`` and its md5."""
    root = workspace / DATA_DIR
    return {
        str(path.relative_to(root)): file_md5(path)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _recorded(workspace: Path, stamp: Path, files: dict[str, str], push: bool) -> bool:
    """Whether ``data.dvc`` already records ``files`` as the last ``track_data`` left them
    (pushed too, when a push is asked for)."""
    if not stamp.exists() or not (workspace / f"{DATA_DIR}.dvc").exists():
        return False
    try:
        record = json.loads(stamp.read_text())
        return (
            record["files"] == files
            and record["dvc_hash"] == read_dvc_hash(workspace)
            and (record["pushed"] or not push)
        )
    except (ValueError, KeyError, TypeError, IndexError):
        return False


def read_dvc_hash(workspace: Path) -> str:
    """The md5 that ``data.dvc`` records for ``data/``."""
    document = yaml.safe_load((workspace / f"{DATA_DIR}.dvc").read_text())
    return document["outs"][0]["md5"]


def checkout_data_version(workspace: Path, dvc_hash: str, into: Path) -> Path:
    """``data/`` as it was at version ``dvc_hash``, pulled from the workspace's default DVC
    remote into the folder ``into`` (a DVC project of its own); returns ``into / "data"``.

    Raises:
        UserError: if the workspace has no DVC remote, or the remote lacks that version.
    """
    found = _dvc(workspace, "remote", "default", check=False)
    if found.returncode != 0 or not found.stdout.strip():
        raise UserError(f"no DVC remote in {workspace}: data versions cannot be checked out")
    name = found.stdout.strip()
    url = _dvc(workspace, "config", f"remote.{name}.url").stdout.strip()
    if "://" not in url and not Path(url).is_absolute():  # relative to the config's folder
        url = str((workspace / ".dvc" / url).resolve())
    into.mkdir(parents=True, exist_ok=True)
    _dvc(into, "init", "--quiet", "--no-scm")
    _dvc(into, "remote", "add", "--default", name, url)
    document = {"outs": [{"md5": dvc_hash, "path": DATA_DIR, "hash": "md5"}]}
    (into / f"{DATA_DIR}.dvc").write_text(yaml.safe_dump(document))
    pulled = _dvc(into, "pull", "--quiet", check=False)
    if pulled.returncode != 0:
        raise UserError(
            f"data version {dvc_hash} is not in the DVC remote {url}: {pulled.stderr.strip()}"
        )
    return into / DATA_DIR


def _dvc(workspace: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    # DVC's Python API is internal and changes between releases; its CLI is the stable contract.
    executable = Path(sys.executable).with_name("dvc")
    command = [str(executable) if executable.exists() else "dvc", *args]
    result = subprocess.run(
        command,
        cwd=workspace,
        capture_output=True,
        text=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"`dvc {' '.join(args)}` failed in {workspace}: {result.stderr.strip()}")
    return result
