"""Bad image files a user may write, each with the message that must stop it at reading or at
the suite (the cases of the bad-input test over every family, in tests/test_every_family.py).

A case returns the changes its source needs in the config (a PNG or MNIST folder)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

FILE = "mine.npz"  # arrays ``images`` and ``labels``, beside the config
CONFIG = """\
dataset: {name: mine, source: npz, path: mine.npz}
models: [{name: linear_ae}]
profiles: {quick: {}}
"""
GOOD_IMAGES = 300  # scikit-learn's first digits: the hash split puts every label in every split


def digits() -> tuple[np.ndarray, np.ndarray]:
    """Images in [0, 1] and their labels as positions in the config's labels."""
    from sklearn.datasets import load_digits

    loaded = load_digits()
    return loaded.images[:GOOD_IMAGES] / 16.0, loaded.target[:GOOD_IMAGES]


def good(path: Path) -> None:
    images, labels = digits()
    np.savez(path, images=images, labels=labels)


def with_pixel(value: float) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        images, labels = digits()
        images[3, 2, 5] = value
        np.savez(path, images=images, labels=labels)

    return write


def blank_image(path: Path) -> None:
    images, labels = digits()
    images[3] = 0.0
    np.savez(path, images=images, labels=labels)


def unknown_label(path: Path) -> None:
    images, labels = digits()
    names = labels.astype(str)
    names[names == "7"] = "seven"
    np.savez(path, images=images, labels=names)


def arrays(**written: np.ndarray) -> Callable[[Path], None]:
    return lambda path: np.savez(path, **written)


def empty_folder(source: str) -> Callable[[Path], dict]:
    def write(path: Path) -> dict:
        (path.parent / source).mkdir()
        return {"dataset": {"source": source, "path": source}}

    return write


READING = {  # stopped at reading: name -> (what is at FILE, the message)
    "missing npz": (None, r"mine\.npz: not found; set dataset\.path"),
    "empty PNG folder": (empty_folder("png_folder"), r"png_folder: no PNG files"),
    "empty MNIST folder": (empty_folder("mnist"), r"mnist: no mnist IDX files"),
    "npz without labels": (
        arrays(images=np.zeros((4, 8, 8))),
        r"mine\.npz: missing array\(s\) \['labels'\]",
    ),
    "not square": (
        arrays(images=np.zeros((4, 8, 6)), labels=np.zeros(4, int)),
        r"mine\.npz: .*square grayscale",
    ),
    "fewer labels": (
        arrays(images=np.zeros((4, 8, 8)), labels=np.zeros(3, int)),
        r"mine\.npz: 4 images but 3 labels",
    ),
    "label outside": (
        arrays(images=np.zeros((4, 8, 8)), labels=np.full(4, 12)),
        r"mine\.npz: .*positions \[12\]",
    ),
    "unknown labels": (unknown_label, r"mine\.npz: labels \['seven'\] are not in"),
}

SUITE = {  # read, then stopped by the suite
    "out of range": (with_pixel(16.0), r"highest_pixel"),
    "missing pixel": (with_pixel(np.nan), r"missing_pixels"),
    "blank image": (blank_image, r"pixel_contrast"),
}
