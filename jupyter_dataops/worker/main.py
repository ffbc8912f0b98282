"""The worker: one long-lived process per data directory that runs jobs.

It lives apart from the Jupyter server, so jobs keep running when the server restarts and the CLI
works without a server. It holds an exclusive lock on ``<data_dir>/worker.lock`` (so at most one
runs), listens for wake-up datagrams on a loopback UDP port written to ``worker.json``, hosts the
core's :class:`~jupyter_dataops.core.jobs.runner.JobRunner` with the configured executor, and exits
after ``c.Worker.idle_timeout`` seconds with nothing to do.

Started by the supervisor: ``python -m jupyter_dataops.worker --data-dir DIR --store-url URL``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import getpass
import json
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ..backends.local.kernelspecs import installed_kernels
from ..core.config import DataOps
from ..core.context import Context
from ..core.identity import (
    ENV_ACTOR,
    ENV_JOB,
    ENV_ROOT,
    ENV_TOKEN,
    ENV_URL,
    TokenSigner,
    load_secret,
)
from ..core.jobs.runner import JobRunner
from ..core.jobs.service import JobService
from ..core.schedules.firing import ScheduleFirer
from ..core.schedules.models import ScheduleStatus
from ..store import Database
from .state import LOCK_FILE, SERVER_FILE, STATE_FILE, read_json, read_state, try_lock, write_json
from .supervisor import Worker

log = logging.getLogger("jupyter_dataops.worker")

#: Longest a job token lives; the server also refuses it once its job has ended.
JOB_TOKEN_SECONDS = 7 * 24 * 3600.0


class _Pushes:
    """The snapshots' dispatcher inside the worker: data to push, wake the pushing thread."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def wake(self) -> None:
        self.event.set()


class _InProcess:
    """The jobs' dispatcher inside the worker: there is work, wake the loop."""

    def __init__(self, worker: WorkerProcess) -> None:
        self.worker = worker

    def wake(self) -> None:
        self.worker.wake()

    def check(self) -> bool:
        return False

    def status(self) -> dict[str, Any]:
        return {}

    def stop(self) -> dict[str, Any]:
        return {}


class WorkerProcess:
    """The worker's loop: the job runner, and the schedule firer while this process holds the
    scheduler's lease."""

    #: Seconds between looks for ended scheduled runs to notify about, while nothing is due.
    outcome_interval = 2.0

    def __init__(
        self,
        ctx: Context,
        executor: Any,
        data_dir: Path,
        settings: Worker,
        *,
        notifier: Any = None,
        fire_schedules: bool = True,
        snapshots: Any = None,
        sandboxes: Any = None,
        others: list[Any] | None = None,
    ) -> None:
        self.ctx = ctx
        self.executor = executor
        self.data_dir = data_dir
        self.settings = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._signer: TokenSigner | None = None
        self._collected_at = 0
        self._pruned_at = 0.0
        #: One runner per executor: the default's, then those jobs may name
        #: (c.DataOps.job_executors); each starts only the jobs stored with its executor's name.
        self.runners = [
            JobRunner(
                ctx,
                each,
                worker_id=self.worker_id,
                max_concurrent=each.capabilities().max_concurrent_jobs or os.cpu_count() or 1,
                wake=self.wake,
                job_env=self.job_env,
            )
            for each in [executor, *(others or [])]
        ]
        self.firer: ScheduleFirer | None = None
        if fire_schedules:
            jobs = JobService(
                ctx,
                executor=executor,
                dispatcher=_InProcess(self),
                kernels=installed_kernels,
                others=others or (),
            )
            self.firer = ScheduleFirer(
                ctx, jobs, holder=self.worker_id, on_queued=self.wake, notifier=notifier
            )
            self.firer.batch = settings.schedule_batch
        self._poked = False
        self._deliver = threading.Event()
        #: Pushes snapshots' data to their DVC remotes (a SnapshotService), in a thread.
        self.snapshots = snapshots
        self._push = threading.Event()
        if snapshots is not None:
            snapshots.dispatcher = _Pushes(self._push)  # a snapshot taken here: push it soon
            if self.firer is not None:
                # Scheduled runs record the snapshot they run on (c.DataOps.snapshot_jobs).
                self.firer.jobs.before_run = snapshots.for_job
        #: Sandboxes (a SandboxService): scheduled runs may run in one (the Jupyter server
        #: settles them: a run's sandbox stops when the run ends).
        self.sandboxes = sandboxes
        if sandboxes is not None and self.firer is not None:
            self.firer.jobs.sandboxes = sandboxes

    # -- lifecycle ----------------------------------------------------------------------------
    def serve(self, lock: Any | None = None) -> int:
        """Run until stopped or idle. ``lock`` is the worker lock if the supervisor took it."""
        lock = lock or try_lock(self.data_dir)
        if lock is None:
            log.info("another worker holds %s; exiting", self.data_dir / LOCK_FILE)
            return 0
        try:
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._sock.bind(("127.0.0.1", 0))
            self._sock.setblocking(False)
            write_json(
                self.data_dir / STATE_FILE,
                {
                    "pid": os.getpid(),
                    "port": self._sock.getsockname()[1],
                    "worker_id": self.worker_id,
                    "started_at": time.time(),
                },
            )
            _import_shared_packages()
            for runner in list(self.runners):
                try:
                    notes = runner.open()
                except Exception:
                    # One executor that cannot start (a cluster out of reach, a missing
                    # permission) holds up none of the others; its jobs wait in the store.
                    log.exception(
                        "the %s executor could not start; its jobs wait until a worker can",
                        runner.executor.name,
                    )
                    self.runners.remove(runner)
                    with contextlib.suppress(Exception):
                        runner.executor.close()
                    continue
                for note in notes:
                    log.warning(note)
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
        self.wake()

    def wake(self) -> None:
        """Run a step now (called from executor threads when they report)."""
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"!")

    def _loop(self) -> None:
        idle_since = time.monotonic()
        next_tick = 0.0  # monotonic: when the firer has something to do next
        last_outcomes = 0.0
        if self.firer is not None:
            threading.Thread(target=self._delivering, name="notifications", daemon=True).start()
        if self.snapshots is not None:
            threading.Thread(target=self._pushing, name="snapshot-pushes", daemon=True).start()
        while not self._stop.is_set():
            timeout = self.settings.poll_interval
            if self.firer is not None:
                timeout = min(timeout, max(0.0, next_tick - time.monotonic()))
            poked = self._wait(timeout)
            if poked:
                self._push.set()
            busy = False
            for runner in self.runners:
                busy = runner.step() or busy
            now = time.monotonic()
            if self.firer is not None and (
                poked or now >= next_tick or now - last_outcomes >= self.outcome_interval
            ):
                try:
                    next_tick = time.monotonic() + self.firer.tick()
                    self._deliver.set()
                except Exception:  # e.g. the store is briefly unavailable: try again soon
                    log.exception("the scheduler could not fire")
                    next_tick = time.monotonic() + 5.0
                last_outcomes = now
            self._housekeeping(busy)
            if not (self.data_dir / STATE_FILE).exists():
                log.warning("%s was removed; exiting", self.data_dir / STATE_FILE)
                return
            if busy:
                idle_since = time.monotonic()
            elif (
                self.settings.idle_timeout > 0
                and time.monotonic() - idle_since > self.settings.idle_timeout
            ):
                if self._schedules_active() or self._pushes_pending():
                    idle_since = time.monotonic()  # never idle while schedules are to fire
                    continue
                log.info("idle for %.0f s; exiting", self.settings.idle_timeout)
                return

    def _schedules_active(self) -> bool:
        if self.firer is None:
            return False
        with self.ctx.store.unit_of_work(read_only=True) as uow:
            return uow.schedules.count([ScheduleStatus.ACTIVE]) > 0

    def _pushes_pending(self) -> bool:
        if self.snapshots is None:
            return False
        try:
            return bool(self.snapshots.pushes_pending())
        except Exception:
            log.exception("could not look for snapshot pushes")
            return False

    def _pushing(self) -> None:
        """Push snapshots' data when poked (a snapshot was taken) and every half minute (the
        retries' back-off), in a thread of its own: a slow remote holds up nothing else."""
        assert self.snapshots is not None
        while not self._stop.is_set():
            try:
                while self.snapshots.push_due() and not self._stop.is_set():
                    pass
            except Exception:
                log.exception("could not push snapshots' data")
            self._push.wait(30.0)
            self._push.clear()

    def _delivering(self) -> None:
        """Send due notifications in a thread of their own (a slow webhook must not hold up
        firing or jobs): when the firer has looked at outcomes, and every half minute."""
        assert self.firer is not None
        while not self._stop.is_set():
            self._deliver.wait(30.0)
            self._deliver.clear()
            try:
                self.firer.deliver()
            except Exception:
                log.exception("could not deliver notifications")

    def _wait(self, timeout: float) -> bool:
        """Wait for a wake-up or ``timeout``; whether another process poked (there is new
        work: a job, a schedule created or changed)."""
        assert self._sock is not None
        sock = self._sock
        readable, _, _ = select.select([sock.fileno(), self._wake_r], [], [], timeout)
        poked = sock.fileno() in readable
        for fd in readable:
            with contextlib.suppress(BlockingIOError, OSError):
                while True:  # drain: a burst of wake-ups is one step
                    if fd == sock.fileno():
                        sock.recv(64)
                    elif not os.read(self._wake_r, 4096):
                        break
        return poked

    def _housekeeping(self, busy: bool) -> None:
        """Collect the reference cycles that each job's kernel clients leave behind now and
        then (they hold zmq sockets: left to the collector's own schedule a busy worker would
        keep hundreds of descriptors open), when idle or every 20 jobs; prune old tombstones
        of the change log hourly."""
        finished = sum(r.finished for r in self.runners)
        done = finished - self._collected_at
        if done >= 20 or (done and not busy):
            import gc

            self._collected_at = finished
            gc.collect()
        if not busy and time.monotonic() - self._pruned_at > 3600:
            self._pruned_at = time.monotonic()
            with contextlib.suppress(Exception), self.ctx.store.unit_of_work() as uow:
                uow.changes.prune()  # type: ignore[attr-defined]
                uow.commit()

    def _shutdown(self) -> None:
        self._stop.set()
        self._deliver.set()
        self._push.set()
        if self.firer is not None:
            with contextlib.suppress(Exception):
                self.firer.release()  # another scheduler may take over at once
        for runner in self.runners:
            with contextlib.suppress(Exception):
                runner.shutdown()
        if self._sock is not None:
            self._sock.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- identity of job kernels --------------------------------------------------------------
    def job_env(self, job: Any) -> dict[str, str]:
        """How a job's kernel acts for ``%dataops``: through the running Jupyter server as the
        job's owner (a token bound to this job), or, with no server, on the store as the owner."""
        owner = job.owner or _os_user() or "unknown"
        server = read_json(self.data_dir / SERVER_FILE)
        if server and server.get("url") and _pid_alive(server.get("pid")):
            if self._signer is None:
                self._signer = TokenSigner(load_secret(self.data_dir))
            token = self._signer.mint(owner, f"job:{job.id}", ttl=JOB_TOKEN_SECONDS)
            return {
                ENV_URL: str(server["url"]),
                ENV_TOKEN: token,
                ENV_ROOT: str(server.get("root_dir") or job.root_dir),
                ENV_JOB: job.id,
            }
        return {ENV_ACTOR: owner, ENV_JOB: job.id}


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:
        return None


def _pid_alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (TypeError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


#: Packages that several of the worker's threads may import for the first time at once: the
#: local executor's warm import of papermill, a cluster executor's watch and its checks when the
#: firer stages a run (the kubernetes client), MLflow. Importing a package whose modules import
#: each other from two threads at once can fail ("cannot import name ... from partially
#: initialized module"), so the worker imports them before it starts any of those threads.
SHARED_PACKAGES = ("requests",)


def _import_shared_packages() -> None:
    import importlib

    for name in SHARED_PACKAGES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def run(dataops: DataOps, *, lock: Any | None = None, wait_for_lock: bool = False) -> int:
    """Run the worker of ``dataops.data_dir`` until it is stopped or idle.

    ``wait_for_lock`` (``dataops scheduler``): if another worker runs, wait until it exits and
    take over, rather than exit (a systemd service stays up as a stand-by)."""
    from ..backends.files import file_store_factory
    from ..backends.local.environment import kernel_environment
    from ..backends.local.workspace import workspace_factory
    from ..backends.notify import NotificationSender
    from ..backends.sandboxes import sandbox_service
    from ..core.config import other_executor_classes
    from ..core.snapshots.service import SnapshotService

    data_dir = Path(dataops.data_dir)
    if lock is None and wait_for_lock:
        while (lock := try_lock(data_dir)) is None:
            log.info("another worker holds %s; waiting to take over", data_dir / LOCK_FILE)
            time.sleep(5.0)
    executor = dataops.job_executor_class(parent=dataops, dataops=dataops)
    others = [cls(parent=dataops, dataops=dataops) for cls in other_executor_classes(dataops)]
    store = Database(dataops.store_url)
    ctx = Context(config=dataops, store=store, files=file_store_factory(dataops))
    snapshots = SnapshotService(
        ctx,
        workspace=workspace_factory(dataops),
        environment=functools.partial(
            kernel_environment, cache_file=Path(dataops.data_dir) / "environments.json"
        ),
    )
    worker = WorkerProcess(
        ctx,
        executor,
        data_dir,
        Worker(parent=dataops),
        notifier=NotificationSender(parent=dataops),
        fire_schedules=dataops.scheduler_class.fires_in_worker,
        snapshots=snapshots,
        sandboxes=sandbox_service(ctx, dataops, snapshots=snapshots),
        others=others,
    )
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    try:
        return worker.serve(lock)
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dataops-worker", description=__doc__)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--store-url", required=True)
    parser.add_argument("--executor-class", default="jupyter_dataops.backends.local.LocalExecutor")
    parser.add_argument("--config", default="{}", help="configuration sections as JSON")
    parser.add_argument(
        "--lock-fd", type=int, help="an inherited descriptor of worker.lock, already locked"
    )
    args = parser.parse_args(argv)
    configure_logging()
    from traitlets.config import Config

    config = Config(json.loads(args.config))
    dataops = DataOps(config=config, data_dir=args.data_dir, store_url=args.store_url)
    dataops.job_executor_class = args.executor_class
    lock = open(args.lock_fd, "a+", closefd=True) if args.lock_fd is not None else None
    return run(dataops, lock=lock)


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("traitlets").setLevel(logging.ERROR)  # per-client zmq teardown noise
    # fastjsonschema validates notebooks ~10x faster than jsonschema on every papermill write.
    os.environ.setdefault("NBFORMAT_VALIDATOR", "fastjsonschema")
