"""Jobs end to end through the core: a real worker process, the local executor with real kernels
and papermill. Every wait is bounded; nothing asserts on timing."""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyter_dataops.backends.local import LocalExecutor
from jupyter_dataops.backends.local.kernels import KernelPool
from jupyter_dataops.core.config import DataOps
from jupyter_dataops.core.errors import Conflict, InvalidInput, QueueFull
from jupyter_dataops.core.jobs.models import JobCreate, JobQuery, JobRerun, JobStatus
from jupyter_dataops.services import Services
from jupyter_dataops.worker.state import read_state

from .notebooks import output_text, write_notebook

WAIT = 120  # seconds; a bound, not a performance claim


class Jobs:
    """The job service of a test, with the short names these tests use."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.jobs = services.jobs
        self.root = services.root
        self.data_dir = Path(services.ctx.config.data_dir)

    def create(self, **request):
        return self.jobs.create(JobCreate(**request), actor="tester")

    def wait(self, job_id, timeout=WAIT):
        return self.jobs.wait(job_id, timeout=timeout)

    def audit(self, target_id=None):
        with self.services.ctx.store.unit_of_work() as uow:
            return uow.audit.events(target_id)


def make_services(tmp_path: Path, *, config: dict | None = None, **executor: object) -> Services:
    sections = {
        "LocalExecutor": {"kernel_pool_size": 1, **executor},
        "Worker": {"idle_timeout": 120, "warm_start": False},
    }
    for name, values in (config or {}).items():
        sections.setdefault(name, {}).update(values)
    dataops = DataOps(
        config=Config(sections), root_dir=str(tmp_path / "root"), data_dir=str(tmp_path / "data")
    )
    return Services.from_config(dataops, actor="tester")


@pytest.fixture
def make(tmp_path):
    """Make services on one test folder; each one's worker is stopped and store closed after."""
    (tmp_path / "root").mkdir(exist_ok=True)
    made: list[Services] = []

    def factory(**executor: object) -> Jobs:
        made.append(make_services(tmp_path, **executor))
        return Jobs(made[-1])

    yield factory
    for services in made:
        services.supervisor.stop_worker()
        services.close()


@pytest.fixture
def service(make):
    return make()


@pytest.fixture
def root(service) -> Path:
    return service.root


def wait_for_status(service, job_id, statuses, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = service.jobs.get(job_id)
        if job.status in statuses:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} stayed {job.status} for {timeout} s")


def test_job_runs_with_parameters_progress_and_logs(service, root):
    write_notebook(
        root / "work" / "train.ipynb",
        ["print('alpha is', alpha)", "import os; print('cwd', os.getcwd())", "result = alpha * n"],
        parameters="alpha = 0.1\nn = 2",
    )
    job = service.create(notebook_path="work/train.ipynb", parameters={"alpha": "0.5"})
    assert job.status == JobStatus.QUEUED and job.parameters == {"alpha": 0.5}
    done = service.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.COMPLETED, done.error
    # papermill injects a cell, so 3 + parameters + injected = 5 code cells
    assert done.progress.cells_completed == done.progress.cells_total == 5
    out = root / done.output_path
    text = output_text(out)
    assert "alpha is 0.5" in text
    assert f"cwd {(root / 'work').resolve()}" in text  # runs where the notebook lives
    injected = json.loads(out.read_text())["cells"][1]
    assert "injected-parameters" in injected["metadata"]["tags"]
    logs = service.jobs.logs(job.id).logs
    assert "alpha is 0.5" in logs and "completed" in logs
    assert done.started_at and done.finished_at and done.finished_at >= done.started_at


def test_failure_names_the_cell_and_retries(service, root):
    write_notebook(root / "fail.ipynb", ["print('before')", "1 / 0"])
    job = service.create(notebook_path="fail.ipynb", max_retries=1)
    done = service.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.FAILED
    assert done.attempt == 2
    assert done.error.ename == "ZeroDivisionError"
    assert done.error.cell_index == 1
    assert any("ZeroDivisionError" in line for line in done.error.traceback)
    assert done.output_path  # papermill writes the failing notebook too
    assert service.jobs.logs(job.id).logs.count("attempt ") == 2


def test_input_is_staged_at_submit(service, root):
    nb = write_notebook(root / "stage.ipynb", ["print('original')"])
    job = service.create(notebook_path="stage.ipynb")
    write_notebook(nb, ["print('edited')"])
    done = service.wait(job.id, timeout=WAIT)
    assert "original" in output_text(root / done.output_path)

    rerun = service.jobs.rerun(job.id, JobRerun())
    assert "original" in output_text(root / service.wait(rerun.id).output_path)
    current = service.jobs.rerun(job.id, JobRerun(use_current_notebook=True))
    assert "edited" in output_text(root / service.wait(current.id).output_path)
    assert current.rerun_of == job.id


def test_rerun_with_changed_parameters(service, root):
    write_notebook(root / "p.ipynb", ["print(a + b)"], parameters="a = 1\nb = 2")
    first = service.create(notebook_path="p.ipynb", parameters={"a": 10})
    service.wait(first.id, timeout=WAIT)
    second = service.jobs.rerun(first.id, JobRerun(parameters={"b": "5"}))
    assert second.parameters == {"a": 10, "b": 5}
    done = service.wait(second.id, timeout=WAIT)
    assert "15" in output_text(root / done.output_path)


def test_cancel_running_and_queued_jobs(make):
    service = make(max_concurrent_jobs=1)
    root = service.root
    write_notebook(root / "slow.ipynb", ["import time; time.sleep(60)"])
    running = service.create(notebook_path="slow.ipynb")
    queued = service.create(notebook_path="slow.ipynb")
    wait_for_status(service, running.id, {JobStatus.RUNNING})
    assert service.jobs.cancel(queued.id).status == JobStatus.CANCELLED
    service.jobs.cancel(running.id)
    done = wait_for_status(service, running.id, {JobStatus.CANCELLED, JobStatus.FAILED})
    assert done.status == JobStatus.CANCELLED
    with pytest.raises(Conflict, match="nothing to cancel"):
        service.jobs.cancel(running.id)
    service.jobs.delete(running.id)
    assert not (root / "dataops-jobs" / f"slow-{running.id}").exists()


def test_whole_job_timeout(service, root):
    write_notebook(root / "slow.ipynb", ["import time; time.sleep(60)"])
    job = service.create(notebook_path="slow.ipynb", timeout_seconds=1)
    done = service.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.FAILED
    assert done.error.ename == "TimeoutError"
    assert "timed out after 1 s" in done.error.evalue


def test_concurrency_limit_and_queue_order(make):
    service = make(max_concurrent_jobs=1)
    root = service.root
    write_notebook(root / "n.ipynb", ["import time; time.sleep(0.3)"])
    jobs = [service.create(notebook_path="n.ipynb") for _ in range(3)]
    done = [service.wait(j.id, timeout=WAIT) for j in jobs]
    assert all(j.status == JobStatus.COMPLETED for j in done)
    spans = sorted((j.started_at, j.finished_at) for j in done)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end  # one at a time
    assert [j.id for j in sorted(done, key=lambda j: j.started_at)] == [j.id for j in jobs]


def test_worker_crash_loses_no_job(make):
    """Kill -9 the worker mid-run: the running job is failed with the reason, the queued one runs."""
    service = make(max_concurrent_jobs=1)
    root = service.root
    write_notebook(root / "slow.ipynb", ["import time; time.sleep(60)"])
    write_notebook(root / "quick.ipynb", ["print('ran after the crash')"])
    running = service.create(notebook_path="slow.ipynb")
    queued = service.create(notebook_path="quick.ipynb")
    wait_for_status(service, running.id, {JobStatus.RUNNING})
    pid = read_state(service.data_dir)["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while service.services.supervisor.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.jobs.get(running.id).status == JobStatus.RUNNING  # nobody knows yet

    # What the server does every few seconds, and a waiting CLI too.
    assert service.services.supervisor.check() is True
    lost = wait_for_status(service, running.id, {JobStatus.FAILED})
    assert lost.error.ename == "WorkerLost" and "stopped while the job was running" in (
        lost.error.evalue
    )
    done = service.wait(queued.id, timeout=WAIT)
    assert done.status == JobStatus.COMPLETED
    assert "ran after the crash" in output_text(root / done.output_path)


def test_bad_input_stores_nothing(service, root):
    write_notebook(root / "p.ipynb", ["print(a)"], parameters="a = 1")
    for request in [
        {"notebook_path": "p.ipynb", "kernel_name": "no-such-kernel"},
        {"notebook_path": "p.ipynb", "parameters": {"a": "not a number"}},
        {"notebook_path": "p.ipynb", "parameters": {"import": 1}},
    ]:
        with pytest.raises(InvalidInput):
            service.create(**request)
    assert service.jobs.list(JobQuery()).total == 0
    assert not (root / "dataops-jobs").exists() or not any((root / "dataops-jobs").iterdir())
    assert service.audit() == []


def test_delete_refuses_active_jobs(service, root):
    write_notebook(root / "slow.ipynb", ["import time; time.sleep(60)"])
    job = service.create(notebook_path="slow.ipynb")
    with pytest.raises(Conflict, match="Cancel it first"):
        service.jobs.delete(job.id)
    service.jobs.cancel(job.id)
    wait_for_status(service, job.id, {JobStatus.CANCELLED})
    service.jobs.delete(job.id)
    assert service.jobs.list().total == 0
    assert [e.action for e in service.audit(job.id)] == [
        "job.create",
        "job.cancel",
        "job.delete",
    ]


def test_html_rendering(service, root):
    write_notebook(root / "h.ipynb", ["print('in html')"])
    job = service.wait(service.create(notebook_path="h.ipynb").id)
    html = service.jobs.html(job.id)
    assert "in html" in html.decode()
    assert service.jobs.get(job.id).html_path


def test_kernel_pool_hands_out_each_kernel_once():
    pool = KernelPool(1, default_kernel="python3")
    try:
        assert pool.wait_ready("python3", timeout=WAIT)
        first, warm = pool.acquire("python3")
        assert warm and first.is_alive()
        assert pool.wait_ready("python3", timeout=WAIT)
        second, warm2 = pool.acquire("python3")
        assert warm2 and second is not first
        assert second.connection_file != first.connection_file
        for km in (first, second):
            km.shutdown_kernel(now=True)
    finally:
        pool.close()


class _ParkedDispatcher:
    """A dispatcher that never starts a worker, so queued jobs stay queued."""

    def wake(self) -> None:
        pass

    def check(self) -> bool:
        return False

    def status(self) -> dict:
        return {}

    def stop(self) -> dict:
        return {}


def parked_services(tmp_path, **dataops_config) -> Services:
    from jupyter_dataops.core.jobs.service import JobService

    (tmp_path / "root").mkdir(exist_ok=True)
    services = make_services(tmp_path, config={"DataOps": dataops_config})
    services.jobs = JobService(
        services.ctx,
        executor=services.jobs.executor,
        dispatcher=_ParkedDispatcher(),
        kernels=services.jobs._kernels,
    )
    return services


def test_queue_is_bounded(tmp_path):
    services = parked_services(tmp_path, max_queued_jobs=2)
    try:
        write_notebook(tmp_path / "root" / "n.ipynb", ["1"])
        services.jobs.create(JobCreate(notebook_path="n.ipynb"))
        services.jobs.create(JobCreate(notebook_path="n.ipynb"))
        with pytest.raises(QueueFull, match="queue is full"):
            services.jobs.create(JobCreate(notebook_path="n.ipynb"))
        assert services.jobs.list().total == 2
    finally:
        services.close()


def test_concurrent_submits_never_exceed_the_queue_bound(tmp_path):
    """The bound is checked in the transaction that inserts: 12 clients at once, bound 5."""
    services = parked_services(tmp_path, max_queued_jobs=5)
    write_notebook(tmp_path / "root" / "n.ipynb", ["1"])
    outcomes: list[str] = []
    start = threading.Barrier(12)

    def submit() -> None:
        start.wait(30)
        try:
            services.jobs.create(JobCreate(notebook_path="n.ipynb"))
            outcomes.append("queued")
        except QueueFull:
            outcomes.append("full")

    threads = [threading.Thread(target=submit) for _ in range(12)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(outcomes) == ["full"] * 7 + ["queued"] * 5
        assert services.jobs.list().total == 5
        staged = list((tmp_path / "root" / "dataops-jobs").iterdir())
        assert len(staged) == 5  # a refused submit leaves no files behind
    finally:
        services.close()


def test_concurrent_submits_start_one_worker(make):
    """Many processes submitting at once while no worker runs still start exactly one."""
    import subprocess
    import sys

    service = make()
    data_dir = service.data_dir
    script = (
        "import sys; from jupyter_dataops.core.config import DataOps;"
        "from jupyter_dataops.store import Database;"
        "from jupyter_dataops.worker.supervisor import WorkerSupervisor;"
        "d = DataOps(data_dir=sys.argv[1]);"
        "WorkerSupervisor(d, Database(d.store_url)).ensure_running()"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(data_dir)]) for _ in range(6)]
    for proc in procs:
        assert proc.wait(60) == 0
    deadline = time.monotonic() + 60
    while read_state(data_dir) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # give any extra worker the time to show up
    workers = subprocess.run(
        ["pgrep", "-f", f"jupyter_dataops.worker --data-dir {data_dir} "],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert len(workers) == 1, workers
    assert service.services.supervisor.alive()


def test_a_running_jobs_output_shows_the_cells_before_the_current_one(service, root):
    """While a long cell runs, the output notebook on disk has the finished cells' outputs."""
    write_notebook(root / "long.ipynb", ["print('first done')", "import time; time.sleep(60)"])
    job = service.create(notebook_path="long.ipynb")
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        running = service.jobs.get(job.id)
        if running.progress.current_cell == 1:
            break
        time.sleep(0.05)
    assert running.progress.current_cell == 1 and running.progress.cells_completed == 1
    assert "first done" in output_text(root / running.output_path)
    service.jobs.cancel(job.id)
    assert wait_for_status(service, job.id, {JobStatus.CANCELLED}).status == JobStatus.CANCELLED


def test_the_worker_does_not_leak_threads_or_descriptors(service, root):
    """A long-lived worker runs thousands of jobs: each must leave no thread, socket or loop
    behind (nbclient keeps a given kernel's client open; jupyter_core keeps a loop per thread)."""
    write_notebook(root / "nb.ipynb", ["y = x + 1"], parameters="x = 1")

    def batch(count: int) -> tuple[int, int]:
        ids = [
            service.create(notebook_path="nb.ipynb", parameters={"x": i}).id for i in range(count)
        ]
        for job_id in ids:
            assert wait_for_status(service, job_id, {JobStatus.COMPLETED}).status == "completed"
        state = read_state(service.data_dir)
        assert state is not None
        pid = state["pid"]
        time.sleep(1.0)  # the worker is idle now: it collects garbage on its next loop
        return len(os.listdir(f"/proc/{pid}/task")), len(os.listdir(f"/proc/{pid}/fd"))

    threads, fds = batch(4)
    threads_after, fds_after = batch(20)
    assert threads_after <= threads + 1, (threads, threads_after)
    assert fds_after <= fds + 12, (fds, fds_after)


@pytest.mark.parametrize("fork_kernels", [True, False])
def test_job_kernels_are_forked_from_the_zygote_unless_turned_off(make, fork_kernels):
    service = make(fork_kernels=fork_kernels)
    root = service.root
    write_notebook(
        root / "where.ipynb",
        ["import os; print('parent', os.getppid()); print('cwd', os.getcwd())"],
        parameters="x = 1",
    )
    done = service.wait(service.create(notebook_path="where.ipynb").id, timeout=WAIT)
    assert done.status == JobStatus.COMPLETED, done.error
    text = output_text(root / done.output_path)
    state = read_state(service.data_dir)
    assert state is not None
    parent = int(text.split("parent ", 1)[1].split()[0])
    cmdline = Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")
    if fork_kernels:  # a child of the worker's zygote, not of the worker
        assert parent != state["pid"]
        assert b"jupyter_dataops.backends.local.zygote" in cmdline
    else:
        assert parent == state["pid"]
    assert f"cwd {root.resolve()}" in text


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.3])
def test_cancel_at_any_moment_cancels_and_frees_the_slot(make, delay):
    """A cancel right after a job starts (its kernel still starting, its folder being entered,
    its first cell starting) ends it `cancelled`, promptly, and the next job gets its slot."""
    service = make(max_concurrent_jobs=1)
    write_notebook(service.root / "t.ipynb", ["x = 1", "import time; time.sleep(0.2)", "print(x)"])
    for _ in range(3):
        job = service.create(notebook_path="t.ipynb")
        wait_for_status(service, job.id, {JobStatus.RUNNING, JobStatus.COMPLETED})
        time.sleep(delay)
        try:
            service.jobs.cancel(job.id)
        except Conflict:  # it completed first: that is fine too
            pass
        done = service.wait(job.id, timeout=60)
        assert done.status in (JobStatus.CANCELLED, JobStatus.COMPLETED), done.error
        if done.status is JobStatus.CANCELLED:
            assert done.error.ename == "Cancelled"
    after = service.wait(service.create(notebook_path="t.ipynb").id, timeout=60)
    assert after.status is JobStatus.COMPLETED  # the slot was freed


@pytest.mark.parametrize("limit", [0.001, 0.05, 0.3])
def test_a_tiny_time_limit_fails_with_the_limit(service, root, limit):
    write_notebook(root / "t.ipynb", ["x = 1", "import time; time.sleep(5)"])
    done = service.wait(service.create(notebook_path="t.ipynb", timeout_seconds=limit).id)
    assert done.status is JobStatus.FAILED
    assert done.error.ename == "TimeoutError", done.error
    assert f"timed out after {limit:g} s" in done.error.evalue
    after = service.wait(service.create(notebook_path="t.ipynb", timeout_seconds=30).id)
    assert after.status is JobStatus.COMPLETED


def test_a_notebook_without_parameters_cell_gets_its_parameters_injected(service, root):
    write_notebook(root / "plain.ipynb", ["print('beta is', beta)"])
    job = service.create(notebook_path="plain.ipynb", parameters={"beta": "7"})
    assert any("no cell tagged 'parameters'" in w for w in job.warnings)
    done = service.wait(job.id)
    assert done.status is JobStatus.COMPLETED, done.error
    assert "beta is 7" in output_text(root / done.output_path)


def test_every_change_is_in_the_change_log(service, root):
    write_notebook(root / "c.ipynb", ["1", "2"])
    before = service.jobs.latest_change()
    done = service.wait(service.create(notebook_path="c.ipynb").id)
    changes = service.jobs.changes(before)
    assert [c.id for c in changes] == [done.id]  # one row per job: its latest change
    assert changes[0].seq == service.jobs.latest_change() > before + 3  # queued, ran, ended


@pytest.mark.parametrize("fork_kernels", [True, False])
@pytest.mark.parametrize(
    ("code", "cause"),
    [
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "killed by signal 9 (SIGKILL)"),
        ("import ctypes; ctypes.string_at(0)", "killed by signal 11 (SIGSEGV)"),
    ],
)
def test_a_kernel_that_dies_fails_its_job_with_the_cause(make, fork_kernels, code, cause):
    """A kernel killed by the OOM killer or a segfault fails the job with the real cause, whether
    it was forked from the zygote or started the usual way."""
    service = make(fork_kernels=fork_kernels)
    write_notebook(service.root / "die.ipynb", ["x = 1", code, "print('never')"])
    done = service.wait(service.create(notebook_path="die.ipynb").id)
    assert done.status is JobStatus.FAILED
    assert done.error.ename == "DeadKernelError", done.error
    assert cause in done.error.evalue and done.error.evalue.startswith("The kernel died")
    if "SIGKILL" in cause:
        assert "out of memory?" in done.error.evalue
    assert cause in service.jobs.logs(done.id).logs


class CrashingExecutor(LocalExecutor):
    """A local executor with a bug: its runner raises with an install path in the message."""

    name = "crashing"

    def _execute(self, execution, joblog):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom in /opt/venv/lib/python3.11/site-packages/thing/x.py line 3")


def test_an_internal_error_gives_the_cause_not_our_traceback(tmp_path):
    (tmp_path / "root").mkdir()
    services = make_services(
        tmp_path, config={"DataOps": {"job_executor_class": f"{__name__}.CrashingExecutor"}}
    )
    try:
        write_notebook(services.root / "n.ipynb", ["1"])
        job = services.jobs.create(JobCreate(notebook_path="n.ipynb"))
        done = services.jobs.wait(job.id, timeout=WAIT)
        assert done.status is JobStatus.FAILED
        assert done.error.ename == "InternalError"
        assert "site-packages" not in done.error.evalue and not done.error.traceback
        assert "worker" in done.error.evalue  # where the details are
        log = (Path(services.ctx.config.data_dir) / "worker.log").read_text()
        assert "site-packages/thing/x.py" in log  # ... for the operator
    finally:
        services.supervisor.stop_worker()
        services.close()


def test_job_files_can_live_in_another_file_store(tmp_path):
    """c.DataOps.job_files_url moves job files out of the root (fsspec); rows hold keys, the
    executor reads and writes URIs, and the API still serves output, HTML and logs."""
    (tmp_path / "root").mkdir()
    shared = tmp_path / "shared"
    services = make_services(tmp_path, config={"DataOps": {"job_files_url": f"file://{shared}"}})
    try:
        write_notebook(services.root / "n.ipynb", ["print('stored elsewhere')"])
        job = services.jobs.create(JobCreate(notebook_path="n.ipynb"))
        done = services.jobs.wait(job.id, timeout=WAIT)
        assert done.status is JobStatus.COMPLETED, done.error
        assert done.output_path is None  # not inside the root: JupyterLab cannot open it there
        assert not (services.root / "dataops-jobs").exists()
        assert list(shared.glob("dataops-jobs/n-*/n.ipynb"))
        name, body = services.jobs.output(job.id)
        assert name == "n.ipynb" and b"stored elsewhere" in body
        assert "stored elsewhere" in services.jobs.logs(job.id).logs
        assert b"stored elsewhere" in services.jobs.html(job.id)
        services.jobs.delete(job.id)
        assert not list(shared.glob("dataops-jobs/n-*"))
    finally:
        services.supervisor.stop_worker()
        services.close()

    s3 = make_services(tmp_path, config={"DataOps": {"job_files_url": "s3://bucket/prefix"}})
    try:
        from jupyter_dataops.core.errors import BackendUnavailable

        with pytest.raises((BackendUnavailable, InvalidInput)) as refused:
            s3.jobs.create(JobCreate(notebook_path="n.ipynb"))
        assert "job_files_url" in str(refused.value) or "fsspec" in str(refused.value)
    finally:
        s3.close()


def test_settings_from_a_command_line_reach_the_worker_typed(tmp_path):
    """`jupyter lab --Worker.warm_start=False --LocalExecutor.kernel_pool_size=1` gives the raw
    configuration strings; the worker gets typed values and runs (it used to crash at start)."""
    from traitlets.config.loader import DeferredConfigString

    from jupyter_dataops.worker.supervisor import worker_config

    (tmp_path / "root").mkdir()
    config = Config(
        {
            "Worker": {"warm_start": DeferredConfigString("False")},
            "LocalExecutor": {
                "kernel_pool_size": DeferredConfigString("1"),
                "fork_kernels": DeferredConfigString("False"),
            },
        }
    )
    dataops = DataOps(config=config, root_dir=str(tmp_path / "root"), data_dir=str(tmp_path / "d"))
    sections = worker_config(dataops)
    assert sections["Worker"]["warm_start"] is False
    assert sections["LocalExecutor"]["kernel_pool_size"] == 1
    assert sections["LocalExecutor"]["fork_kernels"] is False
    services = Services.from_config(dataops)
    try:
        write_notebook(services.root / "n.ipynb", ["1"])
        done = services.jobs.wait(
            services.jobs.create(JobCreate(notebook_path="n.ipynb")).id, timeout=WAIT
        )
        assert done.status is JobStatus.COMPLETED, done.error
    finally:
        services.supervisor.stop_worker()
        services.close()
