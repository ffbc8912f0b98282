"""A unit of work: one connection and transaction that every repository writes through."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from .audit import SqlAuditLog
from .changes import SqlChangeLog
from .endpoints import SqlEndpointRepository
from .jobs import SqlJobRepository
from .sandboxes import SqlSandboxRepository
from .schedules import SqlLeases, SqlScheduleRepository
from .snapshots import SqlSnapshotRepository


class SqlUnitOfWork:
    """``uow.jobs``, ``uow.schedules``, ``uow.leases``, ``uow.snapshots``, ``uow.endpoints``, ``uow.sandboxes``, ``uow.audit``, ``uow.changes`` share one
    transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.changes = SqlChangeLog(conn)
        self.audit = SqlAuditLog(conn)
        self.jobs = SqlJobRepository(conn, self.changes)
        self.schedules = SqlScheduleRepository(conn, self.changes)
        self.leases = SqlLeases(conn)
        self.snapshots = SqlSnapshotRepository(conn, self.changes)
        self.endpoints = SqlEndpointRepository(conn, self.changes)
        self.sandboxes = SqlSandboxRepository(conn, self.changes)

    def lock_writes(self) -> None:
        self.changes.lock()

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def execute(self, statement: Any, *args: Any) -> Any:
        return self.conn.execute(statement, *args)
