"""Page cursors: the sort, order, sort value and id of a page's edge row, and the direction to
page in, as an opaque URL-safe token. Every list of the store pages with them; each repository
checks what it reads back against its own query."""

from __future__ import annotations

import base64
import json
from typing import Any


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
