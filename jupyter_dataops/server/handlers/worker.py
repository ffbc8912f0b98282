"""``/dataops/api/worker``: the process that runs jobs, for ``%dataops worker status|stop``."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..schemas import WorkerReport
from .base import API_PREFIX, DataOpsHandler


class WorkerHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        report = await self.call(lambda s: s.supervisor.status())
        self.write_json(WorkerReport.model_validate(report))


class WorkerStopHandler(DataOpsHandler):
    @web.authenticated
    @authorized("execute")
    async def post(self) -> None:
        """Stop the worker now; running jobs are retried if they can be, else fail."""
        report = await self.call(lambda s: s.supervisor.stop())
        self.write_json(WorkerReport.model_validate(report))


handlers: list[tuple[str, Any]] = [
    (rf"{API_PREFIX}/worker", WorkerHandler),
    (rf"{API_PREFIX}/worker/stop", WorkerStopHandler),
]
