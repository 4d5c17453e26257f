"""Hash splits: each item's split follows from a seeded hash of its identity alone.

An item's split depends on nothing but its identity and the seed, so a source that grows
between runs never moves an item it already had: the test split only gains items no earlier
model trained on (TFX's hash buckets). Python's ``hash()`` is salted per process, hence blake2b.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import numpy as np

Identity = str | bytes
_HASH_BYTES = 8  # 64 bits: far finer than any split fraction


def hash_unit(identity: Identity, seed: int) -> float:
    """A number in [0, 1), uniform over identities, fixed by ``identity`` and ``seed`` alone."""
    data = identity.encode("utf-8") if isinstance(identity, str) else bytes(identity)
    # The seed is the hash's key: each seed draws an assignment independent of the others.
    digest = hashlib.blake2b(data, digest_size=_HASH_BYTES, key=str(seed).encode("ascii"))
    return int.from_bytes(digest.digest(), "big") / 2 ** (8 * _HASH_BYTES)


def hash_splits(
    identities: Iterable[Identity],
    fractions: Mapping[str, float],
    seed: int,
    rest: str = "train",
) -> np.ndarray:
    """Each identity's split: ``fractions`` maps held-out split names to their expected share
    of the items; whatever they leave goes to ``rest``.

    The shares are consecutive bands of [0, 1) in the mapping's order, so pass the split that
    matters most first (test): a later band's fraction can then change without moving an item
    of an earlier band. Equal identities share a split.

    Raises:
        ValueError: if a fraction is negative or the fractions add up to 1 or more.
    """
    bad = {name: share for name, share in fractions.items() if not 0 <= share < 1}
    if bad or sum(fractions.values()) >= 1:
        raise ValueError(
            f"split fractions must each be in [0, 1) and leave a share for {rest!r}: "
            f"{dict(fractions)}"
        )
    names = [*fractions, rest]
    upper_bounds = np.cumsum(list(fractions.values()))
    units = np.fromiter((hash_unit(identity, seed) for identity in identities), dtype="float64")
    return np.asarray(names, dtype=object)[np.searchsorted(upper_bounds, units, side="right")]
