"""The extension's start: jobs queued while no server ran get run, and the executor warms up; and
a queue that is full holds jobs that can be cancelled before they start."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from jupyter_dataops.core.config import DataOps
from jupyter_dataops.core.jobs.models import JobCreate, JobStatus

from .conftest import JOB_WAIT_SECONDS


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    """As in conftest, but the worker starts with the server and runs one job at a time, and at
    most one job may wait in the queue."""
    jp_server_config["LocalExecutor"].update(max_concurrent_jobs=1)
    jp_server_config["Worker"].update(warm_start=True)
    jp_server_config["DataOps"] = {"max_queued_jobs": 1}
    return jp_server_config


async def test_server_start_warms_up_the_worker(dataops_server):
    supervisor = await asyncio.to_thread(lambda: dataops_server.services.supervisor)
    deadline = time.monotonic() + JOB_WAIT_SECONDS
    while not supervisor.alive():
        assert time.monotonic() < deadline, "no worker started with the server"
        await asyncio.sleep(0.1)


@pytest.fixture
def queued_while_offline(jp_serverapp: Any, notebook_root, make_notebook) -> str:
    """A job stored as queued while no server (and no worker) ran: created through the core with
    an executor that never starts a worker, as if the server had stopped right after queuing it.
    Requested before ``dataops_server``, so it exists when the extension starts."""
    from jupyter_dataops.services import Services

    from .test_executor import _ParkedDispatcher

    make_notebook("later.ipynb", ["print('ran after restart')"])
    dataops = DataOps(root_dir=str(notebook_root))  # same JUPYTER_DATA_DIR, so the same store
    offline = Services.from_config(dataops, kernels=lambda: {"python3": "python"})
    offline.jobs.dispatcher = _ParkedDispatcher()
    try:
        job = offline.jobs.create(JobCreate(notebook_path="later.ipynb"))
    finally:
        offline.close()
    assert job.status is JobStatus.QUEUED
    return job.id


async def test_jobs_queued_before_a_restart_run_after_it(queued_while_offline, dataops_api):
    done = await dataops_api.wait_for_job(queued_while_offline)
    assert done["status"] == "completed", done
    logs = (await dataops_api("GET", "jobs", queued_while_offline, "logs")).json()["logs"]
    assert "ran after restart" in logs


async def test_cancel_a_queued_job_before_it_starts(dataops_api, make_notebook):
    make_notebook("slow.ipynb", ["import time", "time.sleep(30)"])
    make_notebook("next.ipynb", ["print('should not run')"])
    first = await dataops_api.create_job(notebook_path="slow.ipynb")
    await dataops_api.wait_for_job(first["id"], frozenset({"running"}))
    # One job at a time: the second waits behind the first.
    second = await dataops_api.create_job(notebook_path="next.ipynb")
    assert (await dataops_api("GET", "jobs", second["id"])).json()["status"] == "queued"

    # The queue holds one job: a third is refused and stores nothing.
    full = await dataops_api("POST", "jobs", json={"notebook_path": "next.ipynb"})
    assert full.code == 429, full
    assert full.json()["error"] == "queue_full" and full.json()["hint"]
    assert (await dataops_api("GET", "jobs")).json()["total"] == 2

    response = await dataops_api("POST", "jobs", second["id"], "cancel")
    assert response.code == 200
    cancelled = response.json()
    assert cancelled["status"] == "cancelled" and cancelled["started_at"] is None
    assert cancelled["output_path"] is None

    await dataops_api("POST", "jobs", first["id"], "cancel")
    assert (await dataops_api.wait_for_job(first["id"]))["status"] == "cancelled"
    assert (await dataops_api("GET", "jobs", second["id"])).json()["started_at"] is None


async def test_a_killed_worker_is_replaced_within_seconds(
    dataops_api, dataops_server, make_notebook
):
    """kill -9 of the worker with one job running and others queued: while the server runs, it
    notices within seconds (not at the next submit), the running job is failed as WorkerLost,
    and a new worker drains the queue."""
    import os
    import signal

    from jupyter_dataops.worker.state import read_state

    make_notebook("slow.ipynb", ["import time", "time.sleep(60)"])
    make_notebook("quick.ipynb", ["print('after the crash')"])
    running = await dataops_api.create_job(notebook_path="slow.ipynb")
    await dataops_api.wait_for_job(running["id"], frozenset({"running"}))
    queued = await dataops_api.create_job(notebook_path="quick.ipynb")
    supervisor = dataops_server.services.supervisor
    old = read_state(supervisor.data_dir)
    os.kill(old["pid"], signal.SIGKILL)
    lost = await dataops_api.wait_for_job(running["id"], frozenset({"failed", "queued"}))
    assert lost["error"]["ename"] == "WorkerLost", lost
    done = await dataops_api.wait_for_job(queued["id"])
    assert done["status"] == "completed", done
    assert read_state(supervisor.data_dir)["pid"] != old["pid"]
