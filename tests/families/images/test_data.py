"""Image sources become one validated table: real digits, a user's .npz or PNG folder and
MNIST-format files, resized, scaled to [0, 1] and split (the digits stratified by label, your
images by a hash of their pixels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
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
    assert len(table) == 60 and set(table["label"]) == set(labels)
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


def test_a_growing_npz_keeps_every_image_in_its_split(
    tmp_path: Path, splits_survive_growth
) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    path = tmp_path / "mine.npz"
    dataset = DatasetConfig(name="mine", source="npz", path=path)
    steps = []
    for total in (300, 450, 600):
        # New images arrive at every position, not only at the end.
        order = np.random.default_rng(total).permutation(total)
        np.savez(path, images=digits.images[order] / 16.0, labels=digits.target[order])
        table = load_image_table(dataset)
        pixels = table[pixel_columns(8)].to_numpy()
        identities = [image.tobytes().hex() for image in pixels]
        steps.append(dict(zip(identities, table["split"], strict=True)))
    splits_survive_growth(steps)
    shares = pd.Series(steps[-1]).value_counts(normalize=True)
    assert shares["test"] == pytest.approx(dataset.test_fraction, abs=0.05)
    assert shares["validation"] == pytest.approx(dataset.validation_fraction, abs=0.05)


def test_copies_of_an_image_share_its_split_wherever_they_sit(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    images = load_digits().images[:200] / 16.0
    path = tmp_path / "mine.npz"
    np.savez(path, images=np.concatenate([images, images[::-1]]), labels=np.zeros(400, int))
    table = load_image_table(DatasetConfig(name="mine", source="npz", path=path))
    assert (table["split"].to_numpy()[:200] == table["split"].to_numpy()[:199:-1]).all()


def test_the_packaged_digits_keep_their_stratified_split(digits) -> None:
    counts = digits.groupby(["split", "label"]).size().unstack()
    assert counts.sum(axis=1).to_dict() == {"test": 360, "train": 1257, "validation": 180}
    test_share = counts.loc["test"] / counts.sum()
    assert test_share.between(0.19, 0.21).all()  # every label's share: stratified, not hashed
