"""Snapshots: what the REST handlers, the magic and the CLI call.

A snapshot records the project at one moment: its data paths through DVC, its code and notebooks
as a git commit under the project's own ref, the environment of a kernel, and profiles of its
tables. It is a row with a state machine (creating -> ready | failed): the row is made ready only
after the commit and its ref exist, and a row whose recording process died is failed, so a crash
never leaves a half snapshot listed. Data is pushed to the DVC remote afterwards, by the worker,
with retries.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, IntegrityError, InvalidInput, NotFound
from ..paths import relative_to_root, resolve_inside
from .models import (
    DataEntry,
    Environment,
    Lineage,
    LineageNode,
    PackageChange,
    PathChange,
    PushStatus,
    RestoreResult,
    Snapshot,
    SnapshotCreate,
    SnapshotDiff,
    SnapshotPage,
    SnapshotQuery,
    SnapshotRestore,
    SnapshotStatus,
    SnapshotSummary,
    TableProfile,
    Variables,
    VariablesSummary,
    VariablesUpload,
    WorkspaceStatus,
)
from .profiles import diff_profiles, profile_table
from .workspace import DataOut, Recorded, Workspace

if TYPE_CHECKING:
    from ..context import Context
    from .repository import SnapshotRecord

log = logging.getLogger("jupyter_dataops")

REF_PREFIX = "refs/dataops/snapshots/"
#: Seconds before each retry of a failed push; after the last one the push is failed.
PUSH_BACKOFF = (30.0, 120.0, 480.0, 1800.0, 7200.0)
#: Tables profiled per snapshot at most (the others are listed as not profiled).
MAX_PROFILED = 200
#: A recording that has not finished after this long on another host is taken as dead.
STALE_SECONDS = 6 * 3600.0

WorkspaceFactory = Callable[[Path, list[str]], Workspace]
EnvironmentReader = Callable[[str], dict[str, Any]]


def new_snapshot_id() -> str:
    return uuid.uuid4().hex[:12]


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder_alive(holder: str | None, updated_at: float, now: float) -> bool:
    if not holder:
        return False
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname():
        return now - updated_at < STALE_SECONDS
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def _data(record: SnapshotRecord) -> list[DataOut]:
    return [DataOut(**entry) for entry in record.data or []]


def to_summary(row: SnapshotRecord) -> SnapshotSummary:
    return SnapshotSummary(**_common(row))


def _common(row: SnapshotRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "message": row.message,
        "status": SnapshotStatus(row.status),
        "author": row.author,
        "created_at": row.created_at,
        "parent_id": row.parent_id,
        "commit": row.commit,
        "size": row.size,
        "nfiles": row.nfiles,
        "changed": bool(row.changed),
        "push_status": PushStatus(row.push_status),
        "kind": row.kind,
        "phase": row.phase,
        "error": row.error,
        "push_error": row.push_error,
    }


class SnapshotService:
    """Take, list, show, diff and restore snapshots; push their data; trace lineage."""

    def __init__(
        self,
        ctx: Context,
        *,
        workspace: WorkspaceFactory,
        environment: EnvironmentReader,
        dispatcher: Any = None,
    ) -> None:
        self.ctx = ctx
        self._workspace = workspace
        self._environment = environment
        self.dispatcher = dispatcher

    @property
    def config(self) -> Any:
        return self.ctx.config

    @property
    def root(self) -> Path:
        return self.ctx.root

    def for_root(self, root: str | Path) -> SnapshotService:
        """The same service for the project at ``root`` (a worker serves several)."""
        return SnapshotService(
            self.ctx.with_root(root),
            workspace=self._workspace,
            environment=self._environment,
            dispatcher=self.dispatcher,
        )

    def workspace(
        self, root: Path | None = None, paths: builtins.list[str] | None = None
    ) -> Workspace:
        return self._workspace(root or self.root, paths or list(self.config.snapshot_data_paths))

    # -- the workspace ------------------------------------------------------------------------

    def status(self) -> WorkspaceStatus:
        workspace = self.workspace()
        info = workspace.info()
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            latest = uow.snapshots.latest(str(self.root))
        changed, matches = None, None
        if info.ready:
            fingerprint, tree = workspace.state()
            changed = latest is None or (latest.fingerprint, latest.tree) != (fingerprint, tree)
            with self.ctx.store.unit_of_work(read_only=True) as uow:
                found = uow.snapshots.matching(str(self.root), fingerprint, tree)
            matches = found.id if found else None
        return WorkspaceStatus(
            root=info.root,
            git_root=info.git_root,
            dvc_root=info.dvc_root,
            remote=info.remote,
            ready=info.ready,
            missing=info.missing(),
            data_paths=list(self.config.snapshot_data_paths),
            latest_id=latest.id if latest else None,
            changed=changed,
            matches_id=matches,
            max_variable_bytes=self.config.snapshot_max_variable_bytes,
        )

    def init(self, *, actor: str | None = None) -> WorkspaceStatus:
        actor = actor or self.ctx.actor
        self.workspace().init()
        with self.ctx.store.unit_of_work() as uow:
            uow.audit.add("snapshot.init", "project", str(self.root), actor)
            uow.commit()
        return self.status()

    def _data_paths(self, paths: builtins.list[str] | None) -> builtins.list[str]:
        if not paths:
            return list(self.config.snapshot_data_paths)
        checked = []
        for path in paths:
            target = resolve_inside(self.root, path)
            rel = relative_to_root(self.root, target)
            if rel in ("", "."):
                raise InvalidInput(
                    "The project root itself cannot be a data path.",
                    hint="Name folders or files inside it, such as data/.",
                )
            checked.append(rel)
        return checked

    # -- taking one ---------------------------------------------------------------------------

    def create(
        self, request: SnapshotCreate, *, kind: str = "manual", actor: str | None = None
    ) -> Snapshot:
        actor = actor or self.ctx.actor
        paths = self._data_paths(request.paths)
        variables = self._variables_payload(request.variables)
        workspace = self.workspace(paths=paths)
        info = workspace.info()
        if not info.ready:
            if not request.init:
                raise InvalidInput(
                    f"{self.root} is not yet a {' and '.join(info.missing())} repository: "
                    "nothing was changed.",
                    hint="Agree to set it up: `dataops snapshot --init` (the sidebar asks; the "
                    "API takes init: true).",
                    code="workspace_not_initialised",
                )
            info = workspace.init()
        self.reap()
        now = self.ctx.clock.time()
        snapshot_id = new_snapshot_id()
        root = str(self.root)
        with self.ctx.store.unit_of_work() as uow:
            latest = uow.snapshots.latest(root)
            uow.snapshots.insert(
                id=snapshot_id,
                root_dir=root,
                message=request.message,
                kind=kind,
                status=SnapshotStatus.CREATING.value,
                author=actor,
                parent_id=latest.id if latest else None,
                data=[],
                tabular={},
                profiles={},
                environment={},
                warnings=[],
                size=0,
                nfiles=0,
                changed=True,
                holder=_holder(),
                push_status=PushStatus.NONE.value,
                push_attempts=0,
                created_at=now,
                updated_at=now,
            )
            uow.commit()
        # The snapshots whose data this one turns out to hold (no hashing; pushed already?).
        sources: builtins.list[SnapshotRecord] = [latest] if latest else []

        def reuse(fingerprint: str) -> Recorded | None:
            with self.ctx.store.unit_of_work(read_only=True) as uow:
                found = uow.snapshots.with_fingerprint(root, fingerprint)
            if found is None:
                return None
            sources.append(found)
            return self._recorded(found)

        try:
            previous = self._recorded(latest) if latest else None
            recorded = workspace.record(
                REF_PREFIX + snapshot_id,
                message=request.message or f"Snapshot {snapshot_id}",
                author=actor or "jupyter-dataops",
                parent=latest.commit if latest else None,
                previous=previous,
                on_phase=lambda phase: self._phase(snapshot_id, phase),
                reuse=reuse,
            )
            self._phase(snapshot_id, "profiling tables")
            profiles = self._profiles(recorded, latest)
            self._phase(snapshot_id, "reading packages")
            kernel = request.kernel_name or self.config.default_kernel_name
            environment = Environment(**self._environment(kernel))
            saved = self._save_variables(snapshot_id, request.variables, variables)
        except BaseException as exc:
            self._fail(snapshot_id, exc)
            raise
        has_remote = bool(info.remote)
        # Data that a pushed snapshot holds already is on the remote.
        pushed = any(
            s.push_status == PushStatus.PUSHED.value and _data(s) == recorded.data for s in sources
        )
        pending = bool(recorded.data) and has_remote and not pushed
        fields = {
            "status": SnapshotStatus.READY.value,
            "commit": recorded.commit,
            "tree": recorded.tree,
            "ref": recorded.ref,
            "data": [vars(out) for out in recorded.data],
            "tabular": recorded.tabular,
            "profiles": {p: prof.model_dump() for p, prof in profiles.items()},
            "environment": environment.model_dump(),
            "fingerprint": recorded.fingerprint,
            "warnings": recorded.warnings,
            "variables": saved.model_dump() if saved else None,
            "size": sum(out.size for out in recorded.data),
            "nfiles": sum(out.nfiles for out in recorded.data),
            "changed": latest is None or latest.tree != recorded.tree,
            "holder": None,
            "phase": None,
            "push_status": (
                PushStatus.PENDING if pending else PushStatus.PUSHED if pushed else PushStatus.NONE
            ).value,
            "updated_at": self.ctx.clock.time(),
        }
        with self.ctx.store.unit_of_work() as uow:
            if not uow.snapshots.update(snapshot_id, from_status="creating", **fields):
                raise Conflict(
                    f"Snapshot {snapshot_id} was marked failed while it was being recorded.",
                    hint="Take it again.",
                )
            uow.audit.add(
                "snapshot.create",
                "snapshot",
                snapshot_id,
                actor,
                kind=kind,
                commit=recorded.commit,
                data=[out.hash for out in recorded.data],
            )
            uow.commit()
        if pending and self.dispatcher is not None:
            self.dispatcher.wake()
        return self.get(snapshot_id)

    # -- kernel variables -----------------------------------------------------------------------

    def _variables_dir(self) -> Path:
        return Path(self.config.data_dir) / "snapshot-variables"

    def _variables_payload(self, upload: VariablesUpload | None) -> bytes | None:
        """The decoded payload, checked before anything is changed."""
        if upload is None:
            return None
        try:
            payload = base64.b64decode(upload.payload, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(
                "The variables' payload is not base64.",
                hint="Send what `%dataops snapshot --variables` sends.",
            ) from exc
        limit = self.config.snapshot_max_variable_bytes
        if len(payload) > limit:
            raise InvalidInput(
                f"The kernel's variables take {len(payload)} bytes; a snapshot saves at most "
                f"{limit}.",
                hint="Name fewer variables (`--variables NAME ...`), or raise "
                "c.DataOps.snapshot_max_variable_bytes.",
            )
        return payload

    def _save_variables(
        self, snapshot_id: str, upload: VariablesUpload | None, payload: bytes | None
    ) -> VariablesSummary | None:
        if upload is None or payload is None:
            return None
        directory = self._variables_dir()
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{snapshot_id}.pkl.part"
        temporary.write_bytes(payload)
        os.replace(temporary, directory / f"{snapshot_id}.pkl")
        return VariablesSummary(
            saved=upload.saved,
            skipped=upload.skipped,
            bytes=len(payload),
            sha256=hashlib.sha256(payload).hexdigest(),
        )

    def variables(self, snapshot_id: str) -> Variables:
        """The kernel variables a snapshot saved, checked against their hash."""
        row = self._row(snapshot_id)
        if not row.variables:
            raise NotFound(
                f"Snapshot {row.id} saved no kernel variables.",
                hint="Take one from a notebook with `%dataops snapshot --variables`.",
            )
        summary = VariablesSummary(**row.variables)
        try:
            payload = (self._variables_dir() / f"{row.id}.pkl").read_bytes()
        except FileNotFoundError:
            raise NotFound(
                f"The variables of snapshot {row.id} are gone from {self._variables_dir()}.",
                hint="They are kept on the machine that took the snapshot.",
            ) from None
        if hashlib.sha256(payload).hexdigest() != summary.sha256:
            raise IntegrityError(
                f"The saved variables of snapshot {row.id} do not match their hash.",
                hint="The file was changed after the snapshot; they cannot be loaded.",
            )
        return Variables(**summary.model_dump(), payload=base64.b64encode(payload).decode())

    def _phase(self, snapshot_id: str, phase: str) -> None:
        """What a snapshot being taken is doing now (the sidebar shows it live)."""
        with self.ctx.store.unit_of_work() as uow:
            uow.snapshots.update(
                snapshot_id, from_status="creating", phase=phase, updated_at=self.ctx.clock.time()
            )
            uow.commit()

    def _recorded(self, row: SnapshotRecord) -> Recorded | None:
        if not row.commit or not row.tree or not row.fingerprint:
            return None
        return Recorded(
            commit=row.commit,
            tree=row.tree,
            ref=row.ref or "",
            data=_data(row),
            fingerprint=row.fingerprint,
            data_changed=False,
            tabular=dict(row.tabular or {}),
        )

    def _profiles(
        self, recorded: Recorded, latest: SnapshotRecord | None
    ) -> dict[str, TableProfile]:
        before = (
            {path: TableProfile(**profile) for path, profile in (latest.profiles or {}).items()}
            if latest
            else {}
        )
        profiles: dict[str, TableProfile] = {}
        for n, (path, file_hash) in enumerate(sorted(recorded.tabular.items())):
            old = before.get(path)
            if old is not None and old.hash == file_hash:
                profiles[path] = old
            elif n >= MAX_PROFILED:
                profiles[path] = TableProfile(
                    hash=file_hash,
                    error=f"not profiled: over {MAX_PROFILED} tables in one snapshot",
                )
            else:
                profiles[path] = profile_table(
                    self.root / path, file_hash, max_bytes=self.config.snapshot_profile_max_bytes
                )
        return profiles

    def _fail(self, snapshot_id: str, exc: BaseException) -> None:
        reason = str(exc) or type(exc).__name__
        try:
            with self.ctx.store.unit_of_work() as uow:
                uow.snapshots.update(
                    snapshot_id,
                    from_status="creating",
                    status=SnapshotStatus.FAILED.value,
                    phase=None,
                    error=reason[:2000],
                    holder=None,
                    updated_at=self.ctx.clock.time(),
                )
                uow.commit()
        except Exception:  # the store is gone too: the reaper fails it later
            log.exception("could not mark snapshot %s failed", snapshot_id)

    def reap(self) -> int:
        """Fail the snapshots of this project whose recording process is gone (killed, or its
        machine lost); their refs are removed. Returns how many."""
        now = self.ctx.clock.time()
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            stale = [
                row
                for row in uow.snapshots.creating(str(self.root))
                if not _holder_alive(row.holder, row.updated_at, now)
            ]
        for row in stale:
            with self.ctx.store.unit_of_work() as uow:
                uow.snapshots.update(
                    row.id,
                    from_status="creating",
                    status=SnapshotStatus.FAILED.value,
                    phase=None,
                    error="interrupted: the process recording it ended before it was complete",
                    holder=None,
                    updated_at=now,
                )
                uow.commit()
            try:
                self.workspace().drop_ref(REF_PREFIX + row.id)
            except Exception:  # not a repository any more: nothing to drop
                log.debug("no ref to drop for %s", row.id, exc_info=True)
        return len(stale)

    # -- reading ------------------------------------------------------------------------------

    def _row(self, snapshot_id: str) -> SnapshotRecord:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            row = uow.snapshots.get(snapshot_id)
        if row.root_dir != str(self.root):
            raise NotFound(
                f"Snapshot {row.id} is of another project ({row.root_dir}).",
                hint="Run the command from that project, or list this one's with "
                "`dataops snapshots list`.",
            )
        return row

    def get(self, snapshot_id: str) -> Snapshot:
        row = self._row(snapshot_id)
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            jobs = uow.snapshots.jobs_of(row.id)
        return Snapshot(
            **_common(row),
            ref=row.ref,
            data=[DataEntry(**entry) for entry in row.data or []],
            profiles={p: TableProfile(**v) for p, v in (row.profiles or {}).items()},
            environment=Environment(**(row.environment or {})),
            push_attempts=row.push_attempts,
            warnings=list(row.warnings or []),
            variables=VariablesSummary(**row.variables) if row.variables else None,
            jobs=jobs,
        )

    def list(self, query: SnapshotQuery | None = None) -> SnapshotPage:
        query = query or SnapshotQuery()
        self.reap()
        root = str(self.root)
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            rows, next_cursor, prev_cursor = uow.snapshots.page(root, query)
            total = uow.snapshots.total(root, query)
            counts = uow.snapshots.counts_by_status(root)
            seq = uow.changes.latest()
        return SnapshotPage(
            items=[to_summary(row) for row in rows],
            next_cursor=next_cursor,
            prev_cursor=prev_cursor,
            total=total,
            counts=counts,
            seq=seq,
        )

    def _ready(self, snapshot_id: str) -> SnapshotRecord:
        row = self._row(snapshot_id)
        if row.status != SnapshotStatus.READY.value or not row.commit:
            raise Conflict(
                f"Snapshot {row.id} is {row.status}, not ready"
                + (f": {row.error}" if row.error else "."),
                hint="Pick a ready snapshot from `dataops snapshots list`.",
            )
        return row

    # -- comparing and restoring --------------------------------------------------------------

    def diff(self, a: str, b: str | None = None) -> SnapshotDiff:
        """What changed from snapshot ``a`` to ``b`` (default: the newest snapshot)."""
        first = self._ready(a)
        if b is None:
            with self.ctx.store.unit_of_work(read_only=True) as uow:
                latest = uow.snapshots.latest(str(self.root))
            if latest is None:
                raise NotFound("There is no snapshot to compare with.")
            second = latest
        else:
            second = self._ready(b)
        workspace = self.workspace()
        data_a, data_b = _data(first), _data(second)
        dvc_files = {f"{out.path}.dvc" for out in (*data_a, *data_b)}
        files = [
            PathChange(path=c.path, change=c.change)  # type: ignore[arg-type]
            for c in workspace.diff_files(str(first.commit), str(second.commit))
            if c.path not in dvc_files
        ]
        data = [
            PathChange(path=c.path, change=c.change)  # type: ignore[arg-type]
            for c in workspace.diff_data(data_a, data_b)
        ]
        before = {p: TableProfile(**v) for p, v in (first.profiles or {}).items()}
        after = {p: TableProfile(**v) for p, v in (second.profiles or {}).items()}
        tables = [
            change
            for path in sorted(before.keys() | after.keys())
            if (change := diff_profiles(path, before.get(path), after.get(path))) is not None
        ]
        env_a = Environment(**(first.environment or {}))
        env_b = Environment(**(second.environment or {}))
        packages = [
            PackageChange(
                name=name, before=env_a.packages.get(name), after=env_b.packages.get(name)
            )
            for name in sorted(env_a.packages.keys() | env_b.packages.keys())
            if env_a.packages.get(name) != env_b.packages.get(name)
        ]
        python = (env_a.python, env_b.python) if env_a.python != env_b.python else None
        return SnapshotDiff(
            a=first.id,
            b=second.id,
            files=files,
            data=data,
            tables=tables,
            packages=packages,
            python=python,
        )

    def restore(
        self,
        snapshot_id: str,
        request: SnapshotRestore | None = None,
        *,
        actor: str | None = None,
    ) -> RestoreResult:
        """Take a safety snapshot of the present, then make the project (or the paths given)
        what the snapshot recorded, verifying every data file's hash."""
        request = request or SnapshotRestore()
        actor = actor or self.ctx.actor
        target = self._ready(snapshot_id)
        paths: builtins.list[str] | None = None
        if request.paths:
            paths = []
            for path in request.paths:
                rel = relative_to_root(self.root, resolve_inside(self.root, path))
                paths.append(rel if rel not in ("", ".") else ".")
            if "." in paths:
                paths = None
        if paths:
            self.workspace().check_paths(str(target.commit), paths, _data(target))
        safety = self.create(
            SnapshotCreate(message=f"Before restoring {target.id}"), kind="safety", actor=actor
        )
        assert safety.commit is not None
        restored = self.workspace().restore(
            str(target.commit), current=safety.commit, paths=paths, data=_data(target)
        )
        with self.ctx.store.unit_of_work() as uow:
            uow.audit.add(
                "snapshot.restore",
                "snapshot",
                target.id,
                actor,
                paths=paths or [],
                safety=safety.id,
                verified=restored.verified,
            )
            uow.commit()
        return RestoreResult(
            snapshot_id=target.id,
            safety_snapshot_id=safety.id,
            files=[
                PathChange(path=c.path, change=c.change)  # type: ignore[arg-type]
                for c in restored.files
                if not (c.path.endswith(".dvc") and c.path[:-4] in {d.path for d in _data(target)})
            ],
            data=[PathChange(path=c.path, change=c.change) for c in restored.data],  # type: ignore[arg-type]
            verified=restored.verified,
        )

    def export_data(self, snapshot_id: str, into: str | Path) -> int:
        """Put a snapshot's data (its DVC-tracked paths) under ``into``, verified, without
        touching the project (a sandbox's data). Returns how many files."""
        target = self._ready(snapshot_id)
        return self.workspace().export_data(_data(target), Path(into))

    # -- pushing ------------------------------------------------------------------------------

    def push(self, snapshot_id: str) -> Snapshot:
        """Push a snapshot's data now (also one whose retries gave up)."""
        row = self._ready(snapshot_id)
        self._push(row)
        return self.get(row.id)

    def push_due(self, limit: int = 20) -> int:
        """Push the data of snapshots waiting for it (the worker calls this); returns how many
        were tried."""
        now = self.ctx.clock.time()
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            rows = uow.snapshots.due_pushes(now, limit)
        for row in rows:
            self._push(row)
        return len(rows)

    def pushes_pending(self) -> bool:
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            return uow.snapshots.next_push_at() is not None

    def _push(self, row: SnapshotRecord) -> None:
        data = _data(row)
        now = self.ctx.clock.time()
        try:
            self.workspace(Path(row.root_dir)).push(data, str(row.commit))
        except Exception as exc:
            attempts = row.push_attempts + 1
            # Damaged data does not mend by waiting: no retries.
            gave_up = attempts > len(PUSH_BACKOFF) or isinstance(exc, IntegrityError)
            fields = {
                "push_attempts": attempts,
                "push_error": str(exc)[:2000],
                "push_status": (PushStatus.FAILED if gave_up else PushStatus.PENDING).value,
                "push_next_at": None if gave_up else now + PUSH_BACKOFF[attempts - 1],
            }
            log.warning(
                "pushing the data of snapshot %s failed (try %d): %s", row.id, attempts, exc
            )
        else:
            fields = {
                "push_attempts": row.push_attempts + 1,
                "push_error": None,
                "push_status": PushStatus.PUSHED.value,
                "push_next_at": None,
            }
        with self.ctx.store.unit_of_work() as uow:
            uow.snapshots.update(row.id, updated_at=now, **fields)
            uow.commit()

    # -- lineage ------------------------------------------------------------------------------

    def lineage(self, thing_id: str) -> Lineage:
        """For a snapshot: what it holds and which jobs ran on it. For a job: the snapshot it ran
        on, with its data, parameters and packages, and the endpoints serving what it made. For
        an endpoint (by name): the model version it serves, the job that made it and that job's
        snapshot: data to job to model to endpoint."""
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            try:
                row = uow.snapshots.get(thing_id)
            except NotFound:
                row = None
            job = None
            endpoints: builtins.list[Any] = []
            if row is None:
                endpoint = uow.endpoints.find(thing_id)
                if endpoint is not None:
                    return self._endpoint_lineage(endpoint)
                job = uow.jobs.get(thing_id)
                endpoints = uow.endpoints.of_job(job.id)
        if job is not None:
            node = LineageNode(
                kind="job",
                id=job.id,
                label=job.name,
                detail={
                    "notebook_path": job.notebook_path,
                    "parameters": job.parameters,
                    "status": job.status,
                    "kernel_name": job.kernel_name,
                },
            )
            served = [_endpoint_node(e) for e in endpoints]
            if not job.snapshot_id:
                return Lineage(root=node, upstream=[], downstream=served)
            snapshot = self.get(job.snapshot_id)
            return Lineage(root=node, upstream=self._holds(snapshot), downstream=served)
        assert row is not None
        snapshot = self.get(row.id)
        node = self._node(snapshot)
        upstream = self._holds(snapshot)[1:]
        if snapshot.parent_id:
            upstream.insert(0, LineageNode(kind="snapshot", id=snapshot.parent_id, label="parent"))
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            jobs = [uow.jobs.get(job_id) for job_id in snapshot.jobs]
        downstream = [
            LineageNode(
                kind="job",
                id=j.id,
                label=j.name,
                detail={"status": j.status, "parameters": j.parameters},
            )
            for j in jobs
        ]
        return Lineage(root=node, upstream=upstream, downstream=downstream)

    def _endpoint_lineage(self, endpoint: Any) -> Lineage:
        upstream = [
            LineageNode(
                kind="model",
                id=f"{endpoint.model_name}/{endpoint.version}",
                label=f"{endpoint.model_name} v{endpoint.version}",
                detail={"run_id": endpoint.run_id, "model_uri": endpoint.model_uri},
            )
        ]
        if endpoint.job_id:
            with self.ctx.store.unit_of_work(read_only=True) as uow:
                try:
                    job = uow.jobs.get(endpoint.job_id)
                    upstream.append(
                        LineageNode(
                            kind="job",
                            id=job.id,
                            label=job.name,
                            detail={
                                "notebook_path": job.notebook_path,
                                "parameters": job.parameters,
                            },
                        )
                    )
                except NotFound:  # deleted since
                    pass
        if endpoint.snapshot_id:
            try:
                upstream.extend(self._holds(self.get(endpoint.snapshot_id)))
            except NotFound:
                pass
        return Lineage(root=_endpoint_node(endpoint), upstream=upstream, downstream=[])

    @staticmethod
    def _node(snapshot: Snapshot) -> LineageNode:
        return LineageNode(
            kind="snapshot",
            id=snapshot.id,
            label=snapshot.message or snapshot.id,
            detail={"commit": snapshot.commit, "created_at": snapshot.created_at},
        )

    def _holds(self, snapshot: Snapshot) -> builtins.list[LineageNode]:
        nodes = [self._node(snapshot)]
        nodes += [
            LineageNode(
                kind="data",
                id=entry.hash,
                label=entry.path,
                detail={"size": entry.size, "nfiles": entry.nfiles},
            )
            for entry in snapshot.data
        ]
        env = snapshot.environment
        if env.python or env.packages:
            nodes.append(
                LineageNode(
                    kind="package",
                    id=f"python-{env.python}",
                    label=f"Python {env.python}, {len(env.packages)} packages",
                    detail={"packages": env.packages},
                )
            )
        return nodes

    # -- jobs ---------------------------------------------------------------------------------

    def for_job(self, what: str, actor: str | None = None, root: str | None = None) -> str | None:
        """The snapshot a job (``what`` names it) runs on, in the project at ``root`` (default
        this service's): the newest one when the project is unchanged since, else a new one
        (``c.DataOps.snapshot_jobs``). None when snapshots of jobs are off or the project is
        not set up for them."""
        if not self.config.snapshot_jobs:
            return None
        if root is not None and Path(root).resolve() != self.root:
            return self.for_root(root).for_job(what, actor)
        if not self.workspace().info().ready:
            return None
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            latest = uow.snapshots.latest(str(self.root))
        previous = self._recorded(latest) if latest else None
        if latest is not None and previous is not None and self.workspace().unchanged(previous):
            chosen = latest.id
        else:
            chosen = self.create(
                SnapshotCreate(message=f"Before {what}"), kind="job", actor=actor
            ).id
        return chosen


def _endpoint_node(endpoint: Any) -> LineageNode:
    return LineageNode(
        kind="endpoint",
        id=endpoint.name,
        label=f"{endpoint.name} ({endpoint.model_name} v{endpoint.version})",
        detail={"status": endpoint.status, "port": endpoint.port, "host": endpoint.host},
    )
