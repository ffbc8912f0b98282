"""A warm launcher of model servers: one long-lived process that has already imported what a
model server spends seconds importing (MLflow, scikit-learn, uvicorn: ``model_server.warm``)
and forks a server per launch, so an endpoint starts in about the time its model takes to load.

``python -m jupyter_dataops.backends.local.launcher --socket PATH [--idle SECONDS]`` listens on
a Unix socket in a folder only its user may enter. A client sends one JSON line
``{"argv": [...], "log": PATH, "env": {...}}`` and gets ``{"pid": N}`` back: the child starts a
new session (so it outlives the launcher and whoever asked), writes to ``log`` and runs
``model_server.main(argv)``; it can run nothing else. Children are reaped by the kernel
(SIGCHLD ignored). The launcher exits after ``--idle`` seconds without a launch.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
import time

#: The environment a launch may set (where models and the registry are).
ALLOWED_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "DATAOPS_MODEL_TOKEN")


def _child(argv: list[str], log_path: str, env: dict[str, str], *inherited: socket.socket) -> None:
    """In the forked child: detach, log to the file, serve; never return."""
    code = 1
    try:
        for sock in inherited:  # the launcher's socket and the request's connection
            sock.close()
        os.setsid()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        os.close(null)
        sys.stdout = os.fdopen(1, "w", buffering=1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        for key, value in env.items():
            if key in ALLOWED_ENV:
                os.environ[key] = value
        from . import model_server

        code = model_server.main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException as exc:  # the log says why
        print(f"error: the model server failed: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        os._exit(code)


def serve(path: str, idle: float, pid_file: str | None = None) -> int:
    from . import model_server

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
    except OSError:
        # Another launcher's socket, or a stale one: take it only if nobody answers on it.
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
            return 0  # a launcher runs already
        except OSError:
            os.unlink(path)
            listener.bind(path)
        finally:
            probe.close()
    os.chmod(path, 0o600)
    # Bound before warming: a second launcher started meanwhile finds this one and leaves, and
    # launches wait in the backlog until the imports are done.
    listener.listen(16)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # leave through the clean-up below
    try:
        if pid_file:
            with open(pid_file, "w", encoding="utf-8") as f:
                f.write(f"{os.getpid()} {_start_time(os.getpid())}")
        model_server.warm()
        listener.settimeout(min(idle, 60.0))
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped for us
        last = time.monotonic()
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                if time.monotonic() - last > idle:
                    return 0
                continue
            last = time.monotonic()
            with conn:
                conn.settimeout(10)
                try:
                    line = conn.makefile("rb").readline()
                    if not line:
                        continue  # a probe: is a launcher there?
                    request = json.loads(line)
                    argv = [str(a) for a in request["argv"]]
                    log_path = str(request["log"])
                    env = {str(k): str(v) for k, v in dict(request.get("env", {})).items()}
                except (ValueError, KeyError, TypeError, OSError) as exc:
                    with contextlib.suppress(OSError):
                        conn.sendall(json.dumps({"error": f"bad request: {exc}"}).encode() + b"\n")
                    continue
                pid = os.fork()
                if pid == 0:
                    _child(argv, log_path, env, listener, conn)
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    finally:
        listener.close()
        for leftover in (path, pid_file):
            if leftover:
                with contextlib.suppress(OSError):
                    os.unlink(leftover)


def _start_time(pid: int) -> str:
    with open(f"/proc/{pid}/stat", "rb") as f:
        return f.read().rsplit(b")", 1)[1].split()[19].decode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_dataops.backends.local.launcher")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--idle", type=float, default=1800.0)
    parser.add_argument("--pid-file", help="where to write its pid and start time")
    args = parser.parse_args(argv)
    return serve(args.socket, args.idle, args.pid_file)


if __name__ == "__main__":
    sys.exit(main())
