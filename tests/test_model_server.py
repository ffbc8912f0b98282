"""The model server: real MLflow store, real logged models, the real server on loopback.

One module-scoped store (its first use runs MLflow's migrations) holds a scikit-learn
LogisticRegression fitted on iris as a DataFrame (so its signature names its columns) and a plain
Python callable wrapped as an MLflow pyfunc; both are registered and served by
``python -m jupyter_dataops.backends.local.model_server`` subprocesses on 127.0.0.1 (started
together, waited for with a bound, stopped by PID). Answers are compared with ``model.predict``
on the same rows. The token rule is tested both ways: a server on a non-loopback host without a
token refuses to start (before it binds anything), and a loopback server given a token refuses
requests without it; the in-process app (httpx's ASGI transport) covers the header forms.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")

import mlflow
import pandas as pd

from jupyter_dataops.backends.local import model_server
from jupyter_dataops.core.endpoints import scoring
from jupyter_dataops.core.errors import InvalidInput

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
MAX_BODY = 200_000
TOKEN = "s3cret-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Doubler(mlflow.pyfunc.PythonModel):
    """A plain callable: twice x; refuses negative numbers the way user code does."""

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
        if (model_input["x"] < 0).any():
            raise ValueError("x must not be negative")
        return (model_input["x"] * 2).tolist()


class Server:
    def __init__(self, uri: str, env: dict[str, str], log: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyter_dataops.backends.local.model_server",
                    "--model-uri",
                    uri,
                    "--port",
                    str(self.port),
                    "--max-body-bytes",
                    str(MAX_BODY),
                    "--sample-bytes",
                    "2000",
                    *extra,
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/ping", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise AssertionError(f"the server did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def post(self, body: Any, content_type: str = "application/json", **headers: str) -> Any:
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        return httpx.post(
            f"{self.url}/invocations",
            content=data,
            headers={"Content-Type": content_type, **headers},
            timeout=30,
        )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from jupyter_dataops.backends.mlflow_registry import tracking

    tmp = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{tmp}/mlflow.db"
    # MLflow's URIs set for the module, then put back as they were (environment included).
    uris = tracking(uri)
    uris.__enter__()
    # Artifacts in the test's folder (a sqlite store's default is ./mlruns, in the checkout).
    mlflow.set_experiment(
        experiment_id=mlflow.create_experiment(
            "tests", artifact_location=(tmp / "artifacts").as_uri()
        )
    )
    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = COLUMNS
    clf = LogisticRegression(max_iter=1000).fit(X, y)
    xs = pd.DataFrame({"x": [1.0, 2.5, 4.0]})
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            clf,
            name="model",
            signature=infer_signature(X, clf.predict(X)),
            registered_model_name="iris",
            pip_requirements=["scikit-learn"],
        )
        mlflow.pyfunc.log_model(
            name="doubler",
            python_model=Doubler(),
            signature=infer_signature(xs, [2.0, 5.0, 8.0]),
            registered_model_name="doubler",
            pip_requirements=["pandas"],
        )
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri, PYTHONUNBUFFERED="1")
    token_file = tmp / "token"
    token_file.write_text(TOKEN + "\n")
    servers = {
        "iris": Server("models:/iris/1", env, tmp / "iris.log"),
        "doubler": Server("models:/doubler/1", env, tmp / "doubler.log"),
        "token": Server("models:/iris/1", env, tmp / "token.log", "--token-file", str(token_file)),
    }
    try:
        for server in servers.values():
            server.wait()
        yield {
            "uri": uri,
            "env": env,
            "X": X,
            "model": mlflow.pyfunc.load_model("models:/iris/1"),
            **servers,
        }
    finally:
        for server in servers.values():
            server.stop()
        uris.__exit__(None, None, None)


def rows(store: Any) -> pd.DataFrame:
    return store["X"].iloc[[0, 60, 120, 77]]


def expected(store: Any) -> list[Any]:
    return store["model"].predict(rows(store)).tolist()


def payloads(df: pd.DataFrame) -> dict[str, Any]:
    records = df.to_dict(orient="records")
    return {
        "dataframe_split": {"dataframe_split": df.to_dict(orient="split")},
        "dataframe_split without index": {
            "dataframe_split": {"columns": list(df.columns), "data": df.values.tolist()}
        },
        "dataframe_records": {"dataframe_records": records},
        "instances as records": {"instances": records},
        "instances as rows": {"instances": df.values.tolist()},
        "inputs as columns": {"inputs": df.to_dict(orient="list")},
        "inputs as records": {"inputs": records},
    }


@pytest.mark.parametrize("fmt", list(payloads(pd.DataFrame({c: [1.0] for c in COLUMNS}))))
def test_every_json_format_answers_what_model_predict_answers(store, fmt):
    response = store["iris"].post(payloads(rows(store))[fmt])
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected(store)}


def test_a_csv_body_answers_what_model_predict_answers(store):
    body = rows(store).to_csv(index=False)
    response = store["iris"].post(body, "text/csv")
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected(store)}


def test_integers_in_double_columns_and_many_rows(store):
    df = store["X"]
    as_ints = df.round().astype(int)
    response = store["iris"].post({"dataframe_split": as_ints.to_dict(orient="split")})
    assert response.json()["predictions"] == store["model"].predict(as_ints.astype(float)).tolist()
    response = store["iris"].post({"dataframe_split": df.to_dict(orient="split")})
    assert response.json()["predictions"] == store["model"].predict(df).tolist()


def test_mlflows_own_scoring_client_works(store):
    from mlflow.models import convert_input_example_to_serving_input
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    client = ScoringServerClient("127.0.0.1", store["iris"].port)
    client.wait_server_ready(timeout=10)
    answer = client.invoke(rows(store)).get_predictions()
    assert list(answer.iloc[:, 0] if hasattr(answer, "iloc") else answer) == expected(store)
    body = convert_input_example_to_serving_input(rows(store))
    assert store["iris"].post(body).json() == {"predictions": expected(store)}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b"{not json", "application/json", 400, "not JSON"),
        (b"", "application/json", 400, "empty"),
        (b"[1, 2]", "application/json", 400, "not an object"),
        ({"rows": []}, "application/json", 400, "exactly one of"),
        (
            {"instances": [[1, 2, 3, 4]], "inputs": [[1, 2, 3, 4]]},
            "application/json",
            400,
            "exactly one of",
        ),
        (
            {"dataframe_records": [{"sepal_length": 1.0, "sepal_width": 1.0}]},
            "application/json",
            422,
            "Column 'petal_length' is missing from the input: the model expects sepal_length, "
            "sepal_width, petal_length, petal_width.",
        ),
        (
            {"dataframe_split": {"columns": COLUMNS, "data": [[1.0, "wide", 1.0, 1.0]]}},
            "application/json",
            422,
            "Column 'sepal_width' expects double values",
        ),
        (
            {"dataframe_split": {"columns": COLUMNS, "data": [[1.0, 2.0]]}},
            "application/json",
            400,
            "has 2 values for 4 columns",
        ),
        ({"instances": [[1.0, 2.0]]}, "application/json", 400, "the model expects 4"),
        (
            {"dataframe_split": {"columns": COLUMNS, "data": [[1.0, None, 1.0, 1.0]]}},
            "application/json",
            422,
            "has no value in row 0",
        ),
        (b"a,b\n1,2\n", "text/csv", 422, "Column 'sepal_length' is missing"),
        (b"x=1", "application/x-www-form-urlencoded", 415, "content type"),
        (b'{"inputs": [[1,2,3,4]]}', "application/json; charset=latin-1", 400, "UTF-8"),
        (b"\xff\xfe{", "application/json", 400, "not JSON"),
        (b"[" * (MAX_BODY + 10), "application/json", 413, "larger than the server's limit"),
    ],
)
def test_bad_input_is_a_4xx_with_the_reason_and_the_server_keeps_serving(
    store, body, content_type, status, words
):
    response = store["iris"].post(body, content_type)
    assert response.status_code == status, response.text
    assert words in response.json()["message"]
    assert response.json()["error_code"]
    good = store["iris"].post(payloads(rows(store))["dataframe_split"])
    assert good.status_code == 200
    assert store["iris"].proc.poll() is None


def test_a_plain_python_callable_served_the_same_way(store):
    server = store["doubler"]
    answer = server.post({"dataframe_records": [{"x": 1.5}, {"x": 3}]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": [3.0, 6.0]}
    assert server.post({"inputs": {"x": [2.0]}}).json() == {"predictions": [4.0]}
    assert server.post(b"x\n5\n", "text/csv").json() == {"predictions": [10.0]}
    refused = server.post({"inputs": {"x": [-1.0]}})
    assert refused.status_code == 422
    assert "x must not be negative" in refused.json()["message"]
    assert server.post({"inputs": {"x": [1.0]}}).json() == {"predictions": [2.0]}


def test_health_version_openapi_sample_and_metrics(store):
    server = store["iris"]
    assert httpx.get(f"{server.url}/ping").status_code == 200
    assert httpx.get(f"{server.url}/health").status_code == 200
    assert httpx.get(f"{server.url}/version").text == mlflow.__version__
    assert httpx.get(f"{server.url}/nowhere").status_code == 404
    assert httpx.get(f"{server.url}/invocations").status_code == 405
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert [c["name"] for c in spec["x-signature"]["inputs"]] == COLUMNS
    records = spec["paths"]["/invocations"]["post"]["requestBody"]["content"]["application/json"]
    assert any("dataframe_records" in option["properties"] for option in records["schema"]["oneOf"])

    for _ in range(3):
        server.post({"instances": [[1.0, 2.0, 3.0, 4.0]]})
    server.post(b"{bad")
    sample = httpx.get(f"{server.url}/sample").json()
    assert sample["count"] > 0 and sample["bytes"] <= 2000
    assert sample["rows"][-1] == dict(zip(COLUMNS, [1.0, 2.0, 3.0, 4.0], strict=True))

    text = httpx.get(f"{server.url}/metrics").text
    assert 'dataops_model_requests_total{status="200",version=""}' in text
    assert 'dataops_model_requests_total{status="400",version=""}' in text
    assert "dataops_model_request_seconds_bucket" in text
    assert "dataops_model_requests_in_flight" in text
    assert "dataops_model_sample_rows" in text
    assert "dataops_model_rows_total" in text

    stats = httpx.get(f"{server.url}/stats").json()
    assert stats["bucket_seconds"] == 10
    assert sum(b["requests"] for b in stats["buckets"]) >= 4
    assert sum(b["client_errors"] for b in stats["buckets"]) >= 1
    assert all(b["p99"] >= b["p50"] > 0 for b in stats["buckets"])


def test_stats_quantiles_read_off_the_histogram():
    clock = [1000.0]
    stats = model_server.Stats(clock=lambda: clock[0])
    for _ in range(98):
        stats.record(200, 0.0008, "1")
    stats.record(500, 0.3, "2")
    stats.record(404, 0.3, "2")
    clock[0] += 10
    stats.record(200, 0.002, "1")
    first, second = json.loads(stats.dump())["buckets"]
    assert (first["t"], first["requests"], first["client_errors"], first["server_errors"]) == (
        1000,
        100,
        1,
        1,
    )
    assert (first["p50"], first["p99"]) == (0.001, 0.5)
    assert first["by_version"] == {"1": 98, "2": 2}
    assert (second["t"], second["requests"], second["p50"]) == (1010, 1, 0.0025)


def test_a_token_is_required_once_configured(store):
    server = store["token"]
    body = payloads(rows(store))["dataframe_split"]
    refused = server.post(body)
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthorized"
    assert server.post(body, Authorization="Bearer wrong").status_code == 401
    assert server.post(body, Authorization=f"Bearer {TOKEN}").status_code == 200
    assert server.post(body, token=TOKEN).status_code == 200
    assert httpx.get(f"{server.url}/sample").status_code == 401
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    assert httpx.get(f"{server.url}/ping").status_code == 200


def test_a_non_loopback_host_without_a_token_refuses_to_start(store):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_dataops.backends.local.model_server",
            "--model-uri",
            "models:/iris/1",
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
        ],
        env=store["env"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Refusing to serve on 0.0.0.0 without a token" in done.stderr
    assert model_server.is_loopback("127.0.0.1") and model_server.is_loopback("::1")
    assert not model_server.is_loopback("0.0.0.0") and not model_server.is_loopback("10.0.0.1")
    with pytest.raises(model_server.ServerError):
        model_server.check_binding("192.168.1.20", None)
    model_server.check_binding("192.168.1.20", TOKEN)


def test_the_app_in_process_token_forms_and_the_fast_path(store):
    model_server.warm()  # what a launcher calls before forking servers: only imports
    app = model_server.ModelServer(store["model"], token=TOKEN)
    assert app.fast is not None  # a numeric sklearn signature takes the fast path
    body = json.dumps(payloads(rows(store))["dataframe_records"])

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://model") as client:
            headers = {"Content-Type": "application/json"}
            return [
                await client.post("/invocations", content=body, headers=headers),
                await client.post(
                    "/invocations",
                    content=body,
                    headers={**headers, "Authorization": f"token {TOKEN}"},
                ),
                await client.post(
                    "/invocations",
                    content=body,
                    headers={**headers, "Authorization": f"Bearer {TOKEN}x"},
                ),
            ]

    without, with_token, wrong = asyncio.run(run())
    assert without.status_code == 401 and wrong.status_code == 401
    assert with_token.json() == {"predictions": expected(store)}


def test_parse_builds_what_mlflow_passes_to_predict():
    schema = [{"type": "double", "name": "a", "required": True}, {"type": "long", "name": "b"}]
    payload = scoring.parse(
        b'{"dataframe_split": {"columns": ["b", "a"], "data": [[1, 2]]}}', None, schema
    )
    frame = scoring.to_model_input(payload, schema)
    assert list(frame.columns) == ["b", "a"]
    assert str(frame["a"].dtype) == "float64" and str(frame["b"].dtype) == "int64"
    assert scoring.to_matrix(payload, ["a", "b"], "float64").tolist() == [[2.0, 1.0]]
    tensor = scoring.parse(b'{"inputs": [[1, 2], [3, 4]]}', "application/json", None)
    assert scoring.to_model_input(tensor, None).shape == (2, 2)
    named = scoring.parse(b'{"inputs": {"t": [[1, 2]]}}', "application/json", None)
    assert scoring.to_model_input(named, None)["t"].shape == (1, 2)
    with pytest.raises(InvalidInput, match="expects long values"):
        scoring.parse(b'{"inputs": {"a": [1.0], "b": [1.5]}}', None, schema)
    with pytest.raises(InvalidInput, match="params must be"):
        scoring.parse(b'{"inputs": [[1, 2]], "params": 3}', None, schema)
    csv = scoring.parse(b"a,b\n1.5,2\n", "text/csv; charset=utf-8", schema)
    assert scoring.to_model_input(csv, schema).to_dict(orient="records") == [{"a": 1.5, "b": 2}]
    sample = model_server.PayloadSample(60)
    sample.add([{"a": i} for i in range(20)])
    assert sample.bytes <= 60 and json.loads(sample.dump())["rows"][-1] == {"a": 19}
    assert io.BytesIO(sample.dump()).read(1) == b"{"
