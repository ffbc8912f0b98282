"""Schedules: what the REST handlers, the magic and the CLI call.

A schedule turns a parameterized notebook into runs on a cron expression in a time zone. Its
definition is versioned (an edit makes a new version; each run records the version that fired
it); its firing (:mod:`.firing`, in the worker) queues ordinary jobs.
"""

from __future__ import annotations

import builtins
import functools
import logging
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, InvalidInput
from ..notebooks import read_notebook
from ..paths import relative_to_root, resolve_notebook
from ..store import Change
from .cron import cron_schedule, preview
from .models import (
    CronPreview,
    Firing,
    FiringOutcome,
    LastRun,
    Notify,
    Schedule,
    ScheduleCreate,
    SchedulePage,
    ScheduleQuery,
    ScheduleRunNow,
    ScheduleStatus,
    ScheduleSummary,
    ScheduleUpdate,
)

if TYPE_CHECKING:
    from ..context import Context
    from ..jobs.models import Job
    from ..jobs.service import JobService
    from .backend import SchedulerBackend
    from .repository import ScheduleRecord

log = logging.getLogger("jupyter_dataops")

#: How many recent outcomes a list shows per schedule (the sparkline).
RECENT = 12
#: The fields of a definition (a version), as ScheduleCreate names them.
DEFINITION_FIELDS = tuple(f for f in ScheduleCreate.model_fields if f != "name")


def new_schedule_id() -> str:
    return uuid.uuid4().hex[:12]


class ScheduleService:
    """Create, change, pause, resume, delete and run schedules; list them and their firings."""

    def __init__(
        self, ctx: Context, *, jobs: JobService, backend: SchedulerBackend | None = None
    ) -> None:
        self.ctx = ctx
        self.jobs = jobs
        self.backend = backend

    def _changed(self, schedule: Schedule) -> Schedule:
        """Tell the backend and whoever fires (the worker) that a schedule changed."""
        if self.backend is not None:
            self.backend.sync(schedule)
        self.jobs.dispatcher.wake()
        return schedule

    @property
    def config(self) -> Any:
        return self.ctx.config

    # -- checking a definition ----------------------------------------------------------------
    def check(
        self, definition: dict[str, Any], root: Path, owner: str | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        """A definition checked as a job of it would be, now: the notebook exists and reads,
        the parameters fit its parameters cell, the executor is one of the server's and can run
        it (its kernel, or in its sandbox), the kernel exists and speaks its language, the cron
        expression and zone are valid and fire no more often than the operator allows, the
        notification targets are sane; a profile that sizes its runs on the executor fits the
        policy of ``owner`` (whose runs they are). Returns it with the parameters typed, and
        warnings."""
        from .notify import check_email, check_webhook_url

        real = resolve_notebook(root, definition["notebook_path"])
        display = relative_to_root(root, real)
        nb = read_notebook(real, max_bytes=self.config.max_notebook_bytes)
        from ..jobs.params import check_parameters, inspect_notebook

        spec = inspect_notebook(nb, display)
        values, warnings = check_parameters(
            spec,
            definition.get("parameters") or {},
            max_value_bytes=self.config.max_parameter_bytes,
        )
        executor = definition.get("executor") or None  # "": the server's default
        runs_on = self.jobs.executor_for(executor)
        self.jobs.check_target(
            definition.get("kernel_name"),
            definition.get("sandbox"),
            definition.get("profile"),
            executor=executor,
        )
        # A profile that sizes its runs on the cluster is checked with the policy now, as a
        # run of it would be (a refusal at every firing would be found too late).
        self.jobs.sized_by(definition.get("profile"), owner, executor=executor)
        if not (definition.get("sandbox") or definition.get("profile")):
            self.jobs.check_kernel(
                definition.get("kernel_name")
                or spec.kernel_name
                or self.config.default_kernel_name,
                nb,
                display,
                executor=runs_on,
            )
        cron = cron_schedule(definition["cron"], definition["timezone"])
        minimum = float(self.config.min_schedule_interval)
        if minimum > 0:
            interval = cron.min_interval()
            if interval < minimum:
                raise InvalidInput(
                    f"The schedule '{definition['cron']}' runs as often as every "
                    f"{interval:g} s; this server allows at most every {minimum:g} s.",
                    hint="Choose a less frequent expression, or ask the operator to lower "
                    "c.DataOps.min_schedule_interval.",
                    cron=definition["cron"],
                )
        notify = Notify.model_validate(definition.get("notify") or {})
        if notify.webhook_url:
            check_webhook_url(notify.webhook_url)
        for address in notify.email_to:
            check_email(address)
        checked = {
            **definition,
            "notebook_path": display,
            "cron": cron.expression,
            "timezone": cron.timezone,
            "parameters": values,
            "executor": executor,
            "notify": notify.model_dump(mode="json"),
        }
        return checked, warnings

    # -- changes ------------------------------------------------------------------------------
    def create(self, request: ScheduleCreate, *, actor: str | None = None) -> Schedule:
        actor = actor or self.ctx.actor
        root = self.ctx.root
        definition, _ = self.check(request.model_dump(mode="json", exclude={"name"}), root, actor)
        now = self.ctx.clock.time()
        cron = cron_schedule(definition["cron"], definition["timezone"])
        schedule_id = new_schedule_id()
        name = request.name or Path(definition["notebook_path"]).stem
        with self.ctx.store.unit_of_work() as uow:
            uow.schedules.insert(
                id=schedule_id,
                name=name,
                notebook_path=definition["notebook_path"],
                root_dir=str(root),
                version=1,
                definition=definition,
                cron=definition["cron"],
                timezone=definition["timezone"],
                executor=definition["executor"],
                status=ScheduleStatus.ACTIVE.value,
                next_due_at=cron.next_after(now),
                last_due_at=now,
                owner=actor,
                created_at=now,
                updated_at=now,
            )
            uow.schedules.insert_version(
                schedule_id=schedule_id,
                version=1,
                definition=definition,
                created_at=now,
                actor=actor,
            )
            uow.audit.add(
                "schedule.create",
                "schedule",
                schedule_id,
                actor,
                notebook=definition["notebook_path"],
                cron=definition["cron"],
                timezone=definition["timezone"],
            )
            uow.commit()
        return self._changed(self.get(schedule_id))

    def update(
        self, schedule_id: str, request: ScheduleUpdate, *, actor: str | None = None
    ) -> Schedule:
        """A new version of the definition; past runs keep the version they ran with."""
        actor = actor or self.ctx.actor
        row = self.record(schedule_id)
        changes = request.model_dump(mode="json", exclude_unset=True, exclude={"name"})
        if "notify" in changes:
            # Notification settings change field by field: adding an e-mail keeps the webhook.
            stored_notify = row.definition.get("notify") or {}
            given = _kept_webhook(changes["notify"] or {}, stored_notify)
            changes["notify"] = {**stored_notify, **given}
        merged = {**row.definition, **{k: v for k, v in changes.items() if k in DEFINITION_FIELDS}}
        targets = ("kernel_name", "sandbox", "profile")
        chosen = [k for k in targets if changes.get(k)]
        if len(chosen) == 1:  # a new target replaces the old one
            merged.update({k: None for k in targets if k != chosen[0]})
        definition, _ = self.check(merged, Path(row.root_dir), row.owner or actor)
        now = self.ctx.clock.time()
        fields: dict[str, Any] = {
            "version": row.version + 1,
            "definition": definition,
            "notebook_path": definition["notebook_path"],
            "cron": definition["cron"],
            "timezone": definition["timezone"],
            "executor": definition["executor"],
        }
        if request.name is not None:
            fields["name"] = request.name
        if row.status == ScheduleStatus.ACTIVE.value:
            # Due times go on from the last one handled, on the new expression. A due time
            # that passed unfired (no scheduler ran) stays due: the scheduler handles it with
            # this version, by its misfire policy, instead of the edit dropping it unrecorded.
            pending = row.next_due_at is not None and row.next_due_at <= now
            if pending:
                start = row.last_due_at if row.last_due_at is not None else row.created_at
            else:
                start = max(row.last_due_at or now, now)
            fields["next_due_at"] = cron_schedule(
                definition["cron"], definition["timezone"]
            ).next_after(start)
            fields["last_due_at"] = start
        with self.ctx.store.unit_of_work() as uow:
            if not uow.schedules.update(row.id, expect_version=row.version, **fields):
                raise Conflict(
                    f"Schedule {row.id} changed while this edit was made.",
                    hint="Look at it again, then edit it.",
                )
            uow.schedules.insert_version(
                schedule_id=row.id,
                version=row.version + 1,
                definition=definition,
                created_at=now,
                actor=actor,
            )
            uow.audit.add(
                "schedule.update", "schedule", row.id, actor, version=row.version + 1,
                changed=sorted(changes),
            )  # fmt: skip
            uow.commit()
        return self._changed(self.get(row.id))

    def pause(self, schedule_id: str, *, actor: str | None = None) -> Schedule:
        row = self.record(schedule_id)
        if row.status == ScheduleStatus.PAUSED.value:
            raise Conflict(f"Schedule {row.id} is already paused.", hint="Resume it instead.")
        with self.ctx.store.unit_of_work() as uow:
            uow.schedules.update(row.id, status=ScheduleStatus.PAUSED.value, next_due_at=None)
            uow.audit.add("schedule.pause", "schedule", row.id, actor or self.ctx.actor)
            uow.commit()
        return self._changed(self.get(row.id))

    def resume(self, schedule_id: str, *, actor: str | None = None) -> Schedule:
        """Resume firing from now on: due times that passed while it was paused do not run."""
        row = self.record(schedule_id)
        if row.status == ScheduleStatus.ACTIVE.value:
            raise Conflict(f"Schedule {row.id} is not paused.", hint="Pause it first.")
        now = self.ctx.clock.time()
        cron = cron_schedule(row.cron, row.timezone)
        with self.ctx.store.unit_of_work() as uow:
            uow.schedules.update(
                row.id,
                status=ScheduleStatus.ACTIVE.value,
                next_due_at=cron.next_after(now),
                last_due_at=now,
            )
            uow.audit.add("schedule.resume", "schedule", row.id, actor or self.ctx.actor)
            uow.commit()
        return self._changed(self.get(row.id))

    def delete(
        self, schedule_id: str, *, delete_runs: bool = False, actor: str | None = None
    ) -> None:
        """Delete a schedule (its versions and firings). Its runs are kept as ordinary jobs,
        or, with ``delete_runs``, the finished ones are deleted with their files and the active
        ones cancelled."""
        actor = actor or self.ctx.actor
        row = self.record(schedule_id)
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            active = uow.schedules.active_runs(row.id)
            finished = uow.schedules.finished_runs(row.id) if delete_runs else []
        with self.ctx.store.unit_of_work() as uow:
            uow.schedules.delete(row.id)
            uow.audit.add(
                "schedule.delete", "schedule", row.id, actor, delete_runs=delete_runs,
                notebook=row.notebook_path,
            )  # fmt: skip
            uow.commit()
        if self.backend is not None:
            self.backend.remove(row.id)
        if delete_runs:
            for job_id in active:
                try:
                    self.jobs.cancel(job_id, actor=actor)
                except Conflict:
                    pass  # it ended meanwhile
            for job_id in finished:
                try:
                    self.jobs.delete(job_id, actor=actor)
                except Exception as exc:  # already gone: nothing to do
                    log.debug("run %s of schedule %s not deleted: %s", job_id, row.id, exc)

    def run_now(
        self, schedule_id: str, request: ScheduleRunNow, *, actor: str | None = None
    ) -> Job:
        """Run the schedule's notebook now (as it is now), with its current definition and the
        given parameters over its own; not a due time, so no firing is recorded."""
        actor = actor or self.ctx.actor
        row = self.record(schedule_id)
        definition = row.definition
        parameters = {**(definition.get("parameters") or {}), **(request.parameters or {})}
        root = Path(row.root_dir)
        kernel_name, bind, sizing = self.jobs.run_target(
            definition.get("kernel_name"),
            definition.get("sandbox"),
            definition.get("profile"),
            row.owner or actor,
            executor=definition.get("executor"),
        )
        try:
            prepared = self.jobs.prepare(
                source=resolve_notebook(root, definition["notebook_path"]),
                root=root,
                display_path=definition["notebook_path"],
                parameters=parameters,
                kernel_name=kernel_name,
                name=row.name,
                timeout_seconds=definition.get("timeout_seconds"),
                max_retries=_retries(definition, self.config),
                tags=["scheduled", "run-now"],
                executor=definition.get("executor"),
                sizing=sizing,
            )
        except BaseException:
            bind(None)
            raise
        try:
            with self.ctx.store.unit_of_work() as uow:
                self.jobs.insert(
                    uow,
                    prepared,
                    actor=actor,
                    schedule_id=row.id,
                    schedule_version=row.version,
                    due_at=None,
                )
                uow.commit()
        except BaseException:
            prepared.discard()
            bind(None)
            raise
        bind(prepared.id)
        self.jobs.dispatcher.wake()
        return self.jobs.get(prepared.id)

    # -- reading ------------------------------------------------------------------------------
    def record(self, schedule_id: str) -> ScheduleRecord:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            return uow.schedules.get(schedule_id)

    def get(self, schedule_id: str) -> Schedule:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            row = uow.schedules.get(schedule_id)
            recent = uow.schedules.recent_outcomes([row.id], RECENT)
            last = uow.schedules.last_runs([row.id])
        return self.to_schedule(row, recent.get(row.id, []), last.get(row.id))

    def list(self, query: ScheduleQuery | None = None) -> SchedulePage:
        query = query or ScheduleQuery()
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            seq = uow.changes.latest()
            rows, next_cursor, prev_cursor = uow.schedules.page(query)
            ids = [r.id for r in rows]
            recent = uow.schedules.recent_outcomes(ids, RECENT)
            last = uow.schedules.last_runs(ids)
            total = uow.schedules.total(query)
            counts = uow.schedules.counts_by_status()
        return SchedulePage(
            items=[self.to_summary(r, recent.get(r.id, []), last.get(r.id)) for r in rows],
            next_cursor=next_cursor,
            prev_cursor=prev_cursor,
            total=total,
            counts={s.value: counts.get(s.value, 0) for s in ScheduleStatus},
            seq=seq,
        )

    def firings(self, schedule_id: str, *, limit: int = 100) -> builtins.list[Firing]:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            row = uow.schedules.get(schedule_id)
            return [
                Firing(
                    schedule_id=f.schedule_id,
                    due_at=f.due_at,
                    fired_at=f.fired_at,
                    version=f.version,
                    outcome=FiringOutcome(f.outcome),
                    job_id=f.job_id,
                    reason=f.reason,
                )
                for f in uow.schedules.firings(row.id, limit)
            ]

    def changes(self, since: int, *, limit: int = 500) -> builtins.list[Change]:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            return [c for c in uow.changes.since(since, limit=limit) if c.kind == "schedule"]

    def preview(self, cron: str, timezone: str = "UTC") -> CronPreview:
        """What the dialog shows while the user types: plain words and the next five times."""
        shown = preview(cron, timezone, self.ctx.clock.time(), 5)
        return CronPreview(
            description=shown["description"],
            timezone=shown["timezone"],
            next_runs=shown["next_runs"],
            min_interval_seconds=cron_schedule(cron, timezone).min_interval(),
        )

    # -- rendering ----------------------------------------------------------------------------
    def _common(
        self,
        row: ScheduleRecord,
        recent: builtins.list[str],
        last: tuple[str, str, float | None] | None,
    ) -> dict[str, Any]:
        from ..jobs.models import JobStatus

        return {
            "id": row.id,
            "name": row.name,
            "notebook_path": row.notebook_path,
            "status": ScheduleStatus(row.status),
            "cron": row.cron,
            "timezone": row.timezone,
            "description": _describe(row.cron, row.timezone),
            "version": row.version,
            "owner": row.owner,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "next_run_at": row.next_due_at,
            "last_run": LastRun(job_id=last[0], status=JobStatus(last[1]), due_at=last[2])
            if last
            else None,
            "recent": recent,
        }

    def to_summary(
        self,
        row: ScheduleRecord,
        recent: builtins.list[str],
        last: tuple[str, str, float | None] | None,
    ) -> ScheduleSummary:
        return ScheduleSummary(**self._common(row, recent, last))

    def to_schedule(
        self,
        row: ScheduleRecord,
        recent: builtins.list[str],
        last: tuple[str, str, float | None] | None,
    ) -> Schedule:
        definition = row.definition
        next_runs: builtins.list[float] = []
        if row.status == ScheduleStatus.ACTIVE.value and row.next_due_at is not None:
            cron = cron_schedule(row.cron, row.timezone)
            next_runs = [row.next_due_at, *cron.next_times(row.next_due_at, 4)]
        return Schedule(
            **self._common(row, recent, last),
            root_dir=row.root_dir,
            parameters=definition.get("parameters") or {},
            kernel_name=definition.get("kernel_name"),
            sandbox=definition.get("sandbox"),
            profile=definition.get("profile"),
            executor=row.executor,
            timeout_seconds=definition.get("timeout_seconds"),
            max_retries=definition.get("max_retries"),
            misfire_policy=definition.get("misfire_policy", "run_once"),
            misfire_grace_seconds=float(definition.get("misfire_grace_seconds", 300.0)),
            concurrency_policy=definition.get("concurrency_policy", "forbid"),
            notify=_shown_notify(definition.get("notify") or {}),
            next_runs=next_runs,
        )


def _kept_webhook(given: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """``given`` notification settings with the stored webhook URL put back where the edit sent
    the redacted form it was shown (as an edit dialog does when only other settings changed);
    a redacted URL that is not the stored one's is refused, as it could never be called."""
    from .notify import redact_url

    url = given.get("webhook_url")
    if not url or "…" not in url:
        return given
    kept = (stored or {}).get("webhook_url")
    if kept and redact_url(kept) == url:
        return {**given, "webhook_url": kept}
    raise InvalidInput(
        f"The webhook URL {url[:80]!r} is a redacted one, as schedules show theirs: it cannot "
        "be called.",
        hint="Give the whole URL, or send back the URL exactly as shown to keep the stored one.",
    )


def _shown_notify(stored: dict[str, Any]) -> Notify:
    """The notification settings as shown: a webhook URL often carries its secret (Slack's in
    the path), so only its scheme and host are shown back."""
    from .notify import redact_url

    notify = Notify.model_validate(stored)
    if notify.webhook_url:
        notify = notify.model_copy(update={"webhook_url": redact_url(notify.webhook_url)})
    return notify


@functools.lru_cache(maxsize=1024)
def _describe(cron: str, timezone: str) -> str:
    try:
        return cron_schedule(cron, timezone).describe()
    except InvalidInput:  # a zone this machine's database no longer has
        return f"{cron} ({timezone})"


def _retries(definition: dict[str, Any], config: Any) -> int:
    value = definition.get("max_retries")
    return int(value) if value is not None else int(config.default_max_retries)
