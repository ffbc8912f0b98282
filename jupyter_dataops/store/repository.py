"""The job store: the source of truth for every job, shared by the server, the CLI and the worker.

Each call opens a short session, so one ``JobStore`` can be used from several threads. State changes
are conditional updates (``WHERE status IN (...)``), so two processes never both move one job.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Table, case, create_engine, delete, event, func, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from ..core.errors import BackendUnavailable, InvalidInput, NotFound
from ..core.jobs.models import ALLOWED_TRANSITIONS, JobQuery, JobStatus
from .orm import AuditRow, JobRow

JOBS: Table = JobRow.__table__  # type: ignore[assignment]  # for Core statements on hot paths

# The newest migration in migrations/versions; a test checks it against Alembic's own view.
HEAD_REVISION = "0002"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the worker write while the server and CLI read; busy_timeout waits out short locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class JobStore:
    """Jobs and audit events in any SQL database SQLAlchemy supports (sqlite by default)."""

    def __init__(self, url: str, *, upgrade: bool = True) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"future": True}
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except Exception as exc:  # bad URL, missing driver
            raise BackendUnavailable(
                f"Cannot open the store at {url!r}: {exc}",
                hint="Check c.DataOps.store_url and that its database driver is installed.",
            ) from exc
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._lock = threading.Lock()
        if upgrade:
            self.upgrade()

    # -- schema -------------------------------------------------------------------------------
    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            try:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except Exception:
                return None

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` with Alembic; cheap when it is already there."""
        if revision == "head" and self.current_revision() == HEAD_REVISION:
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self._lock, self._migration_lock():
            # Another process may have migrated while this one waited for the lock.
            if revision == "head" and self.current_revision() == HEAD_REVISION:
                return
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """One migrating process at a time: the server, the CLI and the worker may all open a
        fresh sqlite store at once. (Other databases serialise DDL in their transactions.)"""
        path = self.url.split("///", 1)[-1] if self.url.startswith("sqlite") else ""
        if not path or path == ":memory:":
            yield
            return
        with open(f"{path}.migrate.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def close(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self._sessions()

    # -- jobs ---------------------------------------------------------------------------------
    def insert_job(self, **fields: Any) -> JobRow:
        now = time.time()
        fields.setdefault("created_at", now)
        fields.setdefault("updated_at", now)
        row = JobRow(**fields)
        with self.session() as s, s.begin():
            s.add(row)
        return row

    def get_job(self, job_id: str) -> JobRow:
        """A job by id, or by a unique prefix of at least 4 characters (as the CLI allows)."""
        if not job_id or not isinstance(job_id, str):
            raise InvalidInput("A job id is required.")
        with self.session() as s:
            row = s.get(JobRow, job_id)
            if row is not None:
                return row
            if len(job_id) >= 4 and job_id.isalnum():
                matches = s.scalars(
                    select(JobRow).where(JobRow.id.startswith(job_id)).limit(2)
                ).all()
                if len(matches) == 1:
                    return matches[0]
                if len(matches) > 1:
                    raise InvalidInput(
                        f"The job id prefix {job_id!r} matches several jobs.",
                        hint="Give more characters of the id.",
                    )
        raise NotFound(f"No job with id {job_id!r}.", hint="List jobs with `dataops jobs list`.")

    def list_jobs(self, query: JobQuery) -> tuple[list[JobRow], int, dict[str, int]]:
        conditions: list[ColumnElement[bool]] = []
        if query.status:
            conditions.append(JobRow.status.in_([s.value for s in query.status]))
        if query.notebook:
            pattern = f"%{query.notebook}%"
            conditions.append(or_(JobRow.notebook_path.like(pattern), JobRow.name.like(pattern)))
        sort_col = getattr(JobRow, query.sort)
        order = sort_col.asc() if query.order == "asc" else sort_col.desc()
        # Nulls (e.g. jobs not started yet) sort last either way; id breaks ties stably.
        nulls_last = case((sort_col.is_(None), 1), else_=0)
        with self.session() as s:
            stmt = select(JobRow).where(*conditions)
            total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
            rows = s.scalars(
                stmt.order_by(nulls_last, order, JobRow.id).offset(query.offset).limit(query.limit)
            ).all()
            counts = dict(
                s.execute(select(JobRow.status, func.count()).group_by(JobRow.status))
                .tuples()
                .all()
            )
        return list(rows), int(total), {st.value: counts.get(st.value, 0) for st in JobStatus}

    def update_job(
        self,
        job_id: str,
        *,
        from_status: Iterable[JobStatus] | None = None,
        **fields: Any,
    ) -> bool:
        """Update a job; with ``from_status`` only if it is in one of those states.

        Returns whether a row changed. A status change is checked against the state machine.
        """
        new_status = fields.get("status")
        if isinstance(new_status, JobStatus):
            fields["status"] = new_status.value
        if new_status is not None and from_status is not None:
            for old in from_status:
                if JobStatus(fields["status"]) not in ALLOWED_TRANSITIONS[old]:
                    raise ValueError(f"job state {old.value} -> {fields['status']} is not allowed")
        fields["updated_at"] = time.time()
        # A Core statement on the table, not an ORM update: the worker makes one per cell, and
        # the ORM's session and compile steps cost several times the write itself.
        table = JOBS
        stmt = update(table).where(table.c.id == job_id).values(**fields)
        if from_status is not None:
            stmt = stmt.where(table.c.status.in_([s.value for s in from_status]))
        with self.engine.begin() as conn:
            result = conn.execute(stmt)
        return bool(result.rowcount)

    def delete_job(self, job_id: str, *, only_status: Sequence[JobStatus]) -> bool:
        with self.session() as s, s.begin():
            result = s.execute(
                delete(JobRow).where(
                    JobRow.id == job_id, JobRow.status.in_([st.value for st in only_status])
                )
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def count_jobs(self, statuses: Iterable[JobStatus]) -> int:
        with self.session() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(JobRow)
                    .where(JobRow.status.in_([st.value for st in statuses]))
                )
                or 0
            )

    def jobs_in(
        self, statuses: Iterable[JobStatus], *, executor: str | None = None
    ) -> list[JobRow]:
        conditions: list[ColumnElement[bool]] = [JobRow.status.in_([s.value for s in statuses])]
        if executor is not None:
            conditions.append(JobRow.executor == executor)
        with self.session() as s:
            return list(s.scalars(select(JobRow).where(*conditions).order_by(JobRow.created_at)))

    def claim_queued(self, executor: str, worker_id: str, limit: int) -> list[JobRow]:
        """Move up to ``limit`` of the oldest queued jobs to running, for this worker only."""
        claimed: list[JobRow] = []
        if limit <= 0:
            return claimed
        with self.session() as s:
            candidates = s.scalars(
                select(JobRow.id)
                .where(JobRow.status == JobStatus.QUEUED.value, JobRow.executor == executor)
                .order_by(JobRow.created_at, JobRow.id)
                .limit(limit)
            ).all()
        now = time.time()
        for job_id in candidates:
            ok = self.update_job(
                job_id,
                from_status=[JobStatus.QUEUED],
                status=JobStatus.RUNNING,
                worker_id=worker_id,
                started_at=now,
                cells_completed=0,
                current_cell=None,
                error=None,
            )
            if ok:
                claimed.append(self.get_job(job_id))
        return claimed

    def cancel_requests(self, executor: str) -> set[str]:
        """Ids of this executor's running jobs that someone asked to cancel (one cheap query)."""
        table = JOBS
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(table.c.id).where(
                        table.c.status == JobStatus.RUNNING.value,
                        table.c.executor == executor,
                        table.c.cancel_requested.is_(True),
                    )
                ).scalars()
            )

    def changed_since(self, since: float, limit: int = 500) -> list[JobRow]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(JobRow)
                    .where(JobRow.updated_at > since)
                    .order_by(JobRow.updated_at)
                    .limit(limit)
                )
            )

    def job_ids(self) -> set[str]:
        with self.session() as s:
            return set(s.scalars(select(JobRow.id)))

    # -- audit --------------------------------------------------------------------------------
    def audit(
        self, action: str, target_kind: str, target_id: str, actor: str | None, **detail: Any
    ) -> None:
        with self.session() as s, s.begin():
            s.add(
                AuditRow(
                    at=time.time(),
                    actor=actor,
                    action=action,
                    target_kind=target_kind,
                    target_id=target_id,
                    detail=detail,
                )
            )

    def audit_events(self, target_id: str | None = None) -> list[AuditRow]:
        with self.session() as s:
            stmt = select(AuditRow).order_by(AuditRow.id)
            if target_id is not None:
                stmt = stmt.where(AuditRow.target_id == target_id)
            return list(s.scalars(stmt))
