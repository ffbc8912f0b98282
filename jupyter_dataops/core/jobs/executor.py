"""The contract between the jobs core and an executor (a backend that runs job executions).

The core owns the job: its state machine, retries, time limits and cancellation
(:class:`~.runner.JobRunner`). An executor only starts, watches and stops *executions* (one per
attempt of a job) and reports what it saw through a callback:

- ``pending`` with a reason (a pod waiting for a node, a kernel starting),
- ``running``,
- ``progress`` (cells completed, the current cell),
- ``exited`` with an outcome: ``succeeded``; ``failed`` with the error (a failing cell, a kernel
  that died and why); ``stopped`` after :meth:`Executor.stop`; or ``lost`` when it cannot tell.

Inputs and outputs are addressed by URI through the job file store (``ExecutionRequest``), so an
execution does not need the server's filesystem. A third party adds an executor with an entry
point in the ``jupyter_dataops.executors`` group and ``c.DataOps.job_executor_class = "name"``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from traitlets.config import LoggingConfigurable

from ..errors import InvalidInput
from .models import ExecutorCapabilities, JobError, JobProfile

if TYPE_CHECKING:
    from ..files import FileStore
    from ..sandboxes.models import Policy, Profile, Resources
    from .repository import JobRecord

StopReason = Literal["cancel", "timeout", "shutdown"]
Outcome = Literal["succeeded", "failed", "stopped", "lost"]


@dataclasses.dataclass(frozen=True)
class ExecutionRequest:
    """One attempt of a job, as an executor needs it."""

    execution_id: str  #: ``<job id>-<attempt>``
    job_id: str
    attempt: int
    notebook_path: str  #: relative to root_dir, for messages and the working directory
    root_dir: str
    kernel_name: str
    parameters: dict[str, Any]
    input_uri: str  #: the staged notebook
    output_uri: str  #: where the executed notebook goes
    log_uri: str  #: where the job's log goes
    cells_total: int
    #: Extra environment for the job's kernel (its identity for %dataops, see core.identity).
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    #: The job's folder in the file store and its files' keys there (input, output, html, log,
    #: and profile: the profile it is sized by, see :meth:`Executor.profile_of`), for executors
    #: that reach the store other than by the URIs above.
    files_key: str = ""
    keys: dict[str, str] = dataclasses.field(default_factory=dict)
    user: str = ""  #: who owns the job (a cluster executor's namespace may depend on it)
    timeout_seconds: float | None = None  #: the job's time limit (the runner enforces it)


@dataclasses.dataclass(frozen=True)
class ExecutionUpdate:
    execution_id: str
    kind: Literal["pending", "running", "progress", "exited"]
    reason: str | None = None  #: pending: why it waits
    cells_completed: int | None = None  #: progress
    current_cell: int | None = None  #: progress
    outcome: Outcome | None = None  #: exited
    error: JobError | None = None  #: exited with "failed" (or "lost")
    #: exited: what its kernel used (``core.sandboxes.models.Usage`` fields), when measured
    usage: dict[str, float] | None = None


Report = Callable[[ExecutionUpdate], None]


def execution_id(job_id: str, attempt: int) -> str:
    return f"{job_id}-{attempt}"


class Executor(LoggingConfigurable):
    """Base class of executors. Construction must be cheap (the server and the CLI make one to ask
    for capabilities and logs); :meth:`open` starts whatever runs executions, in the worker."""

    #: Short name stored with each job (``c.DataOps.job_executor_class`` can name it).
    name: ClassVar[str] = "base"

    def __init__(self, *, dataops: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: The shared settings (``core.config.DataOps``).
        self.dataops = dataops

    def capabilities(self) -> ExecutorCapabilities:
        return ExecutorCapabilities(name=self.name)

    def check(self, *, kernel_name: str, notebook_path: str) -> None:
        """Refuse a job this executor cannot run (InvalidInput, or BackendUnavailable when it
        cannot be reached). Called at submit, before anything is stored."""

    def check_sandbox(self, *, sandbox: str | None, profile: str | None) -> None:
        """Refuse a job that runs in a sandbox (``sandbox``, or a new one of ``profile``) when
        this executor cannot run it there. Called at submit (and when a schedule is saved and
        fires), before a profile's sandbox is started.

        A sandbox's kernel is started through its kernel spec on this server, so by default an
        executor whose executions run elsewhere (``detached``: pods on a cluster, each with the
        kernels of its own image) cannot use one; override to say otherwise. A ``profile`` is
        fine on one that sizes executions by profile itself (:attr:`sizes_by_profile`)."""
        if profile and not sandbox and self.sizes_by_profile:
            return
        if self.detached:
            where = f"sandbox {sandbox}" if sandbox else f"a sandbox of profile {profile!r}"
            raise InvalidInput(
                f"Jobs on {self.name} run with the kernels of their own executions, not in "
                f"{where}: a sandbox's kernel is started by this server.",
                hint=f"Run it on {self.name} with a kernel (no sandbox or profile), or in the "
                "sandbox on an executor that runs jobs on this server.",
                executor=self.name,
            )

    #: Whether this executor sizes and places executions by a sandbox profile itself (a pod on a
    #: cluster with the profile's CPUs, memory, GPUs, image and node placement) instead of
    #: running them in a sandbox started for the job. A job with a ``profile`` then starts no
    #: sandbox: the server checks the profile against the policy when the job is queued
    #: (:meth:`profile_policy`, :meth:`check_profile`) and stages what it resolved to with the
    #: job, which each execution reads (:meth:`profile_of`).
    sizes_by_profile: ClassVar[bool] = False

    def profile_policy(self) -> Policy:
        """The sandbox policy as it bounds executions sized by a profile here (its open ranges
        closed by the largest execution this executor can place). Asked at submit, only of an
        executor that :attr:`sizes_by_profile`."""
        raise NotImplementedError

    def check_profile(self, profile: Profile, resources: Resources) -> None:
        """Refuse (InvalidInput, naming the fix) a profile this executor cannot size an
        execution by, e.g. a GPU type its cluster does not offer. Called at submit, after the
        policy's checks, with what the policy allowed of the profile (``resources``)."""

    def profile_of(self, request: ExecutionRequest, files: FileStore) -> JobProfile | None:
        """The profile an execution is sized by (staged with its job at submit, under
        ``request.keys["profile"]`` in ``files``), or None for a job queued without one."""
        key = request.keys.get("profile")
        if not key:
            return None
        try:
            data = files.read_bytes(key)
        except FileNotFoundError:
            return None
        return JobProfile.model_validate_json(data)

    # -- in the worker ------------------------------------------------------------------------
    def open(self, report: Report) -> None:
        """Get ready to run executions; ``report`` may be called from any thread."""
        raise NotImplementedError

    def start(self, request: ExecutionRequest) -> None:
        """Start an execution and return at once; report what happens to it."""
        raise NotImplementedError

    def stop(self, execution_id: str, reason: StopReason) -> None:
        """Stop an execution; it then reports ``exited`` (usually with ``stopped``)."""
        raise NotImplementedError

    #: Whether executions outlive the worker (pods on a cluster): a worker that shuts down then
    #: leaves them running, and the next worker's :meth:`recover` re-attaches to them.
    detached: ClassVar[bool] = False

    def recover(self, execution_ids: set[str]) -> set[str]:
        """After the worker restarted: which of these executions still run and are watched again.
        Those not returned are failed (or retried) as lost. A local executor recovers none."""
        return set()

    def ended(self, request: ExecutionRequest) -> ExecutionUpdate | None:
        """After the worker restarted, for an execution :meth:`recover` did not find: how it
        ended while no worker watched, if the executor can still tell (its result in the file
        store), else None (the job is then failed or retried as lost)."""
        return None

    def close(self) -> None:
        """Stop every execution and release what :meth:`open` started."""

    # -- anywhere -----------------------------------------------------------------------------
    def read_log(self, job: JobRecord, files: FileStore, offset: int = 0) -> tuple[str, int]:
        """The job's log from byte ``offset``: ``(text, next offset)``."""
        key = f"{job.files_key}/job.log"
        try:
            data = files.read_bytes(key, offset, 4 * 1024 * 1024)
        except FileNotFoundError:
            return "", offset
        # Never split a UTF-8 character between two chunks.
        cut = len(data)
        if cut == 4 * 1024 * 1024:
            while cut > 0 and (data[cut - 1] & 0xC0) == 0x80:
                cut -= 1
            if cut and data[cut - 1] >= 0xC0:
                cut -= 1
        return data[:cut].decode("utf-8", errors="replace"), offset + cut
