"""The character vectorizer's Keras standardization, registered so saved networks reload."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="seqpipe")
def lower_unicode(text: tf.Tensor) -> tf.Tensor:
    """Unicode lower case, as Python's ``str.lower`` (Keras' ``"lower"`` is ASCII only)."""
    return tf.strings.lower(text, encoding="utf-8")
