"""How the shell adapters (the ``dataops`` CLI and the ``%dataops`` magic) reach the core: either
directly on the store (:class:`LocalClient`: the terminal CLI and terminal IPython act as the OS
user) or through a Jupyter server's REST API (:class:`HttpClient`: a kernel that a server or the
worker started acts as the user that server authenticated, with the credential it was given; see
``core.identity``). Both return the same core models and raise the same core errors.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from .core import errors
from .core.endpoints.models import (
    DriftReport,
    Endpoint,
    EndpointMetrics,
    EndpointPage,
    EndpointToken,
    InvokeRequest,
    InvokeResult,
    ModelList,
    ModelSettings,
    PromoteRequest,
    Publication,
    PublishRequest,
    Snippets,
    TrafficRequest,
)
from .core.identity import ENV_CERT, ENV_ROOT, ENV_TOKEN, ENV_URL
from .core.jobs.models import (
    Job,
    JobCreate,
    JobLogs,
    JobPage,
    JobQuery,
    JobRerun,
    JobSummary,
)
from .core.sandboxes.models import ProfileList, Sandbox, SandboxCreate, SandboxPage
from .core.schedules.models import (
    CronPreview,
    Firing,
    FiringList,
    Schedule,
    ScheduleCreate,
    SchedulePage,
    ScheduleQuery,
    ScheduleRunNow,
    ScheduleUpdate,
)
from .core.snapshots.models import (
    Lineage,
    RestoreResult,
    Snapshot,
    SnapshotCreate,
    SnapshotDiff,
    SnapshotPage,
    SnapshotQuery,
    SnapshotRestore,
    Variables,
    WorkspaceStatus,
)

if TYPE_CHECKING:
    from .services import Services


class Client(Protocol):
    #: The folder notebook paths are relative to (the server's root, or the CLI's --root-dir).
    root: str
    #: Where the client acts: "local" (on the store) or the server's URL.
    where: str

    def create_job(self, request: JobCreate) -> Job: ...
    def rerun_job(self, job_id: str, request: JobRerun) -> Job: ...
    def get_job(self, job_id: str) -> Job: ...
    def list_jobs(self, query: JobQuery) -> JobPage: ...
    def cancel_job(self, job_id: str) -> Job: ...
    def delete_job(self, job_id: str) -> None: ...
    def job_logs(self, job_id: str, offset: int = 0) -> JobLogs: ...
    def summaries(self, ids: list[str]) -> list[JobSummary]: ...
    def worker_status(self) -> dict[str, Any]: ...
    def worker_stop(self) -> dict[str, Any]: ...
    def close(self) -> None: ...

    def create_schedule(self, request: ScheduleCreate) -> Schedule: ...
    def update_schedule(self, schedule_id: str, request: ScheduleUpdate) -> Schedule: ...
    def get_schedule(self, schedule_id: str) -> Schedule: ...
    def list_schedules(self, query: ScheduleQuery) -> SchedulePage: ...
    def pause_schedule(self, schedule_id: str) -> Schedule: ...
    def resume_schedule(self, schedule_id: str) -> Schedule: ...
    def run_schedule(self, schedule_id: str, request: ScheduleRunNow) -> Job: ...
    def delete_schedule(self, schedule_id: str, *, delete_runs: bool = False) -> None: ...
    def schedule_firings(self, schedule_id: str, limit: int = 100) -> list[Firing]: ...
    def preview_schedule(self, cron: str, timezone: str) -> CronPreview: ...
    def create_snapshot(self, request: SnapshotCreate) -> Snapshot: ...
    def list_snapshots(self, query: SnapshotQuery) -> SnapshotPage: ...
    def get_snapshot(self, snapshot_id: str) -> Snapshot: ...
    def diff_snapshots(self, a: str, b: str | None) -> SnapshotDiff: ...
    def restore_snapshot(self, snapshot_id: str, request: SnapshotRestore) -> RestoreResult: ...
    def push_snapshot(self, snapshot_id: str) -> Snapshot: ...
    def snapshot_workspace(self) -> WorkspaceStatus: ...
    def init_snapshot_workspace(self) -> WorkspaceStatus: ...
    def lineage(self, thing_id: str) -> Lineage: ...
    def snapshot_variables(self, snapshot_id: str) -> Variables: ...
    def publish(self, request: PublishRequest) -> Publication: ...
    def list_endpoints(self) -> EndpointPage: ...
    def get_endpoint(self, name: str) -> Endpoint: ...
    def endpoint_action(self, name: str, action: str) -> Endpoint:
        """start, stop, restart or rollback."""

    def delete_endpoint(self, name: str) -> None: ...
    def promote_endpoint(self, name: str, request: PromoteRequest) -> Endpoint: ...
    def split_traffic(self, name: str, request: TrafficRequest) -> Endpoint: ...
    def endpoint_metrics(self, name: str) -> EndpointMetrics: ...
    def endpoint_drift(self, name: str) -> DriftReport: ...
    def endpoint_snippets(self, name: str) -> Snippets: ...
    def endpoint_token(self, name: str) -> EndpointToken: ...
    def invoke_endpoint(self, name: str, request: InvokeRequest) -> InvokeResult: ...
    def list_models(self) -> ModelList: ...
    def model_settings(self) -> ModelSettings: ...
    def list_profiles(self) -> ProfileList: ...
    def start_sandbox(self, request: SandboxCreate) -> Sandbox: ...
    def list_sandboxes(self) -> SandboxPage: ...
    def get_sandbox(self, sandbox_id: str) -> Sandbox: ...
    def stop_sandbox(self, sandbox_id: str) -> Sandbox: ...

    def wait_for_job(
        self,
        job_id: str,
        *,
        on_update: Callable[[Job], None] | None = None,
        interval: float = 0.1,
        timeout: float | None = None,
    ) -> Job: ...


class LocalClient:
    """The core on this machine's store, acting as ``services.ctx.actor`` (the OS user)."""

    where = "local"

    def __init__(self, services: Services) -> None:
        self.services = services
        self.root = str(services.root)

    @property
    def _actor(self) -> str | None:
        return self.services.ctx.actor

    def create_job(self, request: JobCreate) -> Job:
        return self.services.jobs.create(request, actor=self._actor)

    def rerun_job(self, job_id: str, request: JobRerun) -> Job:
        return self.services.jobs.rerun(job_id, request, actor=self._actor)

    def get_job(self, job_id: str) -> Job:
        return self.services.jobs.get(job_id)

    def list_jobs(self, query: JobQuery) -> JobPage:
        return self.services.jobs.list(query)

    def cancel_job(self, job_id: str) -> Job:
        return self.services.jobs.cancel(job_id, actor=self._actor)

    def delete_job(self, job_id: str) -> None:
        self.services.jobs.delete(job_id, actor=self._actor)

    def job_logs(self, job_id: str, offset: int = 0) -> JobLogs:
        return self.services.jobs.logs(job_id, offset=offset)

    def summaries(self, ids: list[str]) -> list[JobSummary]:
        return self.services.jobs.summaries(ids)

    def create_schedule(self, request: ScheduleCreate) -> Schedule:
        return self.services.schedules.create(request, actor=self._actor)

    def update_schedule(self, schedule_id: str, request: ScheduleUpdate) -> Schedule:
        return self.services.schedules.update(schedule_id, request, actor=self._actor)

    def get_schedule(self, schedule_id: str) -> Schedule:
        return self.services.schedules.get(schedule_id)

    def list_schedules(self, query: ScheduleQuery) -> SchedulePage:
        return self.services.schedules.list(query)

    def pause_schedule(self, schedule_id: str) -> Schedule:
        return self.services.schedules.pause(schedule_id, actor=self._actor)

    def resume_schedule(self, schedule_id: str) -> Schedule:
        return self.services.schedules.resume(schedule_id, actor=self._actor)

    def run_schedule(self, schedule_id: str, request: ScheduleRunNow) -> Job:
        return self.services.schedules.run_now(schedule_id, request, actor=self._actor)

    def delete_schedule(self, schedule_id: str, *, delete_runs: bool = False) -> None:
        self.services.schedules.delete(schedule_id, delete_runs=delete_runs, actor=self._actor)

    def schedule_firings(self, schedule_id: str, limit: int = 100) -> list[Firing]:
        return self.services.schedules.firings(schedule_id, limit=limit)

    def preview_schedule(self, cron: str, timezone: str) -> CronPreview:
        return self.services.schedules.preview(cron, timezone)

    def create_snapshot(self, request: SnapshotCreate) -> Snapshot:
        return self.services.snapshots.create(request, actor=self._actor)

    def list_snapshots(self, query: SnapshotQuery) -> SnapshotPage:
        return self.services.snapshots.list(query)

    def get_snapshot(self, snapshot_id: str) -> Snapshot:
        return self.services.snapshots.get(snapshot_id)

    def diff_snapshots(self, a: str, b: str | None) -> SnapshotDiff:
        return self.services.snapshots.diff(a, b)

    def restore_snapshot(self, snapshot_id: str, request: SnapshotRestore) -> RestoreResult:
        return self.services.snapshots.restore(snapshot_id, request, actor=self._actor)

    def push_snapshot(self, snapshot_id: str) -> Snapshot:
        return self.services.snapshots.push(snapshot_id)

    def snapshot_workspace(self) -> WorkspaceStatus:
        return self.services.snapshots.status()

    def init_snapshot_workspace(self) -> WorkspaceStatus:
        return self.services.snapshots.init(actor=self._actor)

    def lineage(self, thing_id: str) -> Lineage:
        return self.services.snapshots.lineage(thing_id)

    def snapshot_variables(self, snapshot_id: str) -> Variables:
        return self.services.snapshots.variables(snapshot_id)

    def publish(self, request: PublishRequest) -> Publication:
        return self.services.endpoints.publish(request, actor=self._actor)

    def list_endpoints(self) -> EndpointPage:
        return self.services.endpoints.list()

    def get_endpoint(self, name: str) -> Endpoint:
        return self.services.endpoints.get(name)

    def endpoint_action(self, name: str, action: str) -> Endpoint:
        method = {
            "start": self.services.endpoints.start,
            "stop": self.services.endpoints.stop,
            "restart": self.services.endpoints.restart,
            "rollback": self.services.endpoints.rollback,
        }[action]
        return method(name, actor=self._actor)

    def delete_endpoint(self, name: str) -> None:
        self.services.endpoints.delete(name, actor=self._actor)

    def promote_endpoint(self, name: str, request: PromoteRequest) -> Endpoint:
        return self.services.endpoints.promote(name, request, actor=self._actor)

    def split_traffic(self, name: str, request: TrafficRequest) -> Endpoint:
        return self.services.endpoints.traffic(name, request, actor=self._actor)

    def endpoint_metrics(self, name: str) -> EndpointMetrics:
        return self.services.endpoints.metrics(name)

    def endpoint_drift(self, name: str) -> DriftReport:
        return self.services.endpoints.drift(name)

    def endpoint_snippets(self, name: str) -> Snippets:
        return self.services.endpoints.snippets(name)

    def endpoint_token(self, name: str) -> EndpointToken:
        return self.services.endpoints.token(name)

    def invoke_endpoint(self, name: str, request: InvokeRequest) -> InvokeResult:
        return self.services.endpoints.invoke(name, request)

    def list_models(self) -> ModelList:
        return self.services.endpoints.models()

    def model_settings(self) -> ModelSettings:
        return self.services.endpoints.settings()

    def list_profiles(self) -> ProfileList:
        return self.services.sandboxes.profiles(self._actor)

    def start_sandbox(self, request: SandboxCreate) -> Sandbox:
        # This process does the provisioning: a terminal command waits for it.
        return self.services.sandboxes.start(request, actor=self._actor, background=False)

    def list_sandboxes(self) -> SandboxPage:
        return self.services.sandboxes.list()

    def get_sandbox(self, sandbox_id: str) -> Sandbox:
        return self.services.sandboxes.get(sandbox_id)

    def stop_sandbox(self, sandbox_id: str) -> Sandbox:
        return self.services.sandboxes.stop(sandbox_id, actor=self._actor)

    def worker_status(self) -> dict[str, Any]:
        return self.services.supervisor.status()

    def worker_stop(self) -> dict[str, Any]:
        return self.services.supervisor.stop()

    def wait_for_job(
        self,
        job_id: str,
        *,
        on_update: Callable[[Job], None] | None = None,
        interval: float = 0.1,
        timeout: float | None = None,
    ) -> Job:
        return self.services.jobs.wait(
            job_id, on_update=on_update, interval=interval, timeout=timeout
        )

    def close(self) -> None:
        self.services.close()


#: Error kinds of the REST API's ErrorBody, back to the core's typed errors.
_ERRORS: dict[str, type[errors.DataOpsError]] = {
    cls.reason: cls
    for cls in (
        errors.InvalidInput,
        errors.NotFound,
        errors.Conflict,
        errors.Forbidden,
        errors.PolicyViolation,
        errors.QueueFull,
        errors.BackendUnavailable,
    )
}


def _endpoint_path(name: str, *rest: str) -> str:
    return "/".join(["endpoints", _q(name), *rest])


class _HttpEndpoints:
    """The endpoint and model routes of :class:`HttpClient`."""

    request: Callable[..., Any]

    def publish(self, request: PublishRequest) -> Publication:
        body = request.model_dump(mode="json", exclude_none=True)
        # A model may take minutes to load: wait as long as the server's start timeout does.
        answer = self.request("POST", "endpoints", body=body, timeout=600.0)
        return Publication.model_validate(answer)

    def list_endpoints(self) -> EndpointPage:
        return EndpointPage.model_validate(self.request("GET", "endpoints"))

    def get_endpoint(self, name: str) -> Endpoint:
        return Endpoint.model_validate(self.request("GET", _endpoint_path(name)))

    def endpoint_action(self, name: str, action: str) -> Endpoint:
        answer = self.request("POST", _endpoint_path(name, action), body={}, timeout=600.0)
        return Endpoint.model_validate(answer)

    def delete_endpoint(self, name: str) -> None:
        self.request("DELETE", _endpoint_path(name))

    def promote_endpoint(self, name: str, request: PromoteRequest) -> Endpoint:
        body = request.model_dump(mode="json", exclude_none=True)
        answer = self.request("POST", _endpoint_path(name, "promote"), body=body, timeout=600.0)
        return Endpoint.model_validate(answer)

    def split_traffic(self, name: str, request: TrafficRequest) -> Endpoint:
        body = request.model_dump(mode="json")
        answer = self.request("POST", _endpoint_path(name, "traffic"), body=body, timeout=600.0)
        return Endpoint.model_validate(answer)

    def endpoint_metrics(self, name: str) -> EndpointMetrics:
        return EndpointMetrics.model_validate(self.request("GET", _endpoint_path(name, "metrics")))

    def endpoint_drift(self, name: str) -> DriftReport:
        return DriftReport.model_validate(self.request("GET", _endpoint_path(name, "drift")))

    def endpoint_snippets(self, name: str) -> Snippets:
        return Snippets.model_validate(self.request("GET", _endpoint_path(name, "snippets")))

    def endpoint_token(self, name: str) -> EndpointToken:
        return EndpointToken.model_validate(self.request("GET", _endpoint_path(name, "token")))

    def invoke_endpoint(self, name: str, request: InvokeRequest) -> InvokeResult:
        body = request.model_dump(mode="json")
        return InvokeResult.model_validate(
            self.request("POST", _endpoint_path(name, "invoke"), body=body)
        )

    def list_models(self) -> ModelList:
        return ModelList.model_validate(self.request("GET", "models"))

    def model_settings(self) -> ModelSettings:
        return ModelSettings.model_validate(self.request("GET", "models/settings"))


class _HttpSandboxes:
    """The profile and sandbox routes of :class:`HttpClient`."""

    request: Callable[..., Any]

    def list_profiles(self) -> ProfileList:
        return ProfileList.model_validate(self.request("GET", "profiles"))

    def start_sandbox(self, request: SandboxCreate) -> Sandbox:
        body = request.model_dump(mode="json", exclude_none=True)
        # Installing a profile's packages may take minutes.
        answer = self.request("POST", "sandboxes", body=body, timeout=3600.0)
        return Sandbox.model_validate(answer)

    def list_sandboxes(self) -> SandboxPage:
        return SandboxPage.model_validate(self.request("GET", "sandboxes"))

    def get_sandbox(self, sandbox_id: str) -> Sandbox:
        return Sandbox.model_validate(self.request("GET", f"sandboxes/{_q(sandbox_id)}"))

    def stop_sandbox(self, sandbox_id: str) -> Sandbox:
        answer = self.request("POST", f"sandboxes/{_q(sandbox_id)}/stop", body={}, timeout=120.0)
        return Sandbox.model_validate(answer)


class HttpClient(_HttpEndpoints, _HttpSandboxes):
    """The DataOps REST API of a Jupyter server, as the user a DataOps token names."""

    def __init__(
        self, url: str, token: str, root: str, *, timeout: float = 60.0, cert: str | None = None
    ) -> None:
        self.where = url
        self.base = url.rstrip("/") + "/dataops/api/"
        self.token = token
        self.root = root
        self.timeout = timeout
        self._ssl: Any = None
        if cert:
            import ssl

            # Trust exactly the server's own certificate (often self-signed, and issued for a
            # name rather than the loopback address the kernel uses).
            self._ssl = ssl.create_default_context(cafile=cert)
            self._ssl.check_hostname = False

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> HttpClient | None:
        """The client of a kernel that a server (or the worker, for a job) started, else None."""
        env = os.environ if environ is None else environ
        url, token = env.get(ENV_URL), env.get(ENV_TOKEN)
        if not url or not token:
            return None
        return cls(url, token, env.get(ENV_ROOT) or os.getcwd(), cert=env.get(ENV_CERT))

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: list[tuple[str, str]] | None = None,
        timeout: float | None = None,
    ) -> Any:
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"DataOps {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(
                req, timeout=timeout or self.timeout, context=self._ssl
            ) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise _error_from(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise errors.BackendUnavailable(
                f"Cannot reach the Jupyter server at {self.where}: {reason}.",
                hint="Is the server still running? Restart the kernel if the server restarted.",
            ) from None
        return json.loads(raw) if raw else None

    def create_job(self, request: JobCreate) -> Job:
        body = request.model_dump(mode="json", exclude_none=True)
        return Job.model_validate(self.request("POST", "jobs", body=body))

    def rerun_job(self, job_id: str, request: JobRerun) -> Job:
        body = request.model_dump(mode="json", exclude_none=True)
        return Job.model_validate(self.request("POST", f"jobs/{_q(job_id)}/rerun", body=body))

    def get_job(self, job_id: str) -> Job:
        return Job.model_validate(self.request("GET", f"jobs/{_q(job_id)}"))

    def list_jobs(self, query: JobQuery) -> JobPage:
        params: list[tuple[str, str]] = [("status", s.value) for s in query.status or []]
        params += [("id", i) for i in query.id or []]
        for name in ("notebook", "schedule_id", "sort", "order", "limit", "cursor"):
            value = getattr(query, name)
            if value is not None:
                params.append((name, str(value)))
        return JobPage.model_validate(self.request("GET", "jobs", params=params))

    def cancel_job(self, job_id: str) -> Job:
        return Job.model_validate(self.request("POST", f"jobs/{_q(job_id)}/cancel", body={}))

    def delete_job(self, job_id: str) -> None:
        self.request("DELETE", f"jobs/{_q(job_id)}")

    def job_logs(self, job_id: str, offset: int = 0) -> JobLogs:
        params = [("offset", str(offset))] if offset else None
        return JobLogs.model_validate(self.request("GET", f"jobs/{_q(job_id)}/logs", params=params))

    def summaries(self, ids: list[str]) -> list[JobSummary]:
        if not ids:
            return []
        return self.list_jobs(JobQuery(id=ids, limit=len(ids))).items

    def create_schedule(self, request: ScheduleCreate) -> Schedule:
        body = request.model_dump(mode="json", exclude_none=True)
        return Schedule.model_validate(self.request("POST", "schedules", body=body))

    def update_schedule(self, schedule_id: str, request: ScheduleUpdate) -> Schedule:
        body = request.model_dump(mode="json", exclude_unset=True)
        return Schedule.model_validate(
            self.request("PATCH", f"schedules/{_q(schedule_id)}", body=body)
        )

    def get_schedule(self, schedule_id: str) -> Schedule:
        return Schedule.model_validate(self.request("GET", f"schedules/{_q(schedule_id)}"))

    def list_schedules(self, query: ScheduleQuery) -> SchedulePage:
        params: list[tuple[str, str]] = [("id", i) for i in query.id or []]
        params += [("status", s.value) for s in query.status or []]
        for name in ("notebook", "sort", "order", "limit", "cursor"):
            value = getattr(query, name)
            if value is not None:
                params.append((name, str(value)))
        return SchedulePage.model_validate(self.request("GET", "schedules", params=params))

    def pause_schedule(self, schedule_id: str) -> Schedule:
        path = f"schedules/{_q(schedule_id)}/pause"
        return Schedule.model_validate(self.request("POST", path, body={}))

    def resume_schedule(self, schedule_id: str) -> Schedule:
        path = f"schedules/{_q(schedule_id)}/resume"
        return Schedule.model_validate(self.request("POST", path, body={}))

    def run_schedule(self, schedule_id: str, request: ScheduleRunNow) -> Job:
        body = request.model_dump(mode="json", exclude_none=True)
        return Job.model_validate(
            self.request("POST", f"schedules/{_q(schedule_id)}/run", body=body)
        )

    def delete_schedule(self, schedule_id: str, *, delete_runs: bool = False) -> None:
        params = [("delete_runs", "true")] if delete_runs else None
        self.request("DELETE", f"schedules/{_q(schedule_id)}", params=params)

    def schedule_firings(self, schedule_id: str, limit: int = 100) -> list[Firing]:
        data = self.request(
            "GET", f"schedules/{_q(schedule_id)}/firings", params=[("limit", str(limit))]
        )
        return FiringList.model_validate(data).items

    def preview_schedule(self, cron: str, timezone: str) -> CronPreview:
        params = [("cron", cron), ("timezone", timezone)]
        return CronPreview.model_validate(self.request("GET", "schedules/preview", params=params))

    def create_snapshot(self, request: SnapshotCreate) -> Snapshot:
        body = request.model_dump(mode="json", exclude_unset=True)
        return Snapshot.model_validate(self.request("POST", "snapshots", body=body))

    def list_snapshots(self, query: SnapshotQuery) -> SnapshotPage:
        params: list[tuple[str, str]] = [("status", s.value) for s in query.status or []]
        params += [("kind", k) for k in query.kind or []]
        params += [("id", i) for i in query.id or []]
        for name in ("order", "limit", "cursor"):
            value = getattr(query, name)
            if value is not None:
                params.append((name, str(value)))
        return SnapshotPage.model_validate(self.request("GET", "snapshots", params=params))

    def get_snapshot(self, snapshot_id: str) -> Snapshot:
        return Snapshot.model_validate(self.request("GET", f"snapshots/{_q(snapshot_id)}"))

    def diff_snapshots(self, a: str, b: str | None) -> SnapshotDiff:
        params = [("a", a)] + ([("b", b)] if b else [])
        return SnapshotDiff.model_validate(self.request("GET", "snapshots/diff", params=params))

    def restore_snapshot(self, snapshot_id: str, request: SnapshotRestore) -> RestoreResult:
        body = request.model_dump(mode="json", exclude_unset=True)
        path = f"snapshots/{_q(snapshot_id)}/restore"
        return RestoreResult.model_validate(self.request("POST", path, body=body))

    def push_snapshot(self, snapshot_id: str) -> Snapshot:
        path = f"snapshots/{_q(snapshot_id)}/push"
        return Snapshot.model_validate(self.request("POST", path, body={}))

    def snapshot_workspace(self) -> WorkspaceStatus:
        return WorkspaceStatus.model_validate(self.request("GET", "snapshots/workspace"))

    def init_snapshot_workspace(self) -> WorkspaceStatus:
        data = self.request("POST", "snapshots/workspace", body={})
        return WorkspaceStatus.model_validate(data)

    def lineage(self, thing_id: str) -> Lineage:
        return Lineage.model_validate(self.request("GET", f"lineage/{_q(thing_id)}"))

    def snapshot_variables(self, snapshot_id: str) -> Variables:
        path = f"snapshots/{_q(snapshot_id)}/variables"
        return Variables.model_validate(self.request("GET", path))

    def worker_status(self) -> dict[str, Any]:
        return dict(self.request("GET", "worker"))

    def worker_stop(self) -> dict[str, Any]:
        return dict(self.request("POST", "worker/stop", body={}))

    def wait_for_job(
        self,
        job_id: str,
        *,
        on_update: Callable[[Job], None] | None = None,
        interval: float = 0.1,
        timeout: float | None = None,
    ) -> Job:
        """Poll the job until it ends; the server itself notices a lost worker."""
        from .core.jobs.service import follow_job

        return follow_job(
            lambda: self.get_job(job_id),
            on_update=on_update,
            interval=max(interval, 0.05),
            timeout=timeout,
        )

    def close(self) -> None:
        pass


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _error_from(exc: urllib.error.HTTPError) -> errors.DataOpsError:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        body = {}
    message = str(body.get("message") or f"The server answered HTTP {exc.code}.")
    cls = _ERRORS.get(str(body.get("error")), errors.DataOpsError)
    error = cls(message, hint=body.get("hint"), **(body.get("details") or {}))
    if cls is errors.DataOpsError:
        error.http_status = exc.code
    return error
