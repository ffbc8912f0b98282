"""Exactly once per slot, with real processes: two schedulers on one store, ``kill -9`` of a
scheduler in the middle of firing then a stand-by taking over, and a Jupyter server stopped across
a due time (only ``dataops scheduler`` runs then). Real worker processes, kernels and papermill; no
mocks. Due times are made to come by moving them back in the store (see tests/schedule_helpers.py);
every wait is bounded and nothing asserts on timing."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

from sqlalchemy import text

from jupyter_dataops.core.schedules.models import ScheduleCreate
from jupyter_dataops.store import Database

from .notebooks import output_text
from .schedule_helpers import (
    TERMINAL,
    WAIT,
    ServerProcess,
    alive,
    assert_each_due_time_once,
    children,
    firings,
    hourly_times,
    lease_holder,
    make_due,
    past_slot,
    sched_env,
    schedule_rows,
    scheduled_jobs,
    wait_for,
)

#: A kernel that finds its port taken: two processes starting kernels pick ports by binding to
#: port 0 and letting go (jupyter_client's known race, jupyter/jupyter_client#487). The kernel
#: exits; the worker starts another (a pre-started one is replaced; a job's is retried once).
PORT_RACE = "zmq.error.ZMQError: Address already in use"


def unexpected_tracebacks(log: str) -> list[str]:
    """The tracebacks in a worker's log, each as the line that ends it, but the port race."""
    found = []
    lines = log.splitlines()
    for at, line in enumerate(lines):
        if line.strip().startswith("Traceback (most recent call last)"):
            end = next((ln for ln in lines[at + 1 :] if ln and not ln.startswith((" ", "\t"))), "")
            if not end.startswith(PORT_RACE):
                found.append(end or line)
    return found


def create_schedules(env, count: int, cron: str) -> list[str]:
    """``count`` schedules of ok.ipynb on ``cron`` (in-process, as the CLI makes them)."""
    return [
        env.services.schedules.create(
            ScheduleCreate(notebook_path="ok.ipynb", cron=cron, parameters={"alpha": i}),
            actor="tester",
        ).id
        for i in range(count)
    ]


def wait_for_job_end(env, job_id: str) -> dict:
    def ended() -> dict | None:
        job = env.json("jobs", "show", job_id)
        return job if job["status"] in TERMINAL else None

    return wait_for(f"job {job_id} ending", ended, interval=0.3)  # type: ignore[no-any-return]


def all_handled(store: Database, ids: list[str], due: float) -> bool:
    rows = schedule_rows(store)
    return all((rows[i]["last_due_at"] or 0.0) >= due for i in ids)


class LeaseThief(threading.Thread):
    """Expires the scheduler's lease in the store over and over, as if its holder had stalled
    past it: the other scheduler takes it over while the first still believes it holds it (a
    holder renews its lease only when a third of it is left). Both then fire at once; only the
    (schedule, due time) key and the check under the write lock keep each slot fired once."""

    def __init__(self, url: str) -> None:
        super().__init__(name="lease-thief", daemon=True)
        self.store = Database(url)
        self.holders: set[str] = set()
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.wait(0.1):
                with self.store.unit_of_work() as uow:
                    row = uow.execute(text("SELECT holder FROM leases WHERE name = 'scheduler'"))
                    holder = row.scalar()
                    if holder:
                        self.holders.add(holder)
                    uow.execute(text("UPDATE leases SET expires_at = 0 WHERE name = 'scheduler'"))
                    uow.commit()
        finally:
            self.store.close()

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=30)


def test_two_schedulers_on_one_store_fire_each_due_time_exactly_once(tmp_path: Path):
    """Two data dirs share one sqlite store: two `dataops scheduler` processes, each with its own
    worker lock, both run a firer. With the lease stolen back and forth (both believe they hold
    it), 20 schedules with 4 due times each (3 missed, then the latest) are fired: every due time
    has exactly one firing, the latest one job (run once), the others are skipped; no job twice,
    none lost, no staged notebook left behind by a scheduler that lost the race."""
    n = 20
    url = f"sqlite:///{tmp_path / 'store' / 'dataops.db'}"
    root = tmp_path / "root"
    with (
        sched_env(tmp_path / "a", root=root, store_url=url) as a,
        sched_env(tmp_path / "b", root=root, store_url=url) as b,
    ):
        pa, pb = a.start_scheduler(), b.start_scheduler()
        workers = {a.wait_serving(pa), b.wait_serving(pb)}
        due, cron = past_slot()
        ids = create_schedules(a, n, cron)
        thief = LeaseThief(url)
        thief.start()
        try:
            wait_for("both schedulers holding the lease", lambda: workers <= thief.holders)
            make_due(a.store, ids, due, missed=3)
            a.poke(), b.poke()
            wait_for("every schedule fired", lambda: all_handled(a.store, ids, due))
        finally:
            thief.stop()
        assert pa.poll() is None and pb.poll() is None, (a.log(), b.log())

        assert_each_due_time_once(a.store, {i: hourly_times(due, 3) for i in ids})
        jobs = scheduled_jobs(a.store)
        assert len(jobs) == n
        assert sorted(json.loads(j["parameters"])["alpha"] for j in jobs) == list(range(n))
        # Both workers run the queue; every run completes.
        wait_for(
            "the scheduled runs ending",
            lambda: all(j["status"] in ("completed", "failed") for j in scheduled_jobs(a.store)),
        )
        assert {j["status"] for j in scheduled_jobs(a.store)} == {"completed"}
        # A scheduler that lost the race discarded what it had staged.
        folders = {p.name for p in (root / "dataops-jobs").iterdir()}
        assert folders == {f"ok-{j['id']}" for j in jobs}
        for log in (a.log(), b.log()):
            assert not unexpected_tracebacks(log), log


def test_kill_9_in_the_middle_of_firing_then_a_stand_by_takes_over(tmp_path: Path):
    """A `dataops scheduler` is killed with SIGKILL while it fires 200 due schedules, 5 to a
    transaction (once its first jobs appear); a second `dataops scheduler`, started before as a stand-by (it waits for
    the worker lock), takes over. The killed one's lease is not released: the stand-by (another
    holder, so it cannot renew it) fires only once it has expired (ScheduleFirer.lease_seconds,
    30 s) - the test waits that out rather than touch the lease, since that is the path a real
    crash takes. Then every due time has exactly one firing and one job; nothing was queued twice
    or lost; the killed scheduler's zygote and kernels exit by themselves."""
    n = 200
    # One job at a time: the runs compete less with the firing for the two cores. Small
    # batches (one transaction each), so the kill lands between and within them.
    config = {"LocalExecutor": {"max_concurrent_jobs": 1}, "Worker": {"schedule_batch": 5}}
    with sched_env(tmp_path, config=config) as env:
        first = env.start_scheduler("first")
        first_worker = env.wait_serving(first, "first")
        standby = env.start_scheduler("standby")
        wait_for("the stand-by waiting", lambda: "waiting to take over" in env.log("standby"))
        due, cron = past_slot()
        ids = create_schedules(env, n, cron)
        wait_for("the first scheduler holding the lease", lambda: lease_holder(env.store))
        assert lease_holder(env.store) == first_worker

        make_due(env.store, ids, due)
        env.poke()
        wait_for(
            "the first scheduled jobs",
            lambda: len(scheduled_jobs(env.store)) >= 10,
            interval=0.005,
        )
        family = children(first.pid)
        family += [kid for pid in family for kid in children(pid)]
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        fired_before = len(firings(env.store))
        print(f"{fired_before} of {n} due times fired before the kill")

        standby_worker = env.wait_serving(standby, "standby")
        wait_for(
            "the stand-by firing the rest",
            lambda: all_handled(env.store, ids, due),
            timeout=WAIT + 30,
        )
        assert lease_holder(env.store) == standby_worker
        assert standby.poll() is None, env.log("standby")
        assert_each_due_time_once(env.store, {i: [due] for i in ids})
        assert len(scheduled_jobs(env.store)) == n
        # The killed worker's children (its kernel zygote, kernels) see it gone and exit.
        wait_for("the killed scheduler's children exiting", lambda: not any(map(alive, family)))


def test_server_stopped_across_a_due_time_then_only_the_scheduler_runs(tmp_path: Path):
    """A schedule made through a running Jupyter server (REST); the server and its worker are
    stopped; time passes over three due times (moved back in the store); then only `dataops
    scheduler` is started, with no server: the missed due times are run once (one job, for the
    latest; the others recorded as skipped), the job runs the notebook with the schedule's
    parameters to completion and records the schedule, its version and the due time."""
    with sched_env(tmp_path) as env:
        server = ServerProcess(env, "--Worker.warm_start=False")
        due, cron = past_slot()
        status, created = server.request(
            "POST",
            "schedules",
            {"notebook_path": "ok.ipynb", "cron": cron, "parameters": {"alpha": 0.7}},
        )
        assert status == 201, created
        schedule_id = created["id"]
        assert server.stop() is not None
        stopped = env.json("worker", "stop")
        assert stopped["running"] is False
        assert env.json("worker", "status")["running"] is False

        make_due(env.store, [schedule_id], due, missed=2)
        scheduler = env.start_scheduler()
        wait_for("the due time fired", lambda: all_handled(env.store, [schedule_id], due))
        assert_each_due_time_once(env.store, {schedule_id: hourly_times(due, 2)})
        (job,) = scheduled_jobs(env.store)
        finished = wait_for_job_end(env, job["id"])
        assert finished["status"] == "completed", finished
        assert (finished["schedule_id"], finished["schedule_version"], finished["due_at"]) == (
            schedule_id,
            1,
            due,
        )
        assert finished["parameters"] == {"alpha": 0.7}
        assert "alpha is 0.7" in output_text(env.root / finished["output_path"])
        skipped = [f for f in env.json("schedules", "firings", schedule_id)["items"][1:]]
        assert [f["outcome"] for f in skipped] == ["skipped", "skipped"]
        assert all("misfire: run once" in f["reason"] for f in skipped), skipped
        assert scheduler.poll() is None, env.log()
        assert env.worker_state(scheduler.pid), "the scheduler is the worker of this data dir"
