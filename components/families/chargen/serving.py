"""The character generation pyfunc: prompts in, continuations out, decoding as request params."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from components.core.contract import LoggedModel
from components.core.registry import GENERATED
from components.core.serving import FamilyModel, bad_request, check_work, input_strings
from components.families.chargen.config import SamplingConfig
from components.families.chargen.decoding import generate

MAX_CHARS = 5000  # characters one request may ask for per prompt
MAX_PROMPT_CHARS = 10_000
MAX_PROMPTS = 64
# Characters one request may generate over all its prompts: each is a step of the network.
MAX_GENERATED_CHARS = 50_000
# Inference params with their defaults when no sampling config sets them.
DEFAULT_PARAMS: dict[str, Any] = {"max_chars": 200, "temperature": 1.0, "top_k": 0, "seed": 42}


def configured_params(sampling: SamplingConfig) -> dict[str, Any]:
    """A request's defaults: the configured sample length and seed, temperature 1 and every
    character (the configured temperatures are a sweep for the written samples, not one)."""
    return DEFAULT_PARAMS | {"max_chars": sampling.max_chars, "seed": sampling.seed}


class CharGeneratorModel(FamilyModel):
    """Continues each prompt with a character language model (a network or the n-gram).

    Params: ``max_chars`` (1..5000), ``temperature`` (> 0; near 0 is greedy), ``top_k`` (0:
    every character; 1: greedy), ``seed`` (the same request gives the same text).

    Args:
        language_model: a fitted ``CharNetwork`` or ``WittenBellModel``.
        params: the defaults of a request's params (``DEFAULT_PARAMS`` when None); logged as
            the signature's params schema, which a server fills missing params from.
    """

    packages = ("tensorflow-cpu", "keras")

    def __init__(self, language_model: Any, params: dict[str, Any] | None = None) -> None:
        super().__init__(language_model)
        self.params = dict(params or DEFAULT_PARAMS)

    @property
    def language_model(self) -> Any:
        return self.model

    def default_params(self) -> dict[str, Any]:
        return self.params

    def log(self, sample: list[str]) -> LoggedModel:
        with warnings.catch_warnings():
            # MLflow warns that integer columns cannot hold missing values; ``characters``
            # never does (every row counts its generated characters).
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
            return super().log(sample)

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None):
        """Columns ``prompt``, ``generated``, ``characters`` and ``entropy_bits`` (mean entropy
        of the distributions the characters were drawn from), one row per prompt."""
        prompts = check_prompts(model_input)
        settings = check_params(params, self.params)
        check_work(
            len(prompts) * settings["max_chars"],
            MAX_GENERATED_CHARS,
            "characters",
            f"{len(prompts)} prompt(s) x max_chars {settings['max_chars']}",
            "send fewer prompts or a smaller max_chars",
        )
        with self.language_model.decoding() as decoder:
            samples = [
                generate(decoder, self.language_model.vectorizer, prompt, **settings)
                for prompt in prompts
            ]
        return pd.DataFrame(
            {
                "prompt": prompts,
                GENERATED: [sample.text for sample in samples],
                "characters": [len(sample.text) for sample in samples],
                "entropy_bits": [sample.entropy_bits for sample in samples],
            }
        )


def check_prompts(model_input: Any) -> list[str]:
    """The prompts of a request: a string, a list of strings, a Series or a one-column table.

    Raises:
        MlflowException: (HTTP 400) if there is no prompt, too many, or one is not text,
            empty or too long.
    """
    values = input_strings(model_input, "prompt", "continue")
    if len(values) > MAX_PROMPTS:
        raise bad_request(f"{len(values)} prompts in one request; at most {MAX_PROMPTS}")
    for index, value in enumerate(values):
        if not value:
            raise bad_request(f"prompt at position {index} is empty: give at least one character")
        if len(value) > MAX_PROMPT_CHARS:
            raise bad_request(
                f"prompt at position {index} has {len(value)} characters; "
                f"at most {MAX_PROMPT_CHARS}"
            )
    return values


def check_params(
    params: dict[str, Any] | None, defaults: dict[str, Any] = DEFAULT_PARAMS
) -> dict[str, Any]:
    """The decoding settings of a request, missing ones taken from ``defaults``.

    Raises:
        MlflowException: (HTTP 400) naming the parameter that is unknown or out of range.
    """
    given = dict(params or {})
    unknown = sorted(set(given) - set(DEFAULT_PARAMS))
    if unknown:
        raise bad_request(f"unknown param(s) {unknown}; valid params: {sorted(DEFAULT_PARAMS)}")
    settings = defaults | given
    for name in DEFAULT_PARAMS:
        value = settings[name]
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if isinstance(value, bool) or not np.isfinite(number):
            raise bad_request(f"{name} must be a number, got {value!r}")
        if name != "temperature" and not number.is_integer():
            raise bad_request(f"{name} must be a whole number, got {value!r}")
        settings[name] = number if name == "temperature" else int(number)
    if not 1 <= settings["max_chars"] <= MAX_CHARS:
        raise bad_request(
            f"max_chars must be between 1 and {MAX_CHARS}, got {settings['max_chars']}"
        )
    if settings["temperature"] <= 0:
        raise bad_request(f"temperature must be > 0, got {settings['temperature']}")
    if settings["top_k"] < 0:
        raise bad_request(f"top_k must be 0 (every character) or more, got {settings['top_k']}")
    return settings
