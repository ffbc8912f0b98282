"""What the benchmarks share: a Jupyter server of their own, and the peer's environment.

``Server`` starts ``jupyter server`` (ours or jupyter-scheduler's) on 127.0.0.1 with a random
token, in directories of its own. jupyter-scheduler is not installed into the project's
environment: it would enable its server and lab extensions in every Jupyter server started from
it. ``peer_python`` gives it a virtual environment of its own (made with uv, under
~/.cache/jupyter-dataops/, with requirements/constraints.txt), or takes an interpreter that has
it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

PEER_PACKAGE = "jupyter-scheduler==2.12.1"
PEER_VENV = Path.home() / ".cache" / "jupyter-dataops" / "bench-peer"


def give_up_after(seconds: float) -> None:
    """Bound the whole run: a TimeoutError is raised in the main thread after ``seconds``
    (the benchmark's own clean-up then stops what it started)."""

    def over_time(signum: int, frame: Any) -> None:
        raise TimeoutError(f"the run took longer than --timeout {seconds:g} s")

    signal.signal(signal.SIGALRM, over_time)
    signal.alarm(max(1, int(seconds)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: ``python -m jupyter_server``, with gc.freeze() once the server has started (--freeze-gc): its
#: start-up objects are then never scanned again by the collector's full collections.
FREEZE_GC_MAIN = """
import gc, sys
from jupyter_server import serverapp

start_ioloop = serverapp.ServerApp.start_ioloop


def freeze_then_start(self):
    self.io_loop.add_callback(lambda: (gc.collect(), gc.freeze()))
    start_ioloop(self)


serverapp.ServerApp.start_ioloop = freeze_then_start
sys.argv[0] = "jupyter-server"
serverapp.main()
"""


class Server:
    """A ``jupyter server`` on loopback with a random token, in its own directories."""

    def __init__(
        self, python: str, work: Path, extension: str, extra: list[str], *, freeze_gc: bool = False
    ) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.work = work
        root = work / "root"
        root.mkdir(parents=True, exist_ok=True)
        (work / "config").mkdir(exist_ok=True)
        self.env = dict(
            os.environ,
            JUPYTER_DATA_DIR=str(work / "data"),
            JUPYTER_CONFIG_DIR=str(work / "config"),
            JUPYTER_RUNTIME_DIR=str(work / "runtime"),
            PYTHONUNBUFFERED="1",
        )
        self.env["PATH"] = f"{Path(python).parent}{os.pathsep}{self.env.get('PATH', '')}"
        self.log = work / "server.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    python,
                    *(["-c", FREEZE_GC_MAIN] if freeze_gc else ["-m", "jupyter_server"]),
                    f"--ServerApp.port={self.port}",
                    "--ServerApp.port_retries=0",
                    "--ServerApp.ip=127.0.0.1",
                    f"--IdentityProvider.token={self.token}",
                    f"--ServerApp.root_dir={root}",
                    "--ServerApp.open_browser=False",
                    "--ServerApp.allow_root=True",
                    f"--ServerApp.jpserver_extensions={{'{extension}': True}}",
                    *extra,
                ],
                env=self.env,
                stdin=subprocess.DEVNULL,  # no confirmation prompt on a Ctrl-C
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    self.get("/api/status")
                    return
                except (urllib.error.URLError, ConnectionError):
                    time.sleep(0.1)
        except BaseException:  # KeyboardInterrupt while it starts: never leave it running
            self.stop()
            raise
        self.stop()
        tail = self.log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the Jupyter server did not start; its log ends:\n{tail}")

    def get(self, path: str) -> Any:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.loads(resp.read())

    def request(self, method: str, path: str, body: Any = None, timeout: float = 120) -> Any:
        """Any method, with a JSON body; the JSON answer (None when empty)."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(20)


def peer_python(explicit: str | None, extra: dict[str, str] | None = None) -> str:
    """An interpreter with jupyter-scheduler: ``explicit`` (--peer-python), or a venv made for
    it with uv. ``extra`` maps modules the caller also needs to the requirements that provide
    them; they are added to the venv when missing (an explicit interpreter must have them)."""
    extra = extra or {}
    if explicit:
        missing = [m for m in extra if not _imports(str(explicit), [m])]
        if missing:
            raise RuntimeError(f"{explicit} lacks {', '.join(missing)} (pip install it there)")
        return str(explicit)
    python = PEER_VENV / "bin" / "python"
    uv = shutil.which("uv")
    constraints = HERE.parent / "requirements" / "constraints.txt"
    install = [uv or "uv", "pip", "install", "-q", "--python", str(python), "--compile-bytecode"]
    install += ["-c", str(constraints)] if constraints.exists() else []
    if python.exists() and _imports(str(python), ["jupyter_scheduler", "jupyter_server"]):
        missing = [req for module, req in extra.items() if not _imports(str(python), [module])]
        if missing:
            if uv is None:
                raise RuntimeError(f"uv is not on PATH to add {', '.join(missing)} to {PEER_VENV}")
            print(f"adding {', '.join(missing)} to the peer's environment ...", flush=True)
            _run([*install, *missing])
        return str(python)
    if uv is None:
        raise RuntimeError("uv is not on PATH to make the peer's environment (or --peer-python)")
    print(f"making the peer's environment in {PEER_VENV} ({PEER_PACKAGE}) ...", flush=True)
    _run([uv, "venv", "-q", "--python", sys.executable, str(PEER_VENV)])
    _run([*install, PEER_PACKAGE, *extra.values()])
    return str(python)


def _imports(python: str, modules: list[str]) -> bool:
    probe = [python, "-c", f"import {', '.join(modules)}"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed: {done.stderr.strip()[-800:]}")
