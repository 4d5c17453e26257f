"""Registry commands: roll a champion back, trace a version's lineage, reproduce it."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from pipelines.cli.shared import console, quiet_libraries, tracked_workspace

ReferenceArgument = Annotated[
    str, typer.Argument(help="NAME@ALIAS, NAME/VERSION, or NAME (its champion).")
]


def rollback(
    model_name: Annotated[str, typer.Argument(help="Registered model, <family>-<task>.")],
) -> None:
    """Point the champion alias back at the previous champion."""
    from components.core import registry

    tracked_workspace()
    restored, demoted = registry.rollback(model_name)
    console.print(f"{model_name}: champion is v{restored} again (v{demoted} is previous-champion)")


def lineage(
    reference: ReferenceArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Where a registered model version came from: run, git commit, data version, config and
    metrics."""
    import json

    from components.core.lineage import as_dict
    from components.core.lineage import lineage as find_lineage

    tracked_workspace()
    found = find_lineage(reference)
    if as_json:
        print(json.dumps(as_dict(found), indent=2))
        return
    summary = Table(title=f"{found.registered_model} v{found.version}", show_header=False)
    for key, value in [
        ("aliases", ", ".join(found.aliases) or "-"),
        ("run", f"{found.run_name} ({found.run_id})"),
        ("experiment", found.experiment),
        *found.tags.items(),
        *(("dataset", dataset) for dataset in found.datasets),
    ]:
        summary.add_row(key, value)
    console.print(summary)
    sections: list[tuple[str, dict[str, Any]]] = [
        ("config (params)", found.params),
        ("metrics", found.metrics),
    ]
    for title, values in sections:
        table = Table(title=title, show_header=False)
        for key, value in values.items():
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
        console.print(table)


def reproduce(
    reference: ReferenceArgument,
    tolerance: Annotated[
        float, typer.Option(help="Largest relative difference of the gate metric that passes.")
    ] = 0.01,
) -> None:
    """Train a registered model version again from its recorded data version (pulled from the
    DVC remote) and config; report the gate metric's difference (exit 1 beyond --tolerance)."""
    quiet_libraries()
    from pipelines.reproduce import reproduce as reproduce_version

    result = reproduce_version(reference, tracked_workspace())
    original = result.original
    table = Table(title=f"{original.registered_model} v{original.version} reproduced")
    for column in ("metric", "recorded", "reproduced", "relative difference"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    table.add_row(
        result.metric,
        f"{result.recorded:.6g}",
        f"{result.reproduced:.6g}",
        f"{result.relative_difference:.4%}",
    )
    console.print(table)
    console.print(f"data version {original.data_version}; reproduction run {result.run_id}")
    if not result.same_code:
        console.print(
            f"[yellow]code: the version was trained at commit {original.git_commit or '?'}, "
            f"this checkout is {result.current_commit or '?'}[/yellow]"
        )
    if result.relative_difference > tolerance:
        console.print(f"[red]beyond the tolerance of {tolerance:.2%}[/red]")
        raise typer.Exit(1)
