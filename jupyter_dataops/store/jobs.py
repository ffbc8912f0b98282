"""Jobs in SQL (``core.jobs.repository.JobRepository``). Core statements, not the ORM: the worker
writes once per cell and the list is read by every open sidebar, so each statement counts."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import (
    CompoundSelect,
    Select,
    Table,
    delete,
    func,
    literal_column,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from ..core.errors import InvalidInput, NotFound
from ..core.jobs.models import ALLOWED_TRANSITIONS, JobQuery, JobStatus
from ..core.jobs.repository import JobRecord
from .changes import SqlChangeLog
from .orm import NOT_YET, JobRow

JOBS: Table = JobRow.__table__  # type: ignore[assignment]

#: The columns a list page reads (a summary: no parameters, warnings or tracebacks are sent).
#: The name of the sort key's column in a merge of several statuses' pages.
SORT_LABEL = "sort_key"

SUMMARY_COLUMNS = [
    c
    for c in JOBS.c
    if c.name not in ("parameters", "root_dir", "files_key", "output_name", "worker_id")
]


def sort_key(sort: str) -> ColumnElement[Any]:
    """The expression a list sorts by; each has an index (see orm.py)."""
    column = JOBS.c[sort]
    if sort in ("started_at", "finished_at"):
        return func.coalesce(column, NOT_YET)
    return column


def encode_cursor(query: JobQuery, row: Any, direction: str) -> str:
    value = getattr(row, query.sort)
    if query.sort in ("started_at", "finished_at") and value is None:
        value = 1e300
    data = {"s": query.sort, "o": query.order, "v": value, "i": row.id, "d": direction}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def decode_cursor(query: JobQuery) -> tuple[Any, str, str] | None:
    if not query.cursor:
        return None
    try:
        text = query.cursor + "=" * (-len(query.cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(text.encode()))
        value, job_id, direction = data["v"], str(data["i"]), data["d"]
        same = data["s"] == query.sort and data["o"] == query.order
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(
            "The cursor is not one this server made.",
            hint="Use next_cursor or prev_cursor of a page, unchanged.",
        ) from None
    if not same or direction not in ("next", "prev"):
        raise InvalidInput(
            "The cursor belongs to a list with another sort or order.",
            hint="Start again from the first page (no cursor) after changing the sort.",
        )
    return value, job_id, direction


def wanted_statuses(query: JobQuery) -> list[str] | None:
    """The statuses a query keeps, sorted, or None for all of them (every job has one)."""
    if not query.status:
        return None
    statuses = sorted({s.value for s in query.status})
    return None if len(statuses) == len(JobStatus) else statuses


def page_statement(query: JobQuery) -> Select[Any] | CompoundSelect:
    """The statement of a query's page (``limit + 1`` rows, to know whether there is a next)."""
    return _page_statement(query, decode_cursor(query))


def _page_statement(
    query: JobQuery, cursor: tuple[Any, str, str] | None
) -> Select[Any] | CompoundSelect:
    """Keyset paging: the rows after (or before) the cursor's (sort key, id), in (sort key, id)
    order, which an index of orm.py gives after the filter's equalities, so the database reads
    little more than the page whatever the table's size.

    Several statuses, or a notebook alone, are one such range per status, merged by the database
    (``UNION ALL ... ORDER BY ... LIMIT``: sqlite's merge and PostgreSQL's Merge Append read
    each range in order and stop at the limit); an ``IN`` of statuses would read every matching
    row and sort them. A list of ids is looked up by primary key and sorted (at most 1,000)."""
    key = sort_key(query.sort)
    direction = cursor[2] if cursor else "next"
    # Walking backwards is walking forwards in the opposite order, then reversing the page.
    descending = (query.order == "desc") != (direction == "prev")
    common: list[ColumnElement[bool]] = []
    if query.id:
        common.append(JOBS.c.id.in_(query.id))
    if query.notebook:
        common.append(JOBS.c.notebook_path == query.notebook)
    if cursor is not None:
        here = tuple_(key, JOBS.c.id)
        there = tuple_(cursor[0], cursor[1])
        common.append(here < there if descending else here > there)
    statuses = wanted_statuses(query)
    if statuses is None and query.notebook and query.sort not in ("status", "notebook_path"):
        statuses = [s.value for s in JobStatus]  # ix_jobs_notebook_status_<sort>, per status
    limit = query.limit + 1
    if statuses is None or len(statuses) == 1 or query.id:
        if statuses is not None:
            common.append(
                JOBS.c.status == statuses[0] if len(statuses) == 1 else JOBS.c.status.in_(statuses)
            )
        order = (key.desc(), JOBS.c.id.desc()) if descending else (key.asc(), JOBS.c.id.asc())
        return select(*SUMMARY_COLUMNS).where(*common).order_by(*order).limit(limit)
    arms = [
        select(*SUMMARY_COLUMNS, key.label(SORT_LABEL)).where(JOBS.c.status == status, *common)
        for status in statuses
    ]
    merged_key, merged_id = literal_column(SORT_LABEL), literal_column("id")
    merged_order = (
        (merged_key.desc(), merged_id.desc()) if descending else (merged_key.asc(), merged_id.asc())
    )
    return union_all(*arms).order_by(*merged_order).limit(limit)


class SqlJobRepository:
    def __init__(self, conn: Connection, changes: SqlChangeLog) -> None:
        self.conn = conn
        self.changes = changes

    # -- writes (each records a change) -------------------------------------------------------
    def insert(self, **fields: Any) -> None:
        now = time.time()
        fields.setdefault("created_at", now)
        fields.setdefault("updated_at", now)
        self.conn.execute(JOBS.insert().values(**fields))
        self.changes.record("job", fields["id"], "created")

    def update(
        self, job_id: str, *, from_status: Iterable[JobStatus] | None = None, **fields: Any
    ) -> bool:
        new_status = fields.get("status")
        if isinstance(new_status, JobStatus):
            fields["status"] = new_status.value
        sources = list(from_status) if from_status is not None else None
        if new_status is not None and sources is not None:
            for old in sources:
                if JobStatus(fields["status"]) not in ALLOWED_TRANSITIONS[old]:
                    raise ValueError(f"job state {old.value} -> {fields['status']} is not allowed")
        fields["updated_at"] = time.time()
        stmt = update(JOBS).where(JOBS.c.id == job_id).values(**fields)
        if sources is not None:
            stmt = stmt.where(JOBS.c.status.in_([s.value for s in sources]))
        changed = bool(self.conn.execute(stmt).rowcount)
        if changed:
            self.changes.record("job", job_id, "updated")
        return changed

    def delete(self, job_id: str, *, only_status: Sequence[JobStatus]) -> bool:
        result = self.conn.execute(
            delete(JOBS).where(
                JOBS.c.id == job_id, JOBS.c.status.in_([s.value for s in only_status])
            )
        )
        if result.rowcount:
            self.changes.record("job", job_id, "deleted")
        return bool(result.rowcount)

    # -- reads --------------------------------------------------------------------------------
    def find(self, job_id: str) -> JobRecord | None:
        return cast(
            "JobRecord | None", self.conn.execute(select(JOBS).where(JOBS.c.id == job_id)).first()
        )

    def get(self, job_id: str) -> JobRecord:
        if not job_id or not isinstance(job_id, str):
            raise InvalidInput("A job id is required.")
        row = self.find(job_id)
        if row is not None:
            return row
        if 4 <= len(job_id) <= 32 and job_id.isascii() and job_id.isalnum():
            matches = self.conn.execute(
                select(JOBS).where(JOBS.c.id.startswith(job_id)).limit(2)
            ).all()
            if len(matches) == 1:
                return cast(JobRecord, matches[0])
            if len(matches) > 1:
                raise InvalidInput(
                    f"The job id prefix {job_id!r} matches several jobs.",
                    hint="Give more characters of the id.",
                )
        shown = job_id if len(job_id) <= 64 else job_id[:61] + "..."
        raise NotFound(f"No job with id {shown!r}.", hint="List jobs with `dataops jobs list`.")

    def many(self, ids: Iterable[str]) -> list[JobRecord]:
        wanted = list(dict.fromkeys(ids))
        rows: list[Any] = []
        for start in range(0, len(wanted), 500):
            rows += self.conn.execute(
                select(*SUMMARY_COLUMNS).where(JOBS.c.id.in_(wanted[start : start + 500]))
            ).all()
        return cast("list[JobRecord]", rows)

    def _filters(self, query: JobQuery) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if query.id:
            conditions.append(JOBS.c.id.in_(query.id))
        statuses = wanted_statuses(query)
        if statuses is not None:
            conditions.append(JOBS.c.status.in_(statuses))
        if query.notebook:
            conditions.append(JOBS.c.notebook_path == query.notebook)
        return conditions

    def page(self, query: JobQuery) -> tuple[list[JobRecord], str | None, str | None]:
        cursor = decode_cursor(query)
        rows: list[Any] = list(self.conn.execute(_page_statement(query, cursor)).all())
        direction = cursor[2] if cursor else "next"
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        if direction == "prev":
            rows.reverse()
        if not rows:
            return [], None, None
        if direction == "next":
            next_cursor = encode_cursor(query, rows[-1], "next") if more else None
            prev_cursor = encode_cursor(query, rows[0], "prev") if cursor else None
        else:
            prev_cursor = encode_cursor(query, rows[0], "prev") if more else None
            next_cursor = encode_cursor(query, rows[-1], "next")
        return rows, next_cursor, prev_cursor

    def total(self, query: JobQuery) -> tuple[int, bool]:
        count = self.conn.execute(
            select(func.count()).select_from(JOBS).where(*self._filters(query))
        ).scalar()
        return int(count or 0), False

    def counts_by_status(self) -> dict[str, int]:
        rows = self.conn.execute(select(JOBS.c.status, func.count()).group_by(JOBS.c.status))
        return {status: int(n) for status, n in rows}

    def count(self, statuses: Iterable[JobStatus]) -> int:
        count = self.conn.execute(
            select(func.count())
            .select_from(JOBS)
            .where(JOBS.c.status.in_([s.value for s in statuses]))
        ).scalar()
        return int(count or 0)

    def in_status(
        self, statuses: Iterable[JobStatus], *, executor: str | None = None
    ) -> list[JobRecord]:
        conditions: list[ColumnElement[bool]] = [JOBS.c.status.in_([s.value for s in statuses])]
        if executor is not None:
            conditions.append(JOBS.c.executor == executor)
        rows = self.conn.execute(select(JOBS).where(*conditions).order_by(JOBS.c.created_at))
        return cast("list[JobRecord]", list(rows))

    def oldest_queued(self, executor: str, limit: int) -> list[str]:
        if limit <= 0:
            return []
        return list(
            self.conn.execute(
                select(JOBS.c.id)
                .where(JOBS.c.status == JobStatus.QUEUED.value, JOBS.c.executor == executor)
                .order_by(JOBS.c.created_at, JOBS.c.id)
                .limit(limit)
            ).scalars()
        )

    def cancel_requested_among(self, ids: Iterable[str]) -> set[str]:
        wanted = list(ids)
        if not wanted:
            return set()
        return set(
            self.conn.execute(
                select(JOBS.c.id).where(
                    JOBS.c.id.in_(wanted),
                    JOBS.c.status == JobStatus.RUNNING.value,
                    JOBS.c.cancel_requested.is_(True),
                )
            ).scalars()
        )
