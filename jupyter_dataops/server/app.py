"""The Jupyter Server extension: REST handlers under ``/dataops/api``, live events, the worker's
supervision, and the credentials of the kernels the server starts.

The extension is an adapter: it builds the core services (:class:`~jupyter_dataops.services.Services`)
from ``c.DataOps.*`` settings, serves them over HTTP, and turns the store's change log into
versioned events (schema ``https://events.jupyter-dataops.org/job/v2``) on the server's event bus,
which JupyterLab receives over ``/api/events/subscribe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import os
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float

from ..core.config import DataOps
from ..core.events import (
    ENDPOINT_EVENT_SCHEMA_ID,
    JOB_EVENT_SCHEMA_ID,
    SANDBOX_EVENT_SCHEMA_ID,
    SCHEDULE_EVENT_SCHEMA_ID,
    SCHEMAS_DIR,
    SNAPSHOT_EVENT_SCHEMA_ID,
    endpoint_event,
    job_event,
    sandbox_event,
    schedule_event,
    snapshot_event,
)
from ..core.identity import (
    ENV_CERT,
    ENV_ROOT,
    ENV_TOKEN,
    ENV_URL,
    Claims,
    TokenSigner,
    load_secret,
)
from ..core.jobs.models import JobStatus
from ..core.schedules.models import ScheduleQuery
from ..worker.state import SERVER_FILE, read_json, write_json
from .handlers import default_handlers

if TYPE_CHECKING:
    from jupyter_events import EventLogger
    from jupyter_server.serverapp import ServerApp

    from ..core.store import Change
    from ..services import Services

JOB_EVENT_SCHEMA_PATH = SCHEMAS_DIR / "job" / "v2.yaml"
SCHEDULE_EVENT_SCHEMA_PATH = SCHEMAS_DIR / "schedule" / "v1.yaml"
SNAPSHOT_EVENT_SCHEMA_PATH = SCHEMAS_DIR / "snapshot" / "v1.yaml"
ENDPOINT_EVENT_SCHEMA_PATH = SCHEMAS_DIR / "endpoint" / "v1.yaml"
SANDBOX_EVENT_SCHEMA_PATH = SCHEMAS_DIR / "sandbox" / "v1.yaml"
#: How many changes one look at the change log reads.
_CHANGES_PAGE = 500


def server_owner() -> str:
    """Who a single-user server belongs to: the hub's user under JupyterHub, else the OS user
    (not the random display name that a token-authenticated browser gets)."""
    from ..services import os_user

    return os.environ.get("JUPYTERHUB_USER") or os_user() or "unknown"


class DataOpsExtension(ExtensionApp):
    """Serves jupyter-dataops to JupyterLab. Configure the core with ``c.DataOps.*``::

    c.DataOps.jobs_dir = "runs"
    c.DataOpsExtension.event_poll_interval = 0.5
    """

    name = "jupyter_dataops"
    # The extension has no page of its own; JupyterLab is the UI.
    load_other_extensions = True

    event_poll_interval = Float(
        0.25,
        help="""Seconds between two looks at the store's change log, each change becoming a job
        event. Jobs are changed by other processes too (the worker, the CLI), hence the polling;
        a look that finds nothing costs one indexed query.
        Example: c.DataOpsExtension.event_poll_interval = 1.0""",
    ).tag(config=True)

    supervise_interval = Float(
        2.0,
        help="""Seconds between two checks that the job worker runs while jobs are queued or
        running; a lost worker is replaced (its running jobs are retried or failed as
        WorkerLost) within about this long. Example: c.DataOpsExtension.supervise_interval = 5""",
    ).tag(config=True)

    endpoint_interval = Float(
        5.0,
        help="""Seconds between checks that the endpoints run as the store says (a crashed
        server is started again within about this long).
        Example: c.DataOpsExtension.endpoint_interval = 10""",
    ).tag(config=True)

    drift_interval = Float(
        60.0,
        help="""Seconds between drift scores of each running endpoint (a score over its
        threshold notifies the catalogue). Example: c.DataOpsExtension.drift_interval = 300""",
    ).tag(config=True)

    sandbox_interval = Float(
        5.0,
        help="""Seconds between checks of the sandboxes: their kernels' usage, kernels that
        died, idle timeouts and lifetimes. Example: c.DataOpsExtension.sandbox_interval = 15""",
    ).tag(config=True)

    warm_model_launcher = Bool(
        True,
        help="""Start the model server launcher (a process with MLflow imported, which forks
        each endpoint's server) when the server starts, so the first publish is fast.
        Example: c.DataOpsExtension.warm_model_launcher = False""",
    ).tag(config=True)

    kernel_token_lifetime = Float(
        30 * 24 * 3600.0,
        help="""Longest life of the credential each kernel gets for %dataops (seconds); it also
        ends when the kernel does. Example: c.DataOpsExtension.kernel_token_lifetime = 86400""",
    ).tag(config=True)

    def initialize_settings(self) -> None:
        server = self._server
        self.dataops = DataOps(parent=self, config=self.config, root_dir=server.root_dir)
        self._services: Services | None = None
        self._services_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = getattr(
            getattr(server, "io_loop", None), "asyncio_loop", None
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._reconcile_task: asyncio.Future[Any] | None = None
        self._signer = TokenSigner(load_secret(self.dataops.data_dir))
        self._event_logger.register_event_schema(JOB_EVENT_SCHEMA_PATH)
        self._event_logger.register_event_schema(SCHEDULE_EVENT_SCHEMA_PATH)
        self._event_logger.register_event_schema(SNAPSHOT_EVENT_SCHEMA_PATH)
        self._event_logger.register_event_schema(ENDPOINT_EVENT_SCHEMA_PATH)
        self._event_logger.register_event_schema(SANDBOX_EVENT_SCHEMA_PATH)
        self._give_kernels_credentials()
        self._protect_cache_on_save()

    def _protect_cache_on_save(self) -> None:
        """Saving a data file in JupyterLab writes it in place: one that DVC linked to its cache
        gets its own copy first, so the save changes the file, never a snapshot's cached copy
        (and a file DVC made read-only can be saved)."""
        manager = getattr(self._server, "contents_manager", None)
        register = getattr(manager, "register_pre_save_hook", None)
        os_path = getattr(manager, "_get_os_path", None)
        if register is None or os_path is None:
            return  # a contents manager that does not keep files on this disk

        def unlink_before_save(model: Any, path: str, contents_manager: Any, **kwargs: Any) -> None:
            from ..backends.local.workspace import break_cache_link

            try:
                if break_cache_link(os_path(path)):
                    self.log.info("jupyter_dataops: %s now has its own copy (was DVC's)", path)
            except OSError as exc:
                self.log.warning("jupyter_dataops: could not copy %s before saving: %s", path, exc)

        register(unlink_before_save)

    def initialize_handlers(self) -> None:
        self.handlers.extend(default_handlers)

    @property
    def _server(self) -> ServerApp:
        assert self.serverapp is not None, "the extension is not linked to a server"
        return self.serverapp

    @property
    def _event_logger(self) -> EventLogger:
        logger = self._server.event_logger
        assert logger is not None, "the server has no event logger"
        return logger

    # -- the core -----------------------------------------------------------------------------
    @property
    def services(self) -> Services:
        """The core services, built on first use (from a worker thread: building them opens the
        store and may run its migrations, which must not hold up the event loop)."""
        with self._services_lock:
            if self._services is None:
                from ..services import Services

                self._services = Services.from_config(
                    self.dataops, kernels=self._kernels, actor=server_owner()
                )
            return self._services

    def _kernels(self) -> dict[str, str | None]:
        """Kernels the server knows (name -> language), so a job never names one that this
        server cannot start."""
        manager: Any = self._server.kernel_spec_manager
        found = manager.get_all_specs()
        if inspect.isawaitable(found):
            loop = self._loop
            if loop is None or _on_loop_thread(loop):
                # Never block the loop on itself; the async manager's specs are then unknown.
                if inspect.iscoroutine(found):
                    found.close()
                from ..backends.local.kernelspecs import installed_kernels

                return installed_kernels()
            found = asyncio.run_coroutine_threadsafe(_awaited(found), loop).result(timeout=60)
        return {name: (spec.get("spec") or {}).get("language") for name, spec in found.items()}

    # -- identity -----------------------------------------------------------------------------
    def _give_kernels_credentials(self) -> None:
        """Every kernel this server starts gets the server's URL and a DataOps token bound to
        that kernel, so ``%dataops`` in it acts through this server as its owner (never by
        opening the store from user code)."""
        manager: Any = self._server.kernel_manager
        original = getattr(manager, "_kernel_start_kwargs", None)
        if original is None or getattr(original, "_dataops", False):
            self.log.warning(
                "jupyter_dataops: this jupyter_server cannot give kernels a DataOps credential; "
                "%%dataops in its kernels acts on the store as the OS user"
            )
            return

        def kernel_start_kwargs(**kwargs: Any) -> dict[str, Any]:
            launch = original(**kwargs)
            kernel_id = launch.setdefault("kernel_id", str(uuid.uuid4()))
            env = dict(launch.get("env") or os.environ)
            env[ENV_URL] = self.local_url()
            env[ENV_TOKEN] = self._signer.mint(
                server_owner(), f"kernel:{kernel_id}", ttl=self.kernel_token_lifetime
            )
            env[ENV_ROOT] = str(Path(self._server.root_dir).expanduser().resolve())
            if self._server.certfile:
                env[ENV_CERT] = str(self._server.certfile)
            launch["env"] = env
            return launch

        kernel_start_kwargs._dataops = True  # type: ignore[attr-defined]
        manager._kernel_start_kwargs = kernel_start_kwargs

    def local_url(self) -> str:
        """The server's URL as a process on this machine reaches it."""
        server = self._server
        scheme = "https" if server.certfile else "http"
        host = server.ip if server.ip not in ("", "0.0.0.0", "::", "*") else "127.0.0.1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{scheme}://{host}:{server.port}{server.base_url}"

    def verify_token(self, token: str) -> Claims:
        """The claims of a DataOps token, if it is valid now: signed here, not expired, and
        what it is bound to still lives (the kernel runs here; the job is running)."""
        from ..core.identity import InvalidToken

        claims = self._signer.verify(token)
        if claims.kind == "kernel":
            if claims.target not in self._server.kernel_manager:
                raise InvalidToken(
                    "The kernel this DataOps token was given to is gone.",
                    hint="Restart the kernel to get a new one.",
                )
        elif claims.kind == "job":
            record = self.services.jobs.record(claims.target)
            if record.status != JobStatus.RUNNING.value:
                raise InvalidToken("The job this DataOps token was given to has ended.")
        else:
            raise InvalidToken("The DataOps token is bound to nothing this server knows.")
        return claims

    # -- events -------------------------------------------------------------------------------
    def _emit(self, change: Change, summary: Any) -> None:
        try:
            if change.kind == "schedule":
                schema_id, data = SCHEDULE_EVENT_SCHEMA_ID, schedule_event(change, summary)
            elif change.kind == "snapshot":
                schema_id, data = SNAPSHOT_EVENT_SCHEMA_ID, snapshot_event(change, summary)
            elif change.kind == "endpoint":
                schema_id, data = ENDPOINT_EVENT_SCHEMA_ID, endpoint_event(change, summary)
            elif change.kind == "sandbox":
                schema_id, data = SANDBOX_EVENT_SCHEMA_ID, sandbox_event(change, summary)
            else:
                schema_id, data = JOB_EVENT_SCHEMA_ID, job_event(change, summary)
            self._event_logger.emit(schema_id=schema_id, data=data)
        except Exception:  # an event must never break the watcher
            self.log.exception(
                "jupyter_dataops: could not emit an event for %s %s", change.kind, change.id
            )

    # -- lifecycle ----------------------------------------------------------------------------
    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        self._loop = asyncio.get_running_loop()
        self._write_server_file()
        self._reconcile_task = asyncio.ensure_future(self._reconcile())
        if not self._tasks:
            # Events start from the change log as it is now, before any request is served:
            # a change made right after start-up is told, not taken for the past.
            try:
                since = await asyncio.to_thread(lambda: self.services.jobs.latest_change())
            except Exception as exc:
                self.log.warning("jupyter_dataops: cannot read the change log yet: %s", exc)
                since = None
            self._tasks = [
                asyncio.create_task(self._watch(since), name="jupyter_dataops-events"),
                asyncio.create_task(self._supervise(), name="jupyter_dataops-supervise"),
                asyncio.create_task(self._serve_endpoints(), name="jupyter_dataops-endpoints"),
                asyncio.create_task(self._watch_sandboxes(), name="jupyter_dataops-sandboxes"),
            ]

    def _write_server_file(self) -> None:
        """Tell the worker where job kernels reach this server (see worker.main.job_env)."""
        try:
            write_json(
                Path(self.dataops.data_dir) / SERVER_FILE,
                {
                    "url": self.local_url(),
                    "pid": os.getpid(),
                    "root_dir": str(Path(self._server.root_dir).expanduser().resolve()),
                },
            )
        except OSError as exc:
            self.log.warning("jupyter_dataops: cannot write %s: %s", SERVER_FILE, exc)

    async def _reconcile(self) -> None:
        """After a restart: let a worker settle the jobs a lost worker left running and run the
        queue, then get the worker ready for the first job. In a thread: the server starts at once."""
        try:
            await asyncio.to_thread(lambda: self.services.supervisor.check())
            await asyncio.to_thread(lambda: self.services.supervisor.warm_up())
        except Exception:
            self.log.exception("jupyter_dataops: could not start the job worker")

    async def _supervise(self) -> None:
        """Notice a lost worker within seconds while jobs wait or run (not only at the next submit)."""
        while True:
            await asyncio.sleep(self.supervise_interval)
            try:
                started = await asyncio.to_thread(lambda: self.services.supervisor.check())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.debug("jupyter_dataops: cannot check the job worker: %s", exc)
                continue
            if started:
                self.log.warning(
                    "jupyter_dataops: the job worker was gone with jobs to run; started a new one"
                )

    async def _serve_endpoints(self) -> None:
        """Keep the endpoints as the store says (the store is the source of truth): start again
        the ones that should run but whose server died, on the same port; score their drift
        every ``drift_interval``. The first pass runs at start-up, after a restart."""
        first = True
        while True:
            try:
                done = await asyncio.to_thread(
                    lambda: self.services.endpoints.reconcile(drift_every=self.drift_interval)
                )
                for line in done:
                    self.log.warning("jupyter_dataops: endpoint %s", line)
                if first:
                    first = False
                    await asyncio.to_thread(self._warm_launcher)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.debug("jupyter_dataops: cannot reconcile endpoints: %s", exc)
            await asyncio.sleep(self.endpoint_interval)

    async def _watch_sandboxes(self) -> None:
        """Keep the sandboxes as the store says: settle what a restart or a crash left (re-attach
        the ready ones, fail interrupted provisioning, release devices once), sample their
        kernels' usage, tell kernels that died, and stop idle or expired sandboxes (after a
        warning). Kernels this server runs count as active while busy or talked to."""
        while True:
            try:
                busy = self._kernel_activity()
                done = await asyncio.to_thread(
                    functools.partial(self.services.sandboxes.reconcile, busy_kernels=busy)
                )
                for line in done:
                    self.log.info("jupyter_dataops: sandbox %s", line)
                await self.shut_down_stopped_sandbox_kernels()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.debug("jupyter_dataops: cannot reconcile sandboxes: %s", exc)
            await asyncio.sleep(self.sandbox_interval)

    async def shut_down_stopped_sandbox_kernels(self) -> None:
        """Shut down this server's kernels of sandboxes that ended (their processes are gone or
        going), so JupyterLab shows them as ended instead of restarting them in vain."""
        from ..backends.sandbox_files import KERNEL_PREFIX

        manager: Any = self._server.kernel_manager
        sandboxes = self.services.sandboxes
        for kernel_id in list(manager.list_kernel_ids()):
            with contextlib.suppress(Exception):
                name = manager.get_kernel(kernel_id).kernel_name or ""
                if name.startswith(KERNEL_PREFIX) and await asyncio.to_thread(
                    sandboxes.has_ended, name[len(KERNEL_PREFIX) :]
                ):
                    self.log.info(
                        "jupyter_dataops: its sandbox ended; shutting down kernel %s", kernel_id
                    )
                    await self._shut_down_kernel(kernel_id)

    async def shut_down_sandbox_kernels(self, sandbox_id: str) -> None:
        """Shut down this server's kernels of a sandbox about to stop, before it stops: else
        its kernels' restarter may see them die and start them again in a sandbox that is
        going."""
        from ..backends.sandbox_files import KERNEL_PREFIX

        manager: Any = self._server.kernel_manager
        for kernel_id in list(manager.list_kernel_ids()):
            with contextlib.suppress(Exception):
                if manager.get_kernel(kernel_id).kernel_name == KERNEL_PREFIX + sandbox_id:
                    await self._shut_down_kernel(kernel_id)

    async def _shut_down_kernel(self, kernel_id: str) -> None:
        """Shut a kernel down; one whose shutdown fails (its process gone, a restart under way)
        is taken out of the server's list all the same, so it is not shown as running."""
        manager: Any = self._server.kernel_manager
        try:
            await manager.shutdown_kernel(kernel_id, now=True)
        except Exception as exc:
            self.log.info(
                "jupyter_dataops: kernel %s did not shut down (%s); removed", kernel_id, exc
            )
            with contextlib.suppress(Exception):
                manager.remove_kernel(kernel_id)

    def _kernel_activity(self) -> dict[str, float]:
        """When each kernel of this server was last active (busy now counts as now)."""
        import time

        manager: Any = self._server.kernel_manager
        found: dict[str, float] = {}
        now = time.time()
        for kernel_id in list(manager.list_kernel_ids()):
            with contextlib.suppress(Exception):
                kernel = manager.get_kernel(kernel_id)
                if getattr(kernel, "execution_state", None) == "busy":
                    found[kernel_id] = now
                elif getattr(kernel, "last_activity", None) is not None:
                    found[kernel_id] = kernel.last_activity.timestamp()
        return found

    def _warm_launcher(self) -> None:
        """Have the model server launcher warm before the first publish (a fork, not ~5 s of
        imports), when this project publishes at all."""
        if not self.warm_model_launcher:
            return
        services = self.services
        starts = [
            start
            for target in services.endpoints.targets.values()
            if (start := getattr(target, "start_launcher", None)) is not None
        ]
        uri = self.dataops.mlflow_tracking_uri
        registry_exists = not uri.startswith("sqlite:///") or Path(uri[10:]).exists()
        if starts and (services.endpoints.list().total or registry_exists):
            for start in starts:
                start(wait=False)

    async def _watch(self, seq: int | None = None) -> None:
        """Emit one event per job or schedule change in the store's change log, in order."""
        failures = 0
        while True:
            try:
                if seq is None:
                    seq = await asyncio.to_thread(lambda: self.services.jobs.latest_change())
                while True:  # read in a thread, emit on the loop (event listeners need it)
                    changes, summaries = await asyncio.to_thread(self._read_changes, seq)
                    for change in changes:
                        if change.kind in ("job", "schedule", "snapshot", "endpoint", "sandbox"):
                            self._emit(change, summaries.get((change.kind, change.id)))
                        seq = change.seq
                    if len(changes) < _CHANGES_PAGE:
                        break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                log = self.log.warning if failures == 1 else self.log.debug
                log("jupyter_dataops: cannot read job changes (%s); retrying", exc)
                await asyncio.sleep(min(5.0, self.event_poll_interval * 2**failures))
                continue
            failures = 0
            await asyncio.sleep(self.event_poll_interval)

    def _read_changes(self, since: int) -> tuple[list[Change], dict[tuple[str, str], Any]]:
        """The changes after ``since`` and the summaries of the jobs and schedules they concern."""
        services = self.services
        changes = services.jobs.changes(since, limit=_CHANGES_PAGE)
        alive: dict[str, list[str]] = {
            "job": [],
            "schedule": [],
            "snapshot": [],
            "endpoint": [],
            "sandbox": [],
        }
        for change in changes:
            if change.action != "deleted" and change.kind in alive:
                alive[change.kind].append(change.id)
        found: dict[tuple[str, str], Any] = {}
        if alive["job"]:
            found.update((("job", s.id), s) for s in services.jobs.summaries(alive["job"]))
        if alive["schedule"]:
            query = ScheduleQuery(id=alive["schedule"], limit=len(alive["schedule"]))
            found.update((("schedule", s.id), s) for s in services.schedules.list(query).items)
        for snapshot_id in alive["snapshot"]:
            with contextlib.suppress(Exception):  # of another project, or gone meanwhile
                found[("snapshot", snapshot_id)] = services.snapshots.get(snapshot_id)
        for name in alive["endpoint"]:
            with contextlib.suppress(Exception):  # of another project, or gone meanwhile
                found[("endpoint", name)] = services.endpoints.get(name)
        for sandbox_id in alive["sandbox"]:
            with contextlib.suppress(Exception):  # gone meanwhile
                found[("sandbox", sandbox_id)] = services.sandboxes.get(sandbox_id)
        return changes, found

    async def stop_extension(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._reconcile_task is not None:
            with contextlib.suppress(Exception):
                await self._reconcile_task
        with contextlib.suppress(OSError):
            path = Path(self.dataops.data_dir) / SERVER_FILE
            info = read_json(path)
            if info and info.get("pid") == os.getpid():
                path.unlink()
        with self._services_lock:
            services, self._services = self._services, None
        if services is not None:
            await asyncio.to_thread(services.close)


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


async def _awaited(value: Any) -> Any:
    return await value
