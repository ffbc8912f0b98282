"""REST handlers of jupyter-dataops, one module per resource, all under ``/dataops/api``.

``default_handlers`` is what the extension registers; ``server/openapi.yaml`` describes exactly
these routes (a test checks both ways).
"""

from __future__ import annotations

from typing import Any

from . import info, jobs, notebooks

default_handlers: list[tuple[str, Any]] = [*jobs.handlers, *notebooks.handlers, *info.handlers]

__all__ = ["default_handlers"]
