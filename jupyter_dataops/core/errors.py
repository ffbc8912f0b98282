"""Typed errors of the core, mapped once to HTTP codes, magic messages and CLI exit codes.

Every adapter catches :class:`DataOpsError` and renders ``str(error)``; each message names the
problem and, where there is one, the fix (``error.hint``).
"""

from __future__ import annotations

from typing import Any


class DataOpsError(Exception):
    """Base class: ``message`` says what is wrong, ``hint`` how to fix it."""

    http_status = 500
    exit_code = 1
    reason = "error"

    def __init__(self, message: str, *, hint: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message

    def to_dict(self) -> dict[str, Any]:
        """The JSON body every adapter returns for this error."""
        return {
            "error": self.reason,
            "message": self.message,
            "hint": self.hint,
            "details": self.details,
        }


class InvalidInput(DataOpsError):
    """The request itself is wrong (bad type, missing field, unknown kernel...)."""

    http_status = 400
    exit_code = 2
    reason = "invalid_input"


class NotFound(DataOpsError):
    """A job, notebook or other named thing does not exist."""

    http_status = 404
    exit_code = 3
    reason = "not_found"


class Conflict(DataOpsError):
    """The thing exists but is in a state that forbids the request."""

    http_status = 409
    exit_code = 4
    reason = "conflict"


class Forbidden(DataOpsError):
    """The request would reach outside what the caller may touch (e.g. a path outside the root)."""

    http_status = 403
    exit_code = 5
    reason = "forbidden"


class PolicyViolation(DataOpsError):
    """An admin policy or quota forbids the request."""

    http_status = 403
    exit_code = 6
    reason = "policy_violation"


class QueueFull(DataOpsError):
    """The job queue is at its configured bound; nothing was queued."""

    http_status = 429
    exit_code = 8
    reason = "queue_full"


class BackendUnavailable(DataOpsError):
    """A backend cannot be used: a missing extra, an unreachable cluster, a dead worker."""

    http_status = 503
    exit_code = 7
    reason = "backend_unavailable"


class IntegrityError(DataOpsError):
    """Data does not match the hash that recorded it (a restore's verification), or a version
    control operation failed: nothing is reported done that was not."""

    http_status = 500
    exit_code = 9
    reason = "integrity_error"
