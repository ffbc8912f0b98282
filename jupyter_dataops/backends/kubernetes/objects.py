"""Kubernetes objects built by pure functions from the core's records: no I/O, no client; plain
dicts (the JSON the API server takes) with every quantity as a string. Tests compare them with
expected objects and validate them against the official schemas.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ...core.errors import InvalidInput
from ...core.sandboxes.quantities import parse_cpus, parse_memory
from .names import execution_name, label_value

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


def job_labels(execution: JobExecution, extra: Mapping[str, str]) -> dict[str, str]:
    return {
        **{key: label_value(value) for key, value in extra.items()},
        MANAGED_BY: MANAGER,
        COMPONENT: "job",
        JOB_ID: label_value(execution.job_id),
        EXECUTION: label_value(execution.execution_id),
        ATTEMPT: str(execution.attempt),
        USER: label_value(execution.user or "unknown"),
    }


def job_object(execution: JobExecution, pod: PodSettings) -> dict[str, Any]:
    """The Kubernetes Job of one attempt. ``backoffLimit: 0``: the core owns retries (each
    attempt is its own Job); ``activeDeadlineSeconds`` is only a backstop above the job's time
    limit, since it also counts the time the pod waits for a node."""
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
    if pod.env_from_secrets:
        container["envFrom"] = [{"secretRef": {"name": name}} for name in pod.env_from_secrets]
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        # Job pods have no business with the Kubernetes API.
        "automountServiceAccountToken": False,
        "containers": [container],
    }
    if pod.service_account:
        pod_spec["serviceAccountName"] = pod.service_account
    if pod.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": name} for name in pod.image_pull_secrets]
    if pod.node_selector:
        pod_spec["nodeSelector"] = dict(pod.node_selector)
    if pod.tolerations:
        pod_spec["tolerations"] = [dict(t) for t in pod.tolerations]
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
