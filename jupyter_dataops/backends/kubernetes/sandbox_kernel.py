"""The kernel provisioner of sandboxes on a cluster (entry point ``dataops-cluster-sandbox`` in
``jupyter_client.kernel_provisioners``): a sandbox's kernel spec names it and the sandbox's
launch file (the pod's IP, the kernel host's port and token). Starting a kernel asks the pod's
kernel host (:mod:`.sandbox_agent`) for one with the key the kernel manager chose; the kernel
manager then talks to the kernel at the pod's IP as to any remote kernel. Polls, signals and
stops go to the kernel host too, each in a thread (never blocking the server's event loop).

The kernel gets the server's ``%dataops`` identity for it (the token bound to this kernel) with
the server's URL as pods reach it (``c.Kubernetes.server_url``), or no identity when pods cannot
reach the server.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import signal
import urllib.error
import urllib.request
from typing import Any

from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase
from traitlets import Unicode

from ..local.sandbox_provisioner import SandboxStopped, read_launch
from .settings import pod_server_url

IDENTITY = ("DATAOPS_SERVER_URL", "DATAOPS_TOKEN", "DATAOPS_JOB_ID", "DATAOPS_ACTOR")


class HostError(RuntimeError):
    pass


def call(
    launch: dict[str, Any], method: str, path: str, body: Any = None, timeout: float = 30.0
) -> Any:
    """One request to a sandbox's kernel host (blocking: run it in a thread)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://{launch['host']}:{launch['port']}{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {launch['token']}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", "")
        except ValueError:
            message = ""
        raise HostError(
            f"The sandbox's kernel host answered {exc.code}: {message or exc.reason}"
        ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        # Also a pod deleted mid-answer (IncompleteRead) or an answer that is not JSON.
        raise HostError(
            f"The sandbox's kernel host at {launch['host']}:{launch['port']} cannot be reached: "
            f"{getattr(exc, 'reason', exc)}"
        ) from None


def kernel_env(env: dict[str, str], server_url: str) -> dict[str, str]:
    """What of the server's kernel environment goes to a kernel in a pod: its identity, with the
    server's URL as pods reach it (none without one)."""
    found = {key: env[key] for key in IDENTITY if key in env}
    if "DATAOPS_SERVER_URL" in found:
        if server_url:
            found["DATAOPS_SERVER_URL"] = pod_server_url(server_url, found["DATAOPS_SERVER_URL"])
        else:
            found.pop("DATAOPS_SERVER_URL")
            found.pop("DATAOPS_TOKEN", None)
    return found


class ClusterSandboxProvisioner(KernelProvisionerBase):  # type: ignore[misc]
    """Starts a kernel in a sandbox's pod (see the module's documentation)."""

    sandbox_file = Unicode("", config=True, help="The sandbox's launch file (JSON)")

    _remote_id: str | None = None
    _launch: dict[str, Any] | None = None
    _code: int | None = None

    @property
    def has_process(self) -> bool:
        return self._remote_id is not None

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        assert self._launch is not None
        return await asyncio.to_thread(call, self._launch, method, path, body)

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        self._launch = read_launch(self.sandbox_file)
        kwargs = await super().pre_launch(**kwargs)
        # What the kernel host runs (for the record: it builds the command itself).
        kwargs["cmd"] = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        return kwargs

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        assert self._launch is not None and self.parent is not None
        session = self.parent.session
        key = session.key.decode() if isinstance(session.key, bytes) else str(session.key)
        env = kernel_env(dict(kwargs.get("env") or {}), str(self._launch.get("server_url") or ""))
        remote_id = str(self.kernel_id)
        answer = await self._call(
            "POST",
            "/kernels",
            {
                "id": remote_id,
                "key": key,
                "signature_scheme": session.signature_scheme,
                "env": env,
            },
        )
        self._remote_id = remote_id
        self._code = None
        ports: dict[str, Any] = {name: int(port) for name, port in answer["ports"].items()}
        self.connection_info = {
            **ports,  # type: ignore[typeddict-item]
            "ip": self._launch["host"],
            "transport": "tcp",
            "key": session.key,
            "signature_scheme": session.signature_scheme,
            "kernel_name": self.kernel_spec.display_name if self.kernel_spec else "",
        }
        return dict(self.connection_info)

    async def poll(self) -> int | None:
        if self._remote_id is None:
            return 0 if self._code is None else self._code
        try:
            view = await self._call("GET", f"/kernels/{self._remote_id}")
        except HostError:
            try:
                read_launch(self.sandbox_file)
            except SandboxStopped:
                return 1  # the sandbox was stopped: its kernels are gone
            return None  # the pod's network blinked: it is not known to have ended
        code = view.get("code")
        if code is None:
            return None
        self._code = int(code)
        return self._code

    async def wait(self) -> int | None:
        while True:
            code = await self.poll()
            if code is not None:
                return code
            await asyncio.sleep(0.5)

    async def send_signal(self, signum: int) -> None:
        if self._remote_id is None:
            return
        try:
            await self._call("POST", f"/kernels/{self._remote_id}/signal", {"signum": int(signum)})
        except HostError as exc:
            self.log.warning("cannot signal kernel %s in its sandbox: %s", self.kernel_id, exc)

    async def kill(self, restart: bool = False) -> None:
        await self._stop()

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGTERM)

    async def _stop(self) -> None:
        if self._remote_id is None:
            return
        try:
            view = await self._call("DELETE", f"/kernels/{self._remote_id}")
            self._code = view.get("code")
        except HostError as exc:
            self.log.warning("cannot stop kernel %s in its sandbox: %s", self.kernel_id, exc)

    async def cleanup(self, restart: bool = False) -> None:
        if not restart:
            self._remote_id = None

    async def get_provisioner_info(self) -> dict[str, Any]:
        info: dict[str, Any] = await super().get_provisioner_info()
        info.update({"remote_id": self._remote_id, "launch": self._launch})
        return info

    async def load_provisioner_info(self, provisioner_info: dict[str, Any]) -> None:
        await super().load_provisioner_info(provisioner_info)
        self._remote_id = provisioner_info.get("remote_id")
        self._launch = provisioner_info.get("launch")
