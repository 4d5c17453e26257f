"""MLflow's scoring protocol for a request body: JSON in its four layouts, CSV and Parquet.

The body is parsed as ``mlflow models serve`` parses it (MLflow's own parsers do the work),
so MLflow's clients need no change; the JSON is also checked against the signature first
(``components.core.serving_checks``), so a value MLflow would silently convert is a 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO, StringIO
from typing import Any

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.pyfunc.scoring_server import (
    CONTENT_TYPE_CSV,
    CONTENT_TYPE_JSON,
    CONTENT_TYPES,
    infer_and_parse_data,
    parse_csv_input,
    parse_parquet_input,
)
from mlflow.types import DataType, Schema
from mlflow.utils.proto_json_utils import (
    cast_df_types_according_to_schema,
    dataframe_from_parsed_json,
)

from components.core.serving import bad_request
from components.core.serving_checks import (
    INPUT_FORMATS,
    PARAMS_FIELD,
    check_request,
    short_reason,
)

ACCEPTED = ", ".join(CONTENT_TYPES)
TABLE_FORMATS = {"dataframe_split": "split", "dataframe_records": "records"}
NUMERIC_TYPES = (DataType.double, DataType.float, DataType.long, DataType.integer)


class UnsupportedMediaType(ValueError):
    """A body of a content type (or charset) the protocol does not define: HTTP 415."""


@dataclass(frozen=True)
class ScoringInput:
    """A parsed request: what the model's ``predict`` gets, and what was left out."""

    data: Any
    params: dict[str, Any] | None
    ignored_columns: list[str]


def parse_body(
    body: bytes, content_type: str | None, signature: ModelSignature | None
) -> ScoringInput:
    """The model input and params of a scoring request.

    Raises:
        UnsupportedMediaType: for a content type other than JSON, CSV or Parquet, a charset
            other than UTF-8, or an unknown content-type parameter.
        MlflowException: (HTTP 400) for a body that does not parse or does not fit the
            signature.
    """
    mime, charset = _media_type(content_type)
    # MLflow's parsers take None for "no schema", though typed as taking a Schema.
    schema: Any = signature.inputs if signature is not None else None
    params: dict[str, Any] | None = None
    if mime == CONTENT_TYPE_JSON:
        payload = _json_object(body)
        check_request(payload, signature)
        data = _table_or_tensor(payload, schema)
        params = payload.get(PARAMS_FIELD)
    elif mime == CONTENT_TYPE_CSV:
        try:
            text = body.decode(charset)
        except UnicodeDecodeError as error:
            raise bad_request(f"the CSV body is not valid UTF-8: {error}") from None
        data = _parsed("CSV", lambda: parse_csv_input(StringIO(text), schema))
    else:  # CONTENT_TYPE_PARQUET, the only other type _media_type lets through
        data = _parsed("Parquet", lambda: parse_parquet_input(BytesIO(body)))
    data, ignored = _without_unknown_columns(data, schema)
    return ScoringInput(data, params, ignored)


def _table_or_tensor(payload: dict[str, Any], schema: Schema | None) -> Any:
    """The input of a JSON body, parsed and cast to the signature as MLflow does it.

    A table's named numeric columns are cast a dtype at a time, in one block each, rather
    than MLflow's column by column, which costs a millisecond per ten columns; the values and
    dtypes are the same.
    """
    fields = {key: payload[key] for key in INPUT_FORMATS if key in payload}
    table = next((key for key in fields if key in TABLE_FORMATS), None)
    if table is None or len(fields) != 1 or schema is None or not schema.has_input_names():
        return infer_and_parse_data(fields, schema)  # type: ignore[arg-type]  # None is allowed
    frame = dataframe_from_parsed_json(fields[table], TABLE_FORMATS[table])
    numeric = {
        spec.name: spec.type.to_pandas()
        for spec in schema.inputs
        if isinstance(spec.type, DataType)
        and spec.type in NUMERIC_TYPES
        and spec.name in frame.columns
    }
    blocks = []
    try:
        for dtype in set(numeric.values()):
            names = [name for name, wanted in numeric.items() if wanted == dtype]
            if np.issubdtype(dtype, np.integer) and frame[names].isna().to_numpy().any():
                raise ValueError("a missing integer")  # numpy would make it INT64_MIN
            blocks.append(pd.DataFrame(frame[names].to_numpy(dtype), columns=names))
    except (ValueError, TypeError, OverflowError):
        return cast_df_types_according_to_schema(frame, schema)  # its error names the column
    others = [spec for spec in schema.inputs if spec.name not in numeric]
    rest = frame[[column for column in frame.columns if column not in numeric]]
    if others:
        rest = cast_df_types_according_to_schema(rest.copy(), Schema(others))
    parsed = pd.concat([rest.reset_index(drop=True), *blocks], axis=1)[list(frame.columns)]
    parsed.index = frame.index  # a split body may name its rows
    return parsed


def _parsed(what: str, parse: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """MLflow's parse of a table body, its errors saying which body failed and why."""
    try:
        return parse()
    except MlflowException as error:
        raise bad_request(
            f"the {what} body does not parse: {short_reason(error.message)}"
        ) from None


def _media_type(content_type: str | None) -> tuple[str, str]:
    """(MIME type, charset) of a Content-Type header, or UnsupportedMediaType."""
    if not content_type:
        raise UnsupportedMediaType(f"no Content-Type header; send one of: {ACCEPTED}")
    mime, *parameters = (part.strip() for part in content_type.split(";"))
    options = {
        key.strip().lower(): value.strip()
        for key, _, value in (p.partition("=") for p in parameters)
    }
    charset = options.pop("charset", "utf-8").strip('"').lower()
    if mime.lower() not in CONTENT_TYPES:
        raise UnsupportedMediaType(f"content type {mime!r} is not served; send one of: {ACCEPTED}")
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"charset {charset!r} is not served; send UTF-8")
    if options:
        raise UnsupportedMediaType(
            f"unknown content type parameter(s) {sorted(options)}; only 'charset' is read"
        )
    return mime.lower(), "utf-8"


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise bad_request(f"the body is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise bad_request(
            f"the JSON body must be an object with one of {list(INPUT_FORMATS)}, "
            f"got {type(payload).__name__}"
        )
    return payload


def _without_unknown_columns(data: Any, schema: Schema | None) -> tuple[Any, list[str]]:
    """A table without the columns the model's signature does not name (it would ignore them,
    with one warning per request), and their names."""
    if schema is None or schema.is_tensor_spec() or not isinstance(data, pd.DataFrame):
        return data, []
    names = schema.input_names()
    if not all(isinstance(name, str) for name in names):
        return data, []
    ignored = [str(column) for column in data.columns if column not in names]
    return (data.drop(columns=ignored) if ignored else data), ignored
