"""The job runner: the one place where a job's state changes once it is queued.

It runs in the worker process. Each :meth:`JobRunner.step` takes what the executor reported, stops
executions that were cancelled or ran past their time limit, and starts queued jobs while the
executor has room. Retries, time limits and the meaning of an execution's end (completed, failed,
cancelled, timed out, lost) are decided here, the same for every executor; an executor only
starts, watches and stops executions (see :mod:`.executor`).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .executor import ExecutionRequest, ExecutionUpdate, StopReason, execution_id
from .models import JobError, JobStatus
from .service import job_files

if TYPE_CHECKING:
    from ..context import Context
    from .executor import Executor
    from .repository import JobRecord

log = logging.getLogger("jupyter_dataops.worker")


@dataclasses.dataclass
class _Active:
    """An execution this runner started and has not seen end."""

    job_id: str
    attempt: int
    max_retries: int
    timeout: float | None
    started: float  #: monotonic
    stop_reason: StopReason | None = None
    stop_at: float | None = None


class JobRunner:
    """Drives one executor's executions through the jobs' state machine.

    ``wake`` is called (from any thread) whenever the executor reports something, so the loop
    that calls :meth:`step` can run it at once rather than at its next tick.
    """

    #: Seconds an execution may take to end after it was told to stop; then it is ended anyway
    #: (and its slot freed), whatever the executor does with it later.
    stop_grace_seconds = 10.0

    def __init__(
        self,
        ctx: Context,
        executor: Executor,
        *,
        worker_id: str,
        max_concurrent: int,
        wake: Callable[[], None] | None = None,
        job_env: Callable[[JobRecord], dict[str, str]] | None = None,
    ) -> None:
        self.ctx = ctx
        self.executor = executor
        self.worker_id = worker_id
        self.max_concurrent = max(1, max_concurrent)
        self._wake = wake
        self._job_env = job_env
        self._updates: queue.SimpleQueue[ExecutionUpdate] = queue.SimpleQueue()
        self.active: dict[str, _Active] = {}
        self.finished = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def open(self) -> list[str]:
        """Start the executor and settle the jobs a previous worker left running."""
        self.executor.open(self._report)
        return self.recover()

    def _report(self, update: ExecutionUpdate) -> None:
        self._updates.put(update)
        if self._wake is not None:
            self._wake()

    def recover(self) -> list[str]:
        """Jobs marked running by a worker that is gone: the executor re-attaches to those it
        still runs; the others are retried if they have retries left, else failed."""
        notes = []
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            orphans = [
                row
                for row in uow.jobs.in_status([JobStatus.RUNNING], executor=self.executor.name)
                if execution_id(row.id, row.attempt) not in self.active
            ]
        ids = {execution_id(row.id, row.attempt): row for row in orphans}
        recovered = self.executor.recover(set(ids)) if ids else set()
        now = self.ctx.clock.monotonic()
        for eid, row in ids.items():
            if eid in recovered:
                self.active[eid] = self._tracking(row, now)
                notes.append(f"job {row.id}: re-attached to its execution")
                continue
            ended = self.executor.ended(self._request(row, eid))
            if ended is not None:
                # It ended while no worker watched (a cluster's Job, gone since): as reported.
                self.active[eid] = self._tracking(row, now)
                self._exited(eid, ended)
                notes.append(f"job {row.id}: ended while the worker was away ({ended.outcome})")
                continue
            reason = (
                f"The worker ({row.worker_id}) stopped while the job was running "
                f"(attempt {row.attempt})."
            )
            self._end_attempt(row.id, row.attempt, JobError(ename="WorkerLost", evalue=reason))
            notes.append(f"job {row.id}: {reason}")
        return notes

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop every execution (its job is retried if it can be, else failed) and close. An
        executor whose executions outlive the worker (``detached``) keeps them running: their
        jobs stay running in the store and the next worker re-attaches to them."""
        if self.executor.detached:
            self._apply(self._drain())
            self.active.clear()
            self.executor.close()
            return
        for eid in list(self.active):
            self._stop(eid, "shutdown")
        deadline = self.ctx.clock.monotonic() + timeout
        while self.active and self.ctx.clock.monotonic() < deadline:
            try:
                update = self._updates.get(timeout=0.1)
            except queue.Empty:
                continue
            self._apply([update])
        for eid in list(self.active):  # never reported an end: the job is lost with the worker
            self._exited(eid, ExecutionUpdate(eid, "exited", outcome="stopped"))
        self.executor.close()

    # -- one step -----------------------------------------------------------------------------
    def step(self) -> bool:
        """Apply reports, enforce cancels and limits, start queued jobs. Whether any job is
        active afterwards."""
        self._apply(self._drain())
        self._enforce_limits()
        self._start_queued()
        return bool(self.active)

    def _drain(self) -> list[ExecutionUpdate]:
        updates = []
        while True:
            try:
                updates.append(self._updates.get_nowait())
            except queue.Empty:
                return updates

    def _apply(self, updates: list[ExecutionUpdate]) -> None:
        # Progress reported several times since the last step: only the newest matters.
        newest_progress: dict[str, int] = {}
        for index, update in enumerate(updates):
            if update.kind == "progress":
                newest_progress[update.execution_id] = index
        for index, update in enumerate(updates):
            active = self.active.get(update.execution_id)
            if active is None:
                continue  # ended already (e.g. after a stop that took too long)
            if update.kind == "progress":
                if newest_progress[update.execution_id] != index:
                    continue
                self._update(
                    active,
                    cells_completed=update.cells_completed or 0,
                    current_cell=update.current_cell,
                )
            elif update.kind == "pending":
                self._update(active, pending_reason=update.reason or "waiting")
            elif update.kind == "running":
                self._update(active, pending_reason=None)
            elif update.kind == "exited":
                self._exited(update.execution_id, update)

    def _update(self, active: _Active, **fields: Any) -> None:
        with self.ctx.store.unit_of_work() as uow:
            uow.jobs.update(active.job_id, from_status=[JobStatus.RUNNING], **fields)
            uow.commit()

    def _exited(self, eid: str, update: ExecutionUpdate) -> None:
        active = self.active.pop(eid)
        self.finished += 1
        now = self.ctx.clock.time()
        if update.usage:
            with self.ctx.store.unit_of_work() as uow:
                uow.jobs.update(active.job_id, usage=dict(update.usage))
                uow.commit()
        reason = active.stop_reason
        if update.outcome == "succeeded" and reason != "shutdown":
            with self.ctx.store.unit_of_work() as uow:
                row = uow.jobs.find(active.job_id)
                done = row.cells_total if row is not None else 0
                uow.jobs.update(
                    active.job_id,
                    from_status=[JobStatus.RUNNING],
                    status=JobStatus.COMPLETED,
                    finished_at=now,
                    current_cell=None,
                    pending_reason=None,
                    cells_completed=update.cells_completed or done,
                    error=None,
                )
                uow.commit()
            return
        if reason == "cancel":
            with self.ctx.store.unit_of_work() as uow:
                uow.jobs.update(
                    active.job_id,
                    from_status=[JobStatus.RUNNING],
                    status=JobStatus.CANCELLED,
                    finished_at=now,
                    current_cell=None,
                    pending_reason=None,
                    error=JobError(
                        ename="Cancelled", evalue="Cancelled while running."
                    ).model_dump(),
                )
                uow.commit()
            return
        if reason == "timeout":
            error = JobError(
                ename="TimeoutError",
                evalue=f"The job timed out after {active.timeout:g} s (its time limit).",
            )
            self._end_attempt(active.job_id, active.attempt, error, retry=False)
            return
        if reason == "shutdown":
            error = JobError(
                ename="WorkerLost", evalue="The worker stopped while the job was running."
            )
        elif update.error is not None:
            error = update.error
        elif update.outcome == "lost":
            error = JobError(ename="ExecutionLost", evalue="The executor lost the execution.")
        else:
            error = JobError(ename="Stopped", evalue="The execution stopped before it ended.")
        self._end_attempt(active.job_id, active.attempt, error)

    def _end_attempt(
        self, job_id: str, attempt: int, error: JobError, *, retry: bool = True
    ) -> None:
        """Fail an attempt: queue the next one if retries are left, else fail the job."""
        with self.ctx.store.unit_of_work() as uow:
            row = uow.jobs.find(job_id)
            if row is None or row.status != JobStatus.RUNNING.value or row.attempt != attempt:
                return
            if retry and row.attempt <= row.max_retries and not row.cancel_requested:
                uow.jobs.update(
                    job_id,
                    from_status=[JobStatus.RUNNING],
                    status=JobStatus.QUEUED,
                    attempt=row.attempt + 1,
                    error=error.model_dump(),
                    worker_id=None,
                    current_cell=None,
                    pending_reason=None,
                )
            else:
                uow.jobs.update(
                    job_id,
                    from_status=[JobStatus.RUNNING],
                    status=JobStatus.FAILED,
                    finished_at=self.ctx.clock.time(),
                    current_cell=None,
                    pending_reason=None,
                    error=error.model_dump(),
                )
            uow.commit()

    def _enforce_limits(self) -> None:
        if not self.active:
            return
        now = self.ctx.clock.monotonic()
        by_job = {a.job_id: eid for eid, a in self.active.items()}
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            cancelled = uow.jobs.cancel_requested_among(list(by_job))
        for job_id in cancelled:
            eid = by_job[job_id]
            if self.active[eid].stop_reason is None:
                self._stop(eid, "cancel")
        for eid, active in list(self.active.items()):
            if active.stop_reason is None:
                if active.timeout and now - active.started > active.timeout:
                    self._stop(eid, "timeout")
            elif active.stop_at is not None and now - active.stop_at > self.stop_grace_seconds:
                log.warning(
                    "execution %s did not end %.0f s after it was told to stop; ending its job",
                    eid,
                    self.stop_grace_seconds,
                )
                self._exited(eid, ExecutionUpdate(eid, "exited", outcome="stopped"))

    def _stop(self, eid: str, reason: StopReason) -> None:
        active = self.active[eid]
        active.stop_reason = reason
        active.stop_at = self.ctx.clock.monotonic()
        try:
            self.executor.stop(eid, reason)
        except Exception:
            log.exception("could not stop execution %s", eid)

    def _start_queued(self) -> None:
        free = self.max_concurrent - len(self.active)
        if free <= 0:
            return
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            candidates = uow.jobs.oldest_queued(self.executor.name, free)
        for job_id in candidates:
            now = self.ctx.clock.time()
            with self.ctx.store.unit_of_work() as uow:
                claimed = uow.jobs.update(
                    job_id,
                    from_status=[JobStatus.QUEUED],
                    status=JobStatus.RUNNING,
                    worker_id=self.worker_id,
                    started_at=now,
                    cells_completed=0,
                    current_cell=None,
                    pending_reason=None,
                )
                row = uow.jobs.find(job_id) if claimed else None
                uow.commit()
            if row is None:
                continue  # cancelled (or claimed elsewhere) meanwhile
            eid = execution_id(row.id, row.attempt)
            self.active[eid] = self._tracking(row, self.ctx.clock.monotonic())
            try:
                self.executor.start(self._request(row, eid))
            except Exception as exc:
                log.exception("the executor could not start job %s", row.id)
                self._exited(
                    eid,
                    ExecutionUpdate(
                        eid,
                        "exited",
                        outcome="failed",
                        error=JobError(
                            ename="ExecutorError", evalue=str(exc) or type(exc).__name__
                        ),
                    ),
                )

    def _tracking(self, row: JobRecord, now: float) -> _Active:
        return _Active(
            job_id=row.id,
            attempt=row.attempt,
            max_retries=row.max_retries,
            timeout=row.timeout_seconds,
            started=now,
        )

    def _request(self, row: JobRecord, eid: str) -> ExecutionRequest:
        files = self.ctx.files(row.root_dir)
        keys = job_files(row)
        return ExecutionRequest(
            execution_id=eid,
            job_id=row.id,
            attempt=row.attempt,
            notebook_path=row.notebook_path,
            root_dir=row.root_dir,
            kernel_name=row.kernel_name,
            parameters=dict(row.parameters or {}),
            input_uri=files.uri(keys["input"]),
            output_uri=files.uri(keys["output"]),
            log_uri=files.uri(keys["log"]),
            cells_total=row.cells_total,
            env=self._job_env(row) if self._job_env is not None else {},
            files_key=row.files_key,
            keys=keys,
            user=row.owner or "",
            timeout_seconds=row.timeout_seconds,
        )
