"""Bad sentence-pair files a user may write, each with the message that must stop it at reading
or at the suite (the cases of the bad-input test over every family, in
tests/test_every_family.py)."""

from __future__ import annotations

from pathlib import Path

FILE = "pairs.txt"  # an Anki/Tatoeba file, beside the config
CONFIG = """\
tasks:
  pairs: {source: tab_file, path: pairs.txt, validation_fraction: 0.2, test_fraction: 0.2,
          vectorizer: {level: word, source_length: 8, target_length: 8}}
models: [{name: luong_attention}]
profiles: {quick: {}}
"""
FIXTURE = Path(__file__).parent / "fixtures" / "spa-tiny.txt"


def good(path: Path) -> None:
    path.write_bytes(FIXTURE.read_bytes())


def too_long(path: Path) -> None:
    long = "I would like to order a pot of tea and two scones, please."
    path.write_text(FIXTURE.read_text(encoding="utf-8") + f"{long}\tUn té, por favor.\n")


READING = {  # stopped at reading: name -> (what is at FILE, the message)
    "missing": (None, r"no such file"),
    "empty file": ("\n", r"pairs\.txt: 0 distinct source sentence\(s\)"),
    "malformed lines": (
        b"Go.\tVe.\nHi.\nRun!\t\n",
        r"line\(s\) \[2, 3\] are not source<TAB>target",
    ),
    "too few": (b"Go.\tVe.\nHi.\tHola.\n", r"2 distinct source sentence\(s\)"),
    "wrong encoding": ("Go.\tVé.\nHi.\tHola.\nRun!\tCorre.\n".encode("latin-1"), r"not utf-8 text"),
}

SUITE = {  # read, then stopped by the suite
    "too long": (too_long, r"between on column 'source_tokens': 1 unexpected value\(s\)"),
}
