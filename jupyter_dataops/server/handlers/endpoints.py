"""``/dataops/api/endpoints``: publish models and manage the endpoints that serve them (start,
stop, promote, roll back, split traffic), with their metrics, drift, snippets and a try-it
proxy. ``/dataops/api/models``: the registry's models and versions, and where kernels log."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ...core.endpoints.models import (
    InvokeRequest,
    PromoteRequest,
    PublishRequest,
    TrafficRequest,
)
from .base import API_PREFIX, DataOpsHandler


class ModelsHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The registered models and their versions."""
        self.write_json(await self.call(lambda s: s.endpoints.models()))


class ModelSettingsHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Where a kernel logs a model before publishing it."""
        self.write_json(await self.call(lambda s: s.endpoints.settings()))


class ModelHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, model_name: str) -> None:
        self.write_json(await self.call(lambda s: s.endpoints.model(model_name)))


class EndpointsHandler(DataOpsHandler):
    def body_limit(self) -> int:
        # Reference rows for the drift score come with a publish.
        return max(super().body_limit(), 64 << 20)

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The project's endpoints, by name."""
        self.write_json(await self.call(lambda s: s.endpoints.list()))

    @web.authenticated
    @authorized("write")
    async def post(self) -> None:
        """Publish: register the model as a new version and serve it (201 once it answers)."""
        request = self.json_body(PublishRequest)
        actor = self.actor
        publication = await self.call(lambda s: s.endpoints.publish(request, actor=actor))
        self.set_header(
            "Location",
            url_path_join(self.base_url, API_PREFIX, "endpoints", publication.endpoint.name),
        )
        self.write_json(publication, status=201)


class EndpointHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        self.write_json(await self.call(lambda s: s.endpoints.get(name)))

    @web.authenticated
    @authorized("write")
    async def delete(self, name: str) -> None:
        actor = self.actor
        await self.call(lambda s: s.endpoints.delete(name, actor=actor))
        self.set_status(204)
        self.finish()


class EndpointActionHandler(DataOpsHandler):
    """POST .../start, .../stop, .../restart, .../rollback (one route each)."""

    def initialize(self, action: str, **kwargs: Any) -> None:  # type: ignore[override]
        super().initialize(**kwargs)
        self.action = action

    @web.authenticated
    @authorized("write")
    async def post(self, name: str) -> None:
        actor = self.actor
        action = self.action
        methods = {
            "start": lambda s: s.endpoints.start(name, actor=actor),
            "stop": lambda s: s.endpoints.stop(name, actor=actor),
            "restart": lambda s: s.endpoints.restart(name, actor=actor),
            "rollback": lambda s: s.endpoints.rollback(name, actor=actor),
        }
        self.write_json(await self.call(methods[action]))


class EndpointPromoteHandler(DataOpsHandler):
    @web.authenticated
    @authorized("write")
    async def post(self, name: str) -> None:
        request = self.json_body(PromoteRequest, required=False)
        actor = self.actor
        self.write_json(await self.call(lambda s: s.endpoints.promote(name, request, actor=actor)))


class EndpointTrafficHandler(DataOpsHandler):
    @web.authenticated
    @authorized("write")
    async def post(self, name: str) -> None:
        request = self.json_body(TrafficRequest)
        actor = self.actor
        self.write_json(await self.call(lambda s: s.endpoints.traffic(name, request, actor=actor)))


class EndpointReadHandler(DataOpsHandler):
    """GET .../metrics, .../drift, .../snippets, .../token (one route each)."""

    def initialize(self, what: str, **kwargs: Any) -> None:  # type: ignore[override]
        super().initialize(**kwargs)
        self.what = what

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        what = self.what
        methods = {
            "metrics": lambda s: s.endpoints.metrics(name),
            "drift": lambda s: s.endpoints.drift(name),
            "snippets": lambda s: s.endpoints.snippets(name),
            "token": lambda s: s.endpoints.token(name),
        }
        self.write_json(await self.call(methods[what]))


class EndpointInvokeHandler(DataOpsHandler):
    @web.authenticated
    @authorized("write")
    async def post(self, name: str) -> None:
        """Send a scoring request to the endpoint (the try-it form); its 4xx are answers."""
        request = self.json_body(InvokeRequest)
        self.write_json(await self.call(lambda s: s.endpoints.invoke(name, request)))


_NAME = r"(?P<name>[^/]+)"

handlers: list[tuple[Any, ...]] = [
    (rf"{API_PREFIX}/models", ModelsHandler),
    (rf"{API_PREFIX}/models/settings", ModelSettingsHandler),
    (rf"{API_PREFIX}/models/(?P<model_name>[^/]+)", ModelHandler),
    (rf"{API_PREFIX}/endpoints", EndpointsHandler),
    (rf"{API_PREFIX}/endpoints/{_NAME}", EndpointHandler),
    *[
        (rf"{API_PREFIX}/endpoints/{_NAME}/{action}", EndpointActionHandler, {"action": action})
        for action in ("start", "stop", "restart", "rollback")
    ],
    (rf"{API_PREFIX}/endpoints/{_NAME}/promote", EndpointPromoteHandler),
    (rf"{API_PREFIX}/endpoints/{_NAME}/traffic", EndpointTrafficHandler),
    *[
        (rf"{API_PREFIX}/endpoints/{_NAME}/{what}", EndpointReadHandler, {"what": what})
        for what in ("metrics", "drift", "snippets", "token")
    ],
    (rf"{API_PREFIX}/endpoints/{_NAME}/invoke", EndpointInvokeHandler),
]
