"""``/dataops/api/jobs``: run notebooks as jobs, list, inspect, cancel, re-run and delete them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ...core.jobs.models import JobCreate, JobQuery, JobRerun
from ..schemas import LogQuery
from .base import API_PREFIX, DataOpsHandler

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


class JobsHandler(DataOpsHandler):
    query_arguments = frozenset({"id", "status", "notebook", "sort", "order", "limit", "cursor"})

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """List jobs: filter by id or status (repeatable) and notebook, sort, page by cursor."""
        query = self.query_model(
            JobQuery,
            {
                "id": self.get_query_arguments("id") or None,
                "status": self.get_query_arguments("status") or None,
                "notebook": self.query_value("notebook"),
                "sort": self.query_value("sort"),
                "order": self.query_value("order"),
                "limit": self.query_value("limit"),
                "cursor": self.query_value("cursor"),
            },
        )
        self.write_json(await self.call(lambda s: s.jobs.list(query)))

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
