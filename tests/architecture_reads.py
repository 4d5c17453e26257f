"""Which fields of a config section a model really reads: the check behind each family's
``architecture_reads``, so that a run logs exactly the settings of its own model."""

from __future__ import annotations

from typing import Any


class ReadRecorder:
    """Stands in for a config section, noting each field read from it."""

    def __init__(self, section: Any) -> None:
        self._section = section
        self.read: set[str] = set()

    def __getattr__(self, field: str) -> Any:
        if field.startswith("_") or field == "read":
            raise AttributeError(field)
        self.read.add(field)
        return getattr(self._section, field)
