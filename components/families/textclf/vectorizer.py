"""The word vectorizer: Keras ``TextVectorization`` with a vocabulary from training texts only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="seqpipe")
def standardize_text(text: tf.Tensor) -> tf.Tensor:
    """Lower case (Unicode), HTML tags such as ``<br />`` removed, anything but letters, digits
    and apostrophes turned into spaces."""
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, r"<[^>]*>", " ")
    return tf.strings.regex_replace(text, r"[^\p{L}\p{N}']+", " ")


class WordVectorizer:
    """Word-level ``TextVectorization`` whose vocabulary is learned from training texts only.

    Args:
        vocabulary_size: ids in total, padding (0) and out-of-vocabulary (1) included.
        sequence_length: tokens per text; shorter texts are padded with 0 at the end.
    """

    def __init__(
        self, vocabulary_size: int, sequence_length: int, vocabulary: Sequence[str] | None = None
    ) -> None:
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.vocabulary_ = list(vocabulary) if vocabulary is not None else None

    def fit(self, texts: Sequence[str]) -> WordVectorizer:
        """Learn the vocabulary (most frequent words first) from ``texts``."""
        if len(texts) == 0:
            raise ValueError("cannot learn a vocabulary from no text")
        layer = keras.layers.TextVectorization(
            max_tokens=self.vocabulary_size, standardize=standardize_text
        )
        layer.adapt(as_string_array(texts))
        self.vocabulary_ = [str(word) for word in layer.get_vocabulary()]
        return self

    def layer(self) -> keras.layers.TextVectorization:
        """A fresh ``TextVectorization`` layer holding the learned vocabulary."""
        if self.vocabulary_ is None:
            raise ValueError("the vectorizer is not fitted: call fit() on the training texts")
        return keras.layers.TextVectorization(
            max_tokens=self.vocabulary_size,
            standardize=standardize_text,
            output_sequence_length=self.sequence_length,
            vocabulary=self.vocabulary_,
            name="vectorizer",
        )

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        """Padded token ids, shape (texts, sequence_length)."""
        return np.asarray(self.layer()(as_string_array(texts)), dtype="int64")

    @property
    def size(self) -> int:
        """Ids the embedding must hold: the learned vocabulary, padding and unknown included."""
        if self.vocabulary_ is None:
            raise ValueError("the vectorizer is not fitted: call fit() on the training texts")
        return len(self.vocabulary_)


def as_string_array(texts: Any) -> np.ndarray:
    """A 1-D object array of Python strings, the form Keras string inputs accept."""
    return np.asarray([str(text) for text in texts], dtype=object)
