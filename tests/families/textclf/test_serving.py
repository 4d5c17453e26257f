"""A served text classifier takes raw strings, returns probabilities and labels, and answers 4xx
to empty or non-text input while it keeps serving."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.families.textclf.config import TextArchitecture, TextclfConfig, TextTrainingConfig
from components.families.textclf.networks import TextClassifier
from components.families.textclf.vectorizer import WordVectorizer

from .tiny import LABELS, TEXTS

TRAIN = TEXTS * 3
TARGETS = np.array([0, 1, 2, 0, 1, 2] * 3)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> TextClassifier:
    vectorizer = WordVectorizer(vocabulary_size=50, sequence_length=8).fit(TRAIN)
    run = TextclfConfig(
        tasks={},
        models=[],
        architecture=TextArchitecture(embedding_dim=4, units=4, dropout=0.0),
        training=TextTrainingConfig(epochs=1, batch_size=6, patience=1),
    ).resolve({"name": "gru"})
    model = TextClassifier(run, LABELS, vectorizer)
    ids = vectorizer.transform(TRAIN)
    model.fit(
        {"train": ids, "validation": ids},
        {"train": TARGETS, "validation": TARGETS},
        backup_dir=tmp_path_factory.mktemp("backup"),
    )
    return model


@pytest.fixture(scope="module")
def served(classifier: TextClassifier, tmp_path_factory):
    """The classifier logged once to a store of this module (and registered as the champion of
    textclf-test), loaded back as a pyfunc."""
    import mlflow

    from components.core import tracking
    from components.families.textclf.serving import TextClassifierModel

    previous = mlflow.get_tracking_uri()
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        tracking.configure(tmp_path_factory.mktemp("store"))
        with mlflow.start_run():
            uri = TextClassifierModel(classifier).log(TRAIN[:3]).uri
        version = mlflow.register_model(uri, "textclf-test").version
        mlflow.MlflowClient().set_registered_model_alias("textclf-test", "champion", version)
        yield mlflow.pyfunc.load_model(uri)
    mlflow.set_tracking_uri(previous)
    mlflow.set_registry_uri(previous)


def test_pyfunc_takes_a_list_of_strings_or_a_one_column_table(served, classifier) -> None:
    texts = ["the crown of england", "a wedding jest", "words never seen before"]
    predicted = served.predict(texts)
    columns = [f"probability_{label}" for label in LABELS]
    assert list(predicted.columns) == ["label", *columns]
    probabilities = predicted[columns].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probabilities, classifier.predict_proba(texts), rtol=1e-5)
    assert list(predicted["label"]) == [LABELS[index] for index in probabilities.argmax(axis=1)]
    table = served.predict(pd.DataFrame({"text": texts}))
    pd.testing.assert_frame_equal(table, predicted)
    assert [kind.name for kind in served.metadata.get_input_schema().input_types()] == ["string"]


def test_requests_batched_together_get_what_each_gets_alone(served) -> None:
    python_model = served.unwrap_python_model()
    assert python_model.batches_requests()
    requests = [
        np.array(["the crown of england", "a wedding jest"], dtype=object),
        ["words never seen before"],
        pd.DataFrame({"text": ["the king"]}),  # not stacked with lists: predicted alone
    ]
    batched = python_model.predict_batch(requests[:2])
    assert [len(answer) for answer in batched] == [2, 1]
    for request, answer in zip(requests[:2], batched, strict=True):
        pd.testing.assert_frame_equal(answer, served.predict(list(request)))
    mixed = python_model.predict_batch(requests)
    pd.testing.assert_frame_equal(mixed[2], served.predict(requests[2]))


BAD_INPUT = {
    "no texts": ([], "missing inputs"),  # the signature check answers before the model does
    "empty": ([""], r"position\(s\) \[0\] are empty or have no words"),
    "blank": (["fine", "   "], r"position\(s\) \[1\] are empty"),
    "digits": (["fine", "12345"], r"have no words: \['12345'\]"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_pyfunc_rejects_empty_or_non_text_input_with_a_clear_message(served, case: str) -> None:
    from mlflow.exceptions import MlflowException

    bad, message = BAD_INPUT[case]
    with pytest.raises(MlflowException, match=message) as raised:
        served.predict(bad)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"  # HTTP 400 when served


@pytest.fixture(scope="module")
def client(served):
    from fastapi.testclient import TestClient

    from pipelines.alias_follower import AliasFollower
    from pipelines.model_server import create_app

    follower = AliasFollower("textclf-test", "champion")
    follower.refresh()
    return TestClient(create_app(follower))


GOOD = {"inputs": ["the king of england", "a merry wedding"]}


def test_concurrent_requests_each_get_their_own_answer(client) -> None:
    import asyncio

    import httpx

    bodies = [{"inputs": [f"the king of england {'and ' * n}a merry wedding"]} for n in range(8)]
    alone = [client.post("/invocations", json=body).json() for body in bodies]

    async def at_once() -> list:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://server") as session:
            answers = await asyncio.gather(
                *(session.post("/invocations", json=body) for body in bodies)
            )
        return [answer.json() for answer in answers]

    assert asyncio.run(at_once()) == alone
    metrics = client.get("/metrics").text
    assert "seqpipe_serve_prediction_batch_size_sum 16.0" in metrics  # every request counted


BAD = {
    "empty list": {"inputs": []},
    "empty string": {"inputs": ["the king", ""]},
    "numbers": {"inputs": [1, 2]},
    "null": {"inputs": [None]},
    "boolean": {"inputs": [True]},
    "null in a table": {"dataframe_split": {"columns": ["text"], "data": [[None]]}},
    "empty table": {"dataframe_split": {"columns": ["text"], "data": []}},
    "not json": "{not json",
}


def test_served_model_answers_raw_strings(client) -> None:
    response = client.post("/predict", json=GOOD)
    assert response.status_code == 200, response.text
    predictions = pd.DataFrame(response.json()["predictions"])
    assert len(predictions) == 2 and set(predictions["label"]) <= set(LABELS)
    table = {"dataframe_split": {"columns": ["text"], "data": [["the king of england"]]}}
    assert client.post("/predict", json=table).status_code == 200


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_request_gets_4xx_and_server_keeps_serving(client, case: str) -> None:
    body = BAD[case] if isinstance(BAD[case], str) else json.dumps(BAD[case])
    response = client.post("/predict", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, (case, response.status_code, response.text)
    assert client.post("/predict", json=GOOD).status_code == 200


def test_requirements_pin_only_packages_an_index_can_install(served) -> None:
    from importlib.metadata import version

    import mlflow

    requirements = Path(mlflow.pyfunc.get_model_dependencies("models:/textclf-test@champion"))
    pins = dict(line.split("==") for line in requirements.read_text().splitlines() if "==" in line)
    assert "seqpipe" not in pins  # our code is not on an index; the environment provides it
    assert {"mlflow", "tensorflow-cpu", "scikit-learn"} <= set(pins)
    assert all(version(name) == pinned for name, pinned in pins.items())


def test_the_openapi_example_is_the_models_own_request_and_is_answered(client) -> None:
    from tests.serving import post_openapi_example

    response = post_openapi_example(client)
    assert response.status_code == 200, response.text
    assert response.json()["predictions"]
