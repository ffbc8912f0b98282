"""SQLAlchemy tables of the store. Schema changes go through Alembic migrations (migrations/),
and a test checks that the migrations produce exactly these tables (``alembic check``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    String,
    Text,
    func,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Sorts a missing start or finish time after every real one ("not yet" is the newest), so a
#: nullable time can be paged by an index on a plain expression.
NOT_YET: Any = literal_column("1e300")


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    """One job: a row with a state machine (see core.jobs.models.ALLOWED_TRANSITIONS)."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    notebook_path: Mapped[str] = mapped_column(Text)  # relative to root_dir
    root_dir: Mapped[str] = mapped_column(Text)
    # Where its files are in the job file store (core.files): "<jobs_dir>/<stem>-<id>".
    files_key: Mapped[str] = mapped_column(Text)
    output_name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    kernel_name: Mapped[str] = mapped_column(String(200))
    executor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)
    cells_completed: Mapped[int] = mapped_column(Integer, default=0)
    cells_total: Mapped[int] = mapped_column(Integer, default=0)
    current_cell: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    max_retries: Mapped[int] = mapped_column(Integer, default=0)
    timeout_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    pending_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    rerun_of: Mapped[str | None] = mapped_column(String(32), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # A scheduled run: the schedule, the version of its definition that fired, the due time.
    schedule_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    schedule_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    due_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The snapshot of the project it ran on (lineage), when one was taken or matched.
    snapshot_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # What its kernel used (core.sandboxes.models.Usage), once it ended.
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


# The job list pages by (sort key, id): each filter × sort has an index that starts with the
# filter's equalities and then gives the sort's order, so a page is a short range of one index
# whatever the table's size. ix_jobs_<sort> serves no filter, ix_jobs_status_<sort> one status,
# ix_jobs_notebook_status_<sort> a notebook and a status. A query of several statuses, or of a
# notebook alone, reads one such range per status and the database merges them (store/jobs.py),
# which costs about the same as one range and saves an index per sort. A sort by a filtered
# column is served by a shorter index: (status, id), (notebook_path, id) and (notebook_path,
# status, id). tests/test_store.py checks the plan of every combination.
_T = JobRow.__table__
_SORT_KEYS: dict[str, Any] = {
    "created": _T.c.created_at,
    "started": func.coalesce(_T.c.started_at, NOT_YET),
    "finished": func.coalesce(_T.c.finished_at, NOT_YET),
    "name": _T.c.name,
    "status": _T.c.status,
    "notebook": _T.c.notebook_path,
}
for _name, _key in _SORT_KEYS.items():
    Index(f"ix_jobs_{_name}", _key, _T.c.id)
    if _name != "status":
        Index(f"ix_jobs_status_{_name}", _T.c.status, _key, _T.c.id)
    if _name not in ("status", "notebook"):
        Index(f"ix_jobs_notebook_status_{_name}", _T.c.notebook_path, _T.c.status, _key, _T.c.id)
Index("ix_jobs_notebook_status", _T.c.notebook_path, _T.c.status, _T.c.id)
Index("ix_jobs_status_executor", _T.c.status, _T.c.executor, _T.c.created_at)
Index("ix_jobs_schedule", _T.c.schedule_id, _T.c.created_at, _T.c.id)
Index("ix_jobs_snapshot", _T.c.snapshot_id, _T.c.created_at, _T.c.id)


class AuditRow(Base):
    """Append-only audit log: who did what to which thing, and when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SequenceRow(Base):
    """Named counters. ``changes`` numbers every change; writers bump it inside their transaction,
    which also serialises them, so numbers are handed out in commit order."""

    __tablename__ = "sequences"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class ChangeRow(Base):
    """The latest change of each thing (one row per thing; deletions stay a while as tombstones)."""

    __tablename__ = "changes"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[float] = mapped_column(Float)


class ScheduleRow(Base):
    """A schedule: its current definition (a version) and where its firing stands."""

    __tablename__ = "schedules"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    notebook_path: Mapped[str] = mapped_column(Text)
    root_dir: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    # The whole definition of this version (cron, zone, parameters, kernel, policies, notify).
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    cron: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    # The executor its runs go to (as jobs.executor); None: the server's default.
    executor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    next_due_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The latest due time that was handled (queued, skipped or missed): firing goes on after it.
    last_due_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


_S = ScheduleRow.__table__
Index("ix_schedules_due", _S.c.status, _S.c.next_due_at)
Index("ix_schedules_created", _S.c.created_at, _S.c.id)
Index("ix_schedules_name", _S.c.name, _S.c.id)
Index("ix_schedules_next", func.coalesce(_S.c.next_due_at, NOT_YET), _S.c.id)


class ScheduleVersionRow(Base):
    """Every definition a schedule has had; a run records the version that fired it."""

    __tablename__ = "schedule_versions"

    schedule_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)


class FiringRow(Base):
    """One due time of one schedule, recorded once: the key makes a second firing of the same
    slot fail, in the transaction that would have queued its job."""

    __tablename__ = "firings"

    schedule_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    due_at: Mapped[float] = mapped_column(Float, primary_key=True)
    fired_at: Mapped[float] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class LeaseRow(Base):
    """Who may do a thing that only one process may do at a time (fire schedules), until when."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[float] = mapped_column(Float)


class NotificationRow(Base):
    """A notification to deliver (an outbox): retried until sent or out of attempts."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule_id: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("ix_notifications_once", "job_id", "channel", "target", unique=True),
    )


class SnapshotRow(Base):
    """A snapshot of a project: its git commit and DVC outputs, environment and profiles."""

    __tablename__ = "snapshots"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    root_dir: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))  # manual, safety, job
    status: Mapped[str] = mapped_column(String(16))
    author: Mapped[str | None] = mapped_column(String(200), nullable=True)
    parent_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    commit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tree: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    # [{path, hash, size, nfiles}] of the DVC outputs; tabular files' hashes and profiles.
    data: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    tabular: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    profiles: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    environment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    nfiles: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[bool] = mapped_column(Boolean, default=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Saved kernel variables: {saved, skipped, bytes, sha256}; the payload is a file in data_dir.
    variables: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Who is recording it (host:pid): a creating row whose process is gone is failed, not listed.
    holder: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phase: Mapped[str | None] = mapped_column(String(64), nullable=True)
    push_status: Mapped[str] = mapped_column(String(16), default="none")
    push_attempts: Mapped[int] = mapped_column(Integer, default=0)
    push_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    push_next_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


_SN = SnapshotRow.__table__
Index("ix_snapshots_root_created", _SN.c.root_dir, _SN.c.created_at, _SN.c.id)
Index("ix_snapshots_push", _SN.c.push_status, _SN.c.push_next_at)


class EndpointRow(Base):
    """A model endpoint: what it serves, where, and whether it should run (the supervisor
    starts again one that should run but whose server is gone, on the same port)."""

    __tablename__ = "endpoints"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    root_dir: Mapped[str] = mapped_column(Text)
    model_name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    alias: Mapped[str] = mapped_column(String(100))
    model_uri: Mapped[str] = mapped_column(Text)
    canary_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    canary_percent: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    desired: Mapped[str] = mapped_column(String(16))  # running, stopped
    target: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    # The bearer token clients send when it listens off loopback (never logged).
    token: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # The server process and what tells it from another that reused its id.
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    identity: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    restarts: Mapped[int] = mapped_column(Integer, default=0)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Versions served before the current one, oldest first (what rollback goes back to).
    previous: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The drift reference's profile (core.endpoints.drift) and a few rows of input example.
    reference: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    example: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    drift_threshold: Mapped[float] = mapped_column(Float)
    drift_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    drift_checked_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)


_EP = EndpointRow.__table__
Index("ix_endpoints_root", _EP.c.root_dir, _EP.c.name)
Index("ix_endpoints_job", _EP.c.job_id)


class SandboxRow(Base):
    """A sandbox: the profile it came from, what it holds (resources, GPU devices), its state
    and what it used. ``released`` turns true in the same update that ends it (once)."""

    __tablename__ = "sandboxes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    root_dir: Mapped[str] = mapped_column(Text)
    profile: Mapped[str] = mapped_column(String(63))
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    team: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(64))
    resources: Mapped[dict[str, Any]] = mapped_column(JSON)
    devices: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    kernel_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    display_name: Mapped[str] = mapped_column(String(255))
    workdir: Mapped[str | None] = mapped_column(Text, nullable=True)
    limits: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    env: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    kernels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    usage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idle_timeout: Mapped[float] = mapped_column(Float)
    max_lifetime: Mapped[float] = mapped_column(Float)
    # Who is provisioning it (host:pid): a provisioning row whose holder is gone is failed.
    holder: Mapped[str | None] = mapped_column(String(200), nullable=True)
    released: Mapped[bool] = mapped_column(Boolean, default=False)
    warning: Mapped[str | None] = mapped_column(Text, nullable=True)
    warned_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    stop_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    ready_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    stopped_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_activity_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The job it was started for (it stops when that job ends).
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


_SB = SandboxRow.__table__
Index("ix_sandboxes_status", _SB.c.status, _SB.c.created_at)
Index("ix_sandboxes_stopped", _SB.c.stopped_at)
