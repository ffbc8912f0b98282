"""MLflow's scoring protocol, parsed and checked without a web framework.

A request to ``/invocations`` is JSON with exactly one of ``dataframe_split``,
``dataframe_records``, ``instances`` or ``inputs`` (and optionally ``params``), or a CSV body
(``text/csv``) with a header row. :func:`parse` turns the bytes into a :class:`Payload`; with a
column schema (the model signature's inputs as plain data, ``Schema.to_dict()``) every table
payload becomes columns, which are checked (missing column, wrong type) before the model sees
them. :func:`to_model_input` builds what MLflow's server would pass to ``model.predict``: a pandas
DataFrame for tables, a numpy array (or a dict of them) for tensors; :func:`to_matrix` is the fast
path's 2-D array for models that take plain numeric columns.

Every problem is an :class:`~jupyter_dataops.core.errors.InvalidInput` whose message names it and
whose hint says what to send instead. pandas and numpy are imported only inside the functions that
need them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
JSON_TYPES = ("application/json", "")
CSV_TYPE = "text/csv"

#: MLflow's column types, as numpy dtypes.
NUMPY_DTYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}
#: Types whose columns the fast path turns into one numeric matrix.
NUMERIC = frozenset({"double", "float", "long", "integer"})

_FORMAT_HINT = (
    'Send JSON like {"dataframe_split": {"columns": [...], "data": [[...]]}}, '
    '{"dataframe_records": [{...}]}, {"instances": [...]} or {"inputs": ...}, or a CSV body '
    "with Content-Type: text/csv."
)


@dataclass
class Payload:
    """A parsed request. ``columns`` is set for table payloads (name -> values, ``rows`` long);
    ``data`` holds a tensor payload (nested lists, or a dict of them) as it was sent."""

    format: str
    rows: int
    columns: dict[str, list[Any]] | None = None
    data: Any = None
    params: dict[str, Any] | None = None
    frame: Any = None  # a CSV body, already a DataFrame


def column_names(schema: list[dict[str, Any]] | None) -> list[str] | None:
    """The input names of a column schema, or None for a tensor schema (or none at all)."""
    if not schema or any(not spec.get("name") or spec.get("type") == "tensor" for spec in schema):
        return None
    return [str(spec["name"]) for spec in schema]


def _loads(body: bytes) -> Any:
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson comes with the models extra
        return json.loads(body)
    return orjson.loads(body)


def parse(
    body: bytes, content_type: str | None, schema: list[dict[str, Any]] | None = None
) -> Payload:
    """Parse a scoring request's body (see the module's docstring); raise InvalidInput."""
    mime, _, parameters = (content_type or "application/json").partition(";")
    mime = mime.strip().lower()
    charset = ""
    for part in parameters.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if charset and charset not in ("utf-8", "utf8"):
        raise InvalidInput(
            f"The body's charset is {charset}: the server reads only UTF-8.",
            hint="Encode the body as UTF-8.",
        )
    if not body.strip():
        raise InvalidInput("The body is empty.", hint=_FORMAT_HINT)
    if mime == CSV_TYPE:
        return _parse_csv(body, schema)
    if mime not in JSON_TYPES and not mime.endswith("+json"):
        raise InvalidInput(
            f"The content type {mime} is not one the server reads.",
            hint="Use application/json or text/csv.",
            status=415,
        )
    try:
        doc = _loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidInput(f"The body is not JSON ({e}).", hint=_FORMAT_HINT) from None
    if not isinstance(doc, dict):
        raise InvalidInput(
            f"The body is a JSON {type(doc).__name__}, not an object with one input field.",
            hint=_FORMAT_HINT,
        )
    present = [key for key in FORMATS if key in doc]
    if len(present) != 1:
        found = ", ".join(sorted(map(str, doc))) or "no fields"
        raise InvalidInput(
            "Give exactly one of dataframe_split, dataframe_records, instances, inputs "
            f"(the body has {found}).",
            hint=_FORMAT_HINT,
        )
    fmt = present[0]
    params = doc.get("params")
    if params is not None and not isinstance(params, dict):
        raise InvalidInput("params must be a JSON object.", hint='e.g. "params": {"k": 1}')
    unknown = sorted(set(doc) - {fmt, "params"})
    if unknown:
        raise InvalidInput(
            f"Unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} beside {fmt}.",
            hint="Only params may accompany the input field.",
        )
    value = doc[fmt]
    names = column_names(schema)
    if fmt == "dataframe_split":
        payload = _split(value, names)
    elif fmt == "dataframe_records":
        payload = _records(value, fmt)
    else:
        payload = _tensor_or_table(value, fmt, names)
    payload.params = params
    if payload.columns is not None and schema:
        check_columns(payload, schema)
    return payload


def _split(value: Any, names: list[str] | None) -> Payload:
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise InvalidInput(
            'dataframe_split must be an object with "data" (a list of rows) and "columns".',
            hint='e.g. {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}}',
        )
    data = value["data"]
    columns = value.get("columns")
    width = len(data[0]) if data and isinstance(data[0], list) else 1
    if columns is None:
        if names is None or len(names) != width:
            raise InvalidInput(
                'dataframe_split has no "columns".',
                hint="Name the columns: the model expects " + ", ".join(names or ["named columns"]),
            )
        columns = names
    if not isinstance(columns, list) or not all(isinstance(c, str | int) for c in columns):
        raise InvalidInput('dataframe_split\'s "columns" must be a list of names.')
    out: dict[str, list[Any]] = {str(c): [] for c in columns}
    if len(out) != len(columns):
        raise InvalidInput("dataframe_split names a column twice.")
    lists = list(out.values())
    for i, row in enumerate(data):
        if not isinstance(row, list):
            row = [row]
        if len(row) != len(lists):
            raise InvalidInput(
                f"Row {i} of dataframe_split has {len(row)} values for {len(lists)} columns.",
                hint="Every row needs one value per column, in the order of columns.",
            )
        for target, item in zip(lists, row, strict=True):
            target.append(item)
    return Payload("dataframe_split", len(data), columns=out)


def _records(value: Any, fmt: str) -> Payload:
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise InvalidInput(
            f"{fmt} must be a list of objects, one per row.",
            hint=f'e.g. {{"{fmt}": [{{"a": 1, "b": 2}}]}}',
        )
    keys: dict[str, None] = {}
    for record in value:
        for key in record:
            keys.setdefault(key, None)
    columns = {key: [r.get(key) for r in value] for key in keys}
    return Payload(fmt, len(value), columns=columns)


def _tensor_or_table(value: Any, fmt: str, names: list[str] | None) -> Payload:
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        return _records(value, fmt)
    if isinstance(value, dict):
        if not value:
            raise InvalidInput(f"{fmt} is an empty object.", hint=_FORMAT_HINT)
        lists = {str(k): (v if isinstance(v, list) else [v]) for k, v in value.items()}
        lengths = {len(v) for v in lists.values()}
        if names is not None:
            if len(lengths) != 1:
                raise InvalidInput(
                    f"The columns of {fmt} have different lengths ({sorted(lengths)}).",
                    hint="Give every column the same number of values.",
                )
            return Payload(fmt, lengths.pop(), columns=lists)
        return Payload(fmt, max(lengths), data=value)
    if not isinstance(value, list):
        value = [value]
    if not value:
        raise InvalidInput(f"{fmt} is empty: there is nothing to score.", hint=_FORMAT_HINT)
    if names is not None and all(isinstance(r, list) for r in value):
        # Rows of plain values under a column schema: the values are in the schema's order.
        width = len(names)
        for i, row in enumerate(value):
            if len(row) != width:
                raise InvalidInput(
                    f"Row {i} of {fmt} has {len(row)} values; the model expects {width}: "
                    f"{', '.join(names)}.",
                    hint="Send named columns (dataframe_split) or one value per input, in order.",
                )
        columns = {name: [row[j] for row in value] for j, name in enumerate(names)}
        return Payload(fmt, len(value), columns=columns)
    return Payload(fmt, len(value), data=value)


def _parse_csv(body: bytes, schema: list[dict[str, Any]] | None) -> Payload:
    import io

    import pandas as pd

    names = column_names(schema)
    dtypes = None
    if names is not None and schema is not None:
        dtypes = {
            str(s["name"]): NUMPY_DTYPES[s["type"]]
            for s in schema
            if s.get("type") in ("double", "float", "long", "integer", "string")
        }
    try:
        text = body.decode("utf-8")
        frame = pd.read_csv(io.StringIO(text), dtype=None)
    except Exception as e:
        raise InvalidInput(
            f"The body is not CSV the server can read ({e}).",
            hint="Send a header row of column names, then one line per row (DataFrame.to_csv(index=False)).",
        ) from None
    columns = {str(c): frame[c].tolist() for c in frame.columns}
    payload = Payload("csv", len(frame), columns=columns)
    if schema and names is not None:
        check_columns(payload, schema)
        try:
            frame = frame.astype({k: v for k, v in (dtypes or {}).items() if k in frame})
        except (TypeError, ValueError) as e:
            raise InvalidInput(f"A CSV column does not fit the model's types ({e}).") from None
    payload.frame = frame
    return payload


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _fits(kind: str, value: Any) -> bool:
    if kind in ("double", "float"):
        return (isinstance(value, float | int) and not isinstance(value, bool)) or _is_nan(value)
    if kind in ("long", "integer"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    return True  # binary, datetime, arrays, objects: MLflow's own enforcement decides


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def check_columns(payload: Payload, schema: list[dict[str, Any]]) -> None:
    """Every required column is present and every value fits its column's type."""
    names = column_names(schema)
    columns = payload.columns
    if names is None or columns is None:
        return
    expected = ", ".join(names)
    for spec in schema:
        name = str(spec["name"])
        values = columns.get(name)
        required = spec.get("required", True)
        if values is None:
            if required:
                raise InvalidInput(
                    f"Column '{name}' is missing from the input: the model expects {expected}.",
                    hint="Send every column the model's signature names.",
                    status=422,
                )
            continue
        kind = str(spec.get("type"))
        for i, value in enumerate(values):
            if value is None:
                if required:
                    raise InvalidInput(
                        f"Column '{name}' has no value in row {i}: the model requires it.",
                        hint=f"Give a {kind} value.",
                        status=422,
                    )
                continue
            if not _fits(kind, value):
                raise InvalidInput(
                    f"Column '{name}' expects {kind} values; row {i} has {value!r} "
                    f"({_type_name(value)}).",
                    hint=f"Send a {kind} for '{name}'.",
                    status=422,
                )


def to_matrix(payload: Payload, order: list[str], dtype: str) -> Any:
    """The fast path: a 2-D numpy array of the payload's columns in ``order``, or None when the
    payload is not a plain table of those columns with a value in every cell."""
    import numpy as np

    columns = payload.columns
    if columns is None or payload.frame is not None:
        return None
    try:
        picked = [columns[name] for name in order]
    except KeyError:
        return None
    if payload.rows == 1:
        row = [c[0] for c in picked]
        if None in row:
            return None
        return np.array([row], dtype=dtype)
    for c in picked:
        if None in c:
            return None
    return np.array(picked, dtype=dtype).T


def to_frame(payload: Payload, schema: list[dict[str, Any]] | None) -> Any:
    """A pandas DataFrame of a table payload, columns typed as the schema says."""
    import pandas as pd

    if payload.frame is not None:
        return payload.frame
    frame = pd.DataFrame(payload.columns)
    if schema and column_names(schema) is not None:
        casts = {}
        for spec in schema:
            name = str(spec["name"])
            kind = spec.get("type")
            if name in frame and kind in NUMERIC and frame[name].notna().all():
                casts[name] = NUMPY_DTYPES[str(kind)]
        if casts:
            try:
                frame = frame.astype(casts)
            except (TypeError, ValueError) as e:
                raise InvalidInput(f"The input does not fit the model's types ({e}).") from None
    return frame


def to_model_input(payload: Payload, schema: list[dict[str, Any]] | None) -> Any:
    """What MLflow's server passes to ``model.predict`` for this payload: a DataFrame for a
    table, a numpy array for a list tensor, a dict of numpy arrays for named tensors."""
    import numpy as np

    if payload.columns is not None:
        return to_frame(payload, schema)
    data = payload.data
    dtype = None
    if schema and len(schema) == 1 and schema[0].get("type") == "tensor":
        dtype = schema[0].get("tensor-spec", {}).get("dtype")
    try:
        if isinstance(data, dict):
            return {k: np.asarray(v) for k, v in data.items()}
        return np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise InvalidInput(
            f"The {payload.format} input is not a regular array ({e}).",
            hint="Every row needs the same shape and numeric values.",
        ) from None


def sample_rows(payload: Payload, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` rows of a table payload as records (for the drift sample)."""
    columns = payload.columns
    if columns is None:
        data = payload.data if isinstance(payload.data, list) else [payload.data]
        return [{"value": row} for row in data[:limit]]
    names = list(columns)
    count = min(payload.rows, limit)
    return [{n: columns[n][i] for n in names} for i in range(count)]
