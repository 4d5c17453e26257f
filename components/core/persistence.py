"""One way to save and load every fitted model: its own files beside a ``model.json``.

A fitted model (network, n-gram, forecaster, classifier...) offers ``save(directory)`` and a
classmethod ``load(directory)``. ``save`` writes its files and, through ``write_manifest``, the
settings it is rebuilt from (its run config, vocabulary...) with the class that reads them;
``load_fitted`` reads any saved model back without knowing its family.
"""

from __future__ import annotations

import json
from importlib import import_module
from pathlib import Path
from typing import Any, Protocol, Self

MANIFEST = "model.json"
OWN_PACKAGE = "components"  # the package whose classes a manifest may name by default


class Saveable(Protocol):
    """What a fitted model offers to be logged and served."""

    def save(self, directory: Path) -> None:
        """Write the model's files and its manifest (``write_manifest``) into ``directory``."""

    @classmethod
    def load(cls, directory: Path) -> Self:
        """The model ``save`` wrote into ``directory``."""


def write_manifest(directory: Path, model: object, settings: dict[str, Any]) -> None:
    """Write ``model.json``: the class of ``model`` (whose ``load`` reads the folder back) and
    the JSON ``settings`` it is rebuilt from."""
    kind = type(model)
    manifest = {"class": f"{kind.__module__}:{kind.__qualname__}", "settings": settings}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))


def read_settings(directory: Path) -> dict[str, Any]:
    """The settings ``write_manifest`` wrote into ``directory``."""
    return _manifest(directory)["settings"]


def load_fitted(directory: Path, package: str = OWN_PACKAGE) -> Any:
    """The model saved in ``directory``, loaded by the class its manifest names.

    Args:
        package: the only package the class may come from (the pyfunc wrapper's own).

    Raises:
        ValueError: if the manifest names a class outside ``package``.
    """
    module, _, name = _manifest(directory)["class"].partition(":")
    if module.partition(".")[0] != package:
        raise ValueError(f"{directory / MANIFEST} names {module!r}, not a module of {package!r}")
    return getattr(import_module(module), name).load(Path(directory))


def _manifest(directory: Path) -> dict[str, Any]:
    return json.loads((Path(directory) / MANIFEST).read_text())
