"""The kernel provisioner of local sandboxes (entry point ``dataops-sandbox`` in
``jupyter_client.kernel_provisioners``): how a sandbox's kernel spec starts a kernel in it.

A sandbox's kernel spec names this provisioner and the sandbox's launch file. Before each start
the provisioner reads that file (a stopped sandbox has none: the start is refused, saying so),
sets the sandbox's environment (its variables, ``CUDA_VISIBLE_DEVICES`` for exactly its GPUs,
thread counts for its CPUs, its secrets resolved now, its packages on ``PYTHONPATH``) and wraps
the command in :mod:`.sandbox_exec`, which applies the limits and then becomes the kernel. Each
kernel is recorded in the sandbox's folder (pid and start time, then how it ended), so the
sandbox service samples what its kernels use and tells a crash or an out-of-memory kill.
Jupyter's own kernel managers (the server's, papermill's) use it as any provisioner.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Unicode

SHIM = str(Path(__file__).with_name("sandbox_exec.py"))


class SandboxStopped(RuntimeError):
    pass


def read_launch(path: str) -> dict[str, Any]:
    try:
        with open(path) as f:
            return dict(json.load(f))
    except FileNotFoundError:
        raise SandboxStopped(
            "This sandbox has been stopped, so no kernel can start in it. Start a new sandbox "
            "from the Sandboxes panel (or `dataops sandboxes start PROFILE`) and pick its kernel."
        ) from None


def resolve_secrets(refs: dict[str, str]) -> dict[str, str]:
    """``{"HF_TOKEN": "env:HF_TOKEN", "DB": "file:/run/secrets/db"}`` -> values (never logged).
    A reference that resolves to nothing is left out, and named (not its value) in the error."""
    found: dict[str, str] = {}
    missing = []
    for name, ref in refs.items():
        kind, _, where = ref.partition(":")
        if kind == "env" and where in os.environ:
            found[name] = os.environ[where]
        elif kind == "file" and Path(where).is_file():
            found[name] = Path(where).read_text().strip()
        else:
            missing.append(f"{name} ({ref})")
    if missing:
        raise RuntimeError(
            "The sandbox's secrets cannot be read: " + ", ".join(missing) + ". Ask an operator "
            "to set them where the server can read them."
        )
    return found


def exit_description(code: int, *, oom: bool, stopped: bool) -> str:
    if stopped:
        return "stopped"
    if code >= 0:
        return f"exited with code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = "unknown signal"
    text = f"killed by signal {-code} ({name})"
    if oom:
        text += ": out of memory (the out-of-memory killer ended it)"
    elif -code == signal.SIGKILL:
        text += "; out of memory?"
    return text


def oom_kills(cgroup: str | None) -> int:
    """How many processes the OOM killer ended in ``cgroup`` (0 without one)."""
    if not cgroup:
        return 0
    try:
        for line in Path(cgroup, "memory.events").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


class SandboxProvisioner(LocalProvisioner):  # type: ignore[misc]
    """Starts a kernel inside a local sandbox (see the module's doc)."""

    sandbox_file = Unicode("", config=True, help="The sandbox's launch file (JSON)")

    _record: Path | None = None
    _stopping = False
    _ended = False
    _oom_before = 0

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        launch = read_launch(self.sandbox_file)
        kwargs = await super().pre_launch(**kwargs)
        env = dict(kwargs.get("env") or os.environ)
        env.update(launch.get("env") or {})
        env.update(resolve_secrets(launch.get("secrets") or {}))
        if launch.get("pythonpath"):
            env["PYTHONPATH"] = os.pathsep.join(
                [launch["pythonpath"], *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
            )
        kwargs["env"] = env
        if not kwargs.get("cwd"):
            kwargs["cwd"] = launch.get("workdir")
        wrapper = [sys.executable, "-I", "-S", SHIM]
        if launch.get("cgroup"):
            wrapper += ["--cgroup", launch["cgroup"]]
            self._oom_before = oom_kills(launch["cgroup"])
        elif launch.get("memory_bytes"):
            wrapper += ["--memory", str(int(launch["memory_bytes"]))]
        if launch.get("cpu_list"):
            wrapper += ["--cpus", ",".join(str(c) for c in launch["cpu_list"])]
        kwargs["cmd"] = [*wrapper, "--", *kwargs["cmd"]]
        self._launch = launch
        return kwargs

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        info = await super().launch_kernel(cmd, **kwargs)
        folder = Path(self._launch["kernels_dir"])
        folder.mkdir(parents=True, exist_ok=True)
        self._record = folder / f"{self.kernel_id}-{self.pid}.json"
        self._write(
            {
                "id": str(self.kernel_id),
                "pid": self.pid,
                "create_time": _create_time(self.pid),
                "started_at": time.time(),
            }
        )
        return info

    def _write(self, fields: dict[str, Any]) -> None:
        if self._record is None:
            return
        record: dict[str, Any] = {}
        try:
            record = json.loads(self._record.read_text())
        except (OSError, ValueError):
            pass
        record.update(fields)
        tmp = self._record.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, self._record)

    def _ended_with(self, code: int | None) -> None:
        if code is None or self._ended:
            return
        self._ended = True
        cgroup = getattr(self, "_launch", {}).get("cgroup")
        oom = oom_kills(cgroup) > self._oom_before
        self._write(
            {
                "ended_at": time.time(),
                "exit": exit_description(code, oom=oom, stopped=self._stopping),
                "oom": oom,
                "stopped": self._stopping,
            }
        )

    async def poll(self) -> int | None:
        code = await super().poll()
        if self.process is not None:
            self._ended_with(code)
        return code

    async def wait(self) -> int | None:
        code = await super().wait()
        self._ended_with(code)
        return code

    async def kill(self, restart: bool = False) -> None:
        self._stopping = True
        await super().kill(restart=restart)

    async def terminate(self, restart: bool = False) -> None:
        self._stopping = True
        await super().terminate(restart=restart)

    async def shutdown_requested(self, restart: bool = False) -> None:
        self._stopping = True
        await super().shutdown_requested(restart=restart)


def _create_time(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        import psutil

        return float(psutil.Process(pid).create_time())
    except Exception:
        return None
