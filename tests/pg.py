"""A throwaway PostgreSQL server for the store's tests (Debian's ``postgresql`` package; ``make
test`` installs it): a new cluster in a temporary folder, listening on a free loopback port, with
trust authentication, stopped at the end. Missing binaries fail the tests that need them, with the
command that installs them; they are never skipped silently."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Bound on each PostgreSQL command (initdb takes a few seconds).
TIMEOUT = 120.0


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        pytest.fail(
            f"PostgreSQL's {name} is needed for the store's PostgreSQL tests: "
            "apt-get install -y postgresql (make test does)"
        )
    return found[-1]


def _as_owner(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as the ``postgres`` user then."""
    if os.getuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str]) -> None:
    try:
        subprocess.run(_as_owner(command), check=True, capture_output=True, timeout=TIMEOUT)
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"{' '.join(command)} failed: {exc.stderr.decode(errors='replace')}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.data = base / "data"
        self.port = _free_port()
        self._databases = 0

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        if os.getuid() == 0:
            shutil.chown(self.base, "postgres")
        _run([_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        _run(
            [
                _bin("pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.base / "server.log"),
                "-w",
                "-t",
                str(int(TIMEOUT)),
                "-o",
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base} -c fsync=off",
                "start",
            ]
        )

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                _as_owner([_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
                capture_output=True,
                timeout=TIMEOUT,
            )

    def new_database(self) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        self._databases += 1
        name = f"dataops_{os.getpid()}_{self._databases}_{int(time.time())}"
        _run([_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name])
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    import tempfile

    # Not under pytest's temporary folder: that is private to root, and the server runs as
    # the postgres user.
    base = Path(tempfile.mkdtemp(prefix="dataops-pg-"))
    server = PostgresServer(base)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
