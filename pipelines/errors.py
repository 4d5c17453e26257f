"""How the command line reports the user's errors: a few lines, the traceback only on request."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from components.core.config import field_errors
from components.core.errors import UserError, is_user_error


def describe(error: BaseException, config: Path | None = None) -> str:
    """What went wrong and where, in a few lines; pydantic's reports become one line per field."""
    where = f"{config}: " if config and str(config) not in str(error) else ""  # named once
    if isinstance(error, ValidationError):
        return f"{where}invalid config:\n" + "\n".join(field_errors(error))
    return f"{where}{error}"


@contextmanager
def located_at(config: Path | None) -> Iterator[None]:
    """User errors raised inside name ``config``, the file they concern, before the rest."""
    try:
        yield
    except Exception as error:
        if config is None or not is_user_error(error):
            raise
        raise UserError(describe(error, config)) from error


class HideUserErrorTracebacks(logging.Filter):
    """Keeps the message of a log record about a user's error and drops its traceback: the
    error says what and where; the stack of our code says nothing more to its user."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if is_user_error(error):
            record.exc_info = None
            record.exc_text = None
        return True


def hide_user_error_tracebacks() -> None:
    """Install the filter on every handler of Prefect's loggers (its console output)."""
    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(HideUserErrorTracebacks())
