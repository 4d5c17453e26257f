"""The Frechet distance: about 0 for a set against itself, the squared mean shift between
Gaussians that differ only in their means; coverage counts the labels samples show."""

from __future__ import annotations

import numpy as np

from components.families.images import quality
from components.families.images.config import ScoringConfig
from components.families.images.quality import coverage, frechet_distance


def test_the_distance_of_a_set_to_itself_is_about_zero() -> None:
    features = np.random.default_rng(0).standard_normal((500, 8))
    assert abs(frechet_distance(features, features)) < 1e-6


def test_shifted_gaussians_are_their_squared_mean_shift_apart() -> None:
    rng = np.random.default_rng(0)
    first, second = rng.standard_normal((20_000, 4)), rng.standard_normal((20_000, 4))
    assert abs(frechet_distance(first, second + 2.0) - 16.0) < 0.3


def test_coverage_counts_labels_with_at_least_one_percent_of_samples() -> None:
    assert coverage(np.array([0.5, 0.495, 0.005, 0.0])) == 0.5
    assert coverage(np.full(10, 0.1)) == 1.0


def test_only_the_latest_data_version_s_scorer_is_kept(monkeypatch) -> None:
    monkeypatch.setattr(quality, "_CACHE", {})
    monkeypatch.setattr(quality, "train_scorer", lambda *args: object())
    config = ScoringConfig()

    def scorer(data_key: str) -> object:
        return quality.scorer_for(data_key, {}, {}, 10, config, seed=0)

    first = scorer("v1")
    assert scorer("v1") is first  # trained once per data version
    second = scorer("v2")
    assert second is not first and len(quality._CACHE) == 1
    assert scorer("v1") is not first  # dropped: trained again


def test_reconstruction_rows_are_labelled(tmp_path, monkeypatch) -> None:
    import numpy as np

    import components.families.images.plots as plots

    drawn = []
    save = plots.save_figure
    monkeypatch.setattr(
        plots, "save_figure", lambda figure, *args: drawn.append(figure) or save(figure, *args)
    )
    images = np.random.default_rng(0).random((12, 8, 8))
    plots.plot_reconstructions(images, images, "reconstructions", tmp_path / "r.png")
    (figure,) = drawn
    labels = [text.get_text() for axis in figure.axes for text in axis.texts]
    # 12 images, 10 a row: test images, reconstructions, then the last 2 of each.
    assert labels == ["test image", "reconstructed"] * 2
