"""KServe's controller, in raw deployment mode, for the test API server (tier 2).

With KServe's InferenceService CRD installed in the emulator (``api.install_crd(kserve_crd())``),
this plays what KServe's controller does for an InferenceService whose predictor is a custom
container (the facts come from kserve/kserve's sources: pkg/controller/v1beta1/inferenceservice,
its components/predictor.go and reconcilers/{deployment,service}, and pkg/constants):

- its finalizer ``inferenceservice.finalizers``, added with a merge patch, removed when the
  InferenceService is deleted (the garbage collector then deletes what it owns);
- in raw deployment mode (the ``serving.kserve.io/deploymentMode`` annotation "RawDeployment" or
  "Standard"; without it, ``default_mode``, "Serverless" as KServe's configuration long had), a
  Service and a Deployment named ``<name>-predictor``, owned by the InferenceService, labelled
  with the InferenceService's labels, the predictor's, ``serving.kserve.io/inferenceservice:
  <name>`` and ``component: predictor``; the pods also get ``app: isvc.<name>-predictor``, which
  the Deployment and the Service select; the Service's port 80 goes to the first container port;
  a lone container is named ``kserve-container``; ``minReplicas`` pods (default 1);
- the status: ``url`` and ``address.url`` (the predictor Service's address in the cluster: no
  ingress), the ``IngressReady``, ``PredictorReady`` and ``Ready`` conditions, ``modelStatus``
  (``BlockedByFailedLoad`` when the pod crash-loops), ``observedGeneration``.

The test kubelet (``tests.kube_cluster.Kubelet``) runs the Deployment's pod as a real process and
puts it behind the Service; this controller calls the predictor's readiness probe through the API
server's Service proxy to say whether the predictor is ready. Serverless mode and the framework
predictors (sklearn, model...) are not played: such an InferenceService is reported not ready
with a reason saying so, and nothing is made for it.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import urllib.request
from typing import Any

from .kube_cluster import NAMESPACE, now

FINALIZER = "inferenceservice.finalizers"
ISVC_LABEL = "serving.kserve.io/inferenceservice"
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
RAW_MODES = ("RawDeployment", "Standard")
#: Annotations KServe does not copy to what it makes (ServiceAnnotationDisallowedList)
DISALLOWED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
#: Fields of a PredictorSpec that are not its inline PodSpec (pkg/apis/serving/v1beta1:
#: PredictorSpec and ComponentExtensionSpec).
FRAMEWORKS = frozenset(
    {
        "sklearn",
        "xgboost",
        "tensorflow",
        "pytorch",
        "triton",
        "onnx",
        "huggingface",
        "pmml",
        "lightgbm",
        "paddle",
        "model",
    }
)
NOT_POD_SPEC = FRAMEWORKS | {
    "name",
    "storageUris",
    "storageContainerName",
    "workerSpec",
    "minReplicas",
    "maxReplicas",
    "scaleTarget",
    "scaleMetric",
    "scaleMetricType",
    "autoScaling",
    "containerConcurrency",
    "timeout",
    "canaryTrafficPercent",
    "logger",
    "batcher",
    "labels",
    "annotations",
    "deploymentStrategy",
}
STUCK = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName")


class KServeController:
    """KServe's InferenceService controller for one namespace (see the module's documentation)."""

    def __init__(self, api: Any, namespace: str = NAMESPACE, default_mode: str = "Serverless"):
        self.api = api
        self.namespace = namespace
        self.default_mode = default_mode
        self.errors: list[str] = []
        #: InferenceService uid -> the generation its Deployment was last made from
        self._applied: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="test-kserve", daemon=True)

    def __enter__(self) -> KServeController:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            try:
                for isvc in self.api.list("inferenceservices", self.namespace):
                    self.reconcile(isvc)
            except Exception as exc:  # reported by the test's teardown
                if getattr(exc, "status", None) in (404, 409):
                    continue  # deleted or changed between the list and the action: next round
                self.errors.append(f"{type(exc).__name__}: {exc}")

    # -- one InferenceService ------------------------------------------------------------------
    def reconcile(self, isvc: dict) -> None:
        meta = isvc["metadata"]
        name = meta["name"]
        finalizers = meta.get("finalizers") or []
        if meta.get("deletionTimestamp"):
            if FINALIZER in finalizers:
                kept = [f for f in finalizers if f != FINALIZER]
                self.api.patch(
                    "inferenceservices", self.namespace, name, {"metadata": {"finalizers": kept}}
                )
            return
        if FINALIZER not in finalizers:
            changes = {"metadata": {"finalizers": [*finalizers, FINALIZER]}}
            self.api.patch("inferenceservices", self.namespace, name, changes)
            return
        predictor = isvc["spec"]["predictor"]
        mode = (meta.get("annotations") or {}).get(DEPLOYMENT_MODE, self.default_mode)
        if mode not in RAW_MODES:
            self._report(isvc, None, f"{mode} mode is not played by the test controller")
            return
        if FRAMEWORKS & set(predictor) or not predictor.get("containers"):
            self._report(isvc, None, "only custom predictors are played by the test controller")
            return
        component = f"{name}-predictor"
        service, deployment = self.desired(isvc)
        # The Service first: the test kubelet puts a pod behind the Services there when it starts.
        if self.api.get("services", self.namespace, component) is None:
            self.api.create("services", service, self.namespace)
        generation = meta.get("generation", 1)
        if self.api.get("deployments", self.namespace, component) is None:
            self.api.create("deployments", deployment, self.namespace)
        elif self._applied.get(meta["uid"]) != generation:  # a new spec: the pods roll
            changes = {"metadata": deployment["metadata"], "spec": deployment["spec"]}
            self.api.patch("deployments", self.namespace, component, changes)
        self._applied[meta["uid"]] = generation
        self._report(isvc, component, None)

    def desired(self, isvc: dict) -> tuple[dict, dict]:
        """The Service and Deployment KServe makes for an InferenceService in raw mode."""
        meta = isvc["metadata"]
        name = meta["name"]
        predictor = isvc["spec"]["predictor"]
        component = f"{name}-predictor"
        labels = {
            **(meta.get("labels") or {}),
            **(predictor.get("labels") or {}),
            ISVC_LABEL: name,
            "component": "predictor",
        }
        annotations = {
            **{
                k: v
                for k, v in (meta.get("annotations") or {}).items()
                if k not in DISALLOWED_ANNOTATIONS
            },
            **(predictor.get("annotations") or {}),
        }
        pod_spec = copy.deepcopy({k: v for k, v in predictor.items() if k not in NOT_POD_SPEC})
        if len(pod_spec["containers"]) == 1:
            pod_spec["containers"][0]["name"] = "kserve-container"
        owner = {
            "apiVersion": isvc["apiVersion"],
            "kind": isvc["kind"],
            "name": name,
            "uid": meta["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        object_meta = {
            "name": component,
            "namespace": self.namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [owner],
        }
        app = {"app": f"isvc.{component}"}
        container_ports = pod_spec["containers"][0].get("ports") or []
        if container_ports:
            first = container_ports[0]
            port = {"port": 80, "targetPort": first["containerPort"]}
            port["protocol"] = first.get("protocol", "TCP")
            if first.get("name"):
                port["name"] = first["name"]
        else:
            port = {"name": component, "port": 80, "targetPort": 8080, "protocol": "TCP"}
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": object_meta,
            "spec": {"selector": dict(app), "ports": [port]},
        }
        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": copy.deepcopy(object_meta),
            "spec": {
                "replicas": predictor.get("minReplicas", 1),
                "selector": {"matchLabels": dict(app)},
                "template": {
                    "metadata": {"labels": {**labels, **app}, "annotations": dict(annotations)},
                    "spec": pod_spec,
                },
            },
        }
        return service, deployment

    # -- the status ----------------------------------------------------------------------------
    def _report(self, isvc: dict, component: str | None, unplayed: str | None) -> None:
        name = isvc["metadata"]["name"]
        old = isvc.get("status") or {}
        url = f"http://{component}.{self.namespace}.svc.cluster.local" if component else None
        failed, ready = None, False
        if component is not None:
            failed = self._stuck(component)
            ready = failed is None and self._ready(component, isvc)
        if unplayed:
            predictor = ("False", "NotPlayed", unplayed)
        elif ready:
            predictor = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        else:
            message = "Deployment does not have minimum availability."
            predictor = ("False", "MinimumReplicasUnavailable", message)
        ingress = ("True", "", "") if url else ("False", "", "")
        everything = ("True", "", "") if ingress[0] == predictor[0] == "True" else predictor
        conditions = [
            self._condition(old, kind, *values)
            for kind, values in (
                ("IngressReady", ingress),
                ("PredictorReady", predictor),
                ("Ready", everything),
            )
        ]
        if failed is not None:
            model = {
                "transitionStatus": "BlockedByFailedLoad",
                "lastFailureInfo": {"reason": "ModelLoadFailed", "message": failed},
                "states": {"activeModelState": "", "targetModelState": "FailedToLoad"},
            }
        elif ready:
            model = {
                "transitionStatus": "UpToDate",
                "lastFailureInfo": None,  # a merge patch's null: gone
                "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
            }
        else:
            model = {
                "transitionStatus": "InProgress",
                "lastFailureInfo": None,
                "states": {"activeModelState": "", "targetModelState": "Loading"},
            }
        status: dict[str, Any] = {
            "observedGeneration": isvc["metadata"].get("generation", 1),
            "deploymentMode": "RawDeployment" if component else self.default_mode,
            "conditions": conditions,
            "modelStatus": model,
        }
        if url:
            status.update(url=url, address={"url": url})
        if _present({k: old.get(k) for k in status}) != _present(status):
            self.api.patch_status("inferenceservices", self.namespace, name, status)

    @staticmethod
    def _condition(old: dict, kind: str, status: str, reason: str, message: str) -> dict:
        before = next((c for c in old.get("conditions") or [] if c.get("type") == kind), {})
        condition = {"type": kind, "status": status}
        if reason:
            condition["reason"] = reason
        if message:
            condition["message"] = message
        same = before.get("status") == status
        condition["lastTransitionTime"] = before["lastTransitionTime"] if same else now()
        return condition

    def _stuck(self, component: str) -> str | None:
        """Why the predictor's pod cannot start (as KServe reads its containers' states)."""
        for pod in self.api.list("pods", self.namespace, f"app=isvc.{component}"):
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                waiting = (status.get("state") or {}).get("waiting") or {}
                if waiting.get("reason") in STUCK:
                    return f"{waiting['reason']}: {waiting.get('message', '')}".rstrip(": ")
        return None

    def _ready(self, component: str, isvc: dict) -> bool:
        """The readiness probe of the predictor's container, through the Service proxy."""
        (container, *_) = isvc["spec"]["predictor"]["containers"]
        probe = (container.get("readinessProbe") or {}).get("httpGet") or {}
        path = probe.get("path", "/")
        url = (
            f"{self.api.url}/api/v1/namespaces/{self.namespace}/services/{component}:80/proxy{path}"
        )
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as answer:
                return bool(answer.status == 200)
        return False


def _present(node: Any) -> Any:
    """``node`` without its null fields (what a merge patch with them leaves)."""
    if isinstance(node, dict):
        return {k: _present(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_present(v) for v in node]
    return node
