"""Registered image models through MLflow: a generator draws the same images from the same
seed and as many as asked (inference params); an autoencoder reconstructs the images it gets
and answers 400 to images it cannot read."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, ErrorCode

from components.core.contract import Task
from components.families.images.config import ImagesConfig
from components.families.images.family import ImagesFamily
from components.families.images.serving import (
    MAX_BATCHES,
    MAX_IMAGES,
    check_batches,
    check_generation,
    check_images,
)
from components.families.images.sources import load_image_table, pixel_columns

CONFIG = ImagesConfig.model_validate(
    {"dataset": {"max_images": 200}, "models": [{"name": "pca_gaussian"}]}
)


@pytest.fixture(scope="module")
def prepared():
    from components.core.versioning import DataVersion

    family = ImagesFamily()
    table = load_image_table(CONFIG.dataset)
    return family.prepare(table, Task(CONFIG, "digits"), DataVersion("d", "m", "p"))


def logged(prepared, name: str):
    family = ImagesFamily()
    run = CONFIG.resolve({"name": name})
    fitted = family.fit(prepared, run, None, [])
    with mlflow.start_run():
        return mlflow.pyfunc.load_model(family.log_model(prepared, fitted).uri)


def test_batches_times_samples_over_the_pixel_budget_is_a_400(mlflow_store, prepared) -> None:
    from components.families.images.serving import MAX_GENERATED_PIXELS

    generator = logged(prepared, "pca_gaussian")
    batches = pd.DataFrame({"batch": range(8)})
    with pytest.raises(MlflowException, match="8 batch\\(es\\) x 10000 samples of 8x8") as raised:
        generator.predict(batches, params={"num_samples": 10_000})
    assert f"at most {MAX_GENERATED_PIXELS:,}" in raised.value.message
    assert len(generator.predict(batches.iloc[:1], params={"num_samples": 10_000})) == 10_000


def test_the_generator_draws_the_same_images_from_the_same_seed(mlflow_store, prepared) -> None:
    model = logged(prepared, "pca_gaussian")
    schema = model.metadata.get_params_schema().params
    assert {param.name: param.default for param in schema} == {"num_samples": 16, "seed": 0}
    request = pd.DataFrame({"batch": [0, 1]})
    first = model.predict(request, params={"num_samples": 5, "seed": 7})
    again = model.predict(request, params={"num_samples": 5, "seed": 7})
    other = model.predict(request, params={"num_samples": 5, "seed": 8})
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 10 and first["batch"].tolist() == [0] * 5 + [1] * 5
    pixels = first[pixel_columns(8)]
    assert not np.allclose(pixels, other[pixel_columns(8)])
    assert not np.allclose(pixels[first["batch"] == 0], pixels[first["batch"] == 1])
    assert pixels.to_numpy().min() >= 0 and pixels.to_numpy().max() <= 1
    assert len(model.predict(request.iloc[:1])) == 16  # the default num_samples


def test_the_autoencoder_reconstructs_and_rejects_bad_images(mlflow_store, prepared) -> None:
    model = logged(prepared, "pca_reconstruction")
    test = pd.DataFrame(prepared.images["test"].reshape(-1, 64), columns=pixel_columns(8))
    reconstructed = model.predict(test.astype("float64"))
    error = np.mean((reconstructed.to_numpy() - test.to_numpy()) ** 2)
    assert reconstructed.shape == test.shape and error < 0.03
    with pytest.raises(MlflowException, match=r"pixels must lie in \[0, 1\]"):
        model.predict(test.astype("float64") * 255)


def rejected(call, *args) -> str:
    with pytest.raises(MlflowException) as error:
        call(*args)
    assert error.value.error_code == ErrorCode.Name(INVALID_PARAMETER_VALUE)  # HTTP 400
    return error.value.message


def test_the_autoencoder_server_rejects_wrong_shapes_ranges_and_values() -> None:
    assert "(n, 8, 8)" in rejected(check_images, np.zeros((2, 7, 7)), 8)
    bytes_ = np.arange(128, dtype="float64").reshape(2, 8, 8) * 2
    assert "image(s) [0, 1] range from 0 to 254" in rejected(check_images, bytes_, 8)
    assert "missing or infinite" in rejected(check_images, np.full((1, 64), np.nan), 8)
    assert "no image" in rejected(check_images, np.zeros((0, 64)), 8)
    assert "missing ['pixel_0'" in rejected(check_images, pd.DataFrame({"x": [1]}), 8)


def test_the_generator_server_rejects_bad_params_and_batches() -> None:
    assert "between 1 and" in rejected(check_generation, {"num_samples": 0})
    assert "integer" in rejected(check_generation, {"num_samples": "many"})
    assert "seed" in rejected(check_generation, {"seed": -1})
    assert "column 'batch'" in rejected(check_batches, pd.DataFrame({"seed": [1]}))
    assert "non-negative integers" in rejected(check_batches, pd.DataFrame({"batch": [0.5]}))


def test_too_many_images_or_batches_in_one_request_are_refused() -> None:
    many = np.zeros((MAX_IMAGES + 1, 64))
    assert f"{MAX_IMAGES + 1} images in one request; at most {MAX_IMAGES}" in rejected(
        check_images, many, 8
    )
    assert len(check_images(np.full((MAX_IMAGES, 64), 0.5), 8)) == MAX_IMAGES
    batches = pd.DataFrame({"batch": range(MAX_BATCHES + 1)})
    assert f"at most {MAX_BATCHES}" in rejected(check_batches, batches)
    assert check_batches(batches.iloc[:MAX_BATCHES]) == list(range(MAX_BATCHES))
