"""The objects of a sandbox on a cluster, built by pure functions (no I/O, quantities as strings):

- the user's workspace volume, a PersistentVolumeClaim made once and kept (the home of every
  sandbox of that user: work survives its sandboxes);
- a Secret with the kernel host's token and the profile's secrets (resolved by the server when
  the sandbox starts; they reach the pod as environment variables, never as text in the Pod);
- a ConfigMap with what the init containers do (the data to load, the packages and tools);
- the Pod: an init container that loads the sandbox's data (files of a snapshot or of DVC-tracked
  paths, by content hash from the DVC remote), one that checks tools and installs packages into
  the workspace, and the kernel host (:mod:`.sandbox_agent`), which starts the kernels the
  notebook's kernel picker asks for.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ...core.errors import InvalidInput
from ...core.identity import ENV_SERVER_ONLY
from ...core.sandboxes import models as sandbox_models
from ...core.sandboxes.quantities import format_cpus
from .names import dns_label, label_value
from .objects import (
    COMPONENT,
    MANAGED_BY,
    MANAGER,
    PROFILE,
    USER,
    PodSettings,
    Resources,
    placed_pod_spec,
)

SANDBOX = "dataops.io/sandbox"
HOME = "/home/jovyan"
WORKDIR = f"{HOME}/work"
AGENT_DIR = "/var/run/dataops/agent"
SETUP_DIR = "/var/run/dataops/setup"
AGENT_CONTAINER = "kernel-host"
MODULE = "jupyter_dataops.backends.kubernetes"


#: Where the kernel host finds the profile's installed packages (put on kernels' PYTHONPATH).
PACKAGES_ENV = "DATAOPS_SANDBOX_PACKAGES"


def packages_dir(packages: Sequence[str]) -> str:
    """The workspace's folder for one set of packages (the next sandbox with the same set
    finds them installed)."""
    digest = hashlib.sha256("\n".join(sorted(packages)).encode()).hexdigest()[:12]
    return f"{HOME}/.dataops/packages/{digest}"


def profile_resources(resources: sandbox_models.Resources, gpu_resource: str) -> Resources:
    """What the policy allowed of a profile (CPUs, memory, GPUs), as a container asks for it:
    CPUs and memory requested as much as limited, GPUs as limits of ``gpu_resource``."""
    return Resources(
        cpu=format_cpus(resources.cpus),
        memory=str(resources.memory_bytes),
        gpus=resources.gpus,
        gpu_resource=gpu_resource,
    )


def gpu_node_selector(
    resources: sandbox_models.Resources, gpu_types: Mapping[str, Mapping[str, str]]
) -> dict[str, str]:
    """The node labels of the GPU type a profile asks for (``c.Kubernetes.gpu_types``), to add
    to its node selector; nothing without GPUs or a type. A type the cluster does not offer is
    refused, naming those it does."""
    if not (resources.gpus and resources.gpu_type):
        return {}
    if resources.gpu_type not in gpu_types:
        raise InvalidInput(
            f"The cluster offers no GPU type {resources.gpu_type!r}.",
            hint=f"Pick one of {', '.join(sorted(gpu_types)) or 'none'} "
            "(operators list them in c.Kubernetes.gpu_types).",
        )
    return dict(gpu_types[resources.gpu_type])


def sandbox_name(sandbox_id: str) -> str:
    return dns_label(sandbox_id, prefix="dataops-sandbox-")


def workspace_claim_name(user: str) -> str:
    return dns_label(user or "unknown", prefix="dataops-home-")


@dataclasses.dataclass(frozen=True)
class SandboxPod:
    """One sandbox, as its pod needs it."""

    sandbox_id: str
    user: str
    profile: str
    namespace: str
    resources: Resources
    port: int
    #: The kernel host's token (a Secret's key, mounted as a file)
    token: str
    #: Environment variables of the kernels (no secrets)
    env: Mapping[str, str]
    #: Environment variable -> value, resolved by the server (a Secret's keys)
    secrets: Mapping[str, str]
    #: What the data init container loads: {"remote": URL, "outs": [{"path", "hash"}]} or None
    data: Mapping[str, Any] | None
    packages: Sequence[str] = ()
    tools: Sequence[str] = ()
    node_selector: Mapping[str, str] = dataclasses.field(default_factory=dict)
    tolerations: Sequence[Mapping[str, Any]] = ()
    affinity: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: (claim, path): the DVC remote's folder, mounted read-only in the data init container
    remote_volume: tuple[str, str] | None = None


def sandbox_labels(sb: SandboxPod, extra: Mapping[str, str]) -> dict[str, str]:
    return {
        **{key: label_value(value) for key, value in extra.items()},
        MANAGED_BY: MANAGER,
        COMPONENT: "sandbox",
        SANDBOX: label_value(sb.sandbox_id),
        USER: label_value(sb.user or "unknown"),
        PROFILE: label_value(sb.profile),
    }


def workspace_claim(
    user: str,
    namespace: str,
    *,
    size: str,
    storage_class: str,
    access_mode: str,
    extra_labels: Mapping[str, str],
) -> dict[str, Any]:
    """The user's workspace volume (made once; never deleted by the product)."""
    spec: dict[str, Any] = {
        "accessModes": [access_mode],
        "resources": {"requests": {"storage": size}},
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": workspace_claim_name(user),
            "namespace": namespace,
            "labels": {
                **{key: label_value(value) for key, value in extra_labels.items()},
                MANAGED_BY: MANAGER,
                COMPONENT: "workspace",
                USER: label_value(user or "unknown"),
            },
            "annotations": {USER: user},
        },
        "spec": spec,
    }


def _secret_key(env_name: str) -> str:
    return f"env-{env_name}"


def sandbox_objects(sb: SandboxPod, pod: PodSettings) -> list[dict[str, Any]]:
    """The Secret, the ConfigMap and the Pod of a sandbox (in the order they are created)."""
    name = sandbox_name(sb.sandbox_id)
    labels = sandbox_labels(sb, pod.labels)
    metadata = {
        "name": name,
        "namespace": sb.namespace,
        "labels": labels,
        "annotations": {SANDBOX: sb.sandbox_id, USER: sb.user},
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": dict(metadata),
        "type": "Opaque",
        "stringData": {
            "token": sb.token,
            **{_secret_key(key): value for key, value in sorted(sb.secrets.items())},
        },
    }
    setup = {"packages": list(sb.packages), "tools": list(sb.tools)}
    config_data = {"setup.json": json.dumps(setup, sort_keys=True)}
    if sb.data is not None:
        config_data["data.json"] = json.dumps(dict(sb.data), sort_keys=True)
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": dict(metadata),
        "data": config_data,
    }
    plain = {**pod.env, **sb.env, ENV_SERVER_ONLY: "1"}
    if sb.packages:
        plain[PACKAGES_ENV] = packages_dir(sb.packages)
    env: list[dict[str, Any]] = [
        {"name": key, "value": value}
        for key, value in sorted(plain.items())
        if key not in sb.secrets
    ]
    env += [
        {
            "name": key,
            "valueFrom": {"secretKeyRef": {"name": name, "key": _secret_key(key)}},
        }
        for key in sorted(sb.secrets)
    ]
    home = {"name": "home", "mountPath": HOME}
    setup_mount = {"name": "setup", "mountPath": SETUP_DIR, "readOnly": True}
    resources = sb.resources.block()

    def init(container_name: str, *args: str) -> dict[str, Any]:
        return {
            "name": container_name,
            "image": pod.image,
            "imagePullPolicy": pod.image_pull_policy,
            "command": ["python", "-m", f"{MODULE}.sandbox_init", *args],
            "env": [e for e in env if "value" in e],
            "resources": resources,
            "volumeMounts": [dict(home), dict(setup_mount)],
        }

    init_containers = []
    if sb.data is not None:
        loader = init("data", "data", "--plan", f"{SETUP_DIR}/data.json", "--into", WORKDIR)
        if sb.remote_volume is not None:
            loader["volumeMounts"].append(
                {"name": "dvc-remote", "mountPath": sb.remote_volume[1], "readOnly": True}
            )
        init_containers.append(loader)
    if sb.packages or sb.tools:
        init_containers.append(
            init(
                "environment",
                "environment",
                "--setup",
                f"{SETUP_DIR}/setup.json",
                "--target",
                packages_dir(sb.packages),
            )
        )
    container: dict[str, Any] = {
        "name": AGENT_CONTAINER,
        "image": pod.image,
        "imagePullPolicy": pod.image_pull_policy,
        "command": [
            "python",
            "-m",
            f"{MODULE}.sandbox_agent",
            "--host",
            "0.0.0.0",
            "--port",
            str(sb.port),
            "--token-file",
            f"{AGENT_DIR}/token",
            "--workdir",
            WORKDIR,
        ],
        "ports": [{"name": "kernel-host", "containerPort": sb.port, "protocol": "TCP"}],
        "env": env,
        "resources": resources,
        "volumeMounts": [home, {"name": "agent", "mountPath": AGENT_DIR, "readOnly": True}],
        "readinessProbe": {
            "httpGet": {"path": "/health", "port": "kernel-host"},
            "periodSeconds": 5,
        },
    }
    spec = placed_pod_spec(
        pod,
        container,
        node_selector=sb.node_selector,
        tolerations=sb.tolerations,
        affinity=sb.affinity,
        restartPolicy="Never",
        enableServiceLinks=False,
    )
    if init_containers:
        if pod.env_from_secrets:
            for item in init_containers:
                item["envFrom"] = [{"secretRef": {"name": n}} for n in pod.env_from_secrets]
        spec["initContainers"] = init_containers
    spec["volumes"] = [
        {"name": "home", "persistentVolumeClaim": {"claimName": workspace_claim_name(sb.user)}},
        {
            "name": "agent",
            "secret": {"secretName": name, "items": [{"key": "token", "path": "token"}]},
        },
        {"name": "setup", "configMap": {"name": name}},
    ]
    if sb.data is not None and sb.remote_volume is not None:
        spec["volumes"].append(
            {
                "name": "dvc-remote",
                "persistentVolumeClaim": {"claimName": sb.remote_volume[0], "readOnly": True},
            }
        )
    pod_object = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": dict(metadata),
        "spec": spec,
    }
    return [secret, config_map, pod_object]
