"""Checks shared by the tests of every served family."""

from __future__ import annotations

from fastapi.testclient import TestClient


def post_openapi_example(client: TestClient):
    """POST the JSON example the server's OpenAPI document gives for ``/invocations``."""
    body = client.get("/openapi.json").json()["paths"]["/invocations"]["post"]["requestBody"]
    example = body["content"]["application/json"]["example"]
    return client.post("/invocations", json=example)
