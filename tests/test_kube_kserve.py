"""KServe endpoints: ``c.DataOps.endpoint_target_class = "kserve"``.

Tier 1: the InferenceService the builder makes (its predictor is the Deployment's pod of the
``kubernetes`` target), checked against the CRD's schema (the trimmed copy of KServe's CRD the
test API server installs) and the Secret against the official schemas. Tier 2, against the
validating in-memory API server: without the CRD nothing is made; names held by others are
refused; republishing replaces, unpublishing deletes; and one publish end to end, where the test
KServe controller (``tests.kserve_controller``) makes the predictor's Deployment and Service and
the test kubelet runs our model server on a model of a real MLflow registry. Waits are bounded.
"""

from __future__ import annotations

import copy
import json
import threading

import kubernetes_validate
import pytest

from jupyter_dataops.backends.kubernetes import kserve, objects
from jupyter_dataops.backends.kubernetes.kserve import KServeTarget
from jupyter_dataops.core.endpoints.target import Handle, ServingSpec
from jupyter_dataops.core.errors import BackendUnavailable, Conflict, InvalidInput

from .kserve_controller import KServeController
from .kube_cluster import NAMESPACE, emulated_cluster, wait_for
from .kubeapi import KubeAPI, _structural_check, kserve_crd
from .test_kube_serving import (
    log_tripler,
    mlflow_server,  # noqa: F401  (a fixture: the real MLflow server)
)
from .test_kube_serving import target_of as serving_target_of

WAIT = 90
ISVC_SCHEMA = kserve_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
POD = objects.PodSettings(
    image="registry.example.com/ml/dataops-serving:1.4",
    service_account="dataops-models",
    env={"AWS_ENDPOINT_URL": "http://minio.storage:9000"},
    env_from_secrets=("dataops-storage",),
    labels={"cost-centre": "ml-research"},
)


def serving(autoscale=None, **spec) -> objects.EndpointServing:
    values = dict(
        name="churn",
        model_uri="models:/churn@production",
        label="churn v3",
        host="0.0.0.0",
        port=8701,
        token="s3cret",
    )
    values.update(spec)
    return objects.EndpointServing(
        spec=ServingSpec(**values),
        namespace="dataops",
        identity="churn@0123456789abcdef",
        tracking_uri="http://mlflow.ml.svc:5000",
        resources=objects.Resources(cpu="500m", memory="1Gi"),
        replicas=2,
        autoscale=autoscale,
        owner="alice@example.com",
    )


def schema_problems(isvc: dict) -> tuple[list[str], list[str]]:
    """(unknown fields, other errors) of an InferenceService under the CRD's schema."""
    unknown, errors = _structural_check(copy.deepcopy(isvc), ISVC_SCHEMA)
    return unknown, [str(e) for e in errors]


# -- tier 1: the objects -----------------------------------------------------------------------
def test_the_inference_service_runs_our_model_server_as_the_deployment_would():
    made = kserve.inference_service_objects(serving(), POD, "s3cret")
    secret, isvc = made
    _, deployment, _ = objects.endpoint_objects(serving(), POD, "s3cret")
    command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
    labels = {
        "cost-centre": "ml-research",
        "app.kubernetes.io/managed-by": "jupyter-dataops",
        "app.kubernetes.io/component": "endpoint",
        "dataops.io/endpoint": "churn",
        "dataops.io/user": "alice_example.com-ff8d9819fc",
    }
    annotations = {
        "dataops.io/endpoint": "churn",
        "dataops.io/model-uri": "models:/churn@production",
    }
    assert isvc == {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": "dataops-ep-churn",
            "namespace": "dataops",
            "labels": labels,
            "annotations": {**annotations, "serving.kserve.io/deploymentMode": "RawDeployment"},
        },
        "spec": {
            "predictor": {
                "automountServiceAccountToken": False,
                "serviceAccountName": "dataops-models",
                "containers": [
                    {
                        "name": "kserve-container",
                        "image": "registry.example.com/ml/dataops-serving:1.4",
                        "imagePullPolicy": "IfNotPresent",
                        "command": command,
                        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                        "resources": {
                            "requests": {"cpu": "500m", "memory": "1Gi"},
                            "limits": {"cpu": "500m", "memory": "1Gi"},
                        },
                        "readinessProbe": {
                            "httpGet": {"path": "/ping", "port": "http"},
                            "periodSeconds": 5,
                        },
                        "livenessProbe": {
                            "httpGet": {"path": "/health", "port": "http"},
                            "initialDelaySeconds": 30,
                            "periodSeconds": 15,
                        },
                        "volumeMounts": [
                            {"name": "token", "mountPath": "/var/run/dataops", "readOnly": True}
                        ],
                        "env": [{"name": "AWS_ENDPOINT_URL", "value": "http://minio.storage:9000"}],
                        "envFrom": [{"secretRef": {"name": "dataops-storage"}}],
                    }
                ],
                "volumes": [
                    {
                        "name": "token",
                        "secret": {"secretName": "dataops-ep-churn-token", "defaultMode": 0o444},
                    }
                ],
                "labels": labels,
                "annotations": annotations,
                "minReplicas": 2,
                "maxReplicas": 2,
            }
        },
    }
    # Our model server, as the Deployment runs it: on the pod's addresses, the token from a file.
    assert command[:3] == ["python", "-m", "jupyter_dataops.backends.local.model_server"]
    assert command[command.index("--port") + 1] == "8080"
    assert command[command.index("--token-file") + 1] == "/var/run/dataops/token"
    assert "s3cret" not in json.dumps(isvc)
    assert secret["metadata"]["name"] == "dataops-ep-churn-token"
    assert secret["stringData"] == {"token": "s3cret"}
    assert secret["metadata"]["labels"] == labels
    kubernetes_validate.validate(secret, "1.29", strict=True)
    assert schema_problems(isvc) == ([], [])


def test_autoscaling_is_kserves_and_its_schema_check_catches_mistakes():
    (_, isvc) = kserve.inference_service_objects(
        serving(autoscale=objects.Autoscale(2, 10, 60)), POD, "s3cret"
    )
    predictor = isvc["spec"]["predictor"]
    assert {
        k: predictor[k] for k in ("minReplicas", "maxReplicas", "scaleMetric", "scaleTarget")
    } == {
        "minReplicas": 2,
        "maxReplicas": 10,
        "scaleMetric": "cpu",
        "scaleTarget": 60,
    }
    assert schema_problems(isvc) == ([], [])
    # What the schema refuses, as the API server would.
    predictor["minReplica"] = 2
    predictor["scaleMetric"] = "gpu"
    predictor["containers"][0]["ports"][0]["containerPort"] = "8080"
    del predictor["containers"][0]["name"]
    unknown, errors = schema_problems(isvc)
    assert unknown == ["spec.predictor.minReplica"]
    assert sorted(errors) == [
        "spec.predictor.containers[0].name: Required value",
        'spec.predictor.containers[0].ports[0].containerPort: Invalid value: "string": '
        "spec.predictor.containers[0].ports[0].containerPort in body must be of type integer: "
        '"string"',
        'spec.predictor.scaleMetric: Unsupported value: "gpu": supported values: "cpu", '
        '"memory", "concurrency", "rps"',
    ]
    # KServe's autoscaler takes a utilization up to 100 %.
    with pytest.raises(InvalidInput, match=r"c\.Kubernetes\.endpoint_autoscale"):
        kserve.inference_service_objects(
            serving(autoscale=objects.Autoscale(1, 3, 150)), POD, "s3cret"
        )


@pytest.mark.parametrize("name", ["churn", "a" * 63, "Churn.Model@team", "x" * 200])
def test_names_leave_room_for_kserves_predictor_service(name):
    isvc_name = kserve.isvc_name(name)
    service = kserve.predictor_service(isvc_name)
    assert len(service) <= 63 and len(f"{isvc_name}-token") <= 63
    assert kserve.isvc_name(name + "x") != isvc_name  # distinct endpoints, distinct objects
    (_, isvc) = kserve.inference_service_objects(serving(name=name), POD, "t")
    assert isvc["metadata"]["name"] == isvc_name
    assert schema_problems(isvc) == ([], [])


def test_what_kserve_reports_is_read_as_a_failure_or_as_not_ready_yet():
    starting = {
        "status": {
            "conditions": [
                {
                    "type": "PredictorReady",
                    "status": "False",
                    "reason": "MinimumReplicasUnavailable",
                    "message": "Deployment does not have minimum availability.",
                },
                {"type": "Ready", "status": "False", "reason": "MinimumReplicasUnavailable"},
            ],
            "modelStatus": {"transitionStatus": "InProgress"},
        }
    }
    assert kserve.failure(starting) is None
    assert kserve.not_ready(starting) == (
        "KServe: Ready is False: MinimumReplicasUnavailable\n"
        "KServe: PredictorReady is False: MinimumReplicasUnavailable: "
        "Deployment does not have minimum availability."
    )
    crashing = {
        "status": {
            "modelStatus": {
                "transitionStatus": "BlockedByFailedLoad",
                "lastFailureInfo": {"reason": "ModelLoadFailed", "message": "exit code 1"},
            }
        }
    }
    assert kserve.failure(crashing) == (
        "KServe: BlockedByFailedLoad (ModelLoadFailed: exit code 1)"
    )
    past_deadline = {
        "status": {
            "conditions": [
                {
                    "type": "PredictorReady",
                    "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "message": 'ReplicaSet "x" has timed out progressing.',
                }
            ]
        }
    }
    assert kserve.failure(past_deadline) == (
        "KServe: PredictorReady: ProgressDeadlineExceeded: "
        'ReplicaSet "x" has timed out progressing.'
    )
    stopped = {"status": {"conditions": [{"type": "Stopped", "status": "True"}]}}
    assert "stopped" in (kserve.failure(stopped) or "")
    assert kserve.failure({"status": {}}) is None and kserve.not_ready({}) is None


# -- tier 2: against the API server ------------------------------------------------------------
def target_of(tmp_path, api, **kube) -> KServeTarget:
    target = serving_target_of(tmp_path, api, "kserve", **kube)
    assert isinstance(target, KServeTarget)  # "kserve" names this target
    return target


def spec_of(**overrides) -> ServingSpec:
    values = dict(
        name="doubler",
        model_uri="mlflow-artifacts:/1/models/m-1/artifacts",
        label="doubler v1",
        host="0.0.0.0",
        port=8700,
        token="t0ken-for-tests",
    )
    values.update(overrides)
    return ServingSpec(**values)


def ready(api) -> bool:
    isvc = api.get("inferenceservices", NAMESPACE, "dataops-ep-tripler") or {}
    conditions = (isvc.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


@pytest.fixture
def api():
    """The API server with the namespace, and no controller or kubelet: nothing runs."""
    with KubeAPI() as server:
        server.create("namespaces", {"metadata": {"name": NAMESPACE}})
        yield server


def test_without_kserves_crd_nothing_is_made_and_the_refusal_names_the_fix(tmp_path, api):
    target = target_of(tmp_path, api)
    with pytest.raises(BackendUnavailable) as refused:
        target.start(spec_of())
    assert refused.value.message.startswith(
        "KServe's InferenceService CRD is not installed in this cluster "
        "(no serving.kserve.io/v1beta1)"
    )
    assert 'c.DataOps.endpoint_target_class = "kubernetes"' in refused.value.hint
    assert "Install KServe" in refused.value.hint
    assert any(r.path == "/apis/serving.kserve.io/v1beta1" for r in api.requests)
    assert not [r for r in api.requests if r.verb == "create"]


def test_a_name_held_by_someone_elses_inference_service_is_refused(tmp_path, api):
    api.install_crd(kserve_crd())
    theirs = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "dataops-ep-doubler", "namespace": NAMESPACE},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}}}},
    }
    created = api.create("inferenceservices", theirs)
    target = target_of(tmp_path, api)
    with pytest.raises(Conflict, match=r"InferenceService dataops-ep-doubler .* is not this"):
        target.start(spec_of())
    (isvc,) = api.list("inferenceservices", NAMESPACE)
    assert isvc == created  # left alone
    assert not [s for s in api.list("secrets", NAMESPACE) if "dataops-ep" in s["metadata"]["name"]]


def test_republishing_replaces_and_unpublishing_deletes_both(tmp_path, api):
    api.install_crd(kserve_crd())
    target = target_of(tmp_path, api)
    handle = target.start(spec_of())
    assert handle == Handle(None, f"{NAMESPACE}/dataops-ep-doubler")
    writes = [r for r in api.requests if r.verb == "create" and r.name and "dataops-ep" in r.name]
    assert [(r.resource, r.query.get("fieldValidation")) for r in writes] == [
        ("secrets", "Strict"),
        ("inferenceservices", "Strict"),
    ]
    first = api.get("inferenceservices", NAMESPACE, "dataops-ep-doubler")
    assert target.alive(handle)
    # KServe adds its finalizer; and it writes between our read and our replacement once: the
    # replacement is refused (409) and made again on what is there now.
    finalizer = {"metadata": {"finalizers": ["inferenceservice.finalizers"]}}
    api.patch("inferenceservices", NAMESPACE, "dataops-ep-doubler", finalizer)
    api.inject(409, verb="update", resource="inferenceservices", name="dataops-ep-doubler")
    target.start(spec_of(model_uri="mlflow-artifacts:/1/models/m-2/artifacts"))
    replaced = [r for r in api.requests if r.verb == "update" and r.resource == "inferenceservices"]
    assert [r.query.get("fieldValidation") for r in replaced] == ["Strict", "Strict"]
    second = api.get("inferenceservices", NAMESPACE, "dataops-ep-doubler")
    assert second["metadata"]["uid"] == first["metadata"]["uid"]  # replaced, not made again
    assert second["metadata"]["generation"] == 2
    assert second["metadata"]["finalizers"] == ["inferenceservice.finalizers"]  # KServe's, kept
    assert second["metadata"]["annotations"]["dataops.io/model-uri"].endswith("m-2/artifacts")
    command = second["spec"]["predictor"]["containers"][0]["command"]
    assert command[command.index("--model-uri") + 1].endswith("m-2/artifacts")
    # What KServe says goes into alive() and the log tail.
    api.patch_status(
        "inferenceservices",
        NAMESPACE,
        "dataops-ep-doubler",
        {
            "modelStatus": {
                "transitionStatus": "BlockedByFailedLoad",
                "lastFailureInfo": {"reason": "ModelLoadFailed", "message": "no such model"},
            }
        },
    )
    assert not target.alive(handle)
    assert "BlockedByFailedLoad (ModelLoadFailed: no such model)" in target.log_tail("doubler")

    # Unpublishing deletes both; KServe's finalizer holds the InferenceService until it is
    # done, and a publish meanwhile waits for it to be gone rather than replace it.
    target.stop(handle)
    assert api.get("secrets", NAMESPACE, "dataops-ep-doubler-token") is None
    held = api.get("inferenceservices", NAMESPACE, "dataops-ep-doubler")
    assert held["metadata"]["deletionTimestamp"]
    assert not target.alive(handle)
    served_before = len(api.requests)
    started = threading.Thread(target=target.start, args=(spec_of(),))
    started.start()
    wait_for(
        lambda: any(
            r.verb == "create" and r.resource == "inferenceservices"
            for r in api.requests[served_before:]
        ),
        "the publish to find the InferenceService being deleted",
        WAIT,
    )
    api.patch(
        "inferenceservices", NAMESPACE, "dataops-ep-doubler", {"metadata": {"finalizers": []}}
    )
    started.join(WAIT)
    assert not started.is_alive()
    again = api.get("inferenceservices", NAMESPACE, "dataops-ep-doubler")
    assert again["metadata"]["uid"] != first["metadata"]["uid"]
    assert not again["metadata"].get("deletionTimestamp")
    target.stop(handle)
    assert api.get("inferenceservices", NAMESPACE, "dataops-ep-doubler") is None
    assert api.get("secrets", NAMESPACE, "dataops-ep-doubler-token") is None
    assert not target.alive(handle)


def test_publishing_a_model_serves_it_as_an_inference_service(
    tmp_path,
    mlflow_server,  # noqa: F811
):
    """The publish flow of the endpoint service with the KServe target: the model logged to a
    real registry, registered, served by the InferenceService's predictor (the controller makes
    its Deployment and Service, the kubelet runs our model server on the registry's files),
    invoked through the server, then deleted with everything KServe made for it."""

    from jupyter_dataops.backends.mlflow_registry import MlflowRegistry
    from jupyter_dataops.core.endpoints.models import InvokeRequest, PublishRequest
    from jupyter_dataops.services import Services

    run_id = log_tripler(mlflow_server, "kserve-endpoints")
    with emulated_cluster() as (api, kubelet):
        kubelet.dns["mlflow.dataops.svc:5000"] = mlflow_server.removeprefix("http://")
        api.install_crd(kserve_crd())
        with KServeController(api) as controller:
            target = target_of(tmp_path, api)
            services = Services.from_config(target.dataops, actor="alice")
            try:
                services.endpoints._registry_factory = lambda: MlflowRegistry(
                    mlflow_server, experiment="kserve-endpoints", artifact_location=""
                )
                publication = services.endpoints.publish(
                    PublishRequest(model_uri=f"runs:/{run_id}/model", name="tripler"),
                    actor="alice",
                )
                endpoint = publication.endpoint
                assert endpoint.status == "running", endpoint
                assert endpoint.target == "kserve"
                # KServe's URL: its predictor Service's address in the cluster (no ingress).
                assert endpoint.url == (
                    "http://dataops-ep-tripler-predictor.dataops.svc.cluster.local/invocations"
                )
                (isvc,) = api.list("inferenceservices", NAMESPACE)
                (deployment,) = api.list("deployments", NAMESPACE)
                assert deployment["metadata"]["name"] == "dataops-ep-tripler-predictor"
                pod_spec = deployment["spec"]["template"]["spec"]
                argv = pod_spec["containers"][0]["command"]
                assert argv[argv.index("--model-uri") + 1].startswith("mlflow-artifacts:/")
                assert argv[argv.index("--tracking-uri") + 1] == "http://mlflow.dataops.svc:5000"
                predictor = isvc["spec"]["predictor"]
                assert argv == predictor["containers"][0]["command"]
                assert pod_spec["volumes"][0]["secret"]["secretName"] == (
                    "dataops-ep-tripler-token"
                )
                # Our labels reach the pods, beside KServe's.
                (pod,) = api.list("pods", NAMESPACE, "serving.kserve.io/inferenceservice")
                assert pod["metadata"]["labels"]["dataops.io/endpoint"] == "tripler"
                wait_for(lambda: ready(api), "KServe to report the InferenceService ready", WAIT)
                result = services.endpoints.invoke(
                    "tripler", InvokeRequest(payload={"dataframe_records": [{"x": 2.0}]})
                )
                assert result.status == 200, result
                assert result.body["predictions"] == [6.0]

                services.endpoints.delete("tripler", actor="alice")
                wait_for(
                    lambda: (
                        not api.list("inferenceservices", NAMESPACE)
                        and not api.list("deployments", NAMESPACE)
                        and not api.list("services", NAMESPACE)
                    ),
                    "the InferenceService and what KServe made for it to be gone",
                    WAIT,
                )
                assert not [
                    s for s in api.list("secrets", NAMESPACE) if "tripler" in s["metadata"]["name"]
                ]
            finally:
                services.close()
        assert not controller.errors, controller.errors
