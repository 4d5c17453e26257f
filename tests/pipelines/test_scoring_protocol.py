"""The model server speaks MLflow's scoring protocol: MLflow's own client drives it unchanged,
and it answers every payload layout as ``mlflow models serve`` does on the same version."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import httpx
import mlflow
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow.pyfunc.scoring_server.client import ScoringServerClient

from bench.services import BIN, free_port, process, seqpipe_env, wait_for
from pipelines.alias_follower import AliasFollower
from pipelines.model_server import create_app

NAME = "pricing-demo"
ORDERS = pd.DataFrame(
    {"item": ["tea", "scones", "jam"], "quantity": [2, 6, 1], "price": [3.5, 1.25, 4.0]}
)


class Pricing(mlflow.pyfunc.PythonModel):
    """An order line's total, less a discount given as a parameter."""

    def predict(self, context, model_input, params=None):
        discount = (params or {}).get("discount", 0.0)
        total = model_input["quantity"] * model_input["price"] * (1 - discount)
        return pd.DataFrame({"item": model_input["item"], "total": total})


@pytest.fixture(scope="module")
def store(tmp_path_factory, workspace_env) -> Iterator[tuple[Path, str]]:
    """A workspace whose registry holds one version of the pricing model, as champion."""
    import cloudpickle

    from components.core import tracking

    # By value: the serving processes cannot import this test module.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    workspace = tmp_path_factory.mktemp("scoring")
    with workspace_env(workspace):
        uri = tracking.configure(workspace)
        with mlflow.start_run():
            info = mlflow.pyfunc.log_model(
                name="pricing",
                python_model=Pricing(),
                signature=mlflow.models.infer_signature(
                    ORDERS, Pricing().predict(None, ORDERS), params={"discount": 0.0}
                ),
                input_example=ORDERS,
                pip_requirements=["mlflow"],
            )
        version = mlflow.register_model(info.model_uri, NAME).version
        mlflow.MlflowClient().set_registered_model_alias(NAME, "champion", version)
        yield workspace, uri


@pytest.fixture(scope="module")
def client(store) -> TestClient:
    follower = AliasFollower(NAME, "champion", poll_seconds=60)
    follower.refresh()
    return TestClient(create_app(follower))


def layouts() -> dict[str, tuple[str, bytes]]:
    """The same three order lines (and a discount, where a layout carries params) in every
    layout of the protocol: (content type, body)."""
    records = json.loads(ORDERS.to_json(orient="records"))
    split = json.loads(ORDERS.to_json(orient="split", index=False))
    columns = {name: list(values) for name, values in ORDERS.to_dict(orient="list").items()}
    parquet = BytesIO()
    ORDERS.to_parquet(parquet)
    as_json = {
        "dataframe_split": {"dataframe_split": split, "params": {"discount": 0.1}},
        "dataframe_records": {"dataframe_records": records},
        "inputs": {"inputs": columns, "params": {"discount": 0.5}},
        "instances": {"instances": records},
    }
    bodies = {
        name: ("application/json", json.dumps(body).encode()) for name, body in as_json.items()
    }
    return bodies | {
        "csv": ("text/csv", ORDERS.to_csv(index=False).encode()),
        "csv, charset": ("text/csv; charset=utf-8", ORDERS.to_csv(index=False).encode()),
        "parquet": ("application/vnd.apache.parquet", parquet.getvalue()),
    }


@pytest.mark.parametrize("layout", list(layouts()))
def test_every_layout_answers_the_orders_totals(client: TestClient, layout: str) -> None:
    content_type, body = layouts()[layout]
    response = client.post("/invocations", content=body, headers={"content-type": content_type})
    assert response.status_code == 200, response.text
    totals = [row["total"] for row in response.json()["predictions"]]
    discount = {"dataframe_split": 0.1, "inputs": 0.5}.get(layout, 0.0)
    assert totals == pytest.approx(
        [7.0 * (1 - discount), 7.5 * (1 - discount), 4.0 * (1 - discount)]
    )


@pytest.mark.parametrize(
    ("content_type", "reason"),
    [
        ("text/plain", "content type 'text/plain' is not served; send one of: text/csv, "),
        ("application/x-www-form-urlencoded", "application/json, application/vnd.apache.parquet"),
        ("application/json; charset=latin-1", "charset 'latin-1'"),
        ("application/json; format=pandas-split", "unknown content type parameter(s) ['format']"),
    ],
)
def test_other_content_types_get_415_naming_what_is_served(
    client: TestClient, content_type: str, reason: str
) -> None:
    body = json.dumps({"dataframe_records": [{"item": "tea", "quantity": 1, "price": 1.0}]})
    response = client.post("/invocations", content=body, headers={"content-type": content_type})
    assert response.status_code == 415, response.text
    assert reason in response.json()["message"]


def test_bodies_that_do_not_parse_get_400_with_the_reason(client: TestClient) -> None:
    cases = {
        ("text/csv", b"item,quantity,price\ntea,many,1.0\n"): "CSV",
        ("application/vnd.apache.parquet", b"not parquet"): "Parquet",
        ("application/json", b"[1, 2]"): "must be an object",
        ("application/json", b"\xff\xfe"): "not valid JSON",
    }
    for (content_type, body), reason in cases.items():
        response = client.post("/invocations", content=body, headers={"content-type": content_type})
        assert response.status_code == 400, (content_type, response.text)
        assert reason in response.json()["message"], response.text


def test_columns_the_model_does_not_read_are_dropped_and_named(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    records = [{"item": "tea", "quantity": 2, "price": 3.5, "note": "gift", "shelf": 4}]
    with caplog.at_level("WARNING"):
        response = client.post("/invocations", json={"dataframe_records": records})
    assert response.status_code == 200, response.text
    assert response.headers["X-Ignored-Columns"] == "note,shelf"
    assert not [record for record in caplog.records if record.name.startswith("mlflow")]


@pytest.fixture(scope="module")
def both_servers(store, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """``seqpipe serve`` on the champion and ``mlflow models serve`` on the same version, each
    a real process on loopback: their URLs."""
    workspace, uri = store
    logs = tmp_path_factory.mktemp("servers")
    ours, theirs = free_port(), free_port()
    seqpipe = [str(BIN / "seqpipe"), "serve", NAME, "--port", str(ours)]
    mlflow_serve = [sys.executable, "-m", "mlflow", "models", "serve", "--env-manager", "local"]
    mlflow_serve += ["-m", f"models:/{NAME}/1", "--host", "127.0.0.1", "--port", str(theirs)]
    # MLflow's server execs `uvicorn` by name: the environment's scripts come first on PATH.
    env = seqpipe_env(workspace, PATH=f"{BIN}:{os.environ['PATH']}")
    with (
        process(seqpipe, env, logs / "seqpipe.log", cwd=workspace),
        process(mlflow_serve, env | {"MLFLOW_TRACKING_URI": uri}, logs / "mlflow.log"),
    ):
        for port in (ours, theirs):
            # MLflow's own client waits on /ping, as it would for its own server.
            ScoringServerClient("127.0.0.1", port).wait_server_ready(timeout=180)
        yield f"http://127.0.0.1:{ours}", f"http://127.0.0.1:{theirs}"


@pytest.mark.slow
def test_mlflows_scoring_client_drives_the_server_unchanged(both_servers) -> None:
    ours, _ = both_servers
    port = int(ours.rsplit(":", 1)[1])
    scoring = ScoringServerClient("127.0.0.1", port)
    scoring.ping()
    assert scoring.get_version() == mlflow.__version__
    answer = scoring.invoke(ORDERS, params={"discount": 0.2}).get_predictions()
    assert list(answer["item"]) == list(ORDERS["item"])
    assert list(answer["total"]) == pytest.approx([5.6, 6.0, 3.2])


@pytest.mark.slow
def test_every_payload_gets_the_answer_mlflow_models_serve_gives(both_servers) -> None:
    ours, theirs = both_servers
    unsupported = {"text/plain": ("text/plain", b"tea,2,3.5")}
    for layout, (content_type, body) in (layouts() | unsupported).items():
        headers = {"content-type": content_type}
        answers = [
            httpx.post(f"{url}/invocations", content=body, headers=headers)
            for url in (ours, theirs)
        ]
        assert answers[0].status_code == answers[1].status_code, (
            layout,
            answers[0].text,
            answers[1].text,
        )
        if answers[1].status_code == 200:
            assert answers[0].json() == answers[1].json(), layout
    version = [httpx.get(f"{url}/version").text for url in (ours, theirs)]
    assert version[0] == version[1] == mlflow.__version__
    wait_for(lambda: httpx.get(f"{ours}/ping").status_code == 200, 5, "ping")


def test_the_openapi_document_describes_the_models_request_and_its_example_is_answered(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    body = document["paths"]["/invocations"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "text/csv", "application/vnd.apache.parquet"}
    schema = body["application/json"]["schema"]
    row = schema["properties"]["dataframe_records"]["items"]["properties"]
    assert row == {
        "item": {"type": "string"},
        "quantity": {"type": "integer"},
        "price": {"type": "number"},
    }
    assert schema["properties"]["params"]["properties"]["discount"] == {
        "type": "number",
        "default": 0.0,
    }
    example = body["application/json"]["example"]
    response = client.post("/invocations", json=example)
    assert response.status_code == 200, response.text
    assert [row["item"] for row in response.json()["predictions"]] == list(ORDERS["item"])
    # No token, so no auth declared: a client generated from it would send none.
    assert "securitySchemes" not in document.get("components", {})
    assert not [op for ops in document["paths"].values() for op in ops.values() if "security" in op]


def test_with_a_token_the_openapi_document_declares_bearer_auth(store) -> None:
    follower = AliasFollower(NAME, "champion", poll_seconds=60)
    follower.refresh()
    document = TestClient(create_app(follower, token="s3cret")).get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "security" in document["paths"]["/invocations"]["post"]
