"""Jobs in SQL (``core.jobs.repository.JobRepository``). Core statements, not the ORM: the worker
writes once per cell and the list is read by every open sidebar, so each statement counts."""

from __future__ import annotations

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

from ..core.errors import InvalidInput
from ..core.jobs.models import ALLOWED_TRANSITIONS, JobQuery, JobStatus
from ..core.jobs.repository import JobRecord
from .changes import SqlChangeLog
from .cursors import pack_cursor, unpack_cursor
from .ids import get_by_id_or_prefix
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


#: Sorts by an expression (a missing time sorts as "not yet", after every real one).
EXPRESSION_SORTS = frozenset({"started_at", "finished_at"})
#: Sorts by a text column (the others are by a number).
TEXT_SORTS = frozenset({"name", "status", "notebook_path"})


def sort_key(sort: str) -> ColumnElement[Any]:
    """The expression a list sorts by; each has an index (see orm.py)."""
    column = JOBS.c[sort]
    if sort in EXPRESSION_SORTS:
        return func.coalesce(column, NOT_YET)
    return column


def encode_cursor(query: JobQuery, row: Any, direction: str) -> str:
    value = getattr(row, query.sort)
    if query.sort in EXPRESSION_SORTS and value is None:
        value = 1e300
    return pack_cursor(query.sort, query.order, value, row.id, direction)


def decode_cursor(query: JobQuery) -> tuple[Any, str, str] | None:
    if not query.cursor:
        return None
    try:
        value, job_id, direction, same = unpack_cursor(query.cursor, query.sort, query.order)
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(
            "The cursor is not one this server made.",
            hint="Use next_cursor or prev_cursor of a page, unchanged.",
        ) from None
    text_sort = query.sort in TEXT_SORTS
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if same and not (isinstance(value, str) if text_sort else number):
        raise InvalidInput(
            "The cursor is not one this server made.",
            hint="Use next_cursor or prev_cursor of a page, unchanged.",
        )
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


def page_statements(query: JobQuery, dialect: str = "sqlite") -> list[Select[Any] | CompoundSelect]:
    """The statements of a query's page on a database of ``dialect``: their rows, one statement
    after the other, are the page in order (``limit + 1`` rows at most, to know whether there is
    a next page)."""
    plan = PagePlan(query, decode_cursor(query))
    return [plan.statement(segment, query.limit + 1, dialect) for segment in plan.segments]


class PagePlan:
    """How a page is read. Keyset paging: the rows after (or before) the cursor's (sort key, id),
    in (sort key, id) order, read as ranges of the indexes of orm.py (the filter's equalities,
    then the sort key and id), so the database reads little more than the page whatever the
    table's size.

    ``segments`` are read one after the other until the page is full (two when the cursor's key
    is an expression: the rows tied with it, then the rest). Each is one range, or one range per
    status merged by the database, for several statuses or a notebook alone: an ``IN`` of
    statuses would read every matching row and sort them. A list of ids is looked up by primary
    key and sorted (at most 1,000 rows)."""

    def __init__(self, query: JobQuery, cursor: tuple[Any, str, str] | None) -> None:
        self.key = key = sort_key(query.sort)
        direction = cursor[2] if cursor else "next"
        # Walking backwards is walking forwards in the opposite order, then reversing the page.
        self.descending = descending = (query.order == "desc") != (direction == "prev")
        common: list[ColumnElement[bool]] = []
        # A list of ids is looked up by primary key: the other filters then only check the rows
        # found (``column || ''`` is not a column that an index could serve); sqlite would
        # rather walk a status' index in the sort's order, meeting the ids on the way.
        status_column: ColumnElement[Any] = JOBS.c.status
        notebook_column: ColumnElement[Any] = JOBS.c.notebook_path
        if query.id:
            common.append(JOBS.c.id.in_(query.id))
            status_column, notebook_column = status_column + "", notebook_column + ""
        if query.notebook:
            common.append(notebook_column == query.notebook)
        if query.schedule_id:
            common.append(JOBS.c.schedule_id == query.schedule_id)
        statuses = wanted_statuses(query)
        if statuses is None and query.notebook and query.sort not in ("status", "notebook_path"):
            statuses = [s.value for s in JobStatus]  # ix_jobs_notebook_status_<sort>, per status
        groups: list[tuple[str | None, list[ColumnElement[bool]]]]
        if statuses is None:
            groups = [(None, [])]
        elif len(statuses) == 1 or query.id:
            only = statuses[0] if len(statuses) == 1 else None
            groups = [(only, [status_column.in_(statuses)])]
        else:
            groups = [(status, [JOBS.c.status == status]) for status in statuses]
        #: [(ranges, tied)]: each range a list of conditions to AND; tied: all its rows have
        #: the cursor's key, so (key, id) order is id order.
        self.segments: list[tuple[list[list[ColumnElement[bool]]], bool]] = []
        for after, tied in _after_cursor(query, key, cursor, descending):
            ranges = []
            for status, conditions in groups:
                # A sort by a column that the filter fixes is a sort by id (a plain column:
                # there is one segment).
                pinned = status if query.sort == "status" else None
                if query.sort == "notebook_path" and query.notebook:
                    pinned = query.notebook
                where = _pinned_after_cursor(pinned, cursor, descending) if pinned else after
                if where is not None:
                    ranges.append([*common, *conditions, *where])
            if ranges:
                self.segments.append((ranges, tied))

    def statement(
        self,
        segment: tuple[list[list[ColumnElement[bool]]], bool],
        limit: int,
        dialect: str,
    ) -> Select[Any] | CompoundSelect:
        """The first ``limit`` rows of a segment, in order."""
        ranges, tied = segment
        if len(ranges) == 1:
            return self._ordered(select(*SUMMARY_COLUMNS).where(*ranges[0]), tied).limit(limit)
        if dialect == "sqlite":
            # sqlite merges a compound's ranges itself: each read in order, up to the limit.
            arms = [select(*SUMMARY_COLUMNS, self.key.label(SORT_LABEL)).where(*r) for r in ranges]
            key: ColumnElement[Any] = literal_column(SORT_LABEL)
            order = self._order(key, literal_column("id"), tied)
            return union_all(*arms).order_by(*order).limit(limit)
        # PostgreSQL merges (Merge Append) the ranges of a UNION ALL of limited parts only.
        parts = [
            self._ordered(select(*SUMMARY_COLUMNS, self.key.label(SORT_LABEL)).where(*r), tied)
            .limit(limit)
            .subquery()
            .select()
            for r in ranges
        ]
        merged = union_all(*parts).subquery("merged")
        order = self._order(merged.c[SORT_LABEL], merged.c.id, tied)
        columns = [merged.c[c.name] for c in SUMMARY_COLUMNS]
        return select(*columns).order_by(*order).limit(limit)

    def _ordered(self, stmt: Select[Any], tied: bool) -> Select[Any]:
        return stmt.order_by(*self._order(self.key, JOBS.c.id, tied))

    def _order(self, key: ColumnElement[Any], job_id: ColumnElement[Any], tied: bool) -> list[Any]:
        columns = [job_id] if tied else [key, job_id]
        return [c.desc() if self.descending else c.asc() for c in columns]


def _after_cursor(
    query: JobQuery,
    key: ColumnElement[Any],
    cursor: tuple[Any, str, str] | None,
    descending: bool,
) -> list[tuple[list[ColumnElement[bool]], bool]]:
    """The rows after the cursor in (key, id) order as consecutive segments, each (conditions
    to AND, whether all its rows have the cursor's key and so are in id order)."""
    if cursor is None:
        return [([], False)]
    value, job_id = cursor[0], cursor[1]
    if query.sort in EXPRESSION_SORTS and not query.id:
        # sqlite finds a row value in an index of columns only, not of expressions, and sorts
        # rows whose indexed expression an equality fixes (ORDER BY expression, id) again:
        # the rows tied with the cursor's key, in id order, come first; then the rest. (Ids
        # are looked up by primary key, the row value only checks them.)
        after_id = JOBS.c.id < job_id if descending else JOBS.c.id > job_id
        beyond = key < value if descending else key > value
        return [([key == value, after_id], True), ([beyond], False)]
    here, there = tuple_(key, JOBS.c.id), tuple_(value, job_id)
    return [([here < there if descending else here > there], False)]


def _pinned_after_cursor(
    pinned: str, cursor: tuple[Any, str, str] | None, descending: bool
) -> list[ColumnElement[bool]] | None:
    """The rows after the cursor when every row's sort key is ``pinned`` (a filter fixes it):
    all of them, those after the cursor's id, or none (None)."""
    if cursor is None:
        return []
    value, job_id = cursor[0], cursor[1]
    if pinned == value:
        return [JOBS.c.id < job_id if descending else JOBS.c.id > job_id]
    return [] if (pinned < value) == descending else None


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

    def insert_many(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self.conn.execute(JOBS.insert(), rows)
        self.changes.record_many([("job", row["id"], "created") for row in rows])

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
        return cast(
            JobRecord,
            get_by_id_or_prefix(
                self.conn, JOBS, job_id, noun="job", plural="jobs", listing="dataops jobs list"
            ),
        )

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
        if query.schedule_id:
            conditions.append(JOBS.c.schedule_id == query.schedule_id)
        return conditions

    def page(self, query: JobQuery) -> tuple[list[JobRecord], str | None, str | None]:
        cursor = decode_cursor(query)
        plan = PagePlan(query, cursor)
        rows: list[Any] = []
        for segment in plan.segments:
            stmt = plan.statement(segment, query.limit + 1 - len(rows), self.conn.dialect.name)
            rows += self.conn.execute(stmt).all()
            if len(rows) > query.limit:
                break
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
