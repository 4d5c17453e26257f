"""Checks of a scoring request's JSON against a model's signature, before any conversion.

MLflow's schema enforcement converts what it can: ``null`` or ``true`` sent for a string
column become the strings "None" and "True", and a model would answer them. These checks
look at the JSON values themselves, so every such request is a 400 that says what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mlflow.models import ModelSignature
from mlflow.types import ColSpec, DataType

from components.core.serving import bad_request

# The input fields of MLflow's scoring protocol; a request sends exactly one of them.
INPUT_FORMATS = ("dataframe_split", "dataframe_records", "inputs", "instances")
PARAMS_FIELD = "params"
MESSAGE_LIMIT = 300  # characters of an error message a client gets back


def check_request(payload: Mapping[str, Any], signature: ModelSignature | None) -> None:
    """Raise a 400 naming the first problem of a scoring request, or return.

    Checks: one input format; every value of every column has the JSON type the signature
    declares (no null, no boolean or number for text, no text for numbers); only parameters
    the signature's params schema declares.
    """
    unknown = sorted(set(payload) - {*INPUT_FORMATS, PARAMS_FIELD})
    if unknown:
        raise bad_request(
            f"unknown request field(s) {unknown}; send one of {list(INPUT_FORMATS)} "
            f"and optionally {PARAMS_FIELD!r}"
        )
    formats = [name for name in INPUT_FORMATS if name in payload]
    if len(formats) != 1:
        raise bad_request(
            f"send exactly one input field of {list(INPUT_FORMATS)}, got {formats or 'none'}"
        )
    if signature is None:
        return
    if signature.inputs is not None and not signature.inputs.is_tensor_spec():
        columns = list(signature.inputs.inputs)
        for where, column, value in _cells(formats[0], payload[formats[0]], columns):
            problem = _type_problem(value, column)
            if problem:
                raise bad_request(f"{where}: {problem}")
    _check_params(payload.get(PARAMS_FIELD), signature)


def short_reason(message: str) -> str:
    """The first line of an error message, without an echo of the request, at most
    ``MESSAGE_LIMIT`` characters."""
    message = str(message).strip()
    # MLflow's schema errors begin with an echo of the data: "Failed to ... 'data'. Error: why".
    if message.startswith("Failed to") and "Error: " in message:
        message = message.split("Error: ", 1)[1]
    first = next((line.strip() for line in message.splitlines() if line.strip()), "")
    return first if len(first) <= MESSAGE_LIMIT else first[: MESSAGE_LIMIT - 3] + "..."


def _cells(form: str, data: Any, columns: list[ColSpec]) -> Iterator[tuple[str, ColSpec, Any]]:
    """(where, column spec, JSON value) for every cell of the request's input."""
    by_name = {column.name: column for column in columns if column.name is not None}
    if form == "dataframe_split":
        if not isinstance(data, Mapping) or not isinstance(data.get("data"), list):
            raise bad_request("dataframe_split must be an object with a 'data' list of rows")
        names = data.get("columns") or [column.name for column in columns]
        for row_number, row in enumerate(data["data"]):
            if not isinstance(row, list):
                raise bad_request(f"dataframe_split row {row_number} is not a list")
            for name, value in zip(names, row, strict=False):
                if name in by_name:
                    yield f"row {row_number}, column {name!r}", by_name[name], value
        return
    if form == "dataframe_records" or (
        isinstance(data, list) and data and isinstance(data[0], Mapping)
    ):
        if not isinstance(data, list):
            raise bad_request(f"{form} must be a list of records")
        for row_number, record in enumerate(data):
            if not isinstance(record, Mapping):
                raise bad_request(f"{form} record {row_number} is not an object")
            for name, value in record.items():
                if name in by_name:
                    yield f"record {row_number}, column {name!r}", by_name[name], value
        return
    if isinstance(data, Mapping):
        for name, values in data.items():
            if name not in by_name:
                continue
            for row_number, value in enumerate(values if isinstance(values, list) else [values]):
                yield f"{form} {name!r}[{row_number}]", by_name[name], value
        return
    # A list of scalars (or one scalar) fills a model's single column.
    if len(columns) > 1:
        names = [column.name for column in columns]
        raise bad_request(
            f"{form} must name the model's columns {names}: send records or an object "
            "of column lists"
        )
    if len(columns) == 1:
        for row_number, value in enumerate(data if isinstance(data, list) else [data]):
            yield f"{form}[{row_number}]", columns[0], value


def _type_problem(value: Any, column: ColSpec) -> str | None:
    """What is wrong with one JSON value for a column, or None."""
    expected = column.type
    if not isinstance(expected, DataType):  # arrays, objects and maps: MLflow checks them
        return None
    if value is None:
        return f"is null; expected {expected.name}" if column.required else None
    if expected in (DataType.string, DataType.datetime):
        return None if isinstance(value, str) else _wrong(value, expected)
    if expected == DataType.boolean:
        return None if isinstance(value, bool) else _wrong(value, expected)
    if expected in (DataType.double, DataType.float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else _wrong(value, expected)
    if expected in (DataType.integer, DataType.long):
        ok = isinstance(value, int) and not isinstance(value, bool)
        if isinstance(value, float) and value.is_integer():
            ok = True
        return None if ok else _wrong(value, expected)
    return None


def _wrong(value: Any, expected: DataType) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"is {type(value).__name__} {shown}; expected {expected.name}"


def _check_params(params: Any, signature: ModelSignature) -> None:
    if params is None:
        return
    if not isinstance(params, Mapping):
        raise bad_request(f"{PARAMS_FIELD!r} must be an object of parameter names to values")
    declared = [spec.name for spec in signature.params.params] if signature.params else []
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise bad_request(
            f"unknown parameter(s) {unknown}; this model takes {declared or 'no parameters'}"
        )
