"""Translation evaluation: exact match, token accuracy, BLEU and chrF, attention heatmaps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from components.core.plots import pyplot, save_figure


def sequence_metrics(
    predicted: Sequence[Sequence[str]], reference: Sequence[Sequence[str]]
) -> dict[str, float]:
    """``exact_match``: share of outputs equal to their reference, token for token;
    ``token_accuracy``: share of reference positions (the end of the output counted as one)
    where the output has the same token."""
    if len(predicted) != len(reference):
        raise ValueError(f"{len(predicted)} outputs for {len(reference)} references")
    if not reference:
        raise ValueError("no reference to score against")
    exact = [
        list(output) == list(wanted) for output, wanted in zip(predicted, reference, strict=True)
    ]
    matched = positions = 0
    for output, wanted in zip(predicted, reference, strict=True):
        # The end marker makes a missing or extra token at the end count as a mistake.
        ended: list[str | None] = [*output, None]
        wanted_ended: list[str | None] = [*wanted, None]
        matched += sum(a == b for a, b in zip(ended, wanted_ended, strict=False))
        positions += len(wanted_ended)
    return {"exact_match": float(np.mean(exact)), "token_accuracy": matched / positions}


def exact_match_by_group(
    predicted: Sequence[Sequence[str]], reference: Sequence[Sequence[str]], groups: Sequence[str]
) -> dict[str, float]:
    """Exact match per group (e.g. per input format), groups in sorted order."""
    hits: dict[str, list[bool]] = {}
    for output, wanted, group in zip(predicted, reference, groups, strict=True):
        hits.setdefault(group, []).append(list(output) == list(wanted))
    return {group: float(np.mean(hits[group])) for group in sorted(hits)}


def corpus_scores(predicted: Sequence[str], reference: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU and chrF (``sacrebleu``, its default tokenization), lower-cased."""
    import sacrebleu

    references = [list(reference)]
    return {
        "bleu": float(sacrebleu.corpus_bleu(list(predicted), references, lowercase=True).score),
        "chrf": float(sacrebleu.corpus_chrf(list(predicted), references).score),
    }


@dataclass(frozen=True)
class AttentionExample:
    """One decoded test input: its tokens, the output's, the weights, and the right answer."""

    source: list[str]
    output: list[str]
    weights: np.ndarray  # (output steps, source steps)
    expected: str
    correct: bool


def plot_attention(examples: Sequence[AttentionExample], title: str, path: Path) -> Path:
    """One heatmap per example: output tokens (rows) against source tokens (columns), shaded by
    the attention weight each output step gave each source step; each titled with the
    expected answer, a wrong output marked in red."""
    plt = pyplot()
    columns = min(2, len(examples))
    rows = -(-len(examples) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(6.5 * columns, 3.4 * rows), squeeze=False)
    for axis, example in zip(axes.flat, examples, strict=False):
        source, output = example.source, example.output
        axis.imshow(
            example.weights[: len(output), : len(source)], cmap="viridis", vmin=0, aspect="auto"
        )
        shown = [token if token.strip() else "␣" for token in source]  # spaces visible
        axis.set_xticks(range(len(source)), shown, fontsize=7)
        axis.set_yticks(range(len(output)), output, fontsize=7)
        axis.set_xlabel("source")
        axis.set_ylabel("output")
        verdict = "right" if example.correct else "WRONG"
        axis.set_title(
            f"{verdict}: expected {example.expected!r}",
            fontsize=8,
            color="black" if example.correct else "tab:red",
        )
        if not example.correct:
            for spine in axis.spines.values():
                spine.set_edgecolor("tab:red")
                spine.set_linewidth(2)
    for axis in list(axes.flat)[len(examples) :]:
        axis.axis("off")
    return save_figure(figure, path, title)
