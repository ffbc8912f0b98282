"""Bodies that only the REST API has (the rest are core models); named in openapi.yaml."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..core.jobs.models import ExecutorCapabilities


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Body):
    """Every error response: what went wrong, how to fix it, and machine-readable details."""

    error: str = Field(..., description="Kind of error, e.g. invalid_input, not_found, conflict")
    message: str
    hint: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class LogQuery(_Body):
    offset: int = Field(0, ge=0, le=2**53, description="Byte offset to read the log from")


class ServerInfo(_Body):
    version: str
    user: str | None = Field(None, description="Who this server acts as for the caller")
    executor: ExecutorCapabilities = Field(
        ..., description="The job executor and what it supports (the UI offers only that)"
    )
    executors: list[ExecutorCapabilities] = Field(
        default_factory=list,
        description="Every executor a job may name (JobCreate.executor), the default first",
    )
    jobs_dir: str = Field(..., description="Folder, relative to root_dir, holding job files")
    root_dir: str


class WorkerReport(_Body):
    """The worker process that runs jobs (``dataops worker status|stop``)."""

    executor: str
    running: bool | None = Field(..., description="None when the executor has no process")
    pid: int | None = None
    started_at: float | None = None
    stopped: bool | None = Field(None, description="Set by POST .../stop: whether it stopped")


class PreviewQuery(_Body):
    cron: str = Field(..., min_length=1, max_length=200)
    timezone: str = Field("UTC", max_length=64)


class DiffQuery(_Body):
    a: str = Field(..., min_length=1, max_length=64, description="The earlier snapshot")
    b: str | None = Field(None, max_length=64, description="The later one (default: the newest)")


class DeleteQuery(_Body):
    delete_runs: bool = Field(False, description="Also delete the schedule's finished runs")


class FiringQuery(_Body):
    limit: int = Field(100, ge=1, le=1000)
