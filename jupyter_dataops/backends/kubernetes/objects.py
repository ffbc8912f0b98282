"""Kubernetes objects built by pure functions from the core's records: no I/O, no client; plain
dicts (the JSON the API server takes) with every quantity as a string. Tests compare them with
expected objects and validate them against the official schemas.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ...core.endpoints.target import ServingSpec, server_argv
from ...core.errors import InvalidInput
from ...core.sandboxes.quantities import parse_cpus, parse_memory
from .names import dns_label, execution_name, label_value

#: Label and annotation keys (``dataops.io/...``) that tie an object to its store record.
MANAGED_BY = "app.kubernetes.io/managed-by"
COMPONENT = "app.kubernetes.io/component"
JOB_ID = "dataops.io/job-id"
EXECUTION = "dataops.io/execution"
ATTEMPT = "dataops.io/attempt"
USER = "dataops.io/user"
NOTEBOOK = "dataops.io/notebook"
LOG_OFFSET = "dataops.io/log-offset"
FILES_KEY = "dataops.io/files-key"
#: The sandbox profile a pod is sized by (a sandbox's, or a job's on the cluster).
PROFILE = "dataops.io/profile"
MANAGER = "jupyter-dataops"

#: The container that runs papermill in a job's pod.
JOB_CONTAINER = "papermill"
#: What a job's container runs (see ``pod_runner``).
POD_RUNNER = ["python", "-m", "jupyter_dataops.backends.kubernetes.pod_runner"]


def selector(component: str) -> str:
    """The label selector of every object of a component that this product made."""
    return f"{MANAGED_BY}={MANAGER},{COMPONENT}={component}"


@dataclasses.dataclass(frozen=True)
class Resources:
    """What a container asks for: CPUs and memory as quantities, GPUs as a count."""

    cpu: str | None = None
    memory: str | None = None
    gpus: int = 0
    gpu_resource: str = "nvidia.com/gpu"

    @classmethod
    def parse(cls, values: Mapping[str, Any], *, gpu_resource: str, setting: str) -> Resources:
        """From a settings dict ``{"cpu": "2", "memory": "8Gi", "gpus": "1"}``, checked."""
        unknown = set(values) - {"cpu", "memory", "gpus"}
        if unknown:
            raise InvalidInput(
                f"{setting} has unknown keys {sorted(unknown)}; use cpu, memory and gpus.",
                hint=f'Example: {setting} = {{"cpu": "2", "memory": "8Gi", "gpus": "1"}}',
            )
        cpu = values.get("cpu")
        memory = values.get("memory")
        if cpu is not None:
            parse_cpus(cpu, field=f"{setting}['cpu']")
        if memory is not None:
            parse_memory(memory, field=f"{setting}['memory']")
        raw_gpus = values.get("gpus", 0) or 0
        try:
            gpus = int(str(raw_gpus))
        except ValueError:
            gpus = -1
        if gpus < 0:
            raise InvalidInput(
                f"{setting}['gpus'] = {raw_gpus!r} is not a whole number of GPUs.",
                hint="GPUs are whole devices on Kubernetes: 0, 1, 2...",
            )
        return cls(
            cpu=None if cpu is None else str(cpu),
            memory=None if memory is None else str(memory),
            gpus=gpus,
            gpu_resource=gpu_resource,
        )

    def block(self) -> dict[str, Any]:
        """``resources`` of a container. Memory is requested as much as it is limited to (a pod
        is never killed for using what it asked for); so is CPU, for predictable runs; GPUs are
        limits only (the API server sets the request to the limit)."""
        requests: dict[str, str] = {}
        limits: dict[str, str] = {}
        if self.cpu is not None:
            requests["cpu"] = limits["cpu"] = self.cpu
        if self.memory is not None:
            requests["memory"] = limits["memory"] = self.memory
        if self.gpus:
            limits[self.gpu_resource] = str(self.gpus)
        block: dict[str, Any] = {}
        if requests:
            block["requests"] = requests
        if limits:
            block["limits"] = limits
        return block


@dataclasses.dataclass(frozen=True)
class PodSettings:
    """What every pod of the product shares (from ``c.Kubernetes``)."""

    image: str
    image_pull_policy: str = "IfNotPresent"
    image_pull_secrets: Sequence[str] = ()
    service_account: str = ""
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    env_from_secrets: Sequence[str] = ()
    node_selector: Mapping[str, str] = dataclasses.field(default_factory=dict)
    tolerations: Sequence[Mapping[str, Any]] = ()
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: (claim name, mount path) of a shared folder holding the job files
    files_volume: tuple[str, str] | None = None


@dataclasses.dataclass(frozen=True)
class JobExecution:
    """One attempt of a job, as its Kubernetes Job needs it."""

    execution_id: str
    job_id: str
    attempt: int
    user: str
    notebook_path: str
    namespace: str
    #: Environment of the papermill container: where the files are and which request to run
    env: Mapping[str, str]
    resources: Resources
    #: The job's time limit; the Job's deadline is set above it
    timeout_seconds: float | None
    deadline_margin: float
    ttl_seconds: int
    #: Bytes of the job's log before this attempt (kept when the log is rebuilt after a restart)
    log_offset: int = 0
    #: The job's folder in the file store (its log and this attempt's result are found there)
    files_key: str = ""
    #: The sandbox profile it is sized by ("": c.Kubernetes.job_resources), and the placement
    #: that comes with it (see :func:`placed_pod_spec`)
    profile: str = ""
    node_selector: Mapping[str, str] = dataclasses.field(default_factory=dict)
    tolerations: Sequence[Mapping[str, Any]] = ()
    affinity: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def _pod_spec(pod: PodSettings, container: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A pod spec with ``container`` and what every pod of the product shares. No pod of ours
    has business with the Kubernetes API: none gets a service account token."""
    if pod.env_from_secrets:
        container["envFrom"] = [{"secretRef": {"name": n}} for n in pod.env_from_secrets]
    spec: dict[str, Any] = {
        **fields,
        "automountServiceAccountToken": False,
        "containers": [container],
    }
    if pod.service_account:
        spec["serviceAccountName"] = pod.service_account
    if pod.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": n} for n in pod.image_pull_secrets]
    if pod.node_selector:
        spec["nodeSelector"] = dict(pod.node_selector)
    if pod.tolerations:
        spec["tolerations"] = [dict(t) for t in pod.tolerations]
    return spec


def placed_pod_spec(
    pod: PodSettings,
    container: dict[str, Any],
    *,
    node_selector: Mapping[str, str],
    tolerations: Sequence[Mapping[str, Any]],
    affinity: Mapping[str, Any],
    **fields: Any,
) -> dict[str, Any]:
    """A pod spec (:func:`_pod_spec`) placed by a profile as well: its node selector over
    ``c.Kubernetes.node_selector`` (its keys win), its tolerations after
    ``c.Kubernetes.tolerations``, its affinity. Sandbox pods and profile-sized job pods alike."""
    settings = dataclasses.replace(
        pod,
        node_selector={**pod.node_selector, **node_selector},
        tolerations=(*pod.tolerations, *tolerations),
    )
    spec = _pod_spec(settings, container, **fields)
    if affinity:
        spec["affinity"] = dict(affinity)
    return spec


def job_labels(execution: JobExecution, extra: Mapping[str, str]) -> dict[str, str]:
    labels = {
        **{key: label_value(value) for key, value in extra.items()},
        MANAGED_BY: MANAGER,
        COMPONENT: "job",
        JOB_ID: label_value(execution.job_id),
        EXECUTION: label_value(execution.execution_id),
        ATTEMPT: str(execution.attempt),
        USER: label_value(execution.user or "unknown"),
    }
    if execution.profile:
        labels[PROFILE] = label_value(execution.profile)
    return labels


def job_object(execution: JobExecution, pod: PodSettings) -> dict[str, Any]:
    """The Kubernetes Job of one attempt. ``backoffLimit: 0``: the core owns retries (each
    attempt is its own Job); ``activeDeadlineSeconds`` is only a backstop above the job's time
    limit, since it also counts the time the pod waits for a node. A job sized by a profile
    has its resources, its placement (and, through ``pod``, its image) and a label naming it."""
    labels = job_labels(execution, pod.labels)
    annotations = {
        USER: execution.user,
        NOTEBOOK: execution.notebook_path,
        EXECUTION: execution.execution_id,
        LOG_OFFSET: str(execution.log_offset),
        FILES_KEY: execution.files_key,
    }
    env = {**pod.env, **execution.env}
    container: dict[str, Any] = {
        "name": JOB_CONTAINER,
        "image": pod.image,
        "imagePullPolicy": pod.image_pull_policy,
        "command": list(POD_RUNNER),
        "env": [{"name": name, "value": value} for name, value in sorted(env.items())],
        "resources": execution.resources.block(),
    }
    pod_spec = placed_pod_spec(
        pod,
        container,
        node_selector=execution.node_selector,
        tolerations=execution.tolerations,
        affinity=execution.affinity,
        restartPolicy="Never",
    )
    if pod.files_volume is not None:
        claim, path = pod.files_volume
        pod_spec["volumes"] = [{"name": "job-files", "persistentVolumeClaim": {"claimName": claim}}]
        container["volumeMounts"] = [{"name": "job-files", "mountPath": path}]
    spec: dict[str, Any] = {
        "backoffLimit": 0,
        "ttlSecondsAfterFinished": execution.ttl_seconds,
        "template": {
            "metadata": {
                "labels": dict(labels),
                "annotations": {EXECUTION: execution.execution_id},
            },
            "spec": pod_spec,
        },
    }
    if execution.timeout_seconds:
        spec["activeDeadlineSeconds"] = math.ceil(
            execution.timeout_seconds + execution.deadline_margin
        )
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": execution_name(execution.execution_id),
            "namespace": execution.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": spec,
    }


# -- endpoints ---------------------------------------------------------------------------------
ENDPOINT = "dataops.io/endpoint"
MODEL_URI = "dataops.io/model-uri"
SERVER_CONTAINER = "model-server"
SERVER_PORT = 8080
TOKEN_DIR = "/var/run/dataops"


@dataclasses.dataclass(frozen=True)
class Autoscale:
    min: int
    max: int
    cpu_percent: int

    @classmethod
    def parse(cls, values: Mapping[str, Any], *, setting: str) -> Autoscale | None:
        if not values:
            return None
        unknown = set(values) - {"min", "max", "cpu_percent"}
        try:
            low, high = int(values.get("min", 1)), int(values["max"])
            cpu = int(values.get("cpu_percent", 70))
        except (KeyError, TypeError, ValueError):
            low = high = cpu = -1
        if unknown or not (1 <= low <= high) or not (1 <= cpu <= 1000):
            raise InvalidInput(
                f"{setting} = {dict(values)!r} is not an autoscaling rule.",
                hint=f'Example: {setting} = {{"min": 1, "max": 5, "cpu_percent": 70}} '
                "(1 <= min <= max)",
            )
        return cls(low, high, cpu)


@dataclasses.dataclass(frozen=True)
class EndpointServing:
    """One endpoint, as its Kubernetes objects need it."""

    spec: ServingSpec  #: what the endpoint service asks for (its port is the Service's)
    namespace: str
    identity: str  #: what its server answers on /ping (x-dataops-endpoint)
    tracking_uri: str
    resources: Resources
    replicas: int = 1
    autoscale: Autoscale | None = None
    owner: str = ""


def endpoint_name(name: str) -> str:
    """The Deployment, Service and autoscaler name of an endpoint (a DNS-1035 label); its
    Secret's adds "-token", so it is kept to 57 characters."""
    return dns_label(name, prefix="dataops-ep-", max_len=57)


def server_command(serving: EndpointServing) -> list[str]:
    """The model server's command in the pod: on all of the pod's addresses, with the token
    file of its Secret."""
    return [
        "python",
        "-m",
        "jupyter_dataops.backends.local.model_server",
        *server_argv(
            serving.spec,
            host="0.0.0.0",
            port=SERVER_PORT,
            identity=serving.identity,
            tracking_uri=serving.tracking_uri,
            token_file=f"{TOKEN_DIR}/token",
        ),
    ]


def endpoint_objects(
    serving: EndpointServing, pod: PodSettings, token: str
) -> list[dict[str, Any]]:
    """The Secret (its token), Deployment, Service and, when it autoscales, the
    HorizontalPodAutoscaler of an endpoint, in the order they are applied."""
    name = endpoint_name(serving.spec.name)
    selector = {
        MANAGED_BY: MANAGER,
        COMPONENT: "endpoint",
        ENDPOINT: label_value(serving.spec.name),
    }
    labels = {**{k: label_value(v) for k, v in pod.labels.items()}, **selector}
    labels[USER] = label_value(serving.owner or "unknown")
    annotations = {ENDPOINT: serving.spec.name, MODEL_URI: serving.spec.model_uri}
    meta = {"name": name, "namespace": serving.namespace, "labels": labels}
    container: dict[str, Any] = {
        "name": SERVER_CONTAINER,
        "image": pod.image,
        "imagePullPolicy": pod.image_pull_policy,
        "command": server_command(serving),
        "ports": [{"name": "http", "containerPort": SERVER_PORT, "protocol": "TCP"}],
        "resources": serving.resources.block(),
        "readinessProbe": {
            "httpGet": {"path": "/ping", "port": "http"},
            "periodSeconds": 5,
        },
        "livenessProbe": {
            "httpGet": {"path": "/health", "port": "http"},
            "initialDelaySeconds": 30,
            "periodSeconds": 15,
        },
        "volumeMounts": [{"name": "token", "mountPath": TOKEN_DIR, "readOnly": True}],
    }
    if pod.env:
        container["env"] = [{"name": k, "value": v} for k, v in sorted(pod.env.items())]
    pod_spec = _pod_spec(
        pod,
        container,
        volumes=[
            # Readable by the image's own (non-root) user: secret files belong to root, and
            # the image's uid and gid are not known here (no fsGroup). Only the model server
            # runs in the pod, and nothing else mounts the Secret.
            {"name": "token", "secret": {"secretName": f"{name}-token", "defaultMode": 0o444}}
        ],
    )
    deployment_spec: dict[str, Any] = {
        "selector": {"matchLabels": dict(selector)},
        "template": {
            "metadata": {"labels": dict(labels), "annotations": dict(annotations)},
            "spec": pod_spec,
        },
    }
    if serving.autoscale is None:
        deployment_spec["replicas"] = serving.replicas
    made: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {**meta, "name": f"{name}-token", "annotations": dict(annotations)},
            "type": "Opaque",
            "stringData": {"token": token},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {**meta, "annotations": dict(annotations)},
            "spec": deployment_spec,
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {**meta, "annotations": dict(annotations)},
            "spec": {
                "selector": dict(selector),
                "ports": [
                    {
                        "name": "http",
                        "port": serving.spec.port,
                        "targetPort": "http",
                        "protocol": "TCP",
                    }
                ],
            },
        },
    ]
    if serving.autoscale is not None:
        made.append(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {**meta, "annotations": dict(annotations)},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    "minReplicas": serving.autoscale.min,
                    "maxReplicas": serving.autoscale.max,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {
                                    "type": "Utilization",
                                    "averageUtilization": serving.autoscale.cpu_percent,
                                },
                            },
                        }
                    ],
                },
            }
        )
    return made
