"""A cluster for the Kubernetes backends' tests: the validating in-memory API server
(``tests.kubeapi``, tier 2) with this module's kubelet, or a real cluster (tier 3, the ``kind``
marker: ``DATAOPS_KUBECONFIG`` names its kubeconfig; the kind workflow sets it).

The kubelet plays the controllers and nodes of a cluster: the job controller makes a Job's pod
(through the API, so quotas and limit ranges apply), and a node runs the pod's container as a
local process with the pod's environment, streams its output as the pod's log, and reports its
phase and exit code; the Job's conditions follow. A test can hold pods back (``hold``) to see
pending states, or make the node report what it would (unschedulable, OOM, image pull errors).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

NAMESPACE = "dataops"
WAIT = 60.0  # seconds: a bound on waits, not a performance claim


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
                proc.kill()
                proc.wait(timeout=10)

    # -- the loop -----------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self._step()
            except Exception as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def _step(self) -> None:
        jobs = self.api.list("jobs", self.namespace)
        pods = self.api.list("pods", self.namespace)
        owners = {}
        for pod in pods:
            for ref in pod["metadata"].get("ownerReferences") or []:
                owners[ref["uid"]] = pod
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

    def _pod_step(self, pod: dict, jobs: list[dict]) -> None:
        name = pod["metadata"]["name"]
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
            planned = self.outcome(pod) if self.outcome is not None else None
            self.api.patch_status(
                "pods", self.namespace, name, {"phase": "Running", "startTime": now(), **_running()}
            )
            if planned is not None:
                self._terminate(pod, jobs, *planned)
                self._procs[name] = subprocess.Popen(["true"])
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


class RealCluster:
    """Tier 3: a real cluster (``DATAOPS_KUBECONFIG``), with the few reads the tests make."""

    def __init__(self, kubeconfig: str) -> None:
        from kubernetes import client, config

        self.kubeconfig = kubeconfig
        configuration = client.Configuration()
        config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
        self.client = client.ApiClient(configuration)
        self.url = configuration.host

    def list(self, resource: str, namespace: str) -> list[dict]:
        from kubernetes import client

        selector = "app.kubernetes.io/managed-by=jupyter-dataops"
        if resource == "jobs":
            items = client.BatchV1Api(self.client).list_namespaced_job(
                namespace, label_selector=selector
            )
        else:
            items = client.CoreV1Api(self.client).list_namespaced_pod(
                namespace, label_selector=selector
            )
        return [self.client.sanitize_for_serialization(i) for i in items.items]

    def clear(self, namespace: str) -> None:
        """Delete what earlier tests left, and wait until it is gone."""
        from kubernetes import client

        client.BatchV1Api(self.client).delete_collection_namespaced_job(
            namespace,
            label_selector="app.kubernetes.io/managed-by=jupyter-dataops",
            propagation_policy="Background",
        )
        wait_for(
            lambda: not self.list("jobs", namespace) and not self.list("pods", namespace),
            "a clean namespace",
        )

    def close(self) -> None:
        self.client.close()


@contextlib.contextmanager
def real_cluster():
    """The cluster of ``DATAOPS_KUBECONFIG`` (the kind workflow's), or a skip that says why."""
    import pytest

    kubeconfig = os.environ.get("DATAOPS_KUBECONFIG")
    if not kubeconfig:
        pytest.skip(
            "tier 3 needs a real cluster: set DATAOPS_KUBECONFIG, DATAOPS_KIND_FILES and "
            "DATAOPS_KIND_IMAGE (the kind workflow does; docs/kubernetes.md says how)"
        )
    cluster = RealCluster(kubeconfig)
    cluster.clear(NAMESPACE)
    try:
        yield cluster
    finally:
        cluster.clear(NAMESPACE)
        cluster.close()
