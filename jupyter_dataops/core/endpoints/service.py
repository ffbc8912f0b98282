"""Endpoints: what the REST handlers, the magic and the CLI call to publish and serve models.

Publishing registers a logged model as a new version in the registry, points an alias at it
and serves it on the endpoint's port, keeping the port (and so the URL) of an endpoint that
existed. An endpoint is a row: ``desired`` is what the user asked (running or stopped), kept
across restarts; ``status`` what it does. :meth:`EndpointService.reconcile` (called by the
server every few seconds and by the CLI's start) moves the one towards the other: an endpoint
that should run but whose server died is started again on the same port, and one that should
not is stopped. The target (local processes, later Kubernetes) does as it is told.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import logging
import re
import secrets
import shlex
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import BackendUnavailable, Conflict, InvalidInput, NotFound
from . import drift
from .models import (
    ColumnDrift,
    DriftReport,
    Endpoint,
    EndpointAction,
    EndpointMetrics,
    EndpointPage,
    EndpointStatus,
    EndpointToken,
    InvokeRequest,
    InvokeResult,
    MetricPoint,
    ModelList,
    ModelSettings,
    ModelVersion,
    PromoteRequest,
    Publication,
    PublishRequest,
    RegisteredModel,
    Snippets,
    TrafficRequest,
)
from .target import DeploymentTarget, Handle, ServingSpec

if TYPE_CHECKING:
    from ..context import Context
    from .registry import ModelRegistry
    from .repository import EndpointRecord

log = logging.getLogger("jupyter_dataops")

#: History entries kept per endpoint (oldest dropped).
MAX_HISTORY = 50
#: Rows of the input example kept for the snippets and the try-it form.
EXAMPLE_ROWS = 5
#: Seconds between checks of a starting server.
POLL = 0.05
#: Restarts after crashes within RESTART_WINDOW before the endpoint is failed instead.
MAX_RESTARTS = 5
RESTART_WINDOW = 600.0
#: A crashed server is started again after this many seconds times the recent restarts.
RESTART_BACKOFF = 2.0


class EndpointService:
    def __init__(
        self,
        ctx: Context,
        *,
        registry: Callable[[], ModelRegistry],
        target: DeploymentTarget,
        others: Sequence[DeploymentTarget] = (),
    ) -> None:
        self.ctx = ctx
        self._registry_factory = registry
        self._registry: ModelRegistry | None = None
        #: The default target: where a publish that names none serves a new endpoint.
        self.target = target
        #: Every target a publish may name, the default first (``c.DataOps.endpoint_targets``):
        #: "serve this model on the cluster". An endpoint stays on the one it was published to.
        self.targets: dict[str, DeploymentTarget] = {target.name: target}
        for other in others:
            self.targets.setdefault(other.name, other)
        #: Endpoints whose target this server no longer offers, warned about once.
        self._orphans: set[str] = set()
        #: Last crash-restart per endpoint (monotonic), for the back-off.
        self._restarted: dict[str, list[float]] = {}

    def target_for(self, name: str | None) -> DeploymentTarget:
        """The target of that name (None: the default), or InvalidInput naming those there
        are."""
        if not name:
            return self.target
        found = self.targets.get(name)
        if found is None:
            raise InvalidInput(
                f"Unknown endpoint target {name!r}; endpoints here are served on: "
                f"{', '.join(self.targets)}.",
                hint="Choose one of those; an operator adds one with c.DataOps.endpoint_targets.",
                target=name,
            )
        return found

    def target_of(self, record: EndpointRecord) -> DeploymentTarget:
        """The target that serves ``record``, or BackendUnavailable when this server no longer
        offers it (its configuration changed since the endpoint was published)."""
        found = self.targets.get(record.target)
        if found is None:
            raise BackendUnavailable(
                f"The endpoint {record.name!r} is served on {record.target!r}, which this server "
                f"no longer offers (it offers: {', '.join(self.targets)}).",
                hint=f"Add {record.target!r} to c.DataOps.endpoint_targets again, or publish it "
                f"anew on another: dataops publish MODEL --name {record.name} --on "
                f"{self.target.name}.",
                target=record.target,
            )
        return found

    @property
    def registry(self) -> ModelRegistry:
        if self._registry is None:
            self._registry = self._registry_factory()
        return self._registry

    @property
    def root_dir(self) -> str:
        return str(self.ctx.root)

    # -- reading ----------------------------------------------------------------------------
    def to_endpoint(self, record: EndpointRecord) -> Endpoint:
        spec = self.spec(record)
        target = self.targets.get(record.target)
        return Endpoint(
            name=record.name,
            model_name=record.model_name,
            version=record.version,
            alias=record.alias,
            model_uri=record.model_uri,
            canary_version=record.canary_version,
            canary_percent=record.canary_percent,
            status=EndpointStatus(record.status),
            desired=record.desired,  # type: ignore[arg-type]
            target=record.target,
            host=record.host,
            port=record.port,
            url=target.url(spec) + "/invocations" if target is not None else "",
            token_required=record.token is not None,
            pid=record.pid,
            error=record.error,
            restarts=record.restarts,
            history=[EndpointAction(**h) for h in record.history],
            drift_threshold=record.drift_threshold,
            drift_score=record.drift_score,
            drift_checked_at=record.drift_checked_at,
            run_id=record.run_id,
            job_id=record.job_id,
            snapshot_id=record.snapshot_id,
            owner=record.owner,
            created_at=record.created_at,
            updated_at=record.updated_at,
            started_at=record.started_at,
        )

    def record(self, name: str) -> EndpointRecord:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            record = uow.endpoints.get(name)
        if record.root_dir != self.root_dir:
            raise NotFound(
                f"The endpoint {name!r} belongs to another project ({record.root_dir}).",
                hint="Run the command from that project, or list this one's with "
                "`dataops endpoints list`.",
            )
        return record

    def get(self, name: str) -> Endpoint:
        return self.to_endpoint(self.record(name))

    def list(self) -> EndpointPage:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            records = uow.endpoints.all(self.root_dir)
        return EndpointPage(items=[self.to_endpoint(r) for r in records], total=len(records))

    def spec(self, record: EndpointRecord) -> ServingSpec:
        config = self.ctx.config
        canary = record.canary_version if record.canary_percent else None
        return ServingSpec(
            name=record.name,
            model_uri=f"models:/{record.model_name}/{record.version}",
            label=str(record.version),
            host=record.host,
            port=record.port,
            token=record.token,
            canary_uri=f"models:/{record.model_name}/{canary}" if canary else None,
            canary_label=str(canary or ""),
            canary_percent=record.canary_percent if canary else 0,
            sample_bytes=config.endpoint_sample_bytes,
            max_body_bytes=config.endpoint_max_body_bytes,
        )

    # -- the registry -------------------------------------------------------------------------
    def models(self) -> ModelList:
        config = self.ctx.config
        return ModelList(
            items=self._registry_call(self.registry.models),
            tracking_uri=_safe_uri(self.registry.tracking_uri),
            ui_url=config.mlflow_ui_url or None,
        )

    def model(self, name: str) -> RegisteredModel:
        return self._registry_call(lambda: self.registry.model(name))

    def settings(self) -> ModelSettings:
        return ModelSettings(
            **self._registry_call(self.registry.settings),
            target=self.target.name,
            targets=list(self.targets),
        )

    def _registry_call(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except (NotFound, InvalidInput, Conflict, BackendUnavailable):
            raise
        except Exception as exc:
            log.exception("jupyter_dataops: the model registry failed")
            raise BackendUnavailable(
                f"The model registry at {_safe_uri(self.registry.tracking_uri)} failed: "
                f"{type(exc).__name__}: {str(exc)[:300]}",
                hint="Check c.DataOps.mlflow_tracking_uri and that its server answers.",
            ) from None

    # -- publishing ---------------------------------------------------------------------------
    def publish(self, request: PublishRequest, *, actor: str | None = None) -> Publication:
        """Register ``request.model_uri`` as a new version, point the alias at it (unless it is
        a canary) and serve it on the endpoint; answers once the endpoint answers."""
        started = time.monotonic()
        config = self.ctx.config
        host = (request.host or config.endpoint_host).strip()
        model_name = request.model_name or request.name
        existing = self._find(request.name)
        target = self.target_for(request.target)
        if existing is not None and not request.target:
            target = self.target_of(existing)  # an endpoint stays where it is unless asked
        moving = existing is not None and existing.target != target.name
        if existing is not None:
            self._check_not_starting(existing)
            if existing.model_name != model_name and request.model_name is not None:
                raise Conflict(
                    f"The endpoint {request.name!r} serves the model {existing.model_name!r}, "
                    f"not {model_name!r}.",
                    hint="Publish under another endpoint name, or delete this endpoint first.",
                )
            model_name = existing.model_name
        if existing is None and request.canary_percent:
            raise InvalidInput(
                f"There is no endpoint {request.name!r} to add a canary to.",
                hint="Publish it once without --canary.",
            )
        if moving and request.canary_percent:
            assert existing is not None
            raise InvalidInput(
                f"A canary is served next to the current version, on {existing.target}; it "
                f"cannot go to {target.name}.",
                hint=f"Leave --on out for a canary, or publish without --canary to move "
                f"{request.name!r} to {target.name}.",
            )
        target.check()  # before anything is registered: settings the target cannot serve with
        self._check_address(target, host, request.port if existing is None or moving else None)
        job_id, snapshot_id, params = self._lineage(request)
        tags = {"dataops.endpoint": request.name}
        if job_id:
            tags["dataops.job_id"] = job_id
        if snapshot_id:
            tags["dataops.snapshot_id"] = snapshot_id
        version = self._registry_call(
            lambda: self.registry.register(
                request.model_uri, model_name, tags=tags, description=request.description
            )
        )
        if params and version.run_id:
            try:
                self.registry.log_params(version.run_id, params)
            except Exception as exc:  # lineage is a bonus, never a reason to fail
                log.warning("jupyter_dataops: could not log the job's parameters: %s", exc)
        if request.only_if_better and existing is not None:
            better, reason = self._beats(existing, version, request)
            if not better:
                log.info("jupyter_dataops: %s not published: %s", request.name, reason)
                return Publication(
                    endpoint=self.to_endpoint(existing),
                    version=version,
                    seconds=round(time.monotonic() - started, 3),
                    published=False,
                    reason=reason,
                )
        else:
            reason = None
        example = self._example(version.model_uri)
        rows = request.reference or example
        reference = drift.profile(rows) if rows else None
        now = self.ctx.clock.time()
        canary = bool(request.canary_percent)
        if not canary:
            self._registry_call(
                lambda: self.registry.set_alias(model_name, request.alias, version.version)
            )
            aliases = sorted({*version.aliases, request.alias})
            version = version.model_copy(update={"aliases": aliases})
        if moving and existing is not None and _has_server(existing):
            # Its old server goes before the new one starts elsewhere.
            self.target_of(existing).stop(Handle(existing.pid, existing.identity))
        with self.ctx.store.unit_of_work() as uow:
            current = uow.endpoints.find(request.name)
            if current is None:
                port = request.port or target.free_port(
                    host, config.endpoint_port_min, config.endpoint_port_max, uow.endpoints.ports()
                )
                uow.endpoints.insert(
                    name=request.name,
                    root_dir=self.root_dir,
                    model_name=model_name,
                    version=version.version,
                    alias=request.alias,
                    model_uri=version.model_uri,
                    canary_version=None,
                    canary_percent=0,
                    status=EndpointStatus.STARTING.value,
                    desired="running",
                    target=target.name,
                    host=host,
                    port=port,
                    token=secrets.token_urlsafe(32) if target.needs_token(host) else None,
                    pid=None,
                    identity=None,
                    error=None,
                    restarts=0,
                    history=[_action(now, "published", version.version, actor)],
                    previous=[],
                    reference=reference,
                    example=example,
                    drift_threshold=request.drift_threshold or config.endpoint_drift_threshold,
                    drift_score=None,
                    drift_checked_at=None,
                    run_id=version.run_id,
                    job_id=job_id,
                    snapshot_id=snapshot_id,
                    owner=actor,
                    created_at=now,
                    updated_at=now,
                    started_at=None,
                )
                uow.audit.add(
                    "endpoint.publish", "endpoint", request.name, actor, version=version.version
                )
            else:
                self._check_not_starting(current)
                fields: dict[str, Any]
                if canary:
                    fields = {
                        "canary_version": version.version,
                        "canary_percent": request.canary_percent,
                        "history": _push(
                            current.history,
                            _action(
                                now, "canary", version.version, actor, f"{request.canary_percent}%"
                            ),
                        ),
                    }
                else:
                    moved = (
                        f"moved from {current.target} to {target.name}"
                        if current.target != target.name
                        else None
                    )
                    fields = {
                        "version": version.version,
                        "alias": request.alias,
                        "model_uri": version.model_uri,
                        "canary_version": None,
                        "canary_percent": 0,
                        "previous": [*current.previous, current.version][-MAX_HISTORY:],
                        "history": _push(
                            current.history,
                            _action(now, "published", version.version, actor, moved),
                        ),
                        # Training rows sent with this version, else the endpoint's.
                        "reference": reference
                        if request.reference
                        else current.reference or reference,
                        "example": example or current.example,
                        "run_id": version.run_id,
                        "job_id": job_id,
                        "snapshot_id": snapshot_id,
                        "drift_score": None,
                        "drift_checked_at": None,
                    }
                    if request.drift_threshold:
                        fields["drift_threshold"] = request.drift_threshold
                if request.host and request.host != current.host:
                    fields["host"] = host
                if current.target != target.name:
                    taken = uow.endpoints.ports() - {current.port}
                    fields.update(
                        target=target.name,
                        port=request.port
                        or target.free_port(
                            host, config.endpoint_port_min, config.endpoint_port_max, taken
                        ),
                        pid=None,
                        identity=None,
                        restarts=0,
                    )
                if target.needs_token(fields.get("host", current.host)) and current.token is None:
                    fields["token"] = secrets.token_urlsafe(32)
                uow.endpoints.update(
                    request.name,
                    status=EndpointStatus.STARTING.value,
                    desired="running",
                    error=None,
                    updated_at=now,
                    **fields,
                )
                uow.audit.add(
                    "endpoint.publish", "endpoint", request.name, actor, version=version.version
                )
            uow.commit()
        endpoint = self._deploy(request.name)
        return Publication(
            endpoint=endpoint,
            version=version,
            seconds=round(time.monotonic() - started, 3),
            reason=reason,
        )

    def _beats(
        self, existing: EndpointRecord, version: ModelVersion, request: PublishRequest
    ) -> tuple[bool, str]:
        """Whether the new version's metric beats the served version's, and why (a sentence)."""
        metric = request.only_if_better or ""
        new = version.metrics.get(metric)
        if new is None:
            raise InvalidInput(
                f"The new model's run has no metric {metric!r} to compare "
                f"(it has: {', '.join(sorted(version.metrics)) or 'none'}).",
                hint="Log it with the model: %dataops publish ... --metric NAME=VALUE, or "
                "mlflow.log_metric in the run.",
            )
        served = self._registry_call(
            lambda: self.registry.version(existing.model_name, existing.version)
        )
        old = served.metrics.get(metric)
        if old is None:
            return True, f"version {existing.version} has no {metric}: nothing to beat"
        better = new < old if request.lower_is_better else new > old
        verb = "beats" if better else "does not beat"
        return better, f"{metric} {new:g} {verb} {old:g} of version {existing.version}"

    def _check_address(self, target: DeploymentTarget, host: str, port: int | None) -> None:
        """Refuse an address the server could not listen on, before anything is registered."""
        if not host or not re.fullmatch(r"[A-Za-z0-9.:\[\]-]{1,255}", host):
            raise InvalidInput(
                f"{host!r} is not a host name or address to listen on.",
                hint="Give an address such as 127.0.0.1 or 0.0.0.0 (--host).",
            )
        if port is None:
            return
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            taken = uow.endpoints.ports()
        if port in taken:
            raise Conflict(
                f"Port {port} is held by another endpoint.",
                hint="Leave --port out to get a free one.",
            )
        try:
            target.free_port(host, port, port, taken)
        except (Conflict, OSError):
            raise Conflict(
                f"Port {port} is in use on {host}.", hint="Leave --port out to get a free one."
            ) from None

    def _lineage(self, request: PublishRequest) -> tuple[str | None, str | None, dict[str, Any]]:
        """The job and snapshot a model came from, and the job's parameters."""
        if not request.job_id:
            return None, request.snapshot_id, {}
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            try:
                job = uow.jobs.get(request.job_id)
            except NotFound:
                raise InvalidInput(
                    f"No job {request.job_id!r} made this model.",
                    hint="Leave job_id out, or give the id of the job that ran the notebook.",
                ) from None
        return job.id, request.snapshot_id or job.snapshot_id, dict(job.parameters or {})

    def _example(self, model_uri: str) -> builtins.list[dict[str, Any]] | None:
        try:
            rows = self.registry.input_example(model_uri)
        except Exception as exc:
            log.info("jupyter_dataops: no input example for %s: %s", model_uri, exc)
            return None
        return rows[:EXAMPLE_ROWS] if rows else None

    # -- serving ------------------------------------------------------------------------------
    def _find(self, name: str) -> EndpointRecord | None:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            record = uow.endpoints.find(name)
        if record is not None and record.root_dir != self.root_dir:
            raise Conflict(
                f"The endpoint name {name!r} is taken by another project ({record.root_dir}).",
                hint="Choose another name.",
            )
        return record

    def _check_not_starting(self, record: EndpointRecord) -> None:
        now = self.ctx.clock.time()
        if (
            record.status == EndpointStatus.STARTING.value
            and now - record.updated_at < self.ctx.config.endpoint_start_timeout
        ):
            raise Conflict(
                f"The endpoint {record.name!r} is being started.",
                hint="Try again once it is running (dataops endpoints show NAME).",
            )

    def _deploy(self, name: str) -> Endpoint:
        """Serve the endpoint as its row says: stop its old server, start a new one on the same
        port, and wait for it to answer. The row ends running, or failed with the reason."""
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            record = uow.endpoints.get(name)
        spec = self.spec(record)
        target = self.target_of(record)
        try:
            serving = self._resolved(spec, record)
        except Exception as exc:
            return self._failed(name, f"The model's files cannot be found: {exc}")
        if _has_server(record):
            target.stop(Handle(record.pid, record.identity))
        try:
            handle = target.start(serving)
        except Exception as exc:
            return self._failed(name, f"The server could not be started: {exc}")
        try:
            self._update(name, pid=handle.pid, identity=handle.identity)
        except NotFound:  # deleted meanwhile: never leave a server nobody knows of
            target.stop(handle)
            raise
        deadline = time.monotonic() + self.ctx.config.endpoint_start_timeout
        while True:
            if target.answers(spec):
                break
            if not target.alive(handle):
                tail = target.log_tail(name)
                # A cluster's pods that cannot start would retry for ever: end them too.
                target.stop(handle)
                return self._failed(
                    name,
                    f"The server exited before answering.\n{tail}".strip(),
                    pid=None,
                    identity=None,
                )
            if time.monotonic() > deadline:
                target.stop(handle)
                tail = target.log_tail(name)
                return self._failed(
                    name,
                    f"The server did not answer within {self.ctx.config.endpoint_start_timeout:.0f} s."
                    f"\n{tail}".strip(),
                    pid=None,
                    identity=None,
                )
            time.sleep(POLL)
        now = self.ctx.clock.time()
        with self.ctx.store.unit_of_work() as uow:
            uow.endpoints.update(
                name,
                status=EndpointStatus.RUNNING.value,
                error=None,
                started_at=now,
                updated_at=now,
            )
            record = uow.endpoints.get(name)
            uow.commit()
        return self.to_endpoint(record)

    def _resolved(self, spec: ServingSpec, record: EndpointRecord) -> ServingSpec:
        """The spec with the versions' file locations for ``models:/`` URIs: a server that
        loads from files starts in a fraction of a second; one that asks a sqlite registry
        first spends seconds opening it."""
        registry = self.registry
        canary = spec.canary_uri and record.canary_version
        return dataclasses.replace(
            spec,
            model_uri=registry.download_uri(record.model_name, record.version),
            canary_uri=registry.download_uri(record.model_name, record.canary_version)
            if canary and record.canary_version
            else spec.canary_uri,
        )

    def _failed(self, name: str, error: str, **fields: Any) -> Endpoint:
        log.warning("jupyter_dataops: endpoint %s failed: %s", name, error.splitlines()[0])
        record = self._update(
            name, status=EndpointStatus.FAILED.value, error=error[-4000:], **fields
        )
        raise BackendUnavailable(
            f"The endpoint {name!r} failed to start: {error.splitlines()[0]}",
            hint=f"See `dataops endpoints show {name}` for its log; fix the model or its "
            "environment and publish again.",
            endpoint=self.to_endpoint(record).model_dump(mode="json"),
        )

    def _update(self, name: str, **fields: Any) -> EndpointRecord:
        with self.ctx.store.unit_of_work() as uow:
            uow.endpoints.update(name, updated_at=self.ctx.clock.time(), **fields)
            record = uow.endpoints.get(name)
            uow.commit()
        return record

    def _change(
        self, name: str, action: str, actor: str | None, detail: str | None = None, **fields: Any
    ) -> EndpointRecord:
        now = self.ctx.clock.time()
        with self.ctx.store.unit_of_work() as uow:
            record = uow.endpoints.get(name)
            self._check_not_starting(record)
            version = fields.get("version", record.version)
            uow.endpoints.update(
                name,
                history=_push(record.history, _action(now, action, version, actor, detail)),
                updated_at=now,
                **fields,
            )
            uow.audit.add(f"endpoint.{action}", "endpoint", name, actor, version=version)
            record = uow.endpoints.get(name)
            uow.commit()
        return record

    def start(self, name: str, *, actor: str | None = None) -> Endpoint:
        record = self.record(name)
        if record.status == EndpointStatus.RUNNING.value and self.target_of(record).alive(
            Handle(record.pid, record.identity)
        ):
            return self.to_endpoint(record)
        self._change(name, "started", actor, desired="running", status="starting", error=None)
        return self._deploy(name)

    def restart(self, name: str, *, actor: str | None = None) -> Endpoint:
        self.target_of(self.record(name))
        self._change(name, "restarted", actor, desired="running", status="starting", error=None)
        return self._deploy(name)

    def stop(self, name: str, *, actor: str | None = None) -> Endpoint:
        record = self.record(name)
        if _has_server(record):
            self.target_of(record).stop(Handle(record.pid, record.identity))
        record = self._change(
            name, "stopped", actor, desired="stopped", status="stopped", pid=None, identity=None
        )
        return self.to_endpoint(record)

    def delete(self, name: str, *, actor: str | None = None) -> None:
        record = self.record(name)
        if _has_server(record):
            # Deleting the record of a target no longer offered would orphan its server.
            self.target_of(record).stop(Handle(record.pid, record.identity))
        with self.ctx.store.unit_of_work() as uow:
            uow.endpoints.delete(name)
            uow.audit.add("endpoint.delete", "endpoint", name, actor, version=record.version)
            uow.commit()
        self._restarted.pop(name, None)

    def promote(self, name: str, request: PromoteRequest, *, actor: str | None = None) -> Endpoint:
        """Serve ``request.version`` (default: the canary's) to every request."""
        record = self.record(name)
        version = request.version or record.canary_version
        if version is None:
            raise InvalidInput(
                f"The endpoint {name!r} has no canary to promote.",
                hint="Give the version to serve: dataops endpoints promote NAME --version N.",
            )
        if version == record.version and not record.canary_percent:
            return self.to_endpoint(record)
        previous = record.previous
        if version != record.version:
            previous = [*record.previous, record.version][-MAX_HISTORY:]
        return self._serve_version(record, version, "promoted", actor, None, previous)

    def rollback(self, name: str, *, actor: str | None = None) -> Endpoint:
        """Serve the version served before the current one (again and again, further back)."""
        record = self.record(name)
        if not record.previous:
            raise Conflict(
                f"The endpoint {name!r} has served no other version.",
                hint="Promote a version instead: dataops endpoints promote NAME --version N.",
            )
        return self._serve_version(
            record,
            record.previous[-1],
            "rolled back",
            actor,
            f"from {record.version}",
            record.previous[:-1],
        )

    def _serve_version(
        self,
        record: EndpointRecord,
        version: int,
        action: str,
        actor: str | None,
        detail: str | None,
        previous: builtins.list[int],
    ) -> Endpoint:
        """Serve ``version`` alone (no canary), move the alias to it, and record why."""
        found = self._registry_call(lambda: self.registry.version(record.model_name, version))
        self._registry_call(
            lambda: self.registry.set_alias(record.model_name, record.alias, version)
        )
        self._change(
            record.name,
            action,
            actor,
            detail,
            version=version,
            model_uri=found.model_uri,
            run_id=found.run_id,
            canary_version=None,
            canary_percent=0,
            previous=previous,
            status="starting",
            desired="running",
            error=None,
            drift_score=None,
        )
        return self._deploy(record.name)

    def traffic(self, name: str, request: TrafficRequest, *, actor: str | None = None) -> Endpoint:
        """Send ``percent`` of requests to ``canary_version``; 0 ends the split."""
        record = self.record(name)
        canary = request.canary_version or record.canary_version
        if request.percent and canary is None:
            raise InvalidInput(
                "A traffic split needs the canary's version.",
                hint="Give --canary-version N (a registered version of the model).",
            )
        if request.percent and canary == record.version:
            raise InvalidInput(
                f"Version {canary} is the one served; a canary must be another version.",
                hint="Choose another version, or promote instead.",
            )
        if request.percent and canary is not None:
            self._registry_call(lambda: self.registry.version(record.model_name, canary))
        percent = request.percent if canary else 0
        self._change(
            name,
            "split" if percent else "unsplit",
            actor,
            f"{percent}% to version {canary}" if percent else None,
            canary_version=canary if percent else None,
            canary_percent=percent,
            status="starting",
            desired="running",
            error=None,
        )
        return self._deploy(name)

    # -- supervision --------------------------------------------------------------------------
    def reconcile(self, *, drift_every: float | None = None) -> builtins.list[str]:
        """Move every endpoint of the project towards what its row asks: start again the ones
        that should run but whose server is gone (same port; with back-off, failed after
        MAX_RESTARTS within RESTART_WINDOW), stop the ones that should not run. Returns what
        it did, one line each."""
        done: list[str] = []
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            records = uow.endpoints.all(self.root_dir)
        now = self.ctx.clock.time()
        for record in records:
            handle = Handle(record.pid, record.identity)
            target = self.targets.get(record.target)
            if target is None:
                if record.name not in self._orphans:
                    self._orphans.add(record.name)
                    log.warning(
                        "jupyter_dataops: endpoint %s is served on %r, which this server no "
                        "longer offers; it is left alone (c.DataOps.endpoint_targets)",
                        record.name,
                        record.target,
                    )
                continue
            try:
                if record.desired == "stopped":
                    if _has_server(record) and target.alive(handle):
                        target.stop(handle)
                        self._update(record.name, pid=None, identity=None, status="stopped")
                        done.append(f"stopped {record.name}")
                    continue
                if record.status == EndpointStatus.STARTING.value:
                    if now - record.updated_at < self.ctx.config.endpoint_start_timeout:
                        continue  # someone is starting it
                elif record.status != EndpointStatus.RUNNING.value:
                    continue  # failed: a user must act
                elif target.alive(handle):
                    if drift_every is not None and (
                        record.drift_checked_at is None
                        or now - record.drift_checked_at >= drift_every
                    ):
                        self.drift(record.name)
                    continue
                if not self._may_restart(record.name, target):
                    continue
                self._change(
                    record.name,
                    "restarted",
                    None,
                    "its server was gone",
                    status="starting",
                    restarts=record.restarts + 1,
                    pid=None,
                    identity=None,
                )
                try:
                    self._deploy(record.name)
                    done.append(f"restarted {record.name}")
                except BackendUnavailable as exc:
                    done.append(f"failed {record.name}: {exc.message}")
            except Exception as exc:  # one endpoint never stops the others'
                log.warning("jupyter_dataops: cannot reconcile endpoint %s: %s", record.name, exc)
        return done

    def _may_restart(self, name: str, target: DeploymentTarget) -> bool:
        clock = self.ctx.clock.monotonic()
        recent = [t for t in self._restarted.get(name, []) if clock - t < RESTART_WINDOW]
        if len(recent) >= MAX_RESTARTS:
            self._update(
                name,
                status=EndpointStatus.FAILED.value,
                error=f"Its server died {len(recent)} times in {RESTART_WINDOW / 60:.0f} minutes; "
                f"not started again.\n{target.log_tail(name)}".strip(),
                pid=None,
                identity=None,
            )
            self._restarted[name] = []
            return False
        if recent and clock - recent[-1] < RESTART_BACKOFF * len(recent):
            return False
        self._restarted[name] = [*recent, clock]
        return True

    # -- monitoring ---------------------------------------------------------------------------
    def _call(
        self, record: EndpointRecord, method: str, path: str, body: bytes | None = None
    ) -> tuple[int, dict[str, str], bytes] | None:
        if record.status not in (EndpointStatus.RUNNING.value, EndpointStatus.STARTING.value):
            return None
        try:
            target = self.target_of(record)
        except BackendUnavailable:
            return None
        try:
            return target.request(self.spec(record), method, path, body)
        except OSError:
            return None

    def metrics(self, name: str) -> EndpointMetrics:
        record = self.record(name)
        answer = self._call(record, "GET", "/stats")
        if answer is None or answer[0] != 200:
            return EndpointMetrics(name=name, bucket_seconds=10, points=[], available=False)
        stats = json.loads(answer[2])
        width = int(stats.get("bucket_seconds", 10))
        points = []
        for b in stats.get("buckets", []):
            requests = int(b["requests"])
            errors = int(b["client_errors"]) + int(b["server_errors"])
            points.append(
                MetricPoint(
                    t=b["t"],
                    requests=requests,
                    rate=round(requests / width, 3),
                    error_rate=round(errors / requests, 4) if requests else 0.0,
                    server_errors=int(b["server_errors"]),
                    p50_ms=None if b["p50"] is None else b["p50"] * 1000,
                    p99_ms=None if b["p99"] is None else b["p99"] * 1000,
                    by_version={str(k): int(v) for k, v in b.get("by_version", {}).items()},
                )
            )
        return EndpointMetrics(name=name, bucket_seconds=width, points=points, available=True)

    def drift(self, name: str) -> DriftReport:
        """Score the endpoint's recent request rows against its reference data, and record it."""
        record = self.record(name)
        threshold = record.drift_threshold
        if not record.reference:
            return DriftReport(
                name=name,
                threshold=threshold,
                drifted=False,
                message="No reference data: publish with an input example (--example) or "
                "reference rows to get a drift score.",
            )
        answer = self._call(record, "GET", "/sample")
        if answer is None or answer[0] != 200:
            return DriftReport(
                name=name,
                score=record.drift_score,
                threshold=threshold,
                drifted=bool(record.drift_score and record.drift_score > threshold),
                reference_rows=int(record.reference.get("rows", 0)),
                message="The endpoint is not answering; the last score is shown.",
            )
        rows = json.loads(answer[2]).get("rows", [])
        base = {
            "name": name,
            "threshold": threshold,
            "sample_rows": len(rows),
            "reference_rows": int(record.reference.get("rows", 0)),
        }
        if len(rows) < drift.MIN_SAMPLE_ROWS:
            return DriftReport(
                **base,
                drifted=False,
                message=f"{len(rows)} request rows so far; a score needs {drift.MIN_SAMPLE_ROWS}.",
            )
        columns = drift.score(record.reference, rows)
        value = columns[0]["score"] if columns else 0.0
        drifted = value > threshold
        self._update(name, drift_score=value, drift_checked_at=self.ctx.clock.time())
        worst = columns[0]["name"] if columns else None
        message = (
            f"Drifted: {worst} scores {value:.2f} (threshold {threshold:.2f})."
            if drifted
            else f"No drift over the threshold ({value:.2f} ≤ {threshold:.2f})."
        )
        return DriftReport(
            **base,
            score=value,
            drifted=drifted,
            columns=[ColumnDrift(**c) for c in columns],
            message=message,
        )

    def snippets(self, name: str) -> Snippets:
        record = self.record(name)
        url = self.target_of(record).url(self.spec(record)) + "/invocations"
        example = None
        if record.example:
            columns = list(record.example[0])
            example = {
                "dataframe_split": {
                    "columns": columns,
                    "data": [[row.get(c) for c in columns] for row in record.example],
                }
            }
        body = json.dumps(example or {"inputs": []})
        auth = record.token is not None
        curl = (
            f"curl -X POST {shlex.quote(url)} -H 'Content-Type: application/json'"
            + (' -H "Authorization: Bearer $DATAOPS_ENDPOINT_TOKEN"' if auth else "")
            + f" -d {shlex.quote(body)}"
        )
        python = (
            "import requests\n\n"
            + (
                "headers = {'Authorization': 'Bearer ' + os.environ['DATAOPS_ENDPOINT_TOKEN']}\n"
                if auth
                else "headers = {}\n"
            )
            + f"payload = {json.dumps(example or {'inputs': []}, indent=1)}\n"
            + f"response = requests.post({url!r}, json=payload, headers=headers, timeout=30)\n"
            + "print(response.json()['predictions'])\n"
        )
        if auth:
            python = "import os\n" + python
        return Snippets(curl=curl, python=python, example=example)

    def token(self, name: str) -> EndpointToken:
        return EndpointToken(name=name, token=self.record(name).token)

    def invoke(self, name: str, request: InvokeRequest) -> InvokeResult:
        record = self.record(name)
        if record.status != EndpointStatus.RUNNING.value:
            raise Conflict(
                f"The endpoint {name!r} is {record.status}.",
                hint=f"Start it first: dataops endpoints start {name}.",
            )
        self.target_of(record)  # a target no longer offered says so, not "does not answer"
        body = json.dumps(request.payload).encode()
        started = time.monotonic()
        answer = self._call(record, "POST", "/invocations", body)
        if answer is None:
            raise BackendUnavailable(
                f"The endpoint {name!r} does not answer.",
                hint="The supervisor starts it again within seconds; try again.",
            )
        status, headers, raw = answer
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return InvokeResult(
            status=status,
            body=parsed,
            version=headers.get("x-dataops-version"),
            seconds=round(time.monotonic() - started, 4),
        )

    def of_job(self, job_id: str) -> builtins.list[Endpoint]:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            return [self.to_endpoint(r) for r in uow.endpoints.of_job(job_id)]

    def version(self, name: str, version: int) -> ModelVersion:
        return self._registry_call(lambda: self.registry.version(name, version))


def _action(
    at: float, action: str, version: int | None, actor: str | None, detail: str | None = None
) -> dict[str, Any]:
    return {"at": at, "action": action, "version": version, "actor": actor, "detail": detail}


def _push(history: list[dict[str, Any]], entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [*history, entry][-MAX_HISTORY:]


def _safe_uri(uri: str) -> str:
    """A tracking URI without its password."""
    return re.sub(r"//([^/@:]+):[^/@]*@", r"//\1:***@", uri)


def _has_server(record: EndpointRecord) -> bool:
    """Whether a target started something for the endpoint: a process (its id) or a cluster's
    objects (their name)."""
    return record.pid is not None or record.identity is not None
