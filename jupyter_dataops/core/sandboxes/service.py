"""Sandboxes: what the REST handlers, the magic and the CLI call to start and stop them.

A start is checked against the policy (every broken limit is named, with by how much) and, in
one serialised transaction, against the quotas and the free GPUs, so two requests never both
take the last GPU. The row is written before anything is prepared: the store is the source of
truth, and :meth:`SandboxService.reconcile` (called by the server every few seconds) settles
what a crash left behind, samples usage, and stops sandboxes that idled or outlived their
lifetime (warning their owner first). Devices are released in the same update that ends a
sandbox, guarded by its status, so they are released exactly once.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..errors import BackendUnavailable, Conflict, InvalidInput, NotFound, PolicyViolation
from . import policy as rules
from .models import (
    ACTIVE_STATUSES,
    GpuDevice,
    KernelRecord,
    Limits,
    Policy,
    Profile,
    ProfileList,
    ProfileView,
    ProviderChoice,
    Resources,
    Sandbox,
    SandboxCreate,
    SandboxPage,
    SandboxStatus,
    Step,
    Usage,
)
from .provider import SandboxProvider, SandboxSpec
from .quantities import format_cpus, format_memory

if TYPE_CHECKING:
    from ..context import Context
    from .repository import SandboxRecord

log = logging.getLogger("jupyter_dataops")

#: Ended sandboxes a listing shows besides the active ones.
RECENT_ENDED = 50
#: A running kernel whose CPU time grew by this much between two samples was busy.
BUSY_CPU_SECONDS = 0.5


def holder_id() -> str:
    """Who is provisioning (host:pid): a provisioning row whose holder is gone is failed."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder_alive(holder: str | None) -> bool:
    if not holder:
        return False
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname():
        return True  # another machine's: not ours to judge
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _day_start(now: float) -> float:
    day = dt.datetime.fromtimestamp(now, dt.timezone.utc).date()
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


class SandboxService:
    def __init__(
        self,
        ctx: Context,
        *,
        provider: SandboxProvider,
        others: Iterable[SandboxProvider] = (),
        profiles: Callable[[], list[Profile]],
        policy: Callable[[], Policy],
        policy_for: Callable[[SandboxProvider], Policy] | None = None,
        inventory: Callable[[], tuple[list[GpuDevice], str]],
        warn_before: float = 300.0,
    ) -> None:
        self.ctx = ctx
        #: The default provider, and every provider by name (the default's first).
        self.provider = provider
        self.providers: dict[str, SandboxProvider] = {provider.name: provider}
        for other in others:
            self.providers.setdefault(other.name, other)
        self._profiles = profiles
        self._policy = policy
        #: The policy with its open ranges bounded by what one provider can hold.
        self._policy_for = policy_for or (lambda _provider: policy())
        self._inventory = inventory
        self.warn_before = warn_before
        self._threads: list[threading.Thread] = []
        #: CPU seconds of each sandbox at its last sample (busy kernels count as activity).
        self._last_cpu: dict[str, float] = {}
        #: Sandboxes whose provider this server no longer offers, warned about once.
        self._orphans: set[str] = set()
        #: Sandboxes this process is stopping now (a reconcile meanwhile leaves them to it).
        self._stopping: set[str] = set()

    # -- profiles -----------------------------------------------------------------------------
    def profile(self, name: str) -> Profile:
        for found in self._profiles():
            if found.name == name:
                return found
        names = ", ".join(p.name for p in self._profiles()) or "none"
        raise NotFound(
            f"No sandbox profile named {name!r} (there are: {names}).",
            hint="See `dataops profiles list`; operators define them in c.DataOps.sandbox_profiles.",
        )

    # -- providers ----------------------------------------------------------------------------
    def provider_choices(
        self, profile: Profile, gpu_types: builtins.list[str] | None = None
    ) -> builtins.list[ProviderChoice]:
        """Every provider of this server, whether ``profile`` can run there, and what a user
        may ask for there (``gpu_types``: this machine's)."""
        choices = []
        for name, provider in self.providers.items():
            reason = provider.unavailable(profile)
            if profile.provider and profile.provider != name:
                reason = f"the profile runs on {profile.provider}"
            choices.append(
                ProviderChoice(
                    name=name,
                    where="cluster" if provider.where == "cluster" else "local",
                    available=reason is None,
                    reason=reason,
                    fields=rules.field_limits(
                        profile,
                        self._policy_for(provider),
                        _types(provider.cluster_gpu_types(), gpu_types or []),
                    ),
                )
            )
        return choices

    def provider_for(self, profile: Profile, asked: str | None = None) -> SandboxProvider:
        """Where a start of ``profile`` runs: the provider asked for, else the profile's, else
        the default, unless it cannot run the profile and another provider can (a profile with
        an image goes to the cluster). Raises when the one named is not offered."""
        names = ", ".join(self.providers)
        for wanted, what in ((asked, "asked"), (profile.provider, "named by the profile")):
            if wanted and wanted not in self.providers:
                raise InvalidInput(
                    f"Unknown sandbox provider {wanted!r} ({what}); sandboxes here run on: "
                    f"{names}.",
                    hint="Pick one of those; operators offer others with "
                    "c.DataOps.sandbox_providers.",
                )
        if asked:
            return self.providers[asked]
        if profile.provider:
            return self.providers[profile.provider]
        if self.provider.unavailable(profile) is not None:
            for provider in self.providers.values():
                if provider.unavailable(profile) is None:
                    return provider
        return self.provider

    def _provider_of(self, row: SandboxRecord) -> SandboxProvider:
        """The provider a sandbox runs on (its record names it)."""
        found = self.providers.get(row.provider)
        if found is None:
            raise BackendUnavailable(
                f"Sandbox {row.id} runs on {row.provider!r}, which this server no longer offers.",
                hint="Offer it again in c.DataOps.sandbox_providers to stop it there.",
            )
        return found

    def has_ended(self, sandbox_id: str) -> bool:
        """Whether a sandbox's kernels can no longer run: it is not known, or its provider
        has nothing of it left (a stop, a crash, a pod the cluster ended)."""
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            row = uow.sandboxes.find(sandbox_id)
        if row is None or row.status not in ACTIVE_STATUSES:
            return True
        provider = self.providers.get(row.provider)
        return provider is None or (
            row.status == SandboxStatus.READY.value and not provider.exists(sandbox_id)
        )

    def _provider_by_id(self, sandbox_id: str) -> SandboxProvider:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            return self._provider_of(uow.sandboxes.get(sandbox_id))

    def profiles(self, actor: str | None = None) -> ProfileList:
        policy = self._policy()
        devices, source = self._inventory()
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            holdings = self._holdings(uow.sandboxes.all(since=_day_start(self._now())))
            taken = self._taken(uow.sandboxes.all(statuses=ACTIVE_STATUSES))
        team = policy.team_of(actor)
        quotas = rules.quota_use(policy, actor, team, holdings)
        views = []
        for profile in self._profiles():
            here = sorted({d.type for d in devices})
            choices = self.provider_choices(profile, here)
            try:
                provider = self.provider_for(profile)
            except InvalidInput as exc:
                provider = self.provider
                reasons = [exc.message]
            else:
                reasons = []
            bounded = self._policy_for(provider)
            reasons = rules.profile_problems(profile, bounded) + reasons
            cluster_types = provider.cluster_gpu_types()
            gpu_types = _types(cluster_types, here)
            elsewhere = provider.unavailable(profile)
            free = [
                d
                for d in devices
                if d.index not in taken and (not profile.gpu_type or d.type == profile.gpu_type)
            ]
            if (
                cluster_types is None
                and profile.gpus
                and len([d for d in devices if not profile.gpu_type or d.type == profile.gpu_type])
                < profile.gpus
            ):
                reasons.append(
                    f"this machine has {len(devices)} GPU(s)"
                    + (f", none of type {profile.gpu_type}" if profile.gpu_type else "")
                    + f"; the profile needs {profile.gpus}"
                )
            if elsewhere:
                reasons.insert(0, elsewhere)
            views.append(
                ProfileView(
                    profile=profile,
                    available=not reasons,
                    reason="; ".join(reasons) or None,
                    where="cluster" if provider.where == "cluster" or elsewhere else "local",
                    fields=rules.field_limits(profile, bounded, gpu_types),
                    quotas=quotas,
                    gpus_free=0 if cluster_types is not None else len(free),
                    provider=provider.name,
                    providers=choices,
                )
            )
        return ProfileList(
            items=views,
            limits_method=self.provider.limits_method().method,
            gpu_inventory=devices,
            gpu_inventory_source=source,
        )

    # -- start --------------------------------------------------------------------------------
    def start(
        self, request: SandboxCreate, *, actor: str | None = None, background: bool = True
    ) -> Sandbox:
        """Check, reserve and record a sandbox, then provision it (in a thread unless
        ``request.wait`` or not ``background``). Nothing is recorded when a check fails."""
        profile = self.profile(request.profile)
        provider = self.provider_for(profile, request.provider)
        elsewhere = provider.unavailable(profile)
        if elsewhere:
            raise Conflict(
                f"The profile {profile.name!r} cannot start "
                + ("here" if len(self.providers) == 1 else f"on {provider.name}")
                + f": {elsewhere}.",
                hint="Pick a profile without an image, or ask for the cluster backend."
                if provider.where == "local"
                else "Pick another profile, or ask an operator to fix this one.",
            )
        policy = self._policy()
        bounded = self._policy_for(provider)
        resolved = rules.checked(request, profile, bounded)
        devices, _ = self._inventory()
        team = policy.team_of(actor)
        now = self._now()
        sandbox_id = uuid.uuid4().hex[:12]
        res = resolved.resources
        with self.ctx.store.unit_of_work() as uow:
            uow.lock_writes()
            recent = uow.sandboxes.all(since=_day_start(now))
            problems = rules.quota_problems(policy, actor, team, self._holdings(recent), res.gpus)
            if problems:
                raise PolicyViolation(
                    f"The sandbox would exceed a quota: {'; '.join(problems)}.",
                    hint="Stop a sandbox you hold, ask for fewer GPUs, or ask an operator.",
                    problems=problems,
                )
            allocated = (
                self._allocate(devices, self._taken(recent), res)
                if provider.cluster_gpu_types() is None
                else []  # the cluster's scheduler places its GPUs
            )
            uow.sandboxes.insert(
                id=sandbox_id,
                root_dir=str(self.ctx.root),
                profile=profile.name,
                owner=actor,
                team=team,
                status=SandboxStatus.PROVISIONING.value,
                provider=provider.name,
                resources=res.model_dump(),
                devices=[d.model_dump() for d in allocated],
                kernel_name=None,
                display_name=self._display_name(profile, res, sandbox_id),
                workdir=None,
                limits=None,
                env={},
                steps=[Step(name=s).model_dump() for s in provider.steps],
                progress=0.0,
                kernels=[],
                usage=Usage().model_dump(),
                idle_timeout=resolved.idle_timeout,
                max_lifetime=resolved.max_lifetime,
                holder=holder_id(),
                released=False,
                warning=None,
                warned_at=None,
                stop_reason=None,
                error=None,
                created_at=now,
                updated_at=now,
                ready_at=None,
                stopped_at=None,
                last_activity_at=now,
            )
            uow.audit.add(
                "sandbox.start",
                "sandbox",
                sandbox_id,
                actor,
                profile=profile.name,
                gpus=[d.index for d in allocated],
            )
            uow.commit()
        if request.wait or not background:
            self._provision(sandbox_id)
        else:
            thread = threading.Thread(
                target=self._provision,
                args=(sandbox_id,),
                name=f"sandbox-{sandbox_id}",
                daemon=True,
            )
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()
        return self.get(sandbox_id)

    @staticmethod
    def _display_name(profile: Profile, res: Resources, sandbox_id: str) -> str:
        parts = [f"{format_cpus(res.cpus)} CPU", format_memory(res.memory_bytes)]
        if res.gpus:
            parts.append(f"{res.gpus}× {res.gpu_type or 'GPU'}")
        return f"Sandbox {profile.name} {sandbox_id[:6]} ({', '.join(parts)})"

    @staticmethod
    def _taken(rows: Iterable[SandboxRecord]) -> set[int]:
        return {
            int(d["index"])
            for r in rows
            if r.status in ACTIVE_STATUSES and not r.released
            for d in r.devices
        }

    @staticmethod
    def _allocate(devices: list[GpuDevice], taken: set[int], res: Resources) -> list[GpuDevice]:
        if not res.gpus:
            return []
        fitting = [d for d in devices if not res.gpu_type or d.type == res.gpu_type]
        free = [d for d in fitting if d.index not in taken]
        if len(free) < res.gpus:
            kind = f" of type {res.gpu_type}" if res.gpu_type else ""
            if len(fitting) < res.gpus:
                raise PolicyViolation(
                    f"{res.gpus} GPU(s){kind} asked, but this machine has {len(fitting)}"
                    f" (over by {res.gpus - len(fitting)}).",
                    hint="Ask for fewer GPUs, or another GPU type (`dataops profiles list`).",
                )
            raise Conflict(
                f"{res.gpus} GPU(s){kind} asked, {len(free)} free: the others are held by "
                "running sandboxes.",
                hint="Try again when one stops, or ask for fewer.",
            )
        return free[: res.gpus]

    def _holdings(self, rows: Iterable[SandboxRecord]) -> list[rules.Holding]:
        now = self._now()
        day = _day_start(now)
        found = []
        for r in rows:
            gpus = _gpus(r)
            began = max(r.ready_at or r.created_at, day)
            ended = r.stopped_at if r.stopped_at is not None else now
            found.append(
                rules.Holding(
                    id=r.id,
                    owner=r.owner,
                    team=r.team,
                    gpus=0 if r.released else gpus,
                    active=r.status in ACTIVE_STATUSES,
                    gpu_seconds_today=gpus * max(0.0, ended - began),
                )
            )
        return found

    # -- provisioning -------------------------------------------------------------------------
    def _spec(self, row: SandboxRecord) -> SandboxSpec:
        return SandboxSpec(
            id=row.id,
            profile=self.profile(row.profile),
            resources=Resources.model_validate(row.resources),
            devices=tuple(GpuDevice.model_validate(d) for d in row.devices),
            owner=row.owner,
            root_dir=row.root_dir,
            display_name=row.display_name,
        )

    def _provision(self, sandbox_id: str) -> None:
        started = self._now()
        lock = threading.Lock()

        def report(step: str, status: str, detail: str | None = None) -> None:
            with lock, self.ctx.store.unit_of_work() as uow:
                row = uow.sandboxes.get(sandbox_id)
                steps = [dict(s) for s in row.steps]
                for s in steps:
                    if s["name"] == step:
                        s["status"] = status
                        s["detail"] = detail
                        if status in ("done", "failed", "skipped"):
                            s["seconds"] = round(self._now() - started, 3)
                finished = sum(s["status"] in ("done", "skipped") for s in steps)
                uow.sandboxes.update(
                    sandbox_id,
                    only_status=[SandboxStatus.PROVISIONING.value],
                    steps=steps,
                    progress=finished / max(1, len(steps)),
                    updated_at=self._now(),
                )
                uow.commit()

        try:
            with self.ctx.store.unit_of_work(read_only=True) as uow:
                row = uow.sandboxes.get(sandbox_id)
            provider = self._provider_of(row)
            done = provider.provision(self._spec(row), report)
        except Exception as exc:
            message = str(exc) or type(exc).__name__
            log.warning("sandbox %s failed to provision: %s", sandbox_id, message)
            self._give_up(
                sandbox_id,
                SandboxStatus.FAILED,
                SandboxStatus.PROVISIONING,
                reason="provisioning failed",
                error=message,
            )
            return
        now = self._now()
        with self.ctx.store.unit_of_work() as uow:
            moved = uow.sandboxes.update(
                sandbox_id,
                only_status=[SandboxStatus.PROVISIONING.value],
                status=SandboxStatus.READY.value,
                kernel_name=done.kernel_name,
                workdir=done.workdir,
                env=done.env,
                limits=done.limits.model_dump(),
                progress=1.0,
                holder=None,
                ready_at=now,
                last_activity_at=now,
                updated_at=now,
            )
            uow.commit()
        if not moved:  # stopped while it was being prepared
            provider.stop(sandbox_id)

    # -- reading ------------------------------------------------------------------------------
    def get(self, sandbox_id: str) -> Sandbox:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            return self._view(uow.sandboxes.get(sandbox_id))

    def list(self, *, include_ended: bool = True) -> SandboxPage:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            active = uow.sandboxes.all(statuses=ACTIVE_STATUSES)
            ended = []
            if include_ended:
                ended = [
                    r
                    for r in uow.sandboxes.all(
                        statuses=[SandboxStatus.STOPPED.value, SandboxStatus.FAILED.value]
                    )[:RECENT_ENDED]
                ]
        rows = [r for r in [*active, *ended] if r.root_dir == str(self.ctx.root)]
        items = [self._view(r) for r in rows]
        return SandboxPage(items=items, total=len(items))

    def _view(self, row: SandboxRecord) -> Sandbox:
        status = SandboxStatus(row.status)
        idle_stop_at = expires_at = None
        if status.active:
            if row.idle_timeout and row.status == SandboxStatus.READY.value:
                idle_stop_at = (row.last_activity_at or row.created_at) + row.idle_timeout
            if row.max_lifetime:
                expires_at = row.created_at + row.max_lifetime
        usage = Usage.model_validate(row.usage or {})
        end = row.stopped_at if row.stopped_at is not None else self._now()
        began = row.ready_at or row.created_at
        wall = max(0.0, end - began) if row.ready_at or row.stopped_at else 0.0
        usage = usage.model_copy(
            update={
                "wall_seconds": round(wall, 3),
                "gpu_seconds": round(wall * _gpus(row), 3),
            }
        )
        return Sandbox(
            id=row.id,
            profile=row.profile,
            owner=row.owner,
            team=row.team,
            status=status,
            resources=Resources.model_validate(row.resources),
            devices=[GpuDevice.model_validate(d) for d in row.devices],
            provider=row.provider,
            kernel_name=row.kernel_name,
            display_name=row.display_name,
            workdir=row.workdir,
            limits=Limits.model_validate(row.limits) if row.limits else None,
            env=dict(row.env or {}),
            steps=[Step.model_validate(s) for s in row.steps],
            progress=row.progress,
            kernels=[KernelRecord.model_validate(k) for k in row.kernels],
            usage=usage,
            idle_timeout=row.idle_timeout,
            max_lifetime=row.max_lifetime,
            created_at=row.created_at,
            ready_at=row.ready_at,
            stopped_at=row.stopped_at,
            last_activity_at=row.last_activity_at,
            idle_stop_at=idle_stop_at,
            expires_at=expires_at,
            warning=row.warning if status.active else None,
            stop_reason=row.stop_reason,
            error=row.error,
            job_id=row.job_id,
        )

    # -- jobs ---------------------------------------------------------------------------------
    def check_target(self, sandbox_id: str | None, profile: str | None) -> None:
        """What a schedule names to run in exists now: the sandbox (it must be ready when a run
        is due), or a profile that can start here (policy and quotas are checked per run)."""
        if sandbox_id:
            self.get(sandbox_id)
        if profile:
            found = self.profile(profile)
            elsewhere = self.provider_for(found).unavailable(found)
            if elsewhere:
                raise Conflict(
                    f"The profile {found.name!r} cannot start here: {elsewhere}.",
                    hint="Pick a profile without an image.",
                )

    def profile_of_job(self, job_id: str) -> str | None:
        """The profile of the sandbox started for job ``job_id`` (its re-run gets a new one)."""
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            found = uow.sandboxes.of_job(job_id)
        return found.profile if found is not None else None

    def for_job(
        self, sandbox_id: str | None, profile: str | None, actor: str | None
    ) -> tuple[str, Callable[[str | None], None]]:
        """The kernel a job runs with: a ready sandbox's, or that of a sandbox of ``profile``
        started now (checked like any start), which ``bind(job_id)`` ties to the job so it
        stops when the job ends (``bind(None)``: the job was not queued; it stops now)."""
        if sandbox_id:
            found = self.get(sandbox_id)
            if found.status != SandboxStatus.READY or not found.kernel_name:
                raise Conflict(
                    f"Sandbox {found.id} is {found.status.value}: a job runs only in a ready "
                    "sandbox.",
                    hint="Start one (dataops sandboxes start PROFILE), or run with --profile.",
                )
            return found.kernel_name, lambda job_id: None
        assert profile is not None
        started = self.start(SandboxCreate(profile=profile), actor=actor, background=False)
        if started.status != SandboxStatus.READY or not started.kernel_name:
            raise Conflict(
                f"The sandbox for the job could not be prepared: {started.error}",
                hint="Fix the profile, or pick another one.",
            )

        def bind(job_id: str | None) -> None:
            if job_id is None:
                self.stop(started.id, actor=actor, reason="its job was not queued")
                return
            with self.ctx.store.unit_of_work() as uow:
                uow.sandboxes.update(started.id, job_id=job_id, updated_at=self._now())
                uow.commit()

        return started.kernel_name, bind

    # -- stopping -----------------------------------------------------------------------------
    def stop(
        self, sandbox_id: str, *, actor: str | None = None, reason: str | None = None
    ) -> Sandbox:
        """Stop its kernels, take it out of the picker and free its devices (an ended
        sandbox is answered as it is)."""
        with self.ctx.store.unit_of_work() as uow:
            row = uow.sandboxes.get(sandbox_id)
            sandbox_id = row.id
            if row.status not in ACTIVE_STATUSES:
                return self._view(row)
            # A provider no longer offered: refused, changing nothing (its pod may still run
            # there, holding what the record says it holds).
            self._provider_of(row)
            uow.sandboxes.update(
                sandbox_id,
                only_status=list(ACTIVE_STATUSES),
                status=SandboxStatus.STOPPING.value,
                stop_reason=reason or (f"stopped by {actor}" if actor else "stopped"),
                updated_at=self._now(),
            )
            uow.audit.add("sandbox.stop", "sandbox", sandbox_id, actor, reason=reason)
            uow.commit()
        self._stopping.add(sandbox_id)
        try:
            self._finish_stop(sandbox_id)
        finally:
            self._stopping.discard(sandbox_id)
        return self.get(sandbox_id)

    def _finish_stop(self, sandbox_id: str) -> None:
        sample = None
        try:
            sample = self._provider_by_id(sandbox_id).stop(sandbox_id)
        except Exception as exc:  # recorded; the devices are freed all the same
            log.warning("sandbox %s: could not stop everything: %s", sandbox_id, exc)
        self._end(
            sandbox_id,
            SandboxStatus.STOPPED,
            from_statuses=[SandboxStatus.STOPPING.value],
            sample=sample,
        )

    def _give_up(
        self,
        sandbox_id: str,
        status: SandboxStatus,
        from_status: SandboxStatus,
        *,
        reason: str,
        error: str | None = None,
    ) -> bool:
        """Remove what the provider has of it and end it (once); whether this call did."""
        with contextlib.suppress(Exception):
            self._provider_by_id(sandbox_id).stop(sandbox_id)
        return self._end(
            sandbox_id, status, from_statuses=[from_status.value], reason=reason, error=error
        )

    def _end(
        self,
        sandbox_id: str,
        status: SandboxStatus,
        *,
        from_statuses: builtins.list[str],
        reason: str | None = None,
        error: str | None = None,
        sample: Any = None,
    ) -> bool:
        """End a sandbox and release its devices, once: only one caller moves it from
        ``from_statuses``; the others find it moved and change nothing."""
        now = self._now()
        with self.ctx.store.unit_of_work() as uow:
            row = uow.sandboxes.find(sandbox_id)
            if row is None or row.status not in from_statuses:
                return False
            fields: dict[str, Any] = {
                "status": status.value,
                "released": True,
                "stopped_at": now,
                "updated_at": now,
                "holder": None,
                "warning": None,
            }
            if reason is not None:
                fields["stop_reason"] = reason
            if error is not None:
                fields["error"] = error
            if sample is not None:
                fields.update(self._usage_fields(row, sample))
            if not uow.sandboxes.update(sandbox_id, only_status=from_statuses, **fields):
                return False
            if row.devices and not row.released:
                uow.audit.add(
                    "sandbox.release",
                    "sandbox",
                    sandbox_id,
                    None,
                    gpus=[d["index"] for d in row.devices],
                )
            uow.commit()
        self._last_cpu.pop(sandbox_id, None)
        return True

    @staticmethod
    def _usage_fields(row: SandboxRecord, sample: Any) -> dict[str, Any]:
        usage = Usage.model_validate(row.usage or {})
        usage = usage.model_copy(
            update={
                "cpu_seconds": round(max(usage.cpu_seconds, sample.cpu_seconds), 3),
                "peak_memory_bytes": max(usage.peak_memory_bytes, sample.peak_memory_bytes),
            }
        )
        return {
            "usage": usage.model_dump(),
            "kernels": [k.model_dump() for k in sample.kernels],
        }

    # -- activity -----------------------------------------------------------------------------
    def touch(self, sandbox_id: str, at: float | None = None) -> None:
        """Record activity (a kernel was busy or talked to; a job ran in it)."""
        at = at if at is not None else self._now()
        with self.ctx.store.unit_of_work() as uow:
            row = uow.sandboxes.find(sandbox_id)
            if row is None or row.status != SandboxStatus.READY.value:
                return
            if (row.last_activity_at or 0) >= at:
                return
            uow.sandboxes.update(
                sandbox_id,
                only_status=[SandboxStatus.READY.value],
                last_activity_at=at,
                warning=None,
                warned_at=None,
                updated_at=self._now(),
            )
            uow.commit()

    def reconcile(self, *, busy_kernels: dict[str, float] | None = None) -> builtins.list[str]:
        """Settle every active sandbox against its provider; returns what was done, for the log.

        Provisioning ones whose provisioning process died fail; stopping ones finish stopping;
        ready ones whose files are gone stop; the others get their kernels and usage sampled,
        and are stopped when idle past their timeout (warned ``warn_before`` seconds earlier)
        or past their lifetime. ``busy_kernels`` maps kernel ids to when the server last saw
        them active."""
        done: builtins.list[str] = []
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            rows = uow.sandboxes.all(statuses=ACTIVE_STATUSES)
        for provider in self.providers.values():
            try:
                done += [
                    f"{name}: its sandbox is gone; kernel spec removed" for name in provider.prune()
                ]
            except OSError as exc:
                log.debug("cannot prune sandbox kernel specs: %s", exc)
        for row in rows:
            if row.provider not in self.providers:
                if row.id not in self._orphans:  # left alone, said once (not every few seconds)
                    self._orphans.add(row.id)
                    log.warning(
                        "sandbox %s runs on %r, which this server no longer offers; it is left "
                        "alone (c.DataOps.sandbox_providers)",
                        row.id,
                        row.provider,
                    )
                continue
            try:
                line = self._reconcile_one(row, busy_kernels or {})
            except Exception as exc:
                log.warning("sandbox %s: cannot reconcile: %s", row.id, exc)
                continue
            if line:
                done.append(f"{row.id}: {line}")
        return done

    def _reconcile_one(self, row: SandboxRecord, busy: dict[str, float]) -> str | None:
        now = self._now()
        if row.status == SandboxStatus.PROVISIONING.value:
            if _holder_alive(row.holder):
                return None
            if self._give_up(
                row.id,
                SandboxStatus.FAILED,
                SandboxStatus.PROVISIONING,
                reason="provisioning was interrupted",
                error="Provisioning was interrupted: the process preparing it "
                f"({row.holder}) is gone. Start it again.",
            ):
                return "provisioning was interrupted; failed and released"
            return None
        if row.status == SandboxStatus.STOPPING.value:
            if row.id in self._stopping:
                return None  # this process is stopping it: its stop records how it ended
            self._finish_stop(row.id)
            return "stopped"
        provider = self._provider_of(row)
        if not provider.exists(row.id):
            if self._give_up(
                row.id,
                SandboxStatus.STOPPED,
                SandboxStatus.READY,
                reason="its files or kernel spec are gone",
            ):
                return "its files are gone; stopped and released"
            return None
        if row.job_id:
            with self.ctx.store.unit_of_work(read_only=True) as uow:
                job = uow.jobs.find(row.job_id)
            if job is None or job.status in _JOB_ENDED:
                self.stop(
                    row.id,
                    reason=f"its job {row.job_id} "
                    + ("is gone" if job is None else f"ended ({job.status})"),
                )
                return "its job ended; stopped"
            now_active = now  # queued or running: never idle
        else:
            now_active = None
        sample = provider.sample(row.id)
        active_at = max(sample.active_at or 0.0, now_active or 0.0) or None
        for kernel in sample.kernels:
            if kernel.id in busy:
                active_at = max(active_at or 0.0, busy[kernel.id])
        last_cpu = self._last_cpu.get(row.id)
        self._last_cpu[row.id] = sample.cpu_seconds
        if last_cpu is not None and sample.cpu_seconds - last_cpu >= BUSY_CPU_SECONDS:
            active_at = now
        last = max(row.last_activity_at or row.created_at, active_at or 0.0)
        fields = self._usage_fields(row, sample)
        fields["last_activity_at"] = last
        if active_at is not None and active_at > (row.last_activity_at or 0.0):
            fields["warning"] = None
            fields["warned_at"] = None
        ended = [k for k in sample.kernels if k.exit and not _known_exit(row, k.id)]
        if ended:
            k = ended[-1]
            fields["error"] = f"Kernel {k.id[:8]} ended: {k.exit}" + (
                f" (the sandbox's memory limit is {format_memory(row.resources.get('memory_bytes'))})"
                if k.oom
                else ""
            )
        if row.max_lifetime and now >= row.created_at + row.max_lifetime:
            self._save(row.id, fields)
            self.stop(row.id, reason=f"its lifetime of {row.max_lifetime:g} s ended")
            return "lifetime ended; stopped"
        if row.idle_timeout:
            stop_at = last + row.idle_timeout
            if now >= stop_at:
                self._save(row.id, fields)
                self.stop(row.id, reason=f"idle for {row.idle_timeout:g} s")
                return "idle; stopped"
            if now >= stop_at - self.warn_before and not _warned(row, fields):
                fields["warning"] = (
                    f"Idle since {_clock(last)}: it stops at {_clock(stop_at)} unless a kernel "
                    "in it runs something."
                )
                fields["warned_at"] = now
        ends_at = row.created_at + row.max_lifetime
        if row.max_lifetime and now >= ends_at - self.warn_before and not _warned(row, fields):
            fields["warning"] = f"Its lifetime ends at {_clock(ends_at)}; it stops then."
            fields["warned_at"] = now
        self._save(row.id, fields)
        return None

    def _save(self, sandbox_id: str, fields: dict[str, Any]) -> None:
        with self.ctx.store.unit_of_work() as uow:
            row = uow.sandboxes.find(sandbox_id)
            if row is None:
                return
            changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
            if not changed:
                return
            changed["updated_at"] = self._now()
            uow.sandboxes.update(sandbox_id, only_status=[SandboxStatus.READY.value], **changed)
            uow.commit()

    def close(self, timeout: float = 30.0) -> None:
        for thread in self._threads:
            thread.join(timeout)
        for provider in self.providers.values():
            provider.close()

    def _now(self) -> float:
        return self.ctx.clock.time()


_JOB_ENDED = ("completed", "failed", "cancelled")


def _warned(row: SandboxRecord, fields: dict[str, Any]) -> bool:
    """Whether its owner has been warned (and no activity since cleared the warning)."""
    return bool(fields.get("warned_at", row.warned_at))


def _clock(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.timezone.utc).strftime("%H:%M:%S UTC")


def _known_exit(row: SandboxRecord, kernel_id: str) -> bool:
    return any(k.get("id") == kernel_id and k.get("exit") for k in row.kernels)


def _gpus(row: SandboxRecord) -> int:
    """GPUs a sandbox holds: its devices here, or the count a cluster placed."""
    return len(row.devices) or int((row.resources or {}).get("gpus") or 0)


def _types(cluster: builtins.list[str] | None, here: builtins.list[str]) -> builtins.list[str]:
    """GPU types a provider offers: a cluster's, or this machine's devices'."""
    return cluster if cluster is not None else here
