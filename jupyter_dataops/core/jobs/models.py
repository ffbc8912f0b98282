"""The core's data models: what adapters parse input into and render results from.

Field names here are the REST API's JSON names (see ``server/openapi.yaml``) and the CLI's ``--json``.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..sandboxes.models import Resources, Usage


class JobStatus(str, enum.Enum):
    """States of a job. ``queued -> running -> completed | failed | cancelled``; a failed attempt
    with retries left goes back to ``queued``; a queued job can be cancelled directly."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
ACTIVE_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})

# Which transitions the store accepts; anything else is a bug or a race and is refused.
ALLOWED_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.RUNNING: frozenset(
        {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.QUEUED}
    ),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}

ParameterType = Literal["int", "float", "bool", "str", "list", "dict", "none", "any"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ParameterSpec(_Model):
    """One parameter of a notebook's ``parameters`` cell, as papermill infers it."""

    name: str
    type: ParameterType = "any"
    default: Any = None
    default_repr: str = Field("", description="The default as written in the cell")
    help: str = ""


class NotebookParameters(_Model):
    """What the run dialog needs to build its form for one notebook."""

    path: str
    has_parameters_cell: bool
    parameters: list[ParameterSpec]
    kernel_name: str | None = Field(None, description="The kernel named in the notebook metadata")
    language: str | None = Field(None, description="The notebook's language, from its metadata")
    cell_count: int = 0
    warnings: list[str] = Field(
        default_factory=list,
        description="What the user should know before running it, e.g. that parameters will be "
        "injected in a new cell because no cell is tagged 'parameters'",
    )


class JobError(_Model):
    """Why a job failed: the failing cell and its error, or a reason from the executor."""

    cell_index: int | None = Field(
        None,
        description="Index of the failing cell in the executed notebook (which has papermill's "
        "injected-parameters cell), or None when no cell failed",
    )
    ename: str
    evalue: str = ""
    traceback: list[str] = Field(default_factory=list)


class JobErrorSummary(_Model):
    """A job's error in a list: the kind and the first part of the message, no traceback."""

    cell_index: int | None = Field(None, description="As in JobError")
    ename: str
    evalue: str = Field("", description="At most 300 characters of the message")


class JobProgress(_Model):
    cells_completed: int = 0
    cells_total: int = 0
    current_cell: int | None = None


#: How much of a request a client can make the server hold, whatever the configured bounds.
MAX_NAME_LENGTH = 200
MAX_TAGS = 50
MAX_TAG_LENGTH = 100
MAX_TIMEOUT_SECONDS = 366 * 24 * 3600.0


class JobCreate(_Model):
    """A request to run a notebook as a job."""

    notebook_path: str = Field(
        ..., min_length=1, max_length=4096, description="Relative to the root directory"
    )
    parameters: dict[str, Any] = Field(default_factory=dict)
    kernel_name: str | None = Field(
        None, max_length=MAX_NAME_LENGTH, description="Defaults to the notebook's own kernel"
    )
    name: str | None = Field(None, max_length=MAX_NAME_LENGTH)
    timeout_seconds: float | None = Field(
        None, gt=0, le=MAX_TIMEOUT_SECONDS, description="Whole-job time limit, in seconds"
    )
    max_retries: int | None = Field(
        None, ge=0, le=10, description="Retries after a failed attempt (default: the server's)"
    )
    tags: list[Annotated[str, Field(max_length=MAX_TAG_LENGTH)]] = Field(
        default_factory=list, max_length=MAX_TAGS
    )
    sandbox: str | None = Field(
        None, max_length=32, description="Run in this ready sandbox (its id), with its kernel"
    )
    profile: str | None = Field(
        None,
        max_length=63,
        description="Run in a sandbox of this profile, started for the job and stopped when it "
        "ends; on an executor that sizes runs by profile (ExecutorCapabilities.profiles: "
        "kubernetes), run there sized and placed like the profile (no sandbox)",
    )
    executor: str | None = Field(
        None,
        max_length=MAX_NAME_LENGTH,
        description="Where it runs: the name of one of the server's executors (GET "
        "/dataops/api/info lists them: local, kubernetes...); default the server's",
    )


class JobRerun(_Model):
    """Run a job again; parameters given here replace those of the original one by one."""

    parameters: dict[str, Any] | None = None
    kernel_name: str | None = Field(None, max_length=MAX_NAME_LENGTH)
    use_current_notebook: bool = Field(
        False, description="Run the notebook as it is now instead of the copy the job staged"
    )


class _JobCommon(_Model):
    """What a job summary and a full job both say."""

    id: str
    name: str
    notebook_path: str
    status: JobStatus
    kernel_name: str
    executor: str
    owner: str | None = Field(None, description="Who queued it, as the server authenticated them")
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float
    progress: JobProgress
    attempt: int = 1
    max_retries: int = 0
    cancel_requested: bool = False
    pending_reason: str | None = Field(
        None, description="Why a queued or starting job is waiting, as the executor reports it"
    )
    tags: list[str] = Field(default_factory=list)
    rerun_of: str | None = None
    schedule_id: str | None = Field(None, description="The schedule it ran for, if any")
    schedule_version: int | None = Field(None, description="The version of it that fired")
    due_at: float | None = Field(
        None, description="The due time it ran for (None for a schedule's run now)"
    )
    snapshot_id: str | None = Field(None, description="The snapshot of the project it ran on")

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else self.updated_at
        return max(0.0, end - self.started_at)


class JobSummary(_JobCommon):
    """A job as a list shows it: no parameters, warnings or traceback (see :class:`Job`)."""

    error: JobErrorSummary | None = None
    warning_count: int = 0


class Job(_JobCommon):
    """A job as every adapter shows it in full."""

    root_dir: str
    parameters: dict[str, Any]
    timeout_seconds: float | None = None
    output_path: str | None = Field(
        None, description="Executed notebook, relative to root_dir (None when not on this machine)"
    )
    html_path: str | None = None
    log_path: str | None = None
    error: JobError | None = None
    warnings: list[str] = Field(default_factory=list)
    usage: Usage | None = Field(
        None, description="What its kernel used (the last attempt), once it ended"
    )


SortField = Literal["created_at", "started_at", "finished_at", "name", "status", "notebook_path"]


class JobQuery(_Model):
    """Filter, sort and page a job list (keyset paging: pass a page's cursor to get the next)."""

    id: list[Annotated[str, Field(max_length=32)]] | None = Field(
        None, max_length=1000, description="Only these jobs (by full id)"
    )
    status: list[JobStatus] | None = Field(None, max_length=len(JobStatus))
    notebook: str | None = Field(
        None, max_length=4096, description="Only jobs of this notebook (its path, exactly)"
    )
    schedule_id: str | None = Field(None, max_length=32, description="Only runs of this schedule")
    sort: SortField = Field(
        "created_at",
        description="Jobs not started (or not finished) yet sort as if they were the newest",
    )
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(50, ge=1, le=1000)
    cursor: str | None = Field(
        None, max_length=2048, description="next_cursor or prev_cursor of the page before"
    )


class JobPage(_Model):
    """One page of a job list, with the cursors of the pages around it."""

    items: list[JobSummary]
    next_cursor: str | None = Field(None, description="The next page, or None on the last one")
    prev_cursor: str | None = Field(None, description="The page before, or None on the first")
    total: int = Field(..., description="Jobs that match the filters, on all pages")
    total_is_estimate: bool = Field(
        False, description="Whether total is approximate (a large table counted recently)"
    )
    counts: dict[str, int] = Field(default_factory=dict, description="Jobs per status, unfiltered")
    seq: int = Field(0, description="The store's change sequence number this page reflects")


class JobLogs(_Model):
    """A chunk of a job's log: ask again from ``offset`` to follow it."""

    logs: str = Field(..., description="The log text from the requested offset")
    offset: int = Field(..., description="Where the next chunk starts (bytes)")
    complete: bool = Field(..., description="Whether the job has ended and the log is whole")


class JobProfile(_Model):
    """A sandbox profile as it sizes and places a job's executions on an executor that does that
    itself (``Executor.sizes_by_profile``: pods on a cluster sized like the profile, no sandbox
    started). Checked against the policy when the job is queued and staged with it
    (``profile.json`` in its folder), so each attempt, and a re-run, is sized alike."""

    name: str = Field(..., description="The profile's name")
    resources: Resources = Field(..., description="What the policy allowed of the profile")
    image: str | None = Field(None, description="The profile's image (None: the executor's)")
    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
    affinity: dict[str, Any] = Field(default_factory=dict)
    ignored: list[str] = Field(
        default_factory=list,
        description="Settings of the profile that only a sandbox gets (packages, data, env...)",
    )


class ExecutorCapabilities(_Model):
    """What an executor can do, so adapters offer only what works."""

    name: str
    cancel: bool = True
    logs: bool = True
    follow_logs: bool = True
    progress: bool = True
    gpus: bool = False
    max_concurrent_jobs: int | None = None
    profiles: bool = Field(
        False,
        description="Whether a job's profile sizes its run here (a pod of the profile's size on a "
        "cluster) instead of starting a sandbox for it",
    )


class JobEvent(_Model):
    """A job event on the server's event bus (schema https://events.jupyter-dataops.org/job/v2)."""

    action: Literal["created", "updated", "deleted"]
    id: str
    seq: int = Field(..., ge=1, description="The change's number in the store's change log")
    status: JobStatus | None = Field(None, description="After the change; absent when deleted")
    cells_completed: int | None = Field(None, ge=0)
    cells_total: int | None = Field(None, ge=0)
