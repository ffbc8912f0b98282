"""The kernel host of a sandbox pod (``python -m jupyter_dataops.backends.kubernetes.sandbox_agent``).

It starts the kernels the server asks for, inside the pod, and tells how they run and end. The
server's kernel provisioner (:mod:`.sandbox_kernel`) talks to it over HTTP at the pod's IP, with
the token of the sandbox's Secret as a bearer token; the kernels' ZeroMQ ports are then reached
at the same IP, signed with the key the server chose (as any remote Jupyter kernel).

    GET    /health                  {"ok": true, "kernels": N}
    GET    /kernels                 each kernel: pid, start, how it ended, CPU time, peak memory
    POST   /kernels                 {"id", "key", "signature_scheme", "env"} -> {"ports", "pid"}
    GET    /kernels/ID              one kernel
    POST   /kernels/ID/signal       {"signum": N}
    DELETE /kernels/ID              stop it (SIGTERM to its process group, then SIGKILL)
    GET    /usage                   the pod's cgroup: CPU seconds, memory now and at its peak

Kernels run in the work folder with the pod's environment (the sandbox's variables and secrets),
the request's (the kernel's ``%dataops`` identity) and the profile's packages on PYTHONPATH. One
that the out-of-memory killer ends is told as such (the cgroup's ``oom_kill`` count rose).
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..local.sandbox_provisioner import exit_description

CGROUP = Path("/sys/fs/cgroup")
PORT_NAMES = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
#: What a request may set in a kernel's environment (its identity; nothing else of the server's)
REQUEST_ENV = (
    "DATAOPS_SERVER_URL",
    "DATAOPS_TOKEN",
    "DATAOPS_JOB_ID",
    "DATAOPS_ACTOR",
    "JPY_SESSION_NAME",
)
#: Extra variables kernels get from the host's environment on top of the pod's (none secret)
PACKAGES_ENV = "DATAOPS_SANDBOX_PACKAGES"


def _cgroup_value(name: str) -> str | None:
    try:
        return (CGROUP / name).read_text()
    except OSError:
        return None


def oom_kills() -> int:
    text = _cgroup_value("memory.events") or ""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            with contextlib.suppress(ValueError):
                return int(value)
    return 0


class Kernel:
    def __init__(self, kernel_id: str, proc: subprocess.Popen, ports: dict[str, int]) -> None:
        self.id = kernel_id
        self.proc = proc
        self.ports = ports
        self.started_at = time.time()
        self.ended_at: float | None = None
        self.code: int | None = None
        self.stopped = False
        self.oom = False
        self.cpu_seconds = 0.0
        self.peak_memory_bytes = 0
        self._oom_before = oom_kills()

    def ended(self, code: int) -> None:
        self.code = code
        self.ended_at = time.time()
        self.oom = code == -signal.SIGKILL and oom_kills() > self._oom_before

    def sample(self) -> None:
        if self.ended_at is not None:
            return
        with contextlib.suppress(ImportError):
            import psutil

            try:
                process = psutil.Process(self.proc.pid)
                tree = [process, *process.children(recursive=True)]
                cpu = 0.0
                rss = 0
                for p in tree:
                    with contextlib.suppress(psutil.Error):
                        times = p.cpu_times()
                        cpu += times.user + times.system
                        rss += p.memory_info().rss
                self.cpu_seconds = max(self.cpu_seconds, cpu)
                self.peak_memory_bytes = max(self.peak_memory_bytes, rss)
            except psutil.Error:
                pass

    def view(self) -> dict[str, Any]:
        self.sample()
        return {
            "id": self.id,
            "pid": self.proc.pid,
            "ports": self.ports,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "code": self.code,
            "exit": None
            if self.code is None
            else exit_description(self.code, oom=self.oom, stopped=self.stopped),
            "oom": self.oom,
            "stopped": self.stopped,
            "cpu_seconds": round(self.cpu_seconds, 3),
            "peak_memory_bytes": self.peak_memory_bytes,
        }


class Host:
    """The kernels of this pod."""

    def __init__(self, host: str, workdir: str) -> None:
        self.host = host
        self.workdir = workdir
        self.kernels: dict[str, Kernel] = {}
        self.lock = threading.Lock()
        self.active_at = time.time()

    def _ports(self) -> dict[str, int]:
        sockets = []
        try:
            for _ in PORT_NAMES:
                s = socket.socket()
                s.bind((self.host, 0))
                sockets.append(s)
            return {name: s.getsockname()[1] for name, s in zip(PORT_NAMES, sockets, strict=True)}
        finally:
            for s in sockets:
                s.close()

    def start(self, request: dict[str, Any]) -> Kernel:
        kernel_id = str(request["id"])
        if not kernel_id or "/" in kernel_id or len(kernel_id) > 100:
            raise ValueError("a kernel id is 1 to 100 characters without '/'")
        with self.lock:
            if kernel_id in self.kernels and self.kernels[kernel_id].ended_at is None:
                raise FileExistsError(f"kernel {kernel_id} runs already")
            ports = self._ports()
            folder = Path(self.workdir, ".dataops", "kernels")
            folder.mkdir(parents=True, exist_ok=True)
            connection = folder / f"kernel-{kernel_id}.json"
            info = {
                **ports,
                "ip": self.host,
                "key": str(request["key"]),
                "transport": "tcp",
                "signature_scheme": str(request.get("signature_scheme") or "hmac-sha256"),
                "kernel_name": "",
            }
            fd = os.open(connection, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(info, f)
            env = dict(os.environ)
            for key, value in dict(request.get("env") or {}).items():
                if key in REQUEST_ENV:
                    env[str(key)] = str(value)
            if env.get(PACKAGES_ENV):
                env["PYTHONPATH"] = os.pathsep.join(
                    [env[PACKAGES_ENV], *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
                )
            proc = subprocess.Popen(
                [sys.executable, "-m", "ipykernel_launcher", "-f", str(connection)],
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            kernel = Kernel(kernel_id, proc, ports)
            self.kernels[kernel_id] = kernel
        threading.Thread(target=self._reap, args=(kernel,), daemon=True).start()
        self.active_at = time.time()
        return kernel

    def _reap(self, kernel: Kernel) -> None:
        code = kernel.proc.wait()
        kernel.ended(code)
        print(
            f"kernel {kernel.id} {exit_description(code, oom=kernel.oom, stopped=kernel.stopped)}",
            flush=True,
        )

    def signal(self, kernel_id: str, signum: int) -> None:
        kernel = self.kernels[kernel_id]
        if kernel.ended_at is None:
            with contextlib.suppress(ProcessLookupError):
                if signum == signal.SIGINT:
                    os.kill(kernel.proc.pid, signum)  # an interrupt is for the kernel only
                else:
                    os.killpg(kernel.proc.pid, signum)
        self.active_at = time.time()

    def stop(self, kernel_id: str, timeout: float = 5.0) -> Kernel:
        kernel = self.kernels[kernel_id]
        if kernel.ended_at is None:
            kernel.stopped = True
            kernel.sample()
            self.signal(kernel_id, signal.SIGTERM)
            try:
                kernel.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(kernel_id, signal.SIGKILL)
                kernel.proc.wait(timeout)
            deadline = time.monotonic() + timeout
            while kernel.ended_at is None and time.monotonic() < deadline:
                time.sleep(0.02)
        return kernel

    def usage(self) -> dict[str, Any]:
        cpu = 0.0
        stat = _cgroup_value("cpu.stat") or ""
        for line in stat.splitlines():
            key, _, value = line.partition(" ")
            if key == "usage_usec":
                cpu = int(value) / 1e6
        kernels = list(self.kernels.values())
        for kernel in kernels:
            kernel.sample()
        cpu = max(cpu, sum(k.cpu_seconds for k in kernels))
        memory = _cgroup_value("memory.current")
        peak = _cgroup_value("memory.peak")
        running = [k for k in kernels if k.ended_at is None]
        return {
            "cpu_seconds": round(cpu, 3),
            "memory_bytes": int(memory) if memory else sum(k.peak_memory_bytes for k in running),
            "peak_memory_bytes": int(peak)
            if peak
            else max([k.peak_memory_bytes for k in kernels], default=0),
            "active_at": self.active_at,
        }


def make_handler(host: Host, token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "dataops-kernel-host"

        def log_message(self, format: str, *args: Any) -> None:  # no request log (tokens)
            return

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            given = self.headers.get("Authorization", "")
            if not token or not hmac.compare_digest(given, f"Bearer {token}"):
                self._reply(HTTPStatus.UNAUTHORIZED, {"error": "a valid token is required"})
                return False
            return True

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            if length > 1 << 20:
                raise ValueError("the request is too large")
            data = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(data, dict):
                raise ValueError("the request is not a JSON object")
            return data

        def _route(self, method: str) -> None:
            if self.path == "/health" and method == "GET":
                self._reply(200, {"ok": True, "kernels": len(host.kernels)})
                return
            if not self._authorized():
                return
            parts = [p for p in self.path.split("?")[0].split("/") if p]
            try:
                if parts == ["kernels"] and method == "GET":
                    self._reply(200, [k.view() for k in list(host.kernels.values())])
                elif parts == ["kernels"] and method == "POST":
                    kernel = host.start(self._body())
                    self._reply(201, {"ports": kernel.ports, "pid": kernel.proc.pid})
                elif parts == ["usage"] and method == "GET":
                    self._reply(200, host.usage())
                elif len(parts) == 2 and parts[0] == "kernels" and method == "GET":
                    self._reply(200, host.kernels[parts[1]].view())
                elif len(parts) == 2 and parts[0] == "kernels" and method == "DELETE":
                    self._reply(200, host.stop(parts[1]).view())
                elif parts[:1] == ["kernels"] and parts[2:] == ["signal"] and method == "POST":
                    host.signal(parts[1], int(self._body()["signum"]))
                    self._reply(200, host.kernels[parts[1]].view())
                else:
                    self._reply(404, {"error": f"no route {method} {self.path}"})
            except KeyError as exc:
                self._reply(404, {"error": f"no kernel or field {exc}"})
            except FileExistsError as exc:
                self._reply(409, {"error": str(exc)})
            except (ValueError, TypeError) as exc:
                self._reply(400, {"error": str(exc)})
            except OSError as exc:
                self._reply(500, {"error": f"{type(exc).__name__}: {exc}"})

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_DELETE(self) -> None:
            self._route("DELETE")

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {__name__}")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args(argv)
    token = Path(args.token_file).read_text().strip()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    host = Host(args.host, args.workdir)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(host, token))
    server.daemon_threads = True

    def leave(*_: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, leave)
    print(f"kernel host listening on {args.host}:{args.port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        for kernel_id in list(host.kernels):
            with contextlib.suppress(Exception):
                host.stop(kernel_id, timeout=3.0)
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
