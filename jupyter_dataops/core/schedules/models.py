"""Schedules' request and response models (field names are the REST API's JSON names)."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..jobs.models import MAX_NAME_LENGTH, MAX_TIMEOUT_SECONDS, JobStatus

MisfirePolicy = Literal["run_once", "skip"]
ConcurrencyPolicy = Literal["allow", "forbid", "replace"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ScheduleStatus(str, enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"


class FiringOutcome(str, enum.Enum):
    """What became of one due time of a schedule."""

    QUEUED = "queued"  #: a job was queued for it
    SKIPPED = "skipped"  #: by policy: late beyond the grace, coalesced, or the previous run ran on
    MISSED = "missed"  #: it could not be queued (the queue was full, the notebook is gone...)


class Notify(_Model):
    """Who hears how a scheduled run ended: the JupyterLab notification area always (for runs
    that fail), a webhook (a Slack-compatible JSON body) and e-mail, on failure and optionally on
    success."""

    on_failure: bool = True
    on_success: bool = False
    webhook_url: str | None = Field(
        None, max_length=2048, description='An http(s) URL that gets {"text": ...} as JSON'
    )
    email_to: list[Annotated[str, Field(max_length=320)]] = Field(
        default_factory=list, max_length=20
    )


class ScheduleCreate(_Model):
    """Turn a notebook into a schedule."""

    notebook_path: str = Field(..., min_length=1, max_length=4096)
    cron: str = Field(..., min_length=1, max_length=200, description="5 fields, or @daily...")
    timezone: str = Field("UTC", max_length=64, description="An IANA name: Europe/Berlin")
    parameters: dict[str, Any] = Field(default_factory=dict)
    kernel_name: str | None = Field(None, max_length=MAX_NAME_LENGTH)
    sandbox: str | None = Field(
        None, max_length=32, description="Run in this sandbox (it must be ready when a run is due)"
    )
    profile: str | None = Field(
        None,
        max_length=63,
        description="Run each time in a sandbox of this profile, started for the run and stopped "
        "when it ends; on an executor that sizes runs by profile (kubernetes), each run is "
        "sized like it (no sandbox)",
    )
    executor: str | None = Field(
        None,
        max_length=MAX_NAME_LENGTH,
        description="Where its runs go: the name of one of the server's executors (GET "
        "/dataops/api/info lists them: local, kubernetes...); default the server's",
    )
    name: str | None = Field(None, max_length=MAX_NAME_LENGTH)
    timeout_seconds: float | None = Field(None, gt=0, le=MAX_TIMEOUT_SECONDS)
    max_retries: int | None = Field(None, ge=0, le=10)
    misfire_policy: MisfirePolicy = Field(
        "run_once",
        description="For due times missed while no scheduler ran: run once for all of them, "
        "or skip those later than misfire_grace_seconds",
    )
    misfire_grace_seconds: float = Field(300.0, ge=0, le=MAX_TIMEOUT_SECONDS)
    concurrency_policy: ConcurrencyPolicy = Field(
        "forbid",
        description="When a run is due while the previous one still runs: allow both, forbid "
        "the new one (it is skipped), or replace (cancel the previous one)",
    )
    notify: Notify = Field(default_factory=Notify)


class ScheduleUpdate(_Model):
    """Change a schedule: the fields given replace the current ones in a new version."""

    notebook_path: str | None = Field(None, min_length=1, max_length=4096)
    cron: str | None = Field(None, min_length=1, max_length=200)
    timezone: str | None = Field(None, max_length=64)
    parameters: dict[str, Any] | None = None
    kernel_name: str | None = Field(None, max_length=MAX_NAME_LENGTH)
    sandbox: str | None = Field(
        None, max_length=32, description="Run in this sandbox (it must be ready when a run is due)"
    )
    profile: str | None = Field(
        None,
        max_length=63,
        description="Run each time in a sandbox of this profile, started for the run and stopped "
        "when it ends; on an executor that sizes runs by profile (kubernetes), each run is "
        "sized like it (no sandbox)",
    )
    executor: str | None = Field(
        None,
        max_length=MAX_NAME_LENGTH,
        description="Where its runs go: the name of one of the server's executors; null: back "
        "to the server's default",
    )
    name: str | None = Field(None, max_length=MAX_NAME_LENGTH)
    timeout_seconds: float | None = Field(None, gt=0, le=MAX_TIMEOUT_SECONDS)
    max_retries: int | None = Field(None, ge=0, le=10)
    misfire_policy: MisfirePolicy | None = None
    misfire_grace_seconds: float | None = Field(None, ge=0, le=MAX_TIMEOUT_SECONDS)
    concurrency_policy: ConcurrencyPolicy | None = None
    notify: Notify | None = None


class ScheduleRunNow(_Model):
    """Run a schedule's notebook now; parameters given here replace its own one by one."""

    parameters: dict[str, Any] | None = None


class LastRun(_Model):
    job_id: str
    status: JobStatus
    due_at: float | None = Field(None, description="The due time it ran for (None: run now)")


class _ScheduleCommon(_Model):
    id: str
    name: str
    notebook_path: str
    status: ScheduleStatus
    cron: str
    timezone: str
    description: str = Field(..., description="The cron expression in plain words, with the zone")
    version: int
    owner: str | None = None
    created_at: float
    updated_at: float
    next_run_at: float | None = Field(None, description="The next due time (None when paused)")
    last_run: LastRun | None = None
    recent: list[str] = Field(
        default_factory=list,
        description="Outcomes of the latest due times, oldest first: a job status, or "
        "skipped/missed",
    )


class ScheduleSummary(_ScheduleCommon):
    """A schedule as a list shows it."""


class Schedule(_ScheduleCommon):
    """A schedule in full."""

    root_dir: str
    parameters: dict[str, Any]
    kernel_name: str | None = None
    sandbox: str | None = None
    profile: str | None = None
    executor: str | None = Field(
        None, description="The executor its runs go to (None: the server's default)"
    )
    timeout_seconds: float | None = None
    max_retries: int | None = None
    misfire_policy: MisfirePolicy
    misfire_grace_seconds: float
    concurrency_policy: ConcurrencyPolicy
    notify: Notify
    next_runs: list[float] = Field(default_factory=list, description="The next five due times")


ScheduleSortField = Literal["created_at", "name", "next_run_at"]


class ScheduleQuery(_Model):
    id: list[Annotated[str, Field(max_length=32)]] | None = Field(None, max_length=1000)
    status: list[ScheduleStatus] | None = Field(None, max_length=len(ScheduleStatus))
    notebook: str | None = Field(None, max_length=4096)
    sort: ScheduleSortField = "created_at"
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(50, ge=1, le=1000)
    cursor: str | None = Field(None, max_length=2048)


class SchedulePage(_Model):
    """One page of schedules (the page shape of every collection)."""

    items: list[ScheduleSummary]
    next_cursor: str | None = None
    prev_cursor: str | None = None
    total: int
    total_is_estimate: bool = False
    counts: dict[str, int] = Field(default_factory=dict, description="Schedules per status")
    seq: int = 0


class Firing(_Model):
    """One due time of a schedule and what became of it (recorded exactly once)."""

    schedule_id: str
    due_at: float
    fired_at: float
    version: int
    outcome: FiringOutcome
    job_id: str | None = None
    reason: str | None = None


class FiringList(_Model):
    items: list[Firing]


class CronPreview(_Model):
    """What the schedule dialog shows while the user types an expression."""

    description: str
    timezone: str
    next_runs: list[float]
    min_interval_seconds: float


class ScheduleEvent(_Model):
    """A schedule event on the server's event bus (https://events.jupyter-dataops.org/schedule/v1)."""

    action: Literal["created", "updated", "deleted"]
    id: str
    seq: int = Field(..., ge=1)
    status: ScheduleStatus | None = None
    next_run_at: float | None = None
