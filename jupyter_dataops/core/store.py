"""What the core needs from a store, as protocols: a unit of work that spans the repositories of
every capability, an append-only audit log and a change log.

The core never imports SQLAlchemy; ``jupyter_dataops.store`` implements these on any SQL database.
Every write to a repository records a change in the same transaction, so whoever follows the
change log (the server's event stream, a waiting CLI) sees each change exactly once, in commit
order, whatever the clocks of the processes that wrote them say.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from .endpoints.repository import EndpointRepository
    from .jobs.repository import JobRepository
    from .sandboxes.repository import SandboxRepository
    from .schedules.repository import Leases, ScheduleRepository
    from .snapshots.repository import SnapshotRepository

ChangeAction = Literal["created", "updated", "deleted"]


class Change(BaseModel):
    """One thing that changed: its kind (``job``, later ``schedule`` ...), id and what happened.

    ``seq`` grows by one with every change committed to the store, in commit order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    id: str
    action: ChangeAction
    seq: int = Field(..., ge=1)


class ChangeLog(Protocol):
    def record(self, kind: str, entity_id: str, action: ChangeAction) -> int:
        """Record a change in the current transaction; returns its sequence number."""

    def record_many(self, changes: list[tuple[str, str, ChangeAction]]) -> None:
        """Record (kind, id, action) changes in order, in the current transaction (one round
        trip for many: a scheduler's burst)."""

    def since(self, seq: int, *, limit: int = 500) -> list[Change]:
        """Changes after ``seq``, oldest first; only the latest change of each thing."""

    def latest(self) -> int:
        """The sequence number of the newest committed change (0 for a new store)."""

    def cursor(self, name: str) -> int | None:
        """Where the follower ``name`` stopped reading (None: it never read)."""

    def set_cursor(self, name: str, seq: int) -> None:
        """Move the follower ``name`` to ``seq`` (in the current transaction)."""


class AuditEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    at: float
    actor: str | None
    action: str
    target_kind: str
    target_id: str
    detail: dict[str, Any]


class AuditLog(Protocol):
    def add(
        self, action: str, target_kind: str, target_id: str, actor: str | None, **detail: Any
    ) -> None:
        """Append who did what to which thing (in the current transaction)."""

    def add_many(self, entries: list[tuple[str, str, str, str | None, dict[str, Any]]]) -> None:
        """Append (action, target kind, target id, actor, detail) entries at once."""

    def events(self, target_id: str | None = None) -> list[AuditEvent]: ...


class UnitOfWork(Protocol):
    """One transaction across every repository: all of its writes commit together, or none."""

    @property
    def jobs(self) -> JobRepository: ...

    @property
    def schedules(self) -> ScheduleRepository: ...

    @property
    def leases(self) -> Leases: ...

    @property
    def snapshots(self) -> SnapshotRepository: ...

    @property
    def endpoints(self) -> EndpointRepository: ...

    @property
    def sandboxes(self) -> SandboxRepository: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def changes(self) -> ChangeLog: ...

    def lock_writes(self) -> None:
        """Serialise writers from here to the end of this transaction (e.g. check a bound, then
        insert): other units of work that call it, or that write, wait until this one ends."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Store(Protocol):
    url: str

    def unit_of_work(self, *, read_only: bool = False) -> AbstractContextManager[UnitOfWork]:
        """A transaction: commit with ``uow.commit()``; leaving without it rolls back. One that
        writes takes the store's write lock when it begins (so two writers never fail each
        other); a ``read_only`` one reads a consistent snapshot and never waits for writers."""

    def close(self) -> None: ...


def iter_changes(store: Store, since: int, *, limit: int = 500) -> Iterator[Change]:
    """Every change after ``since``, fetched a page at a time."""
    while True:
        with store.unit_of_work(read_only=True) as uow:
            page = uow.changes.since(since, limit=limit)
        yield from page
        if len(page) < limit:
            return
        since = page[-1].seq
