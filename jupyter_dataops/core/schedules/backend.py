"""Where schedules fire: the contract of a scheduler backend.

The local backend fires schedules in the worker process (:class:`~.firing.ScheduleFirer`, which
reads them from the store), so it needs to be told nothing. A cluster backend (the Kubernetes
issue) keeps an object per schedule (a CronJob whose pod claims its slot first) and is told of each
new, changed and deleted schedule through :meth:`sync` and :meth:`remove`. Chosen with
``c.DataOps.scheduler_class`` (an entry point in the ``jupyter_dataops.schedulers`` group).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from traitlets.config import LoggingConfigurable

if TYPE_CHECKING:
    from .models import Schedule


class SchedulerBackend(LoggingConfigurable):
    #: Short name, as ``c.DataOps.scheduler_class`` may name it.
    name: ClassVar[str] = "base"
    #: Whether the worker fires this backend's schedules itself (the store's lease and due
    #: times); a backend that fires elsewhere says False.
    fires_in_worker: ClassVar[bool] = True

    def __init__(self, *, dataops: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataops = dataops

    def sync(self, schedule: Schedule) -> None:
        """A schedule was created or changed (paused and resumed included)."""

    def remove(self, schedule_id: str) -> None:
        """A schedule was deleted."""
