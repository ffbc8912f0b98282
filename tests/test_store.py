"""The store: migrations (including an upgrade of an old database), queries and state changes."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text

from jupyter_dataops.core.errors import InvalidInput, NotFound
from jupyter_dataops.core.jobs.models import JobQuery, JobStatus
from jupyter_dataops.store import HEAD_REVISION, JobStore
from jupyter_dataops.store.repository import MIGRATIONS_DIR


def job_fields(job_id: str, **extra):
    fields = dict(
        id=job_id,
        name=f"job {job_id}",
        notebook_path=f"nb/{job_id}.ipynb",
        root_dir="/r",
        input_file="/r/in.ipynb",
        output_dir=f"/r/out-{job_id}",
        output_file=f"/r/out-{job_id}/o.ipynb",
        status="queued",
        parameters={"a": 1},
        kernel_name="python3",
        executor="local",
        cells_completed=0,
        cells_total=3,
        attempt=1,
        max_retries=0,
        cancel_requested=False,
        warnings=[],
        tags=[],
    )
    fields.update(extra)
    return fields


@pytest.fixture
def store(tmp_path):
    s = JobStore(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


def test_head_revision_matches_the_migrations():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION


def test_upgrade_keeps_jobs_of_an_old_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = JobStore(url, upgrade=False)
    old.upgrade("0001")
    assert old.current_revision() == "0001"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO jobs (id, name, notebook_path, root_dir, input_file, output_dir,"
                " output_file, status, parameters, kernel_name, executor, created_at, updated_at,"
                " cells_completed, cells_total, attempt, max_retries, cancel_requested, warnings)"
                " VALUES ('old1', 'old', 'a.ipynb', '/r', '/r/i', '/r/o', '/r/o/a.ipynb',"
                " 'completed', '{\"x\": 2}', 'python3', 'local', 1.0, 1.0, 3, 3, 1, 0, 0, '[]')"
            )
        )
    engine.dispose()
    old.close()

    store = JobStore(url)  # upgrades on open
    assert store.current_revision() == HEAD_REVISION
    row = store.get_job("old1")
    assert (row.status, row.parameters, row.tags, row.owner) == ("completed", {"x": 2}, [], None)
    store.audit("job.delete", "job", "old1", "alice")
    assert [e.action for e in store.audit_events("old1")] == ["job.delete"]
    store.close()


def test_list_filters_sorts_and_pages_thousands(store):
    statuses = ["queued", "running", "completed", "failed", "cancelled"]
    with store.session() as s, s.begin():
        from jupyter_dataops.store.orm import JobRow

        for i in range(1200):
            s.add(
                JobRow(
                    **job_fields(
                        f"j{i:04d}",
                        status=statuses[i % 5],
                        created_at=1000.0 + i,
                        updated_at=1000.0 + i,
                        started_at=None if i % 5 == 0 else 2000.0 + i,
                        notebook_path="train.ipynb" if i % 2 else "etl.ipynb",
                    )
                )
            )
    rows, total, counts = store.list_jobs(JobQuery(limit=50))
    assert total == 1200 and len(rows) == 50
    assert rows[0].id == "j1199" and rows[-1].id == "j1150"
    assert counts == {s: 240 for s in statuses}

    rows, total, _ = store.list_jobs(
        JobQuery(status=[JobStatus.FAILED], notebook="train", offset=100, limit=100)
    )
    assert total == 120 and len(rows) == 20
    assert all(r.status == "failed" and r.notebook_path == "train.ipynb" for r in rows)

    rows, _, _ = store.list_jobs(JobQuery(sort="started_at", order="asc", limit=1000, offset=200))
    started = [r.started_at for r in rows]
    assert started[:760] == sorted(started[:760])
    assert all(v is None for v in started[760:])  # never-started jobs sort last


def test_get_by_prefix_and_errors(store):
    store.insert_job(**job_fields("abcdef123456"))
    store.insert_job(**job_fields("abcdff654321"))
    assert store.get_job("abcde").id == "abcdef123456"
    with pytest.raises(InvalidInput, match="several jobs"):
        store.get_job("abcd")
    with pytest.raises(NotFound):
        store.get_job("zzzzzz")


def test_conditional_updates_follow_the_state_machine(store):
    store.insert_job(**job_fields("j1"))
    before = store.get_job("j1").updated_at
    time.sleep(0.01)
    assert not store.update_job("j1", from_status=[JobStatus.RUNNING], status=JobStatus.COMPLETED)
    assert store.update_job("j1", from_status=[JobStatus.QUEUED], status=JobStatus.RUNNING)
    assert store.get_job("j1").updated_at > before
    with pytest.raises(ValueError, match="not allowed"):
        store.update_job("j1", from_status=[JobStatus.COMPLETED], status=JobStatus.RUNNING)
    assert [r.id for r in store.changed_since(before)] == ["j1"]


def test_two_workers_never_claim_the_same_job(store):
    for i in range(40):
        store.insert_job(**job_fields(f"q{i:02d}", created_at=float(i)))
    claimed: dict[str, list[str]] = {"a": [], "b": []}

    def claim(worker: str) -> None:
        while True:
            rows = store.claim_queued("local", worker, 3)
            if not rows:
                return
            claimed[worker].extend(r.id for r in rows)

    threads = [threading.Thread(target=claim, args=(w,)) for w in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    ids = claimed["a"] + claimed["b"]
    assert sorted(ids) == [f"q{i:02d}" for i in range(40)]
    assert len(set(ids)) == 40
    assert all(r.status == "running" for r in store.jobs_in([JobStatus.RUNNING]))


def test_processes_opening_a_fresh_store_at_once_all_succeed(tmp_path):
    """The server, the CLI and the worker may create the store together: one migrates, the
    others wait and find it done."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code = f"from jupyter_dataops.store import JobStore; JobStore({url!r})"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    assert JobStore(url, upgrade=False).current_revision() == HEAD_REVISION
