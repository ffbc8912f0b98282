"""``/dataops/api/schedules``: turn notebooks into schedules; list, inspect, change, pause, resume,
run now and delete them; their firings; a preview of a cron expression."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ...core.schedules.models import (
    FiringList,
    ScheduleCreate,
    ScheduleQuery,
    ScheduleRunNow,
    ScheduleUpdate,
)
from ..schemas import DeleteQuery, FiringQuery, PreviewQuery
from .base import API_PREFIX, DataOpsHandler


class SchedulesHandler(DataOpsHandler):
    query_arguments = frozenset({"id", "status", "notebook", "sort", "order", "limit", "cursor"})

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """List schedules: filter by id or status (repeatable) and notebook, sort, page."""
        query = self.query_model(
            ScheduleQuery,
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
        self.write_json(await self.call(lambda s: s.schedules.list(query)))

    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        """Turn a notebook into a schedule (201 with the schedule)."""
        request = self.json_body(ScheduleCreate)
        actor = self.actor
        schedule = await self.call(lambda s: s.schedules.create(request, actor=actor))
        self.set_header(
            "Location", url_path_join(self.base_url, API_PREFIX, "schedules", schedule.id)
        )
        self.write_json(schedule, status=201)


class SchedulePreviewHandler(DataOpsHandler):
    query_arguments = frozenset({"cron", "timezone"})

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """A cron expression in plain words, with its next five due times (for the dialog)."""
        query = self.query_model(
            PreviewQuery,
            {"cron": self.query_value("cron"), "timezone": self.query_value("timezone")},
        )
        self.write_json(await self.call(lambda s: s.schedules.preview(query.cron, query.timezone)))


class ScheduleHandler(DataOpsHandler):
    method_query_arguments = {"DELETE": frozenset({"delete_runs"})}

    @web.authenticated
    @authorized
    async def get(self, schedule_id: str) -> None:
        self.write_json(await self.call(lambda s: s.schedules.get(schedule_id)))

    @web.authenticated
    @authorized("write")
    async def patch(self, schedule_id: str) -> None:
        """Change a schedule: a new version of its definition."""
        request = self.json_body(ScheduleUpdate)
        actor = self.actor
        self.write_json(
            await self.call(lambda s: s.schedules.update(schedule_id, request, actor=actor))
        )

    @web.authenticated
    @authorized("write")
    async def delete(self, schedule_id: str) -> None:
        """Delete a schedule; with ``delete_runs=true`` also its finished runs (204)."""
        query = self.query_model(DeleteQuery, {"delete_runs": self.query_value("delete_runs")})
        actor = self.actor
        await self.call(
            lambda s: s.schedules.delete(schedule_id, delete_runs=query.delete_runs, actor=actor)
        )
        self.set_status(204)
        self.finish()


class SchedulePauseHandler(DataOpsHandler):
    @web.authenticated
    @authorized("write")
    async def post(self, schedule_id: str) -> None:
        actor = self.actor
        self.write_json(await self.call(lambda s: s.schedules.pause(schedule_id, actor=actor)))


class ScheduleResumeHandler(DataOpsHandler):
    @web.authenticated
    @authorized("write")
    async def post(self, schedule_id: str) -> None:
        actor = self.actor
        self.write_json(await self.call(lambda s: s.schedules.resume(schedule_id, actor=actor)))


class ScheduleRunHandler(DataOpsHandler):
    @web.authenticated
    @authorized("execute")
    async def post(self, schedule_id: str) -> None:
        """Run the schedule's notebook now, parameters given here over its own (201 with the job)."""
        request = self.json_body(ScheduleRunNow, required=False)
        actor = self.actor
        job = await self.call(lambda s: s.schedules.run_now(schedule_id, request, actor=actor))
        self.set_header("Location", url_path_join(self.base_url, API_PREFIX, "jobs", job.id))
        self.write_json(job, status=201)


class ScheduleFiringsHandler(DataOpsHandler):
    query_arguments = frozenset({"limit"})

    @web.authenticated
    @authorized
    async def get(self, schedule_id: str) -> None:
        """What became of the schedule's due times, newest first."""
        query = self.query_model(FiringQuery, {"limit": self.query_value("limit")})
        items = await self.call(lambda s: s.schedules.firings(schedule_id, limit=query.limit))
        self.write_json(FiringList(items=items))


_ID = r"(?P<schedule_id>[^/]+)"

handlers: list[tuple[str, Any]] = [
    (rf"{API_PREFIX}/schedules", SchedulesHandler),
    # Before the schedule id route, which would take "preview" for an id.
    (rf"{API_PREFIX}/schedules/preview", SchedulePreviewHandler),
    (rf"{API_PREFIX}/schedules/{_ID}", ScheduleHandler),
    (rf"{API_PREFIX}/schedules/{_ID}/pause", SchedulePauseHandler),
    (rf"{API_PREFIX}/schedules/{_ID}/resume", ScheduleResumeHandler),
    (rf"{API_PREFIX}/schedules/{_ID}/run", ScheduleRunHandler),
    (rf"{API_PREFIX}/schedules/{_ID}/firings", ScheduleFiringsHandler),
]
