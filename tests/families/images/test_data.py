"""Image sources become one validated table: real digits, a user's .npz or PNG folder and
MNIST-format files, resized, scaled to [0, 1] and split stratified by label."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from components.core.contract import Task
from components.families.images.config import DatasetConfig, ImagesConfig
from components.families.images.family import ImagesFamily
from components.families.images.sources import load_image_table, pixel_columns
from components.families.images.suite import validate_image_table

FIXTURES = Path(__file__).parent / "fixtures"
STROKES = ["vertical", "horizontal", "diagonal"]
SMALL = DatasetConfig(max_images=100)


@pytest.fixture(scope="module")
def digits():
    return load_image_table(DatasetConfig())


def test_the_digits_are_scaled_split_by_label_and_byte_stable(digits) -> None:
    assert len(digits) == 1797
    pixels = digits[pixel_columns(8)].to_numpy()
    assert pixels.min() == 0.0 and pixels.max() == 1.0
    shares = digits.groupby("split").size() / len(digits)
    assert shares.round(2).to_dict() == {"test": 0.2, "train": 0.7, "validation": 0.1}
    assert (digits.groupby("split")["label"].nunique() == 10).all()
    again = load_image_table(DatasetConfig())
    assert again.to_csv(index=False) == digits.to_csv(index=False)


def test_the_digits_pass_the_suite(digits) -> None:
    report = validate_image_table(digits, DatasetConfig(), "digits")
    assert report.success, report.failures


@pytest.mark.parametrize(
    ("source", "path", "labels"),
    [
        ("npz", "strokes.npz", ["0", "1", "2"]),
        ("png_folder", "strokes_png", STROKES),
        ("mnist", "mnist", ["0", "1", "2"]),
        ("fashion_mnist", "mnist", ["t-shirt", "trouser", "pullover"]),
    ],
)
def test_users_images_are_resized_and_validated_like_the_digits(
    source: str, path: str, labels: list[str]
) -> None:
    dataset = DatasetConfig(
        source=source, path=FIXTURES / path, labels=labels, validation_fraction=0.2
    )
    table = load_image_table(dataset)
    assert len(table) == 30 and set(table["label"]) == set(labels)
    pixels = table[pixel_columns(8)].to_numpy()
    assert pixels.min() >= 0.0 and pixels.max() <= 1.0 and pixels.max() > 0.2
    report = validate_image_table(table, dataset, source)
    assert report.success, report.failures


def test_a_subsample_keeps_every_label(digits) -> None:
    table = load_image_table(DatasetConfig(max_images=200))
    assert len(table) == 200
    assert set(table["label"]) == set(digits["label"])
    assert np.isin(table["image"].str[-5:].astype(int), range(200)).all()


@pytest.fixture(scope="module")
def small():
    return load_image_table(SMALL)


def failures(frame) -> str:
    report = validate_image_table(frame, SMALL, "digits")
    assert not report.success
    return "\n".join(str(failure) for failure in report.failures)


# Tables no user's file can give (the reader writes the pixel columns, known labels and the
# split): the suite still names them. Bad files are cases of the bad-input test over every family.
def test_a_missing_pixel_column_fails_the_suite(small) -> None:
    assert "pixel_columns_found" in failures(small.drop(columns="pixel_63"))


def test_unknown_labels_and_missing_splits_fail_the_suite(small) -> None:
    assert "'seven'" in failures(small.assign(label=small["label"].replace("7", "seven")))
    assert "on column 'split'" in failures(small.assign(split="train"))


def test_labels_that_look_like_missing_values_are_read_as_labels(tmp_path: Path) -> None:
    path = tmp_path / "images.csv"
    path.write_text("image,label,split,pixel_0\na,NA,train,0.5\nb,None,test,\nc,null,train,0.25\n")
    config = ImagesConfig.model_validate({"models": [{"name": "linear_ae"}]})
    frame = ImagesFamily().read_raw(path, Task(config, "digits"))
    assert frame["label"].tolist() == ["NA", "None", "null"]
    assert frame["pixel_0"].isna().tolist() == [False, True, False]  # an empty pixel is missing
