"""Benchmark: the job list, in the store and over HTTP, beside jupyter-scheduler's job list.

Runs everything in one run on this machine and prints tables and ratios:

1. store: a sqlite store filled (by bulk insert) with 1,000 and with 100,000 realistic jobs
   (mostly completed, some failed or cancelled, a few queued and running, 50 notebooks of very
   unequal use, some jobs never started). For every filter x sort x order, the first page of 50
   and a deep page (the one halfway through the matching jobs, reached by its cursor) is timed:
   p50/p95 at both sizes and the 100k/1k ratio. Goal: every p95 <= 10 ms, the same at both
   sizes. Then ``JobService.list`` whole (page and counts): counts cached, right after a change,
   and right after a change with a full recount.
2. HTTP: a real ``jupyter server`` with the extension on 127.0.0.1 over a store of N jobs
   (default 100,000). C clients (default 50) at once list pages for D seconds: the first page,
   the next one by cursor, one status, another sort (each client its own round of those), while
   a writer changes jobs through the store (queues, starts, finishes and advances jobs: --changes
   a second). Requests/s, p50/p95/p99 latency, server CPU per request. Goal: p99 < 200 ms.
   Then, on a quiet store, clients that send each page's ETag back (If-None-Match: 304s).
3. the peer: jupyter-scheduler's job list (GET /scheduler/jobs) in its own server and
   environment, over its own sqlite store holding the same N jobs (written through its ORM),
   the same clients and pages (it pages by offset: next_token), the same writer.

jupyter-scheduler is not installed into the project's environment: it would enable its server
and lab extensions in every Jupyter server started from it. It gets a virtual environment of
its own (made with uv, under ~/.cache/jupyter-dataops/, with requirements/constraints.txt), or
``--peer-python`` names an interpreter that has it.

Usage: ``python bench/list.py [--jobs 100000] [--clients 50] [--duration 20] [--changes 20]
[--reps 40] [--no-store] [--no-http] [--no-peer] [--no-revalidate] [--freeze-gc]
[--json results.json]``. The servers listen on 127.0.0.1 with random
tokens and are stopped at the end; everything is written under one temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import random
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from _peer import Server, peer_python  # noqa: E402
from sqlalchemy import insert, select, update  # noqa: E402

from jupyter_dataops.core.jobs.models import JobQuery, JobStatus  # noqa: E402
from jupyter_dataops.store import Database  # noqa: E402
from jupyter_dataops.store.changes import CHANGES, SEQUENCES  # noqa: E402
from jupyter_dataops.store.jobs import (  # noqa: E402
    JOBS,
    SUMMARY_COLUMNS,
    encode_cursor,
    sort_key,
    wanted_statuses,
)

#: A job's executor in the benchmark's stores: no worker of a server picks these jobs up.
EXECUTOR = "bench"
STORE_SIZES = (1_000, 100_000)
SORTS = ("created_at", "started_at", "finished_at", "name", "status", "notebook_path")
TEAMS = ("etl", "ml", "reports", "research", "ops")
KINDS = ("train", "daily", "clean", "explore", "score")
NOTEBOOKS = [f"projects/{TEAMS[k % 5]}/{KINDS[k // 10 % 5]}_{k:02d}.ipynb" for k in range(50)]
FILTERS: dict[str, dict[str, Any]] = {
    "none": {},
    "status": {"status": [JobStatus.FAILED]},
    "2 statuses": {"status": [JobStatus.COMPLETED, JobStatus.FAILED]},
    "notebook": {"notebook": NOTEBOOKS[0]},
    "notebook+status": {"notebook": NOTEBOOKS[0], "status": [JobStatus.FAILED]},
}
PEER_STATUS = {
    "queued": "QUEUED",
    "running": "IN_PROGRESS",
    "completed": "COMPLETED",
    "failed": "FAILED",
    "cancelled": "STOPPED",
}


# -- the jobs --------------------------------------------------------------------------------
def job_rows(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` jobs over a year: the newest 4 running and 20 queued, the rest 80% completed,
    14% failed, 6% cancelled (half of those before they started); notebooks used as a few
    schedules and many occasional runs are (the k-th most used one 1/k as often as the first)."""
    rng = random.Random(seed)
    weights = [1 / (k + 1) for k in range(len(NOTEBOOKS))]
    start, span = 1.7e9, 365 * 86400.0
    rows = []
    for i in range(count):
        created = start + span * i / count + rng.random()
        notebook = rng.choices(NOTEBOOKS, weights)[0]
        newest = count - i
        if newest <= 4:
            status = "running"
        elif newest <= 24:
            status = "queued"
        else:
            status = rng.choices(("completed", "failed", "cancelled"), (80, 14, 6))[0]
        started = finished = None
        if status != "queued" and not (status == "cancelled" and rng.random() < 0.5):
            started = created + rng.uniform(0.1, 60.0)
            if status != "running":
                finished = started + rng.expovariate(1 / 300)
        stem = notebook.rsplit("/", 1)[1].removesuffix(".ipynb")
        name = stem if rng.random() < 0.8 else f"{stem} {rng.choice(('nightly', 'backfill'))}"
        rows.append(
            {
                "id": f"{rng.getrandbits(48):012x}",
                "name": name,
                "notebook_path": notebook,
                "root_dir": "/home/user/work",
                "files_key": f"dataops-jobs/{stem}-{i}",
                "output_name": f"{stem}.ipynb",
                "status": status,
                "parameters": {"alpha": round(rng.random(), 3), "region": "eu"},
                "kernel_name": "python3",
                "executor": EXECUTOR,
                "created_at": created,
                "started_at": started,
                "finished_at": finished,
                "updated_at": finished or started or created,
                "cells_completed": 12 if finished else 0,
                "cells_total": 12,
                "current_cell": None,
                "attempt": 1,
                "max_retries": 0,
                "timeout_seconds": None,
                "cancel_requested": status == "cancelled",
                "pending_reason": None,
                "error": (
                    {"ename": "ValueError", "evalue": "bad input", "cell_index": 3}
                    if status == "failed"
                    else None
                ),
                "warnings": [],
                "tags": ["nightly"] if rng.random() < 0.3 else [],
                "rerun_of": None,
                "owner": "alice",
                "worker_id": None,
            }
        )
    return rows


def fill_store(path: Path, count: int) -> Database:
    """A migrated store with ``count`` jobs, each one change in the change log. The jobs'
    indexes are dropped during the insert and made again after it (as the migration made them,
    from sqlite's own copy of their SQL): much faster than updating 17 indexes row by row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite:///{path}")
    rows = job_rows(count)
    with db.engine.begin() as conn:
        indexes = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs'"
            " AND sql IS NOT NULL"
        ).all()
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        for start in range(0, count, 10_000):
            conn.execute(insert(JOBS), rows[start : start + 10_000])
        changes = [
            {
                "kind": "job",
                "entity_id": r["id"],
                "seq": n,
                "action": "created",
                "at": r["created_at"],
            }
            for n, r in enumerate(rows, start=1)
        ]
        for start in range(0, count, 10_000):
            conn.execute(insert(CHANGES), changes[start : start + 10_000])
        conn.execute(update(SEQUENCES).where(SEQUENCES.c.name == "changes").values(value=count))
        for _, sql in indexes:
            conn.exec_driver_sql(sql)
    return db


# -- figures ---------------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(value: float) -> str:
    return f"{value * 1000:8.2f}"


def timed(fn: Callable[[], Any], reps: int, warm: int = 2) -> list[float]:
    for _ in range(warm):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


# -- 1. the store ----------------------------------------------------------------------------
def deep_cursor(db: Database, query: JobQuery) -> str | None:
    """The cursor of the page that starts halfway through the jobs ``query`` matches."""
    with db.unit_of_work() as uow:
        matching, _ = uow.jobs.total(query)
    if matching < 2:
        return None
    key = sort_key(query.sort)
    statuses = wanted_statuses(query)
    conditions: list[Any] = []
    if statuses is not None:
        conditions.append(JOBS.c.status.in_(statuses))
    if query.notebook:
        conditions.append(JOBS.c.notebook_path == query.notebook)
    order = (key.desc(), JOBS.c.id.desc()) if query.order == "desc" else (key, JOBS.c.id)
    with db.engine.connect() as conn:
        row = conn.execute(
            select(*SUMMARY_COLUMNS)
            .where(*conditions)
            .order_by(*order)
            .offset(matching // 2 - 1)
            .limit(1)
        ).first()
    return encode_cursor(query, row, "next")


def store_level(work: Path, sizes: tuple[int, ...], reps: int) -> dict[str, Any]:
    from jupyter_dataops.core.config import DataOps
    from jupyter_dataops.core.context import Context
    from jupyter_dataops.core.jobs.service import JobService

    results: dict[str, Any] = {"pages": {}, "service": {}}
    for size in sizes:
        start = time.perf_counter()
        db = fill_store(work / f"store-{size}" / "dataops.db", size)
        print(f"store of {size:,} jobs filled in {time.perf_counter() - start:.1f} s", flush=True)
        pages: dict[str, Any] = {}
        with db.unit_of_work() as uow:
            for fname, filters in FILTERS.items():
                for sort in SORTS:
                    for order in ("asc", "desc"):
                        first = JobQuery(sort=sort, order=order, limit=50, **filters)
                        deep = first.model_copy(update={"cursor": deep_cursor(db, first)})
                        for which, query in (("first", first), ("deep", deep)):
                            times = timed(functools.partial(uow.jobs.page, query), reps)
                            rows = len(uow.jobs.page(query)[0])
                            pages[f"{fname} | {sort} {order} | {which}"] = {
                                "p50": statistics.median(times),
                                "p95": pct(times, 95),
                                "rows": rows,
                            }
        results["pages"][size] = pages

        root = work / f"root-{size}"
        root.mkdir(exist_ok=True)
        ctx = Context(config=DataOps(root_dir=str(root)), store=db)
        service = JobService(ctx, executor=None, dispatcher=None, kernels=dict)  # type: ignore[arg-type]
        with db.engine.connect() as conn:
            victims = list(conn.execute(select(JOBS.c.id).limit(reps + 5)).scalars())
        service_times: dict[str, Any] = {}
        for fname in ("none", "notebook"):
            query = JobQuery(limit=50, **FILTERS[fname])
            service.list(query)
            cached = timed(functools.partial(service.list, query), reps)
            after: dict[str, list[float]] = {"after a change": [], "after a change, recount": []}
            for mode, refresh in (("after a change", 1.0), ("after a change, recount", 0.0)):
                service.count_refresh_seconds = refresh
                for n in range(reps):
                    with db.unit_of_work() as uow:
                        uow.jobs.update(victims[n], cells_completed=n)
                        uow.commit()
                    begin = time.perf_counter()
                    listed = service.list(query)
                    after[mode].append(time.perf_counter() - begin)
            service.count_refresh_seconds = 1.0
            service_times[fname] = {
                "counts cached": cached,
                **after,
                "total": listed.total,
            }
        results["service"][size] = {
            f: {
                k: ({"p50": statistics.median(v), "p95": pct(v, 95)} if isinstance(v, list) else v)
                for k, v in modes.items()
            }
            for f, modes in service_times.items()
        }
        db.close()
    return results


def print_store(results: dict[str, Any], sizes: tuple[int, ...]) -> dict[str, Any]:
    small, big = sizes[0], sizes[-1]
    print()
    print(
        f"Store: a page of 50 (ms, p50/p95 and rows at {small:,} and at {big:,} jobs; ratio of "
        "the p95s). deep: the page halfway through the matching jobs, reached by its cursor"
    )
    header = (
        f"{'filter | sort order | page':46}{'p50':>8}{'p95':>8}{'rows':>5}"
        f"{'p50':>9}{'p95':>8}{'rows':>5}{'x':>7}"
    )
    print(header)
    worst: tuple[float, str] = (0.0, "")
    worst_ratio: tuple[float, str] = (0.0, "")
    worst_p50_ratio: tuple[float, str] = (0.0, "")
    for name, at_big in results["pages"][big].items():
        at_small = results["pages"][small][name]
        ratio = at_big["p95"] / at_small["p95"]
        worst = max(worst, (at_big["p95"], name))
        worst_ratio = max(worst_ratio, (ratio, name))
        worst_p50_ratio = max(worst_p50_ratio, (at_big["p50"] / at_small["p50"], name))
        print(
            f"{name:46}{ms(at_small['p50'])}{ms(at_small['p95'])}{at_small['rows']:5} "
            f"{ms(at_big['p50'])}{ms(at_big['p95'])}{at_big['rows']:5}{ratio:7.2f}"
        )
    print(f"worst p95 at {big:,} jobs: {worst[0] * 1000:.2f} ms ({worst[1]}); goal <= 10 ms")
    print(f"worst p95 ratio {big:,}/{small:,}: {worst_ratio[0]:.2f} ({worst_ratio[1]})")
    print(f"worst p50 ratio {big:,}/{small:,}: {worst_p50_ratio[0]:.2f} ({worst_p50_ratio[1]})")
    all_small = [v["p95"] for v in results["pages"][small].values()]
    all_big = [v["p95"] for v in results["pages"][big].values()]
    median_ratio = statistics.median(all_big) / statistics.median(all_small)
    print(f"median p95 ratio {big:,}/{small:,}: {median_ratio:.2f}")
    print()
    print("JobService.list (page + counts), ms p50/p95")
    for size in sizes:
        for fname, modes in results["service"][size].items():
            shown = "  ".join(
                f"{mode}: {v['p50'] * 1000:.2f}/{v['p95'] * 1000:.2f}"
                for mode, v in modes.items()
                if isinstance(v, dict)
            )
            print(f"  {size:>7,} jobs, filter {fname:9} {shown}")
    return {
        "worst_p95_ms": round(worst[0] * 1000, 3),
        "worst_p95_combination": worst[1],
        "worst_p95_ratio": round(worst_ratio[0], 2),
        "worst_p95_ratio_combination": worst_ratio[1],
        "worst_p50_ratio": round(worst_p50_ratio[0], 2),
        "worst_p50_ratio_combination": worst_p50_ratio[1],
        "median_p95_ratio": round(median_ratio, 2),
    }


# -- 2. HTTP ---------------------------------------------------------------------------------
class Connection:
    """One keep-alive HTTP/1.1 connection (asyncio streams): enough of HTTP for these servers."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Authorization: token {self.token}\r\n{extra}\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            body = await self.reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                body += await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            body = b""
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, fields, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


#: Each client's round: (step, path); "{cursor}" is the next_cursor of its last first page.
OUR_ROUND = [
    ("first", "/dataops/api/jobs?limit=50"),
    ("next", "/dataops/api/jobs?limit=50&cursor={cursor}"),
    ("status", "/dataops/api/jobs?limit=50&status=failed"),
    ("sort", "/dataops/api/jobs?limit=50&sort=name&order=asc"),
]
PEER_ROUND = [
    ("first", "/scheduler/jobs?max_items=50"),
    ("next", "/scheduler/jobs?max_items=50&next_token=50"),
    ("status", "/scheduler/jobs?max_items=50&status=FAILED"),
    ("sort", "/scheduler/jobs?max_items=50&sort_by=name"),
]


async def client_load(
    port: int,
    token: str,
    steps: list[tuple[str, str]],
    clients: int,
    duration: float,
    *,
    revalidate: bool = False,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """``clients`` connections, each asking its round of pages back to back for ``duration``
    seconds (a request under way at the end is awaited, at most ``timeout`` seconds)."""
    latencies: list[float] = []
    codes: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    deadline = time.monotonic() + duration

    async def client(number: int) -> None:
        conn = Connection(port, token)
        cursor = ""
        etags: dict[str, str] = {}
        turn = number
        try:
            while time.monotonic() < deadline:
                step, path = steps[turn % len(steps)]
                turn += 1
                if "{cursor}" in path:
                    if not cursor:
                        continue
                    path = path.format(cursor=urllib.parse.quote(cursor))
                headers = {"If-None-Match": etags[path]} if revalidate and path in etags else {}
                begin = time.perf_counter()
                try:
                    status, fields, body = await asyncio.wait_for(conn.get(path, headers), timeout)
                except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                    errors[type(exc).__name__] += 1
                    await conn.close()
                    continue
                latencies.append(time.perf_counter() - begin)
                codes[status] += 1
                if revalidate and "etag" in fields:
                    etags[path] = fields["etag"]
                if step == "first" and status == 200 and "{cursor}" in steps[1][1]:
                    cursor = json.loads(body).get("next_cursor") or ""
        finally:
            await conn.close()

    begin = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.monotonic() - begin
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "per_s": len(latencies) / elapsed,
        "p50": pct(latencies, 50),
        "p95": pct(latencies, 95),
        "p99": pct(latencies, 99),
        "max": max(latencies, default=float("nan")),
        "codes": dict(codes),
        "errors": dict(errors),
    }


class Writer(threading.Thread):
    """Changes jobs ``rate`` times a second while the clients list: in turn queues a new job,
    starts the oldest queued one, finishes the oldest running one (completed or failed) and
    advances a running job by a cell, so the change sequence, the totals and the counts move."""

    def __init__(self, rate: float, act: Callable[[int], None]) -> None:
        super().__init__(daemon=True)
        self.rate, self.act = rate, act
        self.stopping = threading.Event()
        self.done = 0
        self.failures: Counter[str] = Counter()

    def run(self) -> None:
        if self.rate <= 0:
            return
        step = 1.0 / self.rate
        next_at = time.monotonic()
        while not self.stopping.is_set():
            try:
                self.act(self.done)
            except Exception as exc:
                self.failures[type(exc).__name__] += 1
            self.done += 1
            next_at += step
            self.stopping.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self.stopping.set()
        self.join(30)


def our_writer(store_url: str) -> Callable[[int], None]:
    db = Database(store_url, upgrade=False)
    rng = random.Random(11)

    def act(n: int) -> None:
        now = time.time()
        with db.unit_of_work() as uow:
            kind = n % 4
            if kind == 0:
                job_id = secrets.token_hex(6)
                notebook = rng.choice(NOTEBOOKS[:10])
                stem = notebook.rsplit("/", 1)[1].removesuffix(".ipynb")
                uow.jobs.insert(
                    id=job_id,
                    name=stem,
                    notebook_path=notebook,
                    root_dir="/home/user/work",
                    files_key=f"dataops-jobs/{stem}-{job_id}",
                    output_name=f"{stem}.ipynb",
                    status="queued",
                    parameters={},
                    kernel_name="python3",
                    executor=EXECUTOR,
                    cells_completed=0,
                    cells_total=12,
                    attempt=1,
                    max_retries=0,
                    cancel_requested=False,
                    warnings=[],
                    tags=[],
                    owner="bench",
                )
            elif kind == 1:
                for job_id in uow.jobs.oldest_queued(EXECUTOR, 1):
                    uow.jobs.update(
                        job_id,
                        from_status=[JobStatus.QUEUED],
                        status=JobStatus.RUNNING,
                        started_at=now,
                    )
            else:
                running = uow.jobs.in_status([JobStatus.RUNNING], executor=EXECUTOR)
                if running and kind == 2 and len(running) > 3:
                    uow.jobs.update(
                        running[0].id,
                        from_status=[JobStatus.RUNNING],
                        status=JobStatus.COMPLETED if rng.random() < 0.85 else JobStatus.FAILED,
                        finished_at=now,
                        cells_completed=12,
                    )
                elif running:
                    job = rng.choice(running)
                    uow.jobs.update(job.id, cells_completed=min(12, job.cells_completed + 1))
            uow.commit()

    return act


def run_ours(
    work: Path, args: argparse.Namespace, revalidate_too: bool
) -> tuple[dict[str, Any], ...]:
    store = work / "data" / "dataops" / "dataops.db"
    start = time.perf_counter()
    fill_store(store, args.jobs).close()
    print(f"our store of {args.jobs:,} jobs filled in {time.perf_counter() - start:.1f} s")
    server = Server(sys.executable, work, "jupyter_dataops", [], freeze_gc=args.freeze_gc)
    results = []
    try:
        # The store has queued and running jobs (of an executor no worker has, so none runs):
        # the server starts its job worker; let it settle before measuring.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (store.parent / "worker.json").exists():
            time.sleep(0.2)
        time.sleep(2)
        warm_up(server, OUR_ROUND)
        runs = [("plain", False, args.changes)]
        if revalidate_too:  # a quiet store: every page stays the same, as does its ETag
            runs.append(("If-None-Match, no changes", True, 0.0))
        for label, revalidate, changes in runs:
            print(
                f"dataops: {args.clients} clients ({label}) for {args.duration:.0f} s, "
                f"{changes:g} changes/s ...",
                flush=True,
            )
            writer = Writer(changes, our_writer(f"sqlite:///{store}"))
            results.append(measure(server, OUR_ROUND, args, writer, revalidate))
            results[-1]["label"] = label
            results[-1]["changes_per_s"] = changes
    finally:
        server.stop()
        from jupyter_dataops.core.config import DataOps
        from jupyter_dataops.worker.supervisor import WorkerSupervisor

        dataops = DataOps(root_dir=str(work / "root"), data_dir=str(work / "data" / "dataops"))
        with contextlib.suppress(Exception):
            WorkerSupervisor(dataops, Database(dataops.store_url, upgrade=False)).stop_worker()
    return tuple(results)


def warm_up(server: Server, steps: list[tuple[str, str]]) -> None:
    for _ in range(3):
        for _, path in steps:
            if "{cursor}" not in path:
                server.get(path)


def measure(
    server: Server,
    steps: list[tuple[str, str]],
    args: argparse.Namespace,
    writer: Writer,
    revalidate: bool,
) -> dict[str, Any]:
    cpu_before = server.cpu()
    writer.start()
    try:
        result = asyncio.run(
            client_load(
                server.port, server.token, steps, args.clients, args.duration, revalidate=revalidate
            )
        )
    finally:
        writer.stop()
    cpu = server.cpu() - cpu_before
    result["server_cpu_s"] = cpu
    result["cpu_ms_per_request"] = 1000 * cpu / max(1, result["requests"])
    result["changes_made"] = writer.done
    result["writer_failures"] = dict(writer.failures)
    return result


# -- 3. the peer -----------------------------------------------------------------------------
#: Run by the peer's interpreter: its tables through its ORM, then the jobs from a JSON file.
PEER_FILL = """
import json, sys
from sqlalchemy import create_engine, insert
from jupyter_scheduler.orm import Job, create_tables
url, source = sys.argv[1], sys.argv[2]
create_tables(url)
rows = json.load(open(source))
engine = create_engine(url)
with engine.begin() as conn:
    for start in range(0, len(rows), 10000):
        conn.execute(insert(Job), rows[start : start + 10000])
print(len(rows))
"""


def peer_rows(count: int) -> list[dict[str, Any]]:
    """Our jobs as jupyter-scheduler rows (times in ms, its status names)."""
    rows = []
    for job in job_rows(count):
        job_id = f"{job['id']}-0000-4000-8000-{job['id']}"
        ms_of: Callable[[float | None], int | None] = lambda t: None if t is None else int(t * 1000)  # noqa: E731
        rows.append(
            {
                "job_id": job_id,
                "name": job["name"],
                "input_filename": job["notebook_path"].rsplit("/", 1)[1],
                "runtime_environment_name": "python3",
                "runtime_environment_parameters": {},
                "output_formats": ["ipynb", "html"],
                "parameters": {k: str(v) for k, v in job["parameters"].items()},
                "tags": job["tags"],
                "status": PEER_STATUS[job["status"]],
                "status_message": job["error"]["evalue"] if job["error"] else None,
                "create_time": ms_of(job["created_at"]),
                "update_time": ms_of(job["updated_at"]),
                "start_time": ms_of(job["started_at"]),
                "end_time": ms_of(job["finished_at"]),
                "url": f"/jobs/{job_id}",
                "timeout_seconds": 600,
                "max_retries": 0,
                "package_input_folder": False,
                "packaged_files": [],
            }
        )
    return rows


def peer_writer(db_path: Path) -> Callable[[int], None]:
    """The same changes as ``our_writer``, in the peer's table (it has no change log)."""
    conn = sqlite3.connect(db_path, timeout=30, check_same_thread=False, isolation_level=None)
    rng = random.Random(11)

    def act(n: int) -> None:
        now = int(time.time() * 1000)
        kind = n % 4
        if kind == 0:
            job_id = f"{secrets.token_hex(6)}-0000-4000-8000-{secrets.token_hex(6)}"
            conn.execute(
                "INSERT INTO jobs (job_id, name, input_filename, runtime_environment_name,"
                " output_formats, parameters, tags, status, create_time, update_time, url,"
                " timeout_seconds, max_retries, packaged_files) VALUES (?, ?, ?, 'python3',"
                " '[\"ipynb\", \"html\"]', '{}', '[]', 'QUEUED', ?, ?, ?, 600, 0, '[]')",
                (
                    job_id,
                    "bench",
                    rng.choice(NOTEBOOKS[:10]).rsplit("/", 1)[1],
                    now,
                    now,
                    f"/jobs/{job_id}",
                ),
            )
        elif kind == 1:
            conn.execute(
                "UPDATE jobs SET status = 'IN_PROGRESS', start_time = ?, update_time = ? WHERE"
                " job_id = (SELECT job_id FROM jobs WHERE status = 'QUEUED' ORDER BY create_time"
                " LIMIT 1)",
                (now, now),
            )
        elif kind == 2:
            conn.execute(
                "UPDATE jobs SET status = ?, end_time = ?, update_time = ? WHERE job_id = (SELECT"
                " job_id FROM jobs WHERE status = 'IN_PROGRESS' ORDER BY start_time LIMIT 1)"
                " AND (SELECT count(*) FROM jobs WHERE status = 'IN_PROGRESS') > 3",
                ("COMPLETED" if rng.random() < 0.85 else "FAILED", now, now),
            )
        else:
            conn.execute(
                "UPDATE jobs SET update_time = ? WHERE job_id = (SELECT job_id FROM jobs WHERE"
                " status = 'IN_PROGRESS' LIMIT 1)",
                (now,),
            )

    return act


def run_peer(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    python = peer_python(args.peer_python)
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / "scheduler.sqlite"
    source = work / "peer-jobs.json"
    start = time.perf_counter()
    source.write_text(json.dumps(peer_rows(args.jobs)))
    done = subprocess.run(
        [python, "-c", PEER_FILL, f"sqlite:///{db_path}", str(source)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"filling the peer's store failed: {done.stderr.strip()[-800:]}")
    source.unlink()
    print(
        f"peer store of {int(done.stdout.split()[-1]):,} jobs filled through its ORM in "
        f"{time.perf_counter() - start:.1f} s"
    )
    version = subprocess.run(
        [python, "-c", "import jupyter_scheduler; print(jupyter_scheduler.__version__)"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    server = Server(
        python,
        work,
        "jupyter_scheduler",
        [f"--SchedulerApp.db_url=sqlite:///{db_path}"],
        freeze_gc=args.freeze_gc,
    )
    try:
        page = server.get("/scheduler/jobs?max_items=1")
        if page.get("total_count") != args.jobs:
            raise RuntimeError(f"the peer lists {page.get('total_count')} jobs, not {args.jobs}")
        warm_up(server, PEER_ROUND)
        print(
            f"jupyter-scheduler {version}: {args.clients} clients for {args.duration:.0f} s, "
            f"{args.changes:g} changes/s ...",
            flush=True,
        )
        result = measure(
            server, PEER_ROUND, args, Writer(args.changes, peer_writer(db_path)), False
        )
    finally:
        server.stop()
    result["version"] = version
    result["label"] = "plain"
    return result


def print_http(rows: list[tuple[str, dict[str, Any]]]) -> None:
    print()
    print(f"{'':46}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'CPU ms/req':>11}  codes")
    for name, r in rows:
        print(
            f"{name:46}{r['per_s']:8.1f}{ms(r['p50'])} {ms(r['p95'])} {ms(r['p99'])}"
            f"{r['cpu_ms_per_request']:11.2f}  {r['codes']}"
            + (f" errors {r['errors']}" if r["errors"] else "")
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs in the HTTP stores")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of each HTTP load")
    parser.add_argument("--changes", type=float, default=20.0, help="writes a second (0: none)")
    parser.add_argument("--reps", type=int, default=40, help="timings of each store query")
    parser.add_argument("--no-store", action="store_true", help="skip the store level")
    parser.add_argument("--no-http", action="store_true", help="skip both HTTP loads")
    parser.add_argument("--no-peer", action="store_true", help="skip jupyter-scheduler")
    parser.add_argument("--no-revalidate", action="store_true", help="skip If-None-Match load")
    parser.add_argument("--peer-python", help="an interpreter that has jupyter-scheduler")
    parser.add_argument(
        "--freeze-gc",
        action="store_true",
        help="start both servers with gc.freeze() once started (an experiment, off by default)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    args.duration = min(max(args.duration, 1.0), 300.0)
    args.clients = min(max(args.clients, 1), 500)

    work = Path(tempfile.mkdtemp(prefix="dataops-bench-list-"))
    results: dict[str, Any] = {
        "cores": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "jobs": args.jobs,
        "clients": args.clients,
        "duration_s": args.duration,
        "changes_per_s": args.changes,
    }
    try:
        if not args.no_store:
            store = store_level(work / "store", STORE_SIZES, args.reps)
            results["store"] = print_store(store, STORE_SIZES)
            results["store"]["pages_ms"] = {
                size: {k: {m: round(v[m] * 1000, 3) for m in ("p50", "p95")} for k, v in p.items()}
                for size, p in store["pages"].items()
            }
            results["store"]["service_ms"] = {
                size: {
                    f: {
                        m: {q: round(x * 1000, 3) for q, x in v.items()}
                        if isinstance(v, dict)
                        else v
                        for m, v in modes.items()
                    }
                    for f, modes in s.items()
                }
                for size, s in store["service"].items()
            }
            shutil.rmtree(work / "store", ignore_errors=True)
        if not args.no_http:
            http_rows: list[tuple[str, dict[str, Any]]] = []
            ours = run_ours(work / "ours", args, not args.no_revalidate)
            for r in ours:
                http_rows.append((f"jupyter-dataops ({r['label']})", r))
            results["dataops_http"] = ours[0]
            if len(ours) > 1:
                results["dataops_http_revalidating"] = ours[1]
            peer: dict[str, Any] | None = None
            if args.no_peer:
                results["peer_http"] = "skipped (--no-peer)"
            else:
                try:
                    peer = run_peer(work / "peer", args)
                    http_rows.append((f"jupyter-scheduler {peer['version']}", peer))
                    results["peer_http"] = peer
                except Exception as exc:  # say why, never a made-up figure
                    results["peer_http"] = f"could not run: {exc}"
                    print(f"\nTHE PEER COULD NOT BE RUN: {exc}")
            print()
            print(
                f"HTTP: {args.clients} clients listing pages of 50 for {args.duration:.0f} s over "
                f"{args.jobs:,} jobs, {args.changes:g} job changes/s"
            )
            print_http(http_rows)
            ok = ours[0]["p99"] < 0.2
            print(
                f"our p99 {ours[0]['p99'] * 1000:.1f} ms (goal < 200 ms): {'met' if ok else 'NOT met'}"
            )
            if peer is not None:
                ratios = {
                    "throughput_ratio": ours[0]["per_s"] / peer["per_s"],
                    "p99_ratio": ours[0]["p99"] / peer["p99"],
                    "cpu_per_request_ratio": ours[0]["cpu_ms_per_request"]
                    / peer["cpu_ms_per_request"],
                }
                results.update({k: round(v, 4) for k, v in ratios.items()})
                print(
                    f"ours / jupyter-scheduler: throughput {ratios['throughput_ratio']:.1f}x, "
                    f"p99 {ratios['p99_ratio']:.4f}x, CPU per request "
                    f"{ratios['cpu_per_request_ratio']:.4f}x"
                )
    finally:
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
