"""``/dataops/api/profiles``: the sandbox profiles, with the policy's limits and what is left of
the caller's quotas. ``/dataops/api/sandboxes``: start (202 while it provisions, 201 with
``wait``), list, show and stop sandboxes."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ...core.sandboxes.models import SandboxCreate, SandboxStatus
from .base import API_PREFIX, DataOpsHandler


class ProfilesHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The profiles the caller may start, each with its limits and the caller's quotas."""
        actor = self.actor
        self.write_json(await self.call(lambda s: s.sandboxes.profiles(actor)))


class SandboxesHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The project's sandboxes: the active ones, then recently ended ones."""
        self.write_json(await self.call(lambda s: s.sandboxes.list()))

    @web.authenticated
    @authorized("write")
    async def post(self) -> None:
        """Start a sandbox from a profile. Checked against the policy, the quotas and the free
        GPUs before anything is recorded (403 naming each broken limit, 409 when the GPUs are
        held). 202 while it provisions; with ``wait``, 201 once it is ready (or failed)."""
        request = self.json_body(SandboxCreate)
        actor = self.actor
        sandbox = await self.call(lambda s: s.sandboxes.start(request, actor=actor))
        self.set_header(
            "Location", url_path_join(self.base_url, API_PREFIX, "sandboxes", sandbox.id)
        )
        provisioning = sandbox.status == SandboxStatus.PROVISIONING
        self.write_json(sandbox, status=202 if provisioning else 201)


class SandboxHandler(DataOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, sandbox_id: str) -> None:
        self.write_json(await self.call(lambda s: s.sandboxes.get(sandbox_id)))


class SandboxStopHandler(DataOpsHandler):
    @web.authenticated
    @authorized("write")
    async def post(self, sandbox_id: str) -> None:
        """Stop its kernels, take it out of the kernel picker and free its devices."""
        actor = self.actor
        found = await self.call(lambda s: s.sandboxes.get(sandbox_id))
        if found.status.active:  # its kernels here first, so none is restarted as it goes
            await self.dataops.shut_down_sandbox_kernels(found.id)
        sandbox = await self.call(lambda s: s.sandboxes.stop(sandbox_id, actor=actor))
        await self.dataops.shut_down_stopped_sandbox_kernels()
        self.write_json(sandbox)


_ID = r"(?P<sandbox_id>[^/]+)"

handlers: list[tuple[Any, ...]] = [
    (rf"{API_PREFIX}/profiles", ProfilesHandler),
    (rf"{API_PREFIX}/sandboxes", SandboxesHandler),
    (rf"{API_PREFIX}/sandboxes/{_ID}", SandboxHandler),
    (rf"{API_PREFIX}/sandboxes/{_ID}/stop", SandboxStopHandler),
]
