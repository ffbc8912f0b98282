"""``/dataops/api/jobs``: run notebooks as jobs, list, inspect, cancel, re-run and delete them."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ...core.jobs.models import JobCreate, JobQuery, JobRerun
from ..schemas import LogQuery
from .base import API_PREFIX, DataOpsHandler

if TYPE_CHECKING:
    from ...core.jobs.service import JobService

# The rendered notebook is the job's output, i.e. content written by notebook code. The sandbox
# (no allow-same-origin) gives it an opaque origin: its scripts may run (plots, widgets) but cannot
# read the user's cookies or call the Jupyter API as the user.
HTML_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "sandbox allow-scripts allow-popups",
        "default-src 'self' 'unsafe-inline' data: blob:",
        "connect-src 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
    ]
)


class _Page(NamedTuple):
    seq: int
    made_at: float
    estimate: bool
    etag: str
    body: bytes


class RenderedPages:
    """The job list pages lately sent, as JSON, each with the change sequence number it shows.

    Every open sidebar asks for the same few pages after every change, so a page is rendered
    once per change and query, then sent as is while the store's sequence number has not moved
    (a page whose total is an estimate is rendered again after ``count_refresh_seconds``, so it
    becomes exact once jobs stop changing). Whoever asks for a page being rendered waits for it
    rather than render it too. Bounded in bytes; the least recently used pages go first."""

    max_bytes = 32 * 2**20

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: OrderedDict[str, _Page] = OrderedDict()
        self._bytes = 0
        self._rendering: dict[str, tuple[int, threading.Event]] = {}

    def cached(self, key: str, seq: int, refresh_seconds: float) -> _Page | None:
        """The page of ``key`` if it shows change ``seq`` or a later one."""
        with self._lock:
            page = self._pages.get(key)
            if page is None or page.seq < seq:
                return None
            if page.estimate and time.monotonic() - page.made_at >= refresh_seconds:
                return None
            self._pages.move_to_end(key)
            return page

    def render(self, jobs: JobService, query: JobQuery, key: str, seq: int) -> _Page:
        """The page of ``query`` (whose key is ``key``) at change ``seq`` or later, rendered
        here or by the thread already rendering it. Blocks: call in a worker thread."""
        while True:
            page = self.cached(key, seq, jobs.count_refresh_seconds)
            if page is not None:
                return page
            with self._lock:
                rendering = self._rendering.get(key)
                if rendering is None or rendering[0] < seq:
                    mine = (seq, threading.Event())
                    self._rendering[key] = mine
                    break
            rendering[1].wait(30)  # then look again (and render it if that failed)
        try:
            made_at = time.monotonic()
            result = jobs.list(query)
            body = result.model_dump_json().encode()
            etag = f'"{result.seq}-{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
            page = _Page(result.seq, made_at, result.total_is_estimate, etag, body)
            with self._lock:
                old = self._pages.get(key)
                if len(body) <= self.max_bytes // 16 and (old is None or old.seq <= page.seq):
                    self._bytes += len(body) - (len(old.body) if old is not None else 0)
                    self._pages[key] = page
                    self._pages.move_to_end(key)
                    while self._bytes > self.max_bytes:
                        self._bytes -= len(self._pages.popitem(last=False)[1].body)
            return page
        finally:
            with self._lock:
                if self._rendering.get(key) is mine:
                    del self._rendering[key]
            mine[1].set()


class _LatestChange:
    """Reads of the store's latest change sequence number, one at a time, shared: a request
    takes the result of a read that started after it arrived (so it sees every change
    committed before it asked), whoever started that read. Used on the event loop only."""

    def __init__(self) -> None:
        self.started = 0
        self.number = 0
        self.read: asyncio.Future[tuple[JobService, int]] | None = None

    async def get(self, handler: DataOpsHandler) -> tuple[JobService, int]:
        """The job service and its latest change number, read after this call began."""
        arrived = self.started
        while True:
            read = self.read
            if read is not None and self.number > arrived:
                return await asyncio.shield(read)
            if read is None or read.done():
                self.started += 1
                self.number = self.started
                self.read = asyncio.ensure_future(
                    handler.call(lambda s: (s.jobs, s.jobs.latest_change()))
                )
            else:  # a read that started before this request: the next one will do
                await asyncio.wait([read])


#: The rendered pages of each job service, the change number reads of each server extension
#: (tests run several servers in one process).
_PAGES: weakref.WeakKeyDictionary[Any, RenderedPages] = weakref.WeakKeyDictionary()
_PAGES_LOCK = threading.Lock()
_LATEST: weakref.WeakKeyDictionary[Any, _LatestChange] = weakref.WeakKeyDictionary()


def rendered_pages(jobs: JobService) -> RenderedPages:
    with _PAGES_LOCK:
        pages = _PAGES.get(jobs)
        if pages is None:
            pages = _PAGES[jobs] = RenderedPages()
        return pages


class JobsHandler(DataOpsHandler):
    query_arguments = frozenset(
        {"id", "status", "notebook", "schedule_id", "sort", "order", "limit", "cursor"}
    )

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """List jobs: filter by id or status (repeatable) and notebook, sort, page by cursor.

        A page that nothing changed since it was last sent is sent again without a look at the
        jobs (see RenderedPages). Its ETag changes with its content: a client that sends it
        back in If-None-Match gets 304 Not Modified while the page is the same."""
        query = self.query_model(
            JobQuery,
            {
                "id": self.get_query_arguments("id") or None,
                "status": self.get_query_arguments("status") or None,
                "notebook": self.query_value("notebook"),
                "schedule_id": self.query_value("schedule_id"),
                "sort": self.query_value("sort"),
                "order": self.query_value("order"),
                "limit": self.query_value("limit"),
                "cursor": self.query_value("cursor"),
            },
        )
        latest = _LATEST.get(self.dataops)
        if latest is None:
            latest = _LATEST[self.dataops] = _LatestChange()
        jobs, seq = await latest.get(self)
        key = query.model_dump_json()
        pages = rendered_pages(jobs)
        page = pages.cached(key, seq, jobs.count_refresh_seconds)
        if page is None:
            page = await self.call(lambda s: pages.render(jobs, query, key, seq))
        self.set_header("ETag", page.etag)
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return
        self.finish(page.body)

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        """Run a notebook as a job (201 with the queued job)."""
        request = self.json_body(JobCreate)
        actor = self.actor
        job = await self.call(lambda s: s.jobs.create(request, actor=actor))
        self.set_header("Location", url_path_join(self.base_url, API_PREFIX, "jobs", job.id))
        self.write_json(job, status=201)


class JobHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.write_json(await self.call(lambda s: s.jobs.get(job_id)))

    @web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        """Delete a finished job and its outputs (409 while it is queued or running)."""
        actor = self.actor
        await self.call(lambda s: s.jobs.delete(job_id, actor=actor))
        self.set_status(204)
        self.finish()


class JobCancelHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        actor = self.actor
        self.write_json(await self.call(lambda s: s.jobs.cancel(job_id, actor=actor)))


class JobRerunHandler(DataOpsHandler):
    @web.authenticated
    @authorized("execute")
    async def post(self, job_id: str) -> None:
        """Run a job again, optionally with other parameters (201 with the new job)."""
        request = self.json_body(JobRerun, required=False)
        actor = self.actor
        job = await self.call(lambda s: s.jobs.rerun(job_id, request, actor=actor))
        self.set_header("Location", url_path_join(self.base_url, API_PREFIX, "jobs", job.id))
        self.write_json(job, status=201)


class JobLogsHandler(DataOpsHandler):
    query_arguments = frozenset({"offset"})

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        """The log from ``offset`` (bytes); ask again from the returned offset to follow it."""
        query = self.query_model(LogQuery, {"offset": self.query_value("offset")})
        self.write_json(await self.call(lambda s: s.jobs.logs(job_id, offset=query.offset)))


class JobHtmlHandler(DataOpsHandler):
    @property
    def content_security_policy(self) -> str:
        # Always this one, even where the admin sets a looser default for the server.
        return HTML_CONTENT_SECURITY_POLICY

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        """The executed notebook as HTML, rendered by nbconvert on first request."""
        body = await self.call(lambda s: s.jobs.html(job_id))
        self.finish(body, set_content_type="text/html; charset=UTF-8")


class JobOutputHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        """The executed notebook, as a download."""
        name, body = await self.call(lambda s: s.jobs.output(job_id))
        self.set_header("Content-Disposition", _attachment(name))
        self.finish(body, set_content_type="application/x-ipynb+json")


def _attachment(name: str) -> str:
    """A Content-Disposition naming the file, safe for any characters in its name."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


_JOB = r"(?P<job_id>[^/]+)"

handlers: list[tuple[str, Any]] = [
    (rf"{API_PREFIX}/jobs", JobsHandler),
    (rf"{API_PREFIX}/jobs/{_JOB}", JobHandler),
    (rf"{API_PREFIX}/jobs/{_JOB}/cancel", JobCancelHandler),
    (rf"{API_PREFIX}/jobs/{_JOB}/rerun", JobRerunHandler),
    (rf"{API_PREFIX}/jobs/{_JOB}/logs", JobLogsHandler),
    (rf"{API_PREFIX}/jobs/{_JOB}/html", JobHtmlHandler),
    (rf"{API_PREFIX}/jobs/{_JOB}/output", JobOutputHandler),
]
