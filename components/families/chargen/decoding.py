"""Decoding shared by every character model: greedy, temperature and top-k sampling, seeded."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from components.families.chargen.vectorizer import RESERVED_IDS, CharVectorizer

STEPS_PER_STREAM = 1_000_000  # random draws one prompt's stream may take before the next's


class Decoder(Protocol):
    """A language model read one character at a time."""

    def start(self, prompt: str) -> np.ndarray:
        """Forget earlier text, read ``prompt``; return the next character's logits."""

    def step(self, char_id: int) -> np.ndarray:
        """Read one more character id; return the next character's logits."""


@dataclass(frozen=True)
class CharScores:
    """How well a model predicts each character of a text from the characters before it."""

    log2_probabilities: np.ndarray  # one per predicted character (every one but the first)
    accuracy: float | None = None  # share whose likeliest next character was right, if known

    @property
    def bits_per_char(self) -> float:
        return float(-self.log2_probabilities.mean())


@dataclass(frozen=True)
class Sample:
    """A generated continuation and how uncertain its sampling distributions were."""

    text: str
    entropy_bits: float  # mean entropy of the distributions the characters were drawn from


def sampling_logits(logits: np.ndarray, temperature: float, top_k: int) -> np.ndarray:
    """Logits divided by the temperature, padding and unknown ids never drawn, and with
    ``top_k`` > 0 every character but the k likeliest removed (``top_k=1``: greedy)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    scaled = np.array(logits, dtype="float64")
    scaled[:RESERVED_IDS] = -np.inf
    # The likeliest character is moved to 0 before dividing: a tiny temperature then sends the
    # others to -inf but never all of them, which would leave nothing to draw.
    scaled = (scaled - scaled[RESERVED_IDS:].max()) / temperature
    if 0 < top_k < scaled.size - RESERVED_IDS:
        threshold = np.sort(scaled)[-top_k]
        scaled[scaled < threshold] = -np.inf
    return scaled


def entropy_bits(logits: np.ndarray) -> float:
    """Entropy of ``softmax(logits)`` in bits."""
    finite = logits[np.isfinite(logits)]
    log_probabilities = finite - np.logaddexp.reduce(finite)
    return float(-(np.exp(log_probabilities) * log_probabilities).sum() / np.log(2))


def generate(
    decoder: Decoder,
    vectorizer: CharVectorizer,
    prompt: str,
    max_chars: int,
    temperature: float,
    top_k: int,
    seed: int,
) -> Sample:
    """Continue ``prompt`` by ``max_chars`` characters drawn with ``tf.random`` (stateless,
    keyed by ``seed``, the prompt and the step), so the same request gives the same text and
    two prompts of one request do not share their random draws."""
    import tensorflow as tf

    stream = zlib.crc32(prompt.encode("utf-8")) * STEPS_PER_STREAM

    logits = decoder.start(prompt)
    chosen: list[int] = []
    entropies = []
    for step in range(max_chars):
        scaled = sampling_logits(logits, temperature, top_k)
        entropies.append(entropy_bits(scaled))
        drawn = tf.random.stateless_categorical(
            tf.constant(scaled[None], dtype=tf.float32), 1, seed=[seed, stream + step]
        )
        chosen.append(int(drawn[0, 0]))
        logits = decoder.step(chosen[-1])
    return Sample(vectorizer.decode(chosen), float(np.mean(entropies)) if entropies else 0.0)
