"""Errors of the user's making: bad config, missing or unreadable files, data that fails checks.

Shown as a few lines (what, where, what to do) without a traceback, and never retried: running
again cannot fix them. Anything else is a fault of ours or of the machine.
"""

from __future__ import annotations


class UserError(ValueError):
    """A problem with the user's config or data; the message says what, where, what to do."""
