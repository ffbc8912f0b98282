"""Jobs as Kubernetes Jobs: ``c.DataOps.job_executor_class = "kubernetes"``.

Each attempt of a job is one Kubernetes Job (``backoffLimit: 0``; the core owns retries and time
limits) whose pod runs :mod:`.pod_runner`. The staged notebook and a request (parameters, kernel,
keys) reach the pod through the job file store, and the executed notebook and the result come
back the same way. The executor, in the worker:

- creates the Job with strict field validation and reports it pending, with the scheduler's
  reason while the pod waits for a node ("0/3 nodes are available: 3 Insufficient
  nvidia.com/gpu"), the quota's refusal while the Job cannot make its pod, or the registry's
  message while the image cannot be pulled (failed after ``c.Kubernetes.image_pull_timeout``);
- watches Jobs and pods of each namespace it uses (re-listing after a 410), follows the pod's log
  into the job's log (progress lines become progress), and reports the end: the notebook's result,
  an out-of-memory kill, a passed deadline, or a Job deleted behind its back;
- sizes the pod of a job queued with a sandbox profile (``dataops run --profile gpu --on
  kubernetes``) like the profile, instead of ``c.Kubernetes.job_resources``: its CPUs and memory
  (requested as much as limited), its GPUs (limits of ``c.Kubernetes.gpu_resource``, on the nodes
  of its GPU type in ``c.Kubernetes.gpu_types``), its image (else ``c.Kubernetes.job_image``),
  node selector, tolerations and affinity, as a sandbox pod of the profile would be; the server
  checked the profile against the policy when the job was queued (``sizes_by_profile``);
- stops an execution by deleting its Job (and so its pod);
- keeps executions running when the worker stops (``detached``): the next worker lists the
  cluster and re-attaches to them (``recover``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

from ...core.errors import BackendUnavailable, Conflict, DataOpsError, InvalidInput, NotFound
from ...core.identity import ENV_SERVER_ONLY
from ...core.jobs.executor import (
    ExecutionRequest,
    ExecutionUpdate,
    Executor,
    Report,
    StopReason,
)
from ...core.jobs.models import ExecutorCapabilities, JobError, JobProfile
from ...core.sandboxes.quantities import format_memory, parse_memory
from . import objects
from . import sandbox_objects as so
from .client import Cluster, WatchExpired, require_kubernetes, translate
from .names import execution_name, label_value, namespace_for
from .pod_runner import PROGRESS
from .reachability import require_reachable
from .settings import Kubernetes, pod_server_url

if TYPE_CHECKING:
    from ...core.sandboxes.models import Policy, Profile, Resources

log = logging.getLogger(__name__)

#: How often pending executions are looked at (events of a Job that has no pod yet) and logs
#: are written to the store while they grow.
POLL_SECONDS = 1.0
#: Seconds without a pod before a Job's events are read for why (a quota, a bad template).
NO_POD_GRACE = 2.0
#: Seconds between two reads of the events of a Job that has no pod.
EVENTS_EVERY = 5.0


@dataclasses.dataclass
class _Execution:
    execution_id: str
    namespace: str
    job_name: str
    files_key: str
    attempt: int
    log_offset: int
    created: float  #: monotonic
    pod_name: str | None = None
    pod: dict[str, Any] | None = None
    job: dict[str, Any] | None = None
    stop_reason: StopReason | None = None
    ended: bool = False
    #: Its Job exists (created, or found after a restart): a list without it means it is gone.
    exists: bool = False
    finishing: bool = False
    running_reported: bool = False
    pending_reason: str | None = None
    pull_failing_since: float | None = None
    events_read: float = 0.0  #: monotonic: when the Job's events were last read
    log_thread: threading.Thread | None = None
    #: Whether someone reads the pod's log (the pods' watch, or the end of the Job): once only.
    log_claimed: bool = False
    log_text: bytearray = dataclasses.field(default_factory=bytearray)
    log_done: threading.Event = dataclasses.field(default_factory=threading.Event)
    log_written: int = -1
    #: Lines of the pod's log in the job's log; after a restart, how many to skip when the pod's
    #: log is read again from its start (they are in the job's log already).
    pod_lines: int = 0
    skip_pod_lines: int = 0
    cells_completed: int = 0
    #: The sandbox profile its pod is sized by ("": c.Kubernetes.job_resources)
    profile: str = ""

    @property
    def log_key(self) -> str:
        return f"{self.files_key}/job.log"

    @property
    def result_key(self) -> str:
        return f"{self.files_key}/k8s/attempt-{self.attempt}/result.json"

    @property
    def log_state_key(self) -> str:
        return f"{self.files_key}/k8s/attempt-{self.attempt}/log-state.json"

    @property
    def request_key(self) -> str:
        return f"{self.files_key}/k8s/attempt-{self.attempt}/request.json"


class KubernetesExecutor(Executor):
    """Runs each job attempt as a Kubernetes Job (see the module's documentation)."""

    name: ClassVar[str] = "kubernetes"
    detached: ClassVar[bool] = True
    sizes_by_profile: ClassVar[bool] = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = Kubernetes(parent=self.dataops if self.dataops is not None else self)
        self.cluster = Cluster(self.settings)
        self._report: Report | None = None
        self._lock = threading.RLock()
        self._executions: dict[str, _Execution] = {}
        self._watched: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._closed = threading.Event()
        self._files: Any = None

    def config_objects(self) -> list[Any]:
        """Configurables the worker process needs besides the executor's own traits."""
        return [self.settings]

    def capabilities(self) -> ExecutorCapabilities:
        return ExecutorCapabilities(
            name=self.name,
            gpus=True,
            max_concurrent_jobs=self.settings.max_concurrent_jobs,
            profiles=self.sizes_by_profile,
        )

    # -- at submit ----------------------------------------------------------------------------
    def check(self, *, kernel_name: str, notebook_path: str) -> None:
        require_kubernetes()
        self._check_settings()
        if kernel_name not in self.settings.job_kernels:
            raise InvalidInput(
                f"Jobs on the cluster run in the image {self._image()}, which has the kernels "
                f"{', '.join(self.settings.job_kernels)}, not {kernel_name!r}.",
                hint="Choose one of those kernels, or add the kernel to the image and to "
                "c.Kubernetes.job_kernels.",
            )

    def _check_settings(self) -> None:
        if not self.settings.job_image:
            raise BackendUnavailable(
                "Jobs on the cluster need an image: c.Kubernetes.job_image is not set.",
                hint='c.Kubernetes.job_image = "registry.example.com/ml/dataops-runner:1.4" '
                "(Python with jupyter-dataops, papermill, ipykernel and the file store's driver)",
            )
        require_reachable(self.dataops, self.settings, backend="job executor")
        self._resources()

    def profile_policy(self) -> Policy:
        """The policy as it bounds a cluster sandbox of a profile (its open ranges closed by
        c.Kubernetes.sandbox_max_resources, the largest pod a node holds): a job's pod sized by
        a profile is held to what a sandbox pod of it would be."""
        from ..sandboxes import sandbox_policy
        from .sandboxes import KubernetesSandboxProvider

        return sandbox_policy(self.dataops, KubernetesSandboxProvider)

    def check_profile(self, profile: Profile, resources: Resources) -> None:
        try:
            so.gpu_node_selector(resources, self.settings.gpu_types)
        except InvalidInput as exc:
            raise InvalidInput(
                f"The profile {profile.name!r} cannot size jobs on {self.name}: {exc.message}",
                hint=exc.hint,
                profile=profile.name,
            ) from None

    def _image(self) -> str:
        return self.settings.image(self.settings.job_image)

    def _resources(self) -> objects.Resources:
        return objects.Resources.parse(
            self.settings.job_resources,
            gpu_resource=self.settings.gpu_resource,
            setting="c.Kubernetes.job_resources",
        )

    def _namespace(self, user: str) -> str:
        team = None
        if "{team}" in self.settings.namespace:
            teams = (getattr(self.dataops, "sandbox_policy", None) or {}).get("teams", {})
            team = next((t for t, users in sorted(teams.items()) if user in users), None)
        return namespace_for(self.settings.namespace, user=user or "unknown", team=team)

    # -- in the worker ------------------------------------------------------------------------
    def open(self, report: Report) -> None:
        from ..files import FsspecFileStore

        self._report = report
        self._files = FsspecFileStore(self.dataops.job_files_url) if self.dataops else None
        self._spawn(self._poll, "dataops-k8s-poll")

    def _spawn(self, target: Any, name: str, *args: Any) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        return thread

    def _send(self, update: ExecutionUpdate) -> None:
        if self._report is not None:
            self._report(update)

    def start(self, request: ExecutionRequest) -> None:
        self._check_settings()
        files = self._files
        namespace = self._namespace(request.user)
        name = execution_name(request.execution_id)
        log_key = request.keys.get("log", f"{request.files_key}/job.log")
        sizing = self.profile_of(request, files)
        execution = _Execution(
            execution_id=request.execution_id,
            namespace=namespace,
            job_name=name,
            files_key=request.files_key,
            attempt=request.attempt,
            log_offset=files.size(log_key) or 0,
            created=time.monotonic(),
            profile=sizing.name if sizing is not None else "",
        )
        if execution.log_offset:
            execution.log_text += files.read_bytes(log_key)
        try:
            size = self._size(sizing)
        except DataOpsError as exc:  # the operator changed c.Kubernetes since it was queued
            self._write_log(execution, f"attempt {request.attempt}: {exc}")
            raise
        if sizing is not None:
            image = self.settings.image(size.image)
            for line in _sizing_lines(sizing, size, self.settings.gpu_resource, image):
                self._write_log(execution, line)
        with contextlib.suppress(FileNotFoundError):
            files.delete_tree(f"{request.files_key}/k8s/attempt-{request.attempt}")
        # The kernel's identity (a token bound to this job) goes through the file store, not
        # the Job's environment, which anyone who may read Jobs in the namespace can see.
        # The server's own URL is its loopback: pods reach it at c.Kubernetes.server_url, or
        # not at all (then the kernel gets no token either).
        kernel_env = dict(request.env)
        if "DATAOPS_SERVER_URL" in kernel_env:
            if self.settings.server_url:
                kernel_env["DATAOPS_SERVER_URL"] = pod_server_url(
                    self.settings.server_url, kernel_env["DATAOPS_SERVER_URL"]
                )
            else:
                for key in ("DATAOPS_SERVER_URL", "DATAOPS_TOKEN", "DATAOPS_SERVER_CERT"):
                    kernel_env.pop(key, None)
        files.write_bytes(
            execution.request_key,
            json.dumps(
                {
                    "env": kernel_env,
                    "execution_id": request.execution_id,
                    "attempt": request.attempt,
                    "notebook_path": request.notebook_path,
                    "kernel_name": request.kernel_name,
                    "parameters": request.parameters,
                    "input_key": request.keys["input"],
                    "output_key": request.keys["output"],
                    "result_key": execution.result_key,
                }
            ).encode(),
        )
        env = {
            "DATAOPS_FILES_URL": self.dataops.job_files_url,
            "DATAOPS_REQUEST": execution.request_key,
            ENV_SERVER_ONLY: "1",  # %dataops in the job's kernel: through the server or not
        }
        body = objects.job_object(
            objects.JobExecution(
                execution_id=request.execution_id,
                job_id=request.job_id,
                attempt=request.attempt,
                user=request.user,
                notebook_path=request.notebook_path,
                namespace=namespace,
                env=env,
                resources=size.resources,
                timeout_seconds=request.timeout_seconds,
                deadline_margin=self.settings.job_deadline_margin,
                ttl_seconds=self.settings.job_ttl_seconds,
                log_offset=execution.log_offset,
                files_key=request.files_key,
                profile=execution.profile,
                node_selector=size.node_selector,
                tolerations=size.tolerations,
                affinity=size.affinity,
            ),
            self._pod_settings(size.image),
        )
        # The sandbox policy as the namespace's ResourceQuota and LimitRange, before its first
        # Job (see quotas.py); a refusal fails the attempt as a refused Job would.
        from .quotas import ensure_for

        try:
            for line in ensure_for(
                self.cluster,
                self.settings,
                self.dataops,
                namespace=namespace,
                user=request.user or "unknown",
            ):
                self._write_log(execution, line)
        except DataOpsError as exc:
            self._write_log(execution, f"attempt {request.attempt}: {exc}")
            raise
        with self._lock:
            self._executions[request.execution_id] = execution
        try:
            self.cluster.call(
                self.cluster.batch().create_namespaced_job,
                namespace,
                body,
                field_validation="Strict",
                action=f"create Job {name}",
                namespace=namespace,
            )
        except Conflict:
            # A Job of that name: this attempt's own (created before a crash) is adopted.
            job = self._read_job(namespace, name)
            annotations = (job or {}).get("metadata", {}).get("annotations", {})
            if annotations.get(objects.EXECUTION) != request.execution_id:
                with self._lock:
                    self._executions.pop(request.execution_id, None)
                raise
        except DataOpsError as exc:
            with self._lock:
                self._executions.pop(request.execution_id, None)
            self._write_log(execution, f"attempt {request.attempt}: {exc}")
            raise
        execution.exists = True
        self._write_log(execution, f"created Job {name} in namespace {namespace}")
        self._watch(namespace)
        self._pending(execution, "waiting for the cluster to schedule the job's pod")

    def _size(self, sizing: JobProfile | None) -> _Size:
        """A job pod's resources, placement and image: c.Kubernetes.job_resources and
        job_image, or the profile it was queued with (as a sandbox pod of it is sized)."""
        if sizing is None:
            return _Size(resources=self._resources(), image=self.settings.job_image)
        return _Size(
            resources=so.profile_resources(sizing.resources, self.settings.gpu_resource),
            image=sizing.image or self.settings.job_image,
            node_selector={
                **sizing.node_selector,
                **so.gpu_node_selector(sizing.resources, self.settings.gpu_types),
            },
            tolerations=tuple(sizing.tolerations),
            affinity=dict(sizing.affinity),
        )

    def _pod_settings(self, image: str | None = None) -> objects.PodSettings:
        files_volume = None
        if self.settings.files_volume:  # mounted where the worker's store has its root
            files_volume = (self.settings.files_volume, self._files.root)
        return self.settings.pod_settings(
            image or self.settings.job_image, files_volume=files_volume
        )

    def stop(self, execution_id: str, reason: StopReason) -> None:
        with self._lock:
            execution = self._executions.get(execution_id)
        if execution is None or execution.ended:
            return
        execution.stop_reason = reason
        self._write_log(execution, f"stopping ({reason}): deleting Job {execution.job_name}")
        try:
            self._delete_job(execution)
        except NotFound:
            pass
        except DataOpsError as exc:
            self._write_log(execution, f"could not delete Job {execution.job_name}: {exc}")
            raise
        self._end(execution, ExecutionUpdate(execution_id, "exited", outcome="stopped"))

    def _delete_job(self, execution: _Execution) -> None:
        from kubernetes import client

        self.cluster.call(
            self.cluster.batch().delete_namespaced_job,
            execution.job_name,
            execution.namespace,
            body=client.V1DeleteOptions(propagation_policy="Background"),
            _preload_content=False,
            action=f"delete Job {execution.job_name}",
            namespace=execution.namespace,
        )

    def recover(self, execution_ids: set[str]) -> set[str]:
        """List this product's job Jobs on the cluster and re-attach to those asked for."""
        if "{" in self.settings.namespace:
            listed = self.cluster.call(
                self.cluster.batch().list_job_for_all_namespaces,
                label_selector=objects.selector("job"),
                action="list Jobs in all namespaces",
            )
        else:
            listed = self.cluster.call(
                self.cluster.batch().list_namespaced_job,
                self.settings.namespace,
                label_selector=objects.selector("job"),
                action="list Jobs",
                namespace=self.settings.namespace,
            )
        found: set[str] = set()
        for item in listed.items:
            job = self.cluster.api_client.sanitize_for_serialization(item)
            meta = job.get("metadata", {})
            annotations = meta.get("annotations") or {}
            eid = annotations.get(objects.EXECUTION)
            if eid not in execution_ids or eid in self._executions:
                continue
            execution = _Execution(
                execution_id=eid,
                namespace=meta["namespace"],
                job_name=meta["name"],
                files_key=annotations.get(objects.FILES_KEY, ""),
                attempt=int((meta.get("labels") or {}).get(objects.ATTEMPT, "1")),
                log_offset=int(annotations.get(objects.LOG_OFFSET, "0") or 0),
                created=time.monotonic(),
                profile=(meta.get("labels") or {}).get(objects.PROFILE, ""),
            )
            # The job's log as the last worker left it, and how much of the pod's log is in it.
            with contextlib.suppress(FileNotFoundError):
                execution.log_text += self._files.read_bytes(execution.log_key)
            with contextlib.suppress(FileNotFoundError, ValueError):
                state = json.loads(self._files.read_bytes(execution.log_state_key))
                execution.skip_pod_lines = int(state.get("pod_lines", 0))
                execution.pod_lines = execution.skip_pod_lines  # in the log already
            execution.exists = True
            with self._lock:
                self._executions[eid] = execution
            self._write_log(execution, "re-attached after the worker restarted")
            self._watch(execution.namespace)
            found.add(eid)
        return found

    def ended(self, request: ExecutionRequest) -> ExecutionUpdate | None:
        """A Job gone from the cluster (its TTL passed while no worker ran) that wrote its
        result: the result says how it ended."""
        if self._files is None:
            return None
        key = f"{request.files_key}/k8s/attempt-{request.attempt}/result.json"
        try:
            result = json.loads(self._files.read_bytes(key))
        except (FileNotFoundError, ValueError):
            return None
        eid = request.execution_id
        if result.get("outcome") == "succeeded":
            update = ExecutionUpdate(
                eid, "exited", outcome="succeeded", cells_completed=result.get("cells_completed")
            )
        elif result.get("error"):
            update = ExecutionUpdate(
                eid, "exited", outcome="failed", error=_result_error(result["error"])
            )
        else:
            return None
        # Say so in the job's log, which no worker followed to the end.
        log_key = request.keys.get("log", f"{request.files_key}/job.log")
        with contextlib.suppress(OSError):
            try:
                text = self._files.read_bytes(log_key)
            except FileNotFoundError:
                text = b""
            line = (
                f"[{time.strftime('%H:%M:%S')}] attempt {request.attempt} ended while no worker "
                f"watched it ({update.outcome}, as its pod's result says)\n"
            )
            self._files.write_bytes(log_key, text + line.encode())
        return update

    def close(self) -> None:
        """Stop watching; the Jobs run on (see ``detached``)."""
        self._closed.set()
        with self._lock:
            threads = list(self._threads)
        # Watches and log streams end at their next event or timeout; they are daemon threads,
        # so a worker that exits does not wait for them.
        deadline = time.monotonic() + 2.0
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._threads.clear()
        with self._lock:
            for execution in self._executions.values():
                self._flush_log(execution)
            self._executions.clear()
            self._watched.clear()
        self.cluster.close()

    # -- watching -----------------------------------------------------------------------------
    def _watch(self, namespace: str) -> None:
        with self._lock:
            if namespace in self._watched:
                return
            self._watched.add(namespace)
        for kind in ("jobs", "pods"):
            self._spawn(self._watch_loop, f"dataops-k8s-watch-{kind}-{namespace}", namespace, kind)

    def _watch_loop(self, namespace: str, kind: str) -> None:
        """List, then watch from the list's resourceVersion; list again after a 410 or an
        error (with a growing pause, reported to the namespace's pending executions)."""
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        api = self.cluster.batch() if kind == "jobs" else self.cluster.core()
        list_fn = api.list_namespaced_job if kind == "jobs" else api.list_namespaced_pod
        pause = 0.5
        while not self._closed.is_set():
            try:
                with self._lock:
                    expected = [
                        e
                        for e in self._executions.values()
                        if e.namespace == namespace and e.exists
                    ]
                listed = self.cluster.call(
                    list_fn,
                    namespace,
                    label_selector=objects.selector("job"),
                    action=f"list {kind}",
                    namespace=namespace,
                )
                present = set()
                for item in listed.items:
                    obj = self.cluster.api_client.sanitize_for_serialization(item)
                    present.add((obj["metadata"].get("annotations") or {}).get(objects.EXECUTION))
                    self._seen(kind, "ADDED", obj)
                if kind == "jobs":
                    # Deleted while nobody watched (before the first watch, or between two).
                    for execution in expected:
                        if execution.execution_id not in present:
                            self._seen(kind, "DELETED", _stub(execution))
                version = listed.metadata.resource_version
                stream = watch.Watch()
                for event in stream.stream(
                    list_fn,
                    namespace,
                    label_selector=objects.selector("job"),
                    resource_version=version,
                    timeout_seconds=30,
                    _request_timeout=60,
                ):
                    if self._closed.is_set():
                        stream.stop()
                        break
                    raw = event.get(
                        "raw_object"
                    ) or self.cluster.api_client.sanitize_for_serialization(event["object"])
                    self._seen(kind, event["type"], raw)
                pause = 0.5
            except WatchExpired:
                continue  # list again
            except ApiException as exc:
                if exc.status == 410:
                    continue
                self._watch_failed(
                    namespace, translate(exc, action=f"watch {kind}", namespace=namespace)
                )
            except DataOpsError as exc:
                self._watch_failed(namespace, exc)
            except (HTTPError, OSError, ValueError) as exc:
                self._watch_failed(namespace, exc)
            if self._closed.wait(pause):
                return
            pause = min(pause * 2, 30.0)

    def _watch_failed(self, namespace: str, exc: Exception) -> None:
        log.warning("watching namespace %s: %s", namespace, exc)
        with self._lock:
            waiting = [e for e in self._executions.values() if e.namespace == namespace]
        for execution in waiting:
            if not execution.ended:
                self._pending(execution, f"cannot watch the cluster: {exc}")

    def _find(self, obj: dict[str, Any]) -> _Execution | None:
        meta = obj.get("metadata") or {}
        eid = (meta.get("annotations") or {}).get(objects.EXECUTION)
        with self._lock:
            execution = self._executions.get(eid) if eid else None
        if execution is None or execution.namespace != meta.get("namespace"):
            return None
        return execution

    def _seen(self, kind: str, event: str, obj: dict[str, Any]) -> None:
        execution = self._find(obj)
        if execution is None or execution.ended:
            return
        if kind == "pods":
            if event != "DELETED":
                execution.pod_name = obj["metadata"]["name"]
                execution.pod = obj
                self._pod_changed(execution)
            return
        if event == "DELETED":
            if execution.stop_reason is None:
                self._end(
                    execution,
                    ExecutionUpdate(
                        execution.execution_id,
                        "exited",
                        outcome="lost",
                        error=JobError(
                            ename="ExecutionLost",
                            evalue=f"The Job {execution.job_name} was deleted on the cluster "
                            "before it ended.",
                        ),
                    ),
                )
            return
        execution.job = obj
        conditions = {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or []}
        for kind_ in ("Complete", "SuccessCriteriaMet", "Failed", "FailureTarget"):
            condition = conditions.get(kind_)
            if condition and condition.get("status") == "True" and not execution.finishing:
                # Its log may still be coming: wait for it in a thread of its own, so the
                # namespace's other Jobs are still watched meanwhile.
                execution.finishing = True
                self._spawn(
                    self._finish, f"dataops-k8s-end-{execution.job_name}", execution, condition
                )
                return

    # -- what a pod says ----------------------------------------------------------------------
    def _pod_changed(self, execution: _Execution) -> None:
        pod = execution.pod or {}
        status = pod.get("status") or {}
        phase = status.get("phase")
        waiting = _container_state(pod, "waiting")
        waiting_reason = (waiting or {}).get("reason")
        pulling_fails = waiting_reason in ("ErrImagePull", "ImagePullBackOff")
        if not pulling_fails:
            execution.pull_failing_since = None  # a pull that failed once may work the next time
        if phase == "Pending":
            reason = _pending_reason(pod)
            if pulling_fails:
                execution.pull_failing_since = execution.pull_failing_since or time.monotonic()
            elif waiting_reason == "InvalidImageName":
                self._fail_now(execution, "ImagePullError", reason)
                return
            self._pending(execution, reason)
            return
        if phase in ("Running", "Succeeded", "Failed"):
            if not execution.running_reported:
                execution.running_reported = True
                execution.pending_reason = None
                self._send(ExecutionUpdate(execution.execution_id, "running"))
            if self._claim_log(execution):
                execution.log_thread = self._spawn(
                    self._follow_log, f"dataops-k8s-log-{execution.job_name}", execution
                )

    def _pending(self, execution: _Execution, reason: str) -> None:
        if reason == execution.pending_reason or execution.ended:
            return
        execution.pending_reason = reason
        self._write_log(execution, f"pending: {reason}")
        self._send(ExecutionUpdate(execution.execution_id, "pending", reason=reason))

    def _poll(self) -> None:
        """Every second: pending Jobs without a pod (why: the Job's events), image pulls that
        keep failing, and logs to write out."""
        while not self._closed.wait(POLL_SECONDS):
            with self._lock:
                executions = [e for e in self._executions.values() if not e.ended]
            now = time.monotonic()
            for execution in executions:
                try:
                    if (
                        execution.pod is None
                        and now - execution.created > NO_POD_GRACE
                        and now - execution.events_read > EVENTS_EVERY
                    ):
                        execution.events_read = now
                        reason = self._job_event_reason(execution)
                        if reason:
                            self._pending(execution, reason)
                    since = execution.pull_failing_since
                    if since is not None and now - since > self.settings.image_pull_timeout:
                        self._fail_now(
                            execution, "ImagePullError", _pending_reason(execution.pod or {})
                        )
                    self._flush_log(execution)
                except Exception:  # one execution's trouble never stops the others'
                    log.exception("looking at execution %s", execution.execution_id)

    def _job_event_reason(self, execution: _Execution) -> str | None:
        try:
            events = self.cluster.call(
                self.cluster.core().list_namespaced_event,
                execution.namespace,
                field_selector=f"involvedObject.name={execution.job_name}",
                action="list events",
                namespace=execution.namespace,
            )
        except DataOpsError:
            return None
        warnings = [e for e in events.items if (e.type or "") == "Warning"]
        if not warnings:
            return None
        message = warnings[-1].message or warnings[-1].reason or ""
        if "exceeded quota" in message or "failed quota" in message:
            return f"the namespace's quota refuses the job's pod: {message}"
        return f"the cluster cannot create the job's pod ({warnings[-1].reason}): {message}"

    def _fail_now(self, execution: _Execution, ename: str, message: str) -> None:
        """End an execution the cluster cannot run (its Job is deleted)."""
        execution.stop_reason = execution.stop_reason or "cancel"
        with contextlib.suppress(DataOpsError):
            self._delete_job(execution)
        self._end(
            execution,
            ExecutionUpdate(
                execution.execution_id,
                "exited",
                outcome="failed",
                error=JobError(ename=ename, evalue=message[0].upper() + message[1:]),
            ),
        )

    # -- the end ------------------------------------------------------------------------------
    def _finish(self, execution: _Execution, condition: dict[str, Any]) -> None:
        """The Job ended: wait (bounded) for its log, read its result, report."""
        if execution.pod_name is None:
            # The Jobs' watch told the end before the pods' watch told of its pod (a worker that
            # re-attached after the pod ended, say): find it, so its log is not lost.
            found = self._read_pod(execution)
            if found is not None:
                execution.pod_name = found["metadata"]["name"]
                execution.pod = execution.pod or found
        if execution.pod_name and self._claim_log(execution):
            self._follow_log(execution)  # a pod that ended before the watch saw it run
        elif execution.log_claimed:
            execution.log_done.wait(timeout=15)
        result = self._result(execution)
        eid = execution.execution_id
        if _container_state(execution.pod or {}, "terminated") is None:
            # The Job's end came before its pod's: read the pod (how its container ended).
            execution.pod = self._read_pod(execution) or execution.pod
        terminated = _container_state(execution.pod or {}, "terminated") or {}
        if result.get("outcome") == "succeeded" and condition.get("type") in (
            "Complete",
            "SuccessCriteriaMet",
        ):
            update = ExecutionUpdate(
                eid, "exited", outcome="succeeded", cells_completed=result.get("cells_completed")
            )
        elif terminated.get("reason") == "OOMKilled":
            limit = execution.pod and _memory_limit(execution.pod)
            more = (
                f"Run it with a profile that has more memory than {execution.profile}."
                if execution.profile
                else "Ask for more memory in c.Kubernetes.job_resources."
            )
            update = _failed(
                eid,
                "OOMKilled",
                "The job's pod ran out of memory"
                + (f" (its limit is {limit})" if limit else "")
                + f" and was killed (OOMKilled). {more}",
            )
        elif condition.get("reason") == "DeadlineExceeded":
            deadline = ((execution.job or {}).get("spec") or {}).get("activeDeadlineSeconds")
            update = _failed(
                eid,
                "DeadlineExceeded",
                f"The Job passed its deadline ({deadline} s, pending time included) and was "
                "stopped by the cluster.",
            )
        elif result.get("error"):
            update = ExecutionUpdate(
                eid, "exited", outcome="failed", error=_result_error(result["error"])
            )
        else:
            code = terminated.get("exitCode")
            why = terminated.get("message") or terminated.get("reason") or condition.get("message")
            update = _failed(
                eid,
                "PodFailed",
                f"The job's pod ended with exit code {code}"
                + (f": {why}" if why else "")
                + " before it wrote its result; the job's log has its output.",
            )
        self._end(execution, update)

    def _result(self, execution: _Execution) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self._files.read_bytes(execution.result_key))
        except (FileNotFoundError, ValueError):
            return {}
        return data

    def _end(self, execution: _Execution, update: ExecutionUpdate) -> None:
        with self._lock:
            if execution.ended:
                return
            execution.ended = True
            self._executions.pop(execution.execution_id, None)
        self._flush_log(execution)
        self._send(update)

    # -- logs ---------------------------------------------------------------------------------
    def _claim_log(self, execution: _Execution) -> bool:
        """Whether the caller is the one to read the pod's log (the first to ask)."""
        with self._lock:
            if execution.log_claimed:
                return False
            execution.log_claimed = True
            return True

    def _follow_log(self, execution: _Execution) -> None:
        """Append the pod's log to the job's log as it comes; progress lines are reported."""
        try:
            response = self.cluster.call(
                self.cluster.core().read_namespaced_pod_log,
                execution.pod_name,
                execution.namespace,
                container=objects.JOB_CONTAINER,
                follow=True,
                _preload_content=False,
                # A cell may print nothing for hours: no read timeout to speak of.
                _request_timeout=(self.settings.request_timeout, 7 * 24 * 3600.0),
                action=f"read the log of pod {execution.pod_name}",
                namespace=execution.namespace,
            )
            try:
                for line in _lines(response):
                    self._log_line(execution, line)
            finally:
                response.release_conn()
        except DataOpsError as exc:
            self._write_log(execution, f"could not read the pod's log: {exc}")
        except Exception as exc:  # a broken stream: what came is kept
            self._write_log(execution, f"the pod's log stream broke: {type(exc).__name__}: {exc}")
        finally:
            execution.log_done.set()
            self._flush_log(execution)

    def _log_line(self, execution: _Execution, line: str) -> None:
        with self._lock:
            if execution.skip_pod_lines > 0:
                execution.skip_pod_lines -= 1
                return
            execution.pod_lines += 1
        if line.startswith(PROGRESS):
            try:
                data = json.loads(line[len(PROGRESS) :])
            except ValueError:
                return
            execution.cells_completed = int(data.get("cells_completed") or 0)
            self._send(
                ExecutionUpdate(
                    execution.execution_id,
                    "progress",
                    cells_completed=execution.cells_completed,
                    current_cell=data.get("current_cell"),
                )
            )
            return
        with self._lock:
            execution.log_text += (line + "\n").encode("utf-8", errors="replace")

    def _write_log(self, execution: _Execution, line: str) -> None:
        with self._lock:
            execution.log_text += f"[{time.strftime('%H:%M:%S')}] {line}\n".encode()
        self._flush_log(execution)

    def _flush_log(self, execution: _Execution) -> None:
        """Write the job's log to the store when it grew (object stores have no append)."""
        if self._files is None:
            return
        with self._lock:
            if len(execution.log_text) == execution.log_written:
                return
            data = bytes(execution.log_text)
            execution.log_written = len(data)
            pod_lines = execution.pod_lines
        try:
            self._files.write_bytes(execution.log_key, data)
            self._files.write_bytes(
                execution.log_state_key, json.dumps({"pod_lines": pod_lines}).encode()
            )
        except OSError as exc:
            log.warning("could not write the log of %s: %s", execution.execution_id, exc)

    def _read_pod(self, execution: _Execution) -> dict[str, Any] | None:
        try:
            pods = self.cluster.call(
                self.cluster.core().list_namespaced_pod,
                execution.namespace,
                label_selector=f"{objects.EXECUTION}={label_value(execution.execution_id)}",
                action="list pods",
                namespace=execution.namespace,
            )
        except DataOpsError:
            return None
        if not pods.items:
            return None
        data: dict[str, Any] = self.cluster.api_client.sanitize_for_serialization(pods.items[-1])
        return data

    def _read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            job = self.cluster.call(
                self.cluster.batch().read_namespaced_job,
                name,
                namespace,
                action=f"read Job {name}",
                namespace=namespace,
            )
        except NotFound:
            return None
        data: dict[str, Any] = self.cluster.api_client.sanitize_for_serialization(job)
        return data


def _stub(execution: _Execution) -> dict[str, Any]:
    """What a deleted Job's event would carry, enough to find its execution."""
    return {
        "metadata": {
            "name": execution.job_name,
            "namespace": execution.namespace,
            "annotations": {objects.EXECUTION: execution.execution_id},
        }
    }


def _lines(response: Any) -> Any:
    """Lines of a streamed HTTP response, decoded."""
    pending = b""
    for chunk in response.stream(4096, decode_content=True):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", errors="replace")
    if pending:
        yield pending.decode("utf-8", errors="replace")


def _result_error(error: dict[str, Any]) -> JobError:
    """The error the pod's runner wrote in its result."""
    return JobError(
        cell_index=error.get("cell_index"),
        ename=str(error.get("ename") or "Error"),
        evalue=str(error.get("evalue") or ""),
        traceback=[str(t) for t in error.get("traceback") or []],
    )


def _failed(eid: str, ename: str, evalue: str) -> ExecutionUpdate:
    return ExecutionUpdate(
        eid, "exited", outcome="failed", error=JobError(ename=ename, evalue=evalue)
    )


def _container_state(pod: dict[str, Any], state: str) -> dict[str, Any] | None:
    for container in (pod.get("status") or {}).get("containerStatuses") or []:
        found = (container.get("state") or {}).get(state)
        if found:
            return dict(found)
    return None


def _pending_reason(pod: dict[str, Any]) -> str:
    """Why a pod waits, in words: the scheduler's message, or its container's."""
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            message = condition.get("message") or condition.get("reason") or "unschedulable"
            return f"waiting for a node: {message}"
    waiting = _container_state(pod, "waiting")
    if waiting:
        reason = waiting.get("reason") or "waiting"
        message = waiting.get("message") or ""
        if reason in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
            image = ((pod.get("spec") or {}).get("containers") or [{}])[0].get("image", "")
            return f"the image {image} cannot be pulled ({reason}): {message}".rstrip(": ")
        if reason == "ContainerCreating":
            return "starting the job's container (pulling the image)"
        return f"{reason}: {message}".rstrip(": ")
    return "waiting for the cluster to start the job's pod"


def _memory_limit(pod: dict[str, Any]) -> str | None:
    for container in (pod.get("spec") or {}).get("containers") or []:
        limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        if limit:
            text = str(limit)
            # In bytes (a profile's size): said as 16Gi rather than 17179869184.
            return format_memory(parse_memory(text)) if text.isdigit() else text
    return None


@dataclasses.dataclass(frozen=True)
class _Size:
    """How a job's pod is sized and placed (see ``KubernetesExecutor._size``)."""

    resources: objects.Resources
    image: str
    node_selector: dict[str, str] = dataclasses.field(default_factory=dict)
    tolerations: tuple[dict[str, Any], ...] = ()
    affinity: dict[str, Any] = dataclasses.field(default_factory=dict)


def _sizing_lines(sizing: JobProfile, size: _Size, gpu_resource: str, image: str) -> list[str]:
    """What the job's log says of the profile its pod is sized by."""
    res = sizing.resources
    parts = [f"cpu {size.resources.cpu}", f"memory {format_memory(res.memory_bytes)}"]
    if res.gpus:
        parts.append(
            f"{res.gpus} {gpu_resource}" + (f" of type {res.gpu_type}" if res.gpu_type else "")
        )
    lines = [f"sized by profile {sizing.name}: {', '.join(parts)}; image {image}"]
    if sizing.ignored:
        lines.append(
            f"the profile's {', '.join(sizing.ignored)} are a sandbox's: a job's pod does not "
            "get them (its image has what it runs with)"
        )
    return lines
