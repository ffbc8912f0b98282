"""Sandboxes in SQL (``core.sandboxes.repository``). Every write records a ``sandbox`` change
in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, or_, select, update
from sqlalchemy.engine import Connection

from ..core.sandboxes.repository import SandboxRecord
from .changes import SqlChangeLog
from .ids import get_by_id_or_prefix
from .orm import SandboxRow

SANDBOXES: Table = SandboxRow.__table__  # type: ignore[assignment]


class SqlSandboxRepository:
    def __init__(self, conn: Connection, changes: SqlChangeLog) -> None:
        self.conn = conn
        self.changes = changes

    def insert(self, **fields: Any) -> None:
        self.conn.execute(SANDBOXES.insert().values(**fields))
        self.changes.record("sandbox", fields["id"], "created")

    def update(
        self, sandbox_id: str, *, only_status: Sequence[str] | None = None, **fields: Any
    ) -> bool:
        statement = update(SANDBOXES).where(SANDBOXES.c.id == sandbox_id)
        if only_status is not None:
            statement = statement.where(SANDBOXES.c.status.in_(list(only_status)))
        if self.conn.execute(statement.values(**fields)).rowcount != 1:
            return False
        self.changes.record("sandbox", sandbox_id, "updated")
        return True

    def find(self, sandbox_id: str) -> SandboxRecord | None:
        row = self.conn.execute(select(SANDBOXES).where(SANDBOXES.c.id == sandbox_id)).first()
        return cast("SandboxRecord | None", row)

    def get(self, sandbox_id: str) -> SandboxRecord:
        return cast(
            "SandboxRecord",
            get_by_id_or_prefix(
                self.conn,
                SANDBOXES,
                sandbox_id,
                noun="sandbox",
                plural="sandboxes",
                listing="dataops sandboxes list",
            ),
        )

    def of_job(self, job_id: str) -> SandboxRecord | None:
        row = self.conn.execute(
            select(SANDBOXES).where(SANDBOXES.c.job_id == job_id).limit(1)
        ).first()
        return cast("SandboxRecord | None", row)

    def all(
        self, *, statuses: Sequence[str] | None = None, since: float | None = None
    ) -> list[SandboxRecord]:
        statement = select(SANDBOXES).order_by(SANDBOXES.c.created_at.desc(), SANDBOXES.c.id)
        if statuses is not None:
            statement = statement.where(SANDBOXES.c.status.in_(list(statuses)))
        if since is not None:
            statement = statement.where(
                or_(
                    SANDBOXES.c.stopped_at.is_(None),
                    SANDBOXES.c.stopped_at >= since,
                    SANDBOXES.c.created_at >= since,
                )
            )
        return cast("list[SandboxRecord]", list(self.conn.execute(statement).all()))
