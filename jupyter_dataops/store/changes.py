"""The change log: a sequence number per change, handed out in commit order.

Writers bump the ``changes`` counter row inside their own transaction; the row lock (sqlite's
write lock, PostgreSQL's row lock) is held until they commit, so a reader that has seen number N
has seen every change numbered below N. Only the latest change of each thing is kept.
"""

from __future__ import annotations

import time

from sqlalchemy import Table, delete, select, update
from sqlalchemy.engine import Connection

from ..core.store import Change, ChangeAction
from .orm import ChangeRow, SequenceRow

SEQUENCES: Table = SequenceRow.__table__  # type: ignore[assignment]
CHANGES: Table = ChangeRow.__table__  # type: ignore[assignment]
COUNTER = "changes"
#: Deleted things stay in the log this long, so a follower that was away still hears of them.
TOMBSTONE_SECONDS = 7 * 24 * 3600.0


class SqlChangeLog:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def lock(self) -> None:
        self.conn.execute(
            update(SEQUENCES).where(SEQUENCES.c.name == COUNTER).values(value=SEQUENCES.c.value)
        )

    def record(self, kind: str, entity_id: str, action: ChangeAction) -> int:
        seq = int(
            self.conn.execute(
                update(SEQUENCES)
                .where(SEQUENCES.c.name == COUNTER)
                .values(value=SEQUENCES.c.value + 1)
                .returning(SEQUENCES.c.value)
            ).scalar_one()
        )
        values = {
            "kind": kind,
            "entity_id": entity_id,
            "seq": seq,
            "action": action,
            "at": time.time(),
        }
        dialect = self.conn.dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(CHANGES).values(**values)
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(CHANGES).values(**values)  # type: ignore[assignment]
        else:  # any other database: replace by hand
            self.conn.execute(
                delete(CHANGES).where(CHANGES.c.kind == kind, CHANGES.c.entity_id == entity_id)
            )
            self.conn.execute(CHANGES.insert().values(**values))
            return seq
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[CHANGES.c.kind, CHANGES.c.entity_id],
                set_={"seq": seq, "action": action, "at": values["at"]},
            )
        )
        return seq

    def record_many(self, changes: list[tuple[str, str, ChangeAction]]) -> None:
        """Record changes in order with one counter update and one upsert for all of them."""
        latest: dict[tuple[str, str], ChangeAction] = {}
        for kind, entity_id, action in changes:
            latest.pop((kind, entity_id), None)  # a later change of the same thing wins
            latest[(kind, entity_id)] = action
        dialect = self.conn.dialect.name
        if not latest:
            return
        if dialect not in ("postgresql", "sqlite"):
            for (kind, entity_id), action in latest.items():
                self.record(kind, entity_id, action)
            return
        last = int(
            self.conn.execute(
                update(SEQUENCES)
                .where(SEQUENCES.c.name == COUNTER)
                .values(value=SEQUENCES.c.value + len(latest))
                .returning(SEQUENCES.c.value)
            ).scalar_one()
        )
        at = time.time()
        rows = [
            {"kind": kind, "entity_id": entity_id, "seq": seq, "action": action, "at": at}
            for seq, ((kind, entity_id), action) in enumerate(
                latest.items(), start=last - len(latest) + 1
            )
        ]
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(CHANGES)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(CHANGES)  # type: ignore[assignment]
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[CHANGES.c.kind, CHANGES.c.entity_id],
                set_={
                    "seq": stmt.excluded.seq,
                    "action": stmt.excluded.action,
                    "at": stmt.excluded.at,
                },
            ),
            rows,
        )

    def since(self, seq: int, *, limit: int = 500) -> list[Change]:
        rows = self.conn.execute(
            select(CHANGES.c.kind, CHANGES.c.entity_id, CHANGES.c.action, CHANGES.c.seq)
            .where(CHANGES.c.seq > seq)
            .order_by(CHANGES.c.seq)
            .limit(limit)
        ).all()
        return [Change(kind=r.kind, id=r.entity_id, action=r.action, seq=r.seq) for r in rows]

    def latest(self) -> int:
        value = self.conn.execute(
            select(SEQUENCES.c.value).where(SEQUENCES.c.name == COUNTER)
        ).scalar()
        return int(value or 0)

    def cursor(self, name: str) -> int | None:
        """A follower's position in the log (kept in the store, so it survives restarts)."""
        value = self.conn.execute(
            select(SEQUENCES.c.value).where(SEQUENCES.c.name == f"cursor:{name}")
        ).scalar()
        return int(value) if value is not None else None

    def set_cursor(self, name: str, seq: int) -> None:
        key = f"cursor:{name}"
        moved = self.conn.execute(
            update(SEQUENCES).where(SEQUENCES.c.name == key).values(value=seq)
        ).rowcount
        if not moved:
            self.conn.execute(SEQUENCES.insert().values(name=key, value=seq))

    def prune(self, older_than: float | None = None) -> int:
        """Forget tombstones older than ``older_than`` (default: a week ago)."""
        cutoff = older_than if older_than is not None else time.time() - TOMBSTONE_SECONDS
        result = self.conn.execute(
            delete(CHANGES).where(CHANGES.c.action == "deleted", CHANGES.c.at < cutoff)
        )
        return int(result.rowcount or 0)
