"""Greedy and beam search on hand-written next-token distributions (no network needed)."""

from __future__ import annotations

import numpy as np
import pytest

from components.families.translation.decoding import search

START, END = 1, 2  # token ids of the toy vocabulary; 0 is padding


def markov_step(table: np.ndarray):
    """A decoder whose next-token log-probabilities depend on the last token only
    (``table[input, last token]``); its carry is the input's row number."""

    def step(tokens: np.ndarray, carry: dict[str, np.ndarray]):
        return table[carry["row"], tokens], carry, None

    return step


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def random_tables(inputs: int, vocabulary: int, seed: int) -> np.ndarray:
    logits = np.random.default_rng(seed).normal(scale=2.0, size=(inputs, vocabulary, vocabulary))
    logits[..., 0] = -np.inf  # padding is never written
    logits[..., START] = -np.inf
    return log_softmax(logits)


def sequence_log_probability(table: np.ndarray, row: int, ids: np.ndarray) -> float:
    """Recomputed independently: the sum of each written token's log-probability."""
    total, last = 0.0, START
    for token in ids:
        total += table[row, last, token]
        if token == END:
            break
        last = token
    return total


def test_beam_search_finds_the_likelier_output_greedy_search_misses() -> None:
    # Greedy takes token 3 (0.6) and then can only end weakly; 4 (0.4) leads to a sure end.
    probabilities = np.full((5, 5), 1e-9)
    probabilities[START, [3, 4]] = [0.6, 0.4]
    probabilities[3, [END, 3, 4]] = [0.34, 0.33, 0.33]
    probabilities[4, END] = 1.0
    probabilities[END, END] = 1.0
    table = np.log(probabilities / probabilities.sum(axis=1, keepdims=True))[None]
    carry = {"row": np.array([0])}
    greedy = search(markov_step(table), carry, START, END, max_length=4, width=1)
    beam = search(markov_step(table), carry, START, END, max_length=4, width=2)
    assert greedy.ids[0, :2].tolist() == [3, END]
    assert beam.ids[0, :2].tolist() == [4, END]
    assert beam.log_probability[0] == pytest.approx(np.log(0.4), abs=1e-6)
    assert beam.log_probability[0] > greedy.log_probability[0]


def test_beam_search_keeps_the_greedy_output_when_the_beam_prunes_its_path() -> None:
    # After START, A (0.5) spreads over ten tokens, B (0.3) over two: both children of B
    # outrank every child of A, so a width-2 beam drops the greedy path A-X, whose end is
    # certain, and follows B into flat, unlikely continuations.
    a, b, x, y, z = 3, 4, 5, 6, 7
    spread = list(range(8, 17))  # A's other nine children; B's children's flat continuations
    probabilities = np.full((17, 17), 1e-12)
    probabilities[START, [a, b]] = [0.5, 0.3]
    probabilities[START, END] = 0.2
    probabilities[a, [x, *spread]] = 0.1
    probabilities[b, [y, z]] = 0.5
    probabilities[x, END] = 1.0
    for token in (y, z, *spread):
        probabilities[token, spread] = 1 / len(spread)
    probabilities[END, END] = 1.0
    table = np.log(probabilities / probabilities.sum(axis=1, keepdims=True))[None]
    carry = {"row": np.array([0])}
    greedy = search(markov_step(table), carry, START, END, max_length=4, width=1)
    beam = search(markov_step(table), carry, START, END, max_length=4, width=2)
    assert greedy.ids[0, :3].tolist() == [a, x, END]
    assert beam.ids[0].tolist() == greedy.ids[0].tolist()
    assert beam.log_probability[0] == pytest.approx(np.log(0.05), abs=1e-6)


@pytest.mark.parametrize("width", [2, 3, 5])
def test_beam_search_never_scores_a_lower_log_probability_than_greedy(width: int) -> None:
    for seed in range(20):
        table = random_tables(inputs=16, vocabulary=7, seed=seed)
        carry = {"row": np.arange(16)}
        step = markov_step(table)
        greedy = search(step, carry, START, END, max_length=6, width=1)
        beam = search(step, carry, START, END, max_length=6, width=width)
        assert (beam.log_probability >= greedy.log_probability - 1e-9).all()
        for row in range(16):  # the reported scores are the outputs' true log-probabilities
            for found in (greedy, beam):
                expected = sequence_log_probability(table, row, found.ids[row])
                assert found.log_probability[row] == pytest.approx(expected)


def test_finished_outputs_are_padded_and_length_normalization_can_prefer_longer_ones() -> None:
    # END now costs log 0.5; a two-token output costs log 0.45 + log 1: raw log-probability
    # prefers the short output, the mean per token (length_penalty 1) the longer one.
    probabilities = np.full((5, 5), 1e-12)
    probabilities[START, [END, 3]] = [0.5, 0.45]
    probabilities[3, END] = 1.0
    probabilities[END, END] = 1.0
    table = np.log(probabilities / probabilities.sum(axis=1, keepdims=True))[None]
    carry = {"row": np.array([0])}
    short = search(markov_step(table), carry, START, END, 4, width=2, length_penalty=0.0)
    long = search(markov_step(table), carry, START, END, 4, width=2, length_penalty=1.0)
    assert short.ids[0].tolist() == [END, 0, 0, 0]
    assert long.ids[0].tolist() == [3, END, 0, 0]


def test_a_beam_width_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="beam width must be at least 1"):
        search(markov_step(random_tables(1, 4, 0)), {"row": np.array([0])}, START, END, 3, 0)
