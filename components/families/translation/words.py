"""Words and token counts of texts without TensorFlow (serving checks, the suite)."""

from __future__ import annotations

import re

LETTERS = re.compile(r"[^\W\d_]+")
# What ``vectorizer.standardize_words`` sets apart: anything but a letter, digit, space or '.
PUNCTUATION = re.compile(r"([^\w\s']|_)")


def letter_words(text: str) -> list[str]:
    """The runs of letters in a text, lower case ("Monday, 22.04.2019" -> ["monday"])."""
    return LETTERS.findall(text.lower())


def count_tokens(texts: list[str], level: str) -> list[int]:
    """Tokens per text as a vectorizer of ``level`` splits it: characters (spaces included),
    or words with each punctuation mark a word of its own."""
    if level == "character":
        return [len(text) for text in texts]
    return [len(PUNCTUATION.sub(r" \1 ", text.lower()).split()) for text in texts]
