"""The DataOps service: the one facade that the REST handlers, the magics and the CLI call.

Adapters parse input into a core model, call one method here and render the result. Nothing in
this module knows about HTTP, IPython or the browser.

>>> service = DataOpsService(DataOps(root_dir="."))          # doctest: +SKIP
>>> job = service.create_job(JobCreate(notebook_path="train.ipynb", parameters={"alpha": 0.5}))
>>> service.wait_for_job(job.id).status                      # doctest: +SKIP
<JobStatus.COMPLETED: 'completed'>
"""

from __future__ import annotations

import logging
import re
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import DataOps
from ..errors import Conflict, InvalidInput, NotFound, QueueFull
from ..paths import relative_to_root, resolve_inside, resolve_notebook
from .models import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    Job,
    JobCreate,
    JobError,
    JobPage,
    JobProgress,
    JobQuery,
    JobRerun,
    JobStatus,
    NotebookParameters,
)
from .params import check_parameters, inspect_notebook, read_notebook

if TYPE_CHECKING:
    from ...backends.base import Executor
    from ...store.orm import JobRow
    from ...store.repository import JobStore

log = logging.getLogger("jupyter_dataops")

ChangeCallback = Callable[[str, str, "Job | None"], None]
_SAFE_STEM = re.compile(r"[^A-Za-z0-9_.-]+")


def default_kernel_names() -> set[str]:
    from jupyter_client.kernelspec import KernelSpecManager

    return set(KernelSpecManager().find_kernel_specs())


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


class DataOpsService:
    """Jobs (and, later, schedules, snapshots, endpoints and sandboxes) behind one API."""

    def __init__(
        self,
        dataops: DataOps | None = None,
        *,
        store: JobStore | None = None,
        executor: Executor | None = None,
        kernel_names: Callable[[], set[str]] | None = None,
        on_change: ChangeCallback | None = None,
    ) -> None:
        self.dataops = dataops or DataOps()
        self.root = Path(self.dataops.root_dir).resolve()
        if store is None:
            from ...store.repository import JobStore

            store = JobStore(self.dataops.store_url)
        self.store = store
        if executor is None:
            executor = self.dataops.job_executor_class(
                dataops=self.dataops, store=self.store, parent=self.dataops
            )
        self.executor: Executor = executor
        self._kernel_names = kernel_names or default_kernel_names
        self._on_change = on_change

    # -- notebooks ----------------------------------------------------------------------------
    def inspect_notebook(self, path: str) -> NotebookParameters:
        """The parameters cell of a notebook: names, inferred types, defaults and help."""
        real = resolve_notebook(self.root, path)
        return inspect_notebook(read_notebook(real), relative_to_root(self.root, real))

    # -- jobs ---------------------------------------------------------------------------------
    def create_job(self, request: JobCreate, *, actor: str | None = None) -> Job:
        """Validate, stage the notebook and queue a job. Bad input raises and stores nothing."""
        real = resolve_notebook(self.root, request.notebook_path)
        nb = read_notebook(real)
        display = relative_to_root(self.root, real)
        return self._queue(
            source=real,
            nb=nb,
            display_path=display,
            parameters=request.parameters,
            kernel_name=request.kernel_name,
            name=request.name,
            timeout_seconds=request.timeout_seconds,
            max_retries=request.max_retries or self.dataops.default_max_retries,
            tags=request.tags,
            actor=actor,
            rerun_of=None,
        )

    def rerun_job(self, job_id: str, request: JobRerun, *, actor: str | None = None) -> Job:
        """Run a job again: the notebook it staged (or the current one), with its parameters
        updated by ``request.parameters``."""
        row = self.store.get_job(job_id)
        if request.use_current_notebook:
            source = resolve_notebook(row.root_dir, row.notebook_path)
        else:
            source = Path(row.input_file)
            if not source.is_file():
                raise NotFound(
                    f"The staged notebook of job {row.id} is gone ({source}).",
                    hint="Run the notebook as a new job instead.",
                )
        parameters = dict(row.parameters or {})
        parameters.update(request.parameters or {})
        return self._queue(
            source=source,
            nb=read_notebook(source),
            display_path=row.notebook_path,
            parameters=parameters,
            kernel_name=request.kernel_name or row.kernel_name,
            name=row.name,
            timeout_seconds=row.timeout_seconds,
            max_retries=row.max_retries,
            tags=list(row.tags or []),
            actor=actor,
            rerun_of=row.id,
        )

    def _queue(
        self,
        *,
        source: Path,
        nb: dict[str, Any],
        display_path: str,
        parameters: dict[str, Any],
        kernel_name: str | None,
        name: str | None,
        timeout_seconds: float | None,
        max_retries: int,
        tags: list[str],
        actor: str | None,
        rerun_of: str | None,
    ) -> Job:
        spec = inspect_notebook(nb, display_path)
        values, warnings = check_parameters(spec, parameters)
        kernel = self._check_kernel(
            kernel_name or spec.kernel_name or self.dataops.default_kernel_name
        )
        timeout = timeout_seconds or (self.dataops.default_timeout_seconds or None)
        queued = self.store.count_jobs([JobStatus.QUEUED])
        if queued >= self.dataops.max_queued_jobs:
            raise QueueFull(
                f"The job queue is full ({queued} jobs queued; the bound is "
                f"{self.dataops.max_queued_jobs}).",
                hint="Wait for queued jobs to finish, cancel some, or raise c.DataOps.max_queued_jobs.",
            )

        job_id = new_job_id()
        stem = _SAFE_STEM.sub("_", Path(display_path).stem)[:60] or "notebook"
        jobs_dir = resolve_inside(self.root, self.dataops.jobs_dir)
        output_dir = jobs_dir / f"{stem}-{job_id}"
        output_dir.mkdir(parents=True, exist_ok=False)
        try:
            staged = output_dir / "input.ipynb"
            shutil.copyfile(source, staged)
            self.store.insert_job(
                id=job_id,
                name=name or Path(display_path).stem,
                notebook_path=display_path,
                root_dir=str(self.root),
                input_file=str(staged),
                output_dir=str(output_dir),
                output_file=str(output_dir / f"{stem}.ipynb"),
                status=JobStatus.QUEUED.value,
                parameters=values,
                kernel_name=kernel,
                executor=self.executor.name,
                cells_completed=0,
                # papermill adds one code cell with the injected parameters
                cells_total=spec.cell_count + (1 if values else 0),
                attempt=1,
                max_retries=max_retries,
                timeout_seconds=timeout,
                cancel_requested=False,
                warnings=warnings,
                tags=tags,
                rerun_of=rerun_of,
                owner=actor,
            )
        except BaseException:
            shutil.rmtree(output_dir, ignore_errors=True)
            raise
        row = self.store.get_job(job_id)
        try:
            self.executor.submit(row)
        except BaseException:
            # The backend refused: take the job back so the error changes nothing.
            if self.store.delete_job(job_id, only_status=[JobStatus.QUEUED]):
                shutil.rmtree(output_dir, ignore_errors=True)
            raise
        self.store.audit(
            "job.rerun" if rerun_of else "job.create",
            "job",
            job_id,
            actor,
            notebook=display_path,
            parameters=values,
            kernel=kernel,
            rerun_of=rerun_of,
        )
        job = self.to_job(row)
        self._changed("created", job)
        return job

    def _check_kernel(self, kernel_name: str) -> str:
        available = self._kernel_names()
        if kernel_name not in available:
            raise InvalidInput(
                f"Unknown kernel {kernel_name!r}; available: {', '.join(sorted(available)) or 'none'}.",
                hint="Choose one of those, or install the kernel "
                f"(python -m ipykernel install --user --name {kernel_name}).",
                kernel_name=kernel_name,
            )
        return kernel_name

    def get_job(self, job_id: str) -> Job:
        return self.to_job(self.store.get_job(job_id))

    def list_jobs(self, query: JobQuery | None = None) -> JobPage:
        query = query or JobQuery()
        rows, total, counts = self.store.list_jobs(query)
        return JobPage(
            jobs=[self.to_job(r) for r in rows],
            total=total,
            offset=query.offset,
            limit=query.limit,
            counts=counts,
        )

    def cancel_job(self, job_id: str, *, actor: str | None = None) -> Job:
        """Cancel a queued job at once, or ask the executor to stop a running one."""
        row = self.store.get_job(job_id)
        status = JobStatus(row.status)
        if status in TERMINAL_STATUSES:
            raise Conflict(
                f"Job {row.id} has already {status.value}; there is nothing to cancel.",
                hint="Delete it, or re-run it.",
            )
        now = time.time()
        cancelled_now = self.store.update_job(
            row.id,
            from_status=[JobStatus.QUEUED],
            status=JobStatus.CANCELLED,
            cancel_requested=True,
            finished_at=now,
            error=JobError(ename="Cancelled", evalue="Cancelled before it started.").model_dump(),
        )
        if not cancelled_now:
            if self.store.update_job(
                row.id, from_status=[JobStatus.RUNNING], cancel_requested=True
            ):
                self.executor.cancel(self.store.get_job(row.id))
        self.store.audit("job.cancel", "job", row.id, actor)
        job = self.get_job(row.id)
        self._changed("updated", job)
        return job

    def delete_job(self, job_id: str, *, actor: str | None = None) -> None:
        """Delete a finished job with its outputs. Active jobs must be cancelled first."""
        row = self.store.get_job(job_id)
        if not self.store.delete_job(row.id, only_status=list(TERMINAL_STATUSES)):
            raise Conflict(
                f"Job {row.id} is {row.status}; only finished jobs can be deleted.",
                hint=f"Cancel it first (dataops jobs cancel {row.id}), then delete it.",
            )
        output_dir = Path(row.output_dir)
        if output_dir.name.endswith(row.id):  # only ever remove the folder we created
            shutil.rmtree(output_dir, ignore_errors=True)
        self.store.audit("job.delete", "job", row.id, actor, notebook=row.notebook_path)
        if self._on_change:
            self._on_change("deleted", row.id, None)

    def job_logs(self, job_id: str) -> str:
        return self.executor.logs(self.store.get_job(job_id))

    def job_output(self, job_id: str) -> Path:
        row = self.store.get_job(job_id)
        path = Path(row.output_file)
        if not path.is_file():
            raise NotFound(
                f"Job {row.id} has no executed notebook yet (it is {row.status}).",
                hint="Wait until it starts running.",
            )
        return path

    def job_html(self, job_id: str) -> Path:
        """The executed notebook rendered as HTML, rendered on first request and cached."""
        source = self.job_output(job_id)
        html = source.with_suffix(".html")
        if not html.is_file() or html.stat().st_mtime < source.stat().st_mtime:
            from nbconvert import HTMLExporter

            body, _ = HTMLExporter().from_filename(str(source))
            tmp = html.with_suffix(".html.tmp")
            tmp.write_text(body, encoding="utf-8")
            tmp.replace(html)
        return html

    def wait_for_job(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        interval: float = 0.05,
        on_update: Callable[[Job], None] | None = None,
        reconcile_every: float | None = 5.0,
    ) -> Job:
        """Block until the job ends (or ``timeout`` passes); ``on_update`` sees each change once.

        Every ``reconcile_every`` seconds the executor reconciles, so a worker that died mid-job
        is replaced and the job ends (``WorkerLost``, or retried) instead of the wait hanging on
        a ``running`` row forever.
        """
        now = time.monotonic()
        deadline = None if timeout is None else now + timeout
        next_reconcile = None if not reconcile_every else now + reconcile_every
        last = -1.0
        while True:
            row = self.store.get_job(job_id)
            if row.updated_at != last:
                last = row.updated_at
                job = self.to_job(row)
                if on_update:
                    on_update(job)
                if job.status in TERMINAL_STATUSES:
                    return job
            now = time.monotonic()
            if deadline is not None and now > deadline:
                return self.to_job(row)
            if next_reconcile is not None and reconcile_every and now >= next_reconcile:
                self.reconcile()
                next_reconcile = now + reconcile_every
            time.sleep(interval)

    def changes_since(self, since: float) -> list[Job]:
        return [self.to_job(r) for r in self.store.changed_since(since)]

    def reconcile(self) -> list[str]:
        """After a restart: recover or fail interrupted jobs and make sure queued ones run."""
        return self.executor.reconcile()

    def executor_status(self) -> dict[str, Any]:
        """Whether the executor's own processes (the local worker) run, and their pid."""
        return self.executor.status()

    def stop_executor(self) -> dict[str, Any]:
        """Stop the executor's own processes; the next job starts them again."""
        return self.executor.stop()

    def warm_up(self) -> None:
        """Prepare the executor for the first job (called by the server on start)."""
        self.executor.warm_up()

    def close(self) -> None:
        self.executor.close()
        self.store.close()

    # -- rendering ----------------------------------------------------------------------------
    def to_job(self, row: JobRow) -> Job:
        output = Path(row.output_file)
        output_dir = Path(row.output_dir)
        has_output = output.is_file()
        html = output.with_suffix(".html")
        log_file = output_dir / "job.log"
        return Job(
            id=row.id,
            name=row.name,
            notebook_path=row.notebook_path,
            root_dir=row.root_dir,
            status=JobStatus(row.status),
            parameters=row.parameters or {},
            kernel_name=row.kernel_name,
            executor=row.executor,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            updated_at=row.updated_at,
            progress=JobProgress(
                cells_completed=row.cells_completed,
                cells_total=row.cells_total,
                current_cell=row.current_cell,
            ),
            attempt=row.attempt,
            max_retries=row.max_retries,
            timeout_seconds=row.timeout_seconds,
            cancel_requested=bool(row.cancel_requested),
            output_path=relative_to_root(self.root, output) if has_output else None,
            html_path=relative_to_root(self.root, html) if html.is_file() else None,
            log_path=relative_to_root(self.root, log_file) if log_file.is_file() else None,
            error=JobError(**row.error) if row.error else None,
            warnings=list(row.warnings or []),
            tags=list(row.tags or []),
            rerun_of=row.rerun_of,
        )

    def _changed(self, action: str, job: Job) -> None:
        if self._on_change:
            self._on_change(action, job.id, job)


__all__ = ["ACTIVE_STATUSES", "DataOpsService"]
