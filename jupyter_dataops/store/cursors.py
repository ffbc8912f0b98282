"""Page cursors: the sort, order, sort value and id of a page's edge row, and the direction to
page in, as an opaque URL-safe token; and the keyset page they lead to. Every list of the store
pages with them; each repository checks what it reads back against its own query."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import and_, or_, select


def pack_cursor(sort: str, order: str, value: Any, row_id: str, direction: str) -> str:
    data = {"s": sort, "o": order, "v": value, "i": row_id, "d": direction}
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def unpack_cursor(cursor: str, sort: str, order: str) -> tuple[Any, str, str, bool]:
    """(sort value, row id, direction, whether it was made for this sort and order); ValueError,
    KeyError or TypeError for a token this server did not make."""
    text = cursor + "=" * (-len(cursor) % 4)
    data = json.loads(base64.urlsafe_b64decode(text.encode()))
    same = data["s"] == sort and data["o"] == order
    return data["v"], str(data["i"]), data["d"], same


def keyset_page(
    conn: Any,
    table: Any,
    key: Any,
    conditions: list[Any],
    *,
    cursor: tuple[Any, str, str] | None,
    order: str,
    limit: int,
    encode: Callable[[Any, str], str],
) -> tuple[list[Any], str | None, str | None]:
    """One page of ``table``'s rows matching ``conditions``, by (``key``, id) in ``order``,
    after or before ``cursor`` (sort value, id, direction), with the cursors of the pages
    around it (``encode(row, direction)`` makes one). Keyset paging: a page costs the same
    wherever it is in the list."""
    direction = cursor[2] if cursor else "next"
    descending = (order == "desc") != (direction == "prev")
    conditions = list(conditions)
    if cursor is not None:
        value, last_id = cursor[0], cursor[1]
        if descending:
            conditions.append(or_(key < value, and_(key == value, table.c.id < last_id)))
        else:
            conditions.append(or_(key > value, and_(key == value, table.c.id > last_id)))
    ordering = (key.desc(), table.c.id.desc()) if descending else (key, table.c.id)
    rows: list[Any] = list(
        conn.execute(select(table).where(*conditions).order_by(*ordering).limit(limit + 1)).all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    if direction == "prev":
        rows.reverse()
    if not rows:
        return [], None, None
    if direction == "next":
        next_cursor = encode(rows[-1], "next") if more else None
        prev_cursor = encode(rows[0], "prev") if cursor else None
    else:
        prev_cursor = encode(rows[0], "prev") if more else None
        next_cursor = encode(rows[-1], "next")
    return rows, next_cursor, prev_cursor
