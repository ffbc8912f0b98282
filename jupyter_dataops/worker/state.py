"""What the supervisor (in the server or the CLI) and the worker share: the lock, the state file
and the wake-up datagram. Cheap to import (no kernel or papermill code)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import socket
from pathlib import Path
from typing import Any

LOCK_FILE = "worker.lock"
STATE_FILE = "worker.json"
LOG_FILE = "worker.log"
#: Written by a running Jupyter server: where job kernels reach it (see core.identity).
SERVER_FILE = "server.json"
POKE = b"poke"


def try_lock(data_dir: Path) -> Any | None:
    """Take the worker lock without waiting; returns the open file (keep it) or None if held."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / LOCK_FILE, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def read_state(data_dir: Path) -> dict[str, Any] | None:
    return read_json(data_dir / STATE_FILE)


def poke(data_dir: Path) -> bool:
    """Wake the worker up (it also polls, so a lost datagram only costs latency)."""
    state = read_state(data_dir)
    if not state or not state.get("port"):
        return False
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(POKE, ("127.0.0.1", int(state["port"])))
        return True
    return False
