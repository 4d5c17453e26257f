"""The OpenAPI description of a served model's real request, built from its MLflow signature.

The JSON body's schema names the model's own columns and types in each layout of MLflow's
scoring protocol, and its parameters with their defaults; the example is the request MLflow
saved beside the model (``serving_input_example.json``), which the model is known to answer.
"""

from __future__ import annotations

from typing import Any

from mlflow.models import ModelSignature
from mlflow.types import ColSpec, DataType, ParamSchema, Schema

from components.core.serving_checks import INPUT_FORMATS, PARAMS_FIELD

JSON_TYPES: dict[DataType, dict[str, Any]] = {
    DataType.boolean: {"type": "boolean"},
    DataType.integer: {"type": "integer"},
    DataType.long: {"type": "integer"},
    DataType.float: {"type": "number"},
    DataType.double: {"type": "number"},
    DataType.string: {"type": "string"},
    DataType.binary: {"type": "string", "format": "byte"},
    DataType.datetime: {"type": "string", "format": "date-time"},
}


def request_schema(signature: ModelSignature | None) -> dict[str, Any]:
    """The JSON schema of a scoring request body for a model with ``signature``."""
    layouts = _layouts(signature.inputs if signature else None)
    properties: dict[str, Any] = dict(layouts)
    if signature is not None and signature.params:
        properties[PARAMS_FIELD] = params_schema(signature.params)
    return {
        "type": "object",
        "description": f"Exactly one of {', '.join(INPUT_FORMATS)}"
        + (f", and optionally {PARAMS_FIELD}" if PARAMS_FIELD in properties else ""),
        "properties": properties,
        "additionalProperties": False,
        "minProperties": 1,
    }


def params_schema(params: ParamSchema) -> dict[str, Any]:
    """The inference parameters a model takes, with their types and defaults."""
    properties = {}
    for spec in params.params:
        value = dict(JSON_TYPES[spec.dtype]) if isinstance(spec.dtype, DataType) else {}
        if spec.shape is not None:  # a list parameter
            value = {"type": "array", "items": value}
        properties[spec.name] = {**value, "default": spec.default}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _layouts(inputs: Schema | None) -> dict[str, Any]:
    if inputs is None or inputs.is_tensor_spec():
        anything: dict[str, Any] = {"description": "the model's tensor input"}
        return dict.fromkeys(INPUT_FORMATS, anything)
    columns = [column for column in inputs.inputs if isinstance(column, ColSpec)]
    named = [column for column in columns if column.name is not None]
    if not named:  # one unnamed column: a list of values
        values = {"type": "array", "items": _type(columns[0]) if columns else {}}
        return {"inputs": values, "instances": values}
    row = {
        "type": "object",
        "properties": {column.name: _type(column) for column in named},
        "required": [column.name for column in named if column.required],
    }
    by_column = {
        "type": "object",
        "properties": {column.name: {"type": "array", "items": _type(column)} for column in named},
    }
    names = [column.name for column in named]
    return {
        "dataframe_split": {
            "type": "object",
            "properties": {
                "columns": {"type": "array", "items": {"type": "string", "enum": names}},
                "data": {"type": "array", "items": {"type": "array"}},
            },
            "required": ["data"],
        },
        "dataframe_records": {"type": "array", "items": row},
        "inputs": {"oneOf": [by_column, {"type": "array", "items": row}]},
        "instances": {"type": "array", "items": row},
    }


def _type(column: ColSpec) -> dict[str, Any]:
    if isinstance(column.type, DataType):
        return dict(JSON_TYPES[column.type])
    return {}  # arrays, objects and maps: MLflow checks their shape itself


def without_auth(document: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI document with its security schemes and requirements taken out: for a
    server that takes no token, which would otherwise still declare bearer auth."""
    document.get("components", {}).pop("securitySchemes", None)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.pop("security", None)
    return document
