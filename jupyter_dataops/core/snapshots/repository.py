"""What snapshots need from the store (``jupyter_dataops.store.snapshots`` implements it)."""

from __future__ import annotations

from typing import Any, Protocol

from .models import SnapshotQuery


class SnapshotRecord(Protocol):
    id: str
    root_dir: str
    message: str
    kind: str
    status: str
    author: str | None
    parent_id: str | None
    commit: str | None
    tree: str | None
    ref: str | None
    data: list[dict[str, Any]]
    tabular: dict[str, str]
    profiles: dict[str, Any]
    environment: dict[str, Any]
    fingerprint: str | None
    size: int
    nfiles: int
    changed: bool
    error: str | None
    warnings: list[str]
    variables: dict[str, Any] | None
    holder: str | None
    phase: str | None
    push_status: str
    push_attempts: int
    push_error: str | None
    push_next_at: float | None
    created_at: float
    updated_at: float


class SnapshotRepository(Protocol):
    def insert(self, **fields: Any) -> None: ...
    def update(
        self, snapshot_id: str, *, from_status: str | None = None, **fields: Any
    ) -> bool: ...
    def get(self, snapshot_id: str) -> SnapshotRecord:
        """By id or a unique prefix of it; NotFound/InvalidInput otherwise."""

    def latest(self, root_dir: str) -> SnapshotRecord | None:
        """The newest ready snapshot of the project at ``root_dir``."""

    def creating(self, root_dir: str) -> list[SnapshotRecord]: ...
    def matching(self, root_dir: str, fingerprint: str, tree: str) -> SnapshotRecord | None:
        """The newest ready snapshot of the project with this data fingerprint and code tree."""

    def with_fingerprint(self, root_dir: str, fingerprint: str) -> SnapshotRecord | None:
        """The newest ready snapshot of the project whose data had this fingerprint."""

    def page(
        self, root_dir: str, query: SnapshotQuery
    ) -> tuple[list[SnapshotRecord], str | None, str | None]: ...
    def total(self, root_dir: str, query: SnapshotQuery) -> int: ...
    def counts_by_status(self, root_dir: str) -> dict[str, int]: ...
    def due_pushes(self, now: float, limit: int) -> list[SnapshotRecord]: ...
    def next_push_at(self) -> float | None: ...
    def jobs_of(self, snapshot_id: str) -> list[str]: ...
