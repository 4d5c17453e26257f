"""The image pyfuncs: an autoencoder reconstructs the images it is sent; a generator draws
``num_samples`` images per requested batch from a seed (MLflow inference params)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from components.core.serving import FamilyModel, bad_request, check_work
from components.families.images.sources import pixel_columns

GENERATION_PARAMS = {"num_samples": 16, "seed": 0}  # defaults of the generator's params
MAX_SAMPLES = 10_000  # per batch: a request that large is a typo, not a need
MAX_BATCHES = 64  # rows of one generator request (each up to MAX_SAMPLES images)
MAX_IMAGES = 10_000  # images of one autoencoder request
# Pixels one generator request may draw, over all its batches: 10,000 digits of 8x8, about
# 19 MB of JSON; the answer grows with batches x samples x pixels, so that is what is capped.
MAX_GENERATED_PIXELS = 640_000


class ImageModelWrapper(FamilyModel):
    """An image model (``models.ImageModel``) behind raw pixels; the subclasses say how it
    answers and what their input example is."""

    packages = ("tensorflow-cpu", "keras", "scikit-learn", "scipy")


class AutoencoderModel(ImageModelWrapper):
    """Images in (a table of ``pixel_*`` columns, or an array (n, size, size)), their
    reconstructions out as a table of the same columns."""

    def input_example(self, sample: np.ndarray) -> pd.DataFrame:
        """Test images, as the table a request sends."""
        return image_table(sample)

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        images = check_images(model_input, self.model.image_size)
        return image_table(self.model.reconstruct(images))


class GeneratorModel(ImageModelWrapper):
    """One row per requested batch (column ``batch``, an integer) in; ``num_samples`` images
    per batch out, drawn from ``seed`` and the batch number: the same request, the same
    images."""

    def input_example(self, sample: np.ndarray) -> pd.DataFrame:
        """One batch, whatever the test images: a generator reads none."""
        return pd.DataFrame({"batch": [0]})

    def default_params(self) -> dict[str, Any]:
        return GENERATION_PARAMS

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        count, seed = check_generation(params)
        batches = check_batches(model_input)
        size = self.model.image_size
        check_work(
            len(batches) * count * size * size,
            MAX_GENERATED_PIXELS,
            "pixels",
            f"{len(batches)} batch(es) x {count} samples of {size}x{size}",
            "ask for fewer batches or a smaller num_samples",
        )
        tables = []
        for batch in batches:
            state = int(np.random.SeedSequence([seed, batch]).generate_state(1)[0])
            table = image_table(self.model.sample(count, state))
            table.insert(0, "sample", np.arange(count))
            table.insert(0, "batch", batch)
            tables.append(table)
        return pd.concat(tables, ignore_index=True)


def image_table(images: np.ndarray) -> pd.DataFrame:
    """(n, size, size) images as a table of ``pixel_*`` columns, one row per image."""
    return pd.DataFrame(
        images.reshape(len(images), -1).astype("float64"),
        columns=pixel_columns(images.shape[1]),
    )


def check_images(model_input: Any, size: int) -> np.ndarray:
    """The images of a request as (n, size, size) floats in [0, 1].

    Raises:
        MlflowException: (HTTP 400) if there is no image or more than ``MAX_IMAGES``, or
            shapes, types or ranges are wrong.
    """
    expected = pixel_columns(size)
    if isinstance(model_input, pd.DataFrame):
        missing = [column for column in expected if column not in model_input]
        if missing:
            raise bad_request(
                f"expected {len(expected)} pixel columns pixel_0 ... pixel_{len(expected) - 1} "
                f"({size}x{size} images); missing {missing[:5]}"
                f"{' ...' if len(missing) > 5 else ''}"
            )
        model_input = model_input[expected].to_numpy()
    try:
        values = np.asarray(model_input, dtype="float64")
    except (TypeError, ValueError) as error:
        raise bad_request(f"pixels must be numbers: {error}") from error
    if values.size == 0:
        raise bad_request("no image to reconstruct: send at least one image")
    if values.ndim == 4 and values.shape[-1] == 1:
        values = values[..., 0]
    if values.ndim == 2 and values.shape[1] == size * size:
        values = values.reshape(-1, size, size)
    if values.ndim != 3 or values.shape[1:] != (size, size):
        raise bad_request(
            f"expected images of shape (n, {size}, {size}) or (n, {size * size}); "
            f"got {values.shape}"
        )
    _check_count(len(values), MAX_IMAGES, "images")
    bad = np.flatnonzero(~np.isfinite(values).all(axis=(1, 2)))
    if bad.size:
        raise bad_request(f"image(s) {bad[:10].tolist()} hold missing or infinite pixels")
    outside = np.flatnonzero(((values < 0) | (values > 1)).any(axis=(1, 2)))
    if outside.size:
        low, high = values[outside].min(), values[outside].max()
        raise bad_request(
            f"pixels must lie in [0, 1] (divide 0-255 images by 255); image(s) "
            f"{outside[:10].tolist()} range from {low:g} to {high:g}"
        )
    return values


def check_generation(params: dict[str, Any] | None) -> tuple[int, int]:
    """``num_samples`` and ``seed`` of a request, defaults filled in."""
    settings = GENERATION_PARAMS | dict(params or {})
    count, seed = settings["num_samples"], settings["seed"]
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
        raise bad_request(f"num_samples must be an integer, got {count!r}")
    if not 1 <= count <= MAX_SAMPLES:
        raise bad_request(f"num_samples must be between 1 and {MAX_SAMPLES}, got {count}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise bad_request(f"seed must be a non-negative integer, got {seed!r}")
    return int(count), int(seed)


def check_batches(model_input: Any) -> list[int]:
    """The batch numbers of a request: a table with an integer column ``batch``, at most
    ``MAX_BATCHES`` rows."""
    if not isinstance(model_input, pd.DataFrame) or "batch" not in model_input:
        raise bad_request(
            "expected a table with an integer column 'batch' (one row per batch of images), "
            f"got {type(model_input).__name__}"
        )
    _check_count(len(model_input), MAX_BATCHES, "batches")
    batches = pd.to_numeric(model_input["batch"], errors="coerce")
    if batches.empty or batches.isna().any() or (batches < 0).any() or (batches % 1 != 0).any():
        shown = model_input["batch"].tolist()[:5]
        raise bad_request(f"column 'batch' must hold non-negative integers, got {shown}")
    return [int(batch) for batch in batches]


def _check_count(count: int, limit: int, what: str) -> None:
    # A huge request is refused before the model runs, not computed for minutes.
    if count > limit:
        raise bad_request(f"{count} {what} in one request; at most {limit}")
