"""The local executor: jobs run on this machine in a long-lived worker process (see worker.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from traitlets import Bool, Float, Int, Unicode, default

from ...core.errors import BackendUnavailable
from ...core.jobs.models import ACTIVE_STATUSES
from ..base import Executor
from .state import LOG_FILE, WorkerSettings, poke, read_state, try_lock


class LocalExecutor(Executor):
    """Runs jobs with papermill in a worker process on this machine.

    Example: ``c.LocalExecutor.max_concurrent_jobs = 4``
    """

    name = "local"

    max_concurrent_jobs = Int(
        help="Jobs run at once. Default: the number of CPU cores. "
        "Example: c.LocalExecutor.max_concurrent_jobs = 4",
    ).tag(config=True)

    kernel_pool_size = Int(
        2,
        help="Fresh kernels kept started for the most used kernel names, so a job does not wait "
        "for a kernel start; 0 starts each job's kernel on demand. Each costs ~60 MB of memory.",
    ).tag(config=True)

    fork_kernels = Bool(
        True,
        help="Fork Python kernels from a process that has already imported ipykernel (a "
        "'zygote') instead of starting each from scratch: about twice the kernel starts per CPU "
        "second. Each kernel is still a new, never-reused process. Only kernels that run "
        "ipykernel with the worker's own Python are forked; others start the usual way.",
    ).tag(config=True)

    idle_timeout = Float(
        900.0,
        help="Seconds the worker waits with no job before it exits (0: never). It is started "
        "again on the next submit.",
    ).tag(config=True)

    cell_timeout = Float(
        0.0, help="Limit for a single cell, in seconds (0: none). Whole-job limits are per job."
    ).tag(config=True)

    warm_start = Bool(
        True,
        help="Start the worker (and its kernel pool) when the Jupyter server starts, so the first "
        "job does not wait for imports and a kernel start.",
    ).tag(config=True)

    python = Unicode(
        help="Python interpreter that runs the worker. Default: the one running this process."
    ).tag(config=True)

    @default("max_concurrent_jobs")
    def _default_concurrency(self) -> int:
        return max(1, os.cpu_count() or 1)

    @default("python")
    def _default_python(self) -> str:
        return sys.executable

    @property
    def data_dir(self) -> Path:
        return Path(self.dataops.data_dir)

    def settings(self) -> WorkerSettings:
        return WorkerSettings(
            max_concurrent_jobs=self.max_concurrent_jobs,
            kernel_pool_size=self.kernel_pool_size,
            fork_kernels=self.fork_kernels,
            default_kernel=self.dataops.default_kernel_name,
            idle_timeout=self.idle_timeout,
            cell_timeout=self.cell_timeout,
            executor_name=self.name,
        )

    # -- the worker process -------------------------------------------------------------------
    def worker_alive(self) -> bool:
        lock = try_lock(self.data_dir)
        if lock is None:
            return True
        lock.close()
        return False

    def ensure_worker(self) -> None:
        """Start the worker unless one is running.

        The spawner takes the worker lock itself and hands the locked file to the child, so
        there is never a moment when a second submit could start a second worker.
        """
        lock = try_lock(self.data_dir)
        if lock is None:
            return  # a worker runs (or is being started by someone else)
        log_file = open(self.data_dir / LOG_FILE, "ab")
        try:
            subprocess.Popen(
                [
                    self.python,
                    "-m",
                    "jupyter_dataops.backends.local",
                    "--data-dir",
                    str(self.data_dir),
                    "--store-url",
                    self.store.url,
                    "--settings",
                    json.dumps(self.settings().__dict__),
                    "--lock-fd",
                    str(lock.fileno()),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,  # outlives the server or CLI that started it
                pass_fds=(lock.fileno(),),
            )
        except OSError as exc:
            raise BackendUnavailable(
                f"Cannot start the local worker: {exc}",
                hint="Check c.LocalExecutor.python points at a Python with jupyter-dataops.",
            ) from exc
        finally:
            log_file.close()
            lock.close()  # the child's copy of the descriptor keeps the lock

    def worker_state(self) -> dict[str, object] | None:
        return read_state(self.data_dir) if self.worker_alive() else None

    def stop_worker(self, timeout: float = 30) -> bool:
        """Ask the worker to stop (running jobs fail with the reason, or retry) and wait.

        A worker that is still starting (locked, but no state written yet) is waited for."""
        deadline = time.monotonic() + timeout
        state = read_state(self.data_dir)
        while state is None and self.worker_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
            state = read_state(self.data_dir)
        if state is None:
            return False
        try:
            os.kill(int(state["pid"]), signal.SIGTERM)
        except ProcessLookupError:
            return False
        while self.worker_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.worker_alive()

    # -- Executor -----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        state = self.worker_state()
        report: dict[str, Any] = {"executor": self.name, "running": state is not None, "pid": None}
        if state:
            report.update(pid=state.get("pid"), started_at=state.get("started_at"))
        return report

    def stop(self) -> dict[str, Any]:
        report = self.status()
        report["stopped"] = self.stop_worker()
        report["running"] = self.worker_alive()
        return report

    def submit(self, job: object) -> None:
        self.ensure_worker()
        poke(self.data_dir)

    def cancel(self, job: object) -> None:
        poke(self.data_dir)

    def warm_up(self) -> None:
        if self.warm_start:
            self.ensure_worker()

    def reconcile(self) -> list[str]:
        active = self.store.jobs_in(ACTIVE_STATUSES, executor=self.name)
        if not active:
            return []
        alive = self.worker_alive()
        self.ensure_worker()  # a new worker fails orphaned running jobs, then runs queued ones
        poke(self.data_dir)
        return [
            f"{len(active)} active local job(s); worker "
            + ("already running" if alive else "started to run or recover them")
        ]


__all__ = ["LocalExecutor"]
