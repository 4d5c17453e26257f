"""HTTP plumbing of the model server: request size limit, request ids, error bodies."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping

from fastapi.responses import JSONResponse

from components.core.prediction_log import new_request_id


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
                "message": f"request body over the limit of {self.max_bytes} bytes: send "
                "fewer rows per request, or raise --max-request-bytes",
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
            response = error_response(
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


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error_code": code, "message": message}, status_code=status, headers=headers
    )
