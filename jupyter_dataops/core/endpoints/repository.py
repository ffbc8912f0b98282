"""What endpoints need from the store (``jupyter_dataops.store.endpoints`` implements it)."""

from __future__ import annotations

from typing import Any, Protocol


class EndpointRecord(Protocol):
    name: str
    root_dir: str
    model_name: str
    version: int
    alias: str
    model_uri: str
    canary_version: int | None
    canary_percent: int
    status: str
    desired: str
    target: str
    host: str
    port: int
    token: str | None
    pid: int | None
    identity: str | None
    error: str | None
    restarts: int
    history: list[dict[str, Any]]
    previous: list[int]
    reference: dict[str, Any] | None
    example: list[dict[str, Any]] | None
    drift_threshold: float
    drift_score: float | None
    drift_checked_at: float | None
    run_id: str | None
    job_id: str | None
    snapshot_id: str | None
    owner: str | None
    created_at: float
    updated_at: float
    started_at: float | None


class EndpointRepository(Protocol):
    def insert(self, **fields: Any) -> None: ...
    def update(self, name: str, **fields: Any) -> bool: ...
    def get(self, name: str) -> EndpointRecord:
        """NotFound naming the listing command when there is none."""

    def find(self, name: str) -> EndpointRecord | None: ...
    def delete(self, name: str) -> None: ...
    def all(self, root_dir: str | None = None) -> list[EndpointRecord]:
        """Every endpoint (of the project at ``root_dir``), by name."""

    def ports(self) -> set[int]:
        """Ports that endpoints hold, whatever their project."""

    def of_job(self, job_id: str) -> list[EndpointRecord]: ...
