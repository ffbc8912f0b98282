"""``/dataops/api/snapshots``: take, list, show, compare and restore snapshots of the project;
push their data; set the project up for them. ``/dataops/api/lineage/<id>``: what produced a
job or snapshot, and what used it."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ...core.snapshots.models import SnapshotCreate, SnapshotQuery, SnapshotRestore
from ..schemas import DiffQuery
from .base import API_PREFIX, DataOpsHandler


class SnapshotsHandler(DataOpsHandler):
    query_arguments = frozenset({"id", "status", "kind", "order", "limit", "cursor"})

    def body_limit(self) -> int:
        # A snapshot may carry a kernel's variables (base64: 4/3 of their size).
        config = self.dataops.dataops
        return max(super().body_limit(), config.snapshot_max_variable_bytes * 4 // 3 + 65536)

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """List the project's snapshots, newest first: filter by id, status and kind, page."""
        query = self.query_model(
            SnapshotQuery,
            {
                "id": self.get_query_arguments("id") or None,
                "status": self.get_query_arguments("status") or None,
                "kind": self.get_query_arguments("kind") or None,
                "order": self.query_value("order"),
                "limit": self.query_value("limit"),
                "cursor": self.query_value("cursor"),
            },
        )
        self.write_json(await self.call(lambda s: s.snapshots.list(query)))

    @web.authenticated
    @authorized("write")
    async def post(self) -> None:
        """Take a snapshot of the project (201 with the snapshot)."""
        request = self.json_body(SnapshotCreate, required=False)
        actor = self.actor
        snapshot = await self.call(lambda s: s.snapshots.create(request, actor=actor))
        self.set_header(
            "Location", url_path_join(self.base_url, API_PREFIX, "snapshots", snapshot.id)
        )
        self.write_json(snapshot, status=201)


class SnapshotWorkspaceHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Whether the project is set up for snapshots, and whether it changed since the
        newest one."""
        self.write_json(await self.call(lambda s: s.snapshots.status()))

    @web.authenticated
    @authorized("write")
    async def post(self) -> None:
        """Set the project up: git and DVC repositories where missing, cache links, a remote."""
        actor = self.actor
        self.write_json(await self.call(lambda s: s.snapshots.init(actor=actor)))


class SnapshotDiffHandler(DataOpsHandler):
    query_arguments = frozenset({"a", "b"})

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """What changed from snapshot ``a`` to ``b`` (default: the newest)."""
        query = self.query_model(
            DiffQuery, {"a": self.query_value("a"), "b": self.query_value("b")}
        )
        self.write_json(await self.call(lambda s: s.snapshots.diff(query.a, query.b)))


class SnapshotHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, snapshot_id: str) -> None:
        self.write_json(await self.call(lambda s: s.snapshots.get(snapshot_id)))


class SnapshotRestoreHandler(DataOpsHandler):
    @web.authenticated
    @authorized("write")
    async def post(self, snapshot_id: str) -> None:
        """Restore the snapshot (or some paths of it) after a safety snapshot of the present."""
        request = self.json_body(SnapshotRestore, required=False)
        actor = self.actor
        self.write_json(
            await self.call(lambda s: s.snapshots.restore(snapshot_id, request, actor=actor))
        )


class SnapshotPushHandler(DataOpsHandler):
    @web.authenticated
    @authorized("write")
    async def post(self, snapshot_id: str) -> None:
        """Push the snapshot's data to the DVC remote now."""
        self.write_json(await self.call(lambda s: s.snapshots.push(snapshot_id)))


class SnapshotVariablesHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, snapshot_id: str) -> None:
        """The kernel variables the snapshot saved (a payload only a kernel unpickles)."""
        self.write_json(await self.call(lambda s: s.snapshots.variables(snapshot_id)))


class LineageHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, thing_id: str) -> None:
        """For a snapshot: what it holds and the jobs that ran on it; for a job: the data,
        code, parameters and packages it ran on."""
        self.write_json(await self.call(lambda s: s.snapshots.lineage(thing_id)))


_ID = r"(?P<snapshot_id>[^/]+)"

handlers: list[tuple[str, Any]] = [
    (rf"{API_PREFIX}/snapshots", SnapshotsHandler),
    # Before the snapshot id route, which would take these for ids.
    (rf"{API_PREFIX}/snapshots/workspace", SnapshotWorkspaceHandler),
    (rf"{API_PREFIX}/snapshots/diff", SnapshotDiffHandler),
    (rf"{API_PREFIX}/snapshots/{_ID}", SnapshotHandler),
    (rf"{API_PREFIX}/snapshots/{_ID}/restore", SnapshotRestoreHandler),
    (rf"{API_PREFIX}/snapshots/{_ID}/push", SnapshotPushHandler),
    (rf"{API_PREFIX}/snapshots/{_ID}/variables", SnapshotVariablesHandler),
    (rf"{API_PREFIX}/lineage/(?P<thing_id>[^/]+)", LineageHandler),
]
