"""The store on PostgreSQL ("Postgres for teams"): the same store tests as on sqlite, plus what
differs there: migrations from an old database, no drift from the models (expression indexes
included, which PostgreSQL can reflect), and the migration lock (an advisory lock) when several
processes open a new store at once."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from jupyter_dataops.store import HEAD_REVISION, Database

from .pg import postgres  # noqa: F401  (the session fixture)
from .test_store import (  # noqa: F401  (collected again here, on a PostgreSQL store)
    insert_old_job,
    job_fields,
    test_a_cursor_from_another_sort_or_made_up_is_refused,
    test_a_reader_never_waits_for_a_writer,
    test_concurrent_writers_get_numbers_in_commit_order,
    test_conditional_updates_follow_the_state_machine,
    test_every_filter_and_sort_pages_in_order_forwards_and_back,
    test_every_write_is_one_change_in_commit_order,
    test_get_by_prefix_and_errors,
    test_jobs_inserted_at_once_are_changes_numbered_in_order,
    test_list_pages_by_cursor_through_thousands,
    test_lock_writes_makes_check_then_insert_atomic,
    test_two_runners_never_claim_the_same_job,
)


@pytest.fixture
def store(postgres):  # noqa: F811
    db = Database(postgres.new_database())
    yield db
    db.close()


def test_the_migrations_make_exactly_the_models_tables(store):
    """No drift; expression indexes, which PostgreSQL re-renders (``1e300`` comes back as
    ``'1e+300'::double precision``), are compared by name and expression."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from jupyter_dataops.store.orm import Base

    expression_indexes = {
        index.name: index
        for table in Base.metadata.tables.values()
        for index in table.indexes
        if any(not hasattr(e, "name") or not hasattr(e, "table") for e in index.expressions)
    }
    assert expression_indexes  # the nullable sort keys

    def include(obj, name, kind, reflected, compare_to):  # type: ignore[no-untyped-def]
        return not (kind == "index" and name in expression_indexes)

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include})
        assert compare_metadata(context, Base.metadata) == []
        stored = dict(
            conn.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
            ).all()
        )
    for name in expression_indexes:
        definition = stored[name].lower()
        column = next(
            c for key, c in (("started", "started_at"), ("finished", "finished_at"),
                             ("next", "next_due_at")) if key in name
        )  # fmt: skip
        assert f"coalesce({column}, " in definition and "double precision" in definition, name


def test_upgrade_keeps_jobs_of_an_old_database(postgres):  # noqa: F811
    url = postgres.new_database()
    old = Database(url, upgrade=False)
    old.upgrade("0001")
    engine = create_engine(url)
    with engine.begin() as conn:
        insert_old_job(conn)
    engine.dispose()
    old.close()
    store = Database(url)
    try:
        assert store.current_revision() == HEAD_REVISION
        with store.unit_of_work() as uow:
            row = uow.jobs.get("old1")
            assert (row.files_key, row.output_name) == ("dataops-jobs/a-old1", "a.ipynb")
            assert [c.id for c in uow.changes.since(0)] == ["old1"]
    finally:
        store.close()


def test_processes_opening_a_fresh_store_at_once_all_succeed(postgres):  # noqa: F811
    """The advisory lock lets one process migrate while the others wait and find it done."""
    url = postgres.new_database()
    code = f"from jupyter_dataops.store import Database; Database({url!r}).close()"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    assert Database(url, upgrade=False).current_revision() == HEAD_REVISION


def test_a_store_url_with_a_password_never_shows_it(postgres):  # noqa: F811
    from jupyter_dataops.core.errors import BackendUnavailable

    url = f"postgresql+psycopg://nobody:hunter2@127.0.0.1:{postgres.port}/nope"
    with pytest.raises(BackendUnavailable) as info:
        Database(url)
    assert "hunter2" not in str(info.value)
    assert "store_url" in str(info.value)
