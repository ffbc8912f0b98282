"""Schedules in SQL (``core.schedules.repository``): their rows and versions, the firings (one per
due time, by key), the scheduler's lease and the notification outbox. Every write to a schedule
records a ``schedule`` change in the same transaction."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from ..core.errors import InvalidInput
from ..core.schedules.models import ScheduleQuery, ScheduleStatus
from ..core.schedules.repository import FiringRecord, ScheduleRecord
from .changes import SqlChangeLog
from .cursors import keyset_page, pack_cursor, unpack_cursor
from .ids import get_by_id_or_prefix
from .orm import (
    NOT_YET,
    FiringRow,
    JobRow,
    LeaseRow,
    NotificationRow,
    ScheduleRow,
    ScheduleVersionRow,
)

SCHEDULES: Table = ScheduleRow.__table__  # type: ignore[assignment]
VERSIONS: Table = ScheduleVersionRow.__table__  # type: ignore[assignment]
FIRINGS: Table = FiringRow.__table__  # type: ignore[assignment]
LEASES: Table = LeaseRow.__table__  # type: ignore[assignment]
OUTBOX: Table = NotificationRow.__table__  # type: ignore[assignment]
JOBS: Table = JobRow.__table__  # type: ignore[assignment]

_SORT_KEYS: dict[str, Any] = {
    "created_at": SCHEDULES.c.created_at,
    "name": SCHEDULES.c.name,
    "next_run_at": func.coalesce(SCHEDULES.c.next_due_at, NOT_YET),
}
_BAD_CURSOR = "The cursor is not one this server made."


def _insert(conn: Connection, table: Table) -> Any:
    """An INSERT that can be told what to do on a conflict, on the databases that can."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    return None


class SqlScheduleRepository:
    def __init__(self, conn: Connection, changes: SqlChangeLog) -> None:
        self.conn = conn
        self.changes = changes

    # -- schedules ----------------------------------------------------------------------------
    def insert(self, **fields: Any) -> None:
        self.conn.execute(SCHEDULES.insert().values(**fields))
        self.changes.record("schedule", fields["id"], "created")

    def update(self, schedule_id: str, *, expect_version: int | None = None, **fields: Any) -> bool:
        """Change fields (only if the schedule is still at ``expect_version``); whether it
        changed."""
        fields.setdefault("updated_at", time.time())
        stmt = update(SCHEDULES).where(SCHEDULES.c.id == schedule_id).values(**fields)
        if expect_version is not None:
            stmt = stmt.where(SCHEDULES.c.version == expect_version)
        changed = bool(self.conn.execute(stmt).rowcount)
        if changed:
            self.changes.record("schedule", schedule_id, "updated")
        return changed

    def delete(self, schedule_id: str) -> bool:
        deleted = self.conn.execute(delete(SCHEDULES).where(SCHEDULES.c.id == schedule_id))
        if not deleted.rowcount:
            return False
        self.conn.execute(delete(VERSIONS).where(VERSIONS.c.schedule_id == schedule_id))
        self.conn.execute(delete(FIRINGS).where(FIRINGS.c.schedule_id == schedule_id))
        self.conn.execute(
            delete(OUTBOX).where(OUTBOX.c.schedule_id == schedule_id, OUTBOX.c.status == "pending")
        )
        self.changes.record("schedule", schedule_id, "deleted")
        return True

    def find(self, schedule_id: str) -> ScheduleRecord | None:
        row = self.conn.execute(select(SCHEDULES).where(SCHEDULES.c.id == schedule_id)).first()
        return cast("ScheduleRecord | None", row)

    def find_many(self, schedule_ids: list[str]) -> dict[str, ScheduleRecord]:
        found: dict[str, ScheduleRecord] = {}
        for start in range(0, len(schedule_ids), 500):  # bounded IN lists
            chunk = schedule_ids[start : start + 500]
            rows = self.conn.execute(
                select(
                    SCHEDULES.c.id,
                    SCHEDULES.c.version,
                    SCHEDULES.c.status,
                    SCHEDULES.c.last_due_at,
                    SCHEDULES.c.next_due_at,
                ).where(SCHEDULES.c.id.in_(chunk))
            )
            for row in rows:
                found[row.id] = cast(ScheduleRecord, row)
        return found

    def advance_many(self, moves: list[tuple[str, int, float, float]]) -> None:
        if not moves:
            return
        now = time.time()
        self.conn.execute(
            update(SCHEDULES)
            .where(
                SCHEDULES.c.id == bindparam("b_id"),
                SCHEDULES.c.version == bindparam("b_version"),
            )
            .values(
                last_due_at=bindparam("b_last"),
                next_due_at=bindparam("b_next"),
                updated_at=bindparam("b_at"),
            ),
            [
                {"b_id": i, "b_version": v, "b_last": last, "b_next": nxt, "b_at": now}
                for i, v, last, nxt in moves
            ],
        )
        self.changes.record_many([("schedule", i, "updated") for i, _, _, _ in moves])

    def get(self, schedule_id: str) -> ScheduleRecord:
        """By id, or a unique prefix of at least 4 characters."""
        return cast(
            ScheduleRecord,
            get_by_id_or_prefix(
                self.conn,
                SCHEDULES,
                schedule_id,
                noun="schedule",
                plural="schedules",
                listing="dataops schedules list",
            ),
        )

    def insert_version(self, **fields: Any) -> None:
        self.conn.execute(VERSIONS.insert().values(**fields))

    def due(self, now: float, limit: int) -> list[ScheduleRecord]:
        """Active schedules whose next due time has come, earliest first."""
        rows = self.conn.execute(
            select(SCHEDULES)
            .where(
                SCHEDULES.c.status == ScheduleStatus.ACTIVE.value,
                SCHEDULES.c.next_due_at <= now,
            )
            .order_by(SCHEDULES.c.next_due_at)
            .limit(limit)
        ).all()
        return cast("list[ScheduleRecord]", rows)

    def next_due(self) -> float | None:
        value = self.conn.execute(
            select(func.min(SCHEDULES.c.next_due_at)).where(
                SCHEDULES.c.status == ScheduleStatus.ACTIVE.value
            )
        ).scalar()
        return float(value) if value is not None else None

    def count(self, statuses: Iterable[ScheduleStatus]) -> int:
        value = self.conn.execute(
            select(func.count())
            .select_from(SCHEDULES)
            .where(SCHEDULES.c.status.in_([s.value for s in statuses]))
        ).scalar()
        return int(value or 0)

    # -- lists --------------------------------------------------------------------------------
    def _filters(self, query: ScheduleQuery) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if query.id:
            conditions.append(SCHEDULES.c.id.in_(query.id))
        if query.status:
            conditions.append(SCHEDULES.c.status.in_([s.value for s in query.status]))
        if query.notebook:
            conditions.append(SCHEDULES.c.notebook_path == query.notebook)
        return conditions

    def page(self, query: ScheduleQuery) -> tuple[list[ScheduleRecord], str | None, str | None]:
        """Keyset paging by (sort key, id), as for jobs (schedules are far fewer)."""
        rows, next_cursor, prev_cursor = keyset_page(
            self.conn,
            SCHEDULES,
            _SORT_KEYS[query.sort],
            self._filters(query),
            cursor=_decode(query),
            order=query.order,
            limit=query.limit,
            encode=lambda row, direction: _encode(query, row, direction),
        )
        return cast("list[ScheduleRecord]", rows), next_cursor, prev_cursor

    def total(self, query: ScheduleQuery) -> int:
        value = self.conn.execute(
            select(func.count()).select_from(SCHEDULES).where(*self._filters(query))
        ).scalar()
        return int(value or 0)

    def counts_by_status(self) -> dict[str, int]:
        rows = self.conn.execute(
            select(SCHEDULES.c.status, func.count()).group_by(SCHEDULES.c.status)
        )
        return {status: int(n) for status, n in rows}

    # -- firings ------------------------------------------------------------------------------
    def firing(self, schedule_id: str, due_at: float) -> FiringRecord | None:
        row = self.conn.execute(
            select(FIRINGS).where(FIRINGS.c.schedule_id == schedule_id, FIRINGS.c.due_at == due_at)
        ).first()
        return cast("FiringRecord | None", row)

    def record_firing(self, **fields: Any) -> None:
        """Record what became of a due time. The (schedule, due time) key is unique: recording
        one twice fails (IntegrityError), with whatever else the unit of work wrote."""
        self.conn.execute(FIRINGS.insert().values(**fields))

    def record_firings(self, rows: list[dict[str, Any]]) -> None:
        """Record many due times at once; rows have the same fields (see record_firing)."""
        if rows:
            self.conn.execute(FIRINGS.insert(), rows)

    def firings(self, schedule_id: str, limit: int) -> list[FiringRecord]:
        rows = self.conn.execute(
            select(FIRINGS)
            .where(FIRINGS.c.schedule_id == schedule_id)
            .order_by(FIRINGS.c.due_at.desc())
            .limit(limit)
        ).all()
        return cast("list[FiringRecord]", rows)

    def recent_outcomes(self, schedule_ids: list[str], per: int) -> dict[str, list[str]]:
        """The outcomes of each schedule's latest ``per`` due times, oldest first: the run's job
        status when one was queued (``queued`` if the job is gone), else skipped/missed."""
        if not schedule_ids:
            return {}
        ranked = (
            select(
                FIRINGS.c.schedule_id,
                FIRINGS.c.due_at,
                FIRINGS.c.outcome,
                FIRINGS.c.job_id,
                func.row_number()
                .over(partition_by=FIRINGS.c.schedule_id, order_by=FIRINGS.c.due_at.desc())
                .label("rank"),
            )
            .where(FIRINGS.c.schedule_id.in_(schedule_ids))
            .subquery()
        )
        rows = self.conn.execute(
            select(ranked.c.schedule_id, ranked.c.outcome, JOBS.c.status)
            .select_from(ranked.outerjoin(JOBS, JOBS.c.id == ranked.c.job_id))
            .where(ranked.c.rank <= per)
            .order_by(ranked.c.schedule_id, ranked.c.due_at)
        ).all()
        outcomes: dict[str, list[str]] = {}
        for schedule_id, outcome, job_status in rows:
            shown = job_status if outcome == "queued" and job_status else outcome
            outcomes.setdefault(schedule_id, []).append(shown)
        return outcomes

    def last_runs(self, schedule_ids: list[str]) -> dict[str, tuple[str, str, float | None]]:
        """Each schedule's newest run (scheduled or run now): (job id, status, due time)."""
        if not schedule_ids:
            return {}
        ranked = (
            select(
                JOBS.c.schedule_id,
                JOBS.c.id,
                JOBS.c.status,
                JOBS.c.due_at,
                func.row_number()
                .over(
                    partition_by=JOBS.c.schedule_id,
                    order_by=(JOBS.c.created_at.desc(), JOBS.c.id.desc()),
                )
                .label("rank"),
            )
            .where(JOBS.c.schedule_id.in_(schedule_ids))
            .subquery()
        )
        rows = self.conn.execute(
            select(ranked.c.schedule_id, ranked.c.id, ranked.c.status, ranked.c.due_at).where(
                ranked.c.rank == 1
            )
        ).all()
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def active_runs(self, schedule_id: str) -> list[str]:
        """Ids of the schedule's runs that are queued or running."""
        return list(
            self.conn.execute(
                select(JOBS.c.id).where(
                    JOBS.c.schedule_id == schedule_id, JOBS.c.status.in_(["queued", "running"])
                )
            ).scalars()
        )

    def active_runs_many(self, schedule_ids: list[str]) -> dict[str, list[str]]:
        """Ids of each schedule's queued or running runs (schedules without any are left out)."""
        runs: dict[str, list[str]] = {}
        for start in range(0, len(schedule_ids), 500):
            chunk = schedule_ids[start : start + 500]
            rows = self.conn.execute(
                select(JOBS.c.schedule_id, JOBS.c.id).where(
                    JOBS.c.schedule_id.in_(chunk), JOBS.c.status.in_(["queued", "running"])
                )
            )
            for schedule_id, job_id in rows:
                runs.setdefault(schedule_id, []).append(job_id)
        return runs

    def finished_runs(self, schedule_id: str) -> list[str]:
        return list(
            self.conn.execute(
                select(JOBS.c.id).where(
                    JOBS.c.schedule_id == schedule_id,
                    JOBS.c.status.in_(["completed", "failed", "cancelled"]),
                )
            ).scalars()
        )

    # -- the notification outbox --------------------------------------------------------------
    def enqueue_notification(self, **fields: Any) -> bool:
        """Add a notification unless this job already has one for this channel and target."""
        stmt = _insert(self.conn, OUTBOX)
        if stmt is None:
            exists = self.conn.execute(
                select(OUTBOX.c.id).where(
                    OUTBOX.c.job_id == fields["job_id"],
                    OUTBOX.c.channel == fields["channel"],
                    OUTBOX.c.target == fields["target"],
                )
            ).first()
            if exists:
                return False
            self.conn.execute(OUTBOX.insert().values(**fields))
            return True
        result = self.conn.execute(stmt.values(**fields).on_conflict_do_nothing())
        return bool(result.rowcount)

    def due_notifications(self, now: float, limit: int) -> list[Any]:
        return list(
            self.conn.execute(
                select(OUTBOX)
                .where(OUTBOX.c.status == "pending", OUTBOX.c.next_attempt_at <= now)
                .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
                .limit(limit)
            ).all()
        )

    def update_notification(self, notification_id: int, **fields: Any) -> None:
        self.conn.execute(update(OUTBOX).where(OUTBOX.c.id == notification_id).values(**fields))

    def notifications(self, job_id: str) -> list[Any]:
        return list(self.conn.execute(select(OUTBOX).where(OUTBOX.c.job_id == job_id)).all())


class SqlLeases:
    """Leases: a named right held by one holder until it expires or is renewed."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def acquire(self, name: str, holder: str, *, now: float, ttl: float) -> bool:
        """Take or renew the lease ``name`` for ``holder``: whether it holds it now. Someone
        else's lease is taken only once it has expired (its holder died or stalled)."""
        renewed = self.conn.execute(
            update(LEASES)
            .where(
                LEASES.c.name == name,
                or_(LEASES.c.holder == holder, LEASES.c.expires_at < now),
            )
            .values(holder=holder, expires_at=now + ttl)
        )
        if renewed.rowcount:
            return True
        stmt = _insert(self.conn, LEASES)
        values = {"name": name, "holder": holder, "expires_at": now + ttl}
        if stmt is None:
            if self.conn.execute(select(LEASES.c.name).where(LEASES.c.name == name)).first():
                return False
            self.conn.execute(LEASES.insert().values(**values))
            return True
        return bool(self.conn.execute(stmt.values(**values).on_conflict_do_nothing()).rowcount)

    def release(self, name: str, holder: str) -> None:
        self.conn.execute(delete(LEASES).where(LEASES.c.name == name, LEASES.c.holder == holder))

    def holder(self, name: str, *, now: float) -> str | None:
        row = self.conn.execute(
            select(LEASES.c.holder).where(LEASES.c.name == name, LEASES.c.expires_at >= now)
        ).first()
        return str(row[0]) if row else None


def _encode(query: ScheduleQuery, row: Any, direction: str) -> str:
    value = {"created_at": row.created_at, "name": row.name, "next_run_at": row.next_due_at}[
        query.sort
    ]
    if query.sort == "next_run_at" and value is None:
        value = 1e300
    return pack_cursor(query.sort, query.order, value, row.id, direction)


def _decode(query: ScheduleQuery) -> tuple[Any, str, str] | None:
    if not query.cursor:
        return None
    try:
        value, last_id, direction, same = unpack_cursor(query.cursor, query.sort, query.order)
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(_BAD_CURSOR, hint="Use next_cursor or prev_cursor of a page.") from None
    wanted = str if query.sort == "name" else (int, float)
    if not same or direction not in ("next", "prev") or not isinstance(value, wanted):
        raise InvalidInput(
            "The cursor belongs to another list, sort or order.",
            hint="Start again from the first page (no cursor).",
        )
    return value, last_id, direction
