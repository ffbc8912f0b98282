"""What the jobs core needs from the store (``jupyter_dataops.store.jobs`` implements it).

Every write records a ``job`` change in the same transaction (see :mod:`..store`). Status changes
are conditional (``from_status``), so two processes never both move one job.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from .models import JobQuery, JobStatus


class JobRecord(Protocol):
    """A stored job (a row): what :class:`JobRepository` returns."""

    id: str
    name: str
    notebook_path: str
    root_dir: str
    files_key: str
    output_name: str
    status: str
    parameters: dict[str, Any]
    kernel_name: str
    executor: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    updated_at: float
    cells_completed: int
    cells_total: int
    current_cell: int | None
    attempt: int
    max_retries: int
    timeout_seconds: float | None
    cancel_requested: bool
    pending_reason: str | None
    error: dict[str, Any] | None
    warnings: list[str]
    tags: list[str]
    rerun_of: str | None
    owner: str | None
    worker_id: str | None
    schedule_id: str | None
    schedule_version: int | None
    due_at: float | None
    snapshot_id: str | None
    usage: dict[str, Any] | None


class JobRepository(Protocol):
    def insert(self, **fields: Any) -> None: ...

    def insert_many(self, rows: list[dict[str, Any]]) -> None:
        """Insert jobs whose rows all have the same fields (one statement for many)."""

    def get(self, job_id: str) -> JobRecord:
        """By id, or by a unique prefix of at least 4 characters; NotFound / InvalidInput."""

    def find(self, job_id: str) -> JobRecord | None:
        """By exact id."""

    def many(self, ids: Iterable[str]) -> list[JobRecord]:
        """The jobs with these ids that exist, in no particular order."""

    def update(
        self, job_id: str, *, from_status: Iterable[JobStatus] | None = None, **fields: Any
    ) -> bool:
        """Change fields (only if the job is in ``from_status``); whether a row changed."""

    def delete(self, job_id: str, *, only_status: Sequence[JobStatus]) -> bool: ...

    def count(self, statuses: Iterable[JobStatus]) -> int: ...

    def page(self, query: JobQuery) -> tuple[list[JobRecord], str | None, str | None]:
        """One page of summaries and the cursors of the next and previous pages."""

    def total(self, query: JobQuery) -> tuple[int, bool]:
        """How many jobs match the query's filters, and whether that is an estimate."""

    def counts_by_status(self) -> dict[str, int]: ...

    def in_status(
        self, statuses: Iterable[JobStatus], *, executor: str | None = None
    ) -> list[JobRecord]: ...

    def oldest_queued(self, executor: str, limit: int) -> list[str]:
        """Ids of the oldest queued jobs of this executor, first come first served."""

    def cancel_requested_among(self, ids: Iterable[str]) -> set[str]:
        """Which of these running jobs someone asked to cancel (one cheap query)."""
