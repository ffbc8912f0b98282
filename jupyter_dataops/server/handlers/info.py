"""``/dataops/api/info``: what this server runs jobs with and where their outputs go."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ... import __version__
from ..schemas import ServerInfo
from .base import API_PREFIX, DataOpsHandler


class InfoHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        info = await self.call(
            lambda s: ServerInfo(
                version=__version__,
                executor=s.executor.name,
                jobs_dir=s.dataops.jobs_dir,
                root_dir=str(s.root),
            )
        )
        self.write_json(info)


handlers: list[tuple[str, Any]] = [
    (rf"{API_PREFIX}/info", InfoHandler),
]
