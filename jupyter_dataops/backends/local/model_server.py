"""The model server: one MLflow pyfunc model over MLflow's scoring protocol, fast.

``python -m jupyter_dataops.backends.local.model_server --model-uri URI [--host 127.0.0.1]
[--port 5000] [--token-file F] [--workers 1] [--sample-bytes N] [--max-body-bytes N]`` loads the
model once and serves, as a raw ASGI app under uvicorn:

- ``POST /invocations``: ``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``
  (JSON) or a CSV body, answered ``{"predictions": [...]}`` as MLflow's server answers;
- ``GET /ping``, ``/health``, ``/version`` (no token needed: liveness probes);
- ``GET /metrics`` (Prometheus text), ``/openapi.json`` (the model's signature as a schema),
  ``/sample`` (the recent payload rows kept for drift) and ``/stats`` (requests, errors and latency
  p50/p99 per 10 s over the last hour, per version), with the token like ``/invocations``.

Canary: ``--canary-uri URI --canary-percent P`` loads a second model and sends exactly P of every
100 requests to it (deterministically, not at random); each answer names the version that made it
in an ``x-dataops-version`` header, and the metrics count requests per version.

Errors: a body over the limit is a 413; one that does not parse, a 400; a missing column or a value
of the wrong type, a 422 naming it; the model raising on the input, a 422 with the exception's
text. Anything else is a 500 with a generic message (the traceback goes to the log only). Bodies
are ``{"error_code", "message", "error", "hint"}``: MLflow's fields plus ours.

A token (``Authorization: Bearer T``, ``Authorization: token T`` or a ``token: T`` header) is
required whenever a token is configured, and the server refuses to start on a non-loopback host
without one.

The hot path: scikit-learn models whose signature is plain numeric columns skip pandas. The
columns go into one numpy array in the estimator's feature order and the estimator predicts on
it directly; at start-up that path is checked against ``model.predict(DataFrame)`` on the
model's input example (or a row of zeros) and dropped if the answers differ. Everything else
goes through a DataFrame and ``model.predict`` as in MLflow. Small inputs are predicted on the
event loop's thread (a thread hop costs more than the prediction); large ones in a thread.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hmac
import logging
import os
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from ...core.endpoints import scoring
from ...core.endpoints.target import is_loopback
from ...core.errors import InvalidInput

log = logging.getLogger("jupyter_dataops.model_server")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

DEFAULT_MAX_BODY = 16 << 20
DEFAULT_SAMPLE_BYTES = 1 << 20
#: Inputs with more rows than this are predicted in a worker thread, not on the loop's thread.
INLINE_ROWS = 256
#: Rows of one request kept in the drift sample at most.
SAMPLE_ROWS_PER_REQUEST = 16

_JSON = [(b"content-type", b"application/json")]
_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
_PROMETHEUS = [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")]
_CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 404: "RESOURCE_DOES_NOT_EXIST"}
#: Latency histogram buckets (seconds), for Prometheus and the /stats series alike.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
#: The /stats series: one bucket per STATS_SECONDS, the last STATS_BUCKETS of them.
STATS_SECONDS = 10
STATS_BUCKETS = 360


class ServerError(Exception):
    """The server cannot start as asked (a non-loopback host without a token, ...)."""


class PayloadSample:
    """The most recent payload rows, as compact JSON, capped in bytes (oldest dropped first)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.rows: collections.deque[bytes] = collections.deque()
        self.bytes = 0
        self.seen = 0

    def add(self, rows: list[dict[str, Any]]) -> None:
        if self.max_bytes <= 0:
            return
        for row in rows:
            raw = orjson.dumps(row, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
            if len(raw) > self.max_bytes:
                continue
            self.rows.append(raw)
            self.bytes += len(raw)
            self.seen += 1
        while self.bytes > self.max_bytes:
            self.bytes -= len(self.rows.popleft())

    def dump(self) -> bytes:
        return b'{"count":%d,"bytes":%d,"seen":%d,"rows":[%s]}' % (
            len(self.rows),
            self.bytes,
            self.seen,
            b",".join(self.rows),
        )


class Metrics:
    """Prometheus metrics in a registry of the app's own."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dataops_model_requests",
            "Scoring requests by HTTP status.",
            ["status", "version"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "dataops_model_request_seconds",
            "Time to answer a scoring request.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "dataops_model_requests_in_flight",
            "Scoring requests being answered.",
            registry=self.registry,
        )
        self.rows = Counter("dataops_model_rows", "Input rows scored.", registry=self.registry)
        self.sample_rows = Gauge(
            "dataops_model_sample_rows",
            "Payload rows kept for the drift sample.",
            registry=self.registry,
        )
        self._by_status: dict[tuple[int, str], Any] = {}

    def count(self, status: int, version: str = "") -> None:
        child = self._by_status.get((status, version))
        if child is None:
            child = self._by_status[status, version] = self.requests.labels(str(status), version)
        child.inc()

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))


class Stats:
    """Requests, errors and a latency histogram per STATS_SECONDS, for the last hour: what the
    catalogue charts. Quantiles are read off the histogram (the upper edge of the bucket that
    holds them), as Prometheus's histogram_quantile does."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.buckets: collections.deque[list[Any]] = collections.deque(maxlen=STATS_BUCKETS)

    def record(self, status: int, seconds: float, version: str) -> None:
        start = int(self.clock()) // STATS_SECONDS * STATS_SECONDS
        if not self.buckets or self.buckets[-1][0] != start:
            # [start, requests, 4xx, 5xx, latency counts, {version: requests}]
            self.buckets.append([start, 0, 0, 0, [0] * (len(LATENCY_BUCKETS) + 1), {}])
        bucket = self.buckets[-1]
        bucket[1] += 1
        if 400 <= status < 500:
            bucket[2] += 1
        elif status >= 500:
            bucket[3] += 1
        at = 0
        while at < len(LATENCY_BUCKETS) and seconds > LATENCY_BUCKETS[at]:
            at += 1
        bucket[4][at] += 1
        bucket[5][version] = bucket[5].get(version, 0) + 1

    @staticmethod
    def quantile(counts: list[int], q: float) -> float | None:
        total = sum(counts)
        if not total:
            return None
        rank = q * total
        seen = 0
        for at, n in enumerate(counts):
            seen += n
            if seen >= rank:
                return LATENCY_BUCKETS[min(at, len(LATENCY_BUCKETS) - 1)]
        return LATENCY_BUCKETS[-1]

    def dump(self) -> bytes:
        return orjson.dumps(
            {
                "bucket_seconds": STATS_SECONDS,
                "buckets": [
                    {
                        "t": start,
                        "requests": requests,
                        "client_errors": client,
                        "server_errors": server,
                        "p50": self.quantile(counts, 0.5),
                        "p99": self.quantile(counts, 0.99),
                        "by_version": versions,
                    }
                    for start, requests, client, server, counts, versions in self.buckets
                ],
            }
        )


class FastPath:
    """Predict a scikit-learn estimator on a numpy matrix of numeric columns."""

    def __init__(self, estimator: Any, order: list[str], dtype: str) -> None:
        self.estimator = estimator
        self.order = order
        self.dtype = dtype

    def predict(self, payload: scoring.Payload) -> Any:
        matrix = scoring.to_matrix(payload, self.order, self.dtype)
        if matrix is None:
            return None
        return self.estimator.predict(matrix)


def _fast_path(model: Any, schema: list[dict[str, Any]] | None) -> FastPath | None:
    """A FastPath for a scikit-learn model with a numeric column signature, checked against
    ``model.predict`` on an example; None when it does not apply or does not agree."""
    names = scoring.column_names(schema)
    if names is None or schema is None:
        return None
    if any(s.get("type") not in scoring.NUMERIC or not s.get("required", True) for s in schema):
        return None
    metadata = model.metadata
    pyfunc = metadata.flavors.get("python_function", {})
    if pyfunc.get("loader_module") != "mlflow.sklearn" or "sklearn" not in metadata.flavors:
        return None
    if pyfunc.get("predict_fn", "predict") != "predict" or metadata.get_params_schema():
        return None
    try:
        estimator = model.get_raw_model()
    except Exception:
        return None
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None:
        order = [str(n) for n in fitted]
        if sorted(order) != sorted(names):
            return None
    else:
        if getattr(estimator, "n_features_in_", len(names)) != len(names):
            return None
        order = names
    import numpy as np

    dtype = str(np.result_type(*[scoring.NUMPY_DTYPES[str(s["type"])] for s in schema]))
    path = FastPath(estimator, order, dtype)
    example = _example(model, names)
    try:
        payload = scoring.Payload("check", len(example[names[0]]), columns=example)
        expected = model.predict(scoring.to_frame(payload, schema))
        got = path.predict(payload)
        if got is None or not np.array_equal(np.asarray(expected), np.asarray(got)):
            log.info("the fast path does not agree with model.predict: not used")
            return None
    except Exception as e:
        log.info("the fast path was not checked (%s): not used", e)
        return None
    return path


def _example(model: Any, names: list[str]) -> dict[str, list[Any]]:
    try:
        import pandas as pd

        frame = model.input_example
        if isinstance(frame, pd.DataFrame) and all(n in frame for n in names):
            frame = frame.head(8)
            return {n: frame[n].tolist() for n in names}
    except Exception:
        pass
    return {n: [0, 1] for n in names}


def _jsonable(predictions: Any) -> Any:
    """What MLflow's server puts under "predictions" (DataFrames as records)."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        return predictions
    if isinstance(predictions, pd.DataFrame):
        return predictions.to_dict(orient="records")
    if isinstance(predictions, pd.Series):
        return predictions.tolist()
    return predictions


def _dumps(value: Any) -> bytes:
    return orjson.dumps(
        value,
        option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
        default=_default,
    )


def _default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _error_body(status: int, message: str, hint: str | None, reason: str) -> bytes:
    code = _CODES.get(status, "INVALID_PARAMETER_VALUE" if status < 500 else "INTERNAL_ERROR")
    return orjson.dumps({"error_code": code, "message": message, "error": reason, "hint": hint})


class Variant:
    """One loaded model the server answers with: its signature and its fast path, if any."""

    def __init__(self, model: Any, label: str = "", model_uri: str = "") -> None:
        self.model = model
        self.label = label
        self.header = label.encode("latin-1", "replace")
        self.model_uri = model_uri
        input_schema = model.metadata.get_input_schema()
        self.schema: list[dict[str, Any]] | None = (
            input_schema.to_dict() if input_schema is not None else None
        )
        output_schema = model.metadata.get_output_schema()
        self.output_schema = output_schema.to_dict() if output_schema is not None else None
        # Fitted on a DataFrame, predicted on the fast path's array: the same numbers, by design.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        self.fast = _fast_path(model, self.schema)

    def predict(self, payload: scoring.Payload) -> Any:
        if self.fast is not None and not payload.params:
            predictions = self.fast.predict(payload)
            if predictions is not None:
                return predictions
        data = scoring.to_model_input(payload, self.schema)
        if payload.params:
            return self.model.predict(data, params=payload.params)
        return self.model.predict(data)


class ModelServer:
    """The ASGI app around one loaded pyfunc model (and, for a canary, a second one)."""

    def __init__(
        self,
        model: Any,
        *,
        token: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        sample_bytes: int = DEFAULT_SAMPLE_BYTES,
        model_uri: str = "",
        label: str = "",
        canary: Any = None,
        canary_label: str = "canary",
        canary_uri: str = "",
        canary_percent: int = 0,
        endpoint: str = "",
    ) -> None:
        self.main = Variant(model, label, model_uri)
        self.canary = Variant(canary, canary_label, canary_uri) if canary is not None else None
        self.canary_percent = max(0, min(100, canary_percent)) if canary is not None else 0
        self._served = 0
        self.model = model
        self.model_uri = model_uri
        self.schema = self.main.schema
        self.output_schema = self.main.output_schema
        self.fast = self.main.fast
        self.endpoint = endpoint.encode("latin-1", "replace")
        self.token = token.encode() if token else None
        self.max_body_bytes = max_body_bytes
        self.sample = PayloadSample(sample_bytes)
        self.metrics = Metrics()
        self.stats = Stats()
        try:
            from mlflow.version import VERSION as mlflow_version
        except ImportError:  # pragma: no cover
            mlflow_version = "unknown"
        self.version = mlflow_version.encode()
        self._openapi: bytes | None = None

    # -- ASGI ------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":  # websockets: not served
            return
        path = scope["path"]
        method = scope["method"]
        if path == "/invocations":
            if method != "POST":
                await self._send(send, 405, b"Use POST.", _TEXT)
                return
            await self._invocations(scope, receive, send)
        elif path in ("/ping", "/health"):
            # The endpoint's name lets its supervisor tell this server from a stranger's.
            await self._send(send, 200, b"\n", [*_JSON, (b"x-dataops-endpoint", self.endpoint)])
        elif path == "/version":
            await self._send(send, 200, self.version, _JSON)
        elif path in ("/metrics", "/sample", "/openapi.json", "/stats"):
            if not self._authorized(scope):
                await self._unauthorized(send)
            elif path == "/metrics":
                self.metrics.sample_rows.set(len(self.sample.rows))
                await self._send(send, 200, self.metrics.render(), _PROMETHEUS)
            elif path == "/sample":
                await self._send(send, 200, self.sample.dump(), _JSON)
            elif path == "/stats":
                await self._send(send, 200, self.stats.dump(), _JSON)
            else:
                await self._send(send, 200, self.openapi(), _JSON)
        else:
            body = _error_body(404, f"No route {path}.", "See /openapi.json.", "not_found")
            await self._send(send, 404, body, _JSON)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    async def _send(
        send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> None:
        headers = [*headers, (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _authorized(self, scope: Scope) -> bool:
        if self.token is None:
            return True
        for key, value in scope["headers"]:
            if key == b"authorization":
                scheme, _, given = value.partition(b" ")
                if scheme.lower() in (b"bearer", b"token") and hmac.compare_digest(
                    given.strip(), self.token
                ):
                    return True
            elif key == b"token" and hmac.compare_digest(value.strip(), self.token):
                return True
        return False

    async def _unauthorized(self, send: Send) -> None:
        body = _error_body(
            401,
            "This endpoint needs its token.",
            "Send Authorization: Bearer <token>.",
            "unauthorized",
        )
        await self._send(send, 401, body, [*_JSON, (b"www-authenticate", b"Bearer")])

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The request body, or None when it is over the limit."""
        for key, value in scope["headers"]:
            if key == b"content-length":
                try:
                    if int(value) > self.max_body_bytes:
                        return None
                except ValueError:
                    pass
                break
        message = await receive()
        body = message.get("body", b"")
        if not message.get("more_body"):
            return body if len(body) <= self.max_body_bytes else None
        chunks = [body]
        size = len(body)
        while message.get("more_body"):
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def _invocations(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        metrics = self.metrics
        metrics.in_flight.inc()
        status = 500
        variant = self._route()
        try:
            if not self._authorized(scope):
                status = 401
                await self._unauthorized(send)
                return
            body = await self._read_body(scope, receive)
            if body is None:
                status = 413
                message = (
                    f"The body is larger than the server's limit of {self.max_body_bytes} bytes."
                )
                hint = "Send fewer rows per request."
                await self._send(send, 413, _error_body(413, message, hint, "too_large"), _JSON)
                return
            content_type = None
            for key, value in scope["headers"]:
                if key == b"content-type":
                    content_type = value.decode("latin-1")
                    break
            status, answer = await self._score(variant, body, content_type)
            await self._send(send, status, answer, [*_JSON, (b"x-dataops-version", variant.header)])
        finally:
            metrics.in_flight.dec()
            metrics.count(status, variant.label)
            seconds = time.perf_counter() - start
            metrics.latency.observe(seconds)
            self.stats.record(status, seconds, variant.label)

    def _route(self) -> Variant:
        """The canary for exactly ``canary_percent`` of every 100 requests, spread evenly."""
        if self.canary is None or not self.canary_percent:
            return self.main
        self._served += 1
        n, p = self._served, self.canary_percent
        return self.canary if (n * p) // 100 != ((n - 1) * p) // 100 else self.main

    async def _score(
        self, variant: Variant, body: bytes, content_type: str | None
    ) -> tuple[int, bytes]:
        try:
            payload = scoring.parse(body, content_type, variant.schema)
        except InvalidInput as e:
            status = int(e.details.get("status", 400))
            return status, _error_body(status, e.message, e.hint, e.reason)
        try:
            if payload.rows <= INLINE_ROWS:
                predictions = variant.predict(payload)
            else:
                predictions = await asyncio.to_thread(variant.predict, payload)
        except InvalidInput as e:
            status = int(e.details.get("status", 400))
            return status, _error_body(status, e.message, e.hint, e.reason)
        except Exception as e:
            if _is_input_problem(e):
                message = f"The model could not score this input: {_exception_text(e)}"
                hint = "Check the input against the model's signature (GET /openapi.json)."
                return 422, _error_body(422, message, hint, "invalid_input")
            log.exception("predict failed")
            return 500, _error_body(500, "The server failed to score the input.", None, "error")
        self.metrics.rows.inc(payload.rows)
        self.sample.add(scoring.sample_rows(payload, SAMPLE_ROWS_PER_REQUEST))
        try:
            return 200, b'{"predictions":' + _dumps(_jsonable(predictions)) + b"}"
        except Exception:
            log.exception("the predictions could not be serialized")
            return 500, _error_body(
                500, "The server failed to encode the predictions.", None, "error"
            )

    def openapi(self) -> bytes:
        if self._openapi is None:
            self._openapi = orjson.dumps(
                openapi_document(self.schema, self.output_schema, self.model_uri)
            )
        return self._openapi


def _is_input_problem(error: Exception) -> bool:
    """Errors a model raises on input it cannot take (as opposed to a bug of the server)."""
    try:
        from mlflow.exceptions import MlflowException

        if isinstance(error, MlflowException):
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(
        error, ValueError | TypeError | KeyError | IndexError | ArithmeticError | AssertionError
    )


def _exception_text(error: Exception) -> str:
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return str(text)[:2000]


_JSON_TYPES = {
    "double": {"type": "number"},
    "float": {"type": "number"},
    "long": {"type": "integer"},
    "integer": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "string": {"type": "string"},
    "binary": {"type": "string", "format": "byte"},
    "datetime": {"type": "string", "format": "date-time"},
}


def openapi_document(
    schema: list[dict[str, Any]] | None, output: list[dict[str, Any]] | None, model_uri: str
) -> dict[str, Any]:
    """An OpenAPI 3.1 description of /invocations for this model's signature."""
    names = scoring.column_names(schema)
    if names is not None and schema is not None:
        row = {
            "type": "object",
            "properties": {str(s["name"]): _JSON_TYPES.get(str(s["type"]), {}) for s in schema},
            "required": [str(s["name"]) for s in schema if s.get("required", True)],
        }
        cell = {"anyOf": [_JSON_TYPES.get(str(s["type"]), {}) for s in schema]}
        inputs: dict[str, Any] = {
            "dataframe_split": {
                "type": "object",
                "properties": {
                    "columns": {"type": "array", "items": {"enum": names}},
                    "data": {"type": "array", "items": {"type": "array", "items": cell}},
                },
                "required": ["data"],
            },
            "dataframe_records": {"type": "array", "items": row},
            "instances": {"type": "array", "items": row},
            "inputs": {"oneOf": [{"type": "array", "items": row}, {"type": "object"}]},
        }
    else:
        inputs = {key: {} for key in scoring.FORMATS}
    request = {
        "oneOf": [
            {
                "type": "object",
                "properties": {key: value, "params": {"type": "object"}},
                "required": [key],
                "additionalProperties": False,
            }
            for key, value in inputs.items()
        ]
    }
    error = {
        "type": "object",
        "properties": {
            "error_code": {"type": "string"},
            "message": {"type": "string"},
            "error": {"type": "string"},
            "hint": {"type": ["string", "null"]},
        },
    }
    error_response = {"content": {"application/json": {"schema": error}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": f"Model {model_uri}".strip(), "version": "1"},
        "paths": {
            "/invocations": {
                "post": {
                    "summary": "Score rows with the model (MLflow's scoring protocol)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": request},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The model's predictions",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {"predictions": {"type": "array"}},
                                    }
                                }
                            },
                        },
                        "400": {"description": "The body does not parse", **error_response},
                        "401": {"description": "The token is missing or wrong", **error_response},
                        "413": {"description": "The body is over the limit", **error_response},
                        "422": {
                            "description": "The input does not fit the model",
                            **error_response,
                        },
                    },
                    "security": [{"bearer": []}],
                }
            },
            "/ping": {"get": {"summary": "Liveness", "responses": {"200": {"description": "up"}}}},
            "/health": {
                "get": {"summary": "Liveness", "responses": {"200": {"description": "up"}}}
            },
            "/version": {
                "get": {"summary": "MLflow's version", "responses": {"200": {"description": "it"}}}
            },
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "x-signature": {"inputs": schema, "outputs": output},
    }


# -- the process ----------------------------------------------------------------------------------

_CONFIG_ENV = "DATAOPS_MODEL_SERVER_CONFIG"


def build_app(
    model_uri: str,
    *,
    token: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    sample_bytes: int = DEFAULT_SAMPLE_BYTES,
    label: str = "",
    canary_uri: str | None = None,
    canary_label: str = "canary",
    canary_percent: int = 0,
    endpoint: str = "",
) -> ModelServer:
    """Load the model (and the canary's, if any) once and make the app."""
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(model_uri)
    canary = mlflow.pyfunc.load_model(canary_uri) if canary_uri else None
    return ModelServer(
        model,
        token=token,
        max_body_bytes=max_body_bytes,
        sample_bytes=sample_bytes,
        model_uri=model_uri,
        label=label,
        canary=canary,
        canary_label=canary_label,
        canary_uri=canary_uri or "",
        canary_percent=canary_percent,
        endpoint=endpoint,
    )


def app_from_environment() -> ModelServer:
    """The app factory uvicorn's worker processes call (--workers above 1)."""
    config = orjson.loads(os.environ[_CONFIG_ENV])
    return build_app(**config)


def warm() -> None:
    """Import what a server spends seconds importing before it can load a model: MLflow's
    pyfunc, its scikit-learn flavour with skops (whose import scans all of scikit-learn) and
    uvicorn. A long-lived launcher calls this once and forks a server per launch (``main`` in
    the child): the launch then costs the model's download and load, about a second here, not
    the ~5 s of a new interpreter. No threads are started, so forking afterwards is safe."""
    import importlib

    for module in ("mlflow.pyfunc", "uvicorn", "pandas", "mlflow.sklearn", "skops.io"):
        try:
            importlib.import_module(module)
        except ImportError:
            pass


def read_token(token_file: str | None) -> str | None:
    if token_file:
        try:
            with open(token_file, encoding="utf-8") as f:
                token = f.read().strip()
        except OSError as e:
            raise ServerError(
                f"The token file {token_file} cannot be read ({e.strerror})."
            ) from None
        if not token:
            raise ServerError(f"The token file {token_file} is empty.")
        return token
    return os.environ.get("DATAOPS_MODEL_TOKEN") or None


def check_binding(host: str, token: str | None) -> None:
    if token is None and not is_loopback(host):
        raise ServerError(
            f"Refusing to serve on {host} without a token: only loopback addresses may go "
            "without one. Pass --token-file FILE (or set DATAOPS_MODEL_TOKEN), or bind 127.0.0.1."
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jupyter_dataops.backends.local.model_server",
        description="Serve an MLflow model over MLflow's scoring protocol.",
    )
    parser.add_argument("--model-uri", required=True, help="models:/name/1, runs:/id/path, a path")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--token-file", help="a file holding the token clients must send")
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("--sample-bytes", type=int, default=DEFAULT_SAMPLE_BYTES)
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--label", default="", help="the version the answers name")
    parser.add_argument("--canary-uri", help="a second model for part of the traffic")
    parser.add_argument("--canary-label", default="canary")
    parser.add_argument("--canary-percent", type=int, default=0, help="0-100 (default 0)")
    parser.add_argument("--endpoint", default="", help="the endpoint's name (sent on /ping)")
    parser.add_argument("--tracking-uri", help="the MLflow registry that models:/ URIs name")
    args = parser.parse_args(argv)
    if args.tracking_uri:
        os.environ["MLFLOW_TRACKING_URI"] = args.tracking_uri
        os.environ["MLFLOW_REGISTRY_URI"] = args.tracking_uri
        if "mlflow" in sys.modules:  # forked from a warm launcher: set what it read already
            import mlflow

            mlflow.set_tracking_uri(args.tracking_uri)
            mlflow.set_registry_uri(args.tracking_uri)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        token = read_token(args.token_file)
        check_binding(args.host, token)
    except ServerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    import uvicorn

    common: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "access_log": False,
        "lifespan": "off",
        "log_level": args.log_level,
        "http": "h11",
        "loop": "asyncio",
    }
    settings: dict[str, Any] = {
        "token": token,
        "max_body_bytes": args.max_body_bytes,
        "sample_bytes": args.sample_bytes,
        "label": args.label,
        "canary_uri": args.canary_uri,
        "canary_label": args.canary_label,
        "canary_percent": args.canary_percent,
        "endpoint": args.endpoint,
    }
    if args.workers > 1:
        os.environ[_CONFIG_ENV] = orjson.dumps({"model_uri": args.model_uri, **settings}).decode()
        uvicorn.run(
            f"{__name__}:app_from_environment", factory=True, workers=args.workers, **common
        )
        return 0
    try:
        app = build_app(args.model_uri, **settings)
    except Exception as e:
        log.error("the model %s could not be loaded: %s", args.model_uri, e)
        return 1
    log.info(
        "serving %s on %s:%d (fast path: %s)",
        args.model_uri,
        args.host,
        args.port,
        "on" if app.fast else "off",
    )
    uvicorn.run(app, **common)
    return 0


if __name__ == "__main__":
    sys.exit(main())
