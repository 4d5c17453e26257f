"""Image sources: packaged digits, a user's PNG folder or .npz file, local MNIST files."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from components.core.errors import UserError
from components.core.splits import hash_splits
from components.families.images.config import DatasetConfig

SPLITS = ("train", "validation", "test")
MNIST_FILES = {  # split of the files -> (images, labels); both are pooled, then split again
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "t10k": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
PIXEL_DECIMALS = 5  # a byte-stable CSV keeps the DVC hash of unchanged images


class LoadedImages(NamedTuple):
    """What a source yields: images (n, height, width) in [0, 1], their label names, and each
    image's identity (``pixel_identity`` of the image as read, before any resizing)."""

    images: np.ndarray
    labels: list[str]
    identities: list[bytes]


def pixel_identity(image: np.ndarray) -> bytes:
    """An image's identity for its hash split: its shape and its pixels as read.

    The content, not a file name: identical images share a split (a copy cannot leak from
    training into test), renaming or moving files keeps their split, and npz or IDX files
    have no per-image name at all. An image whose pixels change is a new image.
    """
    pixels = np.ascontiguousarray(image, dtype="float64")
    return np.asarray(pixels.shape, dtype="int64").tobytes() + pixels.tobytes()


def _with_identities(images: np.ndarray, labels: list[str]) -> LoadedImages:
    return LoadedImages(images, labels, [pixel_identity(image) for image in images])


def pixel_columns(image_size: int) -> list[str]:
    """The raw table's pixel columns, row-major."""
    return [f"pixel_{index}" for index in range(image_size * image_size)]


def load_image_table(dataset: DatasetConfig) -> pd.DataFrame:
    """The dataset's images as one table: ``image, label, split, pixel_0, ...`` with pixels
    in [0, 1] at ``image_size`` x ``image_size``, split as ``split_images`` says.

    Raises:
        UserError: if a file is missing or unreadable, or its labels or shapes do not fit.
    """
    loaded = LOADERS[dataset.source](dataset)
    unknown = sorted(set(loaded.labels) - set(dataset.labels))
    if unknown:
        raise UserError(
            f"{dataset.path or dataset.source}: labels {unknown[:10]} are not in the "
            f"config's dataset.labels {dataset.labels}"
        )
    kept = _subsample(np.asarray(loaded.labels), dataset)
    images, labels = loaded.images[kept], np.asarray(loaded.labels)[kept]
    resized = resize(images, dataset.image_size)
    table = pd.DataFrame(
        resized.reshape(len(resized), -1).round(PIXEL_DECIMALS),
        columns=pixel_columns(dataset.image_size),
    )
    identities = [loaded.identities[position] for position in kept]
    table.insert(0, "split", split_images(labels, identities, dataset))
    table.insert(0, "label", labels)
    table.insert(0, "image", [f"{dataset.name}-{index:05d}" for index in range(len(labels))])
    return table


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """Images (n, height, width) in [0, 1] resized to (n, size, size); shrinking averages
    pixel areas, so thin strokes survive."""
    if images.shape[1:] == (size, size):
        return images.astype("float64")
    from PIL import Image

    def one(image: np.ndarray) -> np.ndarray:
        method = Image.Resampling.BOX if image.shape[0] > size else Image.Resampling.BILINEAR
        picture = Image.fromarray(image.astype("float32"), mode="F")
        return np.asarray(picture.resize((size, size), method), dtype="float64")

    # Values outside [0, 1] stay as they are: the suite reports them.
    return np.stack([one(image) for image in images]) if len(images) else images


def split_images(labels: np.ndarray, identities: list[bytes], dataset: DatasetConfig) -> np.ndarray:
    """train / validation / test per image. The packaged digits keep their documented split,
    stratified by label (seeded); a user's images, which may grow between runs, go by a seeded
    hash of their identity, so images added later never move the ones already there."""
    if dataset.source in PACKAGED_SOURCES:
        return stratified_split(labels, dataset)
    fractions = {"test": dataset.test_fraction, "validation": dataset.validation_fraction}
    return hash_splits(identities, fractions, dataset.split_seed)


def stratified_split(labels: np.ndarray, dataset: DatasetConfig) -> np.ndarray:
    """train / validation / test per image, stratified by label, seeded."""
    from sklearn.model_selection import train_test_split

    positions = np.arange(len(labels))
    try:
        rest, test = train_test_split(
            positions,
            test_size=dataset.test_fraction,
            stratify=labels,
            random_state=dataset.split_seed,
        )
        share = dataset.validation_fraction / (1 - dataset.test_fraction)
        train, validation = train_test_split(
            rest, test_size=share, stratify=labels[rest], random_state=dataset.split_seed
        )
    except ValueError as error:  # too few images of a label to stratify
        raise UserError(
            f"{dataset.path or dataset.source}: cannot split {len(labels)} images by label "
            f"({error}); every label needs several images"
        ) from error
    split = np.empty(len(labels), dtype=object)
    split[train], split[validation], split[test] = SPLITS
    return split


def _subsample(labels: np.ndarray, dataset: DatasetConfig) -> np.ndarray:
    """Positions of the images kept: all, or a stratified, seeded ``max_images``."""
    if dataset.max_images is None or len(labels) <= dataset.max_images:
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    kept, _ = train_test_split(
        np.arange(len(labels)),
        train_size=dataset.max_images,
        stratify=labels,
        random_state=dataset.split_seed,
    )
    return np.sort(kept)


def load_digits_images(dataset: DatasetConfig) -> LoadedImages:
    """scikit-learn's 1,797 handwritten digits, 8x8, pixel values 0-16 scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    labels = [dataset.labels[int(target)] for target in digits.target]
    return _with_identities(digits.images / 16.0, labels)


def load_npz_images(dataset: DatasetConfig) -> LoadedImages:
    """Arrays ``images`` (n, height, width[, 1]; uint8 0-255 or floats in [0, 1]) and
    ``labels`` (n; label names or positions in ``dataset.labels``)."""
    path = _existing(dataset.path)
    try:
        with np.load(path, allow_pickle=False) as arrays:
            missing = sorted({"images", "labels"} - set(arrays.files))
            if missing:
                raise UserError(f"{path}: missing array(s) {missing}; found {sorted(arrays.files)}")
            images, labels = arrays["images"], arrays["labels"]
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: not a readable .npz file ({error})") from error
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise UserError(
            f"{path}: images must be square grayscale, shape (n, size, size[, 1]); "
            f"got {images.shape}"
        )
    if len(labels) != len(images):
        raise UserError(f"{path}: {len(images)} images but {len(labels)} labels")
    return _with_identities(_unit_scale(images), _label_names(labels, dataset, path))


def load_png_folder(dataset: DatasetConfig) -> LoadedImages:
    """``<path>/<label>/*.png``: grayscale PNGs (colour is converted), one folder per label,
    resized to the largest image size found."""
    from PIL import Image, UnidentifiedImageError

    root = _existing(dataset.path)
    files = sorted(root.glob("*/*.png"))
    if not files:
        raise UserError(f"{root}: no PNG files in label subfolders (<path>/<label>/*.png)")
    pictures, labels = [], []
    for file in files:
        try:
            with Image.open(file) as picture:
                pictures.append(np.asarray(picture.convert("L"), dtype="float64") / 255.0)
        except (OSError, UnidentifiedImageError) as error:
            raise UserError(f"{file}: not a readable PNG ({error})") from error
        labels.append(file.parent.name)
    side = max(max(picture.shape) for picture in pictures)
    # Identities before resizing: a larger image added later changes the common side.
    identities = [pixel_identity(picture) for picture in pictures]
    return LoadedImages(resize_each(pictures, side), labels, identities)


def resize_each(pictures: list[np.ndarray], side: int) -> np.ndarray:
    """Pictures of any sizes as one (n, side, side) array."""
    return np.concatenate([resize(picture[None], side) for picture in pictures])


def load_mnist_files(dataset: DatasetConfig) -> LoadedImages:
    """MNIST or Fashion-MNIST from the IDX files of a local folder (never downloaded): the
    training and test files pooled, then split like every source."""
    root = _existing(dataset.path)
    images, labels = [], []
    for image_file, label_file in MNIST_FILES.values():
        if (root / image_file).exists():
            images.append(_read_idx(root / image_file, 3))
            labels.append(_read_idx(root / label_file, 1))
    if not images:
        expected = [name for pair in MNIST_FILES.values() for name in pair]
        raise UserError(f"{root}: no {dataset.source} IDX files; expected {expected}")
    images_array, labels_array = np.concatenate(images), np.concatenate(labels)
    if len(images_array) != len(labels_array):
        raise UserError(f"{root}: {len(images_array)} images but {len(labels_array)} labels")
    return _with_identities(_unit_scale(images_array), _label_names(labels_array, dataset, root))


def _read_idx(path: Path, dimensions: int) -> np.ndarray:
    """An IDX file of unsigned bytes (the MNIST format), gzipped."""
    if not path.exists():
        raise UserError(f"{path}: file not found")
    try:
        content = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as error:
        raise UserError(f"{path}: not a gzipped IDX file ({error})") from error
    magic = int.from_bytes(content[:4], "big")
    if magic != 0x0800 + dimensions:
        raise UserError(f"{path}: not an IDX file of {dimensions}-d unsigned bytes")
    shape = [int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions)]
    data = np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * dimensions)
    if data.size != int(np.prod(shape)):
        raise UserError(f"{path}: header says {shape}, file holds {data.size} values")
    return data.reshape(shape)


def _unit_scale(images: np.ndarray) -> np.ndarray:
    """Bytes 0-255 as [0, 1]; floats are taken as they are (the suite checks the range)."""
    if images.dtype == np.uint8:
        return images.astype("float64") / 255.0
    return images.astype("float64")


def _label_names(labels: np.ndarray, dataset: DatasetConfig, where: Path) -> list[str]:
    """Label names from names or from positions in ``dataset.labels``."""
    if labels.dtype.kind in "iu":
        outside = sorted({int(value) for value in labels} - set(range(len(dataset.labels))))
        if outside:
            raise UserError(
                f"{where}: label positions {outside[:10]} fall outside dataset.labels "
                f"({len(dataset.labels)} names)"
            )
        return [dataset.labels[int(value)] for value in labels]
    return [str(value) for value in labels]


def _existing(path: Path | None) -> Path:
    if path is None or not Path(path).exists():
        raise UserError(f"{path}: not found; set dataset.path to your images")
    return Path(path)


PACKAGED_SOURCES = {"digits"}  # shipped data that never grows: its documented split stays
LOADERS: dict[str, Callable[[DatasetConfig], LoadedImages]] = {
    "digits": load_digits_images,
    "npz": load_npz_images,
    "png_folder": load_png_folder,
    "mnist": load_mnist_files,
    "fashion_mnist": load_mnist_files,
}
