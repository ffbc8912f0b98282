"""A small pool of fresh, started, never-used kernels, so a job does not wait for a kernel start.

A kernel is handed out once and never returns to the pool: each job gets a clean interpreter, as
it would from the papermill CLI. The pool refills in background threads.

Also how a kernel ended, told to users (:func:`describe_kernel_exit`), and :class:`KernelDied`,
raised as soon as a kernel we wait for is found dead rather than after a time-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import signal
import subprocess
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any, TypeVar

from jupyter_client.asynchronous import AsyncKernelClient

from .zygote import ForkedProcess, ForkServer, forking_provisioner_class

T = TypeVar("T")

log = logging.getLogger("jupyter_dataops.worker")

#: How often a wait on a kernel checks that its process still runs (seconds).
LIVENESS_INTERVAL = 0.2
#: How long :func:`describe_kernel_exit` waits for the status of a kernel whose process is gone.
EXIT_STATUS_WAIT = 1.0


class KernelDied(RuntimeError):
    """The kernel's process ended while we waited on it; the message says how, for users (see
    :func:`describe_kernel_exit`)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def describe_kernel_exit(km: Any) -> str | None:
    """How the kernel of ``km`` ended, in one sentence for users; None while its process lives.

    For example "the kernel died: killed by signal 9 (SIGKILL); out of memory?", "the kernel
    exited with code 3", or "the kernel was killed by the worker" when this process stopped it
    (``shutdown_kernel``) while it still ran. Works for kernels forked from the zygote (their
    status comes from it) and for usual ones alike, also after the kernel manager has cleaned
    up. If the process is gone but its status has not arrived yet, waits for it up to
    ``EXIT_STATUS_WAIT`` seconds. Never blocks on an event loop: callable from async code."""
    process = getattr(km, "kernel_process", None)
    if process is None:
        provisioner = getattr(km, "provisioner", None)
        process = getattr(provisioner, "process", None)
    if process is None:
        if not getattr(km, "_attempted_start", False):
            return None  # never started
        # A kernel manager of another kind, cleaned up: the process is forgotten.
        return "the kernel is gone; how it ended is not known"
    code = process.poll()
    if code is None:
        # Only a forked kernel can be gone with its status still on its way (from the zygote).
        if not (isinstance(process, ForkedProcess) and process.exited()):
            return None
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = process.wait(EXIT_STATUS_WAIT)
    stopped = getattr(km, "stopped_by_worker", None)
    if stopped is not None:
        return f"the kernel was {stopped} by the worker"
    if code is None or not getattr(process, "exit_status_known", True):
        return "the kernel died; how is not known (the kernel zygote did not tell)"
    if code >= 0:
        return f"the kernel exited with code {code}"
    signum = -code
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = "unknown signal"
    sentence = f"the kernel died: killed by signal {signum} ({name})"
    if signum == signal.SIGKILL:  # what the system's OOM killer sends (we did not: see above)
        sentence += "; out of memory?"
    return sentence


def _kernel_alive(km: Any) -> bool:
    """Whether the kernel's process still runs, without an event loop (``km.is_alive()`` needs
    one, and this is called from within one)."""
    return describe_kernel_exit(km) is None


async def _unless_kernel_dies(km: Any, work: Awaitable[T]) -> T:
    """Await ``work``, checking every ``LIVENESS_INTERVAL`` that the kernel still runs: a kernel
    killed meanwhile raises :class:`KernelDied` at once instead of after ``work``'s time-out."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=LIVENESS_INTERVAL)
            if done:
                return task.result()
            description = describe_kernel_exit(km)
            if description is not None:
                raise KernelDied(description)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


class ReadyKernelClient(AsyncKernelClient):
    """An async client whose readiness check ends as soon as it can, not after a fixed wait.

    jupyter_client's ``wait_for_ready`` ends by flushing IOPub until 0.2 s pass with no message,
    so every job would wait 0.2 s on a kernel that already answered. This one sends kernel_info
    and returns once the kernel reports ``idle`` for that request on IOPub: the reply proves the
    shell channel works and the status proves the IOPub subscription is live (a late
    subscription misses it, and the request is simply sent again).
    """

    def _context_default(self) -> Any:
        # One zmq context for the process: by default each client makes its own (an I/O thread)
        # and destroys it when it stops, three times per job. Contexts are thread-safe; each
        # client's sockets stay in the thread that made them.
        import zmq.asyncio

        return zmq.asyncio.Context.instance()

    async def wait_for_ready(self, timeout: float | None = None) -> None:  # type: ignore[override]
        deadline = time.monotonic() + (timeout if timeout is not None else 60.0)
        while True:
            msg_id = self.kernel_info()
            reply = await self._reply_to(msg_id, timeout=1.0)
            if reply is not None and await self._idle_after(msg_id, timeout=0.5):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise KernelDied(describe_kernel_exit(self.parent) or "the kernel died")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    async def _reply_to(self, msg_id: str, timeout: float) -> dict[str, Any] | None:
        return await _first(
            self.shell_channel, lambda m: m["parent_header"].get("msg_id") == msg_id, timeout
        )

    async def _idle_after(self, msg_id: str, timeout: float) -> bool:
        idle = await _first(
            self.iopub_channel,
            lambda m: (
                m["msg_type"] == "status"
                and m["parent_header"].get("msg_id") == msg_id
                and m["content"].get("execution_state") == "idle"
            ),
            timeout,
        )
        return idle is not None


async def _first(channel: Any, wanted: Any, timeout: float) -> dict[str, Any] | None:
    """The first message on ``channel`` for which ``wanted(msg)`` holds, or None after ``timeout``."""
    end = time.monotonic() + timeout
    while (left := end - time.monotonic()) > 0:
        try:
            msg = await channel.get_msg(timeout=left)
        except queue.Empty:
            return None
        if wanted(msg):
            return dict(msg)
    return None


#: The client nbclient gets for a job's kernel. It must be async: nbclient awaits its get_msg,
#: and a blocking client would stall its event loop, so a killed kernel (cancel, time limit)
#: would never be noticed.
JOB_CLIENT_CLASS = f"{ReadyKernelClient.__module__}.{ReadyKernelClient.__qualname__}"


def start_kernel(
    kernel_name: str,
    *,
    cwd: str | None = None,
    timeout: float = 60,
    fork_server: ForkServer | None = None,
) -> Any:
    """Start a kernel and wait until it answers, as nbclient would before running cells.

    Its clients are :class:`ReadyKernelClient`: async (so nbclient notices a killed kernel) and
    ready without a fixed wait. With a ``fork_server``, a kernel it can fork is forked from it
    (see :mod:`.zygote`); any other kernel is started the usual way."""
    import uuid

    km = _job_kernel_manager_class()(kernel_name=kernel_name, client_class=JOB_CLIENT_CLASS)
    if fork_server is not None and not km.kernel_spec.metadata.get("kernel_provisioner"):
        km.kernel_id = str(uuid.uuid4())
        provisioner = forking_provisioner_class()(
            kernel_id=km.kernel_id, kernel_spec=km.kernel_spec, parent=km
        )
        provisioner.fork_server = fork_server
        km.provisioner = provisioner
    km.start_kernel(cwd=cwd)
    try:
        asyncio.run(_with_client(km, None, timeout))
    except BaseException:
        km.shutdown_kernel(now=True)
        raise
    return km


@functools.cache
def _job_kernel_manager_class() -> type:
    from jupyter_client.manager import KernelManager
    from jupyter_core.utils import run_sync

    class JobKernelManager(KernelManager):  # type: ignore[misc]
        """A KernelManager that remembers the clients it makes, so :meth:`stop_clients` can
        close them: nbclient leaves the channels of a client for a kernel it was handed (as
        papermill's ``km=``) open, a heartbeat thread and five sockets per job.

        It also keeps the kernel's process after cleaning up (the provisioner forgets it), and
        whether this process stopped the kernel while it ran: :func:`describe_kernel_exit` tells
        a kernel we stopped from one that died."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._clients: list[Any] = []
            #: The kernel's process (``Popen`` or ``ForkedProcess``), kept after clean-up.
            self.kernel_process: Any = None
            #: "killed" or "shut down" when this process stopped the running kernel.
            self.stopped_by_worker: str | None = None

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            self.kernel_process = None
            self.stopped_by_worker = None
            await super()._async_launch_kernel(kernel_cmd, **kw)
            self.kernel_process = getattr(self.provisioner, "process", None)

        async def _async_shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
            # Decided before stopping it: a kernel that had died already keeps its own cause.
            if self.stopped_by_worker is None and _kernel_alive(self):
                self.stopped_by_worker = "killed" if now else "shut down"
            await super()._async_shutdown_kernel(now=now, restart=restart)

        # The blocking form wraps the function it is given, not the method: wrap the override.
        shutdown_kernel = run_sync(_async_shutdown_kernel)

        def client(self, **kwargs: Any) -> Any:
            kc = super().client(**kwargs)
            self._clients.append(kc)
            return kc

        def stop_clients(self) -> None:
            """Stop the channels of every client made for this kernel. Call it from the thread
            that used them, once it is done with them."""
            clients, self._clients = self._clients, []
            for kc in clients:
                with contextlib.suppress(Exception):
                    kc.stop_channels()

    return JobKernelManager


def run_silently(km: Any, code: str, timeout: float = 30) -> None:
    """Run a line of setup code (e.g. a chdir) in a started kernel, raising if it fails:
    :class:`KernelDied` within about a second if the kernel dies meanwhile (a job cancelled just
    after it started), RuntimeError if the code fails, TimeoutError after ``timeout``."""
    asyncio.run(_with_client(km, code, timeout))


async def _with_client(km: Any, code: str | None, timeout: float) -> None:
    kc = km.client()
    kc.start_channels()
    try:
        await _unless_kernel_dies(km, kc.wait_for_ready(timeout=timeout))
        if code is not None:
            reply = await _unless_kernel_dies(
                km,
                kc.execute_interactive(code, silent=True, store_history=False, timeout=timeout),
            )
            if reply["content"].get("status") != "ok":
                raise RuntimeError(f"kernel setup failed: {reply['content'].get('evalue')}")
    finally:
        kc.stop_channels()


def close_thread_loop() -> None:
    """Close the event loop of the calling thread, if it has one; call it as a thread ends.

    jupyter_client's blocking KernelManager methods (and nbclient's) run on an event loop that
    jupyter_core makes for each thread and never closes. The worker runs each job and each
    kernel start in a thread of its own, so without this every job would leak an epoll
    descriptor and a socket pair."""
    with contextlib.suppress(RuntimeError):
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if not loop.is_running():
            loop.close()
            asyncio.set_event_loop(None)


def _has_provisioner(name: str) -> bool:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return False
    return bool((spec.metadata or {}).get("kernel_provisioner"))


class KernelPool:
    """Keeps ``size`` started kernels for each of the most recently used kernel names."""

    def __init__(
        self,
        size: int,
        *,
        default_kernel: str,
        max_names: int = 3,
        fork_server: ForkServer | None = None,
    ) -> None:
        self.size = max(0, size)
        self.fork_server = fork_server
        self.max_names = max_names
        self._ready: OrderedDict[str, queue.SimpleQueue[Any]] = OrderedDict()
        self._starting: dict[str, int] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.started = 0
        if self.size:
            self._want(default_kernel)

    def _want(self, name: str) -> queue.SimpleQueue[Any]:
        with self._lock:
            q = self._ready.get(name)
            if q is None:
                q = self._ready[name] = queue.SimpleQueue()
                self._starting[name] = 0
                while len(self._ready) > self.max_names:  # forget the least recently used name
                    old, old_q = self._ready.popitem(last=False)
                    self._starting.pop(old, None)
                    self._drain(old_q)
            else:
                self._ready.move_to_end(name)
            missing = self.size - q.qsize() - self._starting[name]
            for _ in range(max(0, missing)):
                self._starting[name] += 1
                threading.Thread(target=self._fill, args=(name, q), daemon=True).start()
            return q

    def _fill(self, name: str, q: queue.SimpleQueue[Any]) -> None:
        try:
            self._fill_one(name, q)
        finally:
            close_thread_loop()

    def _fill_one(self, name: str, q: queue.SimpleQueue[Any]) -> None:
        try:
            km = start_kernel(name, fork_server=self.fork_server)
        except Exception as exc:
            log.warning("could not pre-start a %s kernel: %s", name, exc)
            with self._lock:
                self._starting[name] = self._starting.get(name, 1) - 1
            return
        with self._lock:
            self._starting[name] = self._starting.get(name, 1) - 1
            keep = not self._closed and self._ready.get(name) is q
            if keep:
                q.put(km)
                self.started += 1
        if not keep:
            km.shutdown_kernel(now=True)

    def acquire(self, name: str) -> tuple[Any, bool]:
        """A started kernel for ``name``: ``(km, True)`` from the pool, or a new one started now.
        Either way the pool is topped up in the background. Kernels of a spec that names its
        own provisioner (a sandbox's) are never pooled: spare ones would hold its resources
        and outlive it."""
        if self.size == 0 or _has_provisioner(name):
            return start_kernel(name, fork_server=self.fork_server), False
        q = self._want(name)
        try:
            km = q.get_nowait()
        except queue.Empty:
            km = None
        self._want(name)
        if km is not None and km.is_alive():
            return km, True
        return start_kernel(name, fork_server=self.fork_server), False

    def wait_ready(self, name: str, timeout: float = 60) -> bool:
        """Wait until the pool holds ``size`` kernels for ``name`` (used by benchmarks and tests)."""
        q = self._want(name)
        deadline = time.monotonic() + timeout
        while q.qsize() < self.size and time.monotonic() < deadline:
            time.sleep(0.02)
        return q.qsize() >= self.size

    @staticmethod
    def _drain(q: queue.SimpleQueue[Any]) -> None:
        while True:
            try:
                km = q.get_nowait()
            except queue.Empty:
                return
            try:
                km.shutdown_kernel(now=True)
            except Exception:  # the kernel may already be gone
                pass

    def close(self) -> None:
        with self._lock:
            self._closed = True
            queues = list(self._ready.values())
            self._ready.clear()
        for q in queues:
            self._drain(q)
