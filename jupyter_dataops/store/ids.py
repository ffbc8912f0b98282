"""Finding a row by its id, or by a unique prefix of it (as users type ids): one rule for every
capability's repository."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from ..core.errors import InvalidInput, NotFound


def get_by_id_or_prefix(
    conn: Connection, table: Table, wanted: str, *, noun: str, plural: str, listing: str
) -> Any:
    """The row of ``table`` whose id is ``wanted``, or whose id alone starts with it (a prefix of
    4 to 32 letters and digits). InvalidInput for a missing id or an ambiguous prefix, NotFound
    otherwise; ``noun``/``plural`` name the thing, ``listing`` the command that lists them."""
    if not wanted or not isinstance(wanted, str):
        raise InvalidInput(f"A {noun} id is required.")
    row = conn.execute(select(table).where(table.c.id == wanted)).first()
    if row is not None:
        return row
    if 4 <= len(wanted) <= 32 and wanted.isascii() and wanted.isalnum():
        matches = conn.execute(select(table).where(table.c.id.startswith(wanted)).limit(2)).all()
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidInput(
                f"The {noun} id prefix {wanted!r} matches several {plural}.",
                hint="Give more characters of the id.",
            )
    shown = wanted if len(wanted) <= 64 else wanted[:61] + "..."
    raise NotFound(f"No {noun} with id {shown!r}.", hint=f"List {plural} with `{listing}`.")
