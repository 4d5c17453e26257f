"""Greedy and beam search over a decoder that scores one next token at a time.

The decoder is any ``step(tokens, carry) -> (log_probabilities, carry, attention)``: ``tokens``
holds each hypothesis' last token, ``carry`` its decoder state (arrays with one row per
hypothesis), ``attention`` the weights over the source (None without attention). Keeping the
search free of Keras lets tests drive it with hand-written distributions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

PADDING = 0  # the token a finished hypothesis is extended with, at no cost

Carry = dict[str, np.ndarray]
Step = Callable[[np.ndarray, Carry], tuple[np.ndarray, Carry, np.ndarray | None]]


@dataclass(frozen=True)
class Decoded:
    """The chosen output per input."""

    ids: np.ndarray  # (inputs, max_length) token ids, end token included, then padding
    log_probability: np.ndarray  # (inputs,) sum of the tokens' log-probabilities, end included
    score: np.ndarray  # (inputs,) log_probability / length ** length_penalty: what ranked it
    attention: np.ndarray | None  # (inputs, max_length, source steps) per output token


def search(
    step: Step,
    carry: Carry,
    start_id: int,
    end_id: int,
    max_length: int,
    width: int = 1,
    length_penalty: float = 0.0,
) -> Decoded:
    """The most likely output per input: greedy search (``width`` 1) or beam search.

    Beam search keeps the ``width`` best partial outputs per input at every step; a
    hypothesis that wrote the end token is finished and competes, unchanged, with the longer
    ones. Finished outputs are ranked by ``log-probability / length ** length_penalty``
    (length counts the end token): 0 ranks by log-probability, which favours short outputs
    since every token costs probability; 1 ranks by the mean log-probability per token.

    A beam can prune the greedy path (other hypotheses look better halfway), so the greedy
    output competes in the final ranking too: a wider beam never returns an output that
    ranks below greedy search's.
    """
    if width < 1:
        raise ValueError(f"beam width must be at least 1, got {width}")
    found = _beam_search(step, carry, start_id, end_id, max_length, width, length_penalty)
    if width == 1:
        return found
    greedy = _beam_search(step, carry, start_id, end_id, max_length, 1, length_penalty)
    better = greedy.score > found.score
    attention = None
    if found.attention is not None and greedy.attention is not None:
        attention = np.where(better[:, None, None], greedy.attention, found.attention)
    return Decoded(
        ids=np.where(better[:, None], greedy.ids, found.ids),
        log_probability=np.where(better, greedy.log_probability, found.log_probability),
        score=np.where(better, greedy.score, found.score),
        attention=attention,
    )


def _beam_search(
    step: Step,
    carry: Carry,
    start_id: int,
    end_id: int,
    max_length: int,
    width: int,
    length_penalty: float,
) -> Decoded:
    inputs = len(next(iter(carry.values())))
    carry = {name: np.repeat(value, width, axis=0) for name, value in carry.items()}
    # Only the first hypothesis starts alive: the others would repeat it.
    scores = np.full((inputs, width), -np.inf)
    scores[:, 0] = 0.0
    finished = np.zeros((inputs, width), dtype=bool)
    lengths = np.zeros((inputs, width), dtype="int64")
    tokens = np.zeros((inputs, width, max_length), dtype="int64")
    attention: np.ndarray | None = None
    last = np.full(inputs * width, start_id, dtype="int64")
    rows = np.arange(inputs)[:, None]
    for position in range(max_length):
        log_probabilities, carry, weights = step(last, carry)
        vocabulary = log_probabilities.shape[-1]
        log_probabilities = log_probabilities.reshape(inputs, width, vocabulary).astype("float64")
        extension = np.full(vocabulary, -np.inf)
        extension[PADDING] = 0.0
        log_probabilities = np.where(finished[:, :, None], extension, log_probabilities)
        totals = (scores[:, :, None] + log_probabilities).reshape(inputs, width * vocabulary)
        best = np.argsort(-totals, axis=1, kind="stable")[:, :width]
        parents, chosen = best // vocabulary, best % vocabulary
        scores = np.take_along_axis(totals, best, axis=1)
        was_finished = np.take_along_axis(finished, parents, axis=1)
        lengths = np.take_along_axis(lengths, parents, axis=1) + ~was_finished
        finished = was_finished | (chosen == end_id)
        tokens = tokens[rows, parents]
        tokens[:, :, position] = chosen
        flat_parents = (rows * width + parents).ravel()
        carry = {name: value[flat_parents] for name, value in carry.items()}
        if weights is not None:
            weights = weights.reshape(inputs, width, -1)
            if attention is None:
                attention = np.zeros((inputs, width, max_length, weights.shape[-1]), "float32")
            attention = attention[rows, parents]
            attention[:, :, position] = np.take_along_axis(weights, parents[:, :, None], axis=1)
        last = chosen.ravel()
        if finished.all():
            break
    ranked = scores / np.maximum(lengths, 1).astype("float64") ** length_penalty
    pick = ranked.argmax(axis=1)
    chosen_rows = np.arange(inputs)
    return Decoded(
        ids=tokens[chosen_rows, pick],
        log_probability=scores[chosen_rows, pick],
        score=ranked[chosen_rows, pick],
        attention=attention[chosen_rows, pick] if attention is not None else None,
    )
