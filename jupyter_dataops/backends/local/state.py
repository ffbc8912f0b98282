"""What the spawner and the worker share: the lock, the state file, the wake-up datagram and the
settings. Cheap to import (no kernel or papermill code), so the CLI and server stay fast."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import socket
from pathlib import Path
from typing import Any

LOCK_FILE = "worker.lock"
STATE_FILE = "worker.json"
LOG_FILE = "worker.log"
POKE = b"poke"


@dataclasses.dataclass
class WorkerSettings:
    """What the spawning process's configuration (LocalExecutor traits) tells the worker."""

    max_concurrent_jobs: int = 2
    kernel_pool_size: int = 2
    fork_kernels: bool = True
    default_kernel: str = "python3"
    idle_timeout: float = 600.0
    cell_timeout: float = 0.0
    poll_interval: float = 0.5
    executor_name: str = "local"


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


def read_state(data_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((data_dir / STATE_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def poke(data_dir: Path) -> bool:
    """Wake the worker up (it also polls, so a lost datagram only costs latency)."""
    state = read_state(data_dir)
    if not state or not state.get("port"):
        return False
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(POKE, ("127.0.0.1", int(state["port"])))
        return True
    return False
