"""The translation pyfunc: raw strings (or date vectors) in, translations out, beam width as an
inference parameter; bad input is an HTTP 400 that names the problem."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd

from components.core.serving import FamilyModel, bad_request, check_work, input_strings
from components.families.translation.words import letter_words

MAX_BEAM_WIDTH = 16  # wider beams cost time and, on short outputs, find nothing better
# Sequences one request may decode at once (texts x beam width): the decoder's batch.
MAX_DECODED_SEQUENCES = 4_096
VECTOR_COLUMNS = ["year", "month", "day"]
PARAMS = ("beam_width",)  # the inference parameters predict reads
YEAR = re.compile(r"(?<!\d)[1-9]\d{3}(?!\d)")  # what every date format writes


class TranslationModel(FamilyModel):
    """Takes source texts (or, for the vector-to-sequence model, a table of year, month and
    day) and returns each translation with its log-probability.

    The translator carries both vectorizers' vocabularies, so serving needs no other
    preprocessing; ``beam_width`` (default: the configured width) is an inference parameter
    of the signature.

    Args:
        translator: a fitted ``Translator``.
    """

    packages = ("tensorflow-cpu", "keras")

    @property
    def translator(self) -> Any:
        return self.model

    def default_params(self) -> dict[str, Any]:
        return {"beam_width": self.translator.decoding.beam_width}

    def batches_requests(self) -> bool:
        return True  # each row is answered on its own: requests stack into one call

    def max_rows_per_call(self, params: dict[str, Any] | None) -> int:
        beams = check_params(params) or self.translator.decoding.beam_width or 1
        return max(1, MAX_DECODED_SEQUENCES // beams)

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        """Columns ``translation`` and ``log_probability``, one row per input."""
        width = check_params(params)
        translator = self.translator
        if translator.reads == "date_vector":
            inputs: Any = check_date_vectors(model_input)
        else:
            inputs = check_texts(model_input, translator)
        beams = width or translator.decoding.beam_width or 1  # None: the model's own decoding
        check_work(
            len(inputs) * beams,
            MAX_DECODED_SEQUENCES,
            "decoded sequences",
            f"{len(inputs)} input(s) x beam_width {beams}",
            "send fewer texts or a narrower beam",
        )
        translations, decoded = translator.translate(inputs, width)
        return pd.DataFrame(
            {"translation": translations, "log_probability": decoded.log_probability}
        )


def check_params(params: dict[str, Any] | None) -> int | None:
    """The requested beam width (None: the model's default), the only inference parameter.

    Raises:
        MlflowException: (HTTP 400) if a parameter is unknown (a typo would otherwise be
            ignored silently) or the beam width is not a whole number from 1 to
            ``MAX_BEAM_WIDTH``.
    """
    params = params or {}
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise bad_request(f"unknown parameter(s) {unknown}; valid: {list(PARAMS)}")
    value = params.get("beam_width")
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")  # not a number: refused below like any other bad width
    if isinstance(value, bool) or not number.is_integer() or not 1 <= number <= MAX_BEAM_WIDTH:
        raise bad_request(
            f"beam_width must be a whole number from 1 to {MAX_BEAM_WIDTH}, got {value!r}"
        )
    return int(number)


def check_texts(model_input: Any, translator: Any) -> list[str]:
    """The source texts of a request: a list of strings, a Series, or a one-column table.

    Raises:
        MlflowException: (HTTP 400) if there is no text, a value is not text or is blank, has
            more tokens than the model reads, or (character models) a character or a word
            never seen in training; for a date model, if it holds no four-digit year.
    """
    values = input_strings(model_input, "text", "translate")
    blank = [index for index, value in enumerate(values) if not value.strip()]
    if blank:
        raise bad_request(f"text(s) at position(s) {blank[:10]} are empty")
    vectorizer = translator.source_vectorizer
    tokens = [vectorizer.split(value) for value in values]
    limit = translator.source_length
    long = [index for index, split in enumerate(tokens) if len(split) > limit]
    if long:
        raise bad_request(
            f"text(s) at position(s) {long[:10]} are too long: "
            f"{[len(tokens[index]) for index in long[:3]]} {vectorizer.level}s, at most {limit}"
        )
    if vectorizer.level == "character":
        _check_seen(values, tokens, set(vectorizer.vocabulary_), "characters")
        _check_seen(
            values, [letter_words(value) for value in values], set(vectorizer.words_), "words"
        )
    if translator.output == "iso_date":
        yearless = [index for index, value in enumerate(values) if not YEAR.search(value)]
        if yearless:
            raise bad_request(
                f"text(s) at position(s) {yearless[:10]} hold no four-digit year (1000 to "
                f"9999): {[values[index] for index in yearless[:3]]!r}"
            )
    return values


def _check_seen(values: list[str], tokens: list[list[str]], known: set[str], what: str) -> None:
    unseen = {index: sorted(set(split) - known) for index, split in enumerate(tokens)}
    unseen = {index: found for index, found in unseen.items() if found}
    if unseen:
        first = next(iter(unseen))
        raise bad_request(
            f"text(s) at position(s) {list(unseen)[:10]} hold {what} never seen in training, "
            f"e.g. {unseen[first][:5]!r} in {values[first]!r}"
        )


def check_date_vectors(model_input: Any) -> pd.DataFrame:
    """A table of ``year``, ``month``, ``day`` naming real calendar days from year 1000 to 9999.

    Raises:
        MlflowException: (HTTP 400) if a column is missing, a value is not a whole number, or a
            row names no calendar day.
    """
    if not isinstance(model_input, pd.DataFrame):
        raise bad_request(f"expected a table with columns {VECTOR_COLUMNS}")
    missing = [name for name in VECTOR_COLUMNS if name not in model_input]
    if missing or model_input.empty:
        raise bad_request(
            f"expected rows with columns {VECTOR_COLUMNS}; missing {missing or 'rows'}"
        )
    table = model_input[VECTOR_COLUMNS]
    numbers = table.apply(pd.to_numeric, errors="coerce")
    whole = numbers.notna().all(axis=1) & (numbers % 1 == 0).all(axis=1)
    invalid = [
        index
        for index, (row, ok) in enumerate(zip(numbers.itertuples(index=False), whole, strict=True))
        if not ok or not _calendar_day(*row)
    ]
    if invalid:
        raise bad_request(
            f"row(s) {invalid[:10]} name no calendar day from year 1000 to 9999: "
            f"{table.iloc[invalid[:3]].to_numpy().tolist()!r}"
        )
    return numbers.astype("int64")


def _calendar_day(year: float, month: float, day: float) -> bool:
    try:
        return 1000 <= year <= 9999 and bool(dt.date(int(year), int(month), int(day)))
    except ValueError:
        return False
