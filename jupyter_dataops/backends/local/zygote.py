"""Fork-started Python kernels: a process that has imported the kernel's code forks a new kernel.

A plain kernel start spends most of its CPU importing ipykernel and IPython (about 0.3 s of the
0.6 s it takes here). The worker instead keeps one *zygote*: a small process that imports that
code once, starts no threads and runs no user code, then forks a child per kernel. The child
becomes exactly what ``python -m ipykernel_launcher -f CONN`` would be: a new process with its own
pid, session and process group, the requested working directory, environment, ``sys.argv`` and
``sys.path``, and a fresh interpreter state (no user code has ever run in it; ``random`` reseeds
itself after a fork). Kernels are still never reused.

Only kernels that would run ``ipykernel_launcher`` with this very interpreter and the same
``PYTHON*`` environment are forked; any other kernel spec (another Python, R, a wrapper script)
is started the usual way, as is every kernel when the zygote cannot be started or has died.

The worker side: :class:`ForkServer` (starts and talks to the zygote) and
:class:`ForkingProvisioner` (a jupyter_client ``LocalProvisioner`` that asks it to fork).
The zygote side: :func:`main`, run as ``python -m jupyter_dataops.backends.local.zygote``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Any

log = logging.getLogger("jupyter_dataops.worker")

#: What a forked kernel's command line must look like after its ``-f CONNECTION_FILE``.
LAUNCHER = ["-m", "ipykernel_launcher"]
#: Read once when a process starts (by the interpreter, the loader, locale and time set-up), so a
#: forked child cannot take different values from its environment: a kernel whose environment
#: differs from the zygote's in any of these is started the usual way.
_FIXED_AT_START = ("PYTHON", "LD_", "LC_", "LANG", "TZ")


# -- the zygote process ------------------------------------------------------------------------
def main() -> None:
    # Run as "python -m": sys.path[0] is the directory the worker runs in, which a kernel must
    # not see (ipykernel_launcher drops it the same way; IPython then adds '' for the cwd).
    if sys.path and (sys.path[0] == "" or os.path.realpath(sys.path[0]) == os.getcwd()):
        del sys.path[0]
    base_path = list(sys.path)
    reply = os.fdopen(os.dup(1), "w")  # requests on stdin, replies on a private copy of stdout
    os.dup2(2, 1)  # what kernels print goes to the worker's log, never into the reply stream
    try:
        import ipykernel.ipkernel
        import ipykernel.kernelapp
        import ipykernel.zmqshell  # noqa: F401
        import IPython.core.completer
        import IPython.core.interactiveshell  # noqa: F401
    except Exception as exc:  # the worker then starts kernels the usual way
        _send(reply, {"error": f"cannot import the kernel: {exc}"})
        return
    if threading.active_count() != 1:  # forking a threaded process is unsafe: refuse
        _send(reply, {"error": "the kernel's imports started threads; not forking"})
        return
    import gc

    gc.collect()
    gc.freeze()  # the imported objects stay shared with every child (no copy-on-write by GC)
    # Reap exited kernels (so their CPU time is accounted to this process, as a kernel's is
    # to the worker that started it the usual way).
    signal.signal(signal.SIGCHLD, _reap)
    _send(reply, {"ready": os.getpid()})
    for line in sys.stdin:
        try:
            request = json.loads(line)
            pid = os.fork()
        except Exception as exc:
            _send(reply, {"error": f"{type(exc).__name__}: {exc}"})
            continue
        if pid == 0:
            reply.close()
            _become_kernel(request, base_path)  # never returns
        _send(reply, {"pid": pid})


def _reap(*_: Any) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _send(stream: Any, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


def _become_kernel(request: dict[str, Any], base_path: list[str]) -> None:
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()  # its own session and process group, as jupyter_client starts kernels
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        sys.stdin = open(0, closefd=False)
        cwd = request["cwd"]
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["JPY_PARENT_PID"] = str(os.getppid())  # what jupyter_client's launcher sets
        argv = request["argv"]  # [python, -m, ipykernel_launcher, *args]
        import ipykernel_launcher
        from ipykernel.kernelapp import IPKernelApp

        sys.argv = [ipykernel_launcher.__file__, *argv[3:]]
        sys.path[:] = base_path  # ipykernel_launcher drops its own directory; IPython adds ''
        # parent_handle's default was read from the environment at import time, in the zygote:
        # this kernel exits if its parent (this zygote) goes away, as a kernel does whose
        # worker goes away.
        IPKernelApp.launch_instance(argv=[*argv[3:], f"--IPKernelApp.parent_handle={os.getppid()}"])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


# -- the worker side ---------------------------------------------------------------------------
class ForkedProcess:
    """The parts of ``subprocess.Popen`` that jupyter_client's LocalProvisioner uses, for a
    kernel that the zygote forked (a child of the zygote, not of this process). Its exit is seen
    through a pidfd where the system has them, so a reused pid is never mistaken for it."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._signalled: int | None = None
        self._pidfd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self._pidfd = os.pidfd_open(pid)

    def poll(self) -> int | None:
        if self.returncode is not None:
            return self.returncode
        if self._pidfd is not None:
            alive = not _readable(self._pidfd, 0)
        else:
            try:
                os.kill(self.pid, 0)
                alive = True
            except ProcessLookupError:
                alive = False
            except PermissionError:
                alive = True
        if alive:
            return None
        # The zygote reaps it: its status is not ours to read. Report the signal we sent, if any.
        self.returncode = -self._signalled if self._signalled else 0
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0)
            if self._pidfd is not None:
                _readable(self._pidfd, 0.05)
            else:
                time.sleep(0.02)
        return code

    def send_signal(self, signum: int) -> None:
        if self.poll() is not None:
            return
        if signum in (signal.SIGKILL, signal.SIGTERM):
            self._signalled = signum
        with contextlib.suppress(ProcessLookupError):
            if self._pidfd is not None:
                signal.pidfd_send_signal(self._pidfd, signum)
            else:
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def __del__(self) -> None:
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self._pidfd)


def _readable(fd: int, timeout: float) -> bool:
    """Whether ``fd`` becomes readable within ``timeout`` seconds: a pipe with an answer, or a
    pidfd whose process has exited. poll(), unlike select(), has no limit on descriptor numbers."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(timeout * 1000))


class ForkServer:
    """Starts the zygote on first use and asks it for kernels. Thread-safe.

    When it cannot fork, :meth:`spawn` returns None and the caller starts the kernel the usual
    way. A zygote found dead is replaced on the next request; one that failed to start, hung or
    broke off an answer is not tried again for ``restart_interval`` seconds."""

    restart_interval = 60.0
    start_timeout = 60.0  #: seconds for the zygote's imports
    reply_timeout = 30.0  #: seconds for a fork (a hung zygote must not hang a job)

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._failed_at = float("-inf")
        self._closed = False
        self.forked = 0
        self._env = {k: v for k, v in os.environ.items() if k.startswith(_FIXED_AT_START)}
        self.command = [sys.executable, "-m", __name__]

    def can_fork(self, argv: list[str], env: dict[str, str]) -> bool:
        """Would this kernel command run here exactly as a forked child would?"""
        if len(argv) < 3 or argv[1:3] != LAUNCHER:
            return False
        if os.path.realpath(argv[0]) != os.path.realpath(sys.executable):
            return False
        fixed = {k: v for k, v in env.items() if k.startswith(_FIXED_AT_START)}
        return fixed == self._env

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str) -> ForkedProcess | None:
        if not self.can_fork(argv, env):
            return None
        with self._lock:
            proc = self._running()
            if proc is None:
                return None
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(json.dumps({"argv": argv, "env": env, "cwd": cwd}) + "\n")
                proc.stdin.flush()
                answer = self._reply(proc, self.reply_timeout)
            except (OSError, ValueError) as exc:
                self._give_up(f"the kernel zygote stopped answering: {exc}")
                return None
            if "pid" not in answer:
                log.warning("the kernel zygote could not fork: %s", answer.get("error", "died"))
                if proc.poll() is not None or not answer:
                    self._give_up("the kernel zygote died")
                return None
            self.forked += 1
            return ForkedProcess(int(answer["pid"]))

    @staticmethod
    def _reply(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
        """The zygote's next one-line answer; ``{}`` if it exited. TimeoutError if it hangs."""
        assert proc.stdout is not None
        if not _readable(proc.stdout.fileno(), timeout):
            raise TimeoutError(f"no answer in {timeout:g} s")
        return dict(json.loads(proc.stdout.readline() or "{}"))

    def _running(self) -> subprocess.Popen[str] | None:
        if self._closed:
            return None
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if time.monotonic() - self._failed_at < self.restart_interval:
            return None
        self._proc = subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        try:
            hello = self._reply(self._proc, self.start_timeout)
        except (OSError, ValueError):
            hello = {}
        if "ready" not in hello:
            self._give_up(f"the kernel zygote did not start: {hello.get('error', 'it exited')}")
            return None
        log.info("kernel zygote %s ready", self._proc.pid)
        return self._proc

    def _give_up(self, why: str) -> None:
        log.warning("%s; starting kernels the usual way", why)
        self._failed_at = time.monotonic()
        self._stop_process()

    def _stop_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin:
                proc.stdin.close()  # the zygote exits at the end of its input
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def close(self) -> None:
        """Stop the zygote. Kernels it forked see their parent gone and exit within a second,
        as kernels do whose worker exits; the worker shuts its kernels down before this."""
        with self._lock:
            self._closed = True
            self._stop_process()


@functools.cache
def forking_provisioner_class() -> type:
    """A LocalProvisioner that forks kernels from ``parent.fork_server`` when it can."""
    from jupyter_client.provisioning import LocalProvisioner

    class ForkingProvisioner(LocalProvisioner):  # type: ignore[misc]
        fork_server: ForkServer | None = None

        async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
            server = self.fork_server
            env = kwargs.get("env") or dict(os.environ)
            cwd = str(kwargs.get("cwd") or os.getcwd())
            child = server.spawn(list(cmd), dict(env), cwd) if server is not None else None
            if child is None:
                return await super().launch_kernel(cmd, **kwargs)
            self.process = child  # type: ignore[assignment]  # Popen-like
            self.pid = child.pid
            self.pgid = child.pid  # the child called setsid()
            self.cwd = cwd
            return self.connection_info

    return ForkingProvisioner


if __name__ == "__main__":
    main()
