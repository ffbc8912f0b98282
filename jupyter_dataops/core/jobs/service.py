"""Jobs: what the REST handlers, the ``%dataops`` magic and the ``dataops`` CLI call.

Adapters parse input into a request model, call one method here and render the result. Nothing in
this module knows about HTTP, IPython, kernels or the browser; jobs are *run* by the worker
(:class:`~.runner.JobRunner` driving an :class:`~.executor.Executor`), which a
:class:`Dispatcher` wakes up when there is work.

>>> jobs = JobService(context, executor=executor, dispatcher=dispatcher)   # doctest: +SKIP
>>> job = jobs.create(JobCreate(notebook_path="train.ipynb", parameters={"alpha": 0.5}))
>>> jobs.wait(job.id).status                                                # doctest: +SKIP
<JobStatus.COMPLETED: 'completed'>
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import functools
import json
import logging
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import (
    BackendUnavailable,
    Conflict,
    InvalidInput,
    NotFound,
    PolicyViolation,
    QueueFull,
)
from ..files import FileStore
from ..notebooks import read_notebook
from ..paths import relative_to_root, resolve_inside, resolve_notebook
from ..sandboxes import policy as rules
from ..sandboxes.models import Profile, QuotaLimits, SandboxCreate, Usage
from ..store import Change
from .models import (
    TERMINAL_STATUSES,
    ExecutorCapabilities,
    Job,
    JobCreate,
    JobError,
    JobErrorSummary,
    JobLogs,
    JobPage,
    JobProfile,
    JobProgress,
    JobQuery,
    JobRerun,
    JobStatus,
    JobSummary,
    NotebookParameters,
)
from .params import check_kernel_language, check_parameters, inspect_notebook

if TYPE_CHECKING:
    from ..context import Context
    from ..store import UnitOfWork
    from .executor import Executor
    from .repository import JobRecord

log = logging.getLogger("jupyter_dataops")

_SAFE_STEM = re.compile(r"[^A-Za-z0-9_.-]+")
#: Every job's log, next to its other files.
LOG_NAME = "job.log"
INPUT_NAME = "input.ipynb"
#: The profile a job is sized by, on an executor that sizes executions by profile (JobProfile).
PROFILE_NAME = "profile.json"


@dataclasses.dataclass
class PreparedJob:
    """A checked job request whose notebook is staged, not stored yet (see JobService.prepare)."""

    files: FileStore
    fields: dict[str, Any]
    #: The profile it is sized by, staged with it (see JobService.sized_by), if any.
    profile: str | None = None

    @property
    def id(self) -> str:
        return str(self.fields["id"])

    def discard(self) -> None:
        """Remove the staged files (the job was not stored after all)."""
        self.files.delete_tree(self.fields["files_key"])


@dataclasses.dataclass
class PrepareCache:
    """What preparing many jobs at once (a scheduler's burst) may share: the installed kernels,
    and each notebook as read, keyed by its file's identity, size and change times, so a
    notebook changed in between is read again. Live for one burst only."""

    kernels: dict[str, Any] | None = None
    #: Per root: its file store, and the jobs folder's key in it.
    roots: dict[str, tuple[FileStore, str]] = dataclasses.field(default_factory=dict)
    #: Per (root, notebook path as given): the notebook's resolved path.
    paths: dict[tuple[str, str], Path] = dataclasses.field(default_factory=dict)
    notebooks: dict[tuple[Any, ...], tuple[dict[str, Any], Any, bytes]] = dataclasses.field(
        default_factory=dict
    )
    #: Per root: the snapshot the burst's runs run on (lineage; c.DataOps.snapshot_jobs).
    snapshots: dict[str, str | None] = dataclasses.field(default_factory=dict)


class SandboxTargets(Protocol):
    """What jobs need from sandboxes (``core.sandboxes.service.SandboxService``)."""

    def check_target(self, sandbox_id: str | None, profile: str | None) -> None:
        """Raise unless they name a sandbox or a profile that can start here."""

    def for_job(
        self, sandbox_id: str | None, profile: str | None, actor: str | None
    ) -> tuple[str, Callable[[str | None], None]]:
        """The kernel name, and ``bind(job_id)`` for a sandbox started for the job."""

    def profile_of_job(self, job_id: str) -> str | None:
        """The profile of the sandbox started for that job, if one was."""

    def profile(self, name: str) -> Profile:
        """The profile of that name, or NotFound naming those there are."""


class Dispatcher(Protocol):
    """Gets queued jobs run: the local implementation is the worker supervisor."""

    def wake(self) -> None:
        """Make sure a worker runs and tell it there is work (BackendUnavailable if it cannot)."""

    def check(self) -> bool:
        """Start a worker if none runs; whether one had to be started. Cheap when one runs."""

    def status(self) -> dict[str, Any]: ...

    def stop(self) -> dict[str, Any]: ...


#: kernel name -> the language it speaks (None when unknown)
KernelCatalog = Callable[[], dict[str, str | None]]


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


def _unbound(job_id: str | None) -> None:
    """A run with a named kernel has no sandbox to tie to it."""


def job_files(job: JobRecord) -> dict[str, str]:
    """The keys of a job's files in its file store."""
    stem = Path(job.output_name).stem
    return {
        "input": f"{job.files_key}/{INPUT_NAME}",
        "output": f"{job.files_key}/{job.output_name}",
        "html": f"{job.files_key}/{stem}.html",
        "log": f"{job.files_key}/{LOG_NAME}",
        "profile": f"{job.files_key}/{PROFILE_NAME}",
    }


def summary_error(error: dict[str, Any] | None) -> JobErrorSummary | None:
    if not error:
        return None
    evalue = str(error.get("evalue") or "")
    return JobErrorSummary(
        cell_index=error.get("cell_index"),
        ename=str(error.get("ename") or "Error"),
        evalue=evalue if len(evalue) <= 300 else evalue[:299] + "…",
    )


def _common(row: JobRecord) -> dict[str, Any]:
    """The fields a summary and a full job share, from a stored job."""
    return {
        "id": row.id,
        "name": row.name,
        "notebook_path": row.notebook_path,
        "status": JobStatus(row.status),
        "kernel_name": row.kernel_name,
        "executor": row.executor,
        "owner": row.owner,
        "created_at": row.created_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "updated_at": row.updated_at,
        "progress": JobProgress(
            cells_completed=row.cells_completed,
            cells_total=row.cells_total,
            current_cell=row.current_cell,
        ),
        "attempt": row.attempt,
        "max_retries": row.max_retries,
        "cancel_requested": bool(row.cancel_requested),
        "pending_reason": row.pending_reason,
        "tags": list(row.tags or []),
        "rerun_of": row.rerun_of,
        "schedule_id": row.schedule_id,
        "schedule_version": row.schedule_version,
        "due_at": row.due_at,
        "snapshot_id": row.snapshot_id,
    }


def to_summary(row: JobRecord) -> JobSummary:
    return JobSummary(
        **_common(row),
        error=summary_error(row.error),
        warning_count=len(row.warnings or []),
    )


def follow_job(
    get: Callable[[], Job],
    *,
    on_update: Callable[[Job], None] | None = None,
    interval: float = 0.1,
    timeout: float | None = None,
    every: tuple[float, Callable[[], None]] | None = None,
    clock: Any = None,
) -> Job:
    """Look at a job every ``interval`` seconds until it ends (or ``timeout`` passes); the job as
    last seen. ``on_update`` sees each change once; ``every = (seconds, fn)`` calls ``fn`` that
    often meanwhile (e.g. to check that a worker runs). Used on the store and over HTTP alike."""
    clock = clock or time
    now = clock.monotonic()
    deadline = None if timeout is None else now + timeout
    next_call = None if every is None else now + every[0]
    last: Any = None
    while True:
        job = get()
        key = (job.status, job.progress, job.attempt, job.pending_reason, job.updated_at)
        if key != last:
            last = key
            if on_update:
                on_update(job)
        if job.status in TERMINAL_STATUSES:
            return job
        now = clock.monotonic()
        if deadline is not None and now > deadline:
            return job
        if every is not None and next_call is not None and now >= next_call:
            every[1]()
            next_call = now + every[0]
        time.sleep(interval)


class JobService:
    """Jobs behind one API: create, re-run, inspect, list, cancel, delete, follow."""

    #: Seconds a count of a large list is reused while jobs keep changing (then marked estimate).
    count_refresh_seconds = 1.0
    #: Counts of fewer jobs than this are made again at every change (see ``list``).
    count_exact_below = 10_000

    def __init__(
        self,
        ctx: Context,
        *,
        executor: Executor,
        dispatcher: Dispatcher,
        kernels: KernelCatalog,
        others: Sequence[Executor] = (),
    ) -> None:
        self.ctx = ctx
        #: The default executor; ``others`` are those a job may name (``JobCreate.executor``,
        #: ``c.DataOps.job_executors``): "run this job on the cluster".
        self.executor = executor
        self.executors: dict[str, Executor] = {executor.name: executor}
        for other in others:
            self.executors.setdefault(other.name, other)
        self.dispatcher = dispatcher
        self._kernels = kernels
        #: Called with a job's id before it is queued; returns the id of the snapshot it runs on.
        #: Called with what is run ("job <id>", "schedule <id>"), the actor and the root.
        self.before_run: Callable[[str, str | None, str | None], str | None] | None = None
        #: ``(sandbox id, profile, actor) -> (kernel name, bind)``: the kernel of the sandbox a
        #: job runs in; ``bind(job_id)`` ties a sandbox started for it to the job (``None``:
        #: the job was not queued, stop it). Set by the composition root.
        #: Where jobs may run besides a named kernel (the sandbox service); set by the
        #: composition root, None where sandboxes are not available.
        self.sandboxes: SandboxTargets | None = None
        self._counts_lock = threading.Lock()
        self._counts: dict[Any, tuple[int, float, Any]] = {}

    @property
    def config(self) -> Any:
        return self.ctx.config

    @property
    def root(self) -> Path:
        return self.ctx.root

    def files(self, job: JobRecord) -> FileStore:
        return self.ctx.files(job.root_dir)

    # -- notebooks ----------------------------------------------------------------------------
    def inspect_notebook(self, path: str) -> NotebookParameters:
        """The parameters cell of a notebook: names, inferred types, defaults and help."""
        real = resolve_notebook(self.root, path)
        nb = read_notebook(real, max_bytes=self.config.max_notebook_bytes)
        return inspect_notebook(nb, relative_to_root(self.root, real))

    # -- creating jobs ------------------------------------------------------------------------
    def create(self, request: JobCreate, *, actor: str | None = None) -> Job:
        """Validate, stage the notebook and queue a job. Bad input raises and stores nothing.
        With ``sandbox`` it runs with that sandbox's kernel; with ``profile`` in a sandbox
        started for it (after the other checks), which stops when the job ends, or, on an
        executor that sizes executions by profile (a cluster's), sized like the profile (see
        :meth:`sized_by`: no sandbox starts)."""
        real = resolve_notebook(self.root, request.notebook_path)
        if not (request.sandbox or request.profile):
            return self._create(request, real, request.kernel_name, actor)
        self.check_target(
            request.kernel_name,
            request.sandbox,
            request.profile,
            executor=request.executor,
        )
        sizing = self.sized_by(request.profile, actor or self.ctx.actor, executor=request.executor)
        if sizing is not None:
            return self._queue(
                **self._fields(request, real, None), sizing=sizing, actor=actor, rerun_of=None
            )
        # Every other check first: a profile's sandbox starts only for a good job.
        self.prepare(**self._fields(request, real, None)).discard()
        kernel_name, bind = self.target_kernel(
            request.kernel_name,
            request.sandbox,
            request.profile,
            actor or self.ctx.actor,
            executor=request.executor,
        )
        try:
            job = self._create(request, real, kernel_name, actor)
        except BaseException:
            bind(None)
            raise
        bind(job.id)
        return job

    def check_target(
        self,
        kernel_name: str | None,
        sandbox: str | None,
        profile: str | None,
        *,
        executor: str | None = None,
    ) -> None:
        """A job runs with one kernel: named, a sandbox's, or a profile's sandbox's; on an
        executor this server has (``executor``; None: the default), which must be able to run
        it in a sandbox when it names one (:meth:`Executor.check_sandbox`).

        On an executor that sizes executions by profile, a ``profile`` sizes the run instead of
        starting a sandbox: :meth:`sized_by` checks it, and the caller hands it on to
        :meth:`prepare` (:meth:`run_target` does both)."""
        runs_on = self.executor_for(executor)
        if sum(bool(x) for x in (kernel_name, sandbox, profile)) > 1:
            raise InvalidInput(
                "A job runs in one kernel: give kernel_name, sandbox or profile, not several.",
                hint="Drop all but one of them.",
            )
        if not (sandbox or profile):
            return
        runs_on.check_sandbox(sandbox=sandbox, profile=profile)
        if profile and runs_on.sizes_by_profile:
            return  # sizes the run: checked with the policy by sized_by
        if self.sandboxes is None:
            raise BackendUnavailable(
                "Sandboxes are not available to this process.",
                hint="Run it through the Jupyter server, or name a kernel.",
            )
        self.sandboxes.check_target(sandbox, profile)

    def target_kernel(
        self,
        kernel_name: str | None,
        sandbox: str | None,
        profile: str | None,
        actor: str | None,
        *,
        executor: str | None = None,
    ) -> tuple[str | None, Callable[[str | None], None]]:
        """The kernel name a run of this target uses on ``executor`` (checked first: nothing
        starts for a run it refuses), and ``bind(job_id)`` to call once it is queued (``None``:
        it was not; a sandbox started for it then stops)."""
        self.check_target(kernel_name, sandbox, profile, executor=executor)
        if not (sandbox or profile):
            return kernel_name, _unbound
        assert self.sandboxes is not None
        return self.sandboxes.for_job(sandbox, profile, actor)

    def run_target(
        self,
        kernel_name: str | None,
        sandbox: str | None,
        profile: str | None,
        actor: str | None,
        *,
        executor: str | None = None,
    ) -> tuple[str | None, Callable[[str | None], None], JobProfile | None]:
        """As :meth:`target_kernel`, for a run that hands the profile on (a schedule's): on an
        executor that sizes executions by profile, the profile it is sized by (checked with the
        policy, see :meth:`sized_by`) and no sandbox; else that of :meth:`target_kernel` and
        None. Pass the third to :meth:`prepare` (``sizing``)."""
        self.check_target(kernel_name, sandbox, profile, executor=executor)
        sizing = self.sized_by(profile, actor, executor=executor)
        if sizing is not None:
            return kernel_name, _unbound, sizing
        kernel, bind = self.target_kernel(kernel_name, sandbox, profile, actor, executor=executor)
        return kernel, bind, None

    def sized_by(
        self, profile: str | None, actor: str | None, *, executor: str | None = None
    ) -> JobProfile | None:
        """On an executor that sizes executions by profile (:attr:`Executor.sizes_by_profile`),
        the profile a run there is sized by: checked as a start of a sandbox of it is, with the
        same messages (an unknown profile names those there are; what breaks the policy, by
        how much), then by the executor (:meth:`Executor.check_profile`). None when there is
        no profile or the executor does not size by one (a profile then means a sandbox
        started for the run: :meth:`target_kernel`). Nothing is started or stored.

        Of the quotas, only GPUs at once apply, to the run's own GPUs (a run that could never
        fit is refused): the run is queued, not held, so the sandboxes the user holds now are
        not counted, and the number of sandboxes and GPU-hours per day are a sandbox's. A
        cluster enforces GPUs at once itself (its namespace's ResourceQuota: the run waits)."""
        runs_on = self.executor_for(executor)
        if not profile or not runs_on.sizes_by_profile:
            return None
        if self.sandboxes is None:
            raise BackendUnavailable(
                "Sandbox profiles are not available to this process.",
                hint="Run it through the Jupyter server, or name a kernel.",
            )
        found = self.sandboxes.profile(profile)
        policy = runs_on.profile_policy()
        ask = SandboxCreate(profile=found.name)
        res = rules.checked(ask, found, policy).resources
        gpus_only = policy.model_copy(
            update={
                "user_quota": QuotaLimits(gpus=policy.user_quota.gpus),
                "team_quotas": {
                    team: QuotaLimits(gpus=limits.gpus)
                    for team, limits in policy.team_quotas.items()
                },
            }
        )
        problems = rules.quota_problems(gpus_only, actor, policy.team_of(actor), [], res.gpus)
        if problems:
            raise PolicyViolation(
                f"The sandbox would exceed a quota: {'; '.join(problems)}.",
                hint="Pick a profile with fewer GPUs, or ask an operator.",
                problems=problems,
            )
        runs_on.check_profile(found, res)
        sandbox_only = {
            "environment": found.environment,
            "packages": found.packages,
            "tools": found.tools,
            "data": found.data,
            "env": found.env,
            "secrets": found.secrets,
        }
        return JobProfile(
            name=found.name,
            resources=res,
            image=found.image,
            node_selector=dict(found.node_selector),
            tolerations=[dict(t) for t in found.tolerations],
            affinity=dict(found.affinity),
            ignored=[name for name, value in sandbox_only.items() if value],
        )

    def profile_of(self, job: str | JobRecord) -> JobProfile | None:
        """The profile a job's executions are sized by (a job queued with one on an executor
        that sizes by profile), as it was checked then; None for any other job."""
        row = self.record(job) if isinstance(job, str) else job
        try:
            data = self.files(row).read_bytes(job_files(row)["profile"])
        except FileNotFoundError:
            return None
        return JobProfile.model_validate_json(data)

    def _create(
        self, request: JobCreate, real: Path, kernel_name: str | None, actor: str | None
    ) -> Job:
        return self._queue(**self._fields(request, real, kernel_name), actor=actor, rerun_of=None)

    def executor_for(self, name: str | None) -> Executor:
        """The executor of that name (None: the default), or InvalidInput naming those there
        are."""
        if not name:
            return self.executor
        found = self.executors.get(name)
        if found is None:
            raise InvalidInput(
                f"Unknown executor {name!r}; jobs here run on: {', '.join(self.executors)}.",
                hint="Choose one of those; an operator adds one with c.DataOps.job_executors.",
                executor=name,
            )
        return found

    def _fields(self, request: JobCreate, real: Path, kernel_name: str | None) -> dict[str, Any]:
        """What preparing ``request`` takes, with the notebook at ``real``."""
        return {
            "executor": request.executor,
            "source": real,
            "root": self.root,
            "display_path": relative_to_root(self.root, real),
            "parameters": request.parameters,
            "kernel_name": kernel_name,
            "name": request.name,
            "timeout_seconds": request.timeout_seconds,
            "max_retries": (
                request.max_retries
                if request.max_retries is not None
                else self.config.default_max_retries
            ),
            "tags": request.tags,
        }

    def rerun(self, job_id: str, request: JobRerun, *, actor: str | None = None) -> Job:
        """Run a job again: the notebook it staged (or the current one), with its parameters
        updated by ``request.parameters``, in the job's own root directory."""
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            row = uow.jobs.get(job_id)
        copy: str | None = None  # a local copy of a notebook staged in object storage
        if request.use_current_notebook:
            source = resolve_notebook(row.root_dir, row.notebook_path)
        else:
            files, key = self.files(row), job_files(row)["input"]
            found = files.local_path(key)
            if found is None:
                with contextlib.suppress(FileNotFoundError):
                    data = files.read_bytes(key)
                    copy = tempfile.mkdtemp(prefix="dataops-rerun-")
                    found = Path(copy, INPUT_NAME)
                    found.write_bytes(data)
            source = found or Path()
            if not source.is_file():
                raise NotFound(
                    f"The staged notebook of job {row.id} is gone.",
                    hint="Run the notebook as a new job instead (or re-run with the current "
                    "notebook).",
                )
        try:
            return self._rerun(row, source, request, actor)
        finally:
            if copy is not None:
                shutil.rmtree(copy, ignore_errors=True)

    def _rerun(self, row: JobRecord, source: Path, request: JobRerun, actor: str | None) -> Job:
        parameters = dict(row.parameters or {})
        parameters.update(request.parameters or {})
        profile = None
        if not request.kernel_name:
            sized = self.profile_of(row)
            if sized is not None:
                profile = sized.name
            elif self.sandboxes is not None:
                profile = self.sandboxes.profile_of_job(row.id)
        executor = row.executor if row.executor in self.executors else None
        kernel_name: str | None
        bind: Callable[[str | None], None]
        sizing: JobProfile | None = None
        if profile:  # sized by it again (checked again), or in a new sandbox of it
            kernel_name, bind, sizing = self.run_target(
                None, None, profile, actor or self.ctx.actor, executor=executor
            )
            if sizing is not None:
                kernel_name = row.kernel_name
        else:
            kernel_name, bind = request.kernel_name or row.kernel_name, _unbound
        try:
            job = self._queue(
                source=source,
                root=Path(row.root_dir),
                display_path=row.notebook_path,
                parameters=parameters,
                kernel_name=kernel_name,
                name=row.name,
                timeout_seconds=row.timeout_seconds,
                max_retries=row.max_retries,
                tags=list(row.tags or []),
                executor=executor,
                sizing=sizing,
                actor=actor,
                rerun_of=row.id,
            )
        except BaseException:
            bind(None)
            raise
        bind(job.id)
        return job

    def _queue(self, *, actor: str | None, rerun_of: str | None, **request: Any) -> Job:
        actor = actor or self.ctx.actor
        prepared = self.prepare(**request)
        try:
            # Lineage: the snapshot of the project it runs on (c.DataOps.snapshot_jobs).
            snapshot_id = (
                self.before_run(f"job {prepared.id}", actor, None) if self.before_run else None
            )
            extra = {"snapshot_id": snapshot_id} if snapshot_id else {}
            with self.ctx.store.unit_of_work() as uow:
                self.insert(uow, prepared, actor=actor, rerun_of=rerun_of, **extra)
                uow.commit()
        except BaseException:
            prepared.discard()
            raise
        try:
            self.dispatcher.wake()
        except BaseException:
            # No worker can run it: take the job back so the error changes nothing.
            with self.ctx.store.unit_of_work() as uow:
                removed = uow.jobs.delete(prepared.id, only_status=[JobStatus.QUEUED])
                uow.commit()
            if removed:
                prepared.discard()
            raise
        return self.get(prepared.id)

    def prepare(
        self,
        *,
        source: Path,
        root: Path,
        display_path: str,
        parameters: dict[str, Any],
        kernel_name: str | None,
        name: str | None,
        timeout_seconds: float | None,
        max_retries: int,
        tags: list[str],
        cache: PrepareCache | None = None,
        executor: str | None = None,
        sizing: JobProfile | None = None,
    ) -> PreparedJob:
        """Check a job request and stage its notebook, storing nothing yet: bad input raises.
        Then :meth:`insert` it in a unit of work, or ``discard()`` it. ``executor`` names where
        it runs (None: the default executor); ``sizing`` is the profile it is sized by there
        (:meth:`sized_by`), staged with it."""
        runs_on = self.executor_for(executor)
        if sizing is not None and not runs_on.sizes_by_profile:
            raise InvalidInput(
                f"Jobs on {runs_on.name} are not sized by a profile.",
                hint="Run it in a sandbox of the profile instead.",
                executor=runs_on.name,
            )
        nb, spec, staged = self._read(source, display_path, cache)
        values, warnings = check_parameters(
            spec, parameters, max_value_bytes=self.config.max_parameter_bytes
        )
        kernel = self.check_kernel(
            kernel_name or spec.kernel_name or self.config.default_kernel_name,
            nb,
            display_path,
            cache=cache,
            executor=runs_on,
        )
        job_id = new_job_id()
        stem = _SAFE_STEM.sub("_", Path(display_path).stem)[:60] or "notebook"
        place = cache.roots.get(str(root)) if cache is not None else None
        if place is None:
            jobs_dir = resolve_inside(root, self.config.jobs_dir)
            place = (self.ctx.files(str(root)), relative_to_root(root, jobs_dir))
            if cache is not None:
                cache.roots[str(root)] = place
        files, jobs_key = place
        files_key = f"{jobs_key}/{stem}-{job_id}"
        files.write_bytes(f"{files_key}/{INPUT_NAME}", staged)
        if sizing is not None:
            files.write_bytes(f"{files_key}/{PROFILE_NAME}", sizing.model_dump_json().encode())
        return PreparedJob(
            files=files,
            profile=sizing.name if sizing is not None else None,
            fields={
                "id": job_id,
                "name": name or Path(display_path).stem,
                "notebook_path": display_path,
                "root_dir": str(root),
                "files_key": files_key,
                "output_name": f"{stem}.ipynb",
                "status": JobStatus.QUEUED.value,
                "parameters": values,
                "kernel_name": kernel,
                "executor": runs_on.name,
                "cells_completed": 0,
                # papermill adds one code cell with the injected parameters
                "cells_total": spec.cell_count + (1 if values else 0),
                "attempt": 1,
                "max_retries": max_retries,
                "timeout_seconds": timeout_seconds or (self.config.default_timeout_seconds or None),
                "cancel_requested": False,
                "warnings": warnings,
                "tags": tags,
            },
        )

    def _read(
        self, source: Path, display_path: str, cache: PrepareCache | None
    ) -> tuple[dict[str, Any], Any, bytes]:
        """The notebook read and normalised, its parameters cell, and the bytes to stage."""
        key: tuple[Any, ...] | None = None
        if cache is not None:
            try:
                st = source.stat()
            except OSError:
                pass  # read_notebook says what is wrong
            else:
                key = (
                    str(source),
                    st.st_dev,
                    st.st_ino,
                    st.st_size,
                    st.st_mtime_ns,
                    st.st_ctime_ns,
                )
                hit = cache.notebooks.get(key)
                if hit is not None:
                    return hit
        nb = read_notebook(source, max_bytes=self.config.max_notebook_bytes)
        spec = inspect_notebook(nb, display_path)
        # The notebook as read (nbformat 4, normalised), so the job runs exactly what was
        # checked whatever tool wrote it.
        read = (nb, spec, json.dumps(nb).encode("utf-8"))
        if cache is not None and key is not None:
            cache.notebooks[key] = read
        return read

    def check_kernel(
        self,
        kernel: str,
        nb: dict[str, Any],
        display_path: str,
        *,
        cache: PrepareCache | None = None,
        executor: Executor | None = None,
    ) -> str:
        """The kernel a job will run with, if this server has it, it speaks the notebook's
        language and the executor can run it; else InvalidInput naming the fix."""
        if cache is None:
            kernels = self._kernels()
        else:
            if cache.kernels is None:
                cache.kernels = self._kernels()
            kernels = cache.kernels
        if kernel not in kernels:
            raise InvalidInput(
                f"Unknown kernel {kernel!r}; available: {', '.join(sorted(kernels)) or 'none'}.",
                hint="Choose one of those, or install the kernel "
                f"(python -m ipykernel install --user --name {kernel}).",
                kernel_name=kernel,
            )
        check_kernel_language(nb, kernel, kernels[kernel], display_path=display_path)
        (executor or self.executor).check(kernel_name=kernel, notebook_path=display_path)
        return kernel

    def insert(
        self,
        uow: UnitOfWork,
        prepared: PreparedJob,
        *,
        actor: str | None,
        rerun_of: str | None = None,
        **extra: Any,
    ) -> None:
        """Queue a prepared job in ``uow`` (with what else that unit of work writes, e.g. the
        firing of a schedule), within the queue's bound: QueueFull when it is reached."""
        # Serialise submits from here to the commit, so the queue bound holds however many
        # clients submit at once (the count and the insert are one transaction).
        uow.lock_writes()
        queued = uow.jobs.count([JobStatus.QUEUED])
        if queued >= self.config.max_queued_jobs:
            raise self.queue_full(queued)
        row, entry = self._row(prepared, actor, rerun_of, extra)
        uow.jobs.insert(**row)
        uow.audit.add(*entry[:4], **entry[4])

    def insert_many(
        self, uow: UnitOfWork, items: builtins.list[tuple[PreparedJob, str | None, dict[str, Any]]]
    ) -> builtins.list[bool]:
        """Queue prepared jobs, each (prepared, actor, extra fields), in ``uow`` at once and in
        order, within the queue's bound: True for each queued, False for each refused because
        the bound was reached (:meth:`queue_full` says why). For a scheduler's burst: one count
        and one statement per table for all of them."""
        uow.lock_writes()
        queued = uow.jobs.count([JobStatus.QUEUED])
        rows, entries, accepted = [], [], []
        for prepared, actor, extra in items:
            if queued >= self.config.max_queued_jobs:
                accepted.append(False)
                continue
            queued += 1
            row, entry = self._row(prepared, actor, None, extra)
            rows.append(row)
            entries.append(entry)
            accepted.append(True)
        uow.jobs.insert_many(rows)
        uow.audit.add_many(entries)
        return accepted

    def queue_full(self, queued: int | None = None) -> QueueFull:
        count = f"{queued} jobs queued; " if queued is not None else ""
        return QueueFull(
            f"The job queue is full ({count}the bound is {self.config.max_queued_jobs}).",
            hint="Wait for queued jobs to finish, cancel some, or raise c.DataOps.max_queued_jobs.",
        )

    def _row(
        self,
        prepared: PreparedJob,
        actor: str | None,
        rerun_of: str | None,
        extra: dict[str, Any],
    ) -> tuple[dict[str, Any], tuple[str, str, str, str | None, dict[str, Any]]]:
        """A prepared job's row, and its audit entry."""
        now = self.ctx.clock.time()
        fields = prepared.fields
        row = {
            **fields,
            "rerun_of": rerun_of,
            "owner": actor,
            "created_at": now,
            "updated_at": now,
            **extra,
        }
        detail = {
            "notebook": fields["notebook_path"],
            "parameters": sorted(fields["parameters"]),
            "kernel": fields["kernel_name"],
            "rerun_of": rerun_of,
            **{k: v for k, v in extra.items() if k == "schedule_id"},
            **({"profile": prepared.profile} if prepared.profile else {}),
        }
        return row, ("job.rerun" if rerun_of else "job.create", "job", fields["id"], actor, detail)

    # -- reading ------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            return self.to_job(uow.jobs.get(job_id))

    def record(self, job_id: str) -> JobRecord:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            return uow.jobs.get(job_id)

    def list(self, query: JobQuery | None = None) -> JobPage:
        """A page of jobs, the number that match the filters and the jobs per status.

        The counts are kept per status and per filter at the change sequence number they were
        made at: exact while nothing changes. When jobs change, a count of fewer than
        ``count_exact_below`` jobs is made again (cheap: an index range that small); a larger
        one is reused for up to ``count_refresh_seconds`` and the total is then marked as an
        estimate. The total of no filter or of statuses alone is the sum of those statuses'
        counts, so the table is never counted whole."""
        query = query or JobQuery()
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            seq = uow.changes.latest()
            rows, next_cursor, prev_cursor = uow.jobs.page(query)
            counts: dict[str, int] = {}
            stale_statuses: set[JobStatus] = set()
            for status in JobStatus:
                counts[status.value], stale = self._cached_count(
                    ("status", status.value), seq, functools.partial(uow.jobs.count, [status])
                )
                if stale:
                    stale_statuses.add(status)
            if query.id or query.notebook or query.schedule_id:
                (total, counted_roughly), stale = self._cached_count(
                    (
                        "total",
                        tuple(query.id or ()),
                        frozenset(query.status or ()),
                        query.notebook,
                        query.schedule_id,
                    ),
                    seq,
                    lambda: uow.jobs.total(query),
                )
                estimate = stale or counted_roughly
            else:
                wanted = set(query.status or JobStatus)
                total = sum(counts[s.value] for s in wanted)
                estimate = bool(wanted & stale_statuses)
        return JobPage(
            items=[to_summary(r) for r in rows],
            next_cursor=next_cursor,
            prev_cursor=prev_cursor,
            total=total,
            total_is_estimate=estimate,
            counts=counts,
            seq=seq,
        )

    def _cached_count(self, key: Any, seq: int, compute: Callable[[], Any]) -> tuple[Any, bool]:
        """A count (an int, or a tuple that starts with one) at change ``seq``, and whether it
        is an older one reused: see :meth:`list`. While one thread makes a large count again,
        the others reuse the old one rather than count too."""
        now = self.ctx.clock.monotonic()
        with self._counts_lock:
            cached = self._counts.get(key)
            if cached is not None:
                cached_seq, made_at, value = cached
                if cached_seq == seq:
                    return value, False
                size = value[0] if isinstance(value, tuple) else value
                if size >= self.count_exact_below:
                    if now - made_at < self.count_refresh_seconds:
                        return value, True
                    # This thread counts; the others reuse the old count meanwhile.
                    self._counts[key] = (cached_seq, now, value)
        value = compute()
        with self._counts_lock:
            if len(self._counts) > 256:
                self._counts.clear()
            latest = self._counts.get(key)
            if latest is None or latest[0] <= seq:
                self._counts[key] = (seq, now, value)
        return value, False

    def summaries(self, ids: builtins.list[str]) -> builtins.list[JobSummary]:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            return [to_summary(r) for r in uow.jobs.many(ids)]

    def changes(self, since: int, *, limit: int = 500) -> builtins.list[Change]:
        """What changed in the store after ``since`` (a change sequence number), oldest first."""
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            return uow.changes.since(since, limit=limit)

    def latest_change(self) -> int:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            return uow.changes.latest()

    def capabilities(self) -> ExecutorCapabilities:
        return self.executor.capabilities()

    def all_capabilities(self) -> builtins.list[ExecutorCapabilities]:
        """What each executor a job may name supports, the default first."""
        return [e.capabilities() for e in self.executors.values()]

    # -- acting on jobs -----------------------------------------------------------------------
    def cancel(self, job_id: str, *, actor: str | None = None) -> Job:
        """Cancel a queued job at once, or ask the worker to stop a running one."""
        actor = actor or self.ctx.actor
        with self.ctx.store.unit_of_work() as uow:
            row = uow.jobs.get(job_id)
            status = JobStatus(row.status)
            if status in TERMINAL_STATUSES:
                raise Conflict(
                    f"Job {row.id} has already {status.value}; there is nothing to cancel.",
                    hint="Delete it, or re-run it.",
                )
            cancelled_now = uow.jobs.update(
                row.id,
                from_status=[JobStatus.QUEUED],
                status=JobStatus.CANCELLED,
                cancel_requested=True,
                finished_at=self.ctx.clock.time(),
                pending_reason=None,
                error=JobError(
                    ename="Cancelled", evalue="Cancelled before it started."
                ).model_dump(),
            )
            asked = cancelled_now or uow.jobs.update(
                row.id, from_status=[JobStatus.RUNNING], cancel_requested=True
            )
            if asked:
                uow.audit.add("job.cancel", "job", row.id, actor)
            uow.commit()
        if asked and not cancelled_now:
            self.dispatcher.wake()
        return self.get(row.id)

    def delete(self, job_id: str, *, actor: str | None = None) -> None:
        """Delete a finished job with its files. Active jobs must be cancelled first."""
        actor = actor or self.ctx.actor
        with self.ctx.store.unit_of_work() as uow:
            row = uow.jobs.get(job_id)
            if not uow.jobs.delete(row.id, only_status=list(TERMINAL_STATUSES)):
                raise Conflict(
                    f"Job {row.id} is {row.status}; only finished jobs can be deleted.",
                    hint=f"Cancel it first (dataops jobs cancel {row.id}), then delete it.",
                )
            uow.audit.add("job.delete", "job", row.id, actor, notebook=row.notebook_path)
            uow.commit()
        if row.files_key.rsplit("-", 1)[-1] == row.id:  # only ever remove the folder we made
            self.files(row).delete_tree(row.files_key)

    def logs(self, job_id: str, *, offset: int = 0) -> JobLogs:
        row = self.record(job_id)
        executor = self.executors.get(row.executor, self.executor)
        text, next_offset = executor.read_log(row, self.files(row), offset)
        complete = JobStatus(row.status).is_terminal
        if complete:  # anything written after the row changed is in this or a later chunk
            size = self.files(row).size(job_files(row)["log"]) or 0
            complete = next_offset >= size
        return JobLogs(logs=text, offset=next_offset, complete=complete)

    def output(self, job_id: str) -> tuple[str, bytes]:
        """The executed notebook: its file name and bytes."""
        row = self.record(job_id)
        key = job_files(row)["output"]
        try:
            return row.output_name, self.files(row).read_bytes(key)
        except FileNotFoundError:
            raise NotFound(
                f"Job {row.id} has no executed notebook yet (it is {row.status}).",
                hint="Wait until it starts running.",
            ) from None

    def html(self, job_id: str) -> bytes:
        """The executed notebook as HTML, rendered on first request and kept next to it."""
        row = self.record(job_id)
        keys = job_files(row)
        files = self.files(row)
        source_time = files.mtime(keys["output"])
        if source_time is None:
            raise NotFound(
                f"Job {row.id} has no executed notebook yet (it is {row.status}).",
                hint="Wait until it starts running.",
            )
        html_time = files.mtime(keys["html"])
        if html_time is not None and html_time >= source_time:
            return files.read_bytes(keys["html"])
        import nbformat
        from nbconvert import HTMLExporter

        nb = nbformat.reads(files.read_bytes(keys["output"]).decode("utf-8"), as_version=4)
        body, _ = HTMLExporter().from_notebook_node(nb)
        data = body.encode("utf-8")
        files.write_bytes(keys["html"], data)
        return data

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        interval: float = 0.05,
        on_update: Callable[[Job], None] | None = None,
        supervise_every: float | None = 2.0,
    ) -> Job:
        """Block until the job ends (or ``timeout`` passes); ``on_update`` sees each change once.

        Every ``supervise_every`` seconds it checks that a worker runs, so a worker that died
        mid-job is replaced (which fails or retries its jobs) instead of the wait hanging on a
        ``running`` job forever."""

        def check_worker() -> None:
            try:
                self.dispatcher.check()
            except Exception as exc:  # keep waiting; the next check may succeed
                log.warning("cannot check the job worker: %s", exc)

        return follow_job(
            lambda: self.get(job_id),
            on_update=on_update,
            interval=interval,
            timeout=timeout,
            every=(supervise_every, check_worker) if supervise_every else None,
            clock=self.ctx.clock,
        )

    # -- rendering ----------------------------------------------------------------------------
    def to_job(self, row: JobRecord) -> Job:
        files = self.files(row)
        keys = job_files(row)

        root = Path(row.root_dir).resolve()

        def local(key: str) -> str | None:
            """Where JupyterLab opens the file: only a file inside the job's root directory."""
            path = files.local_path(key)
            if path is None or not path.is_file():
                return None
            real = path.resolve()
            return real.relative_to(root).as_posix() if root in real.parents else None

        return Job(
            **_common(row),
            root_dir=row.root_dir,
            parameters=row.parameters or {},
            timeout_seconds=row.timeout_seconds,
            output_path=local(keys["output"]),
            html_path=local(keys["html"]),
            log_path=local(keys["log"]),
            error=JobError(**row.error) if row.error else None,
            warnings=list(row.warnings or []),
            usage=Usage.model_validate(row.usage) if getattr(row, "usage", None) else None,
        )

    def close(self) -> None:
        for executor in self.executors.values():
            executor.close()


__all__ = ["Dispatcher", "JobService", "follow_job", "job_files", "to_summary"]
