"""Sandboxes' profiles, policy and records (field names are the REST API's JSON names).

A **profile** is what an operator offers (CPUs, memory, GPUs, the Python environment, packages,
data, environment variables, idle timeout and lifetime). The **policy** bounds what users may ask
for (ranges, GPU types, which fields they may override) and how much they may hold at once
(quotas per user and per team). A **sandbox** is one user's provisioned instance of a profile:
a working directory, limits, devices, and a kernel spec that puts it in the notebook's kernel
picker. Sizes are Kubernetes quantities (``32Gi``) on the way in; stored as numbers.
"""

from __future__ import annotations

import enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: A profile's name: a DNS label (it becomes part of Kubernetes names on a cluster).
PROFILE_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
#: A sandbox's id, as ``store.ids`` makes them.
ID_PATTERN = r"^[0-9a-z]{4,32}$"
#: The fields of a profile a policy may let users override.
OVERRIDABLE = ("cpus", "memory", "gpus", "gpu_type", "idle_timeout", "max_lifetime")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SandboxStatus(str, enum.Enum):
    PROVISIONING = "provisioning"  #: preparing its environment, packages and data
    READY = "ready"  #: its kernel spec is in the picker; kernels start in it
    STOPPING = "stopping"  #: its kernels are being stopped
    STOPPED = "stopped"  #: ended; its devices are free again
    FAILED = "failed"  #: provisioning failed; nothing is held

    @property
    def active(self) -> bool:
        """It holds its devices and counts against quotas."""
        return self in (SandboxStatus.PROVISIONING, SandboxStatus.READY, SandboxStatus.STOPPING)


ACTIVE_STATUSES = tuple(s.value for s in SandboxStatus if s.active)


class DataSource(_Model):
    """Data a sandbox gets in its ``data/`` folder."""

    kind: Literal["directory", "dvc", "snapshot"] = "directory"
    source: str = Field(
        ...,
        description="A folder (relative to the project or absolute), a DVC-tracked path of the "
        "project, or a snapshot id",
    )
    name: str | None = Field(None, description="Its name under data/ (default: the source's)")


class GpuDevice(_Model):
    """One GPU of the inventory."""

    index: int = Field(..., ge=0, description="What CUDA_VISIBLE_DEVICES names it by")
    uuid: str | None = None
    type: str = Field(..., description="Its model, as profiles and policy name it (a100, t4)")
    memory_bytes: int | None = None


class Profile(_Model):
    """What an operator offers, from ``c.DataOps.sandbox_profiles``."""

    name: str = Field(..., pattern=PROFILE_PATTERN)
    description: str = ""
    cpus: float = Field(..., gt=0)
    memory_bytes: int = Field(..., gt=0)
    gpus: int = Field(0, ge=0)
    gpu_type: str | None = None
    environment: str = Field(
        "",
        description="The Python environment: an interpreter or an environment's folder (empty: "
        "the interpreter of the default kernel)",
    )
    image: str | None = Field(None, description="The container image (on a cluster only)")
    provider: str | None = Field(
        None,
        max_length=100,
        description="Where it runs: one of the server's sandbox providers (empty: the default, "
        "or for a profile with an image the first provider that can run it)",
    )
    packages: list[str] = Field(default_factory=list, description="pip requirements to preload")
    tools: list[str] = Field(default_factory=list, description="Programs that must be on PATH")
    data: list[DataSource] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="Environment variable -> reference (env:VAR or file:PATH), resolved when a "
        "kernel starts; values never leave the server",
    )
    idle_timeout: float = Field(3600.0, ge=0, description="Seconds; 0: never stopped for idling")
    max_lifetime: float = Field(0.0, ge=0, description="Seconds; 0: no limit")
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="nodeSelector of its pod (on a cluster only)"
    )
    tolerations: list[dict[str, Any]] = Field(
        default_factory=list, description="Tolerations of its pod (on a cluster only)"
    )
    affinity: dict[str, Any] = Field(
        default_factory=dict, description="Affinity of its pod (on a cluster only)"
    )


class Range(_Model):
    min: float | None = None
    max: float | None = None


class QuotaLimits(_Model):
    """How much one user (or one team together) may hold; None: no limit."""

    sandboxes: int | None = Field(None, ge=0, description="Sandboxes at once")
    gpus: int | None = Field(None, ge=0, description="GPUs at once")
    gpu_hours_per_day: float | None = Field(None, ge=0, description="GPU-hours per UTC day")


class Policy(_Model):
    """What users may ask for, from ``c.DataOps.sandbox_policy``."""

    cpus: Range = Field(default_factory=Range)
    memory_bytes: Range = Field(default_factory=Range)
    gpus: Range = Field(default_factory=Range)
    idle_timeout: Range = Field(default_factory=Range)
    max_lifetime: Range = Field(default_factory=Range)
    gpu_types: list[str] | None = Field(None, description="Allowed GPU types (None: any)")
    overridable: list[str] = Field(
        default_factory=lambda: ["cpus", "memory", "gpus", "idle_timeout"],
        description="Profile fields users may change when they start a sandbox",
    )
    user_quota: QuotaLimits = Field(default_factory=QuotaLimits)
    team_quotas: dict[str, QuotaLimits] = Field(default_factory=dict)
    teams: dict[str, list[str]] = Field(default_factory=dict, description="Team -> its users")

    def team_of(self, user: str | None) -> str | None:
        for team, users in sorted(self.teams.items()):
            if user is not None and user in users:
                return team
        return None


class Resources(_Model):
    cpus: float
    memory_bytes: int
    gpus: int = 0
    gpu_type: str | None = None


class FieldLimit(_Model):
    """What the start form shows for one field: the profile's value, the allowed range, and
    whether (and why not) the user may change it."""

    field: str
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: list[str] | None = None
    overridable: bool = False
    reason: str | None = Field(None, description="Why it cannot be changed, when it cannot")


class QuotaUse(_Model):
    used: float
    limit: float | None = None
    scope: str = Field("user", description="'user' or 'team NAME'")


class ProviderChoice(_Model):
    """A place a profile's sandboxes may run."""

    name: str = Field(..., description="The provider's name (local, kubernetes)")
    where: Literal["local", "cluster"] = "local"
    available: bool = True
    reason: str | None = Field(None, description="Why the profile cannot run there")
    fields: list[FieldLimit] = Field(
        default_factory=list, description="What a user may ask for there (its size bounds them)"
    )


class ProfileView(_Model):
    """A profile as a user sees it: its settings, whether it can start here, the limits of
    each field and what is left of their quotas."""

    profile: Profile
    available: bool
    reason: str | None = Field(None, description="Why it cannot start here, when it cannot")
    where: Literal["local", "cluster"] = "local"
    fields: list[FieldLimit] = Field(default_factory=list)
    quotas: dict[str, QuotaUse] = Field(default_factory=dict)
    gpus_free: int = Field(0, description="GPUs of its type free now")
    provider: str = Field("local", description="Where a start runs it unless it asks otherwise")
    providers: list[ProviderChoice] = Field(
        default_factory=list, description="Every place it may run (more than one: a start may pick)"
    )


class ProfileList(_Model):
    items: list[ProfileView]
    limits_method: str = Field(..., description="How limits are applied here (cgroup v2, rlimits)")
    gpu_inventory: list[GpuDevice] = Field(default_factory=list)
    gpu_inventory_source: str = Field("", description="nvml, configuration or none")


class SandboxCreate(_Model):
    """``POST /dataops/api/sandboxes``: start a profile, optionally changing what the policy
    lets users change. Sizes are Kubernetes quantities."""

    profile: str = Field(..., min_length=1, max_length=63)
    cpus: str | float | None = Field(None, description="e.g. 2, 1.5 or 500m")
    memory: str | int | None = Field(None, description="e.g. 8Gi or 8G")
    gpus: int | None = None
    gpu_type: str | None = Field(None, max_length=100)
    idle_timeout: float | None = None
    max_lifetime: float | None = None
    provider: str | None = Field(
        None,
        max_length=100,
        description="Where to run it: one of the profile's providers (default: the profile's)",
    )
    wait: bool = Field(False, description="Answer once it is ready (or failed)")


class Usage(_Model):
    """What a sandbox (or a job) used: for comparing runs on cost as well as on accuracy."""

    cpu_seconds: float = 0.0
    gpu_seconds: float = 0.0
    peak_memory_bytes: int = 0
    wall_seconds: float = 0.0


class KernelRecord(_Model):
    """A kernel that ran in a sandbox; how it ended, when it did."""

    id: str
    pid: int | None = None
    started_at: float
    ended_at: float | None = None
    exit: str | None = Field(None, description="How it ended, for users (killed by signal 9 ...)")
    oom: bool = Field(False, description="The out-of-memory killer ended it")


class Step(_Model):
    name: str
    status: Literal["pending", "running", "done", "failed", "skipped"] = "pending"
    detail: str | None = None
    seconds: float | None = None


class Limits(_Model):
    method: str = Field(..., description="cgroup v2, rlimits, or the provider's own")
    detail: str = ""


class Sandbox(_Model):
    id: str
    profile: str
    owner: str | None = None
    team: str | None = None
    status: SandboxStatus
    resources: Resources
    devices: list[GpuDevice] = Field(default_factory=list)
    provider: str
    kernel_name: str | None = Field(None, description="Its kernel spec (in the kernel picker)")
    display_name: str
    workdir: str | None = Field(None, description="Its folder, relative to the project")
    limits: Limits | None = None
    env: dict[str, str] = Field(default_factory=dict, description="Variables it sets (no secrets)")
    steps: list[Step] = Field(default_factory=list)
    progress: float = Field(0.0, ge=0, le=1)
    kernels: list[KernelRecord] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    idle_timeout: float
    max_lifetime: float
    created_at: float
    ready_at: float | None = None
    stopped_at: float | None = None
    last_activity_at: float | None = None
    idle_stop_at: float | None = Field(None, description="When it stops if it stays idle")
    expires_at: float | None = Field(None, description="When its lifetime ends")
    warning: str | None = Field(None, description="It will stop soon, and why")
    stop_reason: str | None = None
    error: str | None = None
    job_id: str | None = Field(None, description="The job it was started for (it ends with it)")


class SandboxPage(_Model):
    items: list[Sandbox]
    total: int


class SandboxEvent(_Model):
    """What the server emits for each sandbox change (``sandbox/v1``)."""

    id: str
    action: Literal["created", "updated", "deleted"]
    status: str | None = None
    profile: str | None = None
    warning: str | None = None
    error: str | None = None
