"""Response bodies that only the REST API has (the rest are core models); named in openapi.yaml."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Body):
    """Every error response: what went wrong, how to fix it, and machine-readable details."""

    error: str = Field(..., description="Kind of error, e.g. invalid_input, not_found, conflict")
    message: str
    hint: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class JobLogs(_Body):
    logs: str = Field(..., description="The job's log as text")


class ServerInfo(_Body):
    version: str
    executor: str = Field(..., description="Name of the configured job executor")
    jobs_dir: str = Field(..., description="Folder, relative to root_dir, holding job outputs")
    root_dir: str
