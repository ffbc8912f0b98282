"""Fork-started kernels (backends/local/zygote.py) with real kernels and a real zygote process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_dataops.backends.local.kernels import (
    KernelDied,
    KernelPool,
    close_thread_loop,
    describe_kernel_exit,
    run_silently,
    start_kernel,
)
from jupyter_dataops.backends.local.zygote import ForkedProcess, ForkServer

from .kernel_envs import run_in_kernel

PROBE = """
import json, os, random, sys
print(json.dumps({
    "pid": os.getpid(), "ppid": os.getppid(), "pgid": os.getpgid(0), "sid": os.getsid(0),
    "cwd": os.getcwd(), "argv0": os.path.basename(sys.argv[0]), "argv_rest": sys.argv[1:2],
    "path": sys.path, "env": os.environ.get("DATAOPS_TEST_VAR"),
    "parent_env": os.environ.get("JPY_PARENT_PID"), "random": random.random(),
    "name": __name__, "stdin": sys.stdin.read() if not sys.stdin.isatty() else "",
    "user_code_ran_before": "seen_before" in globals(),
}))
seen_before = True
"""


def run(km: Any, code: str, timeout: float = 30) -> dict[str, Any]:
    """Run ``code`` in the kernel; the JSON object it prints, or the error it raised."""
    return run_in_kernel(km, code, timeout)


def gone(pid: int, within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def fork_server():
    server = ForkServer()
    yield server
    server.close()


@pytest.fixture
def test_env(monkeypatch):
    monkeypatch.setenv("DATAOPS_TEST_VAR", "from-the-worker")


def test_a_forked_kernel_is_what_a_started_kernel_is(fork_server, tmp_path, test_env):
    (tmp_path / "a").mkdir()
    forked = start_kernel("python3", cwd=str(tmp_path / "a"), fork_server=fork_server)
    plain = start_kernel("python3", cwd=str(tmp_path / "a"))
    try:
        assert isinstance(forked.provisioner.process, ForkedProcess)
        assert not isinstance(plain.provisioner.process, ForkedProcess)
        f, p = run(forked, PROBE), run(plain, PROBE)
    finally:
        forked.shutdown_kernel(now=True)
        plain.shutdown_kernel(now=True)
    assert fork_server.forked == 1
    assert f["ppid"] == fork_server.pid == int(f["parent_env"])  # its parent: the zygote
    assert f["pid"] == f["pgid"] == f["sid"]  # own session and process group, as jupyter starts
    for key in ("cwd", "argv0", "path", "env", "name", "stdin", "user_code_ran_before"):
        assert f[key] == p[key], key
    assert f["cwd"] == str(tmp_path / "a")
    assert f["argv_rest"] == ["-f"]
    assert f["user_code_ran_before"] is False


def test_each_fork_is_a_fresh_process(fork_server, test_env):
    kms = [start_kernel("python3", fork_server=fork_server) for _ in range(2)]
    try:
        first = run(kms[0], PROBE)
        assert run(kms[0], "import json; json.marker = 1; print('{}')") == {}
        second = run(kms[1], PROBE)
        marker = run(kms[1], "print(json.dumps({'marker': getattr(json, 'marker', None)}))")
    finally:
        for km in kms:
            km.shutdown_kernel(now=True)
    assert first["pid"] != second["pid"]
    assert first["random"] != second["random"]  # random reseeds after fork
    assert second["user_code_ran_before"] is False
    assert marker == {"marker": None}  # a module changed in one kernel is not in the next


def test_shutdown_interrupt_and_kill_reach_the_forked_kernel(fork_server):
    km = start_kernel("python3", fork_server=fork_server)
    pid = km.provisioner.pid

    async def interrupted() -> str:
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=30)
            msg_id = kc.execute("import time; time.sleep(60)")
            await asyncio.sleep(1.0)
            km.interrupt_kernel()
            reply = await kc.get_shell_msg(timeout=20)
            assert reply["parent_header"]["msg_id"] == msg_id
            return str(reply["content"].get("ename"))
        finally:
            kc.stop_channels()

    assert asyncio.run(interrupted()) == "KeyboardInterrupt"
    assert km.is_alive()
    km.shutdown_kernel(now=True)
    assert gone(pid)
    assert not km.is_alive()


def test_kernels_exit_when_the_zygote_is_closed(fork_server):
    km = start_kernel("python3", fork_server=fork_server)
    pid = km.provisioner.pid
    fork_server.close()
    try:
        assert gone(pid, within=15), "a forked kernel outlived its zygote"
        # Its status died with the zygote: it is not taken for a clean exit. (gone() sees the
        # main thread a zombie a moment before the pidfd tells the whole process has ended.)
        assert eventually(lambda: describe_kernel_exit(km) is not None)
        assert describe_kernel_exit(km) == UNKNOWN
    finally:
        km.shutdown_kernel(now=True)
    # A closed server forks nothing: kernels start the usual way.
    km = start_kernel("python3", fork_server=fork_server)
    try:
        assert not isinstance(km.provisioner.process, ForkedProcess)
    finally:
        km.shutdown_kernel(now=True)


def test_a_dead_zygote_is_replaced(fork_server):
    km = start_kernel("python3", fork_server=fork_server)
    km.shutdown_kernel(now=True)
    zygote = fork_server.pid
    assert zygote
    os.kill(zygote, signal.SIGKILL)
    assert gone(zygote)
    km = start_kernel("python3", fork_server=fork_server)
    try:
        assert isinstance(km.provisioner.process, ForkedProcess)
        assert fork_server.pid not in (None, zygote)
        assert run(km, "print('{}')") == {}
    finally:
        km.shutdown_kernel(now=True)


def test_a_zygote_that_cannot_start_means_usual_starts(fork_server):
    fork_server.command = [sys.executable, "-c", 'print(\'{"error": "no ipykernel"}\')']
    for _ in range(2):  # the second does not try again (restart_interval)
        km = start_kernel("python3", fork_server=fork_server)
        try:
            assert not isinstance(km.provisioner.process, ForkedProcess)
            assert run(km, "print('{}')") == {}
        finally:
            km.shutdown_kernel(now=True)
    assert fork_server.forked == 0 and fork_server.pid is None
    fork_server.restart_interval = 0
    fork_server.command = ForkServer().command
    km = start_kernel("python3", fork_server=fork_server)
    try:
        assert isinstance(km.provisioner.process, ForkedProcess)
    finally:
        km.shutdown_kernel(now=True)


def test_only_this_pythons_ipykernel_is_forked(fork_server, tmp_path, monkeypatch):
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    env = dict(os.environ)
    assert fork_server.can_fork(argv, env)
    assert not fork_server.can_fork(["/opt/another/python/bin/python3", *argv[1:]], env)
    assert not fork_server.can_fork([sys.executable, "-m", "other_kernel", "-f", "x"], env)
    assert not fork_server.can_fork(argv, {**env, "PYTHONPATH": "/somewhere/else"})
    assert not fork_server.can_fork(argv, {**env, "TZ": "Test/Zone"})
    assert not fork_server.can_fork(argv, {**env, "LC_ALL": "xx_XX.test"})
    assert fork_server.can_fork(argv, {**env, "ANY_OTHER": "value"})
    # A kernel spec that runs something else starts the usual way and works.
    spec = tmp_path / "kernels" / "wrapped"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel", "-f", "{connection_file}"],
                "display_name": "wrapped",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    km = start_kernel("wrapped", fork_server=fork_server)
    try:
        assert not isinstance(km.provisioner.process, ForkedProcess)
        assert fork_server.forked == 0
    finally:
        km.shutdown_kernel(now=True)


def test_the_pool_hands_out_forked_kernels(fork_server):
    pool = KernelPool(2, default_kernel="python3", fork_server=fork_server)
    try:
        assert pool.wait_ready("python3", timeout=60)
        km, warm = pool.acquire("python3")
        assert warm and isinstance(km.provisioner.process, ForkedProcess)
        assert run(km, "print('{\"ok\": 1}')") == {"ok": 1}
        km.shutdown_kernel(now=True)
    finally:
        pool.close()


def test_a_hung_zygote_does_not_hang_kernel_starts(fork_server):
    fork_server.command = [sys.executable, "-c", "import time; time.sleep(120)"]
    fork_server.start_timeout = 1.0
    km = start_kernel("python3", fork_server=fork_server)
    try:
        assert not isinstance(km.provisioner.process, ForkedProcess)
        assert fork_server.pid is None  # the hung zygote was stopped
    finally:
        km.shutdown_kernel(now=True)


# -- how a kernel ended ------------------------------------------------------------------------
#: Code that ends the kernel running it, and how describe_kernel_exit must then tell it.
DEATHS = {
    "sigkill": (
        "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
        "the kernel died: killed by signal 9 (SIGKILL); out of memory?",
    ),
    "segfault": (
        "import ctypes; ctypes.string_at(0)",
        "the kernel died: killed by signal 11 (SIGSEGV)",
    ),
    "exit": ("import os; os._exit(3)", "the kernel exited with code 3"),
}
#: What describe_kernel_exit says of a forked kernel whose status the zygote did not report (it is
#: gone, or was not scheduled for a second on a busy machine: then the status comes later).
UNKNOWN = "the kernel died; how is not known (the kernel zygote did not tell)"


@pytest.fixture(params=["forked", "usual"])
def maybe_fork_server(request: pytest.FixtureRequest) -> Iterator[ForkServer | None]:
    """A fork server (kernels are children of the zygote), or none (children of this process)."""
    if request.param == "usual":
        yield None
        return
    server = ForkServer()
    yield server
    server.close()


def start(fork_server: ForkServer | None) -> Any:
    km = start_kernel("python3", fork_server=fork_server)
    assert isinstance(km.provisioner.process, ForkedProcess) is (fork_server is not None)
    return km


def eventually(check: Callable[[], bool], within: float = 30) -> bool:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def execute_until_gone(km: Any, code: str, within: float = 30) -> None:
    """Send ``code`` to the kernel and keep the client open until its process is gone."""

    async def go() -> None:
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=within)
            kc.execute(code)
            deadline = time.monotonic() + within
            while await kc._async_is_alive() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            kc.stop_channels()

    asyncio.run(go())


@pytest.mark.parametrize("death", sorted(DEATHS))
def test_a_kernels_death_is_reported_with_its_cause(
    maybe_fork_server: ForkServer | None, death: str
) -> None:
    code, sentence = DEATHS[death]
    km = start(maybe_fork_server)
    try:
        assert describe_kernel_exit(km) is None  # alive
        execute_until_gone(km, code)
        assert eventually(lambda: describe_kernel_exit(km) not in (None, UNKNOWN))
        assert describe_kernel_exit(km) == sentence
        assert not km.is_alive()
    finally:
        km.shutdown_kernel(now=True)  # as nbclient does after a DeadKernelError
    assert describe_kernel_exit(km) == sentence  # cleaning up does not hide the cause


def test_a_late_exit_status_is_waited_for_and_then_believed() -> None:
    """The zygote reports a kernel's status a moment after the kernel is gone: until then the
    kernel is not reported as ended; after ``status_grace`` it is, as unknown, and the status
    still replaces that when it comes. Played with a process of ours standing in for a kernel."""
    from jupyter_dataops.backends.local.zygote import _ExitStatus

    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    status = _ExitStatus()
    forked = ForkedProcess(stand_in.pid, status)
    try:
        assert forked.poll() is None and not forked.exited()
    finally:
        stand_in.kill()
        stand_in.wait(30)
    assert forked.exited()
    forked.status_grace = 60.0
    assert forked.poll() is None  # gone, status on its way
    forked.status_grace = 0.0
    assert forked.poll() == 0 and not forked.exit_status_known  # given up waiting
    status.set(signal.SIGKILL)  # the wait status of a process killed by SIGKILL
    assert forked.poll() == -signal.SIGKILL and forked.exit_status_known
    assert forked.wait(1) == -signal.SIGKILL


@pytest.mark.parametrize("now", [True, False], ids=["killed", "shut-down"])
def test_a_kernel_we_stop_is_reported_as_stopped_by_us(
    maybe_fork_server: ForkServer | None, now: bool
) -> None:
    km = start(maybe_fork_server)
    km.shutdown_kernel(now=now)
    if now:
        assert describe_kernel_exit(km) == "the kernel was killed by the worker"
    else:
        assert describe_kernel_exit(km) == "the kernel was shut down by the worker"


@pytest.mark.parametrize("how", ["signal", "shutdown"])
def test_run_silently_notices_a_dead_kernel(maybe_fork_server: ForkServer | None, how: str) -> None:
    """A job cancelled just after its kernel started: the setup code must not wait 30 s."""
    km = start(maybe_fork_server)
    pid = km.provisioner.pid

    def kill() -> None:
        try:
            time.sleep(1.0)  # while the code runs
            if how == "signal":
                os.kill(pid, signal.SIGKILL)  # as the OOM killer does
            else:
                km.shutdown_kernel(now=True)  # as the worker does for a cancelled job
        finally:
            close_thread_loop()

    killer = threading.Thread(target=kill)
    began = time.monotonic()
    killer.start()
    try:
        with pytest.raises(KernelDied) as died:
            run_silently(km, "import time; time.sleep(20)")
        took = time.monotonic() - began
    finally:
        killer.join(30)
        km.shutdown_kernel(now=True)
    assert took < 15, f"run_silently took {took:.1f} s to notice"
    if how == "signal":
        sentences = {DEATHS["sigkill"][1]} | ({UNKNOWN} if maybe_fork_server else set())
        assert str(died.value) in sentences
        assert eventually(lambda: describe_kernel_exit(km) == DEATHS["sigkill"][1])
    else:
        assert str(died.value) == "the kernel was killed by the worker"
    assert died.value.description == str(died.value)


def test_a_kernel_that_dies_while_starting_raises_kernel_died(
    maybe_fork_server: ForkServer | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel that exits before it answers (here: its start-up code does) fails the start with
    how it ended, as soon as it is gone, forked or not."""
    spec = tmp_path / "kernels" / "dies"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    argv.append("--IPKernelApp.exec_lines=['import os; os._exit(4)']")
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "dies", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    began = time.monotonic()
    with pytest.raises(KernelDied, match=r"^the kernel exited with code 4$"):
        start_kernel("dies", timeout=60, fork_server=maybe_fork_server)
    assert time.monotonic() - began < 15
    if maybe_fork_server is not None:
        assert maybe_fork_server.forked == 1
