"""A cluster for the Kubernetes backends' tests: the validating in-memory API server
(``tests.kubeapi``, tier 2) with this module's kubelet, or a real cluster (tier 3, the ``kind``
marker: ``DATAOPS_KUBECONFIG`` names its kubeconfig; the kind workflow sets it).

The kubelet plays the controllers and nodes of a cluster: the job controller makes a Job's pod
(through the API, so quotas and limit ranges apply), and a node runs the pod's container as a
local process with the pod's environment, streams its output as the pod's log, and reports its
phase and exit code; the Job's conditions follow. A test can hold pods back (``hold``) to see
pending states, or make the node report what it would (unschedulable, OOM, image pull errors).

A test module's ``cluster`` fixture takes ``params=CLUSTERS`` and yields ``cluster_of(param)``:
a :class:`Cluster` whose ``api`` is the emulator or a :class:`RealCluster` (the same ``list``,
``get``, ``create`` and ``delete``), so one test body runs in both tiers. What else a real
cluster's tests need comes from ``DATAOPS_KIND_*`` variables (:func:`kind_env`; the kind
workflow sets them, docs/kubernetes.md, section Tests, lists them).
"""

from __future__ import annotations

import base64
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

NAMESPACE = "dataops"
WAIT = 60.0  # seconds: a bound on waits, not a performance claim
#: A real cluster's clean-up: pods end gracefully (up to 30 s) before their claims can go.
CLEAR_WAIT = 180.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Kubelet:
    """The job controller and a node, for the emulator (see the module's documentation)."""

    def __init__(self, api: Any, namespace: str = NAMESPACE) -> None:
        self.api = api
        self.namespace = namespace
        #: pods not to run yet: a callable(pod) -> status to report, or None to leave it pending
        self.hold: Callable[[dict], dict | None] | None = None
        #: what the node does instead of running a pod's container: callable(pod) -> (exit code,
        #: terminated reason) or None to run it
        self.outcome: Callable[[dict], tuple[int, str] | None] | None = None
        self._procs: dict[str, subprocess.Popen] = {}
        self._done: set[str] = set()
        #: The cluster's DNS for the pods it runs: "service.ns.svc:port" -> "127.0.0.1:port"
        self.dns: dict[str, str] = {}
        #: Deployment uid -> (template generation it runs, its pod's name)
        self._deployments: dict[str, tuple[int, str]] = {}
        self._tmp = tempfile.mkdtemp(prefix="test-kubelet-")
        #: sandbox pods being started or running (their containers run in a thread each)
        self._sandboxes: set[str] = set()
        #: each pod's own loopback address, as a pod has its own IP (127.0.0.0/8 is all loopback),
        #: from a random start: test runs side by side on one machine do not share addresses
        self._next_ip = random.randrange(250, 250 * 240)
        #: what a sandbox pod's containers exited with: pod name -> [(container, exit code)]
        self.container_exits: dict[str, list[tuple[str, int]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="test-kubelet", daemon=True)
        self.errors: list[str] = []

    def __enter__(self) -> Kubelet:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for proc in self._procs.values():
            if proc.poll() is None:
                # Each container is a process group of its own: its kernel goes with it.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        shutil.rmtree(self._tmp, ignore_errors=True)

    # -- the loop -----------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self._step()
            except Exception as exc:  # reported by the test's teardown
                if getattr(exc, "status", None) == 404:
                    continue  # deleted between the list and the action: as a kubelet, move on
                where = traceback.extract_tb(exc.__traceback__)[-1]
                self.errors.append(
                    f"{type(exc).__name__}: {exc} (at {where.name}:{where.lineno}: {where.line})"
                )

    def _step(self) -> None:
        jobs = self.api.list("jobs", self.namespace)
        pods = self.api.list("pods", self.namespace)
        owners = {}
        for pod in pods:
            for ref in pod["metadata"].get("ownerReferences") or []:
                owners[ref["uid"]] = pod
        self._deployment_step(pods)
        for job in jobs:
            uid = job["metadata"]["uid"]
            if (
                uid not in owners
                and uid not in self._done
                and not job.get("status", {}).get("conditions")
            ):
                self.api.job_controller_step(self.namespace, job["metadata"]["name"])
        live = {pod["metadata"]["name"] for pod in pods}
        for name, proc in list(self._procs.items()):
            if name not in live and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # the pod was deleted: the container is stopped
        for pod in pods:
            self._pod_step(pod, jobs)

    # -- the Deployment controller, kube-proxy and the pods of Deployments ---------------------
    def _deployment_step(self, pods: list[dict]) -> None:
        """One pod per Deployment, made again when its template changes (a rollout); a
        running pod is put behind the Services that select it."""
        deployments = self.api.list("deployments", self.namespace)
        live_uids = {d["metadata"]["uid"] for d in deployments}
        for uid, (_, pod_name) in list(self._deployments.items()):
            if uid not in live_uids:  # deleted: its pod goes (garbage collection)
                del self._deployments[uid]
                self._end_pod(pod_name)
        for deployment in deployments:
            uid = deployment["metadata"]["uid"]
            generation = deployment["metadata"].get("generation", 1)
            known = self._deployments.get(uid)
            if known is not None and known[0] == generation:
                continue
            if known is not None:
                self._end_pod(known[1])
            template = deployment["spec"]["template"]
            pod = self.api.create(
                "pods",
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "generateName": f"{deployment['metadata']['name']}-",
                        "namespace": self.namespace,
                        "labels": template["metadata"].get("labels", {}),
                        "annotations": template["metadata"].get("annotations", {}),
                        "ownerReferences": [
                            {
                                "apiVersion": "apps/v1",
                                "kind": "Deployment",
                                "name": deployment["metadata"]["name"],
                                "uid": uid,
                            }
                        ],
                    },
                    "spec": template["spec"],
                },
                self.namespace,
            )
            self._deployments[uid] = (generation, pod["metadata"]["name"])

    def _end_pod(self, name: str) -> None:
        proc = self._procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            if proc.poll() is None:
                proc.kill()
        try:
            self.api.delete("pods", self.namespace, name)
        except Exception as exc:  # gone already (deleted with its Deployment)
            if getattr(exc, "status", None) != 404:
                raise

    def _serve(self, pod: dict) -> None:
        """Run a Deployment's pod: its server on a free loopback port, behind its Services."""
        name = pod["metadata"]["name"]
        container = pod["spec"]["containers"][0]
        command = list(container["command"])
        port = _free_port()
        declared = container["ports"][0]["containerPort"]
        for flag, value in (("--host", "127.0.0.1"), ("--port", str(port))):
            if flag in command:
                command[command.index(flag) + 1] = value
        if "--token-file" in command:  # the Secret's volume, as the kubelet mounts it
            volume = next(v for v in pod["spec"]["volumes"] if "secret" in v)
            secret = self.api.get("secrets", self.namespace, volume["secret"]["secretName"])
            if secret is None:  # deleted with its endpoint: a node could not start the pod
                return
            data = secret.get("data") or {}
            token = base64.b64decode(data["token"]).decode() if "token" in data else ""
            path = Path(self._tmp) / f"{name}-token"
            path.write_text(token or (secret.get("stringData") or {}).get("token", ""))
            command[command.index("--token-file") + 1] = str(path)
        if command[0] == "python":
            command[0] = sys.executable
        command = [self._resolve(arg) for arg in command]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATAOPS_", "MLFLOW_"))}
        env.update(
            {e["name"]: self._resolve(e.get("value", "")) for e in container.get("env") or []}
        )
        log_path = Path(self._tmp) / f"{name}.log"
        with open(log_path, "wb") as log:
            self._procs[name] = subprocess.Popen(
                command,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.api.patch_status(
            "pods", self.namespace, name, {"phase": "Running", "startTime": now(), **_running()}
        )
        labels = pod["metadata"].get("labels") or {}
        for service in self.api.list("services", self.namespace):
            selector = service["spec"].get("selector") or {}
            if selector and selector.items() <= labels.items():
                for p in service["spec"]["ports"]:
                    if p.get("targetPort") in ("http", declared):
                        self.api.set_service_backend(
                            self.namespace,
                            service["metadata"]["name"],
                            p["port"],
                            f"http://127.0.0.1:{port}",
                        )
        threading.Thread(
            target=self._mirror_log, args=(name, log_path), name=f"test-log-{name}", daemon=True
        ).start()

    # -- sandbox pods: init containers, then the kernel host at the pod's own IP ---------------
    def _mounts(self, pod: dict) -> dict[str, str]:
        """mountPath -> a folder here: a claim's folder (kept, as a volume is, across pods; a
        path that exists here already is a shared folder and stays itself), a Secret's or a
        ConfigMap's keys as files."""
        name = pod["metadata"]["name"]
        found: dict[str, str] = {}
        volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
        containers = [*(pod["spec"].get("initContainers") or []), *pod["spec"]["containers"]]
        for container in containers:
            for mount in container.get("volumeMounts") or []:
                path = mount["mountPath"]
                volume = volumes[mount["name"]]
                if "persistentVolumeClaim" in volume:
                    claim = volume["persistentVolumeClaim"]["claimName"]
                    local = path if Path(path).is_dir() else str(Path(self._tmp, "claims", claim))
                elif "secret" in volume:
                    local = str(Path(self._tmp, name, mount["name"]))
                    secret = (
                        self.api.get("secrets", self.namespace, volume["secret"]["secretName"])
                        or {}
                    )
                    data = {
                        k: base64.b64decode(v).decode()
                        for k, v in (secret.get("data") or {}).items()
                    }
                    data.update(secret.get("stringData") or {})
                    items = volume["secret"].get("items") or [{"key": k, "path": k} for k in data]
                    Path(local).mkdir(parents=True, exist_ok=True)
                    for item in items:
                        Path(local, item["path"]).write_text(data.get(item["key"], ""))
                elif "configMap" in volume:
                    local = str(Path(self._tmp, name, mount["name"]))
                    config_map = (
                        self.api.get("configmaps", self.namespace, volume["configMap"]["name"])
                        or {}
                    )
                    Path(local).mkdir(parents=True, exist_ok=True)
                    for key, value in (config_map.get("data") or {}).items():
                        Path(local, key).write_text(value)
                else:
                    local = str(Path(self._tmp, name, mount["name"]))
                Path(local).mkdir(parents=True, exist_ok=True)
                found[path] = local
        return found

    def _container_command(
        self, pod: dict, container: dict, mounts: dict[str, str]
    ) -> tuple[list[str], dict[str, str]]:
        def local(text: str) -> str:
            for path in sorted(mounts, key=len, reverse=True):
                if text == path or text.startswith(path + "/"):
                    return mounts[path] + text[len(path) :]
            return text

        secret_data: dict[str, dict] = {}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATAOPS_", "MLFLOW_"))}
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = local(item["value"])
            else:
                ref = item["valueFrom"]["secretKeyRef"]
                if ref["name"] not in secret_data:
                    secret = self.api.get("secrets", self.namespace, ref["name"]) or {}
                    values = {
                        k: base64.b64decode(v).decode()
                        for k, v in (secret.get("data") or {}).items()
                    }
                    values.update(secret.get("stringData") or {})
                    secret_data[ref["name"]] = values
                env[item["name"]] = secret_data[ref["name"]][ref["key"]]
        env["HOSTNAME"] = pod["metadata"]["name"]
        command = [local(arg) for arg in container["command"]]
        if command[0] == "python":
            command[0] = sys.executable
        return command, env

    def _container_status(self, container: dict, state: dict, ready: bool = False) -> dict:
        return {
            "name": container["name"],
            "image": container["image"],
            "imageID": "",
            "ready": ready,
            "restartCount": 0,
            "state": state,
        }

    def _run_sandbox(self, pod: dict) -> None:
        """A sandbox pod: scheduled, then each init container to its end (a failure ends the
        pod), then the kernel host at the pod's own loopback IP; the pod's phase follows it."""
        name = pod["metadata"]["name"]
        try:
            self._sandbox_steps(pod)
        except Exception as exc:
            if getattr(exc, "status", None) != 404:
                self.errors.append(f"sandbox pod {name}: {type(exc).__name__}: {exc}")

    def _sandbox_steps(self, pod: dict) -> None:
        name = pod["metadata"]["name"]
        address = f"127.0.{self._next_ip // 250}.{self._next_ip % 250 + 2}"
        self._next_ip += 1
        scheduled = {
            "type": "PodScheduled",
            "status": "True",
            "lastTransitionTime": now(),
        }
        inits = pod["spec"].get("initContainers") or []
        main = pod["spec"]["containers"][0]
        waiting = {"waiting": {"reason": "PodInitializing"}}
        self.api.patch_status(
            "pods",
            self.namespace,
            name,
            {
                "phase": "Pending",
                "conditions": [scheduled],
                "podIP": address,
                "podIPs": [{"ip": address}],
                "hostIP": "127.0.0.1",
                "initContainerStatuses": [self._container_status(c, waiting) for c in inits],
                "containerStatuses": [self._container_status(main, waiting)],
            },
        )
        mounts = self._mounts(pod)
        statuses = [self._container_status(c, waiting) for c in inits]
        exits = self.container_exits.setdefault(name, [])
        for index, container in enumerate(inits):
            statuses[index] = self._container_status(container, {"running": {"startedAt": now()}})
            self.api.patch_status("pods", self.namespace, name, {"initContainerStatuses": statuses})
            command, env = self._container_command(pod, container, mounts)
            proc = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=WAIT, check=False
            )
            exits.append((container["name"], proc.returncode))
            self.api.set_log(self.namespace, name, proc.stdout + proc.stderr, container["name"])
            terminated = {
                "terminated": {
                    "exitCode": proc.returncode,
                    "reason": "Completed" if proc.returncode == 0 else "Error",
                    "finishedAt": now(),
                }
            }
            statuses[index] = self._container_status(container, terminated)
            if proc.returncode != 0:
                self.api.patch_status(
                    "pods",
                    self.namespace,
                    name,
                    {"phase": "Failed", "initContainerStatuses": statuses},
                )
                return
            self.api.patch_status("pods", self.namespace, name, {"initContainerStatuses": statuses})
        command, env = self._container_command(pod, main, mounts)
        command[command.index("--host") + 1] = address
        log_path = Path(self._tmp) / f"{name}.log"
        with open(log_path, "wb") as log:
            self._procs[name] = subprocess.Popen(
                command,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.api.patch_status(
            "pods",
            self.namespace,
            name,
            {
                "phase": "Running",
                "startTime": now(),
                "containerStatuses": [
                    self._container_status(main, {"running": {"startedAt": now()}}, ready=True)
                ],
            },
        )
        threading.Thread(
            target=self._mirror_log, args=(name, log_path), name=f"test-log-{name}", daemon=True
        ).start()
        code = self._procs[name].wait()
        exits.append((main["name"], code))
        if self.api.get("pods", self.namespace, name) is None:
            return  # deleted: stopped
        self.api.patch_status(
            "pods",
            self.namespace,
            name,
            {
                "phase": "Succeeded" if code == 0 else "Failed",
                "containerStatuses": [
                    self._container_status(
                        main,
                        {"terminated": {"exitCode": code, "reason": "Error", "finishedAt": now()}},
                    )
                ],
            },
        )

    def _resolve(self, text: str) -> str:
        for name, address in self.dns.items():
            text = text.replace(name, address)
        return text

    def _mirror_log(self, name: str, path: Path) -> None:
        """The pod's log, as the API server serves it, follows the process's output."""
        sent = ""
        while not self._stop.is_set() and name in self._procs:
            text = path.read_text(errors="replace") if path.exists() else ""
            if text != sent:
                try:
                    self.api.set_log(self.namespace, name, text)
                except Exception as exc:  # the pod was deleted
                    if getattr(exc, "status", None) != 404:
                        raise
                    return
                sent = text
            time.sleep(0.2)

    def _pod_step(self, pod: dict, jobs: list[dict]) -> None:
        name = pod["metadata"]["name"]
        owners = {r.get("kind") for r in pod["metadata"].get("ownerReferences") or []}
        phase = (pod.get("status") or {}).get("phase", "Pending")
        if phase in ("Succeeded", "Failed"):
            return
        if name not in self._procs:
            if self.hold is not None:
                status = self.hold(pod)
                if status is not None or status == {}:
                    if status:
                        self.api.patch_status("pods", self.namespace, name, status)
                    return
            if "Deployment" in owners:
                self._serve(pod)
                return
            labels = pod["metadata"].get("labels") or {}
            if labels.get("app.kubernetes.io/component") == "sandbox":
                if name not in self._sandboxes:
                    self._sandboxes.add(name)
                    threading.Thread(
                        target=self._run_sandbox, args=(pod,), name=f"test-sb-{name}", daemon=True
                    ).start()
                return
            planned = self.outcome(pod) if self.outcome is not None else None
            self.api.patch_status(
                "pods", self.namespace, name, {"phase": "Running", "startTime": now(), **_running()}
            )
            if planned is not None:
                self._terminate(pod, jobs, *planned)
                self._procs[name] = subprocess.Popen(["true"], start_new_session=True)
                return
            self._procs[name] = self._run(pod)
            threading.Thread(
                target=self._stream, args=(pod, jobs), name=f"test-pod-{name}", daemon=True
            ).start()

    def _run(self, pod: dict) -> subprocess.Popen:
        container = pod["spec"]["containers"][0]
        env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOPS_")}
        env.update({e["name"]: e.get("value", "") for e in container.get("env") or []})
        env["HOSTNAME"] = pod["metadata"]["name"]
        command = list(container["command"])
        if command[0] == "python":
            command[0] = sys.executable
        return subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def _stream(self, pod: dict, jobs: list[dict]) -> None:
        name = pod["metadata"]["name"]
        proc = self._procs[name]
        text = ""
        assert proc.stdout is not None
        for line in iter(proc.stdout.readline, b""):
            text += line.decode("utf-8", errors="replace")
            self.api.set_log(self.namespace, name, text)
        code = proc.wait()
        if code < 0:
            code = 128 - code
        if self.api.get("pods", self.namespace, name) is None:
            return  # deleted with its Job
        self._terminate(pod, jobs, code, "Completed" if code == 0 else "Error")

    def _terminate(self, pod: dict, jobs: list[dict], code: int, reason: str) -> None:
        name = pod["metadata"]["name"]
        self.api.patch_status(
            "pods",
            self.namespace,
            name,
            {
                "phase": "Succeeded" if code == 0 else "Failed",
                "containerStatuses": [
                    {
                        "name": pod["spec"]["containers"][0]["name"],
                        "image": pod["spec"]["containers"][0]["image"],
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": {
                            "terminated": {"exitCode": code, "reason": reason, "finishedAt": now()}
                        },
                    }
                ],
            },
        )
        job_name = next(
            (r["name"] for r in pod["metadata"].get("ownerReferences") or [] if r["kind"] == "Job"),
            None,
        )
        if job_name is None:
            return
        job = self.api.get("jobs", self.namespace, job_name)
        if job is None:
            return
        self._done.add(job["metadata"]["uid"])
        kind = "Complete" if code == 0 else "Failed"
        conditions = [{"type": kind, "status": "True", "lastTransitionTime": now()}]
        if code != 0:
            conditions[0].update(
                reason="BackoffLimitExceeded", message="Job has reached the specified backoff limit"
            )
        self.api.patch_status(
            "jobs",
            self.namespace,
            job_name,
            {"conditions": conditions, "succeeded" if code == 0 else "failed": 1},
        )


def _running() -> dict:
    return {
        "conditions": [{"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [
            {
                "name": "papermill",
                "image": "",
                "imageID": "",
                "ready": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": now()}},
            }
        ],
    }


def unschedulable(message: str) -> dict:
    """A pod status as the scheduler leaves it when no node fits."""
    return {
        "phase": "Pending",
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
            }
        ],
    }


def image_pull_failing(image: str) -> dict:
    return {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [
            {
                "name": "papermill",
                "image": image,
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "state": {
                    "waiting": {
                        "reason": "ImagePullBackOff",
                        "message": f'Back-off pulling image "{image}": not found',
                    }
                },
            }
        ],
    }


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@contextlib.contextmanager
def emulated_cluster(version: str = "1.29"):
    """The emulator with the namespace made, and its kubelet."""
    from .kubeapi import KubeAPI

    with KubeAPI(version=version) as api:
        api.create(
            "namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            None,
        )
        with Kubelet(api) as kubelet:
            yield api, kubelet
        assert not kubelet.errors, kubelet.errors


#: What a real cluster's tests read, write and clear: resource -> (API class, call suffix).
_REAL_CALLS = {
    "jobs": ("BatchV1Api", "job"),
    "pods": ("CoreV1Api", "pod"),
    "services": ("CoreV1Api", "service"),
    "secrets": ("CoreV1Api", "secret"),
    "configmaps": ("CoreV1Api", "config_map"),
    "persistentvolumeclaims": ("CoreV1Api", "persistent_volume_claim"),
    "resourcequotas": ("CoreV1Api", "resource_quota"),
    "limitranges": ("CoreV1Api", "limit_range"),
    "deployments": ("AppsV1Api", "deployment"),
    "horizontalpodautoscalers": ("AutoscalingV2Api", "horizontal_pod_autoscaler"),
}
#: What the product makes, in the order a clean-up deletes it (owners before what they own,
#: pods before the workspace claims they mount).
_CLEARED = (
    "horizontalpodautoscalers",
    "deployments",
    "services",
    "jobs",
    "pods",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "resourcequotas",
    "limitranges",
)
#: The label of everything the product makes.
MANAGED = "app.kubernetes.io/managed-by=jupyter-dataops"


class RealCluster:
    """Tier 3: a real cluster (``DATAOPS_KUBECONFIG``), with the reads and writes the tests make,
    shaped as the emulator's (``list``, ``get``, ``create``, ``delete``; objects as dicts)."""

    def __init__(self, kubeconfig: str) -> None:
        from kubernetes import client, config

        self.kubeconfig = kubeconfig
        configuration = client.Configuration()
        config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
        self.client = client.ApiClient(configuration)
        self.url = configuration.host

    def _call(self, verb: str, resource: str) -> Callable[..., Any]:
        from kubernetes import client

        api, suffix = _REAL_CALLS[resource]
        return getattr(getattr(client, api)(self.client), f"{verb}_namespaced_{suffix}")

    def list(
        self, resource: str, namespace: str, label_selector: str | None = MANAGED
    ) -> list[dict]:
        """The objects of ``resource`` that the product made (``label_selector``: others)."""
        items = self._call("list", resource)(namespace, label_selector=label_selector or "")
        return [self.client.sanitize_for_serialization(i) for i in items.items]

    def get(self, resource: str, namespace: str, name: str) -> dict | None:
        """The object, or None when there is none (one being deleted is still there)."""
        from kubernetes.client.exceptions import ApiException

        try:
            obj = self._call("read", resource)(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return dict(self.client.sanitize_for_serialization(obj))

    def create(self, resource: str, obj: dict, namespace: str | None = None) -> dict:
        namespace = namespace or obj["metadata"]["namespace"]
        made = self._call("create", resource)(namespace, obj)
        return dict(self.client.sanitize_for_serialization(made))

    def delete(self, resource: str, namespace: str, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            self._call("delete", resource)(
                name, namespace, propagation_policy="Background", _preload_content=False
            )
        except ApiException as exc:
            if exc.status != 404:
                raise

    def clear(self, namespace: str) -> None:
        """Delete what earlier tests left (whatever the product made: jobs, endpoints,
        sandboxes and their workspace claims, policy objects), and wait until it is gone."""
        for resource in _CLEARED:
            for obj in self.list(resource, namespace):
                self.delete(resource, namespace, obj["metadata"]["name"])
        wait_for(
            lambda: not any(self.list(resource, namespace) for resource in _CLEARED),
            "a clean namespace",
            CLEAR_WAIT,
        )

    def close(self) -> None:
        self.client.close()


@contextlib.contextmanager
def real_cluster():
    """The cluster of ``DATAOPS_KUBECONFIG`` (the kind workflow's), or a skip that says why."""
    kubeconfig = os.environ.get("DATAOPS_KUBECONFIG")
    if not kubeconfig:
        pytest.skip(
            "tier 3 needs a real cluster: set DATAOPS_KUBECONFIG and the DATAOPS_KIND_* variables "
            "(the kind workflow does; docs/kubernetes.md, section Tests, says how)"
        )
    cluster = RealCluster(kubeconfig)
    cluster.clear(NAMESPACE)
    try:
        yield cluster
    finally:
        cluster.clear(NAMESPACE)
        cluster.close()


class Cluster:
    """What a test has: the API (the emulator, or a real cluster's reads and writes) and, with
    the emulator, its kubelet; ``real`` for tier 3."""

    def __init__(self, api: Any, kubelet: Kubelet | None = None, real: bool = False) -> None:
        self.api, self.kubelet, self.real = api, kubelet, real


#: The ``params`` of a ``cluster`` fixture: each test that takes it runs on the emulator
#: (tier 2) and, under ``-m kind``, on a real cluster (tier 3).
CLUSTERS = ["emulator", pytest.param("real", marks=pytest.mark.kind)]


@contextlib.contextmanager
def cluster_of(kind: str):
    """A :class:`Cluster`: ``"emulator"`` or ``"real"`` (skipped without one)."""
    if kind == "real":
        with real_cluster() as api:
            yield Cluster(api, real=True)
        return
    with emulated_cluster() as (api, kubelet):
        yield Cluster(api, kubelet)


def kind_env(name: str, default: str | None = None) -> str:
    """A tier-3 setting from the environment (the kind workflow sets them all); without one a
    real-cluster test fails naming it, rather than testing something else."""
    value = os.environ.get(name) or default
    if not value:
        pytest.fail(
            f"tier 3 needs {name} set (docs/kubernetes.md, section Tests, says what it is)",
            pytrace=False,
        )
    return value
