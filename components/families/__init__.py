"""The registry of model families: the one place a family is listed.

The CLI, the flow, deployments, leaderboards, benchmarks and the parametrized tests all read
this mapping. Entries name a ``Family`` subclass as ``module:Class`` so that listing the
families imports no framework.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, cast

from components.core.errors import UserError

if TYPE_CHECKING:
    from components.core.contract import AnyFamily

FAMILIES: dict[str, str] = {
    "forecasting": "components.families.forecasting.family:ForecastingFamily",
    "textclf": "components.families.textclf.family:TextclfFamily",
    "translation": "components.families.translation.family:TranslationFamily",
    "images": "components.families.images.family:ImagesFamily",
    "chargen": "components.families.chargen.family:ChargenFamily",
}


def family_names() -> list[str]:
    """Every registered family, in registry order."""
    return list(FAMILIES)


@cache
def get_family(name: str) -> AnyFamily:
    """The family registered under ``name``.

    Raises:
        UserError: if no family has that name (the message lists the valid names).
    """
    if name not in FAMILIES:
        raise UserError(f"unknown family {name!r}; valid families: {family_names()}")
    module, _, attribute = FAMILIES[name].partition(":")
    return cast("AnyFamily", getattr(import_module(module), attribute)())
