"""Token vectorizers per side of a pair: Keras ``TextVectorization`` learned from training only,
with the start and end tokens a decoder reads and writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import keras
import numpy as np
import tensorflow as tf

from components.families.translation.words import letter_words

PADDING, UNKNOWN = 0, 1  # TextVectorization's own ids
START, END = "[start]", "[end]"  # never produced by splitting text: ids the model alone writes


@keras.saving.register_keras_serializable(package="seqpipe")
def standardize_words(text: tf.Tensor) -> tf.Tensor:
    """Lower case (Unicode), punctuation kept as words of its own ("¿Qué?" -> "¿ qué ?")."""
    text = tf.strings.lower(text, encoding="utf-8")
    return tf.strings.regex_replace(text, r"([^\p{L}\p{N}\s'])", r" \1 ")


class SequenceVectorizer:
    """Text -> padded token ids (characters or words), and ids -> text.

    Args:
        level: ``character`` (every character a token, spaces included) or ``word``.
        vocabulary_size: ids in total: padding, unknown, start and end included.
        vocabulary: a learned vocabulary (when loaded), as ``vocabulary_`` holds it.
        words: the learned words of a character vectorizer (when loaded), as ``words_``.
    """

    def __init__(
        self,
        level: Literal["character", "word"],
        vocabulary_size: int,
        vocabulary: Sequence[str] | None = None,
        words: Sequence[str] | None = None,
    ) -> None:
        if level not in ("character", "word"):
            raise ValueError(f"unknown vectorizer level {level!r}; valid: character, word")
        self.level = level
        self.vocabulary_size = vocabulary_size
        self.vocabulary_ = list(vocabulary) if vocabulary is not None else None
        # A character model reads any string of known characters; the words it was trained
        # on tell a date from "hello" (word models map unseen words to the unknown id).
        self.words_ = list(words) if words is not None else None

    def _options(self) -> dict[str, Any]:
        if self.level == "character":
            return {"split": "character", "standardize": "lower"}
        return {"split": "whitespace", "standardize": standardize_words}

    def fit(self, texts: Sequence[str]) -> SequenceVectorizer:
        """Learn the most frequent tokens of ``texts``, then the start and end tokens."""
        if len(texts) == 0:
            raise ValueError("cannot learn a vocabulary from no text")
        layer = keras.layers.TextVectorization(
            max_tokens=self.vocabulary_size - 2, **self._options()
        )
        layer.adapt(as_string_array(texts))
        self.vocabulary_ = [str(token) for token in layer.get_vocabulary()] + [START, END]
        if self.level == "character":
            self.words_ = sorted({word for text in texts for word in letter_words(text)})
        return self

    def _learned(self) -> list[str]:
        if self.vocabulary_ is None:
            raise ValueError("the vectorizer is not fitted: call fit() on the training texts")
        return self.vocabulary_

    def layer(self, length: int | None = None) -> keras.layers.TextVectorization:
        """A ``TextVectorization`` layer holding the vocabulary; ``length`` pads and cuts."""
        return keras.layers.TextVectorization(
            vocabulary=self._learned()[2:],  # the layer adds padding and unknown itself
            output_sequence_length=length,
            **self._options(),
        )

    def split(self, text: str) -> list[str]:
        """The tokens of one text as the vectorizer reads them, known or not."""
        if self.level == "character":
            pieces = tf.strings.unicode_split(tf.strings.lower(text), "UTF-8")
        else:
            pieces = tf.strings.split(standardize_words(tf.constant(text)))
        return [piece.decode("utf-8") for piece in pieces.numpy().tolist()]

    def transform(self, texts: Sequence[str], length: int) -> np.ndarray:
        """Token ids, shape (texts, length): shorter texts padded with 0, longer ones cut."""
        return np.asarray(self.layer(length)(as_string_array(texts)), dtype="int64")

    def decode_tokens(self, ids: Sequence[int]) -> list[str]:
        """The tokens of ids up to the end token (padding and start skipped)."""
        vocabulary = self._learned()
        tokens = []
        for index in ids:
            token = vocabulary[int(index)]
            if token == END:
                break
            if int(index) != PADDING and token != START:
                tokens.append(token)
        return tokens

    def join(self, tokens: Sequence[str]) -> str:
        """Tokens back to text: characters side by side, words with a space between."""
        return ("" if self.level == "character" else " ").join(tokens)

    @property
    def size(self) -> int:
        """Ids an embedding or output layer must hold."""
        return len(self._learned())

    @property
    def start_id(self) -> int:
        return self._learned().index(START)

    @property
    def end_id(self) -> int:
        return self._learned().index(END)


def as_string_array(texts: Any) -> np.ndarray:
    """A 1-D object array of Python strings, the form Keras string inputs accept."""
    return np.asarray([str(text) for text in texts], dtype=object)
