"""Firing schedules: turning due times into jobs, exactly once each.

The :class:`ScheduleFirer` runs in the worker (or in ``dataops scheduler``). One process fires at a
time: it holds the ``scheduler`` lease in the store, renewed while it runs and taken over by
another once it expires (its holder died or stalled). Every due time is recorded under a unique
(schedule, due time) key in the transaction that queues its job, so a restart, a second scheduler
or a crash in the middle never runs a slot twice or loses it: a slot is queued, skipped by policy,
or recorded as missed with the reason (the queue was full, the notebook is gone), never dropped.

Missed due times (no scheduler ran, the clock jumped) follow the schedule's misfire policy:
``run_once`` runs once for all of them (the latest stands for the rest, which are recorded as
skipped); ``skip`` skips those later than the grace period. An overlap follows its concurrency
policy: ``allow``, ``forbid`` (the new one is skipped while the previous runs) or ``replace``
(the previous one is cancelled).

It also turns the end of every scheduled run into the notifications its schedule asks for (an
outbox in the store, delivered with retries by :meth:`ScheduleFirer.deliver`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DataOpsError, QueueFull
from ..jobs.models import TERMINAL_STATUSES, JobStatus
from ..jobs.service import PrepareCache
from ..paths import resolve_notebook
from .cron import CronSchedule, cron_schedule
from .models import FiringOutcome, Notify

if TYPE_CHECKING:
    from ..context import Context
    from ..jobs.service import JobService, PreparedJob
    from ..store import UnitOfWork
    from .notify import Notifier
    from .repository import ScheduleRecord

log = logging.getLogger("jupyter_dataops.scheduler")

LEASE = "scheduler"
#: The change log position up to which ended runs have been turned into notifications.
NOTIFY_CURSOR = "scheduler-notified"
#: Skipped due times recorded one by one after a long outage (the rest are counted in a reason).
MAX_RECORDED_SKIPS = 100


class ScheduleFirer:
    """Fires due schedules; call :meth:`tick` when one is due (it says when the next one is)."""

    lease_seconds = 30.0
    #: Due schedules read per query (a tick reads until none is left).
    batch = 200

    def __init__(
        self,
        ctx: Context,
        jobs: JobService,
        *,
        holder: str,
        on_queued: Callable[[], None] | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.ctx = ctx
        self.jobs = jobs
        self.holder = holder
        self._on_queued = on_queued
        self._notifier = notifier
        self._lease_until = 0.0
        self._crons: dict[tuple[str, str], CronSchedule] = {}
        self._sending = threading.Lock()
        self.fired = 0

    # -- the lease ----------------------------------------------------------------------------
    def holds_lease(self) -> bool:
        """Take or renew the lease when a third of it is left; whether this process fires."""
        now = self.ctx.clock.time()
        if now < self._lease_until - self.lease_seconds * 2 / 3:
            return True
        with self.ctx.store.unit_of_work() as uow:
            held = uow.leases.acquire(LEASE, self.holder, now=now, ttl=self.lease_seconds)
            uow.commit()
        self._lease_until = now + self.lease_seconds if held else 0.0
        return held

    def release(self) -> None:
        with self.ctx.store.unit_of_work() as uow:
            uow.leases.release(LEASE, self.holder)
            uow.commit()
        self._lease_until = 0.0

    # -- one tick -----------------------------------------------------------------------------
    def tick(self) -> float:
        """Fire what is due and hand out notifications; seconds until the next thing to do."""
        if not self.holds_lease():
            return self.lease_seconds / 3  # try again: the holder may have died
        now = self.ctx.clock.time()
        while True:
            with self.ctx.store.unit_of_work(read_only=True) as uow:
                due = uow.schedules.due(now, self.batch)
            handled = self.fire_many(due, now) if due else 0
            if len(due) < self.batch or handled == 0:
                break  # all read, or what is left could not be fired (retried next tick)
        self.collect_outcomes()
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            next_due = uow.schedules.next_due()
        wait = self.lease_seconds / 3
        if next_due is not None:
            wait = min(wait, max(0.0, next_due - self.ctx.clock.time()))
        return wait

    def cron(self, row: ScheduleRecord) -> CronSchedule:
        key = (row.cron, row.timezone)
        cron = self._crons.get(key)
        if cron is None:
            if len(self._crons) > 4096:
                self._crons.clear()
            cron = self._crons[key] = cron_schedule(row.cron, row.timezone)
        return cron

    def fire(self, row: ScheduleRecord, now: float) -> None:
        """Handle every due time of ``row`` up to ``now``: one run (or none, by policy), the
        others recorded as skipped, and its next due time."""
        self.fire_many([row], now)

    def fire_many(self, rows: list[ScheduleRecord], now: float) -> int:
        """Fire ``rows`` (due schedules) together: their notebooks are staged, then their jobs,
        due times and next due times are written in one transaction, so a burst of schedules
        due at the same minute costs a few statements, not a few per schedule. Whatever goes
        wrong in that transaction, each is then fired on its own. Returns how many were
        handled (their due times recorded)."""
        plans: list[_Plan] = []
        for row in rows:
            try:
                plan = self._plan(row, now)
            except Exception:  # one schedule's trouble must not stop the others
                log.exception("could not fire schedule %s", row.id)
                continue
            if plan is not None:
                plans.append(plan)
        if not plans:
            return 0
        wanting = [p.row.id for p in plans if p.run_at is not None and _policy(p.row) != "allow"]
        active: dict[str, list[str]] = {}
        if wanting:
            with self.ctx.store.unit_of_work(read_only=True) as uow:
                active = uow.schedules.active_runs_many(wanting)
        cache = PrepareCache()
        ready: list[_Plan] = []
        for plan in plans:
            if plan.run_at is not None:
                try:
                    self._prepare_run(plan, active.get(plan.row.id, []), cache)
                except Exception:
                    log.exception("could not fire schedule %s", plan.row.id)
                    continue
            ready.append(plan)
        try:
            self._commit_many(ready)
        except Exception as exc:
            log.warning(
                "could not record %d firings at once (%s); recording them one by one",
                len(ready),
                exc,
            )
            for plan in ready:
                try:
                    self._commit(plan)
                except Exception:
                    log.exception("could not fire schedule %s", plan.row.id)
                    plan.discard()
                    plan.done = False
        handled = [plan for plan in ready if plan.done]
        queued = sum(1 for plan in handled if plan.kind is FiringOutcome.QUEUED)
        for plan in handled:
            if plan.kind is FiringOutcome.MISSED:
                log.warning(
                    "schedule %s: the run due at %s was missed: %s",
                    plan.row.id,
                    plan.run_at,
                    plan.reason,
                )
        if queued:
            self.fired += queued
            if self._on_queued is not None:
                self._on_queued()
        return len(handled)

    def _plan(self, row: ScheduleRecord, now: float) -> _Plan | None:
        """What to do for ``row``'s due times up to ``now``: which one runs (by the misfire
        policy), which are recorded as skipped and why, and the next due time. None when
        there is none (the clock went back): its next due time is set again."""
        cron = self.cron(row)
        definition = row.definition
        start = row.last_due_at if row.last_due_at is not None else row.created_at
        count, times = _due_times(cron, start, now)
        next_due = cron.next_after(now)
        if not times:  # the clock went back, or the row was computed on another machine
            with self.ctx.store.unit_of_work() as uow:
                uow.schedules.update(row.id, expect_version=row.version, next_due_at=next_due)
                uow.commit()
            return None
        grace = float(definition.get("misfire_grace_seconds", 300.0))
        policy = definition.get("misfire_policy", "run_once")
        latest = times[-1]
        skipped: list[tuple[float, str]] = []
        run_at: float | None = latest
        if policy == "skip" and now - latest > grace:
            run_at = None
        for due in times:
            if due == run_at:
                continue
            late = now - due
            if policy == "skip" and late > grace:
                reason = (
                    f"Late by {late:.0f} s, more than the grace of {grace:g} s (misfire: skip)."
                )
            else:
                reason = (
                    "Missed while no scheduler ran; one run, for the latest due time, stands "
                    "for all of them (misfire: run once)."
                )
            skipped.append((due, reason))
        if count > len(times):
            skipped.insert(
                0,
                (
                    times[0],
                    f"{count - len(times)} earlier due times were missed too (not listed).",
                ),
            )
        return _Plan(row=row, run_at=run_at, skipped=skipped, next_due=next_due)

    def _prepare_run(self, plan: _Plan, active: list[str], cache: PrepareCache) -> None:
        """Decide the run's fate by the concurrency policy and stage its notebook as it is
        now: ``plan`` becomes queued (with the staged job), skipped or missed (with why)."""
        row = plan.row
        definition = row.definition
        policy = _policy(row)
        if active and policy == "forbid":
            plan.kind = FiringOutcome.SKIPPED
            plan.reason = (
                f"The previous run (job {active[0]}) is still going (concurrency: forbid)."
            )
            return
        if active and policy == "replace":
            for job_id in active:
                try:
                    self.jobs.cancel(job_id, actor=row.owner)
                except DataOpsError:
                    pass  # it ended meanwhile
        root = Path(row.root_dir)
        try:
            where = (row.root_dir, definition["notebook_path"])
            source = cache.paths.get(where)
            if source is None:
                source = cache.paths[where] = resolve_notebook(root, definition["notebook_path"])
            # A sandbox to run in: a ready one's kernel, or one of a profile started for it
            # (after the executor is checked: one the server no longer has misses the run).
            # On a cluster executor, a profile sizes the run's pod instead (no sandbox).
            kernel_name, plan.bind, sizing = self.jobs.run_target(
                definition.get("kernel_name"),
                definition.get("sandbox"),
                definition.get("profile"),
                row.owner,
                executor=definition.get("executor"),
            )
            plan.prepared = self.jobs.prepare(
                # The notebook as it is now, at firing time, staged like any job's.
                source=source,
                root=root,
                display_path=definition["notebook_path"],
                parameters=definition.get("parameters") or {},
                kernel_name=kernel_name,
                name=row.name,
                timeout_seconds=definition.get("timeout_seconds"),
                max_retries=_retries(definition, self.ctx.config),
                tags=["scheduled"],
                cache=cache,
                executor=definition.get("executor"),
                sizing=sizing,
            )
        except DataOpsError as exc:
            plan.kind, plan.reason = FiringOutcome.MISSED, str(exc)
            plan.unbind()
            return
        plan.kind = FiringOutcome.QUEUED
        if self.jobs.before_run is not None:
            # One snapshot per project per burst: its runs all run on the project as it is now.
            if row.root_dir not in cache.snapshots:
                try:
                    cache.snapshots[row.root_dir] = self.jobs.before_run(
                        f"schedule {row.id}", row.owner, row.root_dir
                    )
                except DataOpsError as exc:  # the run goes on without: said in the log
                    log.warning("no snapshot for the runs of %s: %s", row.root_dir, exc)
                    cache.snapshots[row.root_dir] = None
            plan.snapshot_id = cache.snapshots[row.root_dir]

    @staticmethod
    def _current(plan: _Plan, current: ScheduleRecord | None) -> bool:
        """Whether ``plan`` still stands: its schedule was not changed, paused, deleted or
        fired by another scheduler since it was read."""
        row = plan.row
        return not (
            current is None
            or current.version != row.version
            or current.status != row.status
            or (current.last_due_at or 0.0) >= plan.handled
        )

    def _commit_many(self, plans: list[_Plan]) -> None:
        """Write ``plans`` in one transaction: the queued jobs (within the queue's bound; those
        over it are recorded as missed), every due time, and the next due times."""
        if not plans:
            return
        with self.ctx.store.unit_of_work() as uow:
            uow.lock_writes()
            current = uow.schedules.find_many([plan.row.id for plan in plans])
            kept = [plan for plan in plans if self._current(plan, current.get(plan.row.id))]
            runs = [plan for plan in kept if plan.prepared is not None]
            accepted = self.jobs.insert_many(
                uow,
                [
                    (
                        plan.prepared,
                        plan.row.owner,
                        {
                            "schedule_id": plan.row.id,
                            "schedule_version": plan.row.version,
                            "due_at": plan.run_at,
                            "snapshot_id": plan.snapshot_id,
                        },
                    )
                    for plan in runs
                    if plan.prepared is not None
                ],
            )
            refused = [plan for plan, ok in zip(runs, accepted, strict=True) if not ok]
            for plan in refused:
                plan.kind, plan.reason = FiringOutcome.MISSED, str(self.jobs.queue_full())
            uow.schedules.record_firings(
                [firing for plan in kept for firing in self._firings(plan)]
            )
            uow.schedules.advance_many(
                [(plan.row.id, plan.row.version, plan.handled, plan.next_due) for plan in kept]
            )
            uow.commit()
        for plan in plans:
            if plan in kept and plan not in refused:
                plan.done = True
                plan.bound()
            else:  # abandoned, or over the queue's bound: its staged files go
                plan.done = plan in kept
                plan.discard()

    def _commit(self, plan: _Plan) -> None:
        """Write one plan in a transaction of its own (after a batch could not be written)."""
        row = plan.row
        with self.ctx.store.unit_of_work() as uow:
            uow.lock_writes()
            if not self._current(plan, uow.schedules.find(row.id)):
                plan.discard()
                return
            if plan.prepared is not None and plan.run_at is not None:
                plan.kind, plan.reason = FiringOutcome.QUEUED, None  # as prepared
                try:
                    self.jobs.insert(
                        uow,
                        plan.prepared,
                        actor=row.owner,
                        schedule_id=row.id,
                        schedule_version=row.version,
                        due_at=plan.run_at,
                        snapshot_id=plan.snapshot_id,
                    )
                except QueueFull as exc:
                    plan.kind, plan.reason = FiringOutcome.MISSED, str(exc)
                    plan.discard()
                else:
                    plan.bind_after_commit = True
            uow.schedules.record_firings(self._firings(plan))
            uow.schedules.update(
                row.id,
                expect_version=row.version,
                last_due_at=plan.handled,
                next_due_at=plan.next_due,
            )
            uow.commit()
        plan.done = True
        if plan.bind_after_commit:
            plan.bound()

    def _firings(self, plan: _Plan) -> list[dict[str, Any]]:
        """The rows recording what became of ``plan``'s due times."""
        now = self.ctx.clock.time()
        row = plan.row
        rows = [
            {
                "schedule_id": row.id,
                "due_at": due,
                "fired_at": now,
                "version": row.version,
                "outcome": FiringOutcome.SKIPPED.value,
                "job_id": None,
                "reason": why,
            }
            for due, why in plan.skipped[-MAX_RECORDED_SKIPS:]
        ]
        if plan.run_at is not None:
            queued = plan.kind is FiringOutcome.QUEUED and plan.prepared is not None
            rows.append(
                {
                    "schedule_id": row.id,
                    "due_at": plan.run_at,
                    "fired_at": now,
                    "version": row.version,
                    "outcome": plan.kind.value,
                    "job_id": plan.prepared.id if queued and plan.prepared else None,
                    "reason": plan.reason,
                }
            )
        return rows

    # -- notifications ------------------------------------------------------------------------
    def collect_outcomes(self) -> int:
        """Turn the ends of scheduled runs since the last look into notifications (an outbox,
        so a notification is made once even across restarts). Returns how many were made."""
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            since, latest = uow.changes.cursor(NOTIFY_CURSOR), uow.changes.latest()
        if since is not None and since >= latest:
            return 0  # nothing changed: no write (this runs every few seconds)
        made = 0
        with self.ctx.store.unit_of_work() as uow:
            since = uow.changes.cursor(NOTIFY_CURSOR)
            if since is None:  # the first scheduler of this store: from now on
                uow.changes.set_cursor(NOTIFY_CURSOR, uow.changes.latest())
                uow.commit()
                return 0
            changes = uow.changes.since(since, limit=500)
            if not changes:
                return 0
            ended = [c.id for c in changes if c.kind == "job" and c.action == "updated"]
            for job in uow.jobs.many(ended):
                schedule_id = job.schedule_id
                if schedule_id is None or JobStatus(job.status) not in TERMINAL_STATUSES:
                    continue
                made += self._enqueue(uow, schedule_id, job)
            uow.changes.set_cursor(NOTIFY_CURSOR, changes[-1].seq)
            uow.commit()
        return made

    def _enqueue(self, uow: UnitOfWork, schedule_id: str, job: Any) -> int:
        from .notify import render

        schedule = uow.schedules.find(schedule_id)
        if schedule is None:
            return 0
        notify = Notify.model_validate(schedule.definition.get("notify") or {})
        status = JobStatus(job.status)
        if status is JobStatus.CANCELLED:
            return 0
        outcome = "failed" if status is JobStatus.FAILED else "completed"
        if outcome == "failed" and not notify.on_failure:
            return 0
        if outcome == "completed" and not notify.on_success:
            return 0
        error = None
        if job.error:
            error = f"{job.error.get('ename')}: {job.error.get('evalue', '')}".strip(": ")
        duration = None
        if job.started_at is not None and job.finished_at is not None:
            duration = job.finished_at - job.started_at
        payload = render(
            schedule_name=schedule.name,
            schedule_id=schedule.id,
            notebook_path=job.notebook_path,
            job_id=job.id,
            outcome=outcome,  # type: ignore[arg-type]
            error=error,
            due_at=job.due_at,
            finished_at=job.finished_at,
            duration=duration,
            url=None,
        )
        now = self.ctx.clock.time()
        targets = ([("webhook", notify.webhook_url)] if notify.webhook_url else []) + [
            ("email", address) for address in notify.email_to
        ]
        made = 0
        for channel, target in targets:
            made += uow.schedules.enqueue_notification(
                schedule_id=schedule.id,
                job_id=job.id,
                channel=channel,
                target=target,
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        return made

    def deliver(self, limit: int = 50) -> int:
        """Send the notifications that are due; a failure is logged and retried later, and
        never touches the run it is about. Returns how many were sent."""
        from .notify import NotificationError, next_attempt, redact_url

        if self._notifier is None or not self._sending.acquire(blocking=False):
            return 0
        sent = 0
        try:
            now = self.ctx.clock.time()
            with self.ctx.store.unit_of_work(read_only=True) as uow:
                due = uow.schedules.due_notifications(now, limit)
            for note in due:
                try:
                    self._notifier.send(note.channel, note.target, note.payload)
                except NotificationError as exc:
                    attempts = note.attempts + 1
                    retry_at = next_attempt(attempts, self.ctx.clock.time())
                    shown = redact_url(note.target) if note.channel == "webhook" else note.target
                    log.warning(
                        "notification %s of job %s to %s %s failed (attempt %d): %s",
                        note.id, note.job_id, note.channel, shown, attempts, exc,
                    )  # fmt: skip
                    fields: dict[str, Any] = {"attempts": attempts, "last_error": str(exc)[:1000]}
                    if retry_at is None:
                        fields["status"] = "failed"
                    else:
                        fields["next_attempt_at"] = retry_at
                else:
                    fields = {"attempts": note.attempts + 1, "status": "sent", "last_error": None}
                    sent += 1
                with self.ctx.store.unit_of_work() as uow:
                    uow.schedules.update_notification(note.id, **fields)
                    uow.commit()
        finally:
            self._sending.release()
        return sent


@dataclasses.dataclass(eq=False)
class _Plan:
    """One schedule's firing, from its due times to what is written."""

    row: ScheduleRecord
    run_at: float | None
    skipped: list[tuple[float, str]]
    next_due: float
    kind: FiringOutcome = FiringOutcome.SKIPPED
    reason: str | None = None
    prepared: PreparedJob | None = None
    #: The snapshot of the project the run runs on (lineage), if snapshots of jobs are on.
    snapshot_id: str | None = None
    #: Written: its due times are recorded.
    done: bool = False
    #: Ties the sandbox started for the run (a profile's) to its job; None: no such sandbox.
    bind: Callable[[str | None], None] | None = None
    bind_after_commit: bool = False

    @property
    def handled(self) -> float:
        """The latest due time this firing handles."""
        run = [self.run_at] if self.run_at is not None else []
        return max([due for due, _ in self.skipped] + run)

    def discard(self) -> None:
        """Remove the staged files of a run that was not queued after all (and stop the
        sandbox started for it)."""
        if self.prepared is not None:
            self.prepared.discard()
            self.prepared = None
        self.unbind()

    def bound(self) -> None:
        """The run is queued: its sandbox (if one was started for it) now belongs to its job."""
        if self.bind is not None and self.prepared is not None:
            self.bind(self.prepared.id)
            self.bind = None

    def unbind(self) -> None:
        if self.bind is not None:
            self.bind(None)
            self.bind = None


def _policy(row: ScheduleRecord) -> str:
    return str(row.definition.get("concurrency_policy", "forbid"))


def _due_times(cron: CronSchedule, start: float, now: float) -> tuple[int, list[float]]:
    """How many due times fall in (start, now], and the latest ones (at most
    MAX_RECORDED_SKIPS + 1), oldest first; a long outage is counted, not listed whole."""
    count = 0
    kept: list[float] = []
    t = start
    while True:
        batch = cron.times_between(t, now, 1000)
        if not batch:
            return count, kept
        count += len(batch)
        kept = (kept + batch)[-(MAX_RECORDED_SKIPS + 1) :]
        if len(batch) < 1000:
            return count, kept
        t = batch[-1]


def _retries(definition: dict[str, Any], config: Any) -> int:
    value = definition.get("max_retries")
    return int(value) if value is not None else int(config.default_max_retries)
