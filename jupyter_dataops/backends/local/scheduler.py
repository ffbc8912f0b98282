"""The local scheduler backend: schedules fire in the worker process, from the store."""

from __future__ import annotations

from ...core.schedules.backend import SchedulerBackend


class LocalScheduler(SchedulerBackend):
    """Fires schedules in the worker (one per data dir; one at a time per store, by a lease).
    The worker reads schedules from the store, so it needs to be told nothing. Run it under
    systemd with ``dataops scheduler`` so schedules fire with no Jupyter server running."""

    name = "local"
    fires_in_worker = True
