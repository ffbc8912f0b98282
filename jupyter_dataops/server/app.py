"""The Jupyter Server extension: REST handlers under ``/dataops/api`` and live job events.

The extension is an adapter: it builds the core :class:`~jupyter_dataops.core.jobs.service.DataOpsService`
from ``c.DataOps.*`` settings, serves it over HTTP and turns store changes into versioned events
(schema ``https://events.jupyter-dataops.org/job/v1``) on the server's event bus, which JupyterLab
receives over ``/api/events/subscribe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import time
from typing import TYPE_CHECKING, Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float

from ..core.config import DataOps
from ..core.events import JOB_EVENT_SCHEMA_ID, SCHEMAS_DIR, job_event
from .handlers import default_handlers

if TYPE_CHECKING:
    from jupyter_events import EventLogger
    from jupyter_server.serverapp import ServerApp

    from ..core.jobs.models import Job
    from ..core.jobs.service import DataOpsService

JOB_EVENT_SCHEMA_PATH = SCHEMAS_DIR / "job" / "v1.yaml"
# How many rows the store returns per changes_since call (JobStore.changed_since's limit).
_STORE_PAGE = 500


class DataOpsExtension(ExtensionApp):
    """Serves jupyter-dataops to JupyterLab. Configure the core with ``c.DataOps.*``::

    c.DataOps.jobs_dir = "runs"
    c.DataOpsExtension.event_poll_interval = 0.5
    """

    name = "jupyter_dataops"
    # The extension has no page of its own; JupyterLab is the UI.
    load_other_extensions = True

    event_poll_interval = Float(
        0.25,
        help="""Seconds between two looks at the store for changed jobs, each of which becomes a
        job event. Jobs are changed by another process (the worker), hence the polling.
        Example: c.DataOpsExtension.event_poll_interval = 1.0""",
    ).tag(config=True)

    # Rows whose update committed late can carry an updated_at older than the newest one seen;
    # each poll looks this many seconds back and skips what it has already reported.
    _overlap_seconds = 2.0

    def initialize_settings(self) -> None:
        server = self._server
        self.dataops = DataOps(parent=self, config=self.config, root_dir=server.root_dir)
        self._service: DataOpsService | None = None
        self._service_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        # Deletions are reported from worker threads onto this loop (see _on_change).
        self._loop = getattr(getattr(server, "io_loop", None), "asyncio_loop", None)
        self._watcher: asyncio.Task[None] | None = None
        self._reconcile_task: asyncio.Future[Any] | None = None
        # id -> updated_at of the last event sent for it; id -> when it was deleted here.
        self._reported: dict[str, float] = {}
        self._deleted: dict[str, float] = {}
        self._started_at = time.time()
        self._event_logger.register_event_schema(JOB_EVENT_SCHEMA_PATH)

    def initialize_handlers(self) -> None:
        self.handlers.extend(default_handlers)

    @property
    def _server(self) -> ServerApp:
        assert self.serverapp is not None, "the extension is not linked to a server"
        return self.serverapp

    @property
    def _event_logger(self) -> EventLogger:
        logger = self._server.event_logger
        assert logger is not None, "the server has no event logger"
        return logger

    # -- the core -----------------------------------------------------------------------------
    @property
    def service(self) -> DataOpsService:
        """The core service, built on first use (from a worker thread: building it opens the
        store and may run its migrations, which must not hold up the event loop or server start)."""
        with self._service_lock:
            if self._service is None:
                from ..core.jobs.service import DataOpsService

                self._service = DataOpsService(
                    self.dataops, kernel_names=self._kernel_names, on_change=self._on_change
                )
            return self._service

    def _kernel_names(self) -> set[str]:
        """Kernels the server knows, so a job never names one that this server cannot start."""
        manager: Any = self._server.kernel_spec_manager
        found = manager.find_kernel_specs()
        if inspect.isawaitable(found):
            loop = self._loop
            if loop is None or _on_loop_thread(loop):
                # Never block the loop on itself; the async manager's specs are then unknown.
                if inspect.iscoroutine(found):
                    found.close()
                from ..core.jobs.service import default_kernel_names

                return default_kernel_names()
            found = asyncio.run_coroutine_threadsafe(_awaited(found), loop).result(timeout=60)
        return set(found)

    def _on_change(self, action: str, job_id: str, job: Job | None) -> None:
        """Called by the service, in whichever thread ran it. Creations and updates reach the
        UI through the store watcher (which also sees other processes' changes); deletions leave
        nothing in the store to watch, so they are sent from here, on the event loop."""
        if action != "deleted":
            return
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if _on_loop_thread(loop):
            self._job_deleted(job_id)
        else:
            loop.call_soon_threadsafe(self._job_deleted, job_id)

    def _job_deleted(self, job_id: str) -> None:
        # On the loop, like _report: a change the watcher read just before the deletion is then
        # either reported before this event or skipped after it, never after it.
        self._deleted[job_id] = time.monotonic()
        self._reported.pop(job_id, None)
        self._emit("deleted", job_id, None)

    def _emit(self, action: str, job_id: str, job: Job | None) -> None:
        try:
            self._event_logger.emit(
                schema_id=JOB_EVENT_SCHEMA_ID, data=job_event(action, job_id, job)
            )
        except Exception:  # an event must never break a request or the watcher
            self.log.exception(
                "jupyter_dataops: could not emit a %s event for job %s", action, job_id
            )

    # -- lifecycle ----------------------------------------------------------------------------
    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        self._loop = asyncio.get_running_loop()
        self._reconcile_task = asyncio.ensure_future(self._reconcile())
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="jupyter_dataops-job-events")

    async def _reconcile(self) -> None:
        """Bring the store and the executor in line after a restart (queued jobs get run), then
        let the executor get ready for the first job. Runs in a thread: the server starts at once."""
        try:
            actions = await asyncio.to_thread(lambda: self.service.reconcile())
        except Exception:
            self.log.exception("jupyter_dataops: reconciling jobs with the executor failed")
        else:
            for line in actions:
                self.log.info("jupyter_dataops: %s", line)
        try:
            await asyncio.to_thread(lambda: self.service.warm_up())
        except Exception:
            self.log.exception("jupyter_dataops: the job executor could not warm up")

    async def _watch(self) -> None:
        """Emit one job event per job that changed in the store since the last look."""
        since = self._started_at - self._overlap_seconds
        failures = 0
        while True:
            try:
                changes = await asyncio.to_thread(self._changes_since, since)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log = self.log.warning if failures == 1 else self.log.debug
                log("jupyter_dataops: cannot read job changes (%s); retrying", exc)
                await asyncio.sleep(min(5.0, self.event_poll_interval * 2**failures))
                continue
            failures = 0
            since = self._report(changes, since)
            await asyncio.sleep(self.event_poll_interval)

    def _changes_since(self, since: float) -> list[Job]:
        return self.service.changes_since(since)

    def _report(self, changes: list[Job], since: float) -> float:
        """Emit events for ``changes`` not reported yet; return the next ``since``."""
        newest = since
        for job in changes:
            newest = max(newest, job.updated_at)
            if job.id in self._deleted:
                continue
            previous = self._reported.get(job.id)
            if previous is not None and job.updated_at <= previous:
                continue
            self._reported[job.id] = job.updated_at
            fresh = previous is None and job.created_at >= self._started_at
            self._emit("created" if fresh else "updated", job.id, job)
        next_since = max(since, newest - self._overlap_seconds)
        if len(changes) >= _STORE_PAGE:
            # A full page may end inside the overlap window: move on or we would re-read it forever.
            next_since = newest
        # Finished jobs change no more, so they need no entry once they are behind the window.
        for job in changes:
            if job.status.is_terminal and job.updated_at < next_since:
                self._reported.pop(job.id, None)
        forget = time.monotonic() - 60.0
        for job_id in [i for i, at in list(self._deleted.items()) if at < forget]:
            del self._deleted[job_id]
        return next_since

    async def stop_extension(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        if self._reconcile_task is not None:
            with contextlib.suppress(Exception):
                await self._reconcile_task
        with self._service_lock:
            service, self._service = self._service, None
        if service is not None:
            await asyncio.to_thread(service.close)


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


async def _awaited(value: Any) -> Any:
    return await value
