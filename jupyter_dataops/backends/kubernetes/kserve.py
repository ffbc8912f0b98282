"""Endpoints as KServe InferenceServices: ``c.DataOps.endpoint_target_class = "kserve"``.

Where KServe is installed, an operator may want its InferenceService (one object that KServe
turns into the Deployment, Service and autoscaler, and that its tools show) instead of ours.
Each endpoint is then a Secret with its token and one ``serving.kserve.io/v1beta1``
InferenceService whose predictor is a custom container running our model server: the same
command, image, token file, ports, probes and resources as the Deployment of the
``kubernetes`` target (its pod spec is taken from ``objects.endpoint_objects``, not written
twice), and our ``dataops.io/*`` labels and annotations.

The InferenceService asks for KServe's raw deployment mode (the ``serving.kserve.io/
deploymentMode`` annotation; KServe 0.15+ calls it "Standard" and still reads this name): KServe
then makes a plain Deployment and a Service ``<name>-predictor`` on port 80. The server reaches
the model server through the API server's proxy to that Service, as for the ``kubernetes``
target. In Serverless (Knative) mode ``<name>-predictor`` is an ExternalName Service to the
ingress gateway, which the API server's proxy cannot go through; so the mode is not left to the
cluster's default.

Before anything is made, the API server's discovery must serve ``serving.kserve.io/v1beta1``
InferenceServices; a cluster without KServe's CRD gets a refusal that names both ways out.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from ...core.endpoints.target import Handle, ServingSpec
from ...core.errors import BackendUnavailable, Conflict, DataOpsError, InvalidInput, NotFound
from . import objects
from .names import dns_label
from .serving import KubernetesTarget

GROUP = "serving.kserve.io"
VERSION = "v1beta1"
PLURAL = "inferenceservices"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "InferenceService"
#: The label KServe puts on the objects and pods of an InferenceService, with its name.
ISVC_LABEL = "serving.kserve.io/inferenceservice"
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
RAW_DEPLOYMENT = "RawDeployment"
#: KServe's name for the one container of a custom predictor (its defaulting webhook renames a
#: lone container so): named so here, what is stored is what was sent.
KSERVE_CONTAINER = "kserve-container"
#: The port of the predictor's Service in raw deployment mode.
PREDICTOR_PORT = 80
#: Longest InferenceService name: KServe's Service "<name>-predictor" must be a DNS label.
MAX_NAME = 63 - len("-predictor")
#: Seconds to wait for an InferenceService being deleted (KServe's finalizer) to be gone.
DELETION_WAIT = 60.0

MISSING_CRD = (
    "KServe's InferenceService CRD is not installed in this cluster (no serving.kserve.io/v1beta1)"
)
MISSING_CRD_HINT = (
    'Install KServe, or set c.DataOps.endpoint_target_class = "kubernetes" for a Deployment and '
    "Service."
)


def isvc_name(endpoint: str) -> str:
    """The InferenceService of an endpoint (its Secret's name adds "-token")."""
    return dns_label(endpoint, prefix="dataops-ep-", max_len=MAX_NAME)


def predictor_service(name: str) -> str:
    """The Service KServe makes in front of an InferenceService's predictor pods."""
    return f"{name}-predictor"


def inference_service_objects(
    serving: objects.EndpointServing, pod: objects.PodSettings, token: str
) -> list[dict[str, Any]]:
    """The Secret (its token) and the InferenceService of an endpoint, in the order they are
    applied. The predictor's pod is the one of ``objects.endpoint_objects``' Deployment."""
    autoscale = serving.autoscale
    if autoscale is not None and autoscale.cpu_percent > 100:
        raise InvalidInput(
            f"c.Kubernetes.endpoint_autoscale asks for {autoscale.cpu_percent}% CPU; KServe's "
            "autoscaler takes a utilization from 1 to 100.",
            hint='Example: c.Kubernetes.endpoint_autoscale = {"min": 1, "max": 5, '
            '"cpu_percent": 70}',
        )
    name = isvc_name(serving.spec.name)
    secret, deployment = objects.endpoint_objects(serving, pod, token)[:2]
    assert secret["kind"] == "Secret" and deployment["kind"] == "Deployment"
    token_secret = f"{name}-token"
    template = copy.deepcopy(deployment["spec"]["template"])
    pod_spec: dict[str, Any] = template["spec"]
    (container,) = pod_spec["containers"]
    container["name"] = KSERVE_CONTAINER
    for volume in pod_spec.get("volumes", []):
        if volume.get("secret", {}).get("secretName") == secret["metadata"]["name"]:
            volume["secret"]["secretName"] = token_secret
    labels: dict[str, str] = dict(deployment["metadata"]["labels"])
    annotations: dict[str, str] = dict(deployment["metadata"]["annotations"])
    predictor: dict[str, Any] = {
        **pod_spec,
        # KServe puts the InferenceService's labels on the pods too; the predictor's own are
        # for the pods only: both, so the pods carry them whichever KServe version runs.
        "labels": dict(template["metadata"]["labels"]),
        "annotations": dict(template["metadata"]["annotations"]),
    }
    if autoscale is None:  # a fixed count: KServe's autoscaler holds it (min = max)
        predictor["minReplicas"] = predictor["maxReplicas"] = serving.replicas
    else:
        predictor.update(
            minReplicas=autoscale.min,
            maxReplicas=autoscale.max,
            scaleMetric="cpu",
            scaleTarget=autoscale.cpu_percent,
        )
    return [
        {**secret, "metadata": {**secret["metadata"], "name": token_secret}},
        {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {
                "name": name,
                "namespace": serving.namespace,
                "labels": labels,
                "annotations": {**annotations, DEPLOYMENT_MODE: RAW_DEPLOYMENT},
            },
            "spec": {"predictor": predictor},
        },
    ]


def _conditions(isvc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    status = isvc.get("status") or {}
    return {c.get("type", ""): c for c in status.get("conditions") or []}


def failure(isvc: Mapping[str, Any]) -> str | None:
    """Why KServe says an InferenceService will not serve without someone acting, or None
    (starting, rolling out and serving are not failures)."""
    status = isvc.get("status") or {}
    model = status.get("modelStatus") or {}
    if model.get("transitionStatus") in ("BlockedByFailedLoad", "InvalidSpec"):
        info = model.get("lastFailureInfo") or {}
        detail = ": ".join(str(x) for x in (info.get("reason"), info.get("message")) if x)
        return f"KServe: {model['transitionStatus']}" + (f" ({detail})" if detail else "")
    conditions = _conditions(isvc)
    stopped = conditions.get("Stopped", {})
    if stopped.get("status") == "True":
        return "KServe: the InferenceService is stopped (serving.kserve.io/stop)"
    for kind in ("PredictorReady", "Ready"):
        condition = conditions.get(kind, {})
        if condition.get("status") == "False" and condition.get("reason") == (
            "ProgressDeadlineExceeded"
        ):
            return f"KServe: {kind}: ProgressDeadlineExceeded: {condition.get('message', '')}"
    return None


def not_ready(isvc: Mapping[str, Any]) -> str | None:
    """What KServe's Ready and PredictorReady conditions say when they are not true."""
    lines = []
    for kind in ("Ready", "PredictorReady"):
        condition = _conditions(isvc).get(kind)
        if condition is not None and condition.get("status") != "True":
            parts = [f"KServe: {kind} is {condition.get('status')}"]
            parts += [str(x) for x in (condition.get("reason"), condition.get("message")) if x]
            lines.append(": ".join(parts))
    return "\n".join(lines) or None


class KServeTarget(KubernetesTarget):
    """Endpoints as KServe InferenceServices (see the module's documentation)."""

    name: ClassVar[str] = "kserve"
    server_container: ClassVar[str] = KSERVE_CONTAINER

    def _custom(self) -> Any:
        from kubernetes import client

        return client.CustomObjectsApi(self.cluster.api_client)

    # -- the contract -------------------------------------------------------------------------
    def check(self) -> None:
        super().check()
        self._require_crd()

    def start(self, spec: ServingSpec) -> Handle:
        serving, pod = self._prepare(spec)
        self._require_crd()
        secret, isvc = inference_service_objects(serving, pod, spec.token or "")
        # Refuse before making anything when a name is someone else's.
        self._check_ours(secret)
        self._check_isvc_ours(self._read_isvc(isvc["metadata"]["name"]), isvc["metadata"]["name"])
        self._apply(secret)
        self._apply_isvc(isvc)
        return Handle(None, f"{self.namespace}/{isvc['metadata']['name']}")

    def _require_crd(self) -> None:
        """Discovery must serve InferenceServices (GET /apis/serving.kserve.io/v1beta1)."""
        try:
            resources = self.cluster.call(
                self._custom().get_api_resources,
                GROUP,
                VERSION,
                action=f"discover {API_VERSION}",
            )
        except NotFound:
            resources = None
        if resources is None or PLURAL not in {r.name for r in resources.resources or []}:
            raise BackendUnavailable(f"{MISSING_CRD}.", hint=MISSING_CRD_HINT)

    def _read_isvc(self, name: str, **kwargs: Any) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.cluster.call(
                self._custom().get_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                name,
                action=f"read {KIND} {name}",
                namespace=self.namespace,
                **kwargs,
            )
        except NotFound:
            return None
        return found

    def _check_isvc_ours(self, current: Mapping[str, Any] | None, name: str) -> None:
        if current is None:
            return
        labels = (current.get("metadata") or {}).get("labels") or {}
        if labels.get(objects.MANAGED_BY) != objects.MANAGER:
            raise Conflict(
                f"{KIND} {name} in namespace {self.namespace} exists and is not this product's.",
                hint="Rename the endpoint, or remove that object.",
            )

    def _apply_isvc(self, isvc: dict[str, Any]) -> None:
        """Create the InferenceService, or replace ours (KServe rolls its pods to the new
        model). A replacement names the resourceVersion it read: when KServe wrote meanwhile
        (its status, its finalizer), it is read and sent again. One still being deleted (KServe's
        finalizer runs) is waited for, then made again: a replacement would go with it."""
        name = isvc["metadata"]["name"]
        deadline = time.monotonic() + DELETION_WAIT
        while True:
            try:
                self.cluster.call(
                    self._custom().create_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self.namespace,
                    PLURAL,
                    isvc,
                    field_validation="Strict",
                    action=f"create {KIND} {name}",
                    namespace=self.namespace,
                )
                return
            except Conflict:
                pass
            current = self._read_isvc(name)  # None: gone meanwhile, make it
            deleting = current is not None and bool(current["metadata"].get("deletionTimestamp"))
            if current is not None:
                self._check_isvc_ours(current, name)
            if current is not None and not deleting:
                # Its version, and KServe's finalizer (a replacement without it would drop it).
                kept = {
                    k: current["metadata"][k]
                    for k in ("resourceVersion", "finalizers", "ownerReferences")
                    if k in current["metadata"]
                }
                replacement = {**isvc, "metadata": {**isvc["metadata"], **kept}}
                try:
                    self.cluster.call(
                        self._custom().replace_namespaced_custom_object,
                        GROUP,
                        VERSION,
                        self.namespace,
                        PLURAL,
                        name,
                        replacement,
                        field_validation="Strict",
                        action=f"replace {KIND} {name}",
                        namespace=self.namespace,
                    )
                    return
                except (Conflict, NotFound):
                    pass  # changed or gone meanwhile: read again
            if time.monotonic() > deadline:
                raise BackendUnavailable(
                    f"{KIND} {name} in namespace {self.namespace} "
                    + (
                        f"is still being deleted after {DELETION_WAIT:.0f} s."
                        if deleting
                        else f"kept changing for {DELETION_WAIT:.0f} s: it could not be replaced."
                    ),
                    hint="KServe's controller removes its finalizer and writes the status: check "
                    "that it runs, then publish again.",
                )
            time.sleep(0.5 if deleting else 0.1)

    def stop(self, handle: Handle, *, timeout: float = 10.0) -> None:
        """Delete the InferenceService (KServe's Deployment and Service go with it) and the
        Secret."""
        if not handle.identity:
            return
        name = handle.identity.rsplit("/", 1)[-1]
        try:
            self.cluster.call(
                self._custom().delete_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                name,
                propagation_policy="Background",
                action=f"delete {KIND} {name}",
                namespace=self.namespace,
            )
        except NotFound:
            pass
        self._delete("Secret", f"{name}-token")

    def alive(self, handle: Handle) -> bool:
        if not handle.identity:
            return False
        isvc = self._read_isvc(handle.identity.rsplit("/", 1)[-1])
        if isvc is None or isvc["metadata"].get("deletionTimestamp"):
            return False
        # KServe's verdict, then pods that cannot start (a bad image, a crash loop).
        endpoint = (isvc["metadata"].get("annotations") or {}).get(objects.ENDPOINT, "")
        return not (failure(isvc) or self._stuck_reason(endpoint))

    def _pod_selector(self, endpoint: str) -> str:
        return f"{ISVC_LABEL}={isvc_name(endpoint)}"

    def _proxy_service(self, spec: ServingSpec) -> str:
        return f"{predictor_service(isvc_name(spec.name))}:{PREDICTOR_PORT}"

    def request(
        self,
        spec: ServingSpec,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        timeout: float = 10.0,
    ) -> tuple[int, dict[str, str], bytes]:
        """Through the API server's proxy to KServe's predictor Service; until KServe has
        made that Service, the API server's 404 is no answer of the endpoint."""
        status, headers, data = super().request(spec, method, path, body, timeout=timeout)
        if status == 404 and "x-dataops-endpoint" not in headers:
            try:
                answer = json.loads(data)
            except ValueError:
                answer = None
            if (
                isinstance(answer, dict)
                and answer.get("kind") == "Status"
                and (answer.get("details") or {}).get("kind") in ("services", "endpoints")
            ):
                raise ConnectionError(
                    f"Service {predictor_service(isvc_name(spec.name))} does not exist (yet)"
                )
        return status, headers, data

    def log_tail(self, name: str, lines: int = 20) -> str:
        """What KServe says of the InferenceService, then what the parent says of its pods
        (a pod that cannot start, the model server's last lines)."""
        try:
            isvc = self._read_isvc(isvc_name(name))
        except DataOpsError as exc:  # what went wrong is told, not raised
            said: str | None = str(exc)
        else:
            said = (failure(isvc) or not_ready(isvc)) if isvc else None
        return "\n".join(x for x in (said, super().log_tail(name, lines)) if x)

    def url(self, spec: ServingSpec) -> str:
        """KServe's URL of the InferenceService (its ingress, or the predictor's Service in
        the cluster) once it reports one; until then, c.Kubernetes.endpoint_url for the
        predictor's Service."""
        name = isvc_name(spec.name)
        try:
            isvc = self._read_isvc(name, _request_timeout=min(5.0, self.settings.request_timeout))
        except DataOpsError:
            isvc = None
        reported = ((isvc or {}).get("status") or {}).get("url")
        if reported:
            return str(reported).rstrip("/")
        return self.settings.endpoint_url.format(
            service=predictor_service(name),
            namespace=self.namespace,
            port=PREDICTOR_PORT,
            name=spec.name,
        ).rstrip("/")
