"""What every REST handler shares: who the caller is, running the core off the event loop, reading
JSON and query arguments into core models, and turning every failure into one JSON error shape::

    {"error": "invalid_input", "message": "...", "hint": "..." | null, "details": {...}}

Core errors (``DataOpsError``) keep their own status (400/403/404/409/503); a pydantic validation
error, malformed JSON or an unknown query argument is a 400; a body over the configured bound is a
413; anything else is a 500 whose traceback goes to the server log, never to the client.

Callers are authenticated by the server (token, cookie, JupyterHub), or, on these routes only, by
a DataOps token (``Authorization: DataOps <token>``) that the server gave one of its kernels or
the worker gave a job kernel (see ``core.identity``). The actor recorded in the audit log is the
user the server authenticated: the server's owner for a single-user server with token auth (not
the browser's random display name), the hub's user under JupyterHub, the token's subject.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from http.client import responses
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from jupyter_server.auth import IdentityProvider, User
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from pydantic import BaseModel, ValidationError
from tornado import web

from ...core.errors import DataOpsError

if TYPE_CHECKING:
    from ...core.identity import Claims
    from ...services import Services
    from ..app import DataOpsExtension

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

#: The resource name that jupyter_server's Authorizer sees for every dataops route.
AUTH_RESOURCE = "dataops"
API_PREFIX = "/dataops/api"

#: Query arguments jupyter_server itself reads on any API request.
_SERVER_ARGUMENTS = frozenset({"token", "_xsrf", "no_track_activity"})
#: The scheme of a DataOps token in the Authorization header.
TOKEN_SCHEME = "DataOps"

_ERROR_NAMES = {
    400: "invalid_input",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    503: "backend_unavailable",
}


class ApiError(web.HTTPError):
    """An HTTP error whose JSON body is already known."""

    def __init__(self, status_code: int, body: dict[str, Any]) -> None:
        super().__init__(status_code, "%s", body.get("message", ""))
        self.body = body


def bad_request(message: str, *, hint: str | None = None, **details: Any) -> ApiError:
    return ApiError(
        400, {"error": "invalid_input", "message": message, "hint": hint, "details": details}
    )


#: Field names other clients send for ours (jupyter-scheduler's job definitions, papermill's and
#: cron's words), so a payload written for them is told what to send here.
_FIELD_ALIASES = {
    "input_uri": "notebook_path",
    "input_filename": "notebook_path",
    "input_path": "notebook_path",
    "notebook": "notebook_path",
    "path": "notebook_path",
    "schedule": "cron",
    "crontab": "cron",
    "cron_expression": "cron",
    "tz": "timezone",
    "runtime_environment_name": "kernel_name",
    "kernel": "kernel_name",
    "timeout": "timeout_seconds",
    "execution_timeout": "timeout_seconds",
    "retries": "max_retries",
}


def _suggested_field(field: str, model: type[BaseModel] | None) -> str | None:
    """Our field for ``field``, an unknown one: a known alias, or a close spelling."""
    import difflib

    fields = list(model.model_fields) if model is not None else []
    alias = _FIELD_ALIASES.get(field)
    if alias in fields:
        return alias
    close = difflib.get_close_matches(field, fields, n=1, cutoff=0.75)
    return close[0] if close else None


def from_validation_error(
    exc: ValidationError, *, where: str = "body", model: type[BaseModel] | None = None
) -> ApiError:
    """A 400 naming each field and its problem, without echoing the input back. An unknown
    field is named with ours it stands for, when ``model`` has one."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        field = ".".join(str(part) for part in error["loc"]) or f"({where})"
        problem = error["msg"]
        if error["type"] == "extra_forbidden":
            problem = "not a field here"
            suggestion = _suggested_field(field, model) if len(error["loc"]) == 1 else None
            if suggestion is not None:
                problem += f" (did you mean {suggestion}?)"
        problems.append({"field": field, "problem": problem})
    summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
    return bad_request(
        f"Invalid request {where}: {summary}.",
        hint="Correct the fields named above (see /dataops/api in the OpenAPI file).",
        errors=problems,
    )


class _TokenIdentity:
    """The server's identity provider, which also accepts DataOps tokens on DataOps routes."""

    def __init__(self, handler: DataOpsHandler, real: IdentityProvider) -> None:
        self._handler = handler
        self._real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def get_user(self, handler: Any) -> User | None:
        header = handler.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme == TOKEN_SCHEME and token.strip():
            try:
                claims = await asyncio.to_thread(self._handler.dataops.verify_token, token.strip())
            except DataOpsError as exc:
                raise ApiError(401, exc.to_dict()) from None
            self._handler.token_claims = claims
            return User(username=claims.subject, name=claims.subject, display_name=claims.subject)
        user = self._real.get_user(handler)
        if inspect.isawaitable(user):
            user = await user
        return user  # type: ignore[no-any-return]

    def is_token_authenticated(self, handler: Any) -> bool:
        # A bearer token in a header cannot be sent by another site: no XSRF check is needed.
        if self._handler.token_claims is not None:
            return True
        return bool(self._real.is_token_authenticated(handler))


class _TokenAuthorizer(Authorizer):
    """A DataOps token authorizes the DataOps API (this handler's resource) and nothing else."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource == AUTH_RESOURCE


class DataOpsHandler(ExtensionHandlerMixin, APIHandler):
    """Base of every ``/dataops/api`` handler. Subclasses parse, call one service method, render."""

    auth_resource = AUTH_RESOURCE

    #: Query arguments this route accepts; any other one is a 400, so typos do not pass silently.
    query_arguments: ClassVar[frozenset[str]] = frozenset()
    #: Where a method accepts others than ``query_arguments``: {"DELETE": frozenset({...})}.
    method_query_arguments: ClassVar[dict[str, frozenset[str]]] = {}

    @classmethod
    def accepted_arguments(cls, method: str) -> frozenset[str]:
        """The query arguments ``method`` accepts on this route."""
        return cls.method_query_arguments.get(method.upper(), cls.query_arguments)

    #: Set when the caller authenticated with a DataOps token.
    token_claims: Claims | None = None

    @property
    def dataops(self) -> DataOpsExtension:
        return self.extensionapp  # type: ignore[return-value]

    @property
    def identity_provider(self) -> Any:
        return _TokenIdentity(self, super().identity_provider)

    @property
    def authorizer(self) -> Any:
        if self.token_claims is not None:
            return _TokenAuthorizer(parent=self.dataops)
        return super().authorizer

    @property
    def actor(self) -> str | None:
        """Who the audit log records: see the module's docstring."""
        if self.token_claims is not None:
            return self.token_claims.subject
        real = self.settings.get("identity_provider")
        if type(real).__name__ in ("IdentityProvider", "PasswordIdentityProvider"):
            from ..app import server_owner

            return server_owner()
        user = self.current_user
        return getattr(user, "username", None) or None

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if self.current_user:  # unauthenticated requests are refused by the method's decorator
            self._check_body_size()
            self._check_query_arguments()

    def body_limit(self) -> int:
        """The largest body this route reads (bytes)."""
        return int(self.dataops.dataops.max_request_bytes)

    def _check_body_size(self) -> None:
        limit = self.body_limit()
        size = len(self.request.body or b"")
        if size > limit:
            raise ApiError(
                413,
                {
                    "error": "too_large",
                    "message": f"The request body has {size} bytes; this server reads at most "
                    f"{limit}.",
                    "hint": "Send less (pass large data as a file path), or raise "
                    "c.DataOps.max_request_bytes.",
                    "details": {"size": size, "limit": limit},
                },
            )

    def _check_query_arguments(self) -> None:
        unknown = []
        accepted = self.accepted_arguments(self.request.method or "GET")
        for name, values in self.request.query_arguments.items():
            if name in accepted or name in _SERVER_ARGUMENTS:
                continue
            # JupyterLab's ServerConnection appends a bare timestamp to defeat caches.
            if name.isdigit() and all(not v for v in values):
                continue
            unknown.append(name)
        if unknown:
            allowed = ", ".join(sorted(accepted)) or "none"
            hint = f"This route accepts: {allowed}."
            if "offset" in unknown and "cursor" in accepted:
                hint += " Pages are reached by cursor: pass a page's next_cursor as cursor."
            raise bad_request(
                f"Unknown query argument(s): {', '.join(sorted(unknown)[:20])}.",
                hint=hint,
                unknown=sorted(unknown)[:20],
            )

    # -- input --------------------------------------------------------------------------------
    def json_body(self, model: type[M], *, required: bool = True) -> M:
        """The request's JSON body as ``model``; an empty body is ``{}`` unless ``required``."""
        raw = self.request.body or b""
        if not raw.strip():
            if required:
                raise bad_request(
                    "The request has no body.", hint=f"Send a JSON object ({model.__name__})."
                )
            data: Any = {}
        else:
            try:
                data = json.loads(raw)
            except RecursionError:
                raise bad_request(
                    "The request body is nested too deeply to read.",
                    hint=f"Send a flatter JSON object ({model.__name__}).",
                ) from None
            except (ValueError, UnicodeDecodeError) as exc:
                raise bad_request(
                    f"The request body is not valid JSON: {exc}.",
                    hint=f"Send a JSON object ({model.__name__}).",
                ) from exc
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise from_validation_error(exc, model=model) from exc

    def query_value(self, name: str) -> str | None:
        """A query argument given at most once; empty means absent."""
        values = self.get_query_arguments(name)
        if len(values) > 1:
            raise bad_request(
                f"Query argument {name!r} is given {len(values)} times; give it once."
            )
        return values[0] if values and values[0] != "" else None

    def query_model(self, model: type[M], data: dict[str, Any]) -> M:
        try:
            return model.model_validate({k: v for k, v in data.items() if v is not None})
        except ValidationError as exc:
            raise from_validation_error(exc, where="query", model=model) from exc

    # -- the core -----------------------------------------------------------------------------
    async def call(self, fn: Callable[[Services], T]) -> T:
        """Run ``fn(services)`` in a worker thread: the core is synchronous and may import heavy
        modules or wait on the store, none of which may stall the server's event loop."""
        extension = self.dataops
        try:
            return await asyncio.to_thread(lambda: fn(extension.services))
        except DataOpsError as exc:
            raise ApiError(exc.http_status, exc.to_dict()) from exc
        except ValidationError as exc:
            raise from_validation_error(exc) from exc

    # -- output -------------------------------------------------------------------------------
    def write_json(self, value: BaseModel | dict[str, Any], *, status: int = 200) -> None:
        body = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
        self.set_status(status)
        self.finish(json.dumps(body))

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if isinstance(value, web.HTTPError):
            super().log_exception(typ, value, tb)
            return
        # As tornado does, but without the query string: it may carry the user's token.
        self.log.error(
            "Uncaught exception in %s %s",
            self.request.method,
            self.request.path,
            exc_info=(typ, value, tb) if typ is not None and value is not None else None,
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        if isinstance(exc, ApiError):
            body = exc.body
        elif isinstance(exc, web.HTTPError):
            message = responses.get(status_code, "Error")
            if exc.log_message:
                message = exc.log_message % exc.args if exc.args else exc.log_message
            body = {
                "error": _ERROR_NAMES.get(status_code, "http_error"),
                "message": message,
                "hint": None,
                "details": {},
            }
        else:
            # The traceback is in the server log (tornado logged it); the client learns nothing
            # that could leak paths, settings or secrets.
            body = {
                "error": "internal_error",
                "message": "The server failed to handle this request.",
                "hint": "The Jupyter server's log has the details.",
                "details": {},
            }
        self.finish(json.dumps(body, default=str))
