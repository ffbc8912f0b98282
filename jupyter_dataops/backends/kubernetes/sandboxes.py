"""Sandboxes as pods: ``c.DataOps.sandbox_provider_class = "kubernetes"``.

A sandbox is a pod in the user's namespace (``c.Kubernetes.namespace``), built by
:mod:`.sandbox_objects` from the profile and the resources the policy allowed: CPU and memory
requests and limits, GPUs as ``c.Kubernetes.gpu_resource`` limits (a GPU type selects its nodes
through ``c.Kubernetes.gpu_types``), the profile's node selector, tolerations and affinity, the
user's workspace volume as its home, init containers that load its data from the DVC remote and
install its packages, and the kernel host (:mod:`.sandbox_agent`). Its kernel spec names the
``dataops-cluster-sandbox`` provisioner (:mod:`.sandbox_kernel`), so the notebook attaches to a
kernel in the pod from the kernel picker, and papermill jobs run in it the same way.

Provisioning, step by step as the progress shows it:

1. **namespace**: the user's namespace (the policy's ResourceQuota and LimitRange there);
2. **workspace**: the user's volume, made on first use and kept;
3. **pod**: the Secret, the ConfigMap and the Pod, created with strict field validation; the
   scheduler's reason shows while it waits for a node;
4. **data** and 5. **environment**: the init containers (their log tells a failure);
6. **kernel host**: the pod runs and its kernel host answers;
7. **kernel spec**: in the kernel picker.

A failure at any step deletes what the start made (not the workspace). The sandbox service
owns idle culling, lifetimes and quotas as for local sandboxes; it samples kernels and usage
through the kernel host. Every call to the cluster and to a pod runs in the caller's thread
(the service's provisioning thread or the worker), never on the server's event loop.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from traitlets import Unicode

from ...core.errors import BackendUnavailable, Conflict, DataOpsError, InvalidInput, NotFound
from ...core.sandboxes.models import KernelRecord, Limits, Profile
from ...core.sandboxes.provider import Provisioned, Report, Sample, SandboxProvider, SandboxSpec
from ...core.sandboxes.quantities import format_cpus, format_memory, parse_cpus, parse_memory
from ..local.sandbox_provisioner import resolve_secrets
from ..sandbox_files import SandboxFiles
from . import sandbox_objects as so
from .client import Cluster, require_kubernetes
from .names import namespace_for
from .objects import MANAGED_BY, MANAGER, Resources
from .reachability import _dvc_remote, problems, require_reachable
from .sandbox_kernel import HostError, call
from .settings import Kubernetes

PROVISIONER = "dataops-cluster-sandbox"
PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName")


class KubernetesSandboxProvider(SandboxFiles, SandboxProvider):
    """Sandboxes as pods (see the module's documentation)."""

    name: ClassVar[str] = "kubernetes"
    provisioner: ClassVar[str] = PROVISIONER
    where: ClassVar[str] = "cluster"
    steps: ClassVar[tuple[str, ...]] = (
        "namespace",
        "workspace",
        "pod",
        "data",
        "environment",
        "kernel host",
        "kernel spec",
    )

    kernels_dir = Unicode(
        "",
        config=True,
        help="""Where sandboxes' kernel specs are written (a folder Jupyter searches for
        kernels). Default: the kernels folder of the Jupyter data directory.""",
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = Kubernetes(parent=self.dataops if self.dataops is not None else self)
        self.cluster = Cluster(self.settings)
        self._samples: dict[str, Sample] = {}
        self._lock = threading.Lock()

    def config_objects(self) -> list[Any]:
        return [self.settings]

    # -- where things are ---------------------------------------------------------------------
    def namespace(self, user: str | None) -> str:
        team = None
        if "{team}" in self.settings.namespace:
            teams = (getattr(self.dataops, "sandbox_policy", None) or {}).get("teams", {})
            team = next((t for t, users in sorted(teams.items()) if user in users), None)
        return namespace_for(self.settings.namespace, user=user or "unknown", team=team)

    def _image(self, profile: Profile) -> str:
        return self.settings.image(
            profile.image or self.settings.sandbox_image or self.settings.job_image
        )

    # -- the interface ------------------------------------------------------------------------
    def limits_method(self) -> Limits:
        return Limits(
            method="Kubernetes",
            detail=f"requests and limits of the sandbox's pod (cpu, memory, "
            f"{self.settings.gpu_resource})",
        )

    @classmethod
    def capacity(cls, dataops: Any) -> tuple[int, int, int]:
        settings = Kubernetes(parent=dataops)
        biggest = Resources.parse(
            settings.sandbox_max_resources,
            gpu_resource=settings.gpu_resource,
            setting="c.Kubernetes.sandbox_max_resources",
        )
        return (
            int(parse_cpus(biggest.cpu or "1")),
            parse_memory(biggest.memory or "1Gi"),
            biggest.gpus,
        )

    def cluster_gpu_types(self) -> list[str] | None:
        return sorted(self.settings.gpu_types)

    def unavailable(self, profile: Profile) -> str | None:
        if not (profile.image or self.settings.sandbox_image or self.settings.job_image):
            return (
                "sandbox pods need an image: set c.Kubernetes.sandbox_image, or the profile's image"
            )
        for item in profile.data:
            if item.kind == "directory":
                return (
                    f"its data {item.source!r} is a folder on the server's disk, which pods "
                    "cannot reach (name a snapshot or a DVC-tracked path instead)"
                )
        if profile.gpu_type and profile.gpu_type not in self.settings.gpu_types:
            known = ", ".join(sorted(self.settings.gpu_types)) or "none"
            return (
                f"the cluster offers no GPU type {profile.gpu_type!r} (c.Kubernetes.gpu_types "
                f"names: {known})"
            )
        found = problems(self.dataops, self.settings, needs=self._needs(profile))
        if found:
            return "its pod could not reach " + "; ".join(f"{p.what} (set {p.fix})" for p in found)
        return None

    @staticmethod
    def _needs(profile: Profile) -> tuple[str, ...]:
        """What a sandbox's pod reaches: the server or the store (for %dataops), and the DVC
        remote when it loads data."""
        if any(item.kind in ("snapshot", "dvc") for item in profile.data):
            return ("store", "dvc")
        return ("store",)

    def provision(self, spec: SandboxSpec, report: Report) -> Provisioned:
        require_kubernetes()
        namespace = self.namespace(spec.owner)
        made: list[tuple[str, str]] = []
        try:
            return self._provision(spec, report, namespace, made)
        except Exception:
            self._delete_objects(namespace, made)
            self.remove_files(spec.id)
            raise

    def _provision(
        self, spec: SandboxSpec, report: Report, namespace: str, made: list[tuple[str, str]]
    ) -> Provisioned:
        profile = spec.profile
        settings = self.settings
        require_reachable(
            self.dataops,
            settings,
            backend="sandbox provider",
            root_dir=spec.root_dir,
            needs=self._needs(profile),
        )
        report("namespace", "running", None)
        done = self._namespace_policy(namespace, spec.owner)
        report("namespace", "done", "; ".join([namespace, *done]))
        report("workspace", "running", None)
        report("workspace", "done", self._workspace(namespace, spec.owner or "unknown"))
        report("pod", "running", None)
        resources = spec.resources
        gpu_selector = so.gpu_node_selector(resources, settings.gpu_types)
        data = self._data_plan(spec)
        env = self._env(spec)
        pod_spec = so.SandboxPod(
            sandbox_id=spec.id,
            user=spec.owner or "unknown",
            profile=profile.name,
            namespace=namespace,
            resources=so.profile_resources(resources, settings.gpu_resource),
            port=settings.sandbox_port,
            token=secrets.token_urlsafe(32),
            env=env,
            secrets=resolve_secrets(profile.secrets),
            data=data,
            packages=tuple(profile.packages),
            tools=tuple(profile.tools),
            node_selector={**profile.node_selector, **gpu_selector},
            tolerations=tuple(profile.tolerations),
            affinity=dict(profile.affinity),
            remote_volume=(settings.dvc_remote_volume, str(data["remote"]))
            if data is not None and settings.dvc_remote_volume
            else None,
        )
        pod_settings = settings.pod_settings(self._image(profile))
        built = so.sandbox_objects(pod_spec, pod_settings)
        for obj in built:
            self._create(namespace, obj)
            made.append((obj["kind"], obj["metadata"]["name"]))
        pod_name = built[-1]["metadata"]["name"]
        address = self._wait_ready(spec, namespace, pod_name, report, data is not None)
        report("kernel spec", "running", None)
        launch = {
            "id": spec.id,
            "host": address,
            "port": settings.sandbox_port,
            "token": pod_spec.token,
            "server_url": settings.server_url,
            "namespace": namespace,
            "pod": pod_name,
        }
        self.write_launch(spec.id, launch)
        kernel_name = self.write_spec(
            spec,
            ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            interrupt_mode="signal",
            cluster=True,
        )
        report("kernel spec", "done", kernel_name)
        limits = Limits(
            method="Kubernetes",
            detail=f"pod {namespace}/{pod_name}: cpu {format_cpus(resources.cpus)}, memory "
            f"{format_memory(resources.memory_bytes)}"
            + (f", {resources.gpus} {settings.gpu_resource}" if resources.gpus else ""),
        )
        return Provisioned(kernel_name=kernel_name, workdir=None, env=env, limits=limits)

    def _namespace_policy(self, namespace: str, user: str | None) -> list[str]:
        """The policy's ResourceQuota and LimitRange in the namespace (unless the operator
        turned that off: c.Kubernetes.namespace_policy); what was done."""
        from .quotas import ensure_for

        return ensure_for(
            self.cluster, self.settings, self.dataops, namespace=namespace, user=user or "unknown"
        )

    def _workspace(self, namespace: str, user: str) -> str:
        settings = self.settings
        claim = so.workspace_claim(
            user,
            namespace,
            size=settings.workspace_size,
            storage_class=settings.storage_class,
            access_mode=settings.workspace_access_mode,
            extra_labels=settings.labels,
        )
        name = claim["metadata"]["name"]
        core = self.cluster.core()
        existing = self._read("PersistentVolumeClaim", namespace, name)
        if existing is not None:
            labels = (existing.get("metadata") or {}).get("labels") or {}
            if labels.get(MANAGED_BY) != MANAGER:
                raise Conflict(
                    f"A PersistentVolumeClaim {name} that this product did not make exists in "
                    f"namespace {namespace}; it is left alone.",
                    hint="Rename or remove it, or use another c.Kubernetes.namespace.",
                )
            size = ((existing.get("spec") or {}).get("resources") or {}).get("requests", {})
            return f"{name} ({size.get('storage', '?')}, kept from an earlier sandbox)"
        self.cluster.call(
            core.create_namespaced_persistent_volume_claim,
            namespace,
            claim,
            field_validation="Strict",
            action=f"create PersistentVolumeClaim {name}",
            namespace=namespace,
        )
        where = f", storage class {settings.storage_class}" if settings.storage_class else ""
        return f"{name} ({settings.workspace_size}{where}, made now)"

    def _data_plan(self, spec: SandboxSpec) -> dict[str, Any] | None:
        """What the data init container loads: each tracked output by its hash, from the
        project's DVC remote."""
        items = [item for item in spec.profile.data if item.kind in ("snapshot", "dvc")]
        if not items:
            return None
        root = Path(spec.root_dir)
        remote = _dvc_remote(root)
        url = remote[1] if remote else getattr(self.dataops, "snapshot_remote", "")
        if not url:
            raise InvalidInput(
                "The sandbox's data comes from the DVC remote, and the project has none.",
                hint="dvc remote add -d storage s3://bucket/dvc",
            )
        outs: list[dict[str, str]] = []
        for item in items:
            if item.kind == "snapshot":
                outs += self._snapshot_outs(spec.root_dir, item.source)
            else:
                outs.append(_dvc_out(root, item.source))
        return {"remote": url, "outs": outs}

    def _snapshot_outs(self, root_dir: str, snapshot_id: str) -> list[dict[str, str]]:
        if self.snapshot_reader is None:
            raise InvalidInput(
                "Snapshots cannot be loaded into sandboxes by this server.",
                hint="Name a DVC-tracked path instead.",
            )
        snapshot = self.snapshot_reader(root_dir, snapshot_id)
        status = getattr(snapshot.push_status, "value", snapshot.push_status)
        if snapshot.data and status != "pushed":
            raise InvalidInput(
                f"The data of snapshot {snapshot.id} is not on the DVC remote yet (push "
                f"{status}{': ' + snapshot.push_error if snapshot.push_error else ''}), so a pod "
                "cannot load it.",
                hint=f"dataops snapshots push {snapshot.id}",
            )
        return [{"path": entry.path, "hash": entry.hash} for entry in snapshot.data]

    def _env(self, spec: SandboxSpec) -> dict[str, str]:
        threads = str(max(1, int(-(-spec.resources.cpus // 1))))
        env = {
            "DATAOPS_SANDBOX": spec.id,
            "DATAOPS_SANDBOX_DIR": so.WORKDIR,
            "DATAOPS_SANDBOX_PROFILE": spec.profile.name,
            "OMP_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
        }
        env.update(spec.profile.env)
        return env

    # -- the cluster --------------------------------------------------------------------------
    def _create(self, namespace: str, obj: dict[str, Any]) -> None:
        core = self.cluster.core()
        kind = obj["kind"]
        fn = {
            "Secret": core.create_namespaced_secret,
            "ConfigMap": core.create_namespaced_config_map,
            "Pod": core.create_namespaced_pod,
        }[kind]
        self.cluster.call(
            fn,
            namespace,
            obj,
            field_validation="Strict",
            action=f"create {kind} {obj['metadata']['name']}",
            namespace=namespace,
        )

    def _read(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        core = self.cluster.core()
        fn = {
            "Pod": core.read_namespaced_pod,
            "PersistentVolumeClaim": core.read_namespaced_persistent_volume_claim,
        }[kind]
        try:
            obj = self.cluster.call(
                fn, name, namespace, action=f"read {kind} {name}", namespace=namespace
            )
        except NotFound:
            return None
        return dict(self.cluster.api_client.sanitize_for_serialization(obj))

    def _delete_objects(self, namespace: str, made: list[tuple[str, str]]) -> None:
        core = self.cluster.core()
        for kind, name in reversed(made):
            fn = {
                "Secret": core.delete_namespaced_secret,
                "ConfigMap": core.delete_namespaced_config_map,
                "Pod": core.delete_namespaced_pod,
            }[kind]
            try:
                self.cluster.call(
                    fn, name, namespace, action=f"delete {kind} {name}", namespace=namespace
                )
            except NotFound:
                pass
            except DataOpsError as exc:
                self.log.warning("sandbox: cannot delete %s %s: %s", kind, name, exc)

    def _log_tail(self, namespace: str, pod: str, container: str, lines: int = 15) -> str:
        core = self.cluster.core()
        try:
            text = self.cluster.call(
                core.read_namespaced_pod_log,
                pod,
                namespace,
                container=container,
                tail_lines=lines,
                action=f"read the log of {pod}",
                namespace=namespace,
            )
        except DataOpsError:
            return ""
        return str(text or "").strip()

    def _wait_ready(
        self, spec: SandboxSpec, namespace: str, name: str, report: Report, has_data: bool
    ) -> str:
        """Follow the pod until its kernel host answers (the steps from "pod" on); its IP."""
        settings = self.settings
        deadline = time.monotonic() + settings.sandbox_start_timeout
        pull_failing_since: float | None = None
        said: dict[str, str] = {}
        has_env = bool(spec.profile.packages or spec.profile.tools)

        def step(name_: str, status: str, detail: str | None) -> None:
            if said.get(name_) != f"{status}:{detail}":
                said[name_] = f"{status}:{detail}"
                report(name_, status, detail)

        while True:
            pod = self._read("Pod", namespace, name)
            if pod is None:
                raise Conflict(
                    f"The sandbox's pod {namespace}/{name} was deleted while it started.",
                    hint="Start the sandbox again.",
                )
            status = pod.get("status") or {}
            scheduled = next(
                (c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"),
                None,
            )
            if scheduled and scheduled.get("status") == "True":
                node = (pod.get("spec") or {}).get("nodeName")
                step("pod", "done", f"{namespace}/{name}" + (f" on node {node}" if node else ""))
            else:
                from .executor import _pending_reason

                step("pod", "running", _pending_reason(pod))
            for container in (
                *(status.get("initContainerStatuses") or []),
                *(status.get("containerStatuses") or []),
            ):
                waiting = (container.get("state") or {}).get("waiting") or {}
                if waiting.get("reason") in PULL_FAILURES:
                    pull_failing_since = pull_failing_since or time.monotonic()
                    if time.monotonic() - pull_failing_since > settings.image_pull_timeout:
                        raise BackendUnavailable(
                            f"The sandbox's image {container.get('image')} cannot be pulled "
                            f"({waiting.get('reason')}): {waiting.get('message', '')}".rstrip(": "),
                            hint="Check the image's name and c.Kubernetes.image_pull_secrets.",
                        )
                    step(
                        "pod",
                        "running",
                        f"the image {container.get('image')} cannot be "
                        f"pulled yet ({waiting.get('reason')})",
                    )
                    break
            else:
                pull_failing_since = None
            for init in status.get("initContainerStatuses") or []:
                step_name = "data" if init.get("name") == "data" else "environment"
                state = init.get("state") or {}
                if "running" in state:
                    tail = self._log_tail(namespace, name, init["name"], lines=1)
                    step(step_name, "running", tail or None)
                elif "terminated" in state:
                    code = state["terminated"].get("exitCode", 1)
                    tail = self._log_tail(namespace, name, init["name"])
                    if code != 0:
                        raise InvalidInput(
                            f"Preparing the sandbox's {step_name} failed in its pod "
                            f"(exit code {code}):\n{tail}",
                            hint="The log above names the problem; fix the profile or the data, "
                            "then start again.",
                        )
                    step(step_name, "done", tail.splitlines()[-1] if tail else None)
            if not has_data:
                step("data", "skipped", "none asked")
            if not has_env:
                step("environment", "skipped", "none asked")
            phase = status.get("phase")
            if phase in ("Failed", "Succeeded"):
                tail = self._log_tail(namespace, name, so.AGENT_CONTAINER)
                raise BackendUnavailable(
                    f"The sandbox's pod ended ({phase}) before its kernel host was ready: "
                    f"{status.get('reason') or ''} {status.get('message') or ''}".strip()
                    + (f"\n{tail}" if tail else ""),
                    hint="The pod's log above names the problem.",
                )
            address = status.get("podIP")
            if phase == "Running" and address:
                step("kernel host", "running", f"{address}:{settings.sandbox_port}")
                try:
                    call(
                        {"host": address, "port": settings.sandbox_port, "token": ""},
                        "GET",
                        "/health",
                        timeout=5,
                    )
                except HostError:
                    pass
                else:
                    step("kernel host", "done", f"{address}:{settings.sandbox_port}")
                    return str(address)
            if time.monotonic() > deadline:
                waiting_for = next(
                    (s for s in self.steps if said.get(s, "").startswith("running")), "pod"
                )
                raise BackendUnavailable(
                    f"The sandbox did not become ready within "
                    f"{settings.sandbox_start_timeout:g} s (still at: {waiting_for}"
                    + (f", {said[waiting_for].split(':', 1)[1]}" if said.get(waiting_for) else "")
                    + ").",
                    hint="Raise c.Kubernetes.sandbox_start_timeout, or ask for fewer resources.",
                )
            time.sleep(0.5)

    # -- kernels and usage --------------------------------------------------------------------
    def _launch(self, sandbox_id: str) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.launch_file(sandbox_id).read_text()))
        except (OSError, ValueError):
            return None

    def sample(self, sandbox_id: str) -> Sample:
        launch = self._launch(sandbox_id)
        if launch is None:
            return self._samples.get(sandbox_id, Sample(kernels=[]))
        return self._sample(launch, sandbox_id)

    def exists(self, sandbox_id: str) -> bool:
        launch = self._launch(sandbox_id)
        if launch is None or not (self.spec_dir(sandbox_id) / "kernel.json").is_file():
            return False
        try:
            pod = self._read("Pod", launch["namespace"], launch["pod"])
        except DataOpsError as exc:  # the API server blinked: not known to be gone
            self.log.debug("sandbox %s: cannot read its pod: %s", sandbox_id, exc)
            return True
        return pod is not None and (pod.get("status") or {}).get("phase") not in (
            "Failed",
            "Succeeded",
        )

    def stop(self, sandbox_id: str, *, timeout: float = 10.0) -> Sample:
        launch = self._launch(sandbox_id)
        self.remove_files(sandbox_id)  # out of the picker first: no new kernel
        if launch is None:  # stopped already (a second stop): its kernels ended with it
            with self._lock:
                cached = self._samples.pop(sandbox_id, Sample(kernels=[]))
            now = time.time()
            return dataclasses.replace(
                cached,
                kernels=[
                    k.model_copy(update={"ended_at": k.ended_at or now}) for k in cached.kernels
                ],
                memory_bytes=0,
            )
        sample = self._sample(launch, sandbox_id)
        stopped: dict[str, KernelRecord] = {}
        for kernel in sample.kernels:
            if kernel.ended_at is None:
                try:
                    view = call(launch, "DELETE", f"/kernels/{kernel.id}", timeout=timeout + 5)
                    stopped[kernel.id] = _record(view)
                except HostError as exc:
                    self.log.warning(
                        "sandbox %s: cannot stop kernel %s: %s", sandbox_id, kernel.id, exc
                    )
        namespace, name = launch["namespace"], launch["pod"]
        self._delete_objects(namespace, [("Secret", name), ("ConfigMap", name), ("Pod", name)])
        now = time.time()
        kernels = [
            k.model_copy(update={"ended_at": k.ended_at or now})
            if k.id not in stopped
            else stopped[k.id].model_copy(update={"exit": None})
            for k in sample.kernels
        ]
        with self._lock:
            self._samples.pop(sandbox_id, None)
        return Sample(
            kernels=kernels,
            cpu_seconds=sample.cpu_seconds,
            memory_bytes=0,
            peak_memory_bytes=sample.peak_memory_bytes,
        )

    def _sample(self, launch: dict[str, Any], sandbox_id: str) -> Sample:
        """What the kernel host says of its kernels and the pod's usage (the last known sample
        when it cannot be reached)."""
        try:
            views = call(launch, "GET", "/kernels", timeout=10)
            usage = call(launch, "GET", "/usage", timeout=10)
        except HostError as exc:
            self.log.debug("sandbox %s: cannot sample: %s", sandbox_id, exc)
            return self._samples.get(sandbox_id, Sample(kernels=[]))
        sample = Sample(
            kernels=[_record(view) for view in views],
            cpu_seconds=float(usage.get("cpu_seconds") or 0.0),
            memory_bytes=int(usage.get("memory_bytes") or 0),
            peak_memory_bytes=int(usage.get("peak_memory_bytes") or 0),
            active_at=usage.get("active_at"),
        )
        with self._lock:
            self._samples[sandbox_id] = sample
        return sample

    def close(self) -> None:
        self.cluster.close()


def _record(view: dict[str, Any]) -> KernelRecord:
    return KernelRecord(
        id=str(view["id"]),
        pid=view.get("pid"),
        started_at=float(view.get("started_at") or 0.0),
        ended_at=view.get("ended_at"),
        exit=None if view.get("stopped") else view.get("exit"),
        oom=bool(view.get("oom")),
    )


def _dvc_out(root: Path, source: str) -> dict[str, str]:
    """A DVC-tracked path's output (its path and md5) from its ``.dvc`` file or dvc.lock."""
    import yaml

    relative = os.path.normpath(source)
    if relative.startswith("..") or os.path.isabs(relative):
        raise InvalidInput(
            f"The DVC path {source!r} leaves the project.", hint="Name a path inside the project."
        )
    candidates = [root / f"{relative}.dvc"]
    for path in candidates:
        if path.is_file():
            outs = (yaml.safe_load(path.read_text()) or {}).get("outs") or []
            for out in outs:
                if out.get("md5"):
                    return {"path": relative, "hash": str(out["md5"])}
    lock = root / "dvc.lock"
    if lock.is_file():
        stages = (yaml.safe_load(lock.read_text()) or {}).get("stages") or {}
        for stage in stages.values():
            for out in stage.get("outs") or []:
                if os.path.normpath(str(out.get("path"))) == relative and out.get("md5"):
                    return {"path": relative, "hash": str(out["md5"])}
    raise InvalidInput(
        f"{source!r} is not tracked by DVC in this project (no {relative}.dvc, nor an output "
        "of dvc.lock).",
        hint=f"dvc add {relative} && dvc push, or fix the profile's data.",
    )
