"""Any other path under ``/dataops/api``: a JSON 404 naming the path, instead of Jupyter's HTML page.

Registered after every other route. It still needs authentication and authorization as they do, so
an unauthenticated client learns nothing about which paths exist. A path ending in ``/`` is left to
jupyter_server, which redirects it without the slash (to a real route, or back here).
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import API_PREFIX, ApiError, DataOpsHandler

#: Where a client finds the routes that do exist.
API_DOCS = "docs/rest-api.md (the contract: jupyter_dataops/server/openapi.yaml)"


class UnknownRouteHandler(DataOpsHandler):
    # `authorized` remembers the action of its first call, so each method is decorated on its own.
    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        self.not_found()

    @web.authenticated
    @authorized
    async def head(self, path: str) -> None:
        self.not_found()

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        self.not_found()

    @web.authenticated
    @authorized
    async def put(self, path: str) -> None:
        self.not_found()

    @web.authenticated
    @authorized
    async def patch(self, path: str) -> None:
        self.not_found()

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        self.not_found()

    def _check_query_arguments(self) -> None:
        """No route, hence no query arguments to check: the 404 says more than a 400 would."""

    def not_found(self) -> None:
        method, path = self.request.method, self.request.path  # the path, never the query string
        raise ApiError(
            404,
            {
                "error": "not_found",
                "message": f"There is no API route {method} {path}.",
                "hint": f"The routes under {API_PREFIX} are listed in {API_DOCS}.",
                "details": {"method": method, "path": path},
            },
        )


handlers: list[tuple[str, Any]] = [
    # The prefix itself, or anything under it not ending in "/".
    (rf"{API_PREFIX}(?P<path>/.*[^/]|)", UnknownRouteHandler),
]
