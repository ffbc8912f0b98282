"""``/dataops/api/notebooks``: what the run dialog needs to know about a notebook."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import API_PREFIX, DataOpsHandler, bad_request


class NotebookParametersHandler(DataOpsHandler):
    query_arguments = frozenset({"path"})

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The parameters cell of ``?path=`` (relative to the server's root): names, types,
        defaults, help, and the notebook's kernel."""
        path = self.query_value("path")
        if path is None:
            raise bad_request(
                "The query argument 'path' is required.",
                hint="Give the notebook's path relative to the server's root, e.g. ?path=train.ipynb",
            )
        self.write_json(await self.call(lambda s: s.jobs.inspect_notebook(path)))


handlers: list[tuple[str, Any]] = [
    (rf"{API_PREFIX}/notebooks/parameters", NotebookParametersHandler),
]
