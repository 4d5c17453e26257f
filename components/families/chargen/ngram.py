"""The baseline: an interpolated Witten-Bell character n-gram model, small and documented."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from components.core.persistence import read_settings, write_manifest
from components.families.chargen.decoding import CharScores
from components.families.chargen.vectorizer import RESERVED_IDS, UNKNOWN_ID, CharVectorizer

UNKNOWN_CHAR = "\x00"  # stands for every character outside the vocabulary


class WittenBellModel:
    """P(c | h) for a context h of up to ``order - 1`` characters, interpolated down to the
    uniform distribution (Witten & Bell 1991; Chen & Goodman 1998, eq. 16)::

        P(c | h) = (C(hc) + T(h) * P(c | h')) / (C(h) + T(h))

    where C counts training n-grams, T(h) is the number of distinct characters seen after h,
    and h' is h without its first character. A context never seen falls back to P(c | h');
    the uniform floor over the vocabulary (unknown included) gives every character mass.

    Args:
        order: characters of the longest n-gram (``order - 1`` of context).
        vectorizer: the alphabet and lower-casing, shared with the networks.
        counts: n-gram -> count, every order from 1 (when loaded).
    """

    kind = "ngram"

    def __init__(
        self, order: int, vectorizer: CharVectorizer, counts: dict[str, int] | None = None
    ) -> None:
        if order < 1:
            raise ValueError(f"an n-gram order is at least 1, got {order}")
        self.order = order
        self.vectorizer = vectorizer
        self.symbols = [*vectorizer.characters, UNKNOWN_CHAR]  # ids RESERVED_IDS.., unknown
        self.counts_: dict[str, int] = {}
        self.contexts_: dict[str, tuple[int, int]] = {}  # h -> (C(h), T(h))
        if counts is not None:
            self._set_counts(counts)

    def fit(self, text: str) -> WittenBellModel:
        """Count every n-gram of order 1..``order`` of the (normalized) training text."""
        known = self.known(text)
        if not known:
            raise ValueError("cannot count n-grams of an empty text")
        counts: Counter[str] = Counter()
        for size in range(1, self.order + 1):
            counts.update(known[start : start + size] for start in range(len(known) - size + 1))
        self._set_counts(dict(counts))
        return self

    def _set_counts(self, counts: dict[str, int]) -> None:
        contexts: dict[str, list[int]] = {}
        for gram, count in counts.items():
            totals = contexts.setdefault(gram[:-1], [0, 0])
            totals[0] += count
            totals[1] += 1
        self.counts_ = counts
        self.contexts_ = {context: (total, types) for context, (total, types) in contexts.items()}

    def known(self, text: str) -> str:
        """The text lower-cased as configured, characters outside the vocabulary replaced."""
        text = text.lower() if self.vectorizer.lowercase else text
        alphabet = set(self.vectorizer.characters)
        return "".join(char if char in alphabet else UNKNOWN_CHAR for char in text)

    def history(self, context: str) -> str:
        """The last ``order - 1`` characters of ``context``: all an n-gram conditions on."""
        return context[max(len(context) - self.order + 1, 0) :] if self.order > 1 else ""

    def probability(self, context: str, char: str) -> float:
        """P(char | the last ``order - 1`` characters of ``context``), both already known()."""
        probability = 1.0 / len(self.symbols)
        history = self.history(context)
        for start in range(len(history), -1, -1):
            prefix = history[start:]
            seen = self.contexts_.get(prefix)
            if seen is not None:
                total, types = seen
                probability = (self.counts_.get(prefix + char, 0) + types * probability) / (
                    total + types
                )
        return probability

    def score(self, text: str, window: int | None = None) -> CharScores:
        """log2 P of every character of ``text`` but the first, from the characters before it.

        ``window`` (how far back a network may look) changes nothing here: an n-gram's
        context is never longer than ``order - 1`` characters.
        """
        known = self.known(text)
        reach = self.order - 1
        log2 = [
            np.log2(self.probability(known[max(0, index - reach) : index], known[index]))
            for index in range(1, len(known))
        ]
        return CharScores(np.asarray(log2, dtype="float64"))

    def logits(self, context: str) -> np.ndarray:
        """Log probabilities of every id after ``context`` (padding: -inf)."""
        known = self.known(context)
        values = np.full(self.vectorizer.size, -np.inf)
        for index, symbol in enumerate(self.symbols[:-1], start=RESERVED_IDS):
            values[index] = np.log(self.probability(known, symbol))
        values[UNKNOWN_ID] = np.log(self.probability(known, UNKNOWN_CHAR))
        return values

    @contextmanager
    def decoding(self) -> Iterator[NgramDecoder]:
        """A decoder of its own for each caller: its history is the only state."""
        yield NgramDecoder(self)

    def save(self, directory: Path) -> None:
        """Write the counts as gzipped JSON, and the order and alphabet."""
        settings = {
            "order": self.order,
            "characters": self.vectorizer.characters,
            "lowercase": self.vectorizer.lowercase,
        }
        write_manifest(directory, self, settings)
        with gzip.open(directory / "counts.json.gz", "wt", encoding="utf-8") as handle:
            json.dump(self.counts_, handle)

    @classmethod
    def load(cls, directory: Path) -> WittenBellModel:
        """A model written by ``save``."""
        settings = read_settings(directory)
        with gzip.open(directory / "counts.json.gz", "rt", encoding="utf-8") as handle:
            counts = json.load(handle)
        vectorizer = CharVectorizer(settings["characters"], settings["lowercase"])
        return cls(settings["order"], vectorizer, counts)


class NgramDecoder:
    """Reads text by keeping the last characters an n-gram conditions on."""

    def __init__(self, model: WittenBellModel) -> None:
        self.model = model
        self.history = ""

    def start(self, prompt: str) -> np.ndarray:
        self.history = self.model.history(self.model.known(prompt))
        return self.model.logits(self.history)

    def step(self, char_id: int) -> np.ndarray:
        char = self.model.known(self.model.vectorizer.decode([char_id])) or UNKNOWN_CHAR
        self.history = self.model.history(self.history + char)
        return self.model.logits(self.history)
