"""Errors of the user's making: bad config, missing or unreadable files, data that fails checks.

Shown as a few lines (what, where, what to do) without a traceback, and never retried: running
again cannot fix them. Anything else is a fault of ours or of the machine.
"""

from __future__ import annotations


class UserError(ValueError):
    """A problem with the user's config or data; the message says what, where, what to do."""


def is_user_error(error: object) -> bool:
    """Whether ``error`` is the user's to fix: ours (``UserError``) or a config that fails
    pydantic's validation. The one rule of the CLI's exit codes and of the flows' retries: a
    user's error exits 2 and is never retried; anything else is a bug or a fault of the machine.
    """
    from pydantic import ValidationError  # imported here: the command line starts without it

    return isinstance(error, (UserError, ValidationError))
