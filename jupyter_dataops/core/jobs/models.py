"""The core's data models: what adapters parse input into and render results from.

Field names here are the REST API's JSON names (see ``server/openapi.yaml``) and the CLI's ``--json``.
"""

from __future__ import annotations

import enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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

    cell_index: int | None = None
    ename: str
    evalue: str = ""
    traceback: list[str] = Field(default_factory=list)


class JobProgress(_Model):
    cells_completed: int = 0
    cells_total: int = 0
    current_cell: int | None = None


class JobCreate(_Model):
    """A request to run a notebook as a job."""

    notebook_path: str = Field(..., min_length=1, description="Relative to the root directory")
    parameters: dict[str, Any] = Field(default_factory=dict)
    kernel_name: str | None = Field(None, description="Defaults to the notebook's own kernel")
    name: str | None = Field(None, max_length=200)
    timeout_seconds: float | None = Field(None, gt=0, description="Whole-job limit")
    max_retries: int = Field(0, ge=0, le=10)
    tags: list[str] = Field(default_factory=list)


class JobRerun(_Model):
    """Run a job again; parameters given here replace those of the original one by one."""

    parameters: dict[str, Any] | None = None
    kernel_name: str | None = None
    use_current_notebook: bool = Field(
        False, description="Run the notebook as it is now instead of the copy the job staged"
    )


class Job(_Model):
    """A job as every adapter shows it."""

    id: str
    name: str
    notebook_path: str
    root_dir: str
    status: JobStatus
    parameters: dict[str, Any]
    kernel_name: str
    executor: str
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float
    progress: JobProgress
    attempt: int = 1
    max_retries: int = 0
    timeout_seconds: float | None = None
    cancel_requested: bool = False
    output_path: str | None = Field(None, description="Executed notebook, relative to root_dir")
    html_path: str | None = None
    log_path: str | None = None
    error: JobError | None = None
    warnings: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    rerun_of: str | None = None

    @property
    def duration(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else self.updated_at
        return max(0.0, end - self.started_at)


SortField = Literal["created_at", "started_at", "finished_at", "name", "status", "notebook_path"]


class JobQuery(_Model):
    """Filter, sort and page a job list."""

    status: list[JobStatus] | None = None
    notebook: str | None = Field(None, description="Substring of the notebook path")
    sort: SortField = "created_at"
    order: Literal["asc", "desc"] = "desc"
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=1000)


class JobPage(_Model):
    jobs: list[Job]
    total: int
    offset: int
    limit: int
    counts: dict[str, int] = Field(default_factory=dict, description="Jobs per status, unfiltered")
