"""Translators by name: each names its Keras builder (``networks.py``, Keras loaded only when
one is built) and what it reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Reads = Literal["text", "date_vector"]


@dataclass(frozen=True)
class TranslatorEntry:
    """A registered translator: its builder in ``networks.py`` and its input."""

    builder: str
    reads: Reads = "text"  # text: source strings; date_vector: (year, month, day) of the target


BASELINE = "encoder_decoder"  # no attention: what the attention models must beat
VECTOR_TO_SEQUENCE = "vector_to_sequence"

TRANSLATORS: dict[str, TranslatorEntry] = {
    BASELINE: TranslatorEntry("build_encoder_decoder"),
    "bidirectional": TranslatorEntry("build_bidirectional"),
    "luong_attention": TranslatorEntry("build_luong_attention"),
    "bahdanau_attention": TranslatorEntry("build_bahdanau_attention"),
    VECTOR_TO_SEQUENCE: TranslatorEntry("build_vector_to_sequence", reads="date_vector"),
}


def translator_entry(name: str) -> TranslatorEntry:
    """The registry entry of ``name``.

    Raises:
        ValueError: if no translator has that name (the message lists the valid names).
    """
    if name not in TRANSLATORS:
        raise ValueError(f"unknown translator {name!r}; valid names: {sorted(TRANSLATORS)}")
    return TRANSLATORS[name]
