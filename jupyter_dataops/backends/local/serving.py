"""The local deployment target: each endpoint is a model server process on this machine
(``backends.local.model_server``), forked by a warm launcher (``backends.local.launcher``) so it
starts in about the time its model takes to load, in its own session so it outlives the Jupyter
server, the CLI and the launcher. Its log is ``<data_dir>/endpoints/<name>/server.log``.

A process is known by its id and its start time (``/proc/PID/stat``), so an id the system gave
to another process since is never taken for the endpoint's, and never signalled.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ...core.endpoints.target import DeploymentTarget, Handle, ServingSpec, server_argv
from ...core.errors import BackendUnavailable, Conflict

#: Largest server log kept before a start truncates it.
MAX_LOG_BYTES = 5 << 20
LAUNCHER_WAIT = 90.0


def process_identity(pid: int) -> str | None:
    """When the process started (clock ticks since boot), or None when there is no such
    process or it is a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    if fields[0] in (b"Z", b"X"):
        return None
    return fields[19].decode()


def _connect_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::", "[::]") else host.strip("[]")


class LocalProcessTarget(DeploymentTarget):
    name = "local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        data_dir = Path(self.dataops.data_dir) if self.dataops is not None else Path(".")
        self.base = data_dir / "endpoints"
        self.tracking_uri = self.dataops.mlflow_tracking_uri if self.dataops is not None else ""
        self.idle = self.dataops.endpoint_launcher_idle if self.dataops is not None else 1800.0
        digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
        #: Which store's endpoints these are: the name a server answers with is
        #: "<endpoint>@<this>", so two stores' endpoints of one name are never confused.
        self.store_tag = digest
        # Unix socket paths are short (108 bytes): a private folder under the temp dir.
        self.socket_dir = Path(tempfile.gettempdir()) / f"dataops-{os.getuid()}"
        self.socket_path = self.socket_dir / f"launcher-{digest}.sock"
        self.pid_path = self.socket_dir / f"launcher-{digest}.pid"

    # -- processes ----------------------------------------------------------------------------
    def _argv(self, spec: ServingSpec, token_file: Path | None) -> list[str]:
        return server_argv(
            spec,
            host=spec.host,
            port=spec.port,
            identity=self.identity_of(spec),
            tracking_uri=self.tracking_uri,
            token_file=None if token_file is None else str(token_file),
        )

    def start(self, spec: ServingSpec) -> Handle:
        folder = self.base / spec.name
        folder.mkdir(parents=True, exist_ok=True)
        log_path = folder / "server.log"
        with contextlib.suppress(OSError):
            if log_path.stat().st_size > MAX_LOG_BYTES:
                log_path.unlink()
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {spec.model_uri}\n")
        token_file = None
        if spec.token:
            token_file = folder / "token"
            fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(spec.token)
        argv = self._argv(spec, token_file)
        pid = self._launch(argv, log_path)
        return Handle(pid, process_identity(pid))

    def _launch(self, argv: list[str], log_path: Path) -> int:
        """Fork from the warm launcher (starting it when none runs); a plain process when the
        launcher cannot be had."""
        request = json.dumps({"argv": argv, "log": str(log_path), "env": {}}).encode() + b"\n"
        for attempt in range(2):
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                    # A launcher still importing answers once it is warm (seconds).
                    client.settimeout(LAUNCHER_WAIT)
                    client.connect(str(self.socket_path))
                    client.sendall(request)
                    answer = json.loads(client.makefile("rb").readline())
                if "pid" in answer:
                    return int(answer["pid"])
                raise BackendUnavailable(
                    f"The model server launcher refused: {answer.get('error')}"
                )
            except (OSError, ValueError):
                if attempt == 0 and self.start_launcher(wait=True):
                    continue
                break
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "jupyter_dataops.backends.local.model_server", *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return process.pid

    def launcher_running(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(str(self.socket_path))
                return True
            except OSError:
                return False

    def start_launcher(self, *, wait: bool) -> bool:
        """Start the warm launcher unless one runs; with ``wait``, until it accepts."""
        if self.launcher_running():
            return True
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        if self.socket_dir.stat().st_uid != os.getuid():
            return False  # someone else's folder: never trust it
        os.chmod(self.socket_dir, 0o700)
        self.base.mkdir(parents=True, exist_ok=True)
        with open(self.base / "launcher.log", "ab") as log:
            launcher = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyter_dataops.backends.local.launcher",
                    "--socket",
                    str(self.socket_path),
                    "--pid-file",
                    str(self.pid_path),
                    "--idle",
                    str(self.idle),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        del launcher  # it writes its own pid file once it holds the socket
        if not wait:
            return True
        deadline = time.monotonic() + LAUNCHER_WAIT
        while time.monotonic() < deadline:
            if self.launcher_running():
                return True
            time.sleep(0.05)
        return False

    def stop_launcher(self) -> None:
        """End the launcher this target started (its pid file names it; its start time must
        match, so a reused id is never signalled)."""
        try:
            pid, identity = self.pid_path.read_text().split()
        except (OSError, ValueError):
            return
        self.stop(Handle(int(pid), identity), timeout=5.0)
        with contextlib.suppress(OSError):
            self.pid_path.unlink()

    def stop(self, handle: Handle, *, timeout: float = 10.0) -> None:
        if not self.alive(handle) or handle.pid is None:
            return
        pid = handle.pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            # Its own session and group (uvicorn's worker processes too).
            os.killpg(pid, signal.SIGTERM) if os.getpgid(pid) == pid else os.kill(
                pid, signal.SIGTERM
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive(handle):
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL) if os.getpgid(pid) == pid else os.kill(
                pid, signal.SIGKILL
            )

    def alive_pid(self, pid: int | None) -> bool:
        """Whether a process with this id runs (a zombie does not)."""
        return pid is not None and process_identity(pid) is not None

    def alive(self, handle: Handle) -> bool:
        if handle.pid is None:
            return False
        identity = process_identity(handle.pid)
        return identity is not None and (handle.identity is None or identity == handle.identity)

    # -- HTTP ---------------------------------------------------------------------------------
    def request(
        self,
        spec: ServingSpec,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        timeout: float = 10.0,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(_connect_host(spec.host), spec.port, timeout=timeout)
        headers = {"Content-Type": "application/json"}
        if spec.token:
            headers["Authorization"] = f"Bearer {spec.token}"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        except http.client.HTTPException as exc:  # a broken answer: as unreachable
            raise ConnectionError(f"a broken HTTP answer: {exc!r}") from None
        finally:
            conn.close()

    def answers(self, spec: ServingSpec) -> bool:
        try:
            status, headers, _ = self.request(spec, "GET", "/ping", timeout=1.0)
        except OSError:
            return False
        return status == 200 and headers.get("x-dataops-endpoint") == self.identity_of(spec)

    def identity_of(self, spec: ServingSpec) -> str:
        return f"{spec.name}@{self.store_tag}"

    def free_port(self, host: str, low: int, high: int, taken: set[int]) -> int:
        for port in range(low, high + 1):
            if port in taken:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                try:
                    probe.bind((_connect_host(host) if host != "0.0.0.0" else "0.0.0.0", port))
                except OSError:
                    continue
            return port
        raise Conflict(
            f"No free port in {low}-{high} for a new endpoint.",
            hint="Delete endpoints you no longer need, or widen c.DataOps.endpoint_port_min/max.",
        )

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.base / name / "server.log"
        try:
            with open(path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 16384))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def url(self, spec: ServingSpec) -> str:
        host = spec.host
        if host in ("0.0.0.0", "::", "[::]"):
            host = socket.getfqdn()
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{spec.port}"
