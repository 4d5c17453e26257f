"""Serving registered models by alias: the HTTP server (endpoints, request checks, auth, size
limit, hot swap, prediction log) and batch prediction of files."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import mlflow
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient

from components.core.prediction_log import PredictionLog, read_records
from components.core.serving import bad_request
from pipelines.alias_follower import AliasFollower
from pipelines.model_server import ServingLimits, create_app

NAME = "textlength-demo"
SMALL_BODIES = ServingLimits(max_request_bytes=2_000)
JSON = {"accept": "application/json"}  # /version answers the lineage as JSON


class TextLength(mlflow.pyfunc.PythonModel):
    """Counts the characters of each text; rejects a text without letters, as families do."""

    def predict(self, context, model_input, params=None):
        texts = (
            list(model_input.iloc[:, 0])
            if isinstance(model_input, pd.DataFrame)
            else list(model_input)
        )
        if any(not any(character.isalpha() for character in text) for text in texts):
            raise bad_request("a text has no letters")
        scale = (params or {}).get("scale", 1.0)
        return pd.DataFrame({"length": [len(text) * scale for text in texts]})


def register_version(tag: str) -> str:
    """Log the model in a run tagged like a pipeline's and register a new version of it."""
    example = ["to be or not to be"]
    with mlflow.start_run(tags={"data.dvc_hash": f"hash-{tag}", "seqpipe.model": "length"}):
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=TextLength(),
            signature=mlflow.models.infer_signature(
                example, TextLength().predict(None, example), params={"scale": 1.0}
            ),
            input_example=example,
            pip_requirements=["mlflow"],  # no requirement inference: it loads the model again
        )
    return mlflow.register_model(info.model_uri, NAME).version


@pytest.fixture(scope="module")
def registry(tmp_path_factory, workspace_env):
    """One store for the module with two versions of the model (creating stores is slow)."""
    from components.core import tracking

    workspace = tmp_path_factory.mktemp("serving")
    with workspace_env(workspace):
        tracking.configure(workspace)
        yield register_version("a"), register_version("b")


@pytest.fixture
def two_versions(registry) -> tuple[str, str]:
    """The two versions, with the champion alias on the first."""
    client = MlflowClient()
    client.set_registered_model_alias(NAME, "champion", registry[0])
    client.delete_registered_model_alias(NAME, "staging")
    return registry


@pytest.fixture
def client(two_versions) -> TestClient:
    follower = AliasFollower(NAME, "champion", poll_seconds=60)
    follower.refresh()
    return TestClient(create_app(follower, token=None, limits=SMALL_BODIES))


def logged_client(log: PredictionLog) -> TestClient:
    """A server of the champion that appends its predictions to ``log``."""
    follower = AliasFollower(NAME, "champion", poll_seconds=60)
    app = create_app(follower, limits=SMALL_BODIES, prediction_log=log)
    follower.refresh()  # after the app exists, so its metrics hear of the load
    return TestClient(app)


def log_lines(directory: Path) -> list[str]:
    return [
        line
        for path in sorted((directory / NAME).glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def test_predict_health_ready_version_and_openapi(client: TestClient, two_versions) -> None:
    first, _ = two_versions
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json()["ready"] is True
    version = client.get("/version", headers=JSON).json()
    assert version["version"] == str(first) and version["data_version"] == "hash-a"
    assert version["stale"] is False
    response = client.post("/predict", json={"inputs": ["abc", "hello"], "params": {"scale": 2}})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == [{"length": 6.0}, {"length": 10.0}]
    assert response.headers["X-Model-Version"] == str(first)
    assert "/invocations" in client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"inputs": [None]}, "inputs[0]: is null; expected string"),
        ({"inputs": [True]}, "inputs[0]: is bool True; expected string"),
        ({"inputs": ["fine", 3]}, "inputs[1]: is int 3; expected string"),
        ({"inputs": ["1234"]}, "a text has no letters"),
        ({"inputs": ["a"], "params": {"temperature": 1}}, "unknown parameter(s) ['temperature']"),
        ({"inputs": ["a"], "params": {"scale": "big"}}, "scale"),
        ({"text": ["a"]}, "unknown request field(s) ['text']"),
        ({}, "send exactly one input field"),
        ({"inputs": ["a"], "instances": ["b"]}, "send exactly one input field"),
        ({"dataframe_split": {"rows": []}}, "dataframe_split must be an object with a 'data'"),
    ],
)
def test_a_bad_request_is_a_4xx_that_leads_with_the_reason_and_serving_goes_on(
    client: TestClient, payload: dict, reason: str
) -> None:
    response = client.post("/predict", json=payload)
    assert 400 <= response.status_code < 500, response.text
    message = response.json()["message"]
    assert reason in message and len(message) <= 300
    assert client.post("/predict", json={"inputs": ["still serving"]}).status_code == 200


def test_bodies_over_the_limit_get_413_and_malformed_json_a_4xx(client: TestClient) -> None:
    response = client.post("/predict", json={"inputs": ["a" * 5_000]})
    assert response.status_code == 413 and "2000 bytes" in response.json()["message"]
    response = client.post(
        "/predict", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400 and "not valid JSON" in response.json()["message"]


def test_a_token_guards_predict_and_version_but_not_the_probes(two_versions) -> None:
    follower = AliasFollower(NAME, "champion", poll_seconds=60)
    follower.refresh()
    client = TestClient(create_app(follower, token="s3cret"))
    assert client.post("/predict", json={"inputs": ["abc"]}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/version", headers=wrong).status_code == 401
    right = {"Authorization": "Bearer s3cret"}
    assert client.post("/predict", json={"inputs": ["abc"]}, headers=right).status_code == 200
    assert client.get("/ready").status_code == 200 and client.get("/health").status_code == 200


def test_not_ready_until_the_alias_exists_then_ready(two_versions) -> None:
    version = two_versions[1]
    follower = AliasFollower(NAME, "staging", poll_seconds=60)
    client = TestClient(create_app(follower))
    follower.refresh()
    response = client.get("/ready")
    assert response.status_code == 503 and "staging" in response.json()["message"]
    assert client.post("/predict", json={"inputs": ["abc"]}).status_code == 503
    MlflowClient().set_registered_model_alias(NAME, "staging", version)
    assert follower.refresh() is True
    assert client.get("/ready").json() == {"ready": True, "version": str(version)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_moving_the_alias_under_load_swaps_versions_without_a_failed_request(
    two_versions,
) -> None:
    import uvicorn

    first, second = (str(version) for version in two_versions)
    follower = AliasFollower(NAME, "champion", poll_seconds=0.2)
    follower.start()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(follower), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    while not server.started:
        time.sleep(0.05)
    outcomes: Counter[str] = Counter()
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            while not stop.is_set():
                response = http.post("/predict", json={"inputs": ["to be or not to be"]})
                ok = response.status_code == 200
                outcomes[response.headers["X-Model-Version"] if ok else "error"] += 1

    clients = [threading.Thread(target=load) for _ in range(4)]
    try:
        for thread in clients:
            thread.start()
        time.sleep(1.0)
        MlflowClient().set_registered_model_alias(NAME, "champion", second)
        deadline = time.monotonic() + 30
        while outcomes[second] < 50 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in clients:
            thread.join()
        server.should_exit = True
        serving.join(timeout=10)
        follower.stop()
    assert outcomes["error"] == 0, outcomes
    assert outcomes[first] > 0 and outcomes[second] >= 50, outcomes


def test_batch_prediction_writes_every_row_with_the_model_and_data_version(
    two_versions, prefect_server, tmp_path
) -> None:
    from pipelines.batch import batch_predict_flow

    source = tmp_path / "texts.csv"
    pd.DataFrame({"id": [7, 8], "text": ["abc", "hello"]}).to_csv(source, index=False)
    written = batch_predict_flow(NAME, str(source), columns=["text"])
    assert written == str(tmp_path / "texts.predictions.csv")
    table = pd.read_csv(written)
    assert list(table["id"]) == [7, 8] and list(table["length"]) == [3.0, 5.0]
    assert set(table["model_version"]) == {int(two_versions[0])}
    assert set(table["data_version"]) == {"hash-a"}
    assert not list(tmp_path.glob(".*partial"))


def test_batch_prediction_reads_and_writes_parquet_with_the_alias_asked_for(
    two_versions, prefect_server, tmp_path
) -> None:
    from pipelines.batch import batch_predict_flow

    MlflowClient().set_registered_model_alias(NAME, "staging", two_versions[1])
    source = tmp_path / "texts.parquet"
    pd.DataFrame({"text": ["abcd"]}).to_parquet(source)
    table = pd.read_parquet(batch_predict_flow(NAME, str(source), alias="staging"))
    assert list(table["length"]) == [4.0] and list(table["data_version"]) == ["hash-b"]


@pytest.mark.parametrize(
    ("rows", "columns", "reason"),
    [
        ({"text": ["fine", "1234"]}, None, "rejected the input: a text has no letters"),
        ({"id": [1], "text": ["fine"]}, None, "name it with --column"),
        ({"text": ["fine"]}, ["review"], "no column(s) ['review'] in the input"),
    ],
)
def test_batch_input_the_model_cannot_read_stops_with_the_reason_and_writes_nothing(
    two_versions, prefect_server, tmp_path, rows: dict, columns: list | None, reason: str
) -> None:
    from components.core.errors import UserError
    from pipelines.batch import batch_predict_flow

    source = tmp_path / "texts.csv"
    pd.DataFrame(rows).to_csv(source, index=False)
    with pytest.raises(UserError) as raised:
        batch_predict_flow(NAME, str(source), columns=columns)
    assert reason in str(raised.value)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["texts.csv"]


def test_lineage_names_the_version_its_run_and_data_version(two_versions) -> None:
    from components.core.errors import UserError
    from components.core.lineage import lineage

    MlflowClient().set_registered_model_alias(NAME, "staging", two_versions[1])
    found = lineage(f"{NAME}@staging")
    assert (found.version, found.aliases, found.data_version) == (
        str(two_versions[1]),
        ["staging"],
        "hash-b",
    )
    assert found.tags["seqpipe.model"] == "length" and found.run_id
    assert lineage(f"{NAME}/{two_versions[0]}").data_version == "hash-a"
    assert lineage(NAME).aliases == ["champion"]  # a bare name means its champion
    with pytest.raises(UserError, match=r"no model version 'nothing@champion'.*textlength-demo"):
        lineage("nothing@champion")


def test_the_server_logs_one_record_per_prediction_with_the_request_id_echoed(
    two_versions, tmp_path
) -> None:
    log = PredictionLog(tmp_path)
    client = logged_client(log)
    sent = client.post(
        "/predict", json={"inputs": ["abc", "hello"]}, headers={"X-Request-ID": "r-1"}
    )
    generated = client.post("/predict", json={"inputs": ["tempest"]})
    assert sent.status_code == generated.status_code == 200
    assert sent.headers["X-Request-ID"] == "r-1"
    generated_id = generated.headers["X-Request-ID"]
    assert len(generated_id) == 32
    first, second = read_records(tmp_path, NAME).records
    assert first["request_id"] == "r-1" and second["request_id"] == generated_id
    assert (first["registered_model"], first["alias"], first["version"]) == (
        NAME,
        "champion",
        str(two_versions[0]),
    )
    assert first["outputs"] == [{"length": 3.0}, {"length": 5.0}]
    assert first["inputs"] == ["abc", "hello"]
    assert first["time"].endswith("+00:00") and first["source"] == "server"
    assert client.get("/health").json()["predictions_logged"] == 2


def test_a_rejected_request_is_not_logged_and_a_bad_request_id_is_a_400(
    two_versions, tmp_path
) -> None:
    client = logged_client(PredictionLog(tmp_path))
    rejected = client.post("/predict", json={"inputs": ["1234"]}, headers={"X-Request-ID": "r-2"})
    assert rejected.status_code == 400 and rejected.headers["X-Request-ID"] == "r-2"
    too_large = client.post("/predict", json={"inputs": ["a" * 5_000]})
    assert too_large.status_code == 413 and too_large.headers["X-Request-ID"]
    bad_id = client.post("/predict", json={"inputs": ["abc"]}, headers={"X-Request-ID": "a b"})
    assert bad_id.status_code == 400 and "X-Request-ID" in bad_id.json()["message"]
    assert log_lines(tmp_path) == []


def test_concurrent_requests_give_whole_lines(two_versions, tmp_path) -> None:
    client = logged_client(PredictionLog(tmp_path))
    texts = ["to be or not to be, that is the question " * 5] * 8

    def send(worker: int) -> None:
        for number in range(15):
            response = client.post(
                "/predict", json={"inputs": texts}, headers={"X-Request-ID": f"w{worker}-{number}"}
            )
            assert response.status_code == 200

    workers = [threading.Thread(target=send, args=(worker,)) for worker in range(6)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    records = [json.loads(line) for line in log_lines(tmp_path)]
    assert len(records) == 90
    assert {record["request_id"] for record in records} == {
        f"w{worker}-{number}" for worker in range(6) for number in range(15)
    }


def test_records_survive_a_restart_and_huge_requests_are_cut_with_a_mark(
    two_versions, tmp_path
) -> None:
    before = logged_client(PredictionLog(tmp_path))
    assert before.post("/predict", json={"inputs": ["first"]}).status_code == 200
    (kept,) = log_lines(tmp_path)
    after = logged_client(PredictionLog(tmp_path, max_rows=2))  # a new server, the same folder
    assert after.post("/predict", json={"inputs": ["a", "bb", "ccc"]}).status_code == 200
    lines = log_lines(tmp_path)
    assert len(lines) == 2 and lines[0] == kept
    cut = json.loads(lines[1])
    assert cut["input_rows"] == cut["output_rows"] == 3
    assert len(cut["outputs"]) == 2 and cut["truncated"] == ["inputs", "outputs"]
    small = logged_client(PredictionLog(tmp_path, max_record_bytes=300))
    assert small.post("/predict", json={"inputs": ["to be or not " * 20]}).status_code == 200
    dropped = json.loads(log_lines(tmp_path)[-1])
    assert dropped["inputs"] is None and "inputs" in dropped["truncated"]


def test_a_log_that_cannot_be_written_fails_no_request_and_is_counted(
    two_versions, tmp_path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    client = logged_client(PredictionLog(blocked))
    for _ in range(2):
        assert client.post("/predict", json={"inputs": ["abc"]}).status_code == 200
    health = client.get("/health").json()
    assert health["prediction_log_failures"] == 2 and health["predictions_logged"] == 0


def test_batch_prediction_appends_its_rows_to_the_prediction_log(
    two_versions, prefect_server, tmp_path
) -> None:
    from pipelines.batch import batch_predict_flow

    source = tmp_path / "texts.csv"
    texts = [f"text number {'i' * index}" for index in range(250)]
    pd.DataFrame({"text": texts}).to_csv(source, index=False)
    written = batch_predict_flow(NAME, str(source), prediction_log=str(tmp_path / "log"))
    records = read_records(tmp_path / "log", NAME).records
    assert [record["first_row"] for record in records] == [0, 100, 200]
    assert {record["source"] for record in records} == {"batch"}
    (request_id,) = set(pd.read_csv(written)["request_id"])
    assert {record["request_id"] for record in records} == {request_id}
    lengths = [row["length"] for record in records for row in record["outputs"]]
    assert lengths == [float(len(text)) for text in texts]


class GatedFollower(AliasFollower):
    """A follower whose loads wait until the test lets them finish, as a slow model's do."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()

    def _load(self, version: str):
        self.gate.wait(timeout=60)
        return super()._load(version)


def test_the_probes_answer_while_the_first_version_loads(two_versions) -> None:
    follower = GatedFollower(NAME, "champion", poll_seconds=60)
    client = TestClient(create_app(follower))
    follower.start()
    try:
        deadline = time.monotonic() + 30
        while follower.status().loading is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.get("/health").status_code == 200
        for probe in ("/ready", "/ping"):
            response = client.get(probe)
            assert response.status_code == 503 and "loading" in response.json()["message"]
        assert client.post("/invocations", json={"inputs": ["abc"]}).status_code == 503
        follower.gate.set()
        while follower.served is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.get("/ping").status_code == 200 and client.get("/ping").text == "\n"
        assert client.get("/ready").json() == {"ready": True, "version": str(two_versions[0])}
    finally:
        follower.gate.set()
        follower.stop()


def test_a_version_that_cannot_load_leaves_the_last_one_serving_marked_stale(
    two_versions, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    first = str(two_versions[0])
    broken = MlflowClient().create_model_version(NAME, source=str(tmp_path / "gone")).version
    follower = AliasFollower(NAME, "champion", poll_seconds=60)
    follower.refresh()
    client = TestClient(create_app(follower))
    MlflowClient().set_registered_model_alias(NAME, "champion", broken)
    with caplog.at_level("INFO", logger="seqpipe.serve"):
        assert follower.refresh() is False
        assert follower.refresh() is False  # not loaded again on every poll
    (line,) = [record.getMessage() for record in caplog.records]
    assert f"version {broken} failed to load" in line and f"still serving version {first}" in line
    ready = client.get("/ready").json()
    assert ready["ready"] is True and ready["stale"] is True
    assert ready["version"] == first and ready["failed_version"] == str(broken)
    version = client.get("/version", headers=JSON).json()
    assert version["stale"] is True and version["failed_version"] == str(broken)
    assert "failed to load" in version["problem"]
    answer = client.post("/invocations", json={"inputs": ["still here"]})
    assert answer.status_code == 200 and answer.headers["X-Model-Version"] == first
    failures = metric_samples(client, "seqpipe_serve_model_load_failures_total")
    assert failures == {(): 1.0}
    MlflowClient().set_registered_model_alias(NAME, "champion", first)
    follower.refresh()
    assert "stale" not in client.get("/ready").json()
    MlflowClient().delete_model_version(NAME, broken)


def test_a_deleted_alias_marks_the_served_version_stale(two_versions) -> None:
    MlflowClient().set_registered_model_alias(NAME, "staging", two_versions[1])
    follower = AliasFollower(NAME, "staging", poll_seconds=60)
    follower.refresh()
    client = TestClient(create_app(follower))
    MlflowClient().delete_registered_model_alias(NAME, "staging")
    follower.refresh()
    ready = client.get("/ready").json()
    assert ready["stale"] is True and ready["failed_version"] is None
    assert "staging" in ready["problem"]


def metric_samples(client: TestClient, name: str) -> dict[tuple, float]:
    """The samples of one metric family in ``/metrics``, by their label values."""
    from prometheus_client.parser import text_string_to_metric_families

    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == name
    }


def test_metrics_count_requests_loads_and_log_writes(two_versions, tmp_path) -> None:
    first = str(two_versions[0])
    client = logged_client(PredictionLog(tmp_path))
    for _ in range(3):
        assert client.post("/invocations", json={"inputs": ["abc"]}).status_code == 200
    assert client.post("/invocations", json={"inputs": ["1234"]}).status_code == 400
    assert client.get("/no-such-page").status_code == 404
    requests = metric_samples(client, "seqpipe_serve_requests_total")
    labels = {"route": "/invocations", "method": "POST", "model_version": first}
    assert requests[tuple(sorted((labels | {"status": "200"}).items()))] == 3
    assert requests[tuple(sorted((labels | {"status": "400", "model_version": ""}).items()))] == 1
    assert any(dict(key)["route"] == "other" for key in requests)
    latency = metric_samples(client, "seqpipe_serve_request_duration_seconds_count")
    assert latency[(("route", "/invocations"),)] == 4
    assert metric_samples(client, "seqpipe_serve_requests_in_flight") == {(): 1.0}  # /metrics
    loads = metric_samples(client, "seqpipe_serve_model_load_duration_seconds_count")
    assert loads == {(("outcome", "loaded"),): 1.0}
    info = metric_samples(client, "seqpipe_serve_model_info")
    assert info == {
        (
            ("alias", "champion"),
            ("registered_model", NAME),
            ("stale", "False"),
            ("version", first),
        ): 1
    }
    writes = metric_samples(client, "seqpipe_serve_prediction_log_writes_total")
    assert writes == {(("outcome", "written"),): 3.0, (("outcome", "failed"),): 0.0}


def test_a_chunked_body_over_the_limit_gets_413_and_a_large_answer_is_not_sent(
    two_versions,
) -> None:
    follower = AliasFollower(NAME, "champion", poll_seconds=60)
    follower.refresh()
    client = TestClient(
        create_app(follower, limits=ServingLimits(max_request_bytes=2_000, max_response_bytes=200))
    )

    def chunks():  # no Content-Length: the size is known only while reading
        yield b'{"inputs": ["'
        for _ in range(10):
            yield b"a" * 500
        yield b'"]}'

    response = client.post(
        "/invocations", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and "2000 bytes" in response.json()["message"]
    many = client.post("/invocations", json={"inputs": ["abc"] * 40})
    assert many.status_code == 413 and "--max-response-bytes" in many.json()["message"]
    assert client.post("/invocations", json={"inputs": ["abc"]}).status_code == 200


def test_a_shadow_challenger_scores_every_answer_off_the_request_path(
    two_versions, tmp_path
) -> None:
    from pipelines.shadow import ShadowScorer

    first, second = (str(version) for version in two_versions)
    MlflowClient().set_registered_model_alias(NAME, "challenger", second)
    log = PredictionLog(tmp_path)
    shadow = ShadowScorer(AliasFollower(NAME, "challenger", poll_seconds=60), log)
    shadow.follower.refresh()
    shadow.start()
    follower = AliasFollower(NAME, "champion", poll_seconds=60)
    follower.refresh()
    client = TestClient(create_app(follower, prediction_log=log, shadow=shadow))
    try:
        for number in range(3):
            answer = client.post(
                "/invocations", json={"inputs": ["abc"]}, headers={"X-Request-ID": f"s-{number}"}
            )
            assert answer.status_code == 200 and answer.headers["X-Model-Version"] == first
        assert client.post("/invocations", json={"inputs": ["1234"]}).status_code == 400
        shadow.drain()
        assert client.get("/version", headers=JSON).json()["shadow"]["version"] == second
        outcomes = metric_samples(client, "seqpipe_serve_shadow_predictions_total")
        assert outcomes[(("outcome", "scored"),)] == 3
    finally:
        shadow.stop()
        MlflowClient().delete_registered_model_alias(NAME, "challenger")
    records = read_records(tmp_path, NAME).records
    by_source = Counter(
        (record["source"], record["alias"], record["version"]) for record in records
    )
    assert by_source == {("server", "champion", first): 3, ("shadow", "challenger", second): 3}
    shadowed = {record["request_id"] for record in records if record["source"] == "shadow"}
    assert shadowed == {"s-0", "s-1", "s-2"}  # the rejected request is no prediction of either


def test_a_shadow_not_loaded_yet_costs_the_caller_nothing(two_versions, tmp_path) -> None:
    from pipelines.shadow import ShadowScorer

    log = PredictionLog(tmp_path)
    shadow = ShadowScorer(AliasFollower(NAME, "no-such-alias", poll_seconds=60), log)
    shadow.start()
    follower = AliasFollower(NAME, "champion", poll_seconds=60)
    follower.refresh()
    client = TestClient(create_app(follower, prediction_log=log, shadow=shadow))
    try:
        assert client.post("/invocations", json={"inputs": ["abc"]}).status_code == 200
        shadow.drain()
        assert shadow.outcomes["unloaded"] == 1 and shadow.outcomes["scored"] == 0
    finally:
        shadow.stop()
