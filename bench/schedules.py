"""Benchmark: 1,000 schedules due in the same minute, beside jupyter-scheduler's job definitions.

Runs both in one run on this machine, one after the other, and prints them side by side:

1. ours: a real ``jupyter server`` with the extension on 127.0.0.1 (the local backend: its worker
   process fires schedules and runs jobs). N schedules (default 1,000) on a trivial notebook are
   created through the REST API (POST /dataops/api/schedules, one after another), all with the
   cron expression of one coming minute (``M H * * *`` in UTC: every one is due at that minute and
   at no other time of the run). Then:
   - idle: the worker's CPU seconds (/proc/<pid>/stat) over --idle seconds while all N are
     active and none is due (the server's beside it);
   - the burst: at the due minute, for each due time, creation delay = job.created_at - due_at
     and start delay = job.started_at - due_at (p50/p99/max), and the worker's CPU from the due
     minute until the last firing is recorded. Jobs are run by the same worker
     (c.LocalExecutor.max_concurrent_jobs, default: the cores), so the start delay of the last
     of N jobs is the time to drain the queue: it is measured for the jobs started within
     --drain seconds (and for the first 10 started). The firing of every due time is checked
     (queued, not missed). c.DataOps.max_queued_jobs is raised above N for the run.
   Goal: p99 creation delay < 1 s, and idle CPU near zero (under 1% of a core).
2. the peer: jupyter-scheduler (the same trivial notebook, its job definitions created through
   POST /scheduler/job_definitions with ``schedule`` and ``timezone``) in a server and virtual
   environment of its own. Its task runner lives in the server process and polls every 10 s (its
   default); every job it creates is a new process (multiprocessing "spawn") that starts at once
   and starts a kernel: there is no queue, so N due schedules are N processes and N kernels at
   once. A probe round (--peer-probe definitions, default 50) measures what one fired job holds
   in memory (peak RSS of the job process and its kernel); the main round then uses as many
   definitions as fit in --peer-memory of the available memory (at most --peer-schedules,
   default 1,000), and says why if that is fewer. The same creation delay (its Job rows'
   create_time - the due minute), its start delay (start_time), the server's CPU while idle and
   during the burst. A guard kills the peer's job processes if the machine runs short of memory.
   Its job processes (and their kernels) are killed once the burst is created and --peer-drain
   seconds have passed: only creation and start are measured.

jupyter-scheduler gets the virtual environment bench/list.py makes (bench/_peer.py), with
ipykernel added so its jobs can start a kernel, or ``--peer-python`` names an interpreter with both.

Usage: ``python bench/schedules.py [--schedules 1000] [--idle 30] [--drain 300]
[--burst-timeout 120] [--peer-schedules 1000] [--peer-probe 50] [--peer-memory 0.5]
[--peer-timeout 300] [--peer-drain 60] [--no-peer] [--peer-python PY] [--json results.json]``.
Each part waits for a coming minute (up to a minute and a half); everything is bounded in time.
The servers listen on 127.0.0.1 with random tokens and are stopped at the end (our worker, the
peer's job processes and kernels too), also on an error, Ctrl-C or SIGTERM: the benchmark is the
subreaper of what it starts, and kills by PID whatever of it is still there. Everything is
written under one temporary directory. The table gives ours, the peer's and ours/peer; --json
also writes the ratios and whether the goals are met.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from _peer import Server, peer_python  # noqa: E402

from tests.notebooks import write_notebook  # noqa: E402

#: The trivial notebook every schedule runs.
CELLS = ["total = sum(range(1000))", "print(total)"]
#: Seconds between the end of the creations and the start of the idle window (settling).
SETTLE = 3.0
#: Idle CPU below this share of one core counts as "near zero".
IDLE_GOAL = 0.01
CREATION_GOAL = 1.0
TICK = os.sysconf("SC_CLK_TCK")


# -- figures ---------------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 4),
        "p99": round(pct(values, 99), 4),
        "max": round(max(values), 4),
    }


# -- processes (Linux /proc) -----------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (not of its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks after boot): with its PID, who it is."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    return None


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in task.read_text().split()]
    return found


def descendants(pid: int) -> list[int]:
    found, todo = [], children(pid)
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children(p)
    return found


def status_kb(pid: int, field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def pss_kb(pid: int) -> int:
    """Proportional set size: shared pages counted once across the processes sharing them."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def cmdline(pid: int) -> bytes:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    return b""


def become_subreaper() -> bool:
    """Adopt the orphans of the processes this bench starts (PR_SET_CHILD_SUBREAPER): our worker
    (a session of its own, it outlives its server) and the kernels of a killed job process stay
    descendants of this process, so ``end_descendants`` finds them all."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    return False


def snapshot(pids: list[int]) -> dict[int, int | None]:
    """These processes and their descendants, each with its start time (to tell a reused PID)."""
    return {p: start_ticks(p) for pid in pids for p in (pid, *descendants(pid))}


def kill_left(tree: dict[int, int | None], wait: float) -> list[int]:
    """Wait up to ``wait`` s for the processes of ``tree`` to exit, then SIGKILL those left."""

    def left() -> list[int]:  # the same processes, not yet zombies
        return [p for p, t in tree.items() if t and start_ticks(p) == t and cmdline(p)]

    wait_for(lambda: not left(), time.time() + wait, 0.1)
    killed = left()
    for pid in killed:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return killed


def end_descendants() -> list[str]:
    """SIGKILL every process this bench started that is still there (by PID: its descendants,
    orphans included when it is a subreaper), and reap them; returns what they were."""
    ended = []
    for _ in range(3):  # a dying parent's children are adopted a moment later
        pids = descendants(os.getpid())
        for pid in pids:
            if line := cmdline(pid):  # not a zombie
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    what = line.replace(b"\0", b" ").decode(errors="replace")[:120]
                    ended.append(f"{pid} {what}")
        time.sleep(0.2)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        if not pids:
            break
    return ended


def meminfo(field: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/meminfo")


# -- time ------------------------------------------------------------------------------------
def due_minute(earliest: float) -> float:
    """The first whole minute at or after ``earliest``."""
    return math.ceil(earliest / 60) * 60.0


def cron_at(due: float) -> str:
    """A cron expression due at ``due`` (a whole minute, UTC) and not again for a day."""
    t = time.gmtime(due)
    return f"{t.tm_min} {t.tm_hour} * * *"


def clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(t)) + " UTC"


def sleep_until(t: float) -> None:
    while (left := t - time.time()) > 0:
        time.sleep(min(left, 0.5))


def wait_for(check: Callable[[], bool], until: float, every: float) -> bool:
    """Call ``check`` every ``every`` seconds until it says True or the clock reaches ``until``."""
    while True:
        if check():
            return True
        if time.time() >= until:
            return False
        time.sleep(every)


def create(
    server: Server, path: str, bodies: list[dict[str, Any]]
) -> tuple[list[Any], list[float]]:
    """POST each body in turn; the answers and each request's latency."""
    answers, latencies = [], []
    for body in bodies:
        start = time.perf_counter()
        answers.append(server.request("POST", path, body))
        latencies.append(time.perf_counter() - start)
    return answers, latencies


def plan(per_item: float, count: int, idle: float) -> float:
    """The due minute: far enough for ``count`` creations at ``per_item`` seconds each (with
    room to spare), the settling and the idle window."""
    estimate = per_item * count * 1.5 + 2.0
    return due_minute(time.time() + estimate + SETTLE + idle + 3.0)


def idle_cpu(pids: dict[str, int], seconds: float, due: float) -> dict[str, Any]:
    """CPU of each process over ``seconds`` (cut short to end 2 s before ``due``)."""
    time.sleep(SETTLE)
    seconds = min(seconds, due - 2.0 - time.time())
    if seconds < 5:
        raise RuntimeError(f"no room for the idle window before {clock(due)} (creation too slow)")
    before = {k: cpu_seconds(p) for k, p in pids.items()}
    start = time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - start
    used = {k: cpu_seconds(p) - before[k] for k, p in pids.items()}
    return {
        "seconds": round(elapsed, 2),
        "cpu_s": {k: round(v, 3) for k, v in used.items()},
        "core_share": {k: round(v / elapsed, 5) for k, v in used.items()},
    }


# -- 1. ours ---------------------------------------------------------------------------------
def run_ours(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    count = args.schedules
    write_notebook(work / "root" / "bench.ipynb", CELLS)
    data = work / "data" / "dataops"
    result: dict[str, Any] = {"schedules": count}
    server: Server | None = None
    try:
        server = Server(
            sys.executable,
            work,
            "jupyter_dataops",
            [
                "--DataOps.min_schedule_interval=0",
                f"--DataOps.max_queued_jobs={count + 1000}",
            ],
        )
        path = "/dataops/api/schedules"

        def body(name: str, cron: str) -> dict[str, Any]:
            return {"notebook_path": "bench.ipynb", "cron": cron, "timezone": "UTC", "name": name}

        # A probe of the creation rate (schedules for another time of day, deleted again).
        far = cron_at(due_minute(time.time() + 12 * 3600))
        probe, latencies = create(server, path, [body(f"rate-{i}", far) for i in range(20)])
        for schedule in probe:
            server.request("DELETE", f"{path}/{schedule['id']}")
        due = plan(statistics.median(latencies[5:]), count, args.idle)
        cron = cron_at(due)
        print(
            f"jupyter-dataops: creating {count:,} schedules '{cron}' (UTC) through the REST API, "
            f"due at {clock(due)} ...",
            flush=True,
        )
        start = time.time()
        made, latencies = create(server, path, [body(f"bench-{i}", cron) for i in range(count)])
        created_in = time.time() - start
        wrong = [s["id"] for s in made if s["next_run_at"] != due]
        if wrong:
            raise RuntimeError(f"{len(wrong)} schedules are not due at {clock(due)}: {wrong[:3]}")
        result["create"] = {
            "seconds": round(created_in, 2),
            "per_s": round(count / created_in, 1),
            "request_s": summary(latencies),
        }
        print(
            f"  created in {created_in:.1f} s ({count / created_in:.0f}/s, a request p50 "
            f"{statistics.median(latencies) * 1000:.1f} ms); idle window, then the due minute "
            f"({due - time.time():.0f} s away) ...",
            flush=True,
        )
        state = data / "worker.json"
        if not wait_for(state.exists, time.time() + 30, 0.2):
            raise RuntimeError("no worker started (its log: data/dataops/worker.log)")
        worker = int(json.loads(state.read_text())["pid"])
        pids = {"worker": worker, "server": server.proc.pid}
        result["idle"] = idle_cpu(pids, args.idle, due)

        db = sqlite3.connect(f"file:{data / 'dataops.db'}?mode=ro", uri=True, timeout=30)
        near = (due - 0.5, due + 0.5)

        def one(sql: str) -> Any:
            return db.execute(sql, near).fetchone()[0]

        def fired() -> bool:
            return one("SELECT count(*) FROM firings WHERE due_at BETWEEN ? AND ?") >= count

        sleep_until(due - 0.5)
        cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
        done = wait_for(fired, due + args.burst_timeout, 0.05)
        burst_end = time.time()
        cpu1 = {k: cpu_seconds(p) for k, p in pids.items()}
        outcomes = dict(
            db.execute(
                "SELECT outcome, count(*) FROM firings WHERE due_at BETWEEN ? AND ? "
                "GROUP BY outcome",
                near,
            ).fetchall()
        )
        print(
            f"  {sum(outcomes.values()):,} due times handled by {clock(burst_end)} "
            f"({outcomes}); jobs draining (at most {args.drain:.0f} s) ...",
            flush=True,
        )
        if not done:
            print(f"  NOT all {count:,} fired within {args.burst_timeout:.0f} s")

        def started() -> bool:
            sql = (
                "SELECT count(*) FROM jobs WHERE due_at BETWEEN ? AND ? AND started_at IS NOT NULL"
            )
            return one(sql) >= count

        wait_for(started, due + args.drain, 1.0)
        drained_at = time.time()
        rows = db.execute(
            "SELECT created_at, started_at, due_at, status FROM jobs "
            "WHERE due_at BETWEEN ? AND ? ORDER BY created_at",
            near,
        ).fetchall()
        statuses = dict(
            db.execute(
                "SELECT status, count(*) FROM jobs WHERE due_at BETWEEN ? AND ? GROUP BY status",
                near,
            ).fetchall()
        )
        db.close()
        creation = [c - d for c, _, d, _ in rows]
        starts = sorted(s - d for _, s, d, _ in rows if s is not None)
        result.update(
            due_at=due,
            cron=cron,
            outcomes=outcomes,
            jobs=len(rows),
            statuses_at_end=statuses,
            creation_delay_s=summary(creation),
            creation_delays_s=[round(x, 4) for x in creation],
            start_delay_s=summary(starts),
            first_10_start_delay_s=summary(starts[:10]),
            started_within_drain=len(starts),
            drain_bound_s=args.drain,
            drain_seconds=round(drained_at - due, 1),
            burst={
                "seconds": round(burst_end - due + 0.5, 2),
                "cpu_s": {k: round(cpu1[k] - cpu0[k], 3) for k in pids},
                "worker_cpu_ms_per_firing": round(
                    1000 * (cpu1["worker"] - cpu0["worker"]) / max(1, len(rows)), 3
                ),
            },
            max_concurrent_jobs=os.cpu_count(),  # c.LocalExecutor.max_concurrent_jobs's default
        )
    finally:
        stop_ours(server, work, data)
    return result


def stop_ours(server: Server | None, work: Path, data: Path) -> None:
    """Stop our server, then its worker (it outlives the server: a session of its own) the way
    ``jupyter dataops worker stop`` does; what is left of either is killed by PID."""
    state = data / "worker.json"
    worker = None
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        worker = int(json.loads(state.read_text())["pid"])
    tree = snapshot(([server.proc.pid] if server else []) + ([worker] if worker else []))
    if server is not None:
        server.stop()
    from jupyter_dataops.core.config import DataOps
    from jupyter_dataops.store import Database
    from jupyter_dataops.worker.supervisor import WorkerSupervisor

    dataops = DataOps(root_dir=str(work / "root"), data_dir=str(data))
    with contextlib.suppress(Exception):
        WorkerSupervisor(dataops, Database(dataops.store_url, upgrade=False)).stop_worker()
    # The worker lets go of its lock before it has exited: give it the time to exit.
    kill_left(tree, 15)


# -- 2. the peer -----------------------------------------------------------------------------
class PeerJobs:
    """The peer's job processes (children of its server, one per job) and their kernels: peak
    memory of each, a guard against running the machine out of memory, and the kill."""

    def __init__(self, server_pid: int, guard_bytes: int) -> None:
        self.server_pid = server_pid
        self.guard_bytes = guard_bytes
        self.peak: dict[int, int] = {}  # job process -> its peak RSS (kB)
        self.kernel_peak: dict[int, int] = {}  # job process -> its kernels' peak RSS (kB)
        self.tree_peak_kb = 0
        self.most_alive = 0
        self.guard_tripped = False
        self.min_available = meminfo("MemAvailable")

    def jobs(self) -> list[int]:
        return [p for p in children(self.server_pid) if b"resource_tracker" not in cmdline(p)]

    def sample(self) -> None:
        jobs = self.jobs()
        self.most_alive = max(self.most_alive, len(jobs))
        tree = 0
        for job in jobs:
            own = status_kb(job, "VmHWM")
            self.peak[job] = max(self.peak.get(job, 0), own)
            kernels = sum(status_kb(k, "VmHWM") for k in descendants(job))
            self.kernel_peak[job] = max(self.kernel_peak.get(job, 0), kernels)
            tree += status_kb(job, "VmRSS") + sum(status_kb(k, "VmRSS") for k in descendants(job))
        self.tree_peak_kb = max(self.tree_peak_kb, tree)
        available = meminfo("MemAvailable")
        self.min_available = min(self.min_available, available)
        if available < self.guard_bytes and not self.guard_tripped:
            self.guard_tripped = True
            print(
                f"  MEMORY GUARD: {available / 2**30:.1f} GiB available; killing the peer's "
                f"{len(jobs)} job processes and their kernels",
                flush=True,
            )
            self.kill()

    def per_job_mb(self) -> float | None:
        """The median peak RSS of a job process with its kernel (of those seen with one)."""
        whole = [self.peak[j] + k for j, k in self.kernel_peak.items() if k > 0]
        return statistics.median(whole) / 1024 if whole else None

    def pss_over_rss(self) -> float | None:
        """PSS / RSS of the job processes and kernels now: how much of their RSS is pages they
        share (libraries), to turn a peak RSS into what each adds to the machine."""
        pids = [d for j in self.jobs() for d in (j, *descendants(j))]
        rss = sum(status_kb(p, "VmRSS") for p in pids)
        return sum(pss_kb(p) for p in pids) / rss if rss else None

    def kill(self) -> int:
        """Stop the server from starting more, freeze its job processes (so none starts another
        kernel), then kill them and everything they started; the server goes on."""
        os.kill(self.server_pid, signal.SIGSTOP)
        try:
            jobs = self.jobs()
            for pid in jobs:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
            victims = [d for j in jobs for d in descendants(j)] + jobs
            for pid in victims:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        finally:
            os.kill(self.server_pid, signal.SIGCONT)
        return len(victims)


def peer_round(
    server: Server, db_path: Path, label: str, count: int, args: argparse.Namespace
) -> dict[str, Any]:
    """``count`` job definitions due in one coming minute; measure, then kill the jobs."""
    path = "/scheduler/job_definitions"

    def body(name: str, cron: str) -> dict[str, Any]:
        return {
            "input_uri": "bench.ipynb",
            "runtime_environment_name": "python3",
            "output_formats": ["ipynb"],
            "name": name,
            "schedule": cron,
            "timezone": "UTC",
        }

    far = cron_at(due_minute(time.time() + 12 * 3600))
    probe, latencies = create(server, path, [body(f"rate-{i}", far) for i in range(10)])
    for answer in probe:
        server.request("DELETE", f"{path}/{answer['job_definition_id']}")
    due = plan(statistics.median(latencies[3:]), count, args.idle)
    cron = cron_at(due)
    print(
        f"jupyter-scheduler ({label}): creating {count:,} job definitions '{cron}' (UTC) through "
        f"its REST API, due at {clock(due)} ...",
        flush=True,
    )
    start = time.time()
    _, latencies = create(server, path, [body(f"{label}-{i}", cron) for i in range(count)])
    created_in = time.time() - start
    result: dict[str, Any] = {
        "schedules": count,
        "due_at": due,
        "cron": cron,
        "create": {
            "seconds": round(created_in, 2),
            "per_s": round(count / created_in, 1),
            "request_s": summary(latencies),
        },
    }
    print(
        f"  created in {created_in:.1f} s ({count / created_in:.0f}/s); idle window, then the "
        f"due minute ({due - time.time():.0f} s away) ...",
        flush=True,
    )
    result["idle"] = idle_cpu({"server": server.proc.pid}, args.idle, due)

    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    like = f"{label}-%"

    def one(sql: str) -> Any:
        return db.execute(sql, (like,)).fetchone()[0]

    total = meminfo("MemTotal")
    watch = PeerJobs(server.proc.pid, max(2 * 2**30, int(0.1 * total)))
    sleep_until(due - 0.5)
    cpu0 = cpu_seconds(server.proc.pid)
    deadline = due + args.peer_timeout
    created_all = False
    last_sample = 0.0
    while time.time() < deadline and not watch.guard_tripped:
        if one("SELECT count(*) FROM jobs WHERE name LIKE ?") >= count:
            created_all = True
            break
        if time.monotonic() - last_sample >= 1.0:
            watch.sample()
            last_sample = time.monotonic()
        time.sleep(0.1)
    burst_end = time.time()
    cpu1 = cpu_seconds(server.proc.pid)
    created = one("SELECT count(*) FROM jobs WHERE name LIKE ?")
    print(
        f"  {created:,} of {count:,} jobs created by {clock(burst_end)}; their processes run "
        f"(at most {args.peer_drain:.0f} s more) ...",
        flush=True,
    )
    drain_until = min(burst_end + args.peer_drain, deadline + args.peer_drain)
    while time.time() < drain_until and not watch.guard_tripped:
        sql = "SELECT count(*) FROM jobs WHERE name LIKE ? AND start_time IS NOT NULL"
        if one(sql) >= created:
            break
        watch.sample()
        time.sleep(1.0)
    watch.sample()
    shared = watch.pss_over_rss()
    rows = db.execute(
        "SELECT create_time, start_time, status FROM jobs WHERE name LIKE ? ORDER BY create_time",
        (like,),
    ).fetchall()
    statuses: dict[str, int] = {}
    for _, _, status in rows:
        statuses[status] = statuses.get(status, 0) + 1
    db.close()
    killed = watch.kill()
    creation = [c / 1000 - due for c, _, _ in rows]
    starts = sorted(s / 1000 - due for _, s, _ in rows if s is not None)
    per_job = watch.per_job_mb()
    result.update(
        created_all=created_all,
        jobs=len(rows),
        statuses_at_end=statuses,
        creation_delay_s=summary(creation),
        creation_delays_s=[round(x, 4) for x in creation],
        start_delay_s=summary(starts),
        first_10_start_delay_s=summary(starts[:10]),
        started_within_drain=len(starts),
        burst={
            "seconds": round(burst_end - due + 0.5, 2),
            "cpu_s": {"server": round(cpu1 - cpu0, 3)},
        },
        processes_killed=killed,
        most_job_processes_at_once=watch.most_alive,
        per_job_peak_mb=None if per_job is None else round(per_job, 1),
        pss_over_rss=None if shared is None else round(shared, 3),
        per_job_peak_pss_mb=None
        if per_job is None or shared is None
        else round(per_job * shared, 1),
        job_tree_peak_rss_mb=round(watch.tree_peak_kb / 1024, 1),
        min_mem_available_gb=round(watch.min_available / 2**30, 2),
        memory_guard_tripped=watch.guard_tripped,
    )
    if not created_all:
        why = "the memory guard" if watch.guard_tripped else f"{args.peer_timeout:.0f} s"
        print(f"  NOT all {count:,} jobs were created (stopped by {why})")
    return result


def run_peer(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    python = peer_python(args.peer_python, {"ipykernel": "ipykernel"})
    version = subprocess.run(
        [python, "-c", "import jupyter_scheduler; print(jupyter_scheduler.__version__)"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    write_notebook(work / "root" / "bench.ipynb", CELLS)
    db_path = work / "scheduler.sqlite"
    server = Server(
        python, work, "jupyter_scheduler", [f"--SchedulerApp.db_url=sqlite:///{db_path}"]
    )
    result: dict[str, Any] = {"version": version, "poll_interval_s": 10}
    try:
        available = meminfo("MemAvailable")
        budget = args.peer_memory * available
        probe_count = min(args.peer_probe, args.peer_schedules)
        probe = peer_round(server, db_path, "probe", probe_count, args)
        result["probe"] = probe
        per_job = probe["per_job_peak_pss_mb"] or probe["per_job_peak_mb"]
        if per_job is None:
            raise RuntimeError("none of the probe's jobs was seen with a kernel; see server.log")
        fits = int(budget / (per_job * 2**20))
        count = min(args.peer_schedules, fits)
        result["capacity"] = {
            "mem_available_gb": round(available / 2**30, 2),
            "budget_gb": round(budget / 2**30, 2),
            "per_job_peak_mb": per_job,
            "fit_in_budget": fits,
            "requested": args.peer_schedules,
            "needed_for_requested_gb": round(per_job * args.peer_schedules / 1024, 1),
        }
        if count < args.peer_schedules:
            result["capacity"]["why"] = (
                f"each fired job is a process of its own plus a kernel, all at once (no queue): "
                f"{per_job:.0f} MB a job (peak RSS x PSS/RSS), so {args.peer_schedules:,} due together need "
                f"~{per_job * args.peer_schedules / 1024:.1f} GB; {args.peer_memory:.0%} of the "
                f"{available / 2**30:.1f} GB available holds {fits:,}"
            )
            print(f"  jupyter-scheduler: {result['capacity']['why']}", flush=True)
        main = probe
        if count > probe_count:
            main = peer_round(server, db_path, "main", count, args)
        result["main"] = main
    finally:
        tree = snapshot([server.proc.pid])
        with contextlib.suppress(Exception):
            PeerJobs(server.proc.pid, 0).kill()
        server.stop()
        kill_left(tree, 10)  # its multiprocessing resource tracker exits once the server has
    return result


# -- printing --------------------------------------------------------------------------------
def get(d: Any, *keys: str) -> Any:
    """``d[k1][k2]...``, or None where a level is missing."""
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def ratio(ours: Any, peer: Any) -> float | None:
    if isinstance(ours, int | float) and isinstance(peer, int | float) and peer:
        return ours / peer
    return None


def show(v: Any, fmt: str) -> str:
    return "-" if v is None else fmt.format(v) if isinstance(v, int | float) else str(v)


def report(ours: dict[str, Any], peer: dict[str, Any] | None, args: argparse.Namespace) -> dict:
    """Print the table (ours, the peer, ours/peer) and the goals; returns the ratios."""
    main = (peer or {}).get("main") or {}
    name = f"jupyter-scheduler {peer['version']}" if peer else "jupyter-scheduler"
    idle_s = get(ours, "idle", "seconds")
    idle_all = sum(get(ours, "idle", "cpu_s").values())
    idle_peer = get(main, "idle", "cpu_s", "server")
    # (label, ours, peer, format, ratio key or None)
    rows: list[tuple[str, Any, Any, str, str | None]] = [
        (
            "schedules due in the same minute",
            ours["schedules"],
            main.get("schedules"),
            "{:,}",
            None,
        ),
        ("jobs created for that minute", ours["jobs"], main.get("jobs"), "{:,}", None),
        (
            "creating schedules over REST, per s",
            get(ours, "create", "per_s"),
            get(main, "create", "per_s"),
            "{:.0f}",
            "create_per_s",
        ),
    ]
    for q in ("p50", "p99", "max"):
        rows.append(
            (
                f"creation delay {q}, s",
                ours["creation_delay_s"][q],
                get(main, "creation_delay_s", q),
                "{:.3f}",
                f"creation_delay_{q}",
            )
        )
    k = main.get("jobs") or 0
    if 0 < k < ours["jobs"]:
        first = summary(sorted(ours["creation_delays_s"])[:k])
        for q in ("p99", "max"):
            rows.append(
                (
                    f"  ours, first {k:,} created: {q}, s",
                    first[q],
                    main["creation_delay_s"][q],
                    "{:.3f}",
                    f"creation_delay_first_{k}_{q}",
                )
            )
    for q in ("p50", "p99", "max"):
        rows.append(
            (
                f"start delay {q} (of those started), s",
                ours["start_delay_s"][q],
                get(main, "start_delay_s", q),
                "{:.3f}",
                f"start_delay_{q}",
            )
        )
    rows += [
        (
            "start delay, first 10 started: max, s",
            ours["first_10_start_delay_s"]["max"],
            get(main, "first_10_start_delay_s", "max"),
            "{:.3f}",
            "start_delay_first_10_max",
        ),
        (
            "jobs started within the drain bound",
            ours["started_within_drain"],
            main.get("started_within_drain"),
            "{:,}",
            None,
        ),
        (
            f"idle CPU s over {idle_s:.0f} s: the scheduler *",
            ours["idle"]["cpu_s"]["worker"],
            idle_peer,
            "{:.3f}",
            "idle_cpu_scheduler",
        ),
        (
            "  share of one core",
            ours["idle"]["core_share"]["worker"],
            get(main, "idle", "core_share", "server"),
            "{:.3%}",
            None,
        ),
        ("  ours with our server beside it", idle_all, idle_peer, "{:.3f}", "idle_cpu_all"),
        (
            "CPU s of the burst: the scheduler *",
            ours["burst"]["cpu_s"]["worker"],
            get(main, "burst", "cpu_s", "server"),
            "{:.3f}",
            "burst_cpu_scheduler",
        ),
        (
            "burst window: due - 0.5 s -> all created, s",
            ours["burst"]["seconds"],
            get(main, "burst", "seconds"),
            "{:.2f}",
            "burst_seconds",
        ),
    ]
    print()
    print(f"Schedules due in one minute; delays after the due time; {os.cpu_count()} cores")
    print(f"{'':46}{'jupyter-dataops':>16}{name:>26}{'ours/peer':>11}")
    ratios: dict[str, float] = {}
    for label, o, pv, fmt, key in rows:
        r = ratio(o, pv) if key else None
        if r is not None and key:
            ratios[key] = round(r, 4)
        rs = "-" if r is None else f"{r:.3g}x"
        print(f"{label:46}{show(o, fmt):>16}{show(pv, fmt):>26}{rs if key else '':>11}")
    print("* the scheduler: ours is the worker process; the peer's lives in its server")
    print()
    p99 = ours["creation_delay_s"]["p99"]
    share = ours["idle"]["core_share"]["worker"]
    met = {
        "creation_p99": p99 is not None and p99 < CREATION_GOAL,
        "idle_cpu": share < IDLE_GOAL,
    }
    print(
        f"goals (ours): p99 creation delay < {CREATION_GOAL:g} s: {show(p99, '{:.3f}')} s, "
        f"{'met' if met['creation_p99'] else 'NOT met'}; idle CPU < {IDLE_GOAL:.0%} of a core: "
        f"{share:.3%} (worker), {'met' if met['idle_cpu'] else 'NOT met'}"
    )
    if main:
        pp99 = get(main, "creation_delay_s", "p99")
        pshare = get(main, "idle", "core_share", "server")
        print(
            f"the peer on the same goals: p99 creation delay {show(pp99, '{:.3f}')} s, "
            f"{'met' if pp99 is not None and pp99 < CREATION_GOAL else 'NOT met'}; idle CPU "
            f"{show(pshare, '{:.3%}')} (server), "
            f"{'met' if pshare is not None and pshare < IDLE_GOAL else 'NOT met'}"
        )
    print(
        f"ours: firings {ours['outcomes']}, jobs at the end {ours['statuses_at_end']}; "
        f"{ours['started_within_drain']:,} of {ours['jobs']:,} started within {args.drain:.0f} s "
        f"({ours['max_concurrent_jobs']} at a time); worker CPU "
        f"{ours['burst']['worker_cpu_ms_per_firing']:.2f} ms a firing"
    )
    if peer:
        cap, probe = peer["capacity"], peer["probe"]
        print(
            f"peer: polls every {peer['poll_interval_s']} s; a fired job is a process + a kernel "
            f"at once: {show(probe['per_job_peak_mb'], '{:.0f}')} MB peak RSS, "
            f"~{cap['per_job_peak_mb']:.0f} MB of it its own (PSS), each (probe of "
            f"{probe['schedules']}); up to {main['most_job_processes_at_once']} job processes at "
            f"once, their peak RSS {main['job_tree_peak_rss_mb'] / 1024:.1f} GB; jobs at the end "
            f"{main['statuses_at_end']} (STOPPED: not started yet); "
            f"{main['processes_killed']} processes killed after --peer-drain"
        )
        if "why" in cap:
            print(f"peer: not {cap['requested']:,}: {cap['why']}")
        if not main["created_all"]:
            print(f"peer: only {main['jobs']:,} of {main['schedules']:,} jobs were created")
    return {"ratios_ours_over_peer": ratios, "goals_met": met}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=1000, help="our schedules")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of the idle window")
    parser.add_argument(
        "--drain", type=float, default=300.0, help="at most this long after the due time for "
        "our jobs to start",
    )  # fmt: skip
    parser.add_argument(
        "--burst-timeout", type=float, default=120.0, help="bound on our firing burst"
    )
    parser.add_argument("--peer-schedules", type=int, default=1000)
    parser.add_argument("--peer-probe", type=int, default=50, help="definitions of the probe")
    parser.add_argument(
        "--peer-memory", type=float, default=0.5,
        help="share of the available memory the peer's fired jobs may use",
    )  # fmt: skip
    parser.add_argument(
        "--peer-timeout", type=float, default=300.0, help="bound on the peer's creation burst"
    )
    parser.add_argument(
        "--peer-drain", type=float, default=60.0,
        help="seconds the peer's jobs run after the burst before they are killed",
    )  # fmt: skip
    parser.add_argument("--no-peer", action="store_true", help="skip jupyter-scheduler")
    parser.add_argument("--peer-python", help="an interpreter with jupyter-scheduler, ipykernel")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    args.schedules = min(max(args.schedules, 1), 20_000)
    args.idle = min(max(args.idle, 5.0), 300.0)
    args.drain = min(max(args.drain, 1.0), 1800.0)
    args.peer_memory = min(max(args.peer_memory, 0.05), 0.8)
    args.peer_schedules = min(max(args.peer_schedules, 1), 20_000)
    args.peer_probe = min(max(args.peer_probe, 1), 1000)
    args.peer_drain = min(max(args.peer_drain, 1.0), 1800.0)
    args.peer_timeout = min(max(args.peer_timeout, 10.0), 1800.0)
    args.burst_timeout = min(max(args.burst_timeout, 10.0), 1800.0)

    def on_sigterm(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGHUP, on_sigterm)
    become_subreaper()
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="dataops-bench-schedules-"))
    results: dict[str, Any] = {"cores": os.cpu_count(), "schedules": args.schedules}
    results["args"] = vars(args)
    try:
        ours = run_ours(work / "ours", args)
        results["dataops"] = ours
        peer: dict[str, Any] | None = None
        if args.no_peer:
            results["peer"] = "skipped (--no-peer)"
        else:
            try:
                peer = run_peer(work / "peer", args)
                results["peer"] = peer
            except Exception as exc:  # say why, never a made-up figure
                results["peer"] = f"could not run: {exc}"
                print(f"\nTHE PEER COULD NOT BE RUN: {exc}")
        results.update(report(ours, peer, args))
    except KeyboardInterrupt:
        results["interrupted"] = True
        print("\ninterrupted; stopping what the benchmark started ...", file=sys.stderr)
        return 130
    finally:
        left = end_descendants()
        if left:
            print(f"killed {len(left)} leftover processes:", *left, sep="\n  ", file=sys.stderr)
        results["seconds"] = round(time.monotonic() - started, 1)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2, default=str))
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n(the benchmark took {results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
