"""Serving commands: an HTTP server following an alias, batch scoring, text generation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from components.core.errors import UserError
from pipelines.cli.params import params_from_text
from pipelines.cli.shared import (
    REGISTERED_MODEL_HELP,
    PredictionLogOption,
    console,
    prediction_log_dir,
    quiet_flow_logs,
    quiet_libraries,
    tracked_workspace,
)

AliasOption = Annotated[str, typer.Option(help="The alias whose version answers.")]


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
        int, typer.Option(help="Larger request bodies get HTTP 413.", min=1)
    ] = 1_000_000,
    max_response_bytes: Annotated[
        int, typer.Option(help="Larger answers are not sent: HTTP 413 naming the size.", min=1)
    ] = 20_000_000,
    timeout_seconds: Annotated[
        float, typer.Option(help="A prediction not answered by then gets HTTP 504.", min=0.001)
    ] = 60.0,
    max_concurrency: Annotated[
        int,
        typer.Option(
            help="Predictions run at once; more wait for a slot until the timeout (then 503).",
            min=1,
        ),
    ] = 4,
    max_batch_size: Annotated[
        int,
        typer.Option(
            help="Concurrent requests a network answers in one call; 1 turns batching off.",
            min=1,
        ),
    ] = 32,
    max_running_batches: Annotated[
        int,
        typer.Option(
            help="Batches a network predicts at once; requests arriving meanwhile wait for "
            "the next (an idle server never waits).",
            min=1,
        ),
    ] = 1,
    max_waiting: Annotated[
        int,
        typer.Option(
            help="Requests that may wait for a network's running batch; the next gets a 503.",
            min=1,
        ),
    ] = 256,
    poll_seconds: Annotated[
        float, typer.Option(help="How often to check whether the alias moved.")
    ] = 10.0,
    prediction_log: PredictionLogOption = None,
    shadow: Annotated[
        str | None,
        typer.Option(
            help="Also load this alias (e.g. challenger), score every answered request with "
            "it off the request path, and log its outputs beside the served ones.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve models:/MODEL_NAME@ALIAS over HTTP, following the alias without a restart.

    Endpoints: MLflow's scoring protocol (POST /invocations with JSON, CSV or Parquet, GET
    /ping, /version), GET /health (liveness), /ready (readiness), /metrics (Prometheus), and
    the OpenAPI description at /docs and /openapi.json. Every prediction is appended to the
    prediction log (PREDICTION_LOG/MODEL_NAME/YYYY-MM-DD.jsonl), read by `seqpipe monitor`.
    """
    quiet_libraries()
    tracked_workspace()
    from mlflow import MlflowClient

    registered = sorted(model.name for model in MlflowClient().search_registered_models())
    if model_name not in registered:
        raise UserError(
            f"no registered model {model_name!r} in this workspace; registered: "
            f"{registered or 'none (run `seqpipe run all` first)'}"
        )
    from components.core.prediction_log import PredictionLog
    from pipelines.model_server import ServingLimits
    from pipelines.model_server import serve as serve_model
    from pipelines.request_batching import BatchingPolicy

    log = PredictionLog(prediction_log_dir(prediction_log))
    console.print(f"logging predictions under {log.directory / model_name}")
    # An empty token (an unset variable in a compose file) means no token.
    limits = ServingLimits(max_request_bytes, max_response_bytes, timeout_seconds, max_concurrency)
    if shadow == alias:
        raise UserError(f"--shadow {shadow} is the alias served: name another (e.g. challenger)")
    batching = BatchingPolicy(max_batch_size, max_running_batches, max_waiting)
    serve_model(
        model_name, alias, host, port, token or None, limits, poll_seconds, log, shadow, batching
    )


def predict(
    model_name: Annotated[str, typer.Argument(help=REGISTERED_MODEL_HELP)],
    input_path: Annotated[
        Path, typer.Argument(help="A CSV or Parquet file.", exists=True, dir_okay=False)
    ],
    alias: AliasOption = "champion",
    output: Annotated[
        Path | None,
        typer.Option(help="Where to write (CSV or Parquet); default: INPUT.predictions.EXT."),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(help="Input column(s) the model reads (repeatable); default: inferred."),
    ] = None,
    prediction_log: PredictionLogOption = None,
) -> None:
    """Score a file with MODEL_NAME@ALIAS; every prediction row names the model version and
    the data version it was trained on, and the predictions join the prediction log."""
    quiet_libraries()
    from pipelines.batch import batch_predict_flow
    from pipelines.common import workspace_dir
    from pipelines.server import prefect_api

    quiet_flow_logs()
    with prefect_api():
        written = batch_predict_flow(
            model_name,
            str(input_path),
            str(output) if output else None,
            alias,
            column or None,
            str(workspace_dir()),
            str(prediction_log_dir(prediction_log)),
        )
    console.print(f"predictions of {model_name}@{alias}: {written}")


def generate(
    prompt: Annotated[str, typer.Argument(help="The text to continue.")],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="NAME=VALUE",
            help="An inference parameter of the model's signature (repeatable), e.g. "
            "temperature=0.5; those left out take the signature's defaults. A name the "
            "model does not take is an error that lists the ones it does.",
        ),
    ] = None,
    model_name: Annotated[
        str | None,
        typer.Option(
            "--model", help="Registered text generator (default: the one with the alias)."
        ),
    ] = None,
    alias: AliasOption = "champion",
) -> None:
    """Continue PROMPT with a text generator's version under ALIAS (its champion)."""
    quiet_libraries()
    from components.core import registry

    workspace = tracked_workspace()
    if model_name is None:
        generators = registry.text_generators(alias)
        if len(generators) != 1:
            raise UserError(
                f"{len(generators)} registered text generators with a {alias} {generators}: "
                "name one with --model"
                if generators
                else f"no registered model with a {alias} generates text: run "
                "`seqpipe run all` first"
            )
        (model_name,) = generators
    if alias not in registry.aliases(model_name):
        raise UserError(f"{model_name} has no {alias} in {workspace}: run its family's flow first")
    import mlflow
    from mlflow.exceptions import MlflowException
    from rich.text import Text

    model = mlflow.pyfunc.load_model(f"models:/{model_name}@{alias}")
    params = params_from_text(param or [], model.metadata.get_params_schema(), model_name)
    try:
        answer = model.predict([prompt], params=params)
    except MlflowException as error:
        if error.error_code != "INVALID_PARAMETER_VALUE":  # the model's fault, not the request's
            raise
        raise UserError(error.message) from None
    # Text, not markup: a generated "[" must print as itself.
    console.print(Text.assemble((prompt, "bold"), answer[registry.GENERATED].iloc[0]))
