"""Character models by name: the recurrent networks (``networks.py``, Keras loaded only when
one is built) and the n-gram baseline, saved and loaded the same way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components.families.chargen.ngram import WittenBellModel

BASELINE = WittenBellModel.kind

# Network name -> its builder in networks.py.
NETWORKS: dict[str, str] = {
    "gru": "build_gru",
    "lstm": "build_lstm",
    "stacked_gru": "build_stacked_gru",
}


def load_language_model(directory: Path) -> Any:
    """Load a model written by ``CharNetwork.save`` or ``WittenBellModel.save``."""
    manifest = json.loads((Path(directory) / "language_model.json").read_text())
    if manifest.get("kind") == BASELINE:
        return WittenBellModel.load(Path(directory), manifest)
    from components.families.chargen.networks import load_network

    return load_network(Path(directory), manifest)
