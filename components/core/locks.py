"""Workspace locks: flows that start together in one workspace take turns where they would race.

Creating the MLflow store (its schema migration), DVC set-up and commits, and moving registry
aliases are each short, and each must not interleave with another flow's.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_DIR = ".seqpipe/locks"


@contextmanager
def exclusive(workspace: Path, name: str) -> Iterator[None]:
    """Hold the workspace's lock ``name`` (an OS file lock, released if the process dies)."""
    path = workspace / LOCK_DIR / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
