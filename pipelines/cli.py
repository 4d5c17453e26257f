"""The ``seqpipe`` command: run families, read leaderboards, serve and roll back models."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from components.families import family_names

app = typer.Typer(
    help="Production pipelines for sequence and generative deep-learning models.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(width=max(Console().width, 120))
errors = Console(stderr=True, width=max(Console().width, 120))
VERBOSE = {"on": False}


@app.callback()
def main(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show full tracebacks of errors.")
    ] = False,
) -> None:
    """Production pipelines for sequence and generative deep-learning models."""
    VERBOSE["on"] = verbose


def _fail(error: BaseException, config: Path | None = None, code: int = 2) -> typer.Exit:
    """Print a user's error in a few lines (with the traceback when --verbose) and exit."""
    from pipelines.errors import describe

    if VERBOSE["on"]:
        errors.print_exception()
    errors.print(f"[bold red]error:[/bold red] {describe(error, config)}", highlight=False)
    return typer.Exit(code)


TEXT_COLUMNS = {"run", "version", "aliases", "started"}


def _quiet_libraries() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    # Pipelines run offline by default; the Prefect server must not try to phone home.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The temporary local server competes with TensorFlow's import for two cores at start.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


ProfileOption = Annotated[str, typer.Option(help="Config profile: quick (minutes) or full.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(help="A family config YAML instead of the default.", exists=True, dir_okay=False),
]


def _family(name: str) -> str:
    if name not in family_names():
        raise typer.BadParameter(f"unknown family {name!r}; valid: {family_names()}")
    return name


@app.command()
def run(
    family: Annotated[str, typer.Argument(help=f"One of {family_names()}, or 'all'.")],
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="Train only these models (repeatable); default: all in the config. "
            "The family's baselines always train too.",
        ),
    ] = None,
    profile: ProfileOption = "quick",
    config: ConfigOption = None,
    task: Annotated[
        str | None, typer.Option(help="Only this task of the config; default: every task.")
    ] = None,
    until: Annotated[
        str,
        typer.Option(
            help="Stop after this stage: validate, evaluate (trained and scored, nothing "
            "registered) or register (the whole pipeline). For orchestrators that run the "
            "stages as separate steps; finished stages are cached."
        ),
    ] = "register",
) -> None:
    """Run a family's pipeline: ingest, validate, prepare, train, evaluate, register."""
    if family == "all" and (model or config or task):
        raise typer.BadParameter("--model, --config and --task apply to a single family, not 'all'")
    names = family_names() if family == "all" else [_family(family)]
    _quiet_libraries()
    from components.core import tracking
    from components.families import get_family
    from pipelines.common import workspace_dir
    from pipelines.errors import USER_ERRORS, hide_user_error_tracebacks
    from pipelines.flow import STAGES, ModelsFailed, load_checked, pipeline_flow
    from pipelines.server import prefect_api

    if until not in STAGES:
        raise typer.BadParameter(f"unknown stage {until!r}; valid: {list(STAGES)}")

    try:  # the tracking store answers, or the run stops before any work
        tracking.configure(workspace_dir())
    except USER_ERRORS as error:
        raise _fail(error) from None
    # Every config is checked before any work: a typo costs seconds, not a training run.
    for name in names:
        try:
            chosen = get_family(name)
            checked, _ = load_checked(chosen, profile, str(config) if config else None, model)
            chosen.select_tasks(checked, task)
        except USER_ERRORS as error:
            raise _fail(error, config or get_family(name).default_config) from None
    if not VERBOSE["on"]:
        hide_user_error_tracebacks()
    started = time.perf_counter()
    failed: dict[str, str] = {}
    with prefect_api():
        for name in names:
            console.rule(f"[bold]{name}[/bold] ({profile} profile)")
            try:
                pipeline_flow(
                    family=name,
                    profile=profile,
                    models=model or None,
                    config_path=str(config) if config else None,
                    task=task,
                    until=until,
                )
            except ModelsFailed as error:
                failed |= {f"{name} {key}": message for key, message in error.failures.items()}
            except USER_ERRORS as error:
                raise _fail(error, config) from None
            _print_leaderboard(name)
    if len(names) > 1:
        _print_champions()
    console.print(f"\nfinished in {time.perf_counter() - started:.0f} s")
    _print_ui_hint()
    if failed:
        table = Table(title="models that failed (every other model was registered)")
        table.add_column("model")
        table.add_column("error")
        for key, message in failed.items():
            table.add_row(key, message.splitlines()[0][:200])
        console.print(table)
        raise typer.Exit(1)


@app.command()
def leaderboard(
    family: Annotated[str | None, typer.Argument(help=f"One of {family_names()}.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 30,
    all_models: Annotated[
        bool, typer.Option("--all", help="Every registered model's champion, one row each.")
    ] = False,
) -> None:
    """Show a family's model runs from MLflow, best first, one table per registered model."""
    from components.core.errors import UserError

    if all_models == (family is not None):
        raise typer.BadParameter("name a family, or --all for every registered model's champion")
    try:
        if all_models:
            _print_champions()
        else:
            _print_leaderboard(_family(family), limit)
    except UserError as error:
        raise _fail(error) from None


def _print_champions() -> None:
    from components.core import tracking
    from components.core.leaderboard import champion_rows
    from pipelines.common import workspace_dir

    tracking.configure(workspace_dir())
    table = Table(title="champions of every registered model")
    for column in ("registered model", "version", "run", "metric", "score", "data version"):
        table.add_column(column, justify="right" if column == "score" else "left", no_wrap=True)
    table.add_column("other aliases")
    for row in champion_rows():
        table.add_row(
            row["registered_model"],
            row["version"],
            row["run"],
            row["metric"],
            "-" if row["score"] is None else f"{row['score']:.4f}",
            row["data_version"][:12],
            row["other_aliases"],
        )
    console.print(table)


def _families_with(study: str) -> list[str]:
    from components.families import get_family

    return [name for name in family_names() if study in get_family(name).studies]


@app.command()
def optimizers(
    family: Annotated[str, typer.Argument(help="A family with an optimizer study.")],
    task: Annotated[str, typer.Option(help="A task of the family config.")],
    model: Annotated[
        str, typer.Option("--model", "-m", help="The model every optimizer trains.")
    ] = "gru",
    profile: ProfileOption = "quick",
    config: ConfigOption = None,
) -> None:
    """Train one model with SGD, momentum, AdaGrad, RMSProp and Adam as child runs of one parent
    run, and plot their validation curves together."""
    studies = _families_with("optimizers")
    if family not in studies:
        raise typer.BadParameter(f"no optimizer study for {family!r}; valid: {studies}")
    _quiet_libraries()
    from pipelines.flow import study_flow
    from pipelines.server import prefect_api

    with prefect_api():
        summary = study_flow(
            family=family,
            study="optimizers",
            task=task,
            model=model,
            profile=profile,
            config_path=str(config) if config else None,
        )
    table = Table(title=f"{family} {task}: {model} by optimizer (best validation loss first)")
    for column in summary.columns:
        table.add_column(column, justify="left" if column == "optimizer" else "right")
    for row in summary.itertuples(index=False):
        table.add_row(
            *(f"{value:.4f}" if isinstance(value, float) else str(value) for value in row)
        )
    console.print(table)
    _print_ui_hint()


@app.command()
def rollback(
    model_name: Annotated[str, typer.Argument(help="Registered model, <family>-<task>.")],
) -> None:
    """Point the champion alias back at the previous champion."""
    from components.core import registry, tracking
    from pipelines.common import workspace_dir

    tracking.configure(workspace_dir())
    try:
        restored, demoted = registry.rollback(model_name)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    console.print(f"{model_name}: champion is v{restored} again (v{demoted} is previous-champion)")


REGISTERED_MODEL_HELP = "Registered model (`seqpipe leaderboard --all` lists them)."
# The inference parameters a text generator's signature declares.
GENERATION_PARAMS = ("max_chars", "temperature", "top_k", "seed")


@app.command()
def generate(
    prompt: Annotated[str, typer.Argument(help="The text to continue.")],
    chars: Annotated[int, typer.Option(help="Characters to generate.")] = 200,
    temperature: Annotated[
        float, typer.Option(help="Above 0; lower is more predictable, near 0 is greedy.")
    ] = 1.0,
    top_k: Annotated[
        int, typer.Option(help="Draw among the k likeliest characters; 0: all, 1: greedy.")
    ] = 0,
    seed: Annotated[int, typer.Option(help="The same seed gives the same text.")] = 42,
    model_name: Annotated[
        str | None,
        typer.Option(
            "--model", help="Registered text generator (default: the one with a champion)."
        ),
    ] = None,
) -> None:
    """Continue PROMPT with the champion of a text generator."""
    from components.core import registry, tracking
    from pipelines.common import workspace_dir

    _quiet_libraries()
    try:
        tracking.configure(workspace_dir())
    except Exception as error:
        raise _fail(error) from error
    if model_name is None:
        generators = registry.champions_taking(GENERATION_PARAMS)
        if len(generators) != 1:
            raise _fail(
                ValueError(
                    f"{len(generators)} registered text generators with a champion "
                    f"{generators}: name one with --model"
                    if generators
                    else "no registered model with a champion generates text: run "
                    "`seqpipe run all` first"
                )
            )
        (model_name,) = generators
    if registry.CHAMPION not in registry.aliases(model_name):
        raise _fail(
            ValueError(
                f"{model_name} has no champion in {workspace_dir()}: run its family's flow first"
            )
        )
    import mlflow
    from mlflow.exceptions import MlflowException
    from rich.text import Text

    model = mlflow.pyfunc.load_model(f"models:/{model_name}@{registry.CHAMPION}")
    params = dict(zip(GENERATION_PARAMS, (chars, temperature, top_k, seed), strict=True))
    try:
        continuation = model.predict([prompt], params=params)["generated"].iloc[0]
    except MlflowException as error:
        raise _fail(ValueError(error.message)) from None
    # Text, not markup: a generated "[" must print as itself.
    console.print(Text.assemble((prompt, "bold"), continuation), highlight=False)


@app.command()
def serve(
    model_name: Annotated[str, typer.Argument(help=REGISTERED_MODEL_HELP)],
    alias: Annotated[str, typer.Option(help="The alias to serve and follow.")] = "champion",
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="SEQPIPE_SERVE_TOKEN",
            help="Require 'Authorization: Bearer <token>' on predict and version "
            "(read from SEQPIPE_SERVE_TOKEN so it stays out of the process list).",
            show_default=False,
        ),
    ] = None,
    max_request_bytes: Annotated[
        int, typer.Option(help="Larger request bodies get HTTP 413.")
    ] = 1_000_000,
    poll_seconds: Annotated[
        float, typer.Option(help="How often to check whether the alias moved.")
    ] = 10.0,
) -> None:
    """Serve models:/MODEL_NAME@ALIAS over HTTP, following the alias without a restart.

    Endpoints: POST /predict (MLflow's scoring JSON), GET /health, /ready, /version, and the
    OpenAPI description at /docs and /openapi.json.
    """
    from components.core import tracking
    from pipelines.common import workspace_dir

    _quiet_libraries()
    try:
        tracking.configure(workspace_dir())
    except Exception as error:
        raise _fail(error) from error
    from mlflow import MlflowClient

    registered = sorted(model.name for model in MlflowClient().search_registered_models())
    if model_name not in registered:
        raise _fail(
            ValueError(
                f"no registered model {model_name!r} in this workspace; registered: "
                f"{registered or 'none (run `seqpipe run all` first)'}"
            )
        )
    from pipelines.model_server import serve as serve_model

    # An empty token (an unset variable in a compose file) means no token.
    serve_model(model_name, alias, host, port, token or None, max_request_bytes, poll_seconds)


@app.command()
def predict(
    model_name: Annotated[str, typer.Argument(help=REGISTERED_MODEL_HELP)],
    input_path: Annotated[
        Path, typer.Argument(help="A CSV or Parquet file.", exists=True, dir_okay=False)
    ],
    alias: Annotated[str, typer.Option(help="The alias whose version scores the file.")] = (
        "champion"
    ),
    output: Annotated[
        Path | None,
        typer.Option(help="Where to write (CSV or Parquet); default: INPUT.predictions.EXT."),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(help="Input column(s) the model reads (repeatable); default: inferred."),
    ] = None,
) -> None:
    """Score a file with MODEL_NAME@ALIAS; every prediction row names the model version and
    the data version it was trained on."""
    _quiet_libraries()
    from pipelines.batch import batch_predict_flow
    from pipelines.common import workspace_dir
    from pipelines.errors import USER_ERRORS, hide_user_error_tracebacks
    from pipelines.server import prefect_api

    if not VERBOSE["on"]:
        hide_user_error_tracebacks()
    with prefect_api():
        try:
            written = batch_predict_flow(
                model_name,
                str(input_path),
                str(output) if output else None,
                alias,
                column or None,
                str(workspace_dir()),
            )
        except USER_ERRORS as error:
            raise _fail(error) from None
    console.print(f"predictions of {model_name}@{alias}: {written}")


@app.command()
def reproduce(
    reference: Annotated[
        str, typer.Argument(help="NAME@ALIAS, NAME/VERSION, or NAME (its champion).")
    ],
    tolerance: Annotated[
        float, typer.Option(help="Largest relative difference of the gate metric that passes.")
    ] = 0.01,
) -> None:
    """Train a registered model version again from its recorded data version (pulled from the
    DVC remote) and config; report the gate metric's difference (exit 1 beyond --tolerance)."""
    _quiet_libraries()
    from components.core import tracking
    from pipelines.common import workspace_dir
    from pipelines.errors import USER_ERRORS
    from pipelines.reproduce import reproduce as reproduce_version

    try:
        tracking.configure(workspace_dir())
        result = reproduce_version(reference, workspace_dir())
    except USER_ERRORS as error:
        raise _fail(error) from None
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


@app.command()
def lineage(
    reference: Annotated[
        str, typer.Argument(help="NAME@ALIAS, NAME/VERSION, or NAME (its champion).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Where a registered model version came from: run, git commit, data version, config and
    metrics."""
    import json

    from components.core import tracking
    from components.core.errors import UserError
    from components.core.lineage import as_dict
    from components.core.lineage import lineage as find_lineage
    from pipelines.common import workspace_dir

    try:
        tracking.configure(workspace_dir())
        found = find_lineage(reference)
    except UserError as error:
        raise _fail(error) from None
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
    for title, values in (("config (params)", found.params), ("metrics", found.metrics)):
        table = Table(title=title, show_header=False)
        for key, value in values.items():
            table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
        console.print(table)


@app.command()
def schedule(
    family: Annotated[
        list[str] | None,
        typer.Argument(help=f"Families to schedule (default: every one of {family_names()})."),
    ] = None,
    cron: Annotated[str, typer.Option(help="Cron schedule of the retrain, in UTC.")] = "0 3 * * *",
    interval: Annotated[
        int | None, typer.Option(help="Seconds between runs instead of the cron schedule.")
    ] = None,
    profile: Annotated[str, typer.Option(help="Config profile the schedule runs.")] = "full",
    config: ConfigOption = None,
) -> None:
    """Run every family's deployment on its schedule from this process, until Ctrl-C.

    Needs a Prefect server: run `prefect server start` and set PREFECT_API_URL first. The
    deployments record this workspace, so their runs write here wherever they start.
    """
    from pipelines.common import workspace_dir
    from pipelines.deployments import deployment_for

    if not os.environ.get("PREFECT_API_URL"):
        raise _fail(
            ValueError(
                "schedules need a Prefect server: run `prefect server start`, then "
                "export PREFECT_API_URL=http://127.0.0.1:4200/api"
            )
        )
    names = [_family(name) for name in family] if family else family_names()
    if config and len(names) != 1:
        raise typer.BadParameter("--config applies to a single family")
    _quiet_libraries()
    from pipelines.scheduler import serve_until_stopped

    deployments = [
        deployment_for(name, cron, profile, workspace_dir(), config, interval_seconds=interval)
        for name in names
    ]
    when = f"every {interval} s" if interval else f"cron {cron!r} (UTC)"
    console.print(f"serving {', '.join(item.name for item in deployments)} on {when}")
    serve_until_stopped(deployments)


@app.command()
def ui(
    launch: Annotated[
        bool, typer.Option(help="Start the MLflow UI instead of printing how.")
    ] = False,
    host: Annotated[
        str, typer.Option(help="Address to bind; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
) -> None:
    """Print (or run) the command that opens the MLflow UI on this workspace.

    Stopping it (Ctrl-C, SIGTERM) stops every process of the UI.
    """
    import shlex
    import sys

    from components.core import tracking
    from pipelines.common import workspace_dir
    from pipelines.processes import run_process_group

    if not launch:
        _print_ui_hint(host, port)
        return
    command = tracking.ui_command(workspace_dir(), host, port)
    if not command.startswith("mlflow "):
        raise typer.BadParameter(f"the tracking store is a server: {command}")
    # The UI's background job runner serves GenAI features this project does not use; without
    # it, the UI is one server and its workers.
    env = os.environ | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    # This environment's MLflow, whether or not its bin/ is on PATH.
    argv = [sys.executable, "-m", *shlex.split(command)]
    raise typer.Exit(run_process_group(argv, env))


def _print_ui_hint(host: str = "127.0.0.1", port: int = 5000) -> None:
    from components.core import tracking
    from pipelines.common import workspace_dir

    # The UI opens in its GenAI mode unless asked for model training; the choice then sticks.
    page = "#/experiments?workflowType=machine_learning"
    uri = tracking.tracking_uri(workspace_dir())
    if not tracking.is_embedded(uri):
        console.print(f"Open the MLflow UI: [bold]{uri.rstrip('/')}/{page}[/bold]")
        return
    console.print(
        f"Open the MLflow UI: [bold]{tracking.ui_command(workspace_dir(), host, port)}[/bold]"
        f" then browse http://{host}:{port}/{page}"
    )


def _print_leaderboard(family: str, limit: int = 30) -> None:
    from components.core import tracking
    from components.core.leaderboard import leaderboard_rows
    from components.families import get_family
    from pipelines.common import workspace_dir

    tracking.configure(workspace_dir())
    chosen = get_family(family)
    config = chosen.load_config()
    extras = list(chosen.leaderboard_columns)
    # Registered models may have gates of their own. A run's gate follows from its model (the
    # run key), so runs of a user's config (other task names) find theirs too.
    runs = config.runs()
    by_key = {run.key: chosen.gate(config, run) for run in runs}
    by_model = {
        chosen.registered_model(task, run): chosen.gate(config, run)
        for task in chosen.select_tasks(config, None)
        for run in runs
    }

    def gate_of(row: dict) -> Any:
        return by_key.get(row["run"]) or by_model.get(row["model"]) or config.gate

    # One table per registered model: only its runs share test data (task, horizon).
    groups: dict[str, list[dict]] = {}
    gates: dict[str, Any] = {}
    unit_params = [chosen.unit_param] if chosen.unit_param else []
    for gate in {config.gate, *by_key.values()}:
        rows = leaderboard_rows(
            family, gate.metric, gate.greater_is_better, extras, limit=1000, params=unit_params
        )
        for row in rows:
            if gate_of(row) == gate:
                groups.setdefault(row["model"], []).append(row)
                gates[row["model"]] = gate
    if not groups:
        metric = config.gate.metric
        console.print(
            _leaderboard_table(f"{family} leaderboard (best {metric} first)", [], metric, extras)
        )
    for name in sorted(groups):
        metric = gates[name].metric
        units = {row.get(chosen.unit_param) for row in groups[name]} - {None}
        unit = f", in {units.pop()}" if len(units) == 1 else ""  # as the runs logged it
        console.print(
            _leaderboard_table(
                f"{name} leaderboard (best {metric} first{unit})",
                groups[name][:limit],
                metric,
                extras,
            )
        )


def _leaderboard_table(title: str, rows: list[dict], metric: str, extras: list[str]) -> Table:
    table = Table(title=title)
    for column in ["rank", "run", "version", "aliases", metric, *extras, "started"]:
        table.add_column(column, justify="left" if column in TEXT_COLUMNS else "right")
    for rank, row in enumerate(rows, start=1):
        table.add_row(
            str(rank),
            row["run"],
            row["version"],
            row["aliases"],
            *(f"{row[name]:.4f}" if row[name] is not None else "-" for name in [metric, *extras]),
            row["started"],
        )
    return table


if __name__ == "__main__":
    app()
