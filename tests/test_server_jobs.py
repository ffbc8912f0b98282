"""Jobs through the running server, end to end: the local executor runs real notebooks with
papermill. Every wait is bounded (conftest.JOB_WAIT_SECONDS); nothing asserts on timing."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from jupyter_dataops.core.jobs.models import JobEvent, JobStatus

from .conftest import JOB_WAIT_SECONDS

PARAMETERS = "alpha = 0.5\nlabel = 'base'"
CELLS = ["value = alpha * 4", "print(f'{label}: {value}')"]


def cell_text(cell: dict[str, Any]) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def outputs_text(cell: dict[str, Any]) -> str:
    parts = []
    for out in cell.get("outputs", []):
        text = out.get("text") or out.get("data", {}).get("text/plain", "")
        parts.append("".join(text) if isinstance(text, list) else text)
    return "".join(parts)


async def wait_until(predicate, *, timeout: float = JOB_WAIT_SECONDS, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"{what} not met within {timeout}s")


async def test_a_job_runs_to_completion(dataops_api, make_notebook):
    make_notebook("train.ipynb", CELLS, parameters=PARAMETERS)
    job = await dataops_api.create_job(
        notebook_path="train.ipynb", parameters={"alpha": 3, "label": "tuned"}, tags=["demo"]
    )
    assert job["status"] == "queued"
    assert job["parameters"] == {"alpha": 3.0, "label": "tuned"}
    assert job["kernel_name"] == "python3" and job["tags"] == ["demo"]

    done = await dataops_api.wait_for_job(job["id"])
    assert done["status"] == "completed", done
    assert done["error"] is None
    assert done["progress"]["cells_completed"] == done["progress"]["cells_total"] > 0
    assert done["started_at"] <= done["finished_at"]
    assert done["output_path"].endswith("train.ipynb") and done["output_path"] != "train.ipynb"

    output = await dataops_api("GET", "jobs", job["id"], "output")
    assert output.code == 200
    nb = json.loads(output.body)
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1
    assert "alpha = 3.0" in cell_text(injected[0]) and 'label = "tuned"' in cell_text(injected[0])
    printed = [outputs_text(c) for c in nb["cells"] if cell_text(c).startswith("print")]
    assert printed == ["tuned: 12.0\n"]

    logs = (await dataops_api("GET", "jobs", job["id"], "logs")).json()["logs"]
    assert "tuned: 12.0" in logs

    html = await dataops_api("GET", "jobs", job["id"], "html")
    assert html.code == 200
    assert "tuned: 12.0" in html.body.decode()
    # Rendered once, then listed on the job.
    assert (await dataops_api("GET", "jobs", job["id"])).json()["html_path"].endswith(".html")


async def test_a_failing_notebook_fails_with_the_cell_and_error(dataops_api, make_notebook):
    make_notebook(
        "broken.ipynb", ["x = 1", "raise ValueError('boom at ' + str(x))", "print('never')"]
    )
    job = await dataops_api.create_job(notebook_path="broken.ipynb")
    done = await dataops_api.wait_for_job(job["id"])
    assert done["status"] == "failed", done
    error = done["error"]
    assert error["ename"] == "ValueError"
    assert "boom at 1" in error["evalue"]
    assert isinstance(error["cell_index"], int)
    nb = json.loads((await dataops_api("GET", "jobs", job["id"], "output")).body)
    # The index is into the executed cells, without the banners papermill adds on failure.
    cells = [
        c for c in nb["cells"] if "papermill-error-cell-tag" not in c["metadata"].get("tags", [])
    ]
    assert "raise ValueError" in cell_text(cells[error["cell_index"]])
    assert "never" not in "".join(outputs_text(c) for c in nb["cells"])
    logs = (await dataops_api("GET", "jobs", job["id"], "logs")).json()["logs"]
    assert "ValueError" in logs


async def test_cancel_a_running_job_and_delete_it_only_when_finished(dataops_api, make_notebook):
    make_notebook("slow.ipynb", ["import time", "time.sleep(120)", "print('woke up')"])
    job = await dataops_api.create_job(notebook_path="slow.ipynb")
    running = await dataops_api.wait_for_job(job["id"], frozenset({"running"}))
    await wait_until_cell(dataops_api, job["id"], 1)

    error = await dataops_api("DELETE", "jobs", job["id"])
    assert error.code == 409, error
    assert error.json()["error"] == "conflict" and "cancel" in error.json()["hint"].lower()
    assert (await dataops_api("GET", "jobs", job["id"])).json()["status"] == "running"

    response = await dataops_api("POST", "jobs", job["id"], "cancel")
    assert response.code == 200, response
    assert response.json()["cancel_requested"] is True
    assert response.json()["status"] in ("running", "cancelled")

    # Well before the sleep would end on its own: the kernel is stopped.
    cancelled = await dataops_api.wait_for_job(job["id"])
    assert cancelled["status"] == "cancelled", cancelled
    assert cancelled["error"]["ename"] == "Cancelled"
    assert running["started_at"] is not None

    assert (await dataops_api("DELETE", "jobs", job["id"])).code == 204
    assert (await dataops_api("GET", "jobs", job["id"])).code == 404


async def wait_until_cell(dataops_api, job_id: str, cells: int) -> None:
    """Wait until ``cells`` code cells of the job have run (it is then inside the next one)."""
    deadline = time.monotonic() + JOB_WAIT_SECONDS
    while time.monotonic() < deadline:
        job = (await dataops_api("GET", "jobs", job_id)).json()
        if job["progress"]["cells_completed"] >= cells or job["status"] != "running":
            return
        await asyncio.sleep(0.05)


async def test_events_tell_every_change(dataops_api, make_notebook, job_events):
    make_notebook("train.ipynb", CELLS, parameters=PARAMETERS)
    job = await dataops_api.create_job(notebook_path="train.ipynb")
    await dataops_api.wait_for_job(job["id"])

    def mine() -> list[dict[str, Any]]:
        return [e for e in job_events if e["id"] == job["id"]]

    await wait_until(
        lambda: any(e.get("status") == "completed" for e in mine()), what="a completed event"
    )
    events = mine()
    assert events[0]["action"] in ("created", "updated")
    assert all(e["action"] == "updated" for e in events[1:])
    statuses = [e["status"] for e in events]
    assert statuses[-1] == "completed"
    last = events[-1]
    assert last["cells_completed"] == last["cells_total"] > 0
    completed = [e["cells_completed"] for e in events]
    assert completed == sorted(completed)  # progress never goes back
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))  # each change once, in order
    for event in events:  # what the OpenAPI file (and so the frontend's type) says they carry
        JobEvent.model_validate(event)

    assert (await dataops_api("DELETE", "jobs", job["id"])).code == 204
    await wait_until(lambda: mine()[-1]["action"] == "deleted", what="a deleted event")
    deleted = mine()[-1]
    assert deleted == {"action": "deleted", "id": job["id"], "seq": deleted["seq"]}
    assert deleted["seq"] > seqs[-1]


async def test_events_follow_the_change_log_not_the_clocks(dataops_server, job_events):
    """Changes made by other processes with wildly wrong clocks (updated_at in the past or the
    future) are each reported once, in commit order, by their sequence number. (The jobs name an
    executor no worker here runs, so only this test moves them.)"""
    from jupyter_dataops.store import Database

    from .test_store import job_fields

    store = Database(dataops_server.dataops.store_url)
    try:
        # First make sure the watcher is following the log (it starts from the newest change it
        # finds when it starts, which may come after a first probe): a change it reports proves it.
        for attempt in range(60):
            probe = f"probe{attempt:07d}"
            with store.unit_of_work() as uow:
                uow.jobs.insert(**job_fields(probe, executor="elsewhere"))
                uow.commit()
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline and not any(e["id"] == probe for e in job_events):
                await asyncio.sleep(0.05)
            if any(e["id"] == probe for e in job_events):
                break
        else:
            pytest.fail("the watcher reported none of 60 probes")
        with store.unit_of_work() as uow:
            uow.jobs.insert(
                **job_fields("aaaa00000000", created_at=1.0, updated_at=1.0, executor="elsewhere")
            )
            uow.jobs.insert(
                **job_fields("bbbb00000000", created_at=4e9, updated_at=4e9, executor="elsewhere")
            )
            uow.commit()
        with store.unit_of_work() as uow:
            uow.jobs.update(
                "aaaa00000000", from_status=[JobStatus.QUEUED], status=JobStatus.RUNNING
            )
            uow.jobs.update("bbbb00000000", updated_at=2.0, cells_completed=1)
            uow.commit()
        with store.unit_of_work() as uow:
            uow.jobs.update(
                "aaaa00000000", from_status=[JobStatus.RUNNING], status=JobStatus.FAILED
            )
            assert uow.jobs.delete("aaaa00000000", only_status=[JobStatus.FAILED])
            uow.commit()
    finally:
        store.close()
    await wait_until(
        lambda: any(e["action"] == "deleted" for e in job_events), timeout=10, what="events"
    )
    await asyncio.sleep(0.5)  # nothing more arrives
    got = [(e["id"], e["action"], e.get("status")) for e in job_events]
    # The watcher may see some changes together (only the latest change of a job is kept), but
    # it never repeats one and never reports them out of order.
    assert got[-1] == ("aaaa00000000", "deleted", None)
    assert ("bbbb00000000", "updated", "queued") in got
    seqs = [e["seq"] for e in job_events]
    assert seqs == sorted(set(seqs))
