"""Serve a registered model by alias over HTTP, following the alias when it moves.

``models:/NAME@ALIAS`` is resolved to a version and loaded once; a background thread polls the
alias and, when it points at another version, loads that version beside the served one and
swaps a single reference. A request holds the model it started with, so requests in flight
finish on the old version and none fail during the swap.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import StringIO
from typing import Annotated, Any

import mlflow
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from mlflow.exceptions import MlflowException
from mlflow.pyfunc.scoring_server import infer_and_parse_data, predictions_to_json
from pydantic import BaseModel, ConfigDict

from components.core.prediction_log import Prediction, PredictionLog, new_request_id
from components.core.serving_checks import INPUT_FORMATS, check_request, short_reason

logger = logging.getLogger("seqpipe.serve")

DEFAULT_MAX_REQUEST_BYTES = 1_000_000
DEFAULT_POLL_SECONDS = 10.0


@dataclass(frozen=True)
class ServedModel:
    """One loaded model version and what produced it."""

    name: str
    alias: str
    version: str
    run_id: str
    data_version: str | None  # DVC hash of the data the run trained on
    git_commit: str | None
    model_name: str | None  # the family's model (e.g. gru, sarima)
    loaded_at: str
    model: Any = field(repr=False)  # mlflow.pyfunc.PyFuncModel

    def describe(self) -> dict[str, Any]:
        """What the ``/version`` endpoint answers."""
        return {
            "registered_model": self.name,
            "alias": self.alias,
            "version": self.version,
            "run_id": self.run_id,
            "model": self.model_name,
            "data_version": self.data_version,
            "git_commit": self.git_commit,
            "loaded_at": self.loaded_at,
        }


class AliasFollower:
    """Keeps the version an alias points at loaded; swaps it in when the alias moves."""

    def __init__(self, name: str, alias: str, poll_seconds: float = DEFAULT_POLL_SECONDS):
        self.name, self.alias, self.poll_seconds = name, alias, poll_seconds
        self.problem: str | None = None  # why the latest refresh failed, if it did
        self._served: ServedModel | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def served(self) -> ServedModel | None:
        return self._served

    def refresh(self) -> bool:
        """Load the alias' version if it is not the one served; return whether it swapped.

        A failure (alias missing, model not loadable) keeps the served version and is
        recorded in ``problem`` for the readiness endpoint.
        """
        client = mlflow.MlflowClient()
        try:
            version = client.get_model_version_by_alias(self.name, self.alias)
            if self._served is not None and self._served.version == str(version.version):
                self.problem = None
                return False
            # Load by version, not alias: the alias may move again while this one loads.
            model = mlflow.pyfunc.load_model(f"models:/{self.name}/{version.version}")
            tags = client.get_run(version.run_id).data.tags if version.run_id else {}
        except MlflowException as error:
            self.problem = f"models:/{self.name}@{self.alias}: {short_reason(error.message)}"
            logger.warning(self.problem)
            return False
        previous = self._served
        self._served = ServedModel(
            name=self.name,
            alias=self.alias,
            version=str(version.version),
            run_id=version.run_id or "",  # "" for a version registered from no run
            data_version=tags.get("data.dvc_hash"),
            git_commit=tags.get("git.commit"),
            model_name=tags.get("seqpipe.model"),
            loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            model=model,
        )
        self.problem = None
        logger.info(
            "serving %s@%s: version %s (was %s)",
            self.name,
            self.alias,
            version.version,
            previous.version if previous else "none",
        )
        return True

    def start(self) -> None:
        """Load the current version now, then follow the alias in a daemon thread."""
        self.refresh()
        self._thread = threading.Thread(target=self._follow, name="alias-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.poll_seconds + 5)

    def _follow(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.refresh()


class PredictionRequest(BaseModel):
    """MLflow's scoring protocol: exactly one input field, and the model's parameters."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {"inputs": ["a text"]},
                {"dataframe_records": [{"date": "2026-01-31", "value": 5.1}]},
                {"inputs": ["a prompt"], "params": {"temperature": 0.5}},
            ]
        },
    )

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


class BodySizeLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets a 413 before it is parsed."""

    def __init__(self, app: Callable[..., Awaitable[None]], max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        received = 0
        started = False

        async def counted_receive() -> dict:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _BodyTooLarge
            return message

        async def watched_send(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send: Callable) -> None:
        body = json.dumps(
            {
                "error_code": "REQUEST_TOO_LARGE",
                "message": f"request body over the limit of {self.max_bytes} bytes; "
                "send fewer rows per request",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


REQUEST_ID_HEADER = "X-Request-ID"
MAX_REQUEST_ID_CHARS = 128


class RequestId:
    """ASGI middleware: every request gets an id, the caller's ``X-Request-ID`` or a new one,
    kept in ``request.state.request_id`` and echoed in the response's header.

    A caller's id that could not be stored and matched later (too long, spaces or control
    characters) gets a 400 that says so.
    """

    def __init__(self, app: Callable[..., Awaitable[None]]):
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.lower().encode())
        request_id = sent.decode("latin-1") if sent is not None else new_request_id()
        header = (REQUEST_ID_HEADER.encode(), request_id.encode("latin-1"))
        if not _valid_request_id(request_id):
            response = _error(
                400,
                "BAD_REQUEST",
                f"invalid {REQUEST_ID_HEADER} header: send 1 to {MAX_REQUEST_ID_CHARS} "
                "visible ASCII characters without spaces, or no header for a generated id",
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["request_id"] = request_id

        async def with_request_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.app(scope, receive, with_request_id)


def _valid_request_id(request_id: str) -> bool:
    return 0 < len(request_id) <= MAX_REQUEST_ID_CHARS and all(
        "!" <= character <= "~" for character in request_id
    )


def create_app(
    follower: AliasFollower,
    token: str | None = None,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    prediction_log: PredictionLog | None = None,
) -> FastAPI:
    """The HTTP API over a followed alias: predict, health, readiness, version, OpenAPI.

    With a ``prediction_log``, every answered prediction is appended to it; a rejected request
    (4xx) is not a prediction and is not logged.
    """
    app = FastAPI(
        title=f"seqpipe model server: {follower.name}@{follower.alias}",
        description="Predictions from the registered model version the alias points at.",
    )
    app.add_middleware(BodySizeLimit, max_bytes=max_request_bytes)
    # Added last, so outermost: a 413 from the size limit carries the request id too.
    app.add_middleware(RequestId)
    app.state.token = token

    def served_or_503() -> ServedModel:
        served = follower.served
        if served is None:
            raise HTTPException(
                status_code=503, detail=f"no model loaded yet: {follower.problem or 'loading'}"
            )
        return served

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return _error(error.status_code, "REQUEST_REJECTED", str(error.detail), error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        reason = first.get("msg", "invalid request")
        return _error(
            422, "BAD_REQUEST", f"invalid request body{f' at {where}' if where else ''}: {reason}"
        )

    @app.get("/health", summary="Liveness: the process answers; prediction log counts")
    def health() -> dict[str, Any]:
        if prediction_log is None:
            return {"status": "ok"}
        return {
            "status": "ok",
            "predictions_logged": prediction_log.written,
            "prediction_log_failures": prediction_log.failures,
        }

    @app.get("/ready", summary="Readiness: a model version is loaded and served")
    def ready() -> JSONResponse:
        served = follower.served
        if served is None:
            return _error(503, "NOT_READY", f"no model loaded: {follower.problem or 'loading'}")
        return JSONResponse({"ready": True, "version": served.version})

    @app.get("/version", summary="The version served: run, data version, git commit")
    def version(_: Authorized) -> dict[str, Any]:
        return served_or_503().describe()

    @app.post("/predict", summary="Predict with the served version")
    @app.post("/invocations", include_in_schema=False)
    def predict(request: PredictionRequest, http: Request, _: Authorized) -> Response:
        served = served_or_503()
        payload = request.model_dump(exclude_unset=True)
        try:
            check_request(payload, served.model.metadata.signature)
            data = {key: payload[key] for key in INPUT_FORMATS if key in payload}
            schema = served.model.metadata.get_input_schema()
            inputs = infer_and_parse_data(data, schema)
            predictions = served.model.predict(inputs, params=payload.get("params"))
        except MlflowException as error:
            status = error.get_http_status_code()
            return _error(status, error.error_code, short_reason(error.message))
        except (ValueError, TypeError, KeyError) as error:
            # Raised by parsing or by a family's own input rules: the request is at fault.
            return _error(400, "BAD_REQUEST", short_reason(f"{type(error).__name__}: {error}"))
        output = StringIO()
        predictions_to_json(predictions, output)
        if prediction_log is not None:
            prediction_log.write(
                Prediction(
                    request_id=http.state.request_id,
                    registered_model=served.name,
                    alias=served.alias,
                    version=served.version,
                    run_id=served.run_id,
                    inputs=inputs,
                    outputs=predictions,
                )
            )
        return Response(
            output.getvalue(),
            media_type="application/json",
            headers={"X-Model-Version": served.version, "X-Model-Run": served.run_id},
        )

    return app


def _error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error_code": code, "message": message}, status_code=status, headers=headers
    )


def serve(
    name: str,
    alias: str,
    host: str,
    port: int,
    token: str | None,
    max_request_bytes: int,
    poll_seconds: float,
    prediction_log: PredictionLog | None = None,
) -> None:
    """Serve ``models:/name@alias`` until SIGINT/SIGTERM (uvicorn finishes requests first)."""
    import uvicorn

    follower = AliasFollower(name, alias, poll_seconds)
    follower.start()
    try:
        uvicorn.run(
            create_app(follower, token, max_request_bytes, prediction_log),
            host=host,
            port=port,
            log_level="info",
            timeout_graceful_shutdown=5,
        )
    finally:
        follower.stop()
