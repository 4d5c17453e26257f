"""Bad images stop at reading, at the suite or at the server, with a message that names what
is wrong and where."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, ErrorCode

from components.core.contract import Task
from components.core.errors import UserError
from components.families.images.config import DatasetConfig, ImagesConfig
from components.families.images.family import ImagesFamily
from components.families.images.serving import (
    MAX_BATCHES,
    MAX_IMAGES,
    check_batches,
    check_generation,
    check_images,
)
from components.families.images.sources import load_image_table
from components.families.images.suite import validate_image_table

SMALL = DatasetConfig(max_images=100)


@pytest.fixture(scope="module")
def table():
    return load_image_table(SMALL)


def failures(frame) -> str:
    report = validate_image_table(frame, SMALL, "digits")
    assert not report.success
    return "\n".join(str(failure) for failure in report.failures)


def test_pixels_outside_the_unit_range_fail_the_suite(table) -> None:
    assert "highest_pixel" in failures(table.assign(pixel_5=table["pixel_5"] * 16))


def test_a_missing_pixel_column_or_value_fails_the_suite(table) -> None:
    assert "pixel_columns_found" in failures(table.drop(columns="pixel_63"))
    assert "missing_pixels" in failures(table.assign(pixel_0=np.nan))


def test_unknown_labels_and_missing_splits_fail_the_suite(table) -> None:
    assert "'seven'" in failures(table.assign(label=table["label"].replace("7", "seven")))
    assert "on column 'split'" in failures(table.assign(split="train"))


def test_a_blank_image_fails_the_suite(table) -> None:
    blank = table.copy()
    blank.loc[3, [f"pixel_{index}" for index in range(64)]] = 0.0
    assert "pixel_contrast" in failures(blank)


def write_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"images": np.zeros((4, 8, 8))}, "missing array(s) ['labels']"),
        ({"images": np.zeros((4, 8, 6)), "labels": np.zeros(4, int)}, "square grayscale"),
        ({"images": np.zeros((4, 8, 8)), "labels": np.zeros(3, int)}, "4 images but 3 labels"),
        ({"images": np.zeros((4, 8, 8)), "labels": np.full(4, 12)}, "positions [12]"),
    ],
)
def test_a_bad_npz_file_is_named_with_its_problem(tmp_path: Path, arrays, message: str) -> None:
    path = write_npz(tmp_path / "mine.npz", **arrays)
    with pytest.raises(UserError, match=r"mine\.npz") as error:
        load_image_table(DatasetConfig(source="npz", path=path))
    assert message in str(error.value)


@pytest.mark.parametrize("source", ["npz", "png_folder", "mnist"])
def test_a_missing_or_empty_source_says_where_it_looked(tmp_path: Path, source: str) -> None:
    path = tmp_path / ("absent.npz" if source == "npz" else "")
    with pytest.raises(UserError, match=str(tmp_path)):
        load_image_table(DatasetConfig(source=source, path=path))


def test_unknown_models_and_sizes_their_layers_cannot_halve_are_found_before_training() -> None:
    family = ImagesFamily()
    config = ImagesConfig.model_validate({"models": [{"name": "gan"}]})
    with pytest.raises(ValueError, match=r"valid names: .*'dcgan'"):
        family.check(config, config.runs())
    models = [{"name": name} for name in ("conv_ae", "dcgan", "ddpm", "linear_ae")]
    unfit = {}
    for size in (10, 9):
        config = ImagesConfig.model_validate({"dataset": {"image_size": size}, "models": models})
        prepared = type("Sized", (), {"dataset": config.dataset})()
        unfit[size] = family.unfit_runs(prepared, config.runs())
    # The U-Net halves once: an even size suits it, where the models halving twice need 4.
    assert sorted(unfit[10]) == ["conv_ae", "dcgan"]
    assert "halve the image twice: image_size 10 must divide by 4" in unfit[10]["dcgan"]
    assert sorted(unfit[9]) == ["conv_ae", "dcgan", "ddpm"]
    assert "halve the image once: image_size 9 must divide by 2 (e.g. 4, 6, 14)" in unfit[9]["ddpm"]


def test_the_unet_reads_an_even_size_that_does_not_divide_by_4() -> None:
    from components.families.images.config import DiffusionConfig, ImageArchitecture
    from components.families.images.networks import build_unet

    unet = build_unet(ImageArchitecture(filters=2), DiffusionConfig(time_dim=4), 10)
    noise = unet.predict_on_batch([np.zeros((1, 10, 10, 1)), np.zeros((1, 1))])
    assert noise.shape == (1, 10, 10, 1)


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


def test_labels_that_look_like_missing_values_are_read_as_labels(tmp_path: Path) -> None:
    path = tmp_path / "images.csv"
    path.write_text("image,label,split,pixel_0\na,NA,train,0.5\nb,None,test,\nc,null,train,0.25\n")
    config = ImagesConfig.model_validate({"models": [{"name": "linear_ae"}]})
    frame = ImagesFamily().read_raw(path, Task(config, "digits"))
    assert frame["label"].tolist() == ["NA", "None", "null"]
    assert frame["pixel_0"].isna().tolist() == [False, True, False]  # an empty pixel is missing
