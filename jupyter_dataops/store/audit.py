"""The append-only audit log: who did what to which thing, and when."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from ..core.store import AuditEvent
from .orm import AuditRow

AUDIT: Table = AuditRow.__table__  # type: ignore[assignment]


class SqlAuditLog:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self, action: str, target_kind: str, target_id: str, actor: str | None, **detail: Any
    ) -> None:
        self.conn.execute(
            AUDIT.insert().values(
                at=time.time(),
                actor=actor,
                action=action,
                target_kind=target_kind,
                target_id=target_id,
                detail=detail,
            )
        )

    def add_many(self, entries: list[tuple[str, str, str, str | None, dict[str, Any]]]) -> None:
        if not entries:
            return
        at = time.time()
        self.conn.execute(
            AUDIT.insert(),
            [
                {
                    "at": at,
                    "actor": actor,
                    "action": action,
                    "target_kind": target_kind,
                    "target_id": target_id,
                    "detail": detail,
                }
                for action, target_kind, target_id, actor, detail in entries
            ],
        )

    def events(self, target_id: str | None = None) -> list[AuditEvent]:
        stmt = select(AUDIT).order_by(AUDIT.c.id)
        if target_id is not None:
            stmt = stmt.where(AUDIT.c.target_id == target_id)
        return [AuditEvent(**row._mapping) for row in self.conn.execute(stmt)]
