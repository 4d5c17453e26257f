"""The character vectorizer: Keras ``TextVectorization(split="character")``, fixed alphabet
(Keras loaded only when the layer is made)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

PADDING_ID = 0  # TextVectorization's padding token ""
UNKNOWN_ID = 1  # TextVectorization's out-of-vocabulary token "[UNK]"
RESERVED_IDS = 2  # ids before the first character


class CharVectorizer:
    """Characters to ids with a vocabulary taken from the training text (or configured).

    Args:
        characters: the alphabet, in id order from ``RESERVED_IDS``; any other character
            maps to ``UNKNOWN_ID``.
        lowercase: lower-case text inside the layer, so raw prompts are read as training was.
    """

    def __init__(self, characters: Sequence[str], lowercase: bool) -> None:
        if not characters:
            raise ValueError("the vocabulary is empty: no training character")
        self.characters = list(characters)
        self.lowercase = lowercase

    @classmethod
    def fit(cls, text: str, lowercase: bool, charset: str | None = None) -> CharVectorizer:
        """The configured ``charset``, or every character of the training ``text`` (sorted,
        so ids stay put when character frequencies change)."""
        return cls(list(charset) if charset is not None else sorted(set(text)), lowercase)

    def layer(self) -> keras.layers.TextVectorization:
        """A ``TextVectorization`` layer: strings in, padded character ids out."""
        import keras

        from components.families.chargen.standardize import lower_unicode

        return keras.layers.TextVectorization(
            standardize=lower_unicode if self.lowercase else None,
            split="character",
            vocabulary=self.characters,
            name="vectorizer",
        )

    def transform(self, text: str) -> np.ndarray:
        """The ids of one text, shape (characters,)."""
        import tensorflow as tf

        if not text:
            return np.zeros(0, dtype="int64")
        return np.asarray(self.layer()(tf.constant([text]))[0], dtype="int64")

    @property
    def size(self) -> int:
        """Ids the embedding and the output hold: padding and unknown included."""
        return len(self.characters) + RESERVED_IDS

    def decode(self, ids: Sequence[int]) -> str:
        """The characters of ``ids`` (reserved ids are dropped)."""
        return "".join(
            self.characters[index - RESERVED_IDS] for index in ids if index >= RESERVED_IDS
        )
