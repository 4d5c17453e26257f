"""The translators a config may name: ``networks.TRANSLATORS`` (Keras loaded only when an entry
is looked up) and the names the family treats apart."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from components.families.translation.networks import TranslatorEntry

BASELINE = "encoder_decoder"  # no attention: what the attention models must beat
VECTOR_TO_SEQUENCE = "vector_to_sequence"  # reads (year, month, day), not text


def translator_entry(name: str) -> TranslatorEntry:
    """The registry entry of ``name``: its builder and what it reads.

    Raises:
        ValueError: if no translator has that name (the message lists the valid names).
    """
    from components.families.translation import networks

    return networks.translator_entry(name)
