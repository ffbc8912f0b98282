"""The store: migrations (an upgrade of an old database, no drift from the models), units of work,
the change log, keyset paging and state changes."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text

from jupyter_dataops.core.errors import InvalidInput, NotFound
from jupyter_dataops.core.jobs.models import JobQuery, JobStatus
from jupyter_dataops.store import HEAD_REVISION, MIGRATIONS_DIR, Database


def job_fields(job_id: str, **extra):
    fields = dict(
        id=job_id,
        name=f"job {job_id}",
        notebook_path=f"nb/{job_id}.ipynb",
        root_dir="/r",
        files_key=f"dataops-jobs/nb-{job_id}",
        output_name="nb.ipynb",
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
    s = Database(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


def insert(store, *fields_list):
    with store.unit_of_work() as uow:
        for fields in fields_list:
            uow.jobs.insert(**fields)
        uow.commit()


def test_head_revision_matches_the_migrations():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD_REVISION


def test_the_migrations_make_exactly_the_models_tables(store):
    """What Alembic would autogenerate from the models is nothing: a model change without a
    migration (or a migration the models do not match) fails here."""
    import warnings

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy.schema import CreateIndex

    from jupyter_dataops.store.orm import Base

    with store.engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sqlite cannot reflect expression indexes: see below
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        # Expression indexes are compared by their SQL, which sqlite keeps verbatim.
        stored = dict(
            conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all()
        )
    for table in Base.metadata.tables.values():
        for index in table.indexes:
            expected = str(CreateIndex(index).compile(store.engine)).strip()
            assert " ".join(stored[index.name].split()) == " ".join(expected.split()), index.name


def insert_old_job(conn) -> None:  # type: ignore[no-untyped-def]
    """A job as revision 0001 stored it (absolute paths of its files)."""
    conn.execute(
        text(
            "INSERT INTO jobs (id, name, notebook_path, root_dir, input_file, output_dir,"
            " output_file, status, parameters, kernel_name, executor, created_at, updated_at,"
            " cells_completed, cells_total, attempt, max_retries, cancel_requested, warnings)"
            " VALUES ('old1', 'old', 'a.ipynb', '/r', '/r/dataops-jobs/a-old1/input.ipynb',"
            " '/r/dataops-jobs/a-old1', '/r/dataops-jobs/a-old1/a.ipynb', 'completed',"
            " '{\"x\": 2}', 'python3', 'local', 1.0, 1.0, 3, 3, 1, 0, :no, '[]')"
        ),
        {"no": False},
    )


def test_upgrade_keeps_jobs_of_an_old_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Database(url, upgrade=False)
    old.upgrade("0001")
    assert old.current_revision() == "0001"
    engine = create_engine(url)
    with engine.begin() as conn:
        insert_old_job(conn)
    engine.dispose()
    old.close()

    store = Database(url)  # upgrades on open
    assert store.current_revision() == HEAD_REVISION
    with store.unit_of_work() as uow:
        row = uow.jobs.get("old1")
        assert (row.status, row.parameters, row.tags, row.owner) == (
            "completed",
            {"x": 2},
            [],
            None,
        )
        assert (row.files_key, row.output_name) == ("dataops-jobs/a-old1", "a.ipynb")
        # Existing jobs are in the change log, so a follower starting from 0 hears of them.
        assert [(c.id, c.seq) for c in uow.changes.since(0)] == [("old1", 1)]
        uow.audit.add("job.delete", "job", "old1", "alice")
        uow.commit()
    with store.unit_of_work() as uow:
        assert [e.action for e in uow.audit.events("old1")] == ["job.delete"]
    store.close()


def test_upgrade_keeps_schedules_and_sends_their_runs_to_the_default_executor(tmp_path):
    """Revision 0008 adds the executor a schedule's runs go to; schedules stored before it have
    none (the server's default) and keep everything else."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Database(url, upgrade=False)
    old.upgrade("0007")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO schedules (id, name, notebook_path, root_dir, version, definition,"
                " cron, timezone, status, next_due_at, last_due_at, owner, created_at,"
                " updated_at) VALUES ('s1', 'nightly', 'a.ipynb', '/r', 3,"
                ' \'{"cron": "0 2 * * *", "timezone": "UTC"}\', \'0 2 * * *\', \'UTC\','
                " 'active', 10.0, 5.0, 'alice', 1.0, 2.0)"
            )
        )
    engine.dispose()
    old.close()

    store = Database(url)
    assert store.current_revision() == HEAD_REVISION
    with store.unit_of_work() as uow:
        row = uow.schedules.get("s1")
        assert (row.name, row.version, row.cron, row.next_due_at) == (
            "nightly",
            3,
            "0 2 * * *",
            10.0,
        )
        assert row.executor is None
        assert uow.schedules.update("s1", executor="kubernetes")
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert uow.schedules.get("s1").executor == "kubernetes"
    store.close()


def test_every_write_is_one_change_in_commit_order(store):
    insert(store, job_fields("j1"), job_fields("j2"))
    with store.unit_of_work() as uow:
        assert uow.changes.latest() == 2
        assert uow.jobs.update("j1", from_status=[JobStatus.QUEUED], status=JobStatus.RUNNING)
        assert not uow.jobs.update("j2", from_status=[JobStatus.RUNNING], status=JobStatus.FAILED)
        uow.commit()
    with store.unit_of_work() as uow:
        uow.jobs.update("j1", cells_completed=1)
        uow.rollback()  # nothing recorded
    with store.unit_of_work() as uow:
        changes = uow.changes.since(0)
        # One row per thing, with its latest change.
        assert [(c.id, c.action, c.seq) for c in changes] == [
            ("j2", "created", 2),
            ("j1", "updated", 3),
        ]
        assert uow.changes.since(2) == changes[1:]
        uow.jobs.update("j1", from_status=[JobStatus.RUNNING], status=JobStatus.COMPLETED)
        assert uow.jobs.delete("j1", only_status=[JobStatus.COMPLETED])
        uow.commit()
    with store.unit_of_work() as uow:
        assert [(c.id, c.action, c.seq) for c in uow.changes.since(3)] == [("j1", "deleted", 5)]


def test_jobs_inserted_at_once_are_changes_numbered_in_order(store):
    """insert_many (a scheduler's burst): one statement for the rows, one counter update and
    one upsert for their changes, numbered in order after what was there; a thing changed twice
    in one call keeps its latest change."""
    insert(store, job_fields("j0"))
    with store.unit_of_work() as uow:
        now = time.time()
        uow.jobs.insert_many(
            [{**job_fields(f"b{i}"), "created_at": now, "updated_at": now} for i in range(3)]
        )
        uow.changes.record_many([("job", "b1", "updated"), ("job", "j0", "updated")])
        uow.audit.add_many([("job.create", "job", f"b{i}", "alice", {"n": i}) for i in range(3)])
        uow.commit()
    with store.unit_of_work(read_only=True) as uow:
        assert [(c.id, c.action, c.seq) for c in uow.changes.since(0)] == [
            ("b0", "created", 2),
            ("b2", "created", 4),
            ("b1", "updated", 5),
            ("j0", "updated", 6),
        ]
        assert uow.changes.latest() == 6
        assert sorted(j.id for j in uow.jobs.many(["b0", "b1", "b2"])) == ["b0", "b1", "b2"]
        assert [e.detail for e in uow.audit.events("b2")] == [{"n": 2}]


def test_concurrent_writers_get_numbers_in_commit_order(store):
    """A reader that has seen number N never later finds a change numbered below N: numbers are
    handed out inside the writer's transaction, which holds the write lock until it commits.
    And writers wait for each other rather than fail ("database is locked" on sqlite)."""
    writers = 6
    insert(store, *[job_fields(f"w{i}") for i in range(writers)])
    seen: list[int] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def write(i: int) -> None:
        try:
            for n in range(30):
                with store.unit_of_work() as uow:
                    uow.jobs.update(f"w{i}", cells_completed=n)
                    uow.commit()
        except BaseException as exc:
            failures.append(exc)

    def follow() -> None:
        since = 0
        while not stop.is_set():
            with store.unit_of_work(read_only=True) as uow:
                for change in uow.changes.since(since):
                    assert change.seq > since
                    since = change.seq
                    seen.append(change.seq)

    follower = threading.Thread(target=follow)
    follower.start()
    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stop.set()
    follower.join(60)
    assert failures == []
    with store.unit_of_work(read_only=True) as uow:
        assert uow.changes.latest() == writers + writers * 30
    assert seen == sorted(seen)


def test_a_reader_never_waits_for_a_writer(store):
    insert(store, job_fields("r1"))
    inside, read_done = threading.Event(), threading.Event()

    def writer() -> None:
        with store.unit_of_work() as uow:
            uow.lock_writes()
            uow.jobs.update("r1", cells_completed=1)
            inside.set()
            read_done.wait(30)  # holds the write lock until the reader is done (or gives up)
            uow.commit()

    t = threading.Thread(target=writer)
    t.start()
    assert inside.wait(30)
    with store.unit_of_work(read_only=True) as uow:
        assert uow.jobs.get("r1").cells_completed == 0  # the last committed state
    read_done.set()
    t.join(30)
    with store.unit_of_work(read_only=True) as uow:
        assert uow.jobs.get("r1").cells_completed == 1


def test_list_pages_by_cursor_through_thousands(store):
    statuses = ["queued", "running", "completed", "failed", "cancelled"]
    insert(
        store,
        *[
            job_fields(
                f"j{i:04d}",
                status=statuses[i % 5],
                created_at=1000.0 + i,
                updated_at=1000.0 + i,
                started_at=None if i % 5 == 0 else 2000.0 + (i * 7919) % 1200,
                notebook_path="train.ipynb" if i % 2 else "etl.ipynb",
            )
            for i in range(1200)
        ],
    )
    with store.unit_of_work() as uow:
        rows, next_cursor, prev_cursor = uow.jobs.page(JobQuery(limit=50))
        assert [r.id for r in rows[:2]] == ["j1199", "j1198"] and rows[-1].id == "j1150"
        assert next_cursor and prev_cursor is None
        assert uow.jobs.total(JobQuery()) == (1200, False)
        assert uow.jobs.counts_by_status() == {s: 240 for s in statuses}

        # Walk every page forwards, then back: each job exactly once, in order.
        query = JobQuery(sort="started_at", order="asc", limit=97)
        seen, pages, cursor = [], [], None
        while True:
            rows, next_cursor, prev_cursor = uow.jobs.page(
                query.model_copy(update={"cursor": cursor})
            )
            seen += [r.id for r in rows]
            pages.append([r.id for r in rows])
            if next_cursor is None:
                break
            cursor = next_cursor
        assert len(seen) == len(set(seen)) == 1200
        started = [r.started_at for r in uow.jobs.in_status(JobStatus)]
        assert sum(1 for s in started if s is None) == 240
        # Jobs not started yet sort as the newest: last in ascending order.
        last = uow.jobs.page(query.model_copy(update={"cursor": cursor}))[0]
        assert all(r.started_at is None for r in last)
        back, cursor = [], prev_cursor
        while cursor is not None:
            rows, _, cursor = uow.jobs.page(query.model_copy(update={"cursor": cursor}))
            back = [r.id for r in rows] + back
        assert back == seen[: len(seen) - len(pages[-1])]

        rows, _, _ = uow.jobs.page(
            JobQuery(status=[JobStatus.FAILED], notebook="train.ipynb", limit=1000)
        )
        assert len(rows) == 120
        assert all(r.status == "failed" and r.notebook_path == "train.ipynb" for r in rows)
        assert uow.jobs.total(JobQuery(status=[JobStatus.FAILED], notebook="train.ipynb"))[0] == 120


def test_a_cursor_from_another_sort_or_made_up_is_refused(store):
    insert(store, *[job_fields(f"c{i}") for i in range(5)])
    with store.unit_of_work() as uow:
        _, cursor, _ = uow.jobs.page(JobQuery(limit=2))
        with pytest.raises(InvalidInput, match="another sort"):
            uow.jobs.page(JobQuery(limit=2, sort="name", cursor=cursor))
        for bad in ("x", "!!!", "e30", "eyJ2IjogMX0"):
            with pytest.raises(InvalidInput, match="cursor"):
                uow.jobs.page(JobQuery(limit=2, cursor=bad))


def _paging_row(i: int) -> dict:
    """The fields of the i-th job of a list whose sort keys tie (names, notebooks, statuses,
    missing and equal times)."""
    statuses = ["completed"] * 5 + ["failed", "failed", "cancelled", "queued", "running"]
    status = statuses[(i * 7) % len(statuses)]
    started = None if status == "queued" or i % 11 == 0 else 5000.0 + (i * 37) % 60
    return dict(
        name=f"run {(i * 3) % 8}",
        status=status,
        notebook_path=["a.ipynb", "b.ipynb", "sub/c.ipynb"][i % 3],
        created_at=1000.0 + i,
        updated_at=1000.0 + i,
        started_at=started,
        finished_at=None if started is None or status == "running" else started + i % 4,
    )


def _paging_fixture(store):
    rows = [job_fields(f"p{(i * 53) % 140:03d}", **_paging_row(i)) for i in range(140)]
    insert(store, *rows)
    return rows


_PAGING_FILTERS = [
    {},
    {"status": [JobStatus.FAILED]},
    {"status": [JobStatus.COMPLETED, JobStatus.QUEUED]},
    {"status": [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CANCELLED]},
    {"status": list(JobStatus)},
    {"notebook": "b.ipynb"},
    {"notebook": "b.ipynb", "status": [JobStatus.COMPLETED]},
    {"notebook": "sub/c.ipynb", "status": [JobStatus.FAILED, JobStatus.QUEUED]},
    {"id": [f"p{i:03d}" for i in range(0, 140, 3)], "status": [JobStatus.COMPLETED]},
    {
        "id": [f"p{i:03d}" for i in range(0, 140, 2)],
        "status": [JobStatus.FAILED, JobStatus.RUNNING],
    },
]
_SORTS = ["created_at", "started_at", "finished_at", "name", "status", "notebook_path"]


def test_every_filter_and_sort_pages_in_order_forwards_and_back(store):
    """Keyset paging gives every matching job once, in (sort key, id) order, whatever the
    filter (merges of one range per status included), the sort (ties, missing times) and the
    direction."""
    rows = _paging_fixture(store)
    with store.unit_of_work() as uow:
        for filters in _PAGING_FILTERS:
            kept = [
                r
                for r in rows
                if (not filters.get("status") or r["status"] in filters["status"])
                and (not filters.get("notebook") or r["notebook_path"] == filters["notebook"])
                and (not filters.get("id") or r["id"] in filters["id"])
            ]
            for sort in _SORTS:
                for order in ("asc", "desc"):

                    def key(r, sort=sort):
                        value = r.get(sort)
                        return (1e300 if value is None else value, r["id"])

                    expected = [r["id"] for r in sorted(kept, key=key, reverse=order == "desc")]
                    query = JobQuery(sort=sort, order=order, limit=7, **filters)
                    seen, cursor = [], None
                    while True:
                        page, next_cursor, prev_cursor = uow.jobs.page(
                            query.model_copy(update={"cursor": cursor})
                        )
                        seen += [r.id for r in page]
                        if next_cursor is None:
                            break
                        cursor = next_cursor
                    where = f"{filters} {sort} {order}"
                    assert seen == expected, where
                    # Back from the last page, by each page's prev_cursor.
                    back, cursor = [], prev_cursor
                    while cursor is not None:
                        page, _, cursor = uow.jobs.page(query.model_copy(update={"cursor": cursor}))
                        back = [r.id for r in page] + back
                    assert back == expected[: len(expected) - len(page_ids(seen, 7))], where


def page_ids(ids, limit):
    """The ids of the last page of a list walked ``limit`` at a time."""
    return ids[-(len(ids) % limit or limit) :] if ids else []


def test_every_page_query_reads_one_index_range_per_part(store):
    """The regression test of the list's speed, without timing anything: every filter x sort x
    direction, on a first page and on pages reached by cursor, is answered from an index in the
    sort's order, never by sorting the matching rows (``USE TEMP B-TREE``) nor by scanning
    jobs that the filter does not keep. (A list of ids is looked up by primary key and sorted:
    at most 1,000 rows.) The plans do not depend on the data; they are checked with and
    without the statistics of ANALYZE."""
    from jupyter_dataops.store.jobs import page_statements

    rows = _paging_fixture(store)
    # Descending by start, the first page's cursor is inside the jobs not started yet (a tie).
    assert sum(1 for r in rows if r["started_at"] is None) > 5

    def plans(conn):
        for filters in _PAGING_FILTERS:
            for sort in _SORTS:
                for order in ("asc", "desc"):
                    query = JobQuery(sort=sort, order=order, limit=5, **filters)
                    with store.unit_of_work() as uow:
                        _, next_cursor, _ = uow.jobs.page(query)
                        assert next_cursor, (filters, sort, order)
                        _, _, prev_cursor = uow.jobs.page(
                            query.model_copy(update={"cursor": next_cursor})
                        )
                    for cursor in (None, next_cursor, prev_cursor):
                        paged = query.model_copy(update={"cursor": cursor})
                        for stmt in page_statements(paged):
                            compiled = stmt.compile(
                                dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
                            )
                            params = tuple(compiled.params[p] for p in compiled.positiontup)
                            plan = [
                                r[3]
                                for r in conn.exec_driver_sql(
                                    f"EXPLAIN QUERY PLAN {compiled}", params
                                )
                            ]
                            yield paged, filters, plan

    def check(conn):
        count = 0
        for query, filters, plan in plans(conn):
            where = f"{filters} {query.sort} {query.order} cursor={query.cursor}: {plan}"
            reads = [p for p in plan if p.startswith(("SCAN", "SEARCH"))]
            assert reads and all(" INDEX " in p for p in reads), where
            if filters.get("id"):
                assert all("sqlite_autoindex_jobs_1 (id=?)" in p for p in reads), where
                continue
            assert not any("TEMP B-TREE" in p for p in plan), where
            statuses = filters.get("status") or list(JobStatus)
            if filters.get("notebook") or len(statuses) < len(JobStatus):
                assert all(p.startswith("SEARCH") for p in reads), where
            count += 1
        assert count >= 8 * 12 * 3  # every filter but ids x sort x order x cursor, or more

    with store.engine.connect() as conn:
        check(conn)
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    with store.engine.connect() as conn:
        check(conn)


def test_a_page_costs_the_same_with_ten_times_the_jobs(tmp_path):
    """The same regression test with numbers, still without timing anything: the work sqlite
    does for a page (virtual machine instructions, counted by its progress handler) with 3,000
    jobs is about that with 300, for every filter x sort x order, on the first page and on the
    page halfway through the matching jobs (reached by cursor). A statement that reads more of
    the index than the page (a cursor that is not a range bound, a sort) grows tenfold."""
    from sqlalchemy import insert as sql_insert

    from jupyter_dataops.store.jobs import JOBS

    def fill(count: int) -> Database:
        db = Database(f"sqlite:///{tmp_path / f'{count}.db'}")
        rows = []
        for i in range(count):
            fields = job_fields(f"{(i * 7919) % count:06d}", **_paging_row(i))
            rows.append(fields)
        with db.engine.begin() as conn:
            conn.execute(sql_insert(JOBS), rows)
        return db

    def work(db: Database) -> dict[str, int]:
        steps = {}
        with db.unit_of_work() as uow:
            raw = uow.conn.connection.dbapi_connection
            for filters in _PAGING_FILTERS[:8]:
                for sort in _SORTS:
                    for order in ("asc", "desc"):
                        query = JobQuery(sort=sort, order=order, limit=5, **filters)
                        total, _ = uow.jobs.total(query)
                        cursor = None
                        walked = 0
                        while walked < total // 2 - 5:  # to the middle, 1,000 at a time
                            step = min(1000, total // 2 - 5 - walked)
                            _, cursor, _ = uow.jobs.page(
                                query.model_copy(update={"limit": step, "cursor": cursor})
                            )
                            walked += step
                        for name, paged in (("first", query), ("middle", query)):
                            if name == "middle":
                                paged = query.model_copy(update={"cursor": cursor})
                            counter = [0]

                            def count(counter=counter):
                                counter[0] += 1
                                return 0

                            raw.set_progress_handler(count, 10)
                            rows, _, _ = uow.jobs.page(paged)
                            raw.set_progress_handler(None, 10)
                            assert len(rows) == 5, (filters, sort, order, name)
                            steps[f"{filters} {sort} {order} {name}"] = counter[0]
        db.close()
        return steps

    small, big = work(fill(300)), work(fill(3000))
    grown = {k: (small[k], big[k]) for k in small if big[k] > 1.5 * small[k] + 20}
    assert not grown, grown


def test_get_by_prefix_and_errors(store):
    insert(store, job_fields("abcdef123456"), job_fields("abcdff654321"))
    with store.unit_of_work() as uow:
        assert uow.jobs.get("abcde").id == "abcdef123456"
        with pytest.raises(InvalidInput, match="several jobs"):
            uow.jobs.get("abcd")
        with pytest.raises(NotFound):
            uow.jobs.get("zzzzzz")
        with pytest.raises(NotFound):
            uow.jobs.get("x" * 5000)


def test_conditional_updates_follow_the_state_machine(store):
    insert(store, job_fields("j1"))
    with store.unit_of_work() as uow:
        assert not uow.jobs.update(
            "j1", from_status=[JobStatus.RUNNING], status=JobStatus.COMPLETED
        )
        assert uow.jobs.update("j1", from_status=[JobStatus.QUEUED], status=JobStatus.RUNNING)
        with pytest.raises(ValueError, match="not allowed"):
            uow.jobs.update("j1", from_status=[JobStatus.COMPLETED], status=JobStatus.RUNNING)
        uow.commit()


def test_two_runners_never_claim_the_same_job(store):
    insert(store, *[job_fields(f"q{i:02d}", created_at=float(i)) for i in range(40)])
    claimed: dict[str, list[str]] = {"a": [], "b": []}

    def claim(worker: str) -> None:
        while True:
            with store.unit_of_work() as uow:
                ids = uow.jobs.oldest_queued("local", 3)
            if not ids:
                return
            for job_id in ids:
                with store.unit_of_work() as uow:
                    if uow.jobs.update(
                        job_id,
                        from_status=[JobStatus.QUEUED],
                        status=JobStatus.RUNNING,
                        worker_id=worker,
                    ):
                        claimed[worker].append(job_id)
                    uow.commit()

    threads = [threading.Thread(target=claim, args=(w,)) for w in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = claimed["a"] + claimed["b"]
    assert sorted(ids) == [f"q{i:02d}" for i in range(40)]


def test_lock_writes_makes_check_then_insert_atomic(store):
    """Two units of work that each check a bound and insert: with lock_writes, the second
    waits for the first and sees its row."""
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with store.unit_of_work() as uow:
            uow.lock_writes()
            order.append(f"first saw {uow.jobs.count([JobStatus.QUEUED])}")
            inside.set()
            threading.Event().wait(0.5)
            uow.jobs.insert(**job_fields("a"))
            uow.commit()

    t = threading.Thread(target=first)
    t.start()
    inside.wait(10)
    with store.unit_of_work() as uow:
        uow.lock_writes()
        order.append(f"second saw {uow.jobs.count([JobStatus.QUEUED])}")
        uow.commit()
    t.join(10)
    assert order == ["first saw 0", "second saw 1"]


def test_processes_opening_a_fresh_store_at_once_all_succeed(tmp_path):
    """The server, the CLI and the worker may create the store together: one migrates, the
    others wait and find it done."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code = f"from jupyter_dataops.store import Database; Database({url!r})"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    assert Database(url, upgrade=False).current_revision() == HEAD_REVISION


def test_a_bad_url_is_a_clear_error_without_the_password():
    from jupyter_dataops.core.errors import BackendUnavailable

    with pytest.raises(BackendUnavailable) as info:
        Database("nosuchdialect://user:s3cret@host/db")
    assert "s3cret" not in str(info.value)
    assert "store_url" in str(info.value)
