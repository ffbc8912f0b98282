"""Endpoints in SQL (``core.endpoints.repository``). Every write records an ``endpoint`` change
in the same transaction."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.engine import Connection

from ..core.endpoints.repository import EndpointRecord
from ..core.errors import NotFound
from .changes import SqlChangeLog
from .orm import EndpointRow

ENDPOINTS: Table = EndpointRow.__table__  # type: ignore[assignment]


class SqlEndpointRepository:
    def __init__(self, conn: Connection, changes: SqlChangeLog) -> None:
        self.conn = conn
        self.changes = changes

    def insert(self, **fields: Any) -> None:
        self.conn.execute(ENDPOINTS.insert().values(**fields))
        self.changes.record("endpoint", fields["name"], "created")

    def update(self, name: str, **fields: Any) -> bool:
        statement = update(ENDPOINTS).where(ENDPOINTS.c.name == name).values(**fields)
        if self.conn.execute(statement).rowcount != 1:
            return False
        self.changes.record("endpoint", name, "updated")
        return True

    def find(self, name: str) -> EndpointRecord | None:
        row = self.conn.execute(select(ENDPOINTS).where(ENDPOINTS.c.name == name)).first()
        return cast("EndpointRecord | None", row)

    def get(self, name: str) -> EndpointRecord:
        found = self.find(name)
        if found is None:
            raise NotFound(
                f"No endpoint named {name!r}.",
                hint="See `dataops endpoints list` for the endpoints there are.",
            )
        return found

    def delete(self, name: str) -> None:
        if self.conn.execute(delete(ENDPOINTS).where(ENDPOINTS.c.name == name)).rowcount:
            self.changes.record("endpoint", name, "deleted")

    def all(self, root_dir: str | None = None) -> list[EndpointRecord]:
        statement = select(ENDPOINTS).order_by(ENDPOINTS.c.name)
        if root_dir is not None:
            statement = statement.where(ENDPOINTS.c.root_dir == root_dir)
        return cast("list[EndpointRecord]", list(self.conn.execute(statement).all()))

    def ports(self) -> set[int]:
        return {int(p) for (p,) in self.conn.execute(select(ENDPOINTS.c.port))}

    def of_job(self, job_id: str) -> list[EndpointRecord]:
        rows = self.conn.execute(
            select(ENDPOINTS).where(ENDPOINTS.c.job_id == job_id).order_by(ENDPOINTS.c.name)
        ).all()
        return cast("list[EndpointRecord]", list(rows))
