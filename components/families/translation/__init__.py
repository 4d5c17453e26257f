"""Sequence-to-sequence translation: readable dates to ISO dates, and users' sentence pairs."""
