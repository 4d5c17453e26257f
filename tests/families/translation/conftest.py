"""Fixtures of the translation tests: the family's tiny setup, as tests over every family use it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def tiny() -> ModuleType:
    """``tiny.py`` of this folder (test folders are not packages)."""
    spec = importlib.util.spec_from_file_location(
        "translation_tiny", Path(__file__).with_name("tiny.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
