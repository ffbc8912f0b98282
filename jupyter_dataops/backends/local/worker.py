"""The local worker: one long-lived process per data dir that runs queued jobs with papermill.

It lives apart from the Jupyter server, so jobs keep running when the server restarts and the CLI
works without a server. It holds an exclusive lock on ``<data_dir>/worker.lock`` (so at most one
runs), listens for wake-up datagrams on a loopback UDP port written to ``worker.json``, keeps warm
kernels in a pool (forked from a kernel zygote, see ``zygote.py``), and exits after
``idle_timeout`` seconds with nothing to do.

Run by hand: ``python -m jupyter_dataops.backends.local --data-dir DIR --store-url URL``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from ...core.jobs.models import JobError, JobStatus
from ...store.orm import JobRow
from ...store.repository import JobStore
from .kernels import KernelPool, close_thread_loop, run_silently
from .state import (
    LOCK_FILE,
    STATE_FILE,
    WorkerSettings,
    poke,
    read_state,
    try_lock,
)
from .zygote import ForkServer

log = logging.getLogger("jupyter_dataops.worker")


@dataclasses.dataclass
class RunningJob:
    job_id: str
    timeout: float | None
    started: float = dataclasses.field(default_factory=time.monotonic)
    km: Any = None
    stop_reason: str | None = None  # "cancelled" | "timeout" | "shutdown"
    thread: threading.Thread | None = None


class Worker:
    def __init__(self, store: JobStore, data_dir: Path, settings: WorkerSettings) -> None:
        self.store = store
        self.data_dir = data_dir
        self.settings = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.running: dict[str, RunningJob] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self.pool: KernelPool | None = None
        self.fork_server: ForkServer | None = None
        self.finished = 0  # jobs whose thread has ended
        self._collected_at = 0

    # -- lifecycle ----------------------------------------------------------------------------
    def serve(self, lock: Any | None = None) -> int:
        """Run until stopped or idle. ``lock`` is the worker lock if the spawner already took it."""
        lock = lock or try_lock(self.data_dir)
        if lock is None:
            log.info("another worker holds %s; exiting", self.data_dir / LOCK_FILE)
            return 0
        try:
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._sock.bind(("127.0.0.1", 0))
            self._sock.setblocking(False)
            state = {
                "pid": os.getpid(),
                "port": self._sock.getsockname()[1],
                "worker_id": self.worker_id,
                "started_at": time.time(),
                "store_url": self.store.url,
            }
            tmp = self.data_dir / (STATE_FILE + ".tmp")
            tmp.write_text(json.dumps(state))
            tmp.replace(self.data_dir / STATE_FILE)
            for note in self.reconcile():
                log.warning(note)
            # Import papermill (seconds) while the pool starts kernels, before the first job.
            threading.Thread(target=_warm_imports, daemon=True).start()
            if self.settings.fork_kernels:
                self.fork_server = ForkServer()
            self.pool = KernelPool(
                self.settings.kernel_pool_size,
                default_kernel=self.settings.default_kernel,
                fork_server=self.fork_server,
            )
            self._loop()
        finally:
            self._shutdown()
            with contextlib.suppress(FileNotFoundError):
                state_now = read_state(self.data_dir)
                if state_now and state_now.get("worker_id") == self.worker_id:
                    (self.data_dir / STATE_FILE).unlink()
            lock.close()
        return 0

    def stop(self, *_: Any) -> None:
        self._stop.set()

    def reconcile(self) -> list[str]:
        """Jobs marked running by a worker that is gone cannot be re-attached (their kernel died
        with it): retry them if they have retries left, else fail them with the reason."""
        notes = []
        for row in self.store.jobs_in([JobStatus.RUNNING], executor=self.settings.executor_name):
            if row.worker_id == self.worker_id:
                continue
            reason = (
                f"The worker ({row.worker_id}) stopped while the job was running "
                f"(attempt {row.attempt})."
            )
            self._finish_attempt(row, JobError(ename="WorkerLost", evalue=reason), retry_ok=True)
            notes.append(f"job {row.id}: {reason}")
        return notes

    def _loop(self) -> None:
        idle_since = time.monotonic()
        while not self._stop.is_set():
            self._wait_for_poke(self.settings.poll_interval)
            self._enforce_limits()
            with self._lock:
                free = self.settings.max_concurrent_jobs - len(self.running)
            for row in self.store.claim_queued(self.settings.executor_name, self.worker_id, free):
                self._start(row)
            with self._lock:
                busy = bool(self.running)
            self._collect_garbage(busy)
            if not (self.data_dir / STATE_FILE).exists():
                log.warning("%s was removed; exiting", self.data_dir / STATE_FILE)
                return
            if busy:
                idle_since = time.monotonic()
            elif (
                self.settings.idle_timeout > 0
                and time.monotonic() - idle_since > self.settings.idle_timeout
            ):
                log.info("idle for %.0f s; exiting", self.settings.idle_timeout)
                return

    def _collect_garbage(self, busy: bool) -> None:
        """Collect the reference cycles that each job's kernel clients leave behind now and
        then: they hold zmq sockets, and left to the collector's own schedule a busy worker
        would keep hundreds of descriptors open. When idle, or every 20 jobs."""
        done = self.finished - self._collected_at
        if done >= 20 or (done and not busy):
            import gc

            self._collected_at = self.finished
            gc.collect()

    def _wait_for_poke(self, timeout: float) -> None:
        assert self._sock is not None
        readable, _, _ = select.select([self._sock], [], [], timeout)
        if readable:
            with contextlib.suppress(BlockingIOError, OSError):
                while True:
                    self._sock.recv(64)

    def _enforce_limits(self) -> None:
        """Kill the kernels of jobs that were cancelled or ran past their time limit."""
        with self._lock:
            running = list(self.running.values())
        if not running:
            return
        cancelled = self.store.cancel_requests(self.settings.executor_name)
        for job in running:
            if job.stop_reason:
                continue
            if job.job_id in cancelled:
                self._kill(job, "cancelled")
            elif job.timeout and time.monotonic() - job.started > job.timeout:
                self._kill(job, "timeout")

    def _kill(self, job: RunningJob, reason: str) -> None:
        job.stop_reason = reason
        if job.km is not None:
            with contextlib.suppress(Exception):
                job.km.shutdown_kernel(now=True)

    def _shutdown(self) -> None:
        with self._lock:
            running = list(self.running.values())
        for job in running:
            self._kill(job, "shutdown")
        for job in running:
            if job.thread is not None:
                job.thread.join(timeout=30)
        if self.pool is not None:
            self.pool.close()
        if self.fork_server is not None:
            self.fork_server.close()
        if self._sock is not None:
            self._sock.close()

    # -- one job ------------------------------------------------------------------------------
    def _start(self, row: JobRow) -> None:
        job = RunningJob(job_id=row.id, timeout=row.timeout_seconds)
        with self._lock:
            self.running[row.id] = job
        # A daemon: a job stuck in a library call must never keep a stopping worker alive.
        job.thread = threading.Thread(
            target=self._run, args=(row, job), name=f"job-{row.id}", daemon=True
        )
        job.thread.start()

    def _run(self, row: JobRow, job: RunningJob) -> None:
        log_path = Path(row.output_dir) / "job.log"
        try:
            with open(log_path, "a", encoding="utf-8") as joblog:
                self._execute(row, job, joblog)
        except Exception:  # a bug here must not kill the worker or leave the job running
            log.exception("job %s crashed the runner", row.id)
            self._finish_attempt(
                row,
                JobError(ename="InternalError", evalue=traceback.format_exc(limit=3)),
                retry_ok=False,
            )
        finally:
            if job.km is not None:
                with contextlib.suppress(Exception):
                    job.km.stop_clients()
                with contextlib.suppress(Exception):
                    if job.km.is_alive():
                        job.km.shutdown_kernel(now=True)
            close_thread_loop()
            with self._lock:
                self.running.pop(row.id, None)
                self.finished += 1
            poke(self.data_dir)  # a slot is free: look for the next queued job now

    def _execute(self, row: JobRow, job: RunningJob, joblog: Any) -> None:
        def write(line: str) -> None:
            joblog.write(f"[{time.strftime('%H:%M:%S')}] {line}\n")
            joblog.flush()

        write(
            f"attempt {row.attempt}/{row.max_retries + 1}: {row.notebook_path} on kernel "
            f"{row.kernel_name} with parameters {json.dumps(row.parameters)}"
        )
        assert self.pool is not None
        km, warm = self.pool.acquire(row.kernel_name)
        job.km = km
        if job.stop_reason:  # cancelled while the kernel was starting
            self._kill(job, job.stop_reason)
        else:
            write(f"kernel ready ({'from the pool' if warm else 'started for this job'})")
            cwd = Path(row.root_dir, row.notebook_path).parent
            if cwd.is_dir():
                # Run where the notebook lives, as JupyterLab would, so relative paths work.
                run_silently(km, f"import os as __o; __o.chdir({str(cwd)!r}); del __o")

        code_cells: list[int] = []

        def on_cell(event: str, cell: Any, index: int) -> None:
            if cell.get("cell_type") != "code":
                return
            if event == "start":
                # One write per cell: where it is, and how many are done before it.
                self.store.update_job(row.id, current_cell=index, cells_completed=len(code_cells))
                return
            if event == "complete":
                code_cells.append(index)
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "stream":
                        for text_line in str(output.get("text", "")).rstrip("\n").splitlines():
                            write(f"cell {index} {output.get('name', 'stdout')}: {text_line}")

        from papermill import execute_notebook
        from papermill.engines import papermill_engines
        from papermill.exceptions import PapermillExecutionError

        from .engine import DataOpsEngine

        papermill_engines.register("dataops", DataOpsEngine)

        error: JobError | None = None
        try:
            if job.stop_reason:
                raise RuntimeError(job.stop_reason)
            execute_notebook(
                row.input_file,
                row.output_file,
                parameters=row.parameters,
                kernel_name=row.kernel_name,
                engine_name="dataops",
                km=km,
                progress_bar=False,
                log_output=False,
                execution_timeout=self.settings.cell_timeout or None,
                dataops_listener=on_cell,
            )
        except PapermillExecutionError as exc:
            error = JobError(
                cell_index=exc.cell_index,
                ename=exc.ename,
                evalue=exc.evalue,
                traceback=list(exc.traceback or []),
            )
        except Exception as exc:
            error = JobError(ename=type(exc).__name__, evalue=str(exc))

        if job.stop_reason == "cancelled":
            write("cancelled")
            self.store.update_job(
                row.id,
                from_status=[JobStatus.RUNNING],
                status=JobStatus.CANCELLED,
                finished_at=time.time(),
                current_cell=None,
                error=JobError(ename="Cancelled", evalue="Cancelled while running.").model_dump(),
            )
            return
        if job.stop_reason == "timeout":
            error = JobError(
                ename="TimeoutError",
                evalue=f"The job ran longer than its {row.timeout_seconds:g} s limit.",
            )
        elif job.stop_reason == "shutdown":
            error = JobError(ename="WorkerLost", evalue="The worker stopped while the job ran.")
        if error is None:
            write(f"completed: {len(code_cells)} code cells")
            self.store.update_job(
                row.id,
                from_status=[JobStatus.RUNNING],
                status=JobStatus.COMPLETED,
                finished_at=time.time(),
                current_cell=None,
                cells_completed=len(code_cells),
                cells_total=max(row.cells_total, len(code_cells)),
            )
            return
        where = f" in cell {error.cell_index}" if error.cell_index is not None else ""
        write(f"failed{where}: {error.ename}: {error.evalue}")
        self._finish_attempt(row, error, retry_ok=job.stop_reason != "shutdown")

    def _finish_attempt(self, row: JobRow, error: JobError, *, retry_ok: bool) -> None:
        """Fail an attempt: queue the next attempt if retries are left, else fail the job."""
        if retry_ok and row.attempt <= row.max_retries and not row.cancel_requested:
            self.store.update_job(
                row.id,
                from_status=[JobStatus.RUNNING],
                status=JobStatus.QUEUED,
                attempt=row.attempt + 1,
                error=error.model_dump(),
                worker_id=None,
            )
            return
        self.store.update_job(
            row.id,
            from_status=[JobStatus.RUNNING],
            status=JobStatus.FAILED,
            finished_at=time.time(),
            current_cell=None,
            error=error.model_dump(),
        )


def _warm_imports() -> None:
    with contextlib.suppress(Exception):
        import papermill  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dataops-worker", description=__doc__)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--store-url", required=True)
    parser.add_argument("--settings", default="{}", help="WorkerSettings as JSON")
    parser.add_argument(
        "--lock-fd", type=int, help="an inherited descriptor of worker.lock, already locked"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("traitlets").setLevel(logging.ERROR)  # per-client zmq teardown noise
    # fastjsonschema validates notebooks ~10x faster than jsonschema on every papermill write.
    os.environ.setdefault("NBFORMAT_VALIDATOR", "fastjsonschema")
    settings = WorkerSettings(**json.loads(args.settings))
    worker = Worker(JobStore(args.store_url), Path(args.data_dir), settings)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    lock = open(args.lock_fd, "a+", closefd=True) if args.lock_fd is not None else None
    return worker.serve(lock)
