"""REST handlers of jupyter-dataops, one module per resource, all under ``/dataops/api``.

``default_handlers`` is what the extension registers; ``server/openapi.yaml`` describes exactly
these routes (a test checks both ways), except the last: the catch-all that answers any other path
under ``/dataops/api`` with a JSON 404. It must stay last, or it would shadow the routes after it.
"""

from __future__ import annotations

from typing import Any

from . import (
    endpoints,
    info,
    jobs,
    not_found,
    notebooks,
    sandboxes,
    schedules,
    snapshots,
    worker,
)

default_handlers: list[tuple[Any, ...]] = [
    *jobs.handlers,
    *schedules.handlers,
    *snapshots.handlers,
    *endpoints.handlers,
    *sandboxes.handlers,
    *notebooks.handlers,
    *info.handlers,
    *worker.handlers,
    *not_found.handlers,  # last
]

__all__ = ["default_handlers"]
