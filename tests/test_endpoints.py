"""Publishing and serving, end to end on real parts: models logged to a real sqlite MLflow store
(scikit-learn, XGBoost, LightGBM and a plain function), registered, served by our model server
processes on loopback through the warm launcher, and called over HTTP with MLflow's payloads.
The store is the source of truth: a killed server comes back on the same port, a stopped one
stays stopped, and a new service (a restarted Jupyter server) changes nothing that runs."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")

from jupyter_dataops import publishing
from jupyter_dataops.core.endpoints import drift
from jupyter_dataops.core.endpoints.examples import resolve
from jupyter_dataops.core.endpoints.models import (
    InvokeRequest,
    PromoteRequest,
    PublishRequest,
    TrafficRequest,
)
from jupyter_dataops.core.errors import Conflict, InvalidInput, NotFound

from .schedule_helpers import SchedEnv

PORTS = {"endpoint_port_min": 18700, "endpoint_port_max": 18799}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchedEnv]:
    base = tmp_path_factory.mktemp("endpoints")
    made = SchedEnv(
        base,
        config={
            "DataOps": {
                **PORTS,
                "mlflow_tracking_uri": f"sqlite:///{base / 'mlflow.db'}",
                "mlflow_artifact_location": str(base / "mlartifacts"),
                "endpoint_start_timeout": 90.0,
            }
        },
    )
    made.env.pop("MLFLOW_TRACKING_URI", None)
    try:
        yield made
    finally:
        service = made.services.endpoints
        for endpoint in service.list().items:
            service.delete(endpoint.name)
        service.target.stop_launcher()  # type: ignore[attr-defined]
        made.close()


@pytest.fixture(scope="module")
def iris() -> dict[str, Any]:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    return {
        "X": X,
        "y": y,
        "v1": LogisticRegression(max_iter=500).fit(X, y),
        "v2": LogisticRegression(max_iter=500, C=0.01).fit(X, y),
    }


def log(env: SchedEnv, model: Any, example: Any, name: str = "iris") -> str:
    return publishing.log_model(
        model, env.services.endpoints.settings(), example=example, name=name
    )


def post(url: str, body: Any, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, json=body, timeout=30, **kwargs)


def test_publish_serves_mlflow_payloads_and_keeps_the_port_across_versions(env, iris):
    service = env.services.endpoints
    X = iris["X"]
    reference = publishing.rows_of(X, 5000)
    first = service.publish(
        PublishRequest(model_uri=log(env, iris["v1"], X[:5]), name="iris", reference=reference),
        actor="alice",
    )
    endpoint = first.endpoint
    assert endpoint.status.value == "running" and endpoint.version == 1
    assert endpoint.url == f"http://127.0.0.1:{endpoint.port}/invocations"
    assert 18700 <= endpoint.port <= 18799 and not endpoint.token_required
    assert first.version.aliases == ["production"] and first.version.flavors
    assert first.version.signature is not None

    rows = X[:3]
    expected = iris["v1"].predict(rows).tolist()
    split = {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}
    records = {"dataframe_records": json.loads(rows.to_json(orient="records"))}
    instances = {"instances": json.loads(rows.to_json(orient="records"))}
    for body in (split, records, instances):
        answer = post(endpoint.url, body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == expected
        assert answer.headers["x-dataops-version"] == "1"
    csv = httpx.post(
        endpoint.url, content=rows.to_csv(index=False), headers={"Content-Type": "text/csv"}
    )
    assert csv.json()["predictions"] == expected

    # Bad input is the caller's problem (4xx with the reason), and the server keeps serving.
    missing = post(endpoint.url, {"dataframe_records": [{"sepal length (cm)": 1.0}]})
    assert missing.status_code in (400, 422) and "petal" in missing.json()["message"]
    assert post(endpoint.url, split).status_code == 200

    snippets = service.snippets("iris")
    assert snippets.example is not None and "curl -X POST" in snippets.curl
    tried = service.invoke("iris", InvokeRequest(payload=snippets.example))
    assert tried.status == 200 and tried.version == "1" and len(tried.body["predictions"]) == 5

    second = service.publish(
        PublishRequest(model_uri=log(env, iris["v2"], X[:5]), name="iris"), actor="bob"
    )
    assert second.endpoint.port == endpoint.port and second.endpoint.version == 2
    assert post(endpoint.url, split).headers["x-dataops-version"] == "2"
    models = service.models()
    assert [m.name for m in models.items] == ["iris"]
    assert models.items[0].aliases == {"production": 2}

    back = service.rollback("iris", actor="carol")
    assert back.version == 1 and back.port == endpoint.port
    assert [h.action for h in back.history] == ["published", "published", "rolled back"]
    assert service.registry.model("iris").aliases == {"production": 1}
    with pytest.raises(Conflict, match="served no other version"):
        service.rollback("iris")
    assert service.get("iris").version == 1


def test_a_canary_takes_exactly_its_share_and_can_be_promoted(env, iris):
    service = env.services.endpoints
    endpoint = service.get("iris")
    split = service.traffic("iris", TrafficRequest(canary_version=2, percent=25))
    assert (split.version, split.canary_version, split.canary_percent) == (1, 2, 25)
    body = {"dataframe_records": json.loads(iris["X"][:1].to_json(orient="records"))}
    versions = [post(endpoint.url, body).headers["x-dataops-version"] for _ in range(40)]
    assert versions.count("2") == 10 and versions.count("1") == 30

    metrics = service.metrics("iris")
    assert metrics.available and metrics.points
    assert sum(p.by_version.get("2", 0) for p in metrics.points) == 10
    assert all(p.p99_ms is not None and p.p99_ms >= p.p50_ms for p in metrics.points)

    promoted = service.promote("iris", PromoteRequest())
    assert (promoted.version, promoted.canary_version, promoted.canary_percent) == (2, None, 0)
    assert {post(endpoint.url, body).headers["x-dataops-version"] for _ in range(5)} == {"2"}
    with pytest.raises(InvalidInput, match="no canary"):
        service.promote("iris", PromoteRequest())
    with pytest.raises(NotFound, match="no version 99"):
        service.traffic("iris", TrafficRequest(canary_version=99, percent=10))
    assert service.get("iris").version == 2


def test_the_store_is_the_source_of_truth_across_crashes_and_restarts(env, iris):
    service = env.services.endpoints
    before = service.get("iris")
    os.kill(before.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while service.target.alive_pid(before.pid) and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.05)
    assert service.reconcile() == ["restarted iris"]
    after = service.get("iris")
    assert after.status.value == "running" and after.restarts == before.restarts + 1
    assert after.port == before.port and after.pid != before.pid
    assert after.history[-1].detail == "its server was gone"

    # A new service on the same store (a restarted Jupyter server) leaves a live server alone.
    from jupyter_dataops.services import Services

    restarted = Services.from_config(env.services.ctx.config, actor="tester")
    try:
        assert restarted.endpoints.reconcile() == []
        assert restarted.endpoints.get("iris").pid == after.pid
        # Stopped stays stopped: nothing starts it again.
        stopped = restarted.endpoints.stop("iris")
        assert stopped.status.value == "stopped" and stopped.desired == "stopped"
        assert restarted.endpoints.reconcile() == []
        assert not service.target.answers(service.spec(service.record("iris")))
        with pytest.raises(Conflict, match="is stopped"):
            restarted.endpoints.invoke("iris", InvokeRequest(payload={"inputs": []}))
        started = restarted.endpoints.start("iris")
        assert started.status.value == "running" and started.port == before.port
    finally:
        restarted.close()


def test_drift_scores_shifted_requests_over_the_threshold(env, iris):
    service = env.services.endpoints
    endpoint = service.get("iris")
    X = iris["X"]
    # Too few rows: no score yet.
    assert service.drift("iris").score is None or service.drift("iris").sample_rows >= 20
    same = X.sample(60, random_state=1)
    for chunk in range(4):  # a request's first 16 rows go to the sample
        rows = same.iloc[chunk * 15 : (chunk + 1) * 15]
        body = {"dataframe_records": json.loads(rows.to_json(orient="records"))}
        assert post(endpoint.url, body).status_code == 200
    calm = service.drift("iris")
    assert calm.score is not None and not calm.drifted, calm
    shifted = X.sample(60, random_state=2) + 5.0
    for chunk in range(4):
        rows = shifted.iloc[chunk * 15 : (chunk + 1) * 15]
        post(endpoint.url, {"dataframe_records": json.loads(rows.to_json(orient="records"))})
    report = service.drift("iris")
    assert report.drifted and report.score > report.threshold
    assert report.reference_rows == len(X)  # the training rows of the first publish
    assert {c.name for c in report.columns} == set(X.columns)
    assert service.get("iris").drift_score == report.score


def test_bad_publishes_are_refused_and_change_nothing(env, iris):
    service = env.services.endpoints
    before = service.list().total
    with pytest.raises(NotFound, match="No model at"):
        service.publish(PublishRequest(model_uri="runs:/0123456789abcdef/model", name="ghost"))
    with pytest.raises(InvalidInput, match="no endpoint 'ghost' to add a canary"):
        service.publish(
            PublishRequest(
                model_uri=log(env, iris["v1"], iris["X"][:5]), name="ghost", canary_percent=10
            )
        )
    uri = log(env, iris["v1"], iris["X"][:5], "ghost")
    with pytest.raises(InvalidInput, match="not a host name"):
        service.publish(PublishRequest(model_uri=uri, name="ghost", host="bad host;"))
    with pytest.raises(Conflict, match="held by another endpoint"):
        service.publish(PublishRequest(model_uri=uri, name="ghost", port=service.get("iris").port))
    with pytest.raises(NotFound, match="No endpoint named"):
        service.get("ghost")
    assert service.list().total == before
    assert "ghost" not in [m.name for m in service.models().items]
    with pytest.raises(ValueError, match="name"):
        PublishRequest(model_uri="models:/x/1", name="Not A DNS Label")


#: Gigabytes of wheels: tested where installed, skipped (and said so) in CI.
HEAVY = "not installed here (its wheels are gigabytes); CI skips it, a machine that has it runs it"


@pytest.mark.parametrize("flavor", ["xgboost", "lightgbm", "pyfunc", "pytorch", "keras"])
def test_other_flavours_publish_and_serve(env, iris, flavor):
    X, y = iris["X"], iris["y"]
    if flavor == "xgboost":
        import xgboost  # a test requirement: never skipped

        model: Any = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    elif flavor == "lightgbm":
        import lightgbm  # a test requirement: never skipped

        model = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    elif flavor == "pytorch":
        torch = pytest.importorskip("torch", reason=f"PyTorch is {HEAVY}")
        model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(dim=1))
        X = X.astype("float32")
    elif flavor == "keras":
        keras = pytest.importorskip("keras", reason=f"Keras is {HEAVY}")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        X = X.astype("float32")
    else:

        def model(frame):  # a plain function, as a notebook defines one
            return (frame["petal length (cm)"] > 2.5).astype(int)

        model.__module__ = "__main__"
    assert publishing.flavor_of(model) == flavor
    service = env.services.endpoints
    name = f"iris-{flavor}"
    done = service.publish(PublishRequest(model_uri=log(env, model, X[:5], name), name=name))
    rows = X.iloc[[0, 60, 120]]
    answer = post(
        done.endpoint.url,
        {"dataframe_split": json.loads(rows.to_json(orient="split", index=False))},
    )
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    if flavor in ("pytorch", "keras"):
        assert len(predictions) == 3  # probabilities of 3 classes per row
    else:
        expected = model(rows) if flavor == "pyfunc" else model.predict(rows)
        assert [int(p) for p in predictions] == [int(p) for p in list(expected)]
    service.delete(name)
    with pytest.raises(NotFound):
        service.get(name)
    assert not service.target.alive_pid(done.endpoint.pid)  # type: ignore[attr-defined]


def test_candidates_are_the_models_a_cell_defined(iris):
    import numpy as np

    namespace = {
        "clf": iris["v1"],
        "old": iris["v2"],
        "X": iris["X"],
        "arr": np.zeros((3, 2)),
        "n": 3,
    }
    found = publishing.candidates(namespace, "clf = LogisticRegression().fit(X, y)\n")
    assert [(m["name"], m["flavor"], m["in_cell"]) for m in found["models"]] == [
        ("clf", "sklearn", True),
        ("old", "sklearn", False),
    ]
    assert {e["name"] for e in found["examples"]} == {"X", "arr"}
    assert publishing.root_name("X.iloc[:5]") == "X"
    requirements = publishing.requirements("sklearn")
    assert any(r.startswith("scikit-learn==") for r in requirements)
    assert any(r.startswith(("mlflow==", "mlflow-skinny==")) for r in requirements)


def test_examples_are_read_without_eval(iris):
    namespace = {"X": iris["X"], "items": [1, 2, 3]}
    assert len(resolve("X[:5]", namespace)) == 5
    assert len(resolve("X.iloc[10:14]", namespace)) == 4
    assert len(resolve("X.head(2)", namespace)) == 2
    assert resolve("items[-1]", namespace) == 3
    for bad in ("__import__('os')", "X[:5] + 1", "X.to_csv('/tmp/x')", "lambda: 1"):
        with pytest.raises(InvalidInput, match="not a variable or a slice"):
            resolve(bad, namespace)
    with pytest.raises(InvalidInput, match="does not define"):
        resolve("Y[:5]", namespace)


def test_drift_profile_and_score_are_plain_python():
    reference = drift.profile([{"x": float(i), "c": "a" if i % 2 else "b"} for i in range(100)])
    assert reference["columns"]["x"]["kind"] == "numeric"
    assert reference["columns"]["c"]["kind"] == "categorical"
    same = drift.score(reference, [{"x": float(i), "c": "a" if i % 2 else "b"} for i in range(100)])
    assert all(c["score"] < 0.01 for c in same)
    moved = drift.score(reference, [{"x": 500.0 + i, "c": "z"} for i in range(50)])
    assert moved[0]["score"] > 1 and {c["name"] for c in moved} == {"x", "c"}


# -- the CLI --------------------------------------------------------------------------------------
def test_the_cli_publishes_a_model_uri_and_manages_the_endpoint(env, iris):
    uri = log(env, iris["v1"], iris["X"][:5], "cli")
    published = env.json("publish", uri, "--name", "cli-iris")
    assert published["endpoint"]["status"] == "running" and published["version"]["version"] == 1
    url = published["endpoint"]["url"]
    listed = env.dataops("endpoints")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split() == [
        "NAME",
        "STATUS",
        "MODEL",
        "VERSION",
        "URL",
        "DRIFT",
    ]
    assert any(line.startswith("cli-iris") and url in line for line in listed.stdout.splitlines())
    shown = env.dataops("endpoints", "show", "cli-iris")
    assert "serves   cli-iris v1 (production)" in shown.stdout
    invoked = env.dataops("endpoints", "invoke", "cli-iris")
    assert invoked.returncode == 0 and invoked.stdout.startswith("HTTP 200 from version 1")
    stopped = env.json("endpoints", "stop", "cli-iris")
    assert stopped["status"] == "stopped"
    deleted = env.dataops("endpoints", "delete", "cli-iris")
    assert deleted.returncode == 0 and "Deleted endpoint cli-iris" in deleted.stdout


@pytest.mark.parametrize(
    "args, code, text",
    [
        (("publish", "runs:/0123456789abcdef/model", "--name", "x"), 3, "No model at"),
        (("publish", "models:/x/1", "--name", "Bad Name"), 2, "Invalid publish request"),
        (("publish", "models:/x/1"), 2, "--name"),
        (
            ("publish", "models:/x/1", "--name", "x", "--example", "X[:5]"),
            2,
            "go with a kernel variable",
        ),
        (("endpoints", "show", "nobody"), 3, "No endpoint named 'nobody'"),
        (("endpoints", "traffic", "nobody", "--percent", "200"), 2, "percent"),
        (("endpoints", "invoke", "nobody", "--data", "{bad"), 2, "--data is not JSON"),
    ],
)
def test_bad_cli_input_exits_with_its_code_and_one_line(env, args, code, text):
    result = env.dataops(*args)
    assert result.returncode == code, result
    assert text in result.stderr and "Traceback" not in result.stderr


def test_the_magic_logs_a_kernel_variable_and_publishes_it(env, iris, monkeypatch):
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    for name in ("JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR"):
        monkeypatch.setenv(name, env.env[name])
    for name in ("DATAOPS_SERVER_URL", "DATAOPS_TOKEN", "DATAOPS_ROOT_DIR", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(env.root)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_dataops")
    shell.user_ns.update(clf=iris["v1"], X_test=iris["X"])
    try:
        with capture_output() as out:
            done = shell.run_line_magic(
                "dataops", "publish clf --name magic-iris --example X_test[:5]"
            )
        assert done.endpoint.status.value == "running", out.stdout + out.stderr
        assert "dataops: logging the model to MLflow" in out.stderr
        assert f"Endpoint magic-iris: running at {done.endpoint.url}" in out.stdout
        # The reference for drift is the example's whole variable, not its 5 rows.
        record = env.services.endpoints.record("magic-iris")
        assert record.reference["rows"] == len(iris["X"])
        with pytest.raises(UsageError, match="no variable 'nothing_here'"):
            shell.run_line_magic("dataops", "publish nothing_here --name x")
        # Options are checked before anything is logged: no run is made for a bad name.
        from mlflow import MlflowClient

        settings = env.services.endpoints.settings()
        client = MlflowClient(settings.tracking_uri)
        experiment = client.get_experiment_by_name(settings.experiment).experiment_id
        runs = len(client.search_runs([experiment]))
        for bad, says in (
            ("--name Bad_Name", "Invalid publish request"),
            ("--metric acc", "NAME=NUMBER"),
        ):
            with pytest.raises(UsageError, match=says):
                shell.run_line_magic("dataops", f"publish clf {bad}")
        assert len(client.search_runs([experiment])) == runs
    finally:
        shell.run_line_magic("unload_ext", "jupyter_dataops")
        env.services.endpoints.delete("magic-iris")


def test_a_retrain_is_served_only_if_its_metric_beats_the_served_one(env, iris):
    service = env.services.endpoints
    X = iris["X"]
    settings = service.settings()

    def publish(accuracy: float, **gate: Any):
        uri = publishing.log_model(
            iris["v1"], settings, example=X[:5], name="gated", metrics={"accuracy": accuracy}
        )
        return service.publish(PublishRequest(model_uri=uri, name="gated", **gate))

    first = publish(0.90, only_if_better="accuracy")  # nothing to beat yet
    assert first.published and first.endpoint.version == 1
    worse = publish(0.85, only_if_better="accuracy")
    assert not worse.published and worse.version.version == 2
    assert worse.reason == "accuracy 0.85 does not beat 0.9 of version 1"
    assert service.get("gated").version == 1
    assert service.registry.model("gated").aliases == {"production": 1}
    better = publish(0.95, only_if_better="accuracy")
    assert better.published and better.endpoint.version == 3
    assert better.reason == "accuracy 0.95 beats 0.9 of version 1"
    lower = publish(0.99, only_if_better="accuracy", lower_is_better=True)
    assert not lower.published and service.get("gated").version == 3
    with pytest.raises(InvalidInput, match="no metric 'loss'"):
        publish(0.5, only_if_better="loss")

    lineage = env.services.snapshots.lineage("gated")
    assert (lineage.root.kind, lineage.root.id) == ("endpoint", "gated")
    assert [(n.kind, n.id) for n in lineage.upstream] == [("model", "gated/3")]
    service.delete("gated")
