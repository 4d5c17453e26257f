"""Inference params from the command line (``NAME=VALUE``), typed by a model's signature."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from components.core.errors import UserError

if TYPE_CHECKING:
    from mlflow.types import ParamSchema, ParamSpec


def params_from_text(
    pairs: Sequence[str], schema: ParamSchema | None, model_name: str
) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as the inference params ``schema`` declares, each value of its type.

    Raises:
        UserError: if a pair is malformed, names a param the schema lacks (the message lists
            the valid ones) or holds a value that is not of the param's type.
    """
    specs = {spec.name: spec for spec in schema.params} if schema else {}
    params: dict[str, Any] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals or not name:
            raise UserError(f"--param {pair!r}: write NAME=VALUE, e.g. temperature=0.5")
        if name not in specs:
            valid = ", ".join(
                f"{spec.name} ({_type_name(spec)}, default {spec.default!r})"
                for spec in specs.values()
            )
            raise UserError(
                f"{model_name} takes no param {name!r}; valid params: {valid or 'none'}"
            )
        params[name] = _param_value(text, specs[name])
    return params


def _param_value(text: str, spec: ParamSpec) -> Any:
    if spec.shape == (-1,):  # a list param: comma-separated values
        return [_scalar(part.strip(), spec) for part in text.split(",")]
    return _scalar(text, spec)


def _scalar(text: str, spec: ParamSpec) -> Any:
    from mlflow.types import DataType

    converters: dict[Any, Callable[[str], Any]] = {
        DataType.integer: int,
        DataType.long: int,
        DataType.float: float,
        DataType.double: float,
        DataType.boolean: _boolean,
        DataType.string: str,
        DataType.datetime: dt.datetime.fromisoformat,
    }
    convert = converters.get(spec.dtype, json.loads)  # an object param: JSON
    try:
        return convert(text)
    except ValueError:
        raise UserError(
            f"--param {spec.name}={text!r}: {spec.name} takes {_type_name(spec)}, "
            f"e.g. {spec.name}={spec.default!r}"
        ) from None


def _boolean(text: str) -> bool:
    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    if text.lower() not in words:
        raise ValueError(text)
    return words[text.lower()]


def _type_name(spec: ParamSpec) -> str:
    from mlflow.types import DataType

    names: dict[Any, str] = {
        DataType.integer: "a whole number",
        DataType.long: "a whole number",
        DataType.float: "a number",
        DataType.double: "a number",
        DataType.boolean: "true or false",
        DataType.string: "text",
        DataType.datetime: "a date and time (ISO 8601)",
    }
    kind = names.get(spec.dtype, "JSON")
    return f"a list of {kind} (comma-separated)" if spec.shape == (-1,) else kind
