"""Kubernetes tier 2: endpoints as a Deployment and a Service, against the validating in-memory
API server. The test's kubelet runs each Deployment's pod (our real model server, on the model's
files) and puts it behind its Service; the target reaches it through the API server's Service
proxy, as a server outside the cluster does. Waits are bounded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyter_dataops.backends.kubernetes.serving import KubernetesTarget
from jupyter_dataops.core.config import DataOps
from jupyter_dataops.core.endpoints.target import ServingSpec
from jupyter_dataops.core.errors import BackendUnavailable

from .kube_cluster import NAMESPACE, emulated_cluster, image_pull_failing, wait_for

WAIT = 90


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A pyfunc model saved as files (what the registry's models:/ URI would name)."""
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    class Doubler(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input["x"] * 2

    path = tmp_path_factory.mktemp("models") / "doubler"
    xs = pd.DataFrame({"x": [1.0, 2.5]})
    mlflow.pyfunc.save_model(
        str(path),
        python_model=Doubler(),
        signature=infer_signature(xs, [2.0, 5.0]),
        pip_requirements=["pandas"],
    )
    return path


@pytest.fixture
def cluster():
    with emulated_cluster() as pair:
        yield pair


def target_of(tmp_path, api, target: str = "kubernetes", **kube) -> KubernetesTarget:
    """The deployment target ``target`` (kubernetes, or its kserve subclass) on ``api``."""
    config = Config(
        {
            "DataOps": {
                "endpoint_target_class": target,
                "mlflow_tracking_uri": "http://mlflow.dataops.svc:5000",
                "mlflow_artifact_location": "mlflow-artifacts:/",
                "store_url": f"sqlite:///{tmp_path}/dataops.db",
            },
            "Kubernetes": {
                "api_url": api.url,
                "namespace": NAMESPACE,
                "serving_image": "dataops-serving:test",
                "endpoint_resources": {"cpu": "500m", "memory": "1Gi"},
                **kube,
            },
        }
    )
    dataops = DataOps(config=config, root_dir=str(tmp_path), data_dir=str(tmp_path / "data"))
    made = dataops.endpoint_target_class(parent=dataops, dataops=dataops)
    assert isinstance(made, KubernetesTarget)
    return made


def spec_of(model_dir: Path, **overrides) -> ServingSpec:
    values = dict(
        name="doubler",
        model_uri=str(model_dir),
        label="doubler v1",
        host="0.0.0.0",
        port=9100,
        token="t0ken-for-tests",
    )
    values.update(overrides)
    return ServingSpec(**values)


def predict(target, spec, rows):
    body = json.dumps({"dataframe_records": rows}).encode()
    return target.request(spec, "POST", "/invocations", body, timeout=30)


def test_an_endpoint_is_served_by_a_deployment_behind_a_service(tmp_path, cluster, model_dir):
    api, _ = cluster
    target = target_of(tmp_path, api, endpoint_autoscale={"min": 1, "max": 3, "cpu_percent": 70})
    spec = spec_of(model_dir)
    handle = target.start(spec)
    assert handle.identity == f"{NAMESPACE}/dataops-ep-doubler"
    # Made with strict field validation; tied to the endpoint by labels.
    kinds = {
        r.resource
        for r in api.requests
        if r.verb == "create" and r.query.get("fieldValidation") == "Strict"
    }
    assert {"secrets", "deployments", "services", "horizontalpodautoscalers"} <= kinds
    (deployment,) = api.list("deployments", NAMESPACE)
    assert deployment["metadata"]["labels"]["dataops.io/endpoint"] == "doubler"
    assert "t0ken-for-tests" not in json.dumps(deployment)
    (hpa,) = api.list("horizontalpodautoscalers", NAMESPACE)
    assert hpa["spec"]["maxReplicas"] == 3
    wait_for(lambda: target.answers(spec), "the model server to answer through the Service", WAIT)
    assert target.alive(handle)
    status, headers, body = predict(target, spec, [{"x": 1.5}, {"x": 4.0}])
    assert status == 200, body
    assert json.loads(body)["predictions"] == [3.0, 8.0]
    assert headers["content-type"].startswith("application/json")
    # Without the token the server refuses (every endpoint on a cluster has one).
    status, _, _ = predict(target, spec_of(model_dir, token=None), [{"x": 1.0}])
    assert status == 401
    assert target.url(spec) == "http://dataops-ep-doubler.dataops.svc.cluster.local:9100"
    assert target.needs_token("127.0.0.1")

    # Publishing again replaces the Deployment (its pods roll to the new model label).
    again = spec_of(model_dir, label="doubler v2")
    target.start(again)
    wait_for(
        lambda: (
            target.answers(again)
            and predict(target, again, [{"x": 1.0}])[1].get("x-dataops-version", "doubler v2")
            == "doubler v2"
        ),
        "the new pod",
        WAIT,
    )
    assert len(api.list("deployments", NAMESPACE)) == 1

    target.stop(handle)
    assert not target.alive(handle)
    for kind in ("deployments", "services", "horizontalpodautoscalers", "secrets"):
        assert not [
            o for o in api.list(kind, NAMESPACE) if "dataops-ep" in o["metadata"]["name"]
        ], kind
    wait_for(lambda: not target.answers(spec), "the endpoint to stop answering", WAIT)


def test_a_pod_that_cannot_pull_its_image_is_not_alive_and_says_why(tmp_path, cluster, model_dir):
    api, kubelet = cluster
    kubelet.hold = lambda pod: image_pull_failing(pod["spec"]["containers"][0]["image"])
    target = target_of(tmp_path, api)
    spec = spec_of(model_dir)
    handle = target.start(spec)
    wait_for(lambda: not target.alive(handle), "the stuck pod to be seen", WAIT)
    assert not target.answers(spec)
    assert "ImagePullBackOff" in target.log_tail(spec.name)
    target.stop(handle)


def test_a_name_held_by_someone_elses_object_is_refused(tmp_path, cluster, model_dir):
    api, _ = cluster
    api.create(
        "services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "dataops-ep-doubler", "namespace": NAMESPACE},
            "spec": {"ports": [{"port": 80}], "selector": {"app": "theirs"}},
        },
        NAMESPACE,
    )
    target = target_of(tmp_path, api)
    with pytest.raises(Exception, match="exists and is not this product's"):
        target.start(spec_of(model_dir))
    (service,) = api.list("services", NAMESPACE)
    assert service["spec"]["selector"] == {"app": "theirs"}  # left alone
    # Refused before anything was made.
    assert not api.list("deployments", NAMESPACE)
    assert not [s for s in api.list("secrets", NAMESPACE) if "dataops-ep" in s["metadata"]["name"]]


def test_a_registry_the_pods_cannot_reach_is_refused_before_anything_is_made(
    tmp_path, cluster, model_dir
):
    api, _ = cluster
    target = target_of(tmp_path, api)
    target.dataops.mlflow_tracking_uri = "sqlite:///mlflow.db"
    with pytest.raises(BackendUnavailable, match=r"c\.DataOps\.mlflow_tracking_uri"):
        target.start(spec_of(model_dir))
    assert not [r for r in api.requests if r.verb == "create"]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """A real MLflow tracking server (registry and artifacts) on loopback; pods reach it as
    mlflow.dataops.svc:5000 through the test kubelet's DNS."""
    import subprocess
    import sys
    import urllib.request

    from .kube_cluster import _free_port

    tmp = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp}/mlflow.db",
            "--artifacts-destination",
            str(tmp / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def up():
            assert proc.poll() is None, (tmp / "server.log").read_text()
            try:
                return urllib.request.urlopen(f"{url}/health", timeout=2).status == 200
            except OSError:
                return False

        wait_for(up, "the MLflow server", 120)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def test_publishing_a_model_serves_it_on_the_cluster(tmp_path, cluster, mlflow_server):
    """The publish flow of the endpoint service with the Kubernetes target: the model logged
    to the registry, registered with its alias, served by a Deployment whose pod loads it from
    the registry, invoked through the server, then deleted."""
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    from jupyter_dataops.backends.mlflow_registry import MlflowRegistry, tracking
    from jupyter_dataops.core.endpoints.models import InvokeRequest, PublishRequest
    from jupyter_dataops.services import Services

    api, kubelet = cluster
    kubelet.dns["mlflow.dataops.svc:5000"] = mlflow_server.removeprefix("http://")

    class Tripler(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input["x"] * 3

    with tracking(mlflow_server):
        mlflow.set_experiment("k8s-endpoints")
        xs = pd.DataFrame({"x": [1.0, 2.0]})
        with mlflow.start_run() as run:
            mlflow.pyfunc.log_model(
                name="model",
                python_model=Tripler(),
                signature=infer_signature(xs, [3.0, 6.0]),
                pip_requirements=["pandas"],
            )
    target = target_of(tmp_path, api)
    services = Services.from_config(target.dataops, actor="alice")
    try:
        # The server's own view of the registry (the pods' is mlflow.dataops.svc:5000).
        services.endpoints._registry_factory = lambda: MlflowRegistry(
            mlflow_server, experiment="k8s-endpoints", artifact_location=""
        )
        publication = services.endpoints.publish(
            PublishRequest(model_uri=f"runs:/{run.info.run_id}/model", name="tripler"),
            actor="alice",
        )
        endpoint = publication.endpoint
        assert endpoint.status == "running", endpoint
        assert endpoint.url.startswith("http://dataops-ep-tripler.dataops.svc.cluster.local:")
        (deployment,) = api.list("deployments", NAMESPACE)
        argv = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
        # The registered version's files, which the pod downloads through the tracking server.
        assert argv[argv.index("--model-uri") + 1].startswith("mlflow-artifacts:/")
        assert argv[argv.index("--tracking-uri") + 1] == "http://mlflow.dataops.svc:5000"
        result = services.endpoints.invoke(
            "tripler", InvokeRequest(payload={"dataframe_records": [{"x": 2.0}]})
        )
        assert result.status == 200, result
        assert result.body["predictions"] == [6.0]
        services.endpoints.delete("tripler", actor="alice")
        assert not api.list("deployments", NAMESPACE)
        assert not [s for s in api.list("secrets", NAMESPACE) if "tripler" in s["metadata"]["name"]]
    finally:
        services.close()
