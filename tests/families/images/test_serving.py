"""Registered image models through MLflow: a generator draws the same images from the same
seed and as many as asked (inference params); an autoencoder reconstructs the images it gets
and answers 400 to images it cannot read."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from components.core.contract import Task
from components.families.images.config import ImagesConfig
from components.families.images.family import ImagesFamily
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
