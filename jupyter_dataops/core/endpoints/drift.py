"""Input drift: how far the rows an endpoint was sent lately are from its reference data (the
training sample, else the model's input example), column by column.

The score of a column is its population stability index (PSI): the reference is cut into bins
(deciles for numbers, the most frequent values for anything else), and
``PSI = sum((sample% - reference%) * ln(sample% / reference%))`` over the bins. 0 is no shift; by
the usual rule of thumb under 0.1 is none to speak of, 0.1-0.2 moderate, over 0.2 large. The
endpoint's score is its worst column's. Pure Python: the profile is what the store keeps.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from typing import Any

BINS = 10
MAX_CATEGORIES = 20
#: Fewer sampled rows than this give no score (the shares would be noise).
MIN_SAMPLE_ROWS = 20
#: A bin's share is never taken as less than this (an empty bin would make the PSI infinite).
FLOOR = 1e-4
OTHER = "\x00other"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def profile(rows: list[dict[str, Any]], *, bins: int = BINS) -> dict[str, Any]:
    """The reference profile of ``rows``: bin edges and shares per column (JSON-able)."""
    columns: dict[str, Any] = {}
    names: list[str] = []
    for row in rows:
        for name in row:
            if name not in columns:
                columns[name] = None
                names.append(name)
    result: dict[str, Any] = {"rows": len(rows), "columns": {}}
    for name in names:
        values = [row.get(name) for row in rows if name in row]
        numbers = [_number(v) for v in values]
        if values and all(n is not None for n in numbers):
            ordered = sorted(n for n in numbers if n is not None)
            edges = sorted(
                {ordered[min(len(ordered) - 1, (len(ordered) * i) // bins)] for i in range(1, bins)}
            )
            result["columns"][name] = {
                "kind": "numeric",
                "edges": edges,
                "shares": _numeric_shares(ordered, edges),
            }
        else:
            counts = Counter(str(v) for v in values)
            top = dict(counts.most_common(MAX_CATEGORIES))
            total = len(values) or 1
            shares = {k: n / total for k, n in top.items()}
            rest = total - sum(top.values())
            if rest:
                shares[OTHER] = rest / total
            result["columns"][name] = {"kind": "categorical", "shares": shares}
    return result


def _numeric_shares(values: list[float], edges: list[float]) -> list[float]:
    counts = [0] * (len(edges) + 1)
    for value in values:
        counts[bisect.bisect_left(edges, value)] += 1
    total = len(values) or 1
    return [n / total for n in counts]


def psi(expected: list[float], actual: list[float]) -> float:
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, FLOOR), max(a, FLOOR)
        total += (a - e) * math.log(a / e)
    return total


def score(reference: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """[{name, kind, score}] for each reference column the rows have, worst first."""
    found: list[dict[str, Any]] = []
    for name, column in reference.get("columns", {}).items():
        values = [row[name] for row in rows if name in row]
        if not values:
            continue
        if column["kind"] == "numeric":
            numbers = [n for n in (_number(v) for v in values) if n is not None]
            if not numbers:
                continue
            actual = _numeric_shares(numbers, column["edges"])
            value = psi(column["shares"], actual)
        else:
            shares: dict[str, float] = column["shares"]
            counts = Counter(str(v) if str(v) in shares else OTHER for v in values)
            keys = list(shares) + ([OTHER] if OTHER not in shares else [])
            expected = [shares.get(k, 0.0) for k in keys]
            actual = [counts.get(k, 0) / len(values) for k in keys]
            value = psi(expected, actual)
        found.append({"name": name, "kind": column["kind"], "score": round(value, 4)})
    found.sort(key=lambda c: -c["score"])
    return found
