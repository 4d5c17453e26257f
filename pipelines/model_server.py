"""Serve a registered model by alias over HTTP, as ``mlflow models serve`` does, and more.

The scoring protocol is MLflow's (``/ping``, ``/version``, ``/invocations`` with JSON, CSV or
Parquet bodies), so MLflow's own clients work unchanged. Beyond it: the alias is followed
without a restart (``pipelines.alias_follower``), ``/health`` and ``/ready`` are separate
liveness and readiness probes, ``/metrics`` is Prometheus', every answered prediction goes to
the prediction log, and every request is bounded in size, time and concurrency.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from io import StringIO
from typing import Annotated, Any

import mlflow
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from mlflow.exceptions import MlflowException
from mlflow.pyfunc.scoring_server import (
    CONTENT_TYPE_CSV,
    CONTENT_TYPE_JSON,
    CONTENT_TYPE_PARQUET,
    predictions_to_json,
)
from pydantic import BaseModel, ConfigDict

from components.core.prediction_log import PredictionLog
from components.core.serving_checks import short_reason
from pipelines.alias_follower import DEFAULT_POLL_SECONDS, AliasFollower, ServedModel
from pipelines.openapi_schema import request_schema, without_auth
from pipelines.prediction_slots import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_TIMEOUT_SECONDS,
    PredictionSlots,
    PredictionTimeout,
    ServerBusy,
)
from pipelines.request_batching import BatchingPolicy, RequestBatcher
from pipelines.scoring_protocol import UnsupportedMediaType, parse_body
from pipelines.serving_http import BodySizeLimit, RequestId, error_response
from pipelines.serving_metrics import RequestMetrics, ServerMetrics
from pipelines.shadow import ShadowScorer

logger = logging.getLogger("seqpipe.serve")

DEFAULT_MAX_REQUEST_BYTES = 1_000_000
DEFAULT_MAX_RESPONSE_BYTES = 20_000_000


@dataclass(frozen=True)
class ServingLimits:
    """What one request may cost: body and answer sizes, time, and predictions at once."""

    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY


class PredictionRequest(BaseModel):
    """MLflow's scoring protocol: exactly one input field, and the model's parameters.

    The OpenAPI description shows this generic shape only until a version is served; then
    it describes that version's own columns, parameters and example (``openapi_schema``).
    """

    model_config = ConfigDict(extra="allow")

    dataframe_split: dict[str, Any] | None = None
    dataframe_records: list[dict[str, Any]] | None = None
    inputs: Any = None
    instances: Any = None
    params: dict[str, Any] | None = None


BEARER = HTTPBearer(auto_error=False)


def authorized(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> None:
    """Let the request through when the app has no token or it sends the app's token."""
    token = request.app.state.token
    if token is None:
        return
    if credentials is None or not secrets.compare_digest(credentials.credentials, token):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong bearer token: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


Authorized = Annotated[None, Depends(authorized)]


def create_app(
    follower: AliasFollower,
    token: str | None = None,
    limits: ServingLimits | None = None,
    prediction_log: PredictionLog | None = None,
    shadow: ShadowScorer | None = None,
    batching: BatchingPolicy | None = None,
) -> FastAPI:
    """The HTTP API over a followed alias: the scoring protocol, probes, metrics, OpenAPI.

    With a ``prediction_log``, every answered prediction is appended to it; a rejected request
    (4xx) is not a prediction and is not logged. With a ``shadow``, every answered request is
    also handed to it, after the answer is ready and without waiting for it. Concurrent
    requests to a model that batches them (a network) are predicted together, within
    ``batching``'s bounds (``pipelines.request_batching``).
    """
    limits = limits or ServingLimits()
    app = FastAPI(
        title=f"seqpipe model server: {follower.name}@{follower.alias}",
        description="Predictions from the registered model version the alias points at, "
        "in MLflow's scoring protocol.",
    )
    metrics = ServerMetrics(follower, prediction_log, shadow)
    follower.events = metrics
    slots = PredictionSlots(limits.max_concurrency, limits.timeout_seconds)
    batcher = RequestBatcher(slots, batching, metrics.batch_sizes.observe)
    app.state.token = token

    def served_or_503() -> ServedModel:
        served = follower.served
        if served is None:
            raise HTTPException(status_code=503, detail=f"no model loaded yet: {not_ready()}")
        return served

    def not_ready() -> str:
        status = follower.status()
        return status.problem or status.loading or "the first load has not begun"

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return error_response(
            error.status_code, "REQUEST_REJECTED", str(error.detail), error.headers
        )

    @app.get("/health", summary="Liveness: the process answers, loaded or not")
    def health() -> dict[str, Any]:
        if prediction_log is None:
            return {"status": "ok"}
        return {
            "status": "ok",
            "predictions_logged": prediction_log.written,
            "prediction_log_failures": prediction_log.failures,
        }

    @app.get("/ready", summary="Readiness: a version is served (stale when the alias moved on)")
    def ready() -> JSONResponse:
        status = follower.status()
        if status.served is None:
            return error_response(503, "NOT_READY", f"no model loaded: {not_ready()}")
        answer: dict[str, Any] = {"ready": True, "version": status.served.version}
        if status.stale:
            answer |= {
                "stale": True,
                "failed_version": status.failed_version,
                "problem": status.problem,
            }
        return JSONResponse(answer)

    @app.get("/ping", summary="MLflow's readiness probe: 200 once a version is served")
    def ping() -> Response:
        if follower.served is None:
            return error_response(503, "NOT_READY", f"no model loaded: {not_ready()}")
        return Response("\n", media_type="application/json")

    @app.get(
        "/version",
        summary="MLflow's version as text (as `mlflow models serve`); the served version's "
        "lineage and staleness as JSON when asked with 'Accept: application/json'",
    )
    def version(http: Request, _: Authorized) -> Response:
        if "application/json" not in http.headers.get("accept", ""):
            return PlainTextResponse(mlflow.__version__)
        served_or_503()
        described = follower.status().describe()
        if shadow is not None:
            described["shadow"] = shadow.follower.status().describe()
        return JSONResponse(described)

    @app.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    def prometheus() -> Response:
        return Response(metrics.exposition(), media_type=metrics.content_type)

    body_types = {
        CONTENT_TYPE_JSON: {"schema": PredictionRequest.model_json_schema()},
        CONTENT_TYPE_CSV: {"schema": {"type": "string"}},
        CONTENT_TYPE_PARQUET: {"schema": {"type": "string", "format": "binary"}},
    }

    @app.post(
        "/invocations",
        summary="Predict with the served version (MLflow's scoring protocol)",
        openapi_extra={"requestBody": {"required": True, "content": body_types}},
    )
    @app.post("/predict", include_in_schema=False)
    async def invocations(http: Request, _: Authorized) -> Response:
        served = served_or_503()
        body = await http.body()
        try:
            parsed = parse_body(
                body, http.headers.get("content-type"), served.model.metadata.signature
            )
            if served.batches_requests and batcher.policy.max_batch_size > 1:
                predictions = await batcher.predict(served, parsed.data, parsed.params)
            else:
                predictions = await slots.run(
                    lambda: served.model.predict(parsed.data, params=parsed.params)
                )
            output = StringIO()
            predictions_to_json(predictions, output)
        except UnsupportedMediaType as error:
            return error_response(415, "UNSUPPORTED_MEDIA_TYPE", str(error))
        except ServerBusy as error:
            return error_response(
                503,
                "SERVER_BUSY",
                str(error)
                or f"{limits.max_concurrency} predictions already running for "
                f"{limits.timeout_seconds:g} s; retry, or raise --max-concurrency",
                {"Retry-After": "1"},
            )
        except PredictionTimeout:
            return error_response(
                504,
                "TIMEOUT",
                f"the prediction took over {limits.timeout_seconds:g} s; send fewer rows or "
                "raise --timeout-seconds",
            )
        except MlflowException as error:
            return error_response(
                error.get_http_status_code(), error.error_code, short_reason(error.message)
            )
        except (ValueError, TypeError, KeyError) as error:
            # Raised by parsing or by a family's own input rules: the request is at fault.
            return error_response(
                400, "BAD_REQUEST", short_reason(f"{type(error).__name__}: {error}")
            )
        answer = output.getvalue().encode()
        if len(answer) > limits.max_response_bytes:
            return error_response(
                413,
                "RESPONSE_TOO_LARGE",
                f"the answer is {len(answer)} bytes, over the limit of "
                f"{limits.max_response_bytes}; ask for fewer rows or samples per request, "
                "or raise --max-response-bytes",
            )
        if prediction_log is not None:
            prediction_log.write(served.prediction(http.state.request_id, parsed.data, predictions))
        if shadow is not None:
            shadow.submit(http.state.request_id, parsed.data, parsed.params)
        headers = {"X-Model-Version": served.version, "X-Model-Run": served.run_id}
        if parsed.ignored_columns:
            headers["X-Ignored-Columns"] = ",".join(parsed.ignored_columns)[:500]
        return Response(answer, media_type="application/json", headers=headers)

    def openapi() -> dict[str, Any]:
        # Built on every request for it: the served version (and so the schema) can change.
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        served = follower.served
        if served is not None:
            body = document["paths"]["/invocations"]["post"]["requestBody"]["content"]
            body[CONTENT_TYPE_JSON] = {
                "schema": request_schema(served.model.metadata.signature),
                **({"example": served.serving_example} if served.serving_example else {}),
            }
        return document if token else without_auth(document)

    app.openapi = openapi  # type: ignore[method-assign]

    app.add_middleware(BodySizeLimit, max_bytes=limits.max_request_bytes)
    # Added after, so outside: a 413 from the size limit carries the request id too.
    app.add_middleware(RequestId)
    # Outermost: every answer is counted, the request-id 400s and the size-limit 413s too.
    routes = [getattr(route, "path", "") for route in app.routes]
    app.add_middleware(RequestMetrics, metrics=metrics, routes=routes)
    return app


def serve(
    name: str,
    alias: str,
    host: str,
    port: int,
    token: str | None,
    limits: ServingLimits,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
    prediction_log: PredictionLog | None = None,
    shadow_alias: str | None = None,
    batching: BatchingPolicy | None = None,
) -> None:
    """Serve ``models:/name@alias`` until SIGINT/SIGTERM (uvicorn finishes requests first).

    The port opens at once; the first version loads in the background (``/health`` answers,
    ``/ready`` and ``/ping`` say 503 with the reason until it is served).
    """
    import uvicorn

    follower = AliasFollower(name, alias, poll_seconds)
    shadow = None
    if shadow_alias is not None and prediction_log is not None:
        shadow = ShadowScorer(AliasFollower(name, shadow_alias, poll_seconds), prediction_log)
    app = create_app(follower, token, limits, prediction_log, shadow, batching)
    follower.start()
    if shadow is not None:
        shadow.follower.start()
        shadow.start()
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="info",
            log_config=log_config(),
            timeout_graceful_shutdown=5,
        )
    finally:
        follower.stop()
        if shadow is not None:
            shadow.stop()
            shadow.follower.stop()


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with the server's own loggers (swaps, failed loads) at INFO."""
    from uvicorn.config import LOGGING_CONFIG

    config = {**LOGGING_CONFIG, "loggers": dict(LOGGING_CONFIG["loggers"])}
    config["loggers"]["seqpipe"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
