"""The worker's supervisor, in the Jupyter server and the CLI: starts the worker when there is work,
wakes it, notices when it died, and stops it. It implements the jobs core's ``Dispatcher``.

There is one worker per data directory (an exclusive lock on ``<data_dir>/worker.lock``). The
supervisor takes the lock itself and hands the locked file to the worker it starts, so two
submits at once never start two workers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitlets import Bool, Float, Int, Unicode, default
from traitlets.config import Configurable

from ..core.errors import BackendUnavailable
from ..core.jobs.models import ACTIVE_STATUSES
from ..core.schedules.models import ScheduleStatus
from .state import LOG_FILE, poke, read_state, try_lock

if TYPE_CHECKING:
    from ..core.config import DataOps
    from ..core.store import Store


class Worker(Configurable):
    """The worker process that runs jobs (whatever the executor). Example:
    ``c.Worker.idle_timeout = 3600``"""

    idle_timeout = Float(
        900.0,
        help="Seconds the worker waits with no job before it exits (0: never). It is started "
        "again when there is work. Example: c.Worker.idle_timeout = 3600",
    ).tag(config=True)

    warm_start = Bool(
        True,
        help="Start the worker (and its kernel pool) when the Jupyter server starts, so the first "
        "job does not wait for imports and a kernel start. Example: c.Worker.warm_start = False",
    ).tag(config=True)

    python = Unicode(
        help="Python interpreter that runs the worker. Default: the one running this process. "
        "Example: c.Worker.python = '/opt/dataops/bin/python'"
    ).tag(config=True)

    poll_interval = Float(
        0.5,
        help="Seconds between the worker's looks at the store when nobody wakes it (a lost "
        "wake-up then costs at most this). Example: c.Worker.poll_interval = 1.0",
    ).tag(config=True)

    schedule_batch = Int(
        200,
        min=1,
        help="Due schedules fired in one transaction (their notebooks staged, then their jobs, "
        "due times and next due times written together): a burst of schedules due at the same "
        "minute costs a few statements per batch, not per schedule. Example: "
        "c.Worker.schedule_batch = 50",
    ).tag(config=True)

    @default("python")
    def _default_python(self) -> str:
        return sys.executable


def worker_config(dataops: DataOps) -> dict[str, Any]:
    """The settings the worker needs, as JSON: those of whoever starts it (the server's command
    line included). Values are read from configured objects, so they are typed (a command-line
    ``--Worker.warm_start=False`` is the string "False" in the raw configuration)."""
    from ..backends.notify import NotificationSender
    from ..core.config import other_executor_classes, other_provider_classes

    executor_class = dataops.job_executor_class
    executor = executor_class(parent=dataops, dataops=dataops)
    provider = dataops.sandbox_provider_class(parent=dataops, dataops=dataops)
    objects = [
        dataops,
        Worker(parent=dataops),
        executor,
        NotificationSender(parent=dataops),
        provider,
        # Settings the backends share with others (c.Kubernetes for a cluster's).
        *getattr(executor, "config_objects", list)(),
        *provider.config_objects(),
    ]
    for cls in other_executor_classes(dataops):
        other = cls(parent=dataops, dataops=dataops)
        objects += [other, *getattr(other, "config_objects", list)()]
    for cls in other_provider_classes(dataops):
        more = cls(parent=dataops, dataops=dataops)
        objects += [more, *more.config_objects()]
    sections: dict[str, Any] = {}
    for obj in objects:
        values = {}
        for name in obj.trait_names(config=True):
            value = getattr(obj, name)
            if name != "job_executor_class" and _jsonable(value):
                values[name] = value
        sections[type(obj).__name__] = values
    return sections


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class WorkerSupervisor:
    """Starts, wakes, checks and stops the worker of ``dataops.data_dir``."""

    def __init__(self, dataops: DataOps, store: Store) -> None:
        self.dataops = dataops
        self.store = store
        self.settings = Worker(parent=dataops)

    @property
    def data_dir(self) -> Path:
        return Path(self.dataops.data_dir)

    # -- Dispatcher ---------------------------------------------------------------------------
    def wake(self) -> None:
        self.ensure_running()
        poke(self.data_dir)

    def check(self) -> bool:
        if self.alive():
            return False
        with self.store.unit_of_work(read_only=True) as uow:
            active = (
                uow.jobs.count(ACTIVE_STATUSES)
                or uow.schedules.count([ScheduleStatus.ACTIVE])
                or uow.snapshots.next_push_at() is not None
            )
        if not active:
            return False
        # The worker died (or was killed) with jobs to run or schedules to fire: a new one fails
        # or retries the jobs it left running, runs the queue, fires what is due and pushes data.
        self.ensure_running()
        return True

    def status(self) -> dict[str, Any]:
        state = read_state(self.data_dir) if self.alive() else None
        report: dict[str, Any] = {
            "executor": self.dataops.job_executor_class.name,
            "running": state is not None,
            "pid": None,
        }
        if state:
            report.update(pid=state.get("pid"), started_at=state.get("started_at"))
        return report

    def stop(self) -> dict[str, Any]:
        report = self.status()
        report["stopped"] = self.stop_worker()
        report["running"] = self.alive()
        return report

    def warm_up(self) -> None:
        if self.settings.warm_start:
            self.ensure_running()

    # -- the process --------------------------------------------------------------------------
    def alive(self) -> bool:
        lock = try_lock(self.data_dir)
        if lock is None:
            return True
        lock.close()
        return False

    def ensure_running(self) -> None:
        """Start the worker unless one is running."""
        lock = try_lock(self.data_dir)
        if lock is None:
            return  # a worker runs (or is being started by someone else)
        executor_class = self.dataops.job_executor_class
        command = [
            self.settings.python,
            "-m",
            "jupyter_dataops.worker",
            "--data-dir",
            str(self.data_dir),
            "--store-url",
            self.store.url,
            "--executor-class",
            f"{executor_class.__module__}.{executor_class.__qualname__}",
            "--config",
            json.dumps(worker_config(self.dataops)),
            "--lock-fd",
            str(lock.fileno()),
        ]
        log_file = open(self.data_dir / LOG_FILE, "ab")
        try:
            subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,  # outlives the server or CLI that started it
                pass_fds=(lock.fileno(),),
            )
        except OSError as exc:
            raise BackendUnavailable(
                f"Cannot start the job worker: {exc.strerror or exc}.",
                hint="Check that c.Worker.python points at a Python with jupyter-dataops.",
            ) from exc
        finally:
            log_file.close()
            lock.close()  # the child's copy of the descriptor keeps the lock

    def stop_worker(self, timeout: float = 30) -> bool:
        """Ask the worker to stop (running jobs are retried or fail) and wait for it.

        A worker that is still starting (locked, but no state written yet) is waited for."""
        deadline = time.monotonic() + timeout
        state = read_state(self.data_dir)
        while state is None and self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
            state = read_state(self.data_dir)
        if state is None:
            return False
        try:
            os.kill(int(state["pid"]), signal.SIGTERM)
        except ProcessLookupError:
            return False
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.alive()
