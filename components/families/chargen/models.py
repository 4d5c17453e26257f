"""The character models a config may name: the recurrent networks of ``networks.BUILDERS``
and the n-gram baseline."""

from __future__ import annotations

from components.families.chargen.ngram import WittenBellModel

BASELINE = WittenBellModel.kind
