"""Snapshots in SQL (``core.snapshots.repository``). Every write records a ``snapshot`` change in
the same transaction."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.engine import Connection

from ..core.errors import InvalidInput
from ..core.snapshots.models import SnapshotQuery
from ..core.snapshots.repository import SnapshotRecord
from .changes import SqlChangeLog
from .cursors import keyset_page, pack_cursor, unpack_cursor
from .ids import get_by_id_or_prefix
from .orm import JobRow, SnapshotRow

SNAPSHOTS: Table = SnapshotRow.__table__  # type: ignore[assignment]
JOBS: Table = JobRow.__table__  # type: ignore[assignment]
_BAD_CURSOR = "The cursor is not one this server made."


class SqlSnapshotRepository:
    def __init__(self, conn: Connection, changes: SqlChangeLog) -> None:
        self.conn = conn
        self.changes = changes

    def insert(self, **fields: Any) -> None:
        self.conn.execute(SNAPSHOTS.insert().values(**fields))
        self.changes.record("snapshot", fields["id"], "created")

    def update(self, snapshot_id: str, *, from_status: str | None = None, **fields: Any) -> bool:
        statement = update(SNAPSHOTS).where(SNAPSHOTS.c.id == snapshot_id)
        if from_status is not None:
            statement = statement.where(SNAPSHOTS.c.status == from_status)
        if self.conn.execute(statement.values(**fields)).rowcount != 1:
            return False
        self.changes.record("snapshot", snapshot_id, "updated")
        return True

    def get(self, snapshot_id: str) -> SnapshotRecord:
        return cast(
            "SnapshotRecord",
            get_by_id_or_prefix(
                self.conn,
                SNAPSHOTS,
                snapshot_id,
                noun="snapshot",
                plural="snapshots",
                listing="dataops snapshots list",
            ),
        )

    def _newest(self, root_dir: str, *conditions: Any) -> SnapshotRecord | None:
        """The newest ready snapshot of the project that meets ``conditions``."""
        row = self.conn.execute(
            select(SNAPSHOTS)
            .where(SNAPSHOTS.c.root_dir == root_dir, SNAPSHOTS.c.status == "ready", *conditions)
            .order_by(SNAPSHOTS.c.created_at.desc(), SNAPSHOTS.c.id.desc())
            .limit(1)
        ).first()
        return cast("SnapshotRecord | None", row)

    def latest(self, root_dir: str) -> SnapshotRecord | None:
        return self._newest(root_dir)

    def matching(self, root_dir: str, fingerprint: str, tree: str) -> SnapshotRecord | None:
        return self._newest(
            root_dir, SNAPSHOTS.c.fingerprint == fingerprint, SNAPSHOTS.c.tree == tree
        )

    def with_fingerprint(self, root_dir: str, fingerprint: str) -> SnapshotRecord | None:
        return self._newest(root_dir, SNAPSHOTS.c.fingerprint == fingerprint)

    def creating(self, root_dir: str) -> list[SnapshotRecord]:
        rows = self.conn.execute(
            select(SNAPSHOTS).where(
                SNAPSHOTS.c.root_dir == root_dir, SNAPSHOTS.c.status == "creating"
            )
        ).all()
        return cast("list[SnapshotRecord]", list(rows))

    def _filters(self, root_dir: str, query: SnapshotQuery) -> list[Any]:
        conditions: list[Any] = [SNAPSHOTS.c.root_dir == root_dir]
        if query.id:
            conditions.append(SNAPSHOTS.c.id.in_(query.id))
        if query.status:
            conditions.append(SNAPSHOTS.c.status.in_([s.value for s in query.status]))
        if query.kind:
            conditions.append(SNAPSHOTS.c.kind.in_(list(query.kind)))
        return conditions

    def page(
        self, root_dir: str, query: SnapshotQuery
    ) -> tuple[list[SnapshotRecord], str | None, str | None]:
        """Keyset paging by (created_at, id)."""
        cursor = None
        if query.cursor:
            try:
                value, last_id, direction, same = unpack_cursor(
                    query.cursor, "created_at", query.order
                )
                float(value)
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidInput(_BAD_CURSOR, hint="Start again without a cursor.") from exc
            if not same:
                raise InvalidInput(_BAD_CURSOR, hint="Start again without a cursor.")
            cursor = (float(value), last_id, direction)
        rows, next_cursor, prev_cursor = keyset_page(
            self.conn,
            SNAPSHOTS,
            SNAPSHOTS.c.created_at,
            self._filters(root_dir, query),
            cursor=cursor,
            order=query.order,
            limit=query.limit,
            encode=lambda row, to: pack_cursor(
                "created_at", query.order, row.created_at, row.id, to
            ),
        )
        return cast("list[SnapshotRecord]", rows), next_cursor, prev_cursor

    def total(self, root_dir: str, query: SnapshotQuery) -> int:
        value = self.conn.execute(
            select(func.count()).select_from(SNAPSHOTS).where(*self._filters(root_dir, query))
        ).scalar()
        return int(value or 0)

    def counts_by_status(self, root_dir: str) -> dict[str, int]:
        rows = self.conn.execute(
            select(SNAPSHOTS.c.status, func.count())
            .where(SNAPSHOTS.c.root_dir == root_dir)
            .group_by(SNAPSHOTS.c.status)
        )
        return {status: int(n) for status, n in rows}

    def due_pushes(self, now: float, limit: int) -> list[SnapshotRecord]:
        rows = self.conn.execute(
            select(SNAPSHOTS)
            .where(
                SNAPSHOTS.c.push_status == "pending",
                SNAPSHOTS.c.status == "ready",
                or_(SNAPSHOTS.c.push_next_at.is_(None), SNAPSHOTS.c.push_next_at <= now),
            )
            .order_by(SNAPSHOTS.c.created_at)
            .limit(limit)
        ).all()
        return cast("list[SnapshotRecord]", list(rows))

    def next_push_at(self) -> float | None:
        value = self.conn.execute(
            select(func.min(func.coalesce(SNAPSHOTS.c.push_next_at, 0.0))).where(
                SNAPSHOTS.c.push_status == "pending", SNAPSHOTS.c.status == "ready"
            )
        ).scalar()
        return None if value is None else float(value)

    def jobs_of(self, snapshot_id: str) -> list[str]:
        rows = self.conn.execute(
            select(JOBS.c.id)
            .where(JOBS.c.snapshot_id == snapshot_id)
            .order_by(JOBS.c.created_at, JOBS.c.id)
            .limit(1000)
        )
        return [row.id for row in rows]
