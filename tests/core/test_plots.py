"""Every shared plot logged to MLflow renders to a PNG file."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.core.plots import plot_compared_curves, plot_learning_curves

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HISTORY = {"loss": [0.9, 0.6, 0.5], "val_loss": [1.0, 0.8, 0.85], "val_accuracy": [0.5, 0.6, 0.6]}


def assert_png(path: Path) -> None:
    content = path.read_bytes()
    assert content.startswith(PNG_SIGNATURE) and len(content) > 5_000


@pytest.mark.parametrize("name", ["learning_curves", "compared_curves"])
def test_plot_writes_a_png(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.png"
    drawn = {
        "learning_curves": lambda: plot_learning_curves(HISTORY, "curves", path),
        "compared_curves": lambda: plot_compared_curves(
            {"sgd": HISTORY, "adam": HISTORY}, ["val_loss", "val_accuracy"], "study", path
        ),
    }[name]()
    assert drawn == path
    assert_png(path)


def test_learning_curves_tick_whole_epochs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import components.core.plots as plots

    drawn = []
    save = plots.save_figure
    monkeypatch.setattr(
        plots, "save_figure", lambda figure, *a: drawn.append(figure) or save(figure, *a)
    )
    plot_learning_curves(HISTORY, "curves", tmp_path / "curves.png")
    (figure,) = drawn
    for axis in figure.axes:
        ticks = [tick for tick in axis.get_xticks() if 1 <= tick <= 3]
        assert ticks and all(float(tick).is_integer() for tick in ticks), ticks
