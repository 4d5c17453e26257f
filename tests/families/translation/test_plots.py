"""The attention plot names each example's expected answer and marks a wrong output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from components.families.translation.metrics import AttentionExample, plot_attention


def test_attention_maps_show_the_expected_answer_and_mark_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import components.families.translation.metrics as metrics

    drawn = []
    save = metrics.save_figure
    monkeypatch.setattr(
        metrics, "save_figure", lambda figure, *args: drawn.append(figure) or save(figure, *args)
    )
    source = list("22 April 2019")
    weights = np.full((12, len(source)), 1 / len(source))
    right = AttentionExample(source, [*"2019-04-22", "[end]"], weights, "2019-04-22", True)
    wrong = AttentionExample(source, [*"2019-04-21", "[end]"], weights, "2019-04-22", False)
    path = plot_attention([right, wrong], "attention", tmp_path / "attention.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    (figure,) = drawn
    first, second = figure.axes[:2]
    assert first.get_title() == "right: expected '2019-04-22'"
    assert second.get_title() == "WRONG: expected '2019-04-22'"
    red = second.spines["left"].get_edgecolor()
    assert red != first.spines["left"].get_edgecolor()
