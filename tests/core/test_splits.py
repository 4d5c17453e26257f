"""Hash splits: an item's split follows from its identity and the seed alone."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from components.core.splits import hash_splits, hash_unit

FRACTIONS = {"test": 0.2, "validation": 0.1}
IDENTITIES = [f"item-{number}" for number in range(10_000)]


def assignment(identities: list[str], seed: int = 42) -> dict[str, str]:
    return dict(zip(identities, hash_splits(identities, FRACTIONS, seed), strict=True))


def test_an_items_split_ignores_the_order_and_the_other_items() -> None:
    everything = assignment(IDENTITIES)
    shuffled = list(np.random.default_rng(7).permutation(IDENTITIES))
    assert assignment(shuffled) == everything
    some = IDENTITIES[::7]
    assert assignment(some) == {item: everything[item] for item in some}
    among_others = assignment(["an item never seen", *IDENTITIES[::3], *some])
    assert all(among_others[item] == everything[item] for item in some)


def test_the_split_is_the_same_in_another_process() -> None:
    # Python's own hash() would differ here: it is salted per process.
    program = (
        "from components.core.splits import hash_splits; "
        f"print(''.join(s[0] for s in hash_splits({IDENTITIES[:500]!r}, {FRACTIONS!r}, 42)))"
    )
    elsewhere = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PYTHONPATH": ":".join(sys.path)},
    ).stdout.strip()
    assert elsewhere == "".join(split[0] for split in hash_splits(IDENTITIES[:500], FRACTIONS, 42))


def test_the_fractions_are_roughly_respected_and_seeds_draw_apart() -> None:
    splits = hash_splits(IDENTITIES, FRACTIONS, 42)
    shares = {name: float(np.mean(splits == name)) for name in ("test", "validation", "train")}
    assert shares == pytest.approx({"test": 0.2, "validation": 0.1, "train": 0.7}, abs=0.015)
    other_seed = hash_splits(IDENTITIES, FRACTIONS, 7)
    assert 0.4 < np.mean(splits == other_seed) < 0.7  # independent draws agree about 54 %


def test_strings_and_their_utf8_bytes_are_one_identity_and_units_stay_below_one() -> None:
    assert hash_unit("café", 3) == hash_unit("café".encode(), 3)
    units = [hash_unit(identity, 1) for identity in IDENTITIES]
    assert min(units) >= 0 and max(units) < 1
    assert hash_unit("café", 3) != hash_unit("café", 4)


def test_a_wider_later_band_moves_no_item_of_an_earlier_one() -> None:
    wider = hash_splits(IDENTITIES, {"test": 0.2, "validation": 0.3}, 42)
    before = hash_splits(IDENTITIES, FRACTIONS, 42)
    assert ((before == "test") == (wider == "test")).all()
    assert hash_splits([], FRACTIONS, 42).tolist() == []


@pytest.mark.parametrize("fractions", [{"test": -0.1}, {"test": 0.6, "validation": 0.4}])
def test_fractions_that_leave_nothing_to_train_on_are_refused(fractions) -> None:
    with pytest.raises(ValueError, match="leave a share for 'train'"):
        hash_splits(IDENTITIES[:3], fractions, 42)
