"""Profiles of tabular data files (schema, row count, per-column summary) and how two of them
differ. pandas is imported only when a file is profiled."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .models import ColumnChange, ColumnProfile, TableChange, TableProfile

#: Relative change of a mean or standard deviation that a diff reports as moved.
STATS_TOLERANCE = 1e-9


def profile_table(path: Path, file_hash: str, *, max_bytes: int) -> TableProfile:
    """Read ``path`` (CSV, TSV or Parquet) with pandas and summarise it; a file that cannot be
    read gets a profile with ``error`` saying why (a snapshot never fails on a bad table)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return TableProfile(hash=file_hash, error=f"unreadable: {exc.strerror}")
    if size > max_bytes:
        return TableProfile(
            hash=file_hash,
            error=f"not profiled: {size // (1024 * 1024)} MiB is over the limit "
            f"(c.DataOps.snapshot_profile_max_bytes)",
        )
    try:
        import pandas as pd

        suffix = path.suffix.lower()
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", low_memory=False)
    except Exception as exc:  # any parse error of any table: reported, never raised
        return TableProfile(hash=file_hash, error=f"could not be read as a table: {exc}"[:500])
    return TableProfile(
        hash=file_hash, rows=len(frame), columns=[_column(frame[c], str(c)) for c in frame.columns]
    )


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _column(series: Any, name: str) -> ColumnProfile:
    import pandas as pd

    nulls = int(series.isna().sum())
    profile: dict[str, Any] = {"name": name, "dtype": str(series.dtype), "nulls": nulls}
    try:
        profile["unique"] = int(series.nunique(dropna=True))
    except TypeError:  # unhashable values (lists in a Parquet column)
        profile["unique"] = None
    if pd.api.types.is_bool_dtype(series):
        return ColumnProfile(**profile)
    if pd.api.types.is_numeric_dtype(series):
        values = series.dropna()
        if len(values):
            profile.update(
                min=_number(values.min()),
                max=_number(values.max()),
                mean=_number(values.mean()),
                std=_number(values.std()) if len(values) > 1 else None,
            )
    elif pd.api.types.is_datetime64_any_dtype(series):
        values = series.dropna()
        if len(values):
            profile.update(min=str(values.min()), max=str(values.max()))
    return ColumnProfile(**profile)


def _stats(column: ColumnProfile) -> dict[str, Any]:
    return column.model_dump(include={"nulls", "unique", "min", "max", "mean", "std"})


def _moved(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) > STATS_TOLERANCE * max(1.0, abs(a), abs(b))
    return bool(a != b)


def diff_profiles(
    path: str, before: TableProfile | None, after: TableProfile | None
) -> TableChange | None:
    """How a table changed: columns added or removed, types changed, statistics that moved and
    the row count; None when nothing did."""
    if before is not None and after is not None and before.hash == after.hash:
        return None
    old = {c.name: c for c in (before.columns if before else [])}
    new = {c.name: c for c in (after.columns if after else [])}
    changes: list[ColumnChange] = []
    for name in old.keys() - new.keys():
        changes.append(ColumnChange(name=name, change="deleted", before=old[name].model_dump()))
    for name in new.keys() - old.keys():
        changes.append(ColumnChange(name=name, change="added", after=new[name].model_dump()))
    for name in old.keys() & new.keys():
        a, b = old[name], new[name]
        if a.dtype != b.dtype:
            changes.append(
                ColumnChange(
                    name=name, change="dtype", before={"dtype": a.dtype}, after={"dtype": b.dtype}
                )
            )
            continue
        sa, sb = _stats(a), _stats(b)
        moved = {k for k in sa if _moved(sa[k], sb[k])}
        if moved:
            changes.append(
                ColumnChange(
                    name=name,
                    change="stats",
                    before={k: sa[k] for k in sorted(moved)},
                    after={k: sb[k] for k in sorted(moved)},
                )
            )
    order = list(new) + [n for n in old if n not in new]
    changes.sort(key=lambda c: order.index(c.name))
    rows_before = before.rows if before else None
    rows_after = after.rows if after else None
    if not changes and rows_before == rows_after:
        return None
    return TableChange(path=path, rows_before=rows_before, rows_after=rows_after, columns=changes)
