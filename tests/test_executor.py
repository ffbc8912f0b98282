"""The local executor with real kernels, papermill and a real worker process."""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyter_dataops.backends.local.kernels import KernelPool
from jupyter_dataops.backends.local.state import read_state
from jupyter_dataops.core.config import DataOps
from jupyter_dataops.core.errors import Conflict, InvalidInput, QueueFull
from jupyter_dataops.core.jobs.models import JobCreate, JobQuery, JobRerun, JobStatus
from jupyter_dataops.core.jobs.service import DataOpsService

from .notebooks import output_text, write_notebook

WAIT = 120  # seconds; a bound, not a performance claim


def make_service(tmp_path: Path, **executor: object) -> DataOpsService:
    config = Config({"LocalExecutor": {"kernel_pool_size": 1, "idle_timeout": 120, **executor}})
    dataops = DataOps(
        config=config, root_dir=str(tmp_path / "root"), data_dir=str(tmp_path / "data")
    )
    return DataOpsService(dataops)


@pytest.fixture
def make(tmp_path):
    """Make services on one test folder; each one's worker is stopped and store closed after."""
    (tmp_path / "root").mkdir()
    made: list[DataOpsService] = []

    def factory(**executor: object) -> DataOpsService:
        made.append(make_service(tmp_path, **executor))
        return made[-1]

    yield factory
    for svc in made:
        svc.executor.stop_worker()  # type: ignore[attr-defined]
        svc.close()


@pytest.fixture
def service(make):
    return make()


@pytest.fixture
def root(service) -> Path:
    return Path(service.dataops.root_dir)


def wait_for_status(service, job_id, statuses, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = service.get_job(job_id)
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
    job = service.create_job(
        JobCreate(notebook_path="work/train.ipynb", parameters={"alpha": "0.5"})
    )
    assert job.status == JobStatus.QUEUED and job.parameters == {"alpha": 0.5}
    done = service.wait_for_job(job.id, timeout=WAIT)
    assert done.status == JobStatus.COMPLETED, done.error
    # papermill injects a cell, so 3 + parameters + injected = 5 code cells
    assert done.progress.cells_completed == done.progress.cells_total == 5
    out = root / done.output_path
    text = output_text(out)
    assert "alpha is 0.5" in text
    assert f"cwd {(root / 'work').resolve()}" in text  # runs where the notebook lives
    injected = json.loads(out.read_text())["cells"][1]
    assert "injected-parameters" in injected["metadata"]["tags"]
    logs = service.job_logs(job.id)
    assert "alpha is 0.5" in logs and "completed" in logs
    assert done.started_at and done.finished_at and done.finished_at >= done.started_at


def test_failure_names_the_cell_and_retries(service, root):
    write_notebook(root / "fail.ipynb", ["print('before')", "1 / 0"])
    job = service.create_job(JobCreate(notebook_path="fail.ipynb", max_retries=1))
    done = service.wait_for_job(job.id, timeout=WAIT)
    assert done.status == JobStatus.FAILED
    assert done.attempt == 2
    assert done.error.ename == "ZeroDivisionError"
    assert done.error.cell_index == 1
    assert any("ZeroDivisionError" in line for line in done.error.traceback)
    assert done.output_path  # papermill writes the failing notebook too
    assert service.job_logs(job.id).count("attempt ") == 2


def test_input_is_staged_at_submit(service, root):
    nb = write_notebook(root / "stage.ipynb", ["print('original')"])
    job = service.create_job(JobCreate(notebook_path="stage.ipynb"))
    write_notebook(nb, ["print('edited')"])
    done = service.wait_for_job(job.id, timeout=WAIT)
    assert "original" in output_text(root / done.output_path)

    rerun = service.rerun_job(job.id, JobRerun())
    assert "original" in output_text(root / service.wait_for_job(rerun.id).output_path)
    current = service.rerun_job(job.id, JobRerun(use_current_notebook=True))
    assert "edited" in output_text(root / service.wait_for_job(current.id).output_path)
    assert current.rerun_of == job.id


def test_rerun_with_changed_parameters(service, root):
    write_notebook(root / "p.ipynb", ["print(a + b)"], parameters="a = 1\nb = 2")
    first = service.create_job(JobCreate(notebook_path="p.ipynb", parameters={"a": 10}))
    service.wait_for_job(first.id, timeout=WAIT)
    second = service.rerun_job(first.id, JobRerun(parameters={"b": "5"}))
    assert second.parameters == {"a": 10, "b": 5}
    done = service.wait_for_job(second.id, timeout=WAIT)
    assert "15" in output_text(root / done.output_path)


def test_cancel_running_and_queued_jobs(make):
    service = make(max_concurrent_jobs=1)
    root = Path(service.dataops.root_dir)
    write_notebook(root / "slow.ipynb", ["import time; time.sleep(60)"])
    running = service.create_job(JobCreate(notebook_path="slow.ipynb"))
    queued = service.create_job(JobCreate(notebook_path="slow.ipynb"))
    wait_for_status(service, running.id, {JobStatus.RUNNING})
    assert service.cancel_job(queued.id).status == JobStatus.CANCELLED
    service.cancel_job(running.id)
    done = wait_for_status(service, running.id, {JobStatus.CANCELLED, JobStatus.FAILED})
    assert done.status == JobStatus.CANCELLED
    with pytest.raises(Conflict, match="nothing to cancel"):
        service.cancel_job(running.id)
    service.delete_job(running.id)
    assert not (root / "dataops-jobs" / f"slow-{running.id}").exists()


def test_whole_job_timeout(service, root):
    write_notebook(root / "slow.ipynb", ["import time; time.sleep(60)"])
    job = service.create_job(JobCreate(notebook_path="slow.ipynb", timeout_seconds=1))
    done = service.wait_for_job(job.id, timeout=WAIT)
    assert done.status == JobStatus.FAILED
    assert done.error.ename == "TimeoutError" and "1 s limit" in done.error.evalue


def test_concurrency_limit_and_queue_order(make):
    service = make(max_concurrent_jobs=1)
    root = Path(service.dataops.root_dir)
    write_notebook(root / "n.ipynb", ["import time; time.sleep(0.3)"])
    jobs = [service.create_job(JobCreate(notebook_path="n.ipynb")) for _ in range(3)]
    done = [service.wait_for_job(j.id, timeout=WAIT) for j in jobs]
    assert all(j.status == JobStatus.COMPLETED for j in done)
    spans = sorted((j.started_at, j.finished_at) for j in done)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end  # one at a time
    assert [j.id for j in sorted(done, key=lambda j: j.started_at)] == [j.id for j in jobs]


def test_worker_crash_loses_no_job(make):
    """Kill -9 the worker mid-run: the running job is failed with the reason, the queued one runs."""
    service = make(max_concurrent_jobs=1)
    root = Path(service.dataops.root_dir)
    write_notebook(root / "slow.ipynb", ["import time; time.sleep(60)"])
    write_notebook(root / "quick.ipynb", ["print('ran after the crash')"])
    running = service.create_job(JobCreate(notebook_path="slow.ipynb"))
    queued = service.create_job(JobCreate(notebook_path="quick.ipynb"))
    wait_for_status(service, running.id, {JobStatus.RUNNING})
    pid = read_state(Path(service.dataops.data_dir))["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while service.executor.worker_alive() and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.05)
    assert service.get_job(running.id).status == JobStatus.RUNNING  # nobody knows yet

    notes = service.reconcile()  # what the server or CLI does on start
    assert notes
    lost = wait_for_status(service, running.id, {JobStatus.FAILED})
    assert lost.error.ename == "WorkerLost" and "stopped while the job was running" in (
        lost.error.evalue
    )
    done = service.wait_for_job(queued.id, timeout=WAIT)
    assert done.status == JobStatus.COMPLETED
    assert "ran after the crash" in output_text(root / done.output_path)


def test_bad_input_stores_nothing(service, root):
    write_notebook(root / "p.ipynb", ["print(a)"], parameters="a = 1")
    for request in [
        JobCreate(notebook_path="p.ipynb", kernel_name="no-such-kernel"),
        JobCreate(notebook_path="p.ipynb", parameters={"a": "not a number"}),
    ]:
        with pytest.raises(InvalidInput):
            service.create_job(request)
    assert service.list_jobs(JobQuery()).total == 0
    assert not (root / "dataops-jobs").exists() or not any((root / "dataops-jobs").iterdir())
    assert service.store.audit_events() == []


def test_delete_refuses_active_jobs(service, root):
    write_notebook(root / "slow.ipynb", ["import time; time.sleep(60)"])
    job = service.create_job(JobCreate(notebook_path="slow.ipynb"))
    with pytest.raises(Conflict, match="Cancel it first"):
        service.delete_job(job.id)
    service.cancel_job(job.id)
    wait_for_status(service, job.id, {JobStatus.CANCELLED})
    service.delete_job(job.id)
    assert service.list_jobs().total == 0
    assert [e.action for e in service.store.audit_events(job.id)] == [
        "job.create",
        "job.cancel",
        "job.delete",
    ]


def test_html_rendering(service, root):
    write_notebook(root / "h.ipynb", ["print('in html')"])
    job = service.wait_for_job(service.create_job(JobCreate(notebook_path="h.ipynb")).id)
    html = service.job_html(job.id)
    assert "in html" in html.read_text()
    assert service.get_job(job.id).html_path


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


def test_queue_is_bounded(tmp_path):
    (tmp_path / "root").mkdir()
    config = Config({"DataOps": {"max_queued_jobs": 2}, "LocalExecutor": {"warm_start": False}})
    dataops = DataOps(config=config, root_dir=str(tmp_path / "root"), data_dir=str(tmp_path / "d"))
    from jupyter_dataops.backends.base import Executor

    class HoldingExecutor(Executor):
        """Accepts jobs and never runs them, so the queue fills deterministically."""

        name = "holding"

        def submit(self, job):
            pass

        def cancel(self, job):
            pass

        def reconcile(self):
            return []

    service = DataOpsService(dataops, executor=HoldingExecutor(dataops=dataops, store=None))
    service.executor.store = service.store
    try:
        write_notebook(tmp_path / "root" / "n.ipynb", ["1"])
        service.create_job(JobCreate(notebook_path="n.ipynb"))
        service.create_job(JobCreate(notebook_path="n.ipynb"))
        with pytest.raises(QueueFull, match="queue is full"):
            service.create_job(JobCreate(notebook_path="n.ipynb"))
        assert service.list_jobs().total == 2
    finally:
        service.close()


def test_concurrent_submits_start_one_worker(make):
    """Many processes submitting at once while no worker runs still start exactly one."""
    import subprocess
    import sys

    service = make()
    executor = service.executor
    script = (
        "import sys; from jupyter_dataops.core.config import DataOps;"
        "from jupyter_dataops.store import JobStore;"
        "from jupyter_dataops.backends.local import LocalExecutor;"
        "d = DataOps(data_dir=sys.argv[1]);"
        "LocalExecutor(dataops=d, store=JobStore(d.store_url)).ensure_worker()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, service.dataops.data_dir]) for _ in range(6)
    ]
    for proc in procs:
        assert proc.wait(60) == 0
    deadline = time.monotonic() + 60
    while read_state(Path(service.dataops.data_dir)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # give any extra worker the time to show up
    workers = subprocess.run(
        ["pgrep", "-f", f"backends.local --data-dir {service.dataops.data_dir} "],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert len(workers) == 1, workers
    assert executor.worker_alive()  # type: ignore[attr-defined]


def test_a_running_jobs_output_shows_the_cells_before_the_current_one(service, root):
    """While a long cell runs, the output notebook on disk has the finished cells' outputs."""
    write_notebook(root / "long.ipynb", ["print('first done')", "import time; time.sleep(60)"])
    job = service.create_job(JobCreate(notebook_path="long.ipynb"))
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        running = service.get_job(job.id)
        if running.progress.current_cell == 1:
            break
        time.sleep(0.05)
    assert running.progress.current_cell == 1 and running.progress.cells_completed == 1
    assert "first done" in output_text(root / running.output_path)
    service.cancel_job(job.id)
    assert wait_for_status(service, job.id, {JobStatus.CANCELLED}).status == JobStatus.CANCELLED


def test_the_worker_does_not_leak_threads_or_descriptors(service, root):
    """A long-lived worker runs thousands of jobs: each must leave no thread, socket or loop
    behind (nbclient keeps a given kernel's client open; jupyter_core keeps a loop per thread)."""
    write_notebook(root / "nb.ipynb", ["y = x + 1"], parameters="x = 1")

    def batch(count: int) -> tuple[int, int]:
        ids = [
            service.create_job(JobCreate(notebook_path="nb.ipynb", parameters={"x": i})).id
            for i in range(count)
        ]
        for job_id in ids:
            assert wait_for_status(service, job_id, {JobStatus.COMPLETED}).status == "completed"
        state = read_state(Path(service.dataops.data_dir))
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
    root = Path(service.dataops.root_dir)
    write_notebook(
        root / "where.ipynb",
        ["import os; print('parent', os.getppid()); print('cwd', os.getcwd())"],
        parameters="x = 1",
    )
    done = service.wait_for_job(
        service.create_job(JobCreate(notebook_path="where.ipynb")).id, timeout=WAIT
    )
    assert done.status == JobStatus.COMPLETED, done.error
    text = output_text(root / done.output_path)
    state = read_state(Path(service.dataops.data_dir))
    assert state is not None
    parent = int(text.split("parent ", 1)[1].split()[0])
    cmdline = Path(f"/proc/{parent}/cmdline").read_bytes().split(b"\0")
    if fork_kernels:  # a child of the worker's zygote, not of the worker
        assert parent != state["pid"]
        assert b"jupyter_dataops.backends.local.zygote" in cmdline
    else:
        assert parent == state["pid"]
    assert f"cwd {root.resolve()}" in text
