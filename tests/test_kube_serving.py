"""Kubernetes tier 2: endpoints as a Deployment and a Service, against the validating in-memory
API server. The test's kubelet runs each Deployment's pod (our real model server, on the model's
files) and puts it behind its Service; the target reaches it through the API server's Service
proxy, as a server outside the cluster does. Waits are bounded.

Tier 3: the tests that take ``cluster`` run again under ``-m kind`` on a real cluster
(``DATAOPS_KUBECONFIG``): the pods run the serving image (``DATAOPS_KIND_SERVING_IMAGE``) and
load their model from the MLflow server at ``DATAOPS_KIND_MLFLOW``, an address both this process
and the pods reach; the target still goes through the API server's Service proxy. Tests that
hold pods or count the API's requests are the emulator's only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyter_dataops.backends.kubernetes.serving import KubernetesTarget
from jupyter_dataops.core.config import DataOps
from jupyter_dataops.core.endpoints.target import ServingSpec
from jupyter_dataops.core.errors import BackendUnavailable

from .kube_cluster import (
    CLUSTERS,
    NAMESPACE,
    RealCluster,
    cluster_of,
    image_pull_failing,
    kind_env,
    wait_for,
)

WAIT = 180  # a bound on waits: a real cluster's model server imports MLflow on half a CPU


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


@pytest.fixture(params=CLUSTERS)
def cluster(request):
    """Each test that takes this fixture runs on the emulator (tier 2) and, under ``-m kind``,
    on a real cluster (tier 3)."""
    with cluster_of(request.param) as made:
        yield made


@pytest.fixture
def emulator():
    """Tests that hold pods or count the API's requests: the emulator only."""
    with cluster_of("emulator") as made:
        yield made


def kind_mlflow() -> str:
    """Tier 3: the MLflow server (registry, artifacts served) as this process and pods reach it."""
    return kind_env("DATAOPS_KIND_MLFLOW").rstrip("/")


def target_of(tmp_path, api, target: str = "kubernetes", **kube) -> KubernetesTarget:
    """The deployment target ``target`` (kubernetes, or its kserve subclass) on ``api`` (the
    emulator, or a real cluster's :class:`RealCluster`)."""
    if isinstance(api, RealCluster):
        tracking_uri = kind_mlflow()
        where = {
            "kubeconfig": api.kubeconfig,
            "serving_image": kind_env("DATAOPS_KIND_SERVING_IMAGE", "dataops-serving:kind"),
            "image_pull_policy": "IfNotPresent",
        }
    else:
        tracking_uri = "http://mlflow.dataops.svc:5000"
        where = {"api_url": api.url, "serving_image": "dataops-serving:test"}
    config = Config(
        {
            "DataOps": {
                "endpoint_target_class": target,
                "mlflow_tracking_uri": tracking_uri,
                "mlflow_artifact_location": "mlflow-artifacts:/",
                "store_url": f"sqlite:///{tmp_path}/dataops.db",
            },
            "Kubernetes": {
                **where,
                "namespace": NAMESPACE,
                "endpoint_resources": {"cpu": "500m", "memory": "1Gi"},
                **kube,
            },
        }
    )
    dataops = DataOps(config=config, root_dir=str(tmp_path), data_dir=str(tmp_path / "data"))
    made = dataops.endpoint_target_class(parent=dataops, dataops=dataops)
    assert isinstance(made, KubernetesTarget)
    return made


@pytest.fixture
def doubler_uri(cluster, model_dir) -> str:
    """Where pods load the doubler from: its folder here (the emulator's pods are processes
    here); on a real cluster, the same files logged to the MLflow server the pods reach."""
    if not cluster.real:
        return str(model_dir)
    import mlflow

    from jupyter_dataops.backends.mlflow_registry import tracking

    with tracking(kind_mlflow()):
        mlflow.set_experiment("k8s-endpoints")
        with mlflow.start_run() as run:
            mlflow.log_artifacts(str(model_dir), "model")
    return f"{run.info.artifact_uri}/model"


def spec_of(model_uri: str | Path, **overrides) -> ServingSpec:
    values = dict(
        name="doubler",
        model_uri=str(model_uri),
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


def wait_answering(target, spec, what: str) -> None:
    """Until the endpoint answers through its Service; on a timeout, the pod's log says why."""
    try:
        wait_for(lambda: target.answers(spec), what, WAIT)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the pod's log:\n{target.log_tail(spec.name)}") from None


def version_of(target, spec) -> str | None:
    """The model label of the pod that answered a prediction; None when no pod answered (a
    real cluster's Service between two pods of a rollout)."""
    try:
        status, headers, _ = predict(target, spec, [{"x": 1.0}])
    except OSError:
        return None
    return headers.get("x-dataops-version", spec.label) if status == 200 else None


def test_an_endpoint_is_served_by_a_deployment_behind_a_service(tmp_path, cluster, doubler_uri):
    api = cluster.api
    target = target_of(tmp_path, api, endpoint_autoscale={"min": 1, "max": 3, "cpu_percent": 70})
    spec = spec_of(doubler_uri)
    handle = target.start(spec)
    assert handle.identity == f"{NAMESPACE}/dataops-ep-doubler"
    if not cluster.real:  # made with strict field validation
        kinds = {
            r.resource
            for r in api.requests
            if r.verb == "create" and r.query.get("fieldValidation") == "Strict"
        }
        assert {"secrets", "deployments", "services", "horizontalpodautoscalers"} <= kinds
    # Tied to the endpoint by labels; the token only in its Secret.
    (deployment,) = api.list("deployments", NAMESPACE)
    assert deployment["metadata"]["labels"]["dataops.io/endpoint"] == "doubler"
    assert "t0ken-for-tests" not in json.dumps(deployment)
    (hpa,) = api.list("horizontalpodautoscalers", NAMESPACE)
    assert hpa["spec"]["maxReplicas"] == 3
    wait_answering(target, spec, "the model server to answer through the Service")
    assert target.alive(handle)
    status, headers, body = predict(target, spec, [{"x": 1.5}, {"x": 4.0}])
    assert status == 200, body
    assert json.loads(body)["predictions"] == [3.0, 8.0]
    assert headers["content-type"].startswith("application/json")
    # Without the token the server refuses (every endpoint on a cluster has one).
    status, _, _ = predict(target, spec_of(doubler_uri, token=None), [{"x": 1.0}])
    assert status == 401
    assert target.url(spec) == "http://dataops-ep-doubler.dataops.svc.cluster.local:9100"
    assert target.needs_token("127.0.0.1")

    # Publishing again replaces the Deployment (its pods roll to the new model label).
    again = spec_of(doubler_uri, label="doubler v2")
    target.start(again)
    wait_for(
        lambda: target.answers(again) and version_of(target, again) == "doubler v2",
        "the new pod",
        WAIT,
    )
    assert len(api.list("deployments", NAMESPACE)) == 1
    status, _, body = predict(target, again, [{"x": 1.5}])
    assert status == 200, body
    assert json.loads(body)["predictions"] == [3.0]

    target.stop(handle)
    assert not target.alive(handle)
    for kind in ("deployments", "services", "horizontalpodautoscalers", "secrets"):
        wait_for(
            lambda kind=kind: (
                not [o for o in api.list(kind, NAMESPACE) if "dataops-ep" in o["metadata"]["name"]]
            ),
            f"the endpoint's {kind} to be deleted",
            WAIT,
        )
    wait_for(lambda: not target.answers(spec), "the endpoint to stop answering", WAIT)
    if cluster.real:  # its pods go with their Deployment (garbage collection)
        wait_for(lambda: not api.list("pods", NAMESPACE), "the endpoint's pods to go", WAIT)


# -- the emulator only: a held pod ------------------------------------------------------------
def test_a_pod_that_cannot_pull_its_image_is_not_alive_and_says_why(tmp_path, emulator, model_dir):
    api, kubelet = emulator.api, emulator.kubelet
    kubelet.hold = lambda pod: image_pull_failing(pod["spec"]["containers"][0]["image"])
    target = target_of(tmp_path, api)
    spec = spec_of(model_dir)
    handle = target.start(spec)
    wait_for(lambda: not target.alive(handle), "the stuck pod to be seen", WAIT)
    assert not target.answers(spec)
    assert "ImagePullBackOff" in target.log_tail(spec.name)
    target.stop(handle)


# -- both tiers -------------------------------------------------------------------------------
def test_a_name_held_by_someone_elses_object_is_refused(tmp_path, cluster, model_dir):
    api = cluster.api
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
    try:
        target = target_of(tmp_path, api)
        # The model is never loaded: the start is refused first.
        with pytest.raises(Exception, match="exists and is not this product's"):
            target.start(spec_of(model_dir))
        service = api.get("services", NAMESPACE, "dataops-ep-doubler")
        assert service["spec"]["selector"] == {"app": "theirs"}  # left alone
        # Refused before anything was made.
        assert not api.list("deployments", NAMESPACE)
        assert not [
            s for s in api.list("secrets", NAMESPACE) if "dataops-ep" in s["metadata"]["name"]
        ]
    finally:  # not the product's: no clean-up of a cluster's would remove it
        api.delete("services", NAMESPACE, "dataops-ep-doubler")


# -- the emulator only: what was asked of the API server -------------------------------------
def test_a_registry_the_pods_cannot_reach_is_refused_before_anything_is_made(
    tmp_path, emulator, model_dir
):
    api = emulator.api
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


@pytest.fixture
def registry(cluster, request) -> str:
    """The MLflow server (registry and artifacts) as this process reaches it: the module's own
    on loopback, which the emulator's pods reach as mlflow.dataops.svc:5000 (the kubelet's
    DNS); on a real cluster, the one at DATAOPS_KIND_MLFLOW, which pods reach too."""
    if cluster.real:
        return kind_mlflow()
    url = request.getfixturevalue("mlflow_server")
    cluster.kubelet.dns["mlflow.dataops.svc:5000"] = url.removeprefix("http://")
    return url


def log_tripler(tracking_uri: str, experiment: str) -> str:
    """Log a model that triples ``x`` to the registry at ``tracking_uri``; its run's id. The
    class is defined here, in a function, so it is pickled by value: pods without this test
    module load it too."""
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    from jupyter_dataops.backends.mlflow_registry import tracking

    class Tripler(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input["x"] * 3

    with tracking(tracking_uri):
        mlflow.set_experiment(experiment)
        xs = pd.DataFrame({"x": [1.0, 2.0]})
        with mlflow.start_run() as run:
            mlflow.pyfunc.log_model(
                name="model",
                python_model=Tripler(),
                signature=infer_signature(xs, [3.0, 6.0]),
                pip_requirements=["pandas"],
            )
    return str(run.info.run_id)


def test_publishing_a_model_serves_it_on_the_cluster(tmp_path, cluster, registry):
    """The publish flow of the endpoint service with the Kubernetes target: the model logged
    to the registry, registered with its alias, served by a Deployment whose pod loads it from
    the registry, invoked through the server, then deleted."""

    from jupyter_dataops.backends.mlflow_registry import MlflowRegistry
    from jupyter_dataops.core.endpoints.models import InvokeRequest, PublishRequest
    from jupyter_dataops.services import Services

    api = cluster.api

    run_id = log_tripler(registry, "k8s-endpoints")
    target = target_of(tmp_path, api)
    services = Services.from_config(target.dataops, actor="alice")
    try:
        # The server's own view of the registry (the pods' is mlflow.dataops.svc:5000).
        services.endpoints._registry_factory = lambda: MlflowRegistry(
            registry, experiment="k8s-endpoints", artifact_location=""
        )
        publication = services.endpoints.publish(
            PublishRequest(model_uri=f"runs:/{run_id}/model", name="tripler"),
            actor="alice",
        )
        endpoint = publication.endpoint
        assert endpoint.status == "running", endpoint
        assert endpoint.url.startswith("http://dataops-ep-tripler.dataops.svc.cluster.local:")
        (deployment,) = api.list("deployments", NAMESPACE)
        argv = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
        # The registered version's files, which the pod downloads through the tracking server.
        assert argv[argv.index("--model-uri") + 1].startswith("mlflow-artifacts:/")
        assert argv[argv.index("--tracking-uri") + 1] == target.dataops.mlflow_tracking_uri
        result = services.endpoints.invoke(
            "tripler", InvokeRequest(payload={"dataframe_records": [{"x": 2.0}]})
        )
        assert result.status == 200, result
        assert result.body["predictions"] == [6.0]
        services.endpoints.delete("tripler", actor="alice")
        wait_for(lambda: not api.list("deployments", NAMESPACE), "the Deployment to go", WAIT)
        assert not [s for s in api.list("secrets", NAMESPACE) if "tripler" in s["metadata"]["name"]]
    finally:
        services.close()
