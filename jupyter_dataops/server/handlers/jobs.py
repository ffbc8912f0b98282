"""``/dataops/api/jobs``: run notebooks as jobs, list, inspect, cancel, re-run and delete them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ...core.jobs.models import JobCreate, JobQuery, JobRerun
from ..schemas import JobLogs
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
    query_arguments = frozenset({"status", "notebook", "sort", "order", "offset", "limit"})

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """List jobs: filter by status (repeatable) and notebook, sort, page."""
        query = self.query_model(
            JobQuery,
            {
                "status": self.get_query_arguments("status") or None,
                "notebook": self.query_value("notebook"),
                "sort": self.query_value("sort"),
                "order": self.query_value("order"),
                "offset": self.query_value("offset"),
                "limit": self.query_value("limit"),
            },
        )
        self.write_json(await self.call(lambda s: s.list_jobs(query)))

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        """Run a notebook as a job (201 with the queued job)."""
        request = self.json_body(JobCreate)
        actor = self.actor
        job = await self.call(lambda s: s.create_job(request, actor=actor))
        self.set_header("Location", url_path_join(self.base_url, API_PREFIX, "jobs", job.id))
        self.write_json(job, status=201)


class JobHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.write_json(await self.call(lambda s: s.get_job(job_id)))

    @web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        """Delete a finished job and its outputs (409 while it is queued or running)."""
        actor = self.actor
        await self.call(lambda s: s.delete_job(job_id, actor=actor))
        self.set_status(204)
        self.finish()


class JobCancelHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        actor = self.actor
        self.write_json(await self.call(lambda s: s.cancel_job(job_id, actor=actor)))


class JobRerunHandler(DataOpsHandler):
    @web.authenticated
    @authorized("execute")
    async def post(self, job_id: str) -> None:
        """Run a job again, optionally with other parameters (201 with the new job)."""
        request = self.json_body(JobRerun, required=False)
        actor = self.actor
        job = await self.call(lambda s: s.rerun_job(job_id, request, actor=actor))
        self.set_header("Location", url_path_join(self.base_url, API_PREFIX, "jobs", job.id))
        self.write_json(job, status=201)


class JobLogsHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        logs = await self.call(lambda s: s.job_logs(job_id))
        self.write_json(JobLogs(logs=logs))


class JobHtmlHandler(DataOpsHandler):
    @property
    def content_security_policy(self) -> str:
        # Always this one, even where the admin sets a looser default for the server.
        return HTML_CONTENT_SECURITY_POLICY

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        """The executed notebook as HTML, rendered by nbconvert on first request."""
        path = await self.call(lambda s: s.job_html(job_id))
        body = await asyncio.to_thread(path.read_bytes)
        self.finish(body, set_content_type="text/html; charset=UTF-8")


class JobOutputHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        """The executed notebook, as a download."""
        path = await self.call(lambda s: s.job_output(job_id))
        body = await asyncio.to_thread(path.read_bytes)
        self.set_header("Content-Disposition", _attachment(path))
        self.finish(body, set_content_type="application/x-ipynb+json")


def _attachment(path: Path) -> str:
    """A Content-Disposition naming the file, safe for any characters in its name."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in path.name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(path.name)}"


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
