"""Helpers for the schedule tests: a user's folders and ``dataops`` (as in tests/test_cli.py), a
``dataops scheduler`` process, and ways to make a due time come without waiting for the clock.

A due time is made to come by moving a schedule's ``last_due_at``/``next_due_at`` back in the
store, as if the clock had moved on while nothing fired. The schedules these tests make run hourly
at a minute that passed a few minutes ago (:func:`past_slot`), so no due time comes by itself while
a test runs and every due time a test makes is known in advance.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from traitlets.config import Config

from jupyter_dataops.core.config import DataOps
from jupyter_dataops.services import Services
from jupyter_dataops.store import Database
from jupyter_dataops.worker.state import poke, read_state

from .notebooks import write_notebook

REPO = Path(__file__).resolve().parent.parent
WAIT = 120.0  # seconds: the bound on every wait in the schedule tests (never a timing claim)
TERMINAL = frozenset({"completed", "failed", "cancelled"})


def wait_for(
    what: str, check: Callable[[], Any], *, timeout: float = WAIT, interval: float = 0.1
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s (last seen: {value!r})")
        time.sleep(interval)


def cluster_config(files: Path) -> dict[str, dict[str, Any]]:
    """Settings under which jobs run here by default and on a Kubernetes cluster when they (or
    a schedule) ask for it (c.DataOps.job_executors), with job files in ``files``. Its API server
    is nowhere: what is checked before a job is stored needs none, and a job sent there fails
    or waits, which these tests do not look at. A sandbox profile ``cpu`` is offered too."""
    return {
        "DataOps": {
            "job_executors": ["kubernetes"],
            "job_files_url": f"file://{files}",
            "mlflow_tracking_uri": "http://mlflow.dataops.svc:5000",
            "mlflow_artifact_location": "mlflow-artifacts:/",
            "sandbox_profiles": [{"name": "cpu", "cpus": "1", "memory": "1Gi"}],
        },
        "Kubernetes": {
            "api_url": "http://127.0.0.1:9",
            "job_image": "dataops-runner:test",
            "files_volume": "dataops-files",
            "server_url": "http://jupyter.dataops.svc:8888",
        },
    }


def past_slot(minutes_ago: int = 5) -> tuple[float, str]:
    """A due time a few whole minutes ago (UTC) and an hourly cron expression it is a due time
    of: its next due time by itself is about an hour away."""
    due = (int(time.time()) // 60 - minutes_ago) * 60.0
    return due, f"{int(due // 60) % 60} * * * *"


def hourly_times(due: float, missed: int) -> list[float]:
    """``due`` and the ``missed`` hourly due times before it, oldest first."""
    return [due - 3600.0 * k for k in range(missed, -1, -1)]


def make_due(store: Database, ids: Iterable[str], due: float, *, missed: int = 0) -> None:
    """In one transaction: the schedules' last handled due time is just before the ``missed``
    hourly due times that precede ``due``, and their next one is the oldest of them (now past)."""
    first = hourly_times(due, missed)[0]
    with store.unit_of_work() as uow:
        for schedule_id in ids:
            assert uow.schedules.update(schedule_id, last_due_at=first - 1.0, next_due_at=first)
        uow.commit()


# -- reading the store ------------------------------------------------------------------------------
def firings(store: Database) -> list[dict[str, Any]]:
    with store.unit_of_work(read_only=True) as uow:
        rows = uow.execute(
            _sql("SELECT schedule_id, due_at, version, outcome, job_id, reason FROM firings")
        ).all()
    return [dict(r._mapping) for r in rows]


def scheduled_jobs(store: Database) -> list[dict[str, Any]]:
    with store.unit_of_work(read_only=True) as uow:
        rows = uow.execute(
            _sql(
                "SELECT id, schedule_id, schedule_version, due_at, status, parameters "
                "FROM jobs WHERE schedule_id IS NOT NULL"
            )
        ).all()
    return [dict(r._mapping) for r in rows]


def job_count(store: Database) -> int:
    with store.unit_of_work(read_only=True) as uow:
        return int(uow.execute(_sql("SELECT count(*) FROM jobs")).scalar() or 0)


def schedule_rows(store: Database) -> dict[str, dict[str, Any]]:
    with store.unit_of_work(read_only=True) as uow:
        rows = uow.execute(
            _sql("SELECT id, version, status, last_due_at, next_due_at, definition FROM schedules")
        ).all()
    return {r.id: dict(r._mapping) for r in rows}


def lease_holder(store: Database) -> str | None:
    with store.unit_of_work(read_only=True) as uow:
        return uow.leases.holder("scheduler", now=time.time())


def _sql(text: str) -> Any:
    from sqlalchemy import text as sql_text

    return sql_text(text)


def assert_each_due_time_once(
    store: Database, expected: dict[str, list[float]], *, all_queued_run: bool = True
) -> None:
    """Every due time of ``expected`` (schedule id -> due times) has exactly one firing, the
    latest one queued a job (run once for the missed ones), the others are skipped; each queued
    firing has exactly its one job (same schedule, due time and id); no other scheduled job
    exists, and no firing for a due time that was not expected."""
    got: dict[str, dict[float, dict[str, Any]]] = {}
    for f in firings(store):
        slots = got.setdefault(f["schedule_id"], {})
        assert f["due_at"] not in slots, f"due time fired twice: {f}"
        slots[f["due_at"]] = f
    jobs_by_slot: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for job in scheduled_jobs(store):
        jobs_by_slot.setdefault((job["schedule_id"], job["due_at"]), []).append(job)
    lost = {s: t for s, t in expected.items() if sorted(got.get(s, {})) != sorted(t)}
    assert not lost, f"{len(lost)} schedule(s) whose due times were not each fired once: " + str(
        {s: (expected[s], sorted(got.get(s, {}))) for s in list(lost)[:3]}
    )
    assert set(got) == set(expected), set(got) ^ set(expected)
    for schedule_id, times in expected.items():
        latest = max(times)
        for due in times:
            firing = got[schedule_id][due]
            runs = jobs_by_slot.pop((schedule_id, due), [])
            if due == latest and all_queued_run:
                assert firing["outcome"] == "queued", firing
            else:
                assert firing["outcome"] in ("queued", "skipped"), firing
            if firing["outcome"] == "queued":
                assert [j["id"] for j in runs] == [firing["job_id"]], (firing, runs)
            else:
                assert runs == [] and firing["job_id"] is None, (firing, runs)
                assert firing["reason"], firing
    assert not jobs_by_slot, f"scheduled jobs that no firing queued: {jobs_by_slot}"


# -- a user's folders and processes -------------------------------------------------------------------
class SchedEnv:
    """A root folder with notebooks, Jupyter data/config/runtime dirs, ``dataops`` there, and
    in-process services on the same store (to make many schedules quickly)."""

    def __init__(
        self,
        base: Path,
        *,
        root: Path | None = None,
        store_url: str | None = None,
        config: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.root = root or base / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir = base / "data" / "dataops"
        self.store_url = store_url or f"sqlite:///{self.data_dir / 'dataops.db'}"
        self.env = {
            **os.environ,
            "JUPYTER_DATA_DIR": str(base / "data"),
            "JUPYTER_CONFIG_DIR": str(base / "config"),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        for name in ("JPY_PARENT_PID", "DATAOPS_SERVER_URL", "DATAOPS_TOKEN", "DATAOPS_ROOT_DIR"):
            self.env.pop(name, None)
        self.sections: dict[str, dict[str, Any]] = {
            "LocalExecutor": {"kernel_pool_size": 1},
            "Worker": {"idle_timeout": 120.0, "warm_start": False},
            "DataOps": {"min_schedule_interval": 0},
        }
        if store_url:
            self.sections["DataOps"]["store_url"] = store_url
        for name, values in (config or {}).items():
            self.sections.setdefault(name, {}).update(values)
        (base / "config").mkdir(exist_ok=True)
        (base / "config" / "jupyter_dataops_config.json").write_text(json.dumps(self.sections))
        if not (self.root / "ok.ipynb").exists():
            write_notebook(
                self.root / "ok.ipynb",
                ["print(f'alpha is {alpha}')"],
                parameters="alpha = 0.1  # learning rate",
            )
            write_notebook(
                self.root / "slow.ipynb", ["import time; time.sleep(n)"], parameters="n = 60"
            )
        self._services: Services | None = None
        self._store: Database | None = None
        self.procs: list[subprocess.Popen[bytes]] = []

    # -- the CLI ----------------------------------------------------------------------------------
    def dataops(self, *args: str, timeout: float = WAIT) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jupyter_dataops.cli", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def json(self, *args: str) -> Any:
        result = self.dataops(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    # -- in-process services and the store --------------------------------------------------------
    @property
    def services(self) -> Services:
        """Services as the CLI builds them (creating a schedule wakes this data dir's worker,
        starting one if none runs)."""
        if self._services is None:
            dataops = DataOps(
                config=Config(self.sections),
                root_dir=str(self.root),
                data_dir=str(self.data_dir),
                store_url=self.store_url,
            )
            self._services = Services.from_config(dataops, actor="tester")
        return self._services

    @property
    def store(self) -> Database:
        if self._store is None:
            self._store = Database(self.store_url)
        return self._store

    def poke(self) -> bool:
        return poke(self.data_dir)

    # -- a scheduler process ----------------------------------------------------------------------
    def start_scheduler(self, name: str = "scheduler") -> subprocess.Popen[bytes]:
        """``dataops scheduler`` in the background, its output in ``<base>/<name>.log``."""
        log = open(self.base / f"{name}.log", "ab")
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "jupyter_dataops.cli", "scheduler"],
                cwd=self.root,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        self.procs.append(proc)
        return proc

    def log(self, name: str = "scheduler") -> str:
        path = self.base / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def worker_state(self, pid: int | None = None) -> dict[str, Any] | None:
        """worker.json, if the worker it describes is ``pid`` (any, if None)."""
        state = read_state(self.data_dir)
        if state and (pid is None or state.get("pid") == pid):
            return state
        return None

    def wait_serving(self, proc: subprocess.Popen[bytes], name: str = "scheduler") -> str:
        """Wait until ``proc`` runs the worker (it wrote worker.json); its worker id."""

        def serving() -> str | None:
            assert proc.poll() is None, f"{name} exited ({proc.returncode}):\n{self.log(name)}"
            state = self.worker_state(proc.pid)
            return str(state["worker_id"]) if state else None

        return wait_for(f"{name} serving", serving)  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the processes this test started (by pid) and the worker of this data dir."""
        for proc in self.procs:
            stop_process(proc)
        if self._services is not None:
            with contextlib.suppress(Exception):
                self._services.supervisor.stop_worker(timeout=30)
            self._services.close()
            self._services = None
        else:
            with contextlib.suppress(Exception):
                self.dataops("worker", "stop", timeout=60)
        if self._store is not None:
            self._store.close()
            self._store = None


def stop_process(proc: subprocess.Popen[Any], grace: float = 30.0) -> int | None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; the exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited


@contextlib.contextmanager
def sched_env(base: Path, **kwargs: Any) -> Iterator[SchedEnv]:
    env = SchedEnv(base, **kwargs)
    try:
        yield env
    finally:
        env.close()


# -- a Jupyter server process ------------------------------------------------------------------------
class ServerProcess:
    """``jupyter server`` with jupyter-dataops on loopback, in a :class:`SchedEnv`'s folders."""

    def __init__(self, env: SchedEnv, *extra: str) -> None:
        import secrets
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.token = secrets.token_hex(16)
        self.env = env
        self.log = env.base / "server.log"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyter_server",
                    f"--ServerApp.port={self.port}",
                    "--ServerApp.port_retries=0",
                    "--ServerApp.ip=127.0.0.1",
                    f"--IdentityProvider.token={self.token}",
                    f"--ServerApp.root_dir={env.root}",
                    "--ServerApp.open_browser=False",
                    "--ServerApp.allow_root=True",
                    "--ServerApp.jpserver_extensions={'jupyter_dataops': True}",
                    *extra,
                ],
                cwd=env.root,
                env=env.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        env.procs.append(self.proc)

        def up() -> bool:
            assert self.proc.poll() is None, self.log.read_text(errors="replace")[-3000:]
            try:
                return self.request("GET", "info")[0] == 200
            except OSError:
                return False

        wait_for("the Jupyter server answering", up, interval=0.2)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """``/dataops/api/<path>``: (status, JSON body or None); never raises on 4xx/5xx."""
        import urllib.error
        import urllib.request

        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/dataops/api/{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        return status, json.loads(raw) if raw else None

    def stop(self) -> int | None:
        return stop_process(self.proc)
