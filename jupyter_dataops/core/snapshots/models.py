"""Snapshots' request and response models (field names are the REST API's JSON names)."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SnapshotStatus(str, enum.Enum):
    CREATING = "creating"  #: being recorded (a crash leaves it failed, never half listed)
    READY = "ready"
    FAILED = "failed"


class PushStatus(str, enum.Enum):
    PENDING = "pending"  #: its data waits to be pushed to the remote (retried with back-off)
    PUSHED = "pushed"
    FAILED = "failed"  #: gave up after the retries; `snapshots push ID` tries again
    NONE = "none"  #: no data, or no remote configured


class VariableInfo(_Model):
    """One kernel variable: saved (its pickled size) or skipped (why)."""

    name: str = Field(..., max_length=500)
    type: str = Field(..., max_length=500)
    bytes: int = Field(0, ge=0)
    reason: str | None = Field(None, max_length=2000)


class VariablesUpload(_Model):
    """A kernel's variables, pickled one by one in the kernel (base64 of a pickled dict of name
    to pickled bytes). The server stores it and never unpickles it."""

    saved: list[VariableInfo] = Field(default_factory=list, max_length=10000)
    skipped: list[VariableInfo] = Field(default_factory=list, max_length=10000)
    payload: str = Field(..., description="base64")


class VariablesSummary(_Model):
    saved: list[VariableInfo]
    skipped: list[VariableInfo]
    bytes: int = Field(..., description="Size of the stored payload")
    sha256: str


class Variables(VariablesSummary):
    """A snapshot's saved variables, to load into a kernel."""

    payload: str


class SnapshotCreate(_Model):
    """Record the project: its data paths with DVC, its code with git, its environment."""

    message: str = Field("", max_length=2000)
    paths: list[Annotated[str, Field(max_length=4096)]] | None = Field(
        None,
        max_length=100,
        description="Data paths to version (default: the configured ones, data/ unless set)",
    )
    kernel_name: str | None = Field(
        None,
        max_length=200,
        description="Whose environment to record (default: the default kernel)",
    )
    init: bool = Field(
        False, description="Set the project up as a git and DVC repository when it is not one"
    )
    variables: VariablesUpload | None = Field(
        None,
        description="A running kernel's variables (what `%dataops snapshot --variables` sends)",
    )


class SnapshotRestore(_Model):
    """Make the project (or some paths of it) what a snapshot recorded."""

    paths: list[Annotated[str, Field(max_length=4096)]] | None = Field(None, max_length=100)


class DataEntry(_Model):
    path: str
    hash: str
    size: int
    nfiles: int


class ColumnProfile(_Model):
    name: str
    dtype: str
    nulls: int
    unique: int | None = None
    min: float | str | None = None
    max: float | str | None = None
    mean: float | None = None
    std: float | None = None


class TableProfile(_Model):
    """What a tabular data file holds: its schema, row count and per-column summary."""

    hash: str
    rows: int | None = None
    columns: list[ColumnProfile] = Field(default_factory=list)
    error: str | None = Field(None, description="Why it could not be profiled")


class Environment(_Model):
    python: str = ""
    executable: str = ""
    kernel_name: str | None = None
    packages: dict[str, str] = Field(default_factory=dict)
    error: str | None = None


class _SnapshotCommon(_Model):
    id: str
    message: str
    status: SnapshotStatus
    author: str | None = None
    created_at: float
    parent_id: str | None = None
    commit: str | None = None
    size: int = Field(0, description="Bytes of data it versions")
    nfiles: int = Field(0, description="Data files it versions")
    changed: bool = Field(True, description="Whether code or data differ from its parent")
    push_status: PushStatus = PushStatus.NONE
    kind: Literal["manual", "safety", "job"] = "manual"
    phase: str | None = Field(None, description="What a snapshot being taken is doing now")
    error: str | None = Field(None, description="Why it failed")
    push_error: str | None = Field(None, description="Why its data is not on the remote")


class SnapshotSummary(_SnapshotCommon):
    """A snapshot as a list shows it."""


class Snapshot(_SnapshotCommon):
    """A snapshot in full."""

    ref: str | None = None
    data: list[DataEntry] = Field(default_factory=list)
    profiles: dict[str, TableProfile] = Field(default_factory=dict)
    environment: Environment = Field(default_factory=Environment)
    push_attempts: int = 0
    warnings: list[str] = Field(default_factory=list)
    variables: VariablesSummary | None = Field(None, description="Kernel variables it saved")
    jobs: list[str] = Field(default_factory=list, description="Jobs that ran on it (lineage)")


class SnapshotQuery(_Model):
    id: list[Annotated[str, Field(max_length=32)]] | None = Field(None, max_length=1000)
    status: list[SnapshotStatus] | None = Field(None, max_length=len(SnapshotStatus))
    kind: list[Literal["manual", "safety", "job"]] | None = Field(None, max_length=3)
    order: Literal["asc", "desc"] = "desc"
    limit: int = Field(50, ge=1, le=1000)
    cursor: str | None = Field(None, max_length=2048)


class SnapshotPage(_Model):
    items: list[SnapshotSummary]
    next_cursor: str | None = None
    prev_cursor: str | None = None
    total: int
    total_is_estimate: bool = False
    counts: dict[str, int] = Field(default_factory=dict, description="Snapshots per status")
    seq: int = 0


class PathChange(_Model):
    path: str
    change: Literal["added", "deleted", "modified"]


class ColumnChange(_Model):
    name: str
    change: Literal["added", "deleted", "dtype", "stats"]
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class TableChange(_Model):
    path: str
    rows_before: int | None = None
    rows_after: int | None = None
    columns: list[ColumnChange] = Field(default_factory=list)


class PackageChange(_Model):
    name: str
    before: str | None = None
    after: str | None = None


class SnapshotDiff(_Model):
    """What changed from snapshot ``a`` to snapshot ``b``."""

    a: str
    b: str
    files: list[PathChange]
    data: list[PathChange]
    tables: list[TableChange]
    packages: list[PackageChange]
    python: tuple[str, str] | None = None


class RestoreResult(_Model):
    snapshot_id: str
    safety_snapshot_id: str | None = Field(
        None, description="The snapshot of the state before the restore (to undo it)"
    )
    files: list[PathChange]
    data: list[PathChange]
    verified: int = Field(..., description="Data files whose content hash was checked")


class WorkspaceStatus(_Model):
    root: str
    git_root: str | None = None
    dvc_root: str | None = None
    remote: str | None = None
    ready: bool
    missing: list[str]
    data_paths: list[str]
    latest_id: str | None = None
    changed: bool | None = Field(None, description="Whether the project changed since the latest")
    matches_id: str | None = Field(
        None, description="The newest snapshot the project is now exactly (after a restore...)"
    )
    max_variable_bytes: int = Field(..., description="Most bytes of kernel variables it saves")


class LineageNode(_Model):
    kind: Literal["snapshot", "job", "data", "package", "model", "endpoint"]
    id: str
    label: str
    detail: dict[str, Any] = Field(default_factory=dict)


class Lineage(_Model):
    """What produced a thing and what used it."""

    root: LineageNode
    upstream: list[LineageNode]
    downstream: list[LineageNode]


class SnapshotEvent(_Model):
    """A snapshot event on the server's event bus (https://events.jupyter-dataops.org/snapshot/v1)."""

    action: Literal["created", "updated", "deleted"]
    id: str
    seq: int = Field(..., ge=1)
    status: SnapshotStatus | None = None
    push_status: PushStatus | None = None
    phase: str | None = None
