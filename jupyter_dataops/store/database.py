"""The database every process shares (the server, the CLI, the worker): engine, migrations and
units of work. sqlite by default; any SQLAlchemy URL (PostgreSQL for teams).

>>> db = Database("sqlite:////tmp/dataops.db")          # migrates a new or old database
>>> with db.unit_of_work() as uow:
...     job = uow.jobs.get("3f2a")
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine

from ..core.errors import BackendUnavailable
from ..core.store import UnitOfWork
from .uow import SqlUnitOfWork

# The newest migration in migrations/versions; a test checks it against Alembic's own view.
HEAD_REVISION = "0008"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: pg_advisory_lock key held while migrating a PostgreSQL store ("dataops" in ASCII).
PG_MIGRATION_LOCK = 0x64617461_6F7073


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Transactions are begun by _sqlite_begin, not by the driver: a unit of work that writes
    # must take the write lock when it begins (BEGIN IMMEDIATE). In WAL mode a deferred
    # transaction that reads first and writes later fails at once with "database is locked"
    # if another writer committed in between: sqlite cannot wait that conflict out.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the worker write while the server and CLI read; busy_timeout waits out short locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: How the next transaction on a sqlite connection begins (set per unit of work).
_BEGIN = "dataops_begin"


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql(conn.info.get(_BEGIN, "BEGIN"))


@contextlib.contextmanager
def _begin_with(conn: Any, statement: str) -> Iterator[None]:
    """Begin the connection's transactions with ``statement`` (sqlite) while in this block."""
    conn.info[_BEGIN] = statement
    try:
        yield
    finally:
        conn.info.pop(_BEGIN, None)


class Database:
    """A store (``core.store.Store``) on a SQL database."""

    def __init__(self, url: str, *, upgrade: bool = True) -> None:
        self.url = url
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except Exception as exc:  # bad URL, missing driver
            raise BackendUnavailable(
                f"Cannot open the store at {_safe_url(url)}: {type(exc).__name__}",
                hint="Check c.DataOps.store_url and that its database driver is installed.",
            ) from exc
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._lock = threading.Lock()
        if upgrade:
            try:
                self.upgrade()
            except BaseException:
                self.engine.dispose()
                raise

    def connect(self) -> Any:
        """A connection, or BackendUnavailable naming the store (never its password)."""
        from sqlalchemy.exc import DBAPIError

        try:
            return self.engine.connect()
        except DBAPIError as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
            password = self.engine.url.password
            if password:
                reason = reason.replace(str(password), "***")
            raise BackendUnavailable(
                f"Cannot connect to the store at {_safe_url(self.url)}: {reason}",
                hint="Check c.DataOps.store_url, and that the database server runs and accepts "
                "these credentials.",
            ) from None

    @contextlib.contextmanager
    def unit_of_work(self, *, read_only: bool = False) -> Iterator[UnitOfWork]:
        """One transaction: ``uow.commit()`` commits it; leaving without that rolls it back.
        ``read_only`` ones never wait for writers (and must not write)."""
        begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        with self.connect() as conn, _begin_with(conn, begin):
            uow = SqlUnitOfWork(conn)
            try:
                yield uow
            finally:
                if conn.in_transaction():
                    conn.rollback()

    # -- schema -------------------------------------------------------------------------------
    def current_revision(self) -> str | None:
        with self.connect() as conn:
            return _revision(conn)

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` with Alembic; cheap when it is already there.

        One process migrates at a time, whatever the database: the server, the CLI and the worker
        may all open a new store at once (a file lock for sqlite, an advisory lock for
        PostgreSQL; another database relies on its DDL transactions)."""
        if revision == "head" and self.current_revision() == HEAD_REVISION:
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        with (
            self._lock,
            self.connect() as conn,
            _begin_with(conn, "BEGIN IMMEDIATE"),
            self._migration_lock(conn),
        ):
            # Another process may have migrated while this one waited for the lock.
            if revision == "head" and _revision(conn) == HEAD_REVISION:
                return
            if conn.in_transaction():
                conn.commit()
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)

    @contextlib.contextmanager
    def _migration_lock(self, conn: Any) -> Iterator[None]:
        if self.engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PG_MIGRATION_LOCK})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_MIGRATION_LOCK})
                conn.commit()
            return
        path = self.url.split("///", 1)[-1] if self.url.startswith("sqlite") else ""
        if not path or path == ":memory:":
            yield
            return
        with open(f"{path}.migrate.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def close(self) -> None:
        self.engine.dispose()


def _revision(conn: Any) -> str | None:
    try:
        value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:
        conn.rollback()
        return None
    conn.rollback()
    return str(value) if value is not None else None


def _safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return repr(make_url(url).render_as_string(hide_password=True))
    except Exception:
        return "(an unparseable URL)"
