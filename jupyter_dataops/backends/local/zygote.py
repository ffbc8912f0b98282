"""Fork-started Python kernels: a process that has imported the kernel's code forks a new kernel.

A plain kernel start spends most of its CPU importing ipykernel and IPython (about 0.3 s of the
0.6 s it takes here). The worker instead keeps one *zygote*: a small process that imports that
code once, starts no threads and runs no user code, then forks a child per kernel. The child
becomes exactly what ``python -m ipykernel_launcher -f CONN`` would be: a new process with its own
pid, session and process group, the requested working directory, environment, ``sys.argv`` and
``sys.path``, and a fresh interpreter state (no user code has ever run in it; ``random`` reseeds
itself after a fork). Kernels are still never reused.

Only a kernel that a usual start would run as this very Python is forked: ``ipykernel_launcher``
with the zygote's interpreter options, an executable that finds the same interpreter *and* the
same environment (``sys.prefix``, found the way CPython finds it), and the same values of the
environment variables read as an interpreter starts. Any other kernel spec (another virtual
environment, the base interpreter of this one, R, a wrapper script) is started the usual way, as
is every kernel when the zygote cannot be started or has died. When in doubt, it is not forked: a
usual start is always right, just slower.

Forked kernels are children of the zygote, so only the zygote can read how they ended. It reports
each child's wait status to the worker, and :class:`ForkedProcess` reports it as ``Popen`` would:
a kernel killed by the OOM killer is ``-9``, never a clean exit.

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
import queue
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

log = logging.getLogger("jupyter_dataops.worker")

#: What a forked kernel's command line runs, after the interpreter and its options.
LAUNCHER = ["-m", "ipykernel_launcher"]
#: Read once when a process starts (by the interpreter, the loader, the C library's allocator,
#: locale and time set-up), so a forked child cannot take different values from its environment:
#: a kernel whose environment differs from the zygote's in any of these is started the usual way.
#: ``PYTHON*`` includes what places the user site (PYTHONUSERBASE, PYTHONNOUSERSITE).
_FIXED_AT_START = (
    "PYTHON", "LD_", "LC_", "LANG", "TZ", "MALLOC_", "GLIBC_TUNABLES", "__PYVENV_LAUNCHER__",
)  # fmt: skip
#: Read at start too, by exact name: the user site (~/.local/lib/pythonX.Y/site-packages, which
#: comes before site-packages on sys.path) is found from HOME.
_FIXED_AT_START_NAMES = frozenset({"HOME"})
#: These replace the search for the environment from the executable's path that
#: :func:`_interpreter` follows: a kernel started with any of them set is never forked.
_OVERRIDES_PREFIX_SEARCH = ("PYTHONHOME", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__")


# -- the zygote process ------------------------------------------------------------------------
def main() -> None:
    """The zygote: import the kernel's code, then fork a kernel for each request read on stdin
    (one JSON line each, answered ``{"pid": N}`` or ``{"error": ...}``), and report each child's
    end as ``{"exited": N, "status": WAIT_STATUS}``. Exits at the end of its input."""
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
    # A kernel's exit is seen through a SIGCHLD wake-up pipe: the C-level handler writes a byte to
    # it, the loop below wakes, reaps (so a kernel's CPU time is accounted to this process, as it
    # is to the worker that started it the usual way) and reports the status. The Python-level
    # handler does nothing: writing replies from a handler could interleave with a reply being
    # written. A handler must be set, though, or SIGCHLD is ignored and nothing is written.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, _on_sigchld)
    _send(
        reply,
        {
            "ready": os.getpid(),
            # The worker checks that this is the environment it expects to fork kernels of.
            "prefix": sys.prefix,
            "base_prefix": sys.base_prefix,
        },
    )
    poller = select.poll()
    poller.register(0, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    pending = b""
    while True:
        ready = {fd for fd, _ in poller.poll()}  # retried after signals (PEP 475)
        if wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_r, 512):
                    pass
            _report_exits(reply)
        if 0 not in ready:
            continue
        data = os.read(0, 65536)
        if not data:  # the worker closed our input (or went away): stop
            return
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            try:
                request = json.loads(line)
                pid = os.fork()
            except Exception as exc:
                _send(reply, {"error": f"{type(exc).__name__}: {exc}"})
                continue
            if pid == 0:
                reply.close()
                signal.set_wakeup_fd(-1)
                os.close(wake_r)
                os.close(wake_w)
                _become_kernel(request, base_path)  # never returns
            # Sent before any exit of this child is reported: exits are reaped only in this loop.
            _send(reply, {"pid": pid})


def _on_sigchld(signum: int, frame: Any) -> None:
    """Nothing: the wake-up pipe has woken the main loop, which reaps."""


def _report_exits(reply: Any) -> None:
    """Reap every exited child and tell the worker its wait status."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(reply, {"exited": pid, "status": status})


def _send(stream: Any, message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


def _become_kernel(request: dict[str, Any], base_path: list[str]) -> None:
    """In the forked child: turn into ``python [options] -m ipykernel_launcher ARGS``."""
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
        argv = request["argv"]  # [python, *options, -m, ipykernel_launcher, *args]
        args = request.get("args", argv[3:])
        # What this kernel's own start would have computed: the path it was started as (another
        # name of this interpreter in the same environment, e.g. bin/python3), and its argv.
        sys.executable = request.get("executable") or sys.executable
        sys.orig_argv = list(argv)
        import ipykernel_launcher
        from ipykernel.kernelapp import IPKernelApp

        sys.argv = [ipykernel_launcher.__file__, *args]
        sys.path[:] = base_path  # ipykernel_launcher drops its own directory; IPython adds ''
        # parent_handle's default was read from the environment at import time, in the zygote:
        # this kernel exits if its parent (this zygote) goes away, as a kernel does whose
        # worker goes away.
        IPKernelApp.launch_instance(argv=[*args, f"--IPKernelApp.parent_handle={os.getppid()}"])
        code = 0
    except SystemExit as exc:  # as the interpreter maps sys.exit()'s argument to a status
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


# -- the worker side ---------------------------------------------------------------------------
def _split_command(argv: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """``(interpreter options, launcher arguments)`` of a command
    ``[python, *options, "-m", "ipykernel_launcher", *arguments]``; None for any other command.
    ``-X opt`` is written ``-Xopt`` (one option, two spellings); any option followed by a separate
    value other than ``-X``/``-W`` makes it "another command", which is never forked."""
    options: list[str] = []
    i = 1
    while i < len(argv) and argv[i] != "-m":
        arg = argv[i]
        if arg in ("-X", "-W") and i + 1 < len(argv):
            options.append(arg + argv[i + 1])
            i += 2
            continue
        if not arg.startswith("-") or arg in ("-", "-c"):
            return None
        options.append(arg)
        i += 1
    if list(argv[i : i + 2]) != LAUNCHER:
        return None
    return options, list(argv[i + 2 :])


def _program(argv0: str, env: Mapping[str, str]) -> str | None:
    """The absolute path, symlinks *not* resolved, that a usual start of ``argv0`` runs and that
    the interpreter then takes as its own location: a bare name (``python3``) is looked up on the
    kernel's PATH, as both ``Popen`` and the interpreter's start-up look it up. None when that is
    not known here: not found, or a relative path (relative to a working directory)."""
    if os.sep not in argv0:
        found = shutil.which(argv0, path=env.get("PATH", os.defpath))
        if found is None:
            return None
        argv0 = found
    return os.path.normpath(argv0) if os.path.isabs(argv0) else None


def _interpreter(program: str) -> tuple[str, str | None, str | None] | None:
    """What decides which Python a process started as ``program`` is, and in which environment,
    as CPython's start-up (``getpath``) finds them for a given environment and options:

    * the executable, symlinks resolved (outside a virtual environment its location gives
      ``sys.prefix``);
    * the virtual environment: the folder of a ``pyvenv.cfg`` found one folder above the
      *unresolved* program, else next to it. A venv's ``bin/python`` is a symlink to its base
      interpreter, so this alone tells a venv, another venv on the same base and the base
      interpreter itself apart (and a symlink to a venv's python placed elsewhere is the base);
    * a ``._pth`` file next to the program or the executable, which replaces ``sys.path``.

    None if ``program`` is no executable file."""
    real = os.path.realpath(program)
    if not (os.path.isfile(real) and os.access(real, os.X_OK)):
        return None
    bin_dir = os.path.dirname(program)
    venv = None
    for folder in (os.path.dirname(bin_dir), bin_dir):
        if os.path.isfile(os.path.join(folder, "pyvenv.cfg")):
            venv = folder
            break
    pth = next((p for p in (f"{program}._pth", f"{real}._pth") if os.path.exists(p)), None)
    return real, venv, pth


def _fixed_at_start(env: Mapping[str, str]) -> dict[str, str]:
    return {
        k: v for k, v in env.items() if k.startswith(_FIXED_AT_START) or k in _FIXED_AT_START_NAMES
    }


class _ExitStatus:
    """How one forked kernel ended, as the zygote reports it: ``done`` is set once the kernel has
    been reaped (``status`` is then its wait status) or once the zygote is gone (``status`` stays
    None: nobody can know it any more)."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.status: int | None = None

    def set(self, status: int | None) -> None:
        self.status = status
        self.done.set()


class ForkedProcess:
    """The parts of ``subprocess.Popen`` that jupyter_client's LocalProvisioner uses, for a
    kernel that the zygote forked (a child of the zygote, not of this process). ``returncode`` is
    the kernel's real exit status, as the zygote reaped it (``-9`` for SIGKILL, as ``Popen``
    gives); ``exit_status_known`` is False in the rare case it could not be had (the zygote went
    away first). A pidfd, where the system has them, tells whether it still runs without ever
    mistaking a reused pid for it."""

    stdin = stdout = stderr = None
    #: Seconds a kernel may be gone before its status must have arrived (the zygote reports it
    #: within milliseconds; a hung zygote must not make a dead kernel look alive for ever).
    status_grace = 2.0

    def __init__(self, pid: int, exit_status: _ExitStatus | None = None) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.exit_status_known = False
        self._exit = exit_status if exit_status is not None else _ExitStatus()
        self._signalled: int | None = None
        self._gone_since: float | None = None
        self._pidfd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self._pidfd = os.pidfd_open(pid)

    def poll(self) -> int | None:
        if self.exit_status_known:
            return self.returncode
        status = self._exit.status
        if status is not None:  # also when it comes after we stopped waiting for it
            self._finish(os.waitstatus_to_exitcode(status), known=True)
            return self.returncode
        if self.returncode is not None:
            return self.returncode
        if not self.exited():
            return None
        # Gone, but no status yet: it is on its way, unless the zygote is gone too (or hung).
        now = time.monotonic()
        self._gone_since = self._gone_since or now
        if self._exit.done.is_set() or now - self._gone_since > self.status_grace:
            # Unknowable: report the signal we sent, if any.
            self._finish(-self._signalled if self._signalled else 0, known=False)
        return self.returncode

    def exited(self) -> bool:
        """Whether the process has ended (its status may not have arrived yet)."""
        if self._pidfd is not None:
            return _readable(self._pidfd, 0)
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False

    def _finish(self, code: int, *, known: bool) -> None:
        self.returncode = code
        self.exit_status_known = known
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout or 0)
            step = 0.05 if left is None else min(0.05, left)
            if self._exit.done.is_set():  # the zygote is gone: only the pidfd can tell
                if self._pidfd is not None:
                    _readable(self._pidfd, step)
                else:
                    time.sleep(step)
            else:
                self._exit.done.wait(step)
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


class _Zygote:
    """One zygote process, and the thread that reads all it sends: answers to requests are
    queued for :meth:`answer`; exit statuses of its children go to their :class:`_ExitStatus`,
    whenever they come."""

    def __init__(self, command: list[str]) -> None:
        env = dict(os.environ)
        #: What this zygote (and so every kernel it forks) read as it started.
        self.fixed_env = _fixed_at_start(env)
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True, bufsize=1
        )
        self._answers: queue.SimpleQueue[tuple[dict[str, Any], _ExitStatus | None]]
        self._answers = queue.SimpleQueue()
        self._children: dict[int, _ExitStatus] = {}
        self._lock = threading.Lock()
        self._reader = threading.Thread(
            target=self._read, name=f"kernel-zygote-{self.proc.pid}", daemon=True
        )
        self._reader.start()

    def ask(self, request: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()

    def answer(self, timeout: float) -> tuple[dict[str, Any], _ExitStatus | None]:
        """The next answer, with the exit status to come for a forked pid; ``{}`` if the zygote
        exited. TimeoutError if it hangs."""
        try:
            return self._answers.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer in {timeout:g} s") from None

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                try:
                    message = json.loads(line)
                except ValueError:
                    message = None
                if not isinstance(message, dict):  # a broken answer: the zygote is given up
                    log.warning("the kernel zygote said %r", line[:200])
                    self._answers.put(({}, None))
                    continue
                if "exited" in message:
                    with self._lock:
                        child = self._children.pop(int(message["exited"]), None)
                    if child is not None:
                        child.set(int(message["status"]))
                    continue
                child = None
                if "pid" in message:
                    # Registered before the answer is handed on: the kernel may exit (and be
                    # reported) before whoever asked for it has even read the answer.
                    child = _ExitStatus()
                    with self._lock:
                        self._children[int(message["pid"])] = child
                self._answers.put((message, child))
        except (OSError, ValueError):  # the pipe closed under us: the zygote is being stopped
            pass
        finally:
            with self._lock:
                orphans, self._children = list(self._children.values()), {}
            for child in orphans:
                child.set(None)
            self._answers.put(({}, None))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        """Close its input, at which it exits; kill it if it has not after ``grace`` seconds."""
        proc = self.proc
        with contextlib.suppress(OSError, ValueError):
            if proc.stdin:
                proc.stdin.close()  # the zygote exits at the end of its input
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        # Closing stdout while the reader is blocked on it could block this thread: close it once
        # the reader has seen the end of it (it has, as soon as the process is gone).
        self._reader.join(5)
        if proc.stdout and not self._reader.is_alive():
            proc.stdout.close()


class ForkServer:
    """Starts the zygote on first use and asks it for kernels. Thread-safe.

    When it cannot fork, :meth:`spawn` returns None and the caller starts the kernel the usual
    way. A zygote found dead is replaced on the next request; one that failed to start, hung or
    broke off an answer is not tried again for ``restart_interval`` seconds.

    ``interpreter_options`` are given to the zygote's interpreter, and only kernel commands with
    exactly these options before ``-m`` are forked. Options such as ``-Xfrozen_modules=off``
    (which ``ipykernel install`` writes into kernel specs, so a debugger can step into the
    standard library) act while the interpreter starts, before any code of ours runs, so a fork
    cannot change them afterwards: a kernel spec with other options is started the usual way.
    Give the zygote the options of the kernel spec most jobs use."""

    restart_interval = 60.0
    start_timeout = 60.0  #: seconds for the zygote's imports
    reply_timeout = 30.0  #: seconds for a fork (a hung zygote must not hang a job)

    def __init__(self, interpreter_options: Sequence[str] = ()) -> None:
        split = _split_command([sys.executable, *interpreter_options, *LAUNCHER])
        if split is None:
            raise ValueError(f"unsupported interpreter options: {list(interpreter_options)}")
        self.interpreter_options = split[0]
        self._zygote: _Zygote | None = None
        self._lock = threading.Lock()
        self._failed_at = float("-inf")
        self._closed = False
        self.forked = 0
        self.command = [sys.executable, *interpreter_options, "-m", __name__]
        self._identity = _interpreter(sys.executable)
        if self._identity is not None and self._identity[1] not in (None, sys.prefix):
            # This process did not find its environment where getpath would: forking here
            # could not be proved right.
            log.info("%s is not where its venv says; not forking kernels", sys.executable)
            self._identity = None

    def can_fork(self, argv: list[str], env: Mapping[str, str]) -> bool:
        """Would a usual start of this kernel command run exactly what a forked child is? That
        is: ipykernel_launcher, with the zygote's interpreter options, by an executable that
        finds this same interpreter and environment, with the same environment variables among
        those read while a process starts."""
        split = _split_command(argv) if argv else None
        if split is None or split[0] != self.interpreter_options:
            return False
        if any(env.get(name) for name in _OVERRIDES_PREFIX_SEARCH):
            return False
        program = _program(argv[0], env)
        if program is None or self._identity is None or _interpreter(program) != self._identity:
            return False
        zygote = self._zygote
        expected = zygote.fixed_env if zygote is not None else _fixed_at_start(os.environ)
        return _fixed_at_start(env) == expected

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str) -> ForkedProcess | None:
        if not self.can_fork(argv, env):
            return None
        split = _split_command(argv)
        assert split is not None
        with self._lock:
            zygote = self._running()
            if zygote is None or _fixed_at_start(env) != zygote.fixed_env:
                return None
            request = {
                "argv": argv,
                "args": split[1],
                "executable": _program(argv[0], env),
                "env": env,
                "cwd": cwd,
            }
            try:
                zygote.ask(request)
                answer, exit_status = zygote.answer(self.reply_timeout)
            except (OSError, ValueError) as exc:  # TimeoutError is an OSError
                hung = isinstance(exc, TimeoutError)
                self._give_up(f"the kernel zygote stopped answering: {exc}", hung=hung)
                return None
            if "pid" not in answer:
                log.warning("the kernel zygote could not fork: %s", answer.get("error", "died"))
                if not zygote.alive() or not answer:
                    self._give_up("the kernel zygote died")
                return None
            self.forked += 1
            return ForkedProcess(int(answer["pid"]), exit_status)

    def _running(self) -> _Zygote | None:
        if self._closed:
            return None
        if self._zygote is not None and self._zygote.alive():
            return self._zygote
        if time.monotonic() - self._failed_at < self.restart_interval:
            return None
        self._stop_process()  # a dead one: its reader has told its kernels' statuses are lost
        zygote = self._zygote = _Zygote(self.command)
        try:
            hello, _ = zygote.answer(self.start_timeout)
        except TimeoutError:
            self._give_up(f"the kernel zygote did not start in {self.start_timeout:g} s", hung=True)
            return None
        if "ready" not in hello:
            self._give_up(f"the kernel zygote did not start: {hello.get('error', 'it exited')}")
            return None
        where = (hello.get("prefix"), hello.get("base_prefix"))
        if where != (sys.prefix, sys.base_prefix):
            self._give_up(f"the kernel zygote runs in another environment: {where}")
            return None
        log.info("kernel zygote %s ready", zygote.proc.pid)
        return zygote

    def _give_up(self, why: str, *, hung: bool = False) -> None:
        log.warning("%s; starting kernels the usual way", why)
        self._failed_at = time.monotonic()
        self._stop_process(grace=0.0 if hung else 5.0)  # a hung zygote would not exit by itself

    def _stop_process(self, grace: float = 5.0) -> None:
        zygote, self._zygote = self._zygote, None
        if zygote is not None:
            zygote.stop(grace)

    @property
    def pid(self) -> int | None:
        zygote = self._zygote
        return zygote.proc.pid if zygote is not None and zygote.alive() else None

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
