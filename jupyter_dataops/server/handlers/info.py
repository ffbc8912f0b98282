"""``/dataops/api/info``: who the caller is here, what runs jobs and what it supports."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...version import __version__
from ..schemas import ServerInfo
from .base import API_PREFIX, DataOpsHandler


class InfoHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        actor = self.actor
        info = await self.call(
            lambda s: ServerInfo(
                version=__version__,
                user=actor,
                executor=s.jobs.capabilities(),
                executors=s.jobs.all_capabilities(),
                jobs_dir=s.ctx.config.jobs_dir,
                root_dir=str(s.root),
            )
        )
        self.write_json(info)


handlers: list[tuple[str, Any]] = [
    (rf"{API_PREFIX}/info", InfoHandler),
]
