"""The registered translator: raw strings in, ISO dates out, beam width as an MLflow inference
parameter; a bad request is an HTTP 400 that names the problem."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from components.core import stages
from components.core.contract import Task
from components.core.errors import UserError
from components.families.translation.family import TranslationFamily
from components.families.translation.serving import MAX_DECODED_SEQUENCES

FAMILY = TranslationFamily()


@pytest.fixture(scope="module")
def logged(tmp_path_factory, workspace_env, tiny):
    """A tiny Luong translator logged and loaded back through MLflow (and its URI, data and
    config), and the vector-to-sequence decoder's pyfunc in memory (its round trip:
    test_every_family)."""
    from components.core import tracking

    workspace = tmp_path_factory.mktemp("translation-serving")
    with workspace_env(workspace):
        tracking.configure(workspace)
        config = tiny.every_model_config()
        prepared = tiny.prepared(config)
        attention, vector = config.runs(["luong_attention", "vector_to_sequence"])
        fitted = FAMILY.fit(prepared, attention, workspace / attention.key, [])
        with mlflow.start_run():
            uri = FAMILY.log_model(prepared, fitted).uri
        decoder = FAMILY.fit(prepared, vector, workspace / vector.key, []).model
        yield {
            "luong_attention": mlflow.pyfunc.load_model(uri),
            "vector_to_sequence": decoder,
            "uri": uri,
            "prepared": prepared,
            "config": config,
        }


def test_strings_in_translations_out_with_beam_width_as_an_inference_parameter(logged) -> None:
    model = logged["luong_attention"]
    assert [param.name for param in model.metadata.get_params_schema().params] == ["beam_width"]
    texts = ["April 22, 2019", "Monday, April 22, 2019"]
    for width in (1, 3):
        answer = model.predict(texts, params={"beam_width": width})
        assert list(answer.columns) == ["translation", "log_probability"]
        assert len(answer) == 2 and answer["translation"].map(type).eq(str).all()
        assert (answer["log_probability"] <= 0).all()
    # Search ranks by the length-normalised score, not the raw log-probability: a wider beam
    # may return a longer, less likely output, but never one ranked below greedy's.
    translator = model.unwrap_python_model().translator
    greedy, wider = (translator.decode(texts, width).score for width in (1, 3))
    assert (wider >= greedy - 1e-6).all()


def test_requests_batched_together_get_what_each_gets_alone(logged) -> None:
    model = logged["luong_attention"]
    python_model = model.unwrap_python_model()
    assert python_model.batches_requests()
    requests = [["April 22, 2019", "3 March 1999"], ["Monday, April 22, 2019"], ["1 May 2000"]]
    for params in ({"beam_width": 1}, {"beam_width": 3}):
        batched = python_model.predict_batch(requests, params)
        for request, answer in zip(requests, batched, strict=True):
            alone = model.predict(request, params=params)
            assert list(answer["translation"]) == list(alone["translation"])
            np.testing.assert_allclose(
                answer["log_probability"], alone["log_probability"], atol=1e-4
            )
    # A batched call decodes no more sequences than one request may.
    assert python_model.max_rows_per_call({"beam_width": 4}) == MAX_DECODED_SEQUENCES // 4


def test_a_champion_is_rescored_on_its_gate_metric(logged, tmp_path: Path) -> None:
    from components.core.config import GateConfig

    config, prepared = logged["config"], logged["prepared"]
    run = config.runs(["luong_attention"])[0]
    model = logged["luong_attention"].unwrap_python_model()
    evaluated = stages.assess(FAMILY, prepared, run, model, None, tmp_path)[0].metrics
    first_format = prepared.rows("test")["format"].iloc[0]
    for metric in ("test_token_accuracy", f"test_exact_match_{first_format}"):
        gate = GateConfig(metric=metric, greater_is_better=True, margin=0.0)
        gated = config.model_copy(update={"gate": gate})
        regated = replace(prepared, task=Task(gated, prepared.task.name))
        assert stages.rescore(FAMILY, regated, run, logged["uri"]) == pytest.approx(
            evaluated[metric]
        )


def test_a_gate_metric_rescore_cannot_compute_is_refused_with_the_scored_ones(logged) -> None:
    from components.core.config import GateConfig

    gate = GateConfig(metric="test_bleu", greater_is_better=True, margin=0.0)
    config = logged["config"].model_copy(update={"gate": gate})
    run = config.runs(["luong_attention"])[0]
    prepared = replace(logged["prepared"], task=Task(config, logged["prepared"].task.name))
    with pytest.raises(UserError, match=r"'test_bleu' is not scored .*'test_exact_match'"):
        stages.rescore(FAMILY, prepared, run, logged["uri"])


def test_the_vector_to_sequence_decoder_reads_year_month_day(logged) -> None:
    answer = logged["vector_to_sequence"].predict(
        None, pd.DataFrame({"year": [2019, 1000], "month": [4, 1], "day": [22, 1]})
    )
    assert len(answer) == 2 and answer["translation"].map(type).eq(str).all()


BAD_TEXTS = {
    "no text": ([], r"no text to translate"),
    "empty": (["April 22, 2019", "  "], r"position\(s\) \[1\] are empty"),
    "not text": (["April 22, 2019", 20190422], r"position\(s\) \[1\] are not text"),
    "too long": (["April 22, 2019" * 4], r"too long: \[56\] characters, at most 32"),
    "unknown character": (["April 22, 2019 ☃"], r"characters never seen in training"),
    "unknown word": (["hello 2019"], r"words never seen in training, e.g. \['hello'\]"),
    "no year": (["April 22"], r"no four-digit year"),
    "two columns": (pd.DataFrame({"a": ["x"], "b": ["y"]}), r"expected one column"),
}


@pytest.mark.parametrize("case", list(BAD_TEXTS))
def test_bad_text_is_a_400_naming_the_problem(logged, case: str) -> None:
    value, message = BAD_TEXTS[case]
    with pytest.raises(MlflowException, match=message) as raised:
        logged["luong_attention"].unwrap_python_model().predict(None, value)
    assert raised.value.get_http_status_code() == 400


@pytest.mark.parametrize("width", [0, 17, 2.5, "wide", [3]])
def test_a_bad_beam_width_is_a_400(logged, width) -> None:
    model = logged["luong_attention"].unwrap_python_model()
    with pytest.raises(
        MlflowException, match="beam_width must be a whole number from 1 to 16"
    ) as raised:
        model.predict(None, ["April 22, 2019"], params={"beam_width": width})
    assert raised.value.get_http_status_code() == 400


def test_an_unknown_parameter_is_a_400_naming_the_valid_ones(logged) -> None:
    model = logged["luong_attention"].unwrap_python_model()
    with pytest.raises(
        MlflowException, match=r"unknown parameter\(s\) \['beam_size'\]; valid: \['beam_width'\]"
    ) as raised:
        model.predict(None, ["April 22, 2019"], params={"beam_size": 3})
    assert raised.value.get_http_status_code() == 400


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pd.DataFrame({"year": [2019], "month": [4]}), r"missing \['day'\]"),
        (pd.DataFrame({"year": [2019], "month": [2], "day": [30]}), r"row\(s\) \[0\] name no"),
        (pd.DataFrame({"year": [999], "month": [1], "day": [1]}), r"from year 1000 to 9999"),
        (pd.DataFrame({"year": ["MMXIX"], "month": [4], "day": [22]}), r"row\(s\) \[0\]"),
    ],
    ids=["missing column", "no such day", "year out of range", "not a number"],
)
def test_a_bad_date_vector_is_a_400(logged, table: pd.DataFrame, message: str) -> None:
    with pytest.raises(MlflowException, match=message):
        logged["vector_to_sequence"].predict(None, table)


def test_a_saved_translator_needs_no_code_path_guessing(logged, tmp_path: Path) -> None:
    translator = logged["luong_attention"].unwrap_python_model().translator
    translator.save(tmp_path / "saved")
    from components.families.translation.networks import Translator

    again = Translator.load(tmp_path / "saved")
    texts = ["22 Apr 2019", "the 1st of May 1234"]
    assert again.translate(texts, 2)[0] == translator.translate(texts, 2)[0]


def test_texts_times_beam_width_over_the_limit_is_a_400_naming_both(logged) -> None:
    from components.families.translation.serving import MAX_DECODED_SEQUENCES

    model = logged["luong_attention"].unwrap_python_model()
    texts = ["April 22, 2019"] * (MAX_DECODED_SEQUENCES // 16 + 1)
    with pytest.raises(
        MlflowException, match=f"{len(texts)} input\\(s\\) x beam_width 16"
    ) as raised:
        model.predict(None, texts, params={"beam_width": 16})
    assert raised.value.get_http_status_code() == 400
    assert "narrower beam" in raised.value.message
