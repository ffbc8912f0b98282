"""What sandboxes need from the store (``jupyter_dataops.store.sandboxes`` implements it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class SandboxRecord(Protocol):
    id: str
    root_dir: str
    profile: str
    owner: str | None
    team: str | None
    status: str
    provider: str
    resources: dict[str, Any]
    devices: list[dict[str, Any]]
    kernel_name: str | None
    display_name: str
    workdir: str | None
    limits: dict[str, Any] | None
    env: dict[str, str]
    steps: list[dict[str, Any]]
    progress: float
    kernels: list[dict[str, Any]]
    usage: dict[str, Any]
    idle_timeout: float
    max_lifetime: float
    holder: str | None
    released: bool
    warning: str | None
    warned_at: float | None
    stop_reason: str | None
    error: str | None
    created_at: float
    updated_at: float
    ready_at: float | None
    stopped_at: float | None
    last_activity_at: float | None
    job_id: str | None


class SandboxRepository(Protocol):
    def insert(self, **fields: Any) -> None: ...

    def update(
        self, sandbox_id: str, *, only_status: Sequence[str] | None = None, **fields: Any
    ) -> bool:
        """Change a sandbox; with ``only_status``, only while its status is one of those
        (False when it was not: someone else moved it first)."""

    def get(self, sandbox_id: str) -> SandboxRecord:
        """By id or unique prefix; NotFound naming the listing command when there is none."""

    def find(self, sandbox_id: str) -> SandboxRecord | None: ...

    def of_job(self, job_id: str) -> SandboxRecord | None:
        """The sandbox started for that job, if any."""

    def all(
        self, *, statuses: Sequence[str] | None = None, since: float | None = None
    ) -> list[SandboxRecord]:
        """Sandboxes, newest first: of these statuses, or created or stopped after ``since``."""
