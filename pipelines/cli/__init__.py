"""The ``seqpipe`` command: run families, read leaderboards, serve and roll back models."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text
from typer.core import TyperGroup

from pipelines.cli import (
    data,
    leaderboard,
    monitor,
    registry,
    run,
    schedule,
    serving,
    study,
    ui,
)
from pipelines.cli.shared import errors, invocation

VERBOSE_HINT = "run it again as `seqpipe --verbose ...` for the traceback"


class Commands(TyperGroup):
    """seqpipe's commands; what they raise becomes an exit code here, and only here."""

    def invoke(self, ctx: Any) -> Any:  # click's Context, as typer vendors it
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # usage errors, exits, Ctrl-C
            raise
        except Exception as error:
            raise typer.Exit(exit_code(error)) from None


def exit_code(error: Exception) -> int:
    """Report ``error`` on stderr; 2 for the user's errors, 1 for the rest, which are bugs of
    ours or faults of the machine (the traceback shows with --verbose)."""
    from components.core.errors import is_user_error
    from pipelines.errors import describe

    if invocation.verbose:
        errors.print_exception()
    if is_user_error(error):
        errors.print(Text.assemble(("error: ", "bold red"), describe(error)))
        return 2
    first_line = next(iter(str(error).splitlines()), "")
    errors.print(
        Text.assemble(
            ("internal error: ", "bold red"),
            f"{type(error).__name__}: {first_line}\n",
            "This is a fault of seqpipe or of the machine, not of your input",
            "" if invocation.verbose else f"; {VERBOSE_HINT}",
            ".",
        )
    )
    return 1


app = typer.Typer(
    cls=Commands,
    help="Production pipelines for sequence and generative deep-learning models.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show full tracebacks of errors.")
    ] = False,
) -> None:
    """Production pipelines for sequence and generative deep-learning models."""
    invocation.reset(verbose)


for command in (
    run.run,
    leaderboard.leaderboard,
    study.study,
    registry.rollback,
    serving.generate,
    serving.serve,
    serving.predict,
    monitor.monitor,
    registry.reproduce,
    registry.lineage,
    schedule.schedule,
    ui.ui,
):
    app.command()(command)
app.add_typer(data.data, name="data")
