"""Schedules in the core: definitions checked like jobs, versions, and firing exactly once per due
time (a lease, a unique key per due time), with the misfire and concurrency policies, missed
times recorded with their reason, and notifications of ended runs. A clock the tests move stands
in for time; the store, the notebooks and the staging are real."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from traitlets.config import Config

from jupyter_dataops.core.config import DataOps
from jupyter_dataops.core.errors import Conflict, InvalidInput, NotFound
from jupyter_dataops.core.jobs.executor import Executor
from jupyter_dataops.core.jobs.models import JobCreate, JobQuery, JobStatus
from jupyter_dataops.core.jobs.service import JobService
from jupyter_dataops.core.schedules.firing import ScheduleFirer
from jupyter_dataops.core.schedules.models import (
    FiringOutcome,
    Notify,
    ScheduleCreate,
    ScheduleRunNow,
    ScheduleStatus,
    ScheduleUpdate,
)
from jupyter_dataops.core.schedules.service import ScheduleService
from jupyter_dataops.services import Services
from jupyter_dataops.store.orm import ScheduleVersionRow

from .notebooks import write_notebook
from .schedule_helpers import cluster_config
from .test_executor import _ParkedDispatcher

UTC = dt.UTC
#: 2030-01-07 06:00 UTC, a Monday: the tests' "now".
T0 = dt.datetime(2030, 1, 7, 6, 0, tzinfo=UTC).timestamp()


class Clock:
    """Time that moves when the test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


class Notes:
    """A notifier that records what it was asked to send (and can be told to fail)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.fail = False

    def send(self, channel: str, target: str, payload: dict[str, Any]) -> None:
        from jupyter_dataops.core.schedules.notify import NotificationError

        if self.fail:
            raise NotificationError("the webhook answered HTTP 503")
        self.sent.append((channel, target, payload))


@dataclasses.dataclass
class World:
    services: Services
    clock: Clock
    root: Path

    @property
    def schedules(self) -> ScheduleService:
        return self.services.schedules

    @property
    def jobs(self) -> JobService:
        return self.services.jobs

    def firer(self, holder: str = "a", notifier: Any = None) -> ScheduleFirer:
        return ScheduleFirer(self.services.ctx, self.jobs, holder=holder, notifier=notifier)

    def create(self, **fields: Any) -> Any:
        fields.setdefault("notebook_path", "train.ipynb")
        fields.setdefault("cron", "0 * * * *")
        return self.schedules.create(ScheduleCreate(**fields), actor="alice")

    def runs(self, schedule_id: str) -> list[Any]:
        page = self.jobs.list(JobQuery(schedule_id=schedule_id, limit=1000, order="asc"))
        return page.items

    def serve(self, on: Iterable[Executor]) -> None:
        """Jobs on these executors (the first the default), with this world's clock and no
        worker; schedules and sandboxes through them."""
        services = self.services
        executors = list(on)
        ctx = dataclasses.replace(services.ctx, clock=self.clock)
        jobs = JobService(
            ctx,
            executor=executors[0],
            dispatcher=_ParkedDispatcher(),
            kernels=services.jobs._kernels,
            others=executors[1:],
        )
        jobs.sandboxes = services.jobs.sandboxes
        services.ctx, services.jobs = ctx, jobs
        services.schedules = ScheduleService(ctx, jobs=jobs, backend=services.schedules.backend)

    def end_run(self, job_id: str, status: JobStatus, **fields: Any) -> None:
        """Play the worker: move a queued run to running, then to its end."""
        with self.services.ctx.store.unit_of_work() as uow:
            uow.jobs.update(job_id, from_status=[JobStatus.QUEUED], status=JobStatus.RUNNING,
                            started_at=self.clock.now)  # fmt: skip
            uow.jobs.update(
                job_id,
                from_status=[JobStatus.RUNNING],
                status=status,
                finished_at=self.clock.now,
                **fields,
            )
            uow.commit()


def make_world(tmp_path: Path, **sections: dict[str, Any]) -> World:
    """Services on a store in ``tmp_path`` whose jobs stay queued (no worker), with a clock the
    test moves; ``sections`` add to the configuration (``DataOps={...}``)."""
    root = tmp_path / "root"
    write_notebook(root / "train.ipynb", ["print(alpha)"], parameters="alpha = 0.5")
    clock = Clock(T0 - 30 * 60)  # 05:30
    settings: dict[str, dict[str, Any]] = {
        "DataOps": {"min_schedule_interval": 0, "max_queued_jobs": 1000}
    }
    for name, values in sections.items():
        settings.setdefault(name, {}).update(values)
    dataops = DataOps(config=Config(settings), root_dir=str(root), data_dir=str(tmp_path / "data"))
    services = Services.from_config(dataops, actor="alice")
    world = World(services, clock, root)
    world.serve(services.jobs.executors.values())
    return world


@pytest.fixture
def world(tmp_path) -> World:
    made = make_world(tmp_path)
    yield made
    made.services.close()


# -- definitions ----------------------------------------------------------------------------------
def test_a_schedule_is_checked_like_a_job_and_versioned(world):
    made = world.create(cron="0 6 * * *", timezone="Europe/Berlin", parameters={"alpha": "2"})
    assert made.version == 1 and made.status is ScheduleStatus.ACTIVE
    assert made.parameters == {"alpha": 2.0}  # typed as the notebook's parameters cell says
    assert made.description == "At 06:00 (Europe/Berlin)" or "06:00" in made.description
    assert made.next_run_at == made.next_runs[0] and len(made.next_runs) == 5
    assert made.owner == "alice"

    changed = world.schedules.update(made.id, ScheduleUpdate(cron="30 7 * * *"), actor="bob")
    assert changed.version == 2 and changed.cron == "30 7 * * *"
    assert changed.parameters == {"alpha": 2.0}  # what was not given is kept
    with world.services.ctx.store.unit_of_work(read_only=True) as uow:
        actions = [(e.action, e.actor) for e in uow.audit.events(made.id)]
    assert actions == [("schedule.create", "alice"), ("schedule.update", "bob")]


@pytest.mark.parametrize(
    ("fields", "error", "text"),
    [
        ({"cron": "0 25 * * *"}, InvalidInput, "hour field"),
        ({"cron": "* * * *"}, InvalidInput, "exactly 5"),
        ({"timezone": "Mars/Olympus"}, InvalidInput, "time zone"),
        ({"notebook_path": "nope.ipynb"}, NotFound, "does not exist"),
        ({"notebook_path": "../x.ipynb"}, Exception, "outside the root"),
        ({"parameters": {"alpha": "fast"}}, InvalidInput, "expects float"),
        ({"parameters": {"import": 1}}, InvalidInput, "keyword"),
        ({"kernel_name": "no-such-kernel"}, InvalidInput, "Unknown kernel"),
        ({"executor": "slurm"}, InvalidInput, "Unknown executor 'slurm'; jobs here run on: local."),
        ({"notify": Notify(webhook_url="ftp://example.com/x")}, InvalidInput, "http"),
        ({"notify": Notify(email_to=["Ops <ops@example.com>"])}, InvalidInput, "address"),
    ],
)
def test_bad_definitions_are_refused_and_store_nothing(world, fields, error, text):
    with pytest.raises(error) as refused:
        world.create(**fields)
    assert text in str(refused.value)
    assert world.schedules.list().total == 0
    assert not (world.root / "dataops-jobs").exists()


def test_a_schedule_more_frequent_than_the_operator_allows_is_refused(world):
    world.services.ctx.config.min_schedule_interval = 3600.0
    with pytest.raises(InvalidInput, match="min_schedule_interval"):
        world.create(cron="*/5 * * * *")
    assert world.create(cron="0 */2 * * *").cron == "0 */2 * * *"


# -- firing -----------------------------------------------------------------------------------------
def test_each_due_time_fires_once(world):
    made = world.create(cron="0 * * * *", parameters={"alpha": 3})
    firer = world.firer()
    assert firer.tick() > 0 and world.runs(made.id) == []  # 05:30: nothing due yet

    world.clock.now = T0 + 5  # 06:00:05
    firer.tick()
    firer.tick()  # a second look finds nothing new
    runs = world.runs(made.id)
    assert len(runs) == 1
    run = world.jobs.get(runs[0].id)
    assert (run.schedule_id, run.schedule_version, run.due_at) == (made.id, 1, T0)
    assert run.parameters == {"alpha": 3.0} and run.owner == "alice"
    firings = world.schedules.firings(made.id)
    assert [(f.due_at, f.outcome, f.job_id) for f in firings] == [
        (T0, FiringOutcome.QUEUED, run.id)
    ]
    assert world.schedules.get(made.id).next_run_at == T0 + 3600


def test_a_second_scheduler_waits_for_the_lease_and_takes_it_over_when_it_expires(world):
    made = world.create(cron="0 * * * *", concurrency_policy="allow")
    first, second = world.firer("a"), world.firer("b")
    world.clock.now = T0 - 1
    assert first.holds_lease() and not second.holds_lease()
    world.clock.now = T0 + 1
    second.tick()  # not the holder (its lease runs until T0 + 29): fires nothing
    assert world.runs(made.id) == []
    first.tick()
    assert len(world.runs(made.id)) == 1
    # The holder dies: once its lease has expired, the other one fires.
    world.clock.now = T0 + 3600 + first.lease_seconds + 1
    second.tick()
    assert len(world.runs(made.id)) == 2


def test_two_schedulers_that_both_think_they_hold_the_lease_still_fire_once(world):
    """The unique (schedule, due time) key in the transaction that queues the job is the last
    guard: a stale holder that fires a slot already fired records and queues nothing."""
    made = world.create(cron="0 * * * *")
    first, second = world.firer("a"), world.firer("b")
    world.clock.now = T0 + 1
    first.tick()
    row = world.schedules.record(made.id)
    stale = dataclasses.replace(_as_record(row), last_due_at=T0 - 1800, next_due_at=T0)
    second.fire(stale, world.clock.now)  # as if it had read the row before the first fired
    assert len(world.runs(made.id)) == 1
    assert len(world.schedules.firings(made.id)) == 1
    assert not list((world.root / "dataops-jobs").glob("train-*/input.ipynb"))[1:]


def test_missed_times_run_once_for_all_by_default(world):
    """The scheduler was down for 5 hours: one run (for the latest due time), the others
    recorded as skipped, saying why."""
    made = world.create(cron="0 * * * *")
    world.clock.now = T0 + 4 * 3600 + 60  # 10:01
    world.firer().tick()
    runs = world.runs(made.id)
    assert len(runs) == 1 and world.jobs.get(runs[0].id).due_at == T0 + 4 * 3600
    firings = sorted(world.schedules.firings(made.id), key=lambda f: f.due_at)
    assert [f.outcome for f in firings] == [FiringOutcome.SKIPPED] * 4 + [FiringOutcome.QUEUED]
    assert "run once" in firings[0].reason
    assert world.schedules.get(made.id).next_run_at == T0 + 5 * 3600


def test_misfire_skip_skips_what_is_later_than_the_grace(world):
    made = world.create(cron="0 * * * *", misfire_policy="skip", misfire_grace_seconds=600)
    world.clock.now = T0 + 3600 + 300  # 07:05: 06:00 is 65 min late, 07:00 within the grace
    world.firer().tick()
    firings = {f.due_at: f for f in world.schedules.firings(made.id)}
    assert firings[T0].outcome is FiringOutcome.SKIPPED and "grace" in firings[T0].reason
    assert firings[T0 + 3600].outcome is FiringOutcome.QUEUED

    world.clock.now = T0 + 2 * 3600 + 900  # 08:15: 08:00 is 15 min late, beyond the grace
    world.firer().tick()
    late = {f.due_at: f for f in world.schedules.firings(made.id)}[T0 + 2 * 3600]
    assert late.outcome is FiringOutcome.SKIPPED
    assert len(world.runs(made.id)) == 1


@pytest.mark.parametrize("policy", ["forbid", "replace", "allow"])
def test_an_overlap_follows_the_concurrency_policy(world, policy):
    made = world.create(cron="0 * * * *", concurrency_policy=policy)
    firer = world.firer()
    world.clock.now = T0 + 1
    firer.tick()
    first = world.runs(made.id)[0]
    world.clock.now = T0 + 3600 + 1  # the next due time; the first run has not run yet
    firer.tick()
    runs = {r.id: r for r in world.runs(made.id)}
    latest = {f.due_at: f for f in world.schedules.firings(made.id)}[T0 + 3600]
    if policy == "forbid":
        assert list(runs) == [first.id]
        assert latest.outcome is FiringOutcome.SKIPPED and first.id in latest.reason
    elif policy == "replace":
        assert len(runs) == 2 and runs[first.id].status is JobStatus.CANCELLED
        assert latest.outcome is FiringOutcome.QUEUED
    else:
        assert len(runs) == 2 and runs[first.id].status is JobStatus.QUEUED


def test_a_time_that_cannot_be_queued_is_recorded_as_missed_with_the_reason(world):
    made = world.create(cron="0 * * * *")
    (world.root / "train.ipynb").unlink()  # the notebook is gone at firing time
    world.clock.now = T0 + 1
    world.firer().tick()
    (firing,) = world.schedules.firings(made.id)
    assert firing.outcome is FiringOutcome.MISSED and "does not exist" in firing.reason
    assert world.runs(made.id) == []

    write_notebook(world.root / "train.ipynb", ["1"], parameters="alpha = 0.5")
    world.services.ctx.config.max_queued_jobs = 0  # the queue is full
    world.clock.now = T0 + 3600 + 1
    world.firer().tick()
    full = {f.due_at: f for f in world.schedules.firings(made.id)}[T0 + 3600]
    assert full.outcome is FiringOutcome.MISSED and "queue is full" in full.reason
    assert world.runs(made.id) == []
    assert not list((world.root / "dataops-jobs").glob("*"))  # nothing staged is left


def test_a_burst_of_schedules_due_together_fires_each_once_within_the_queue_bound(world):
    """Schedules due at the same time are fired in batches (one transaction for many): each
    due time once, each run with its own schedule, version, parameters and due time; those
    over the queue's bound are recorded as missed, with nothing of them left staged."""
    write_notebook(world.root / "other.ipynb", ["print('other', alpha)"], parameters="alpha = 1")
    made = [
        world.create(
            cron="0 * * * *",
            parameters={"alpha": i},
            notebook_path="other.ipynb" if i % 2 else "train.ipynb",
        )
        for i in range(25)
    ]
    world.services.ctx.config.max_queued_jobs = 20
    firer = world.firer()
    firer.batch = 10  # three batches, the last over the bound
    world.clock.now = T0 + 1
    firer.tick()
    firer.tick()  # a second look fires nothing more
    outcomes: dict[str, list[Any]] = {}
    for schedule in made:
        firings = world.schedules.firings(schedule.id)
        assert len(firings) == 1 and firings[0].due_at == T0, firings
        outcomes.setdefault(firings[0].outcome.value, []).append((schedule, firings[0]))
    assert len(outcomes["queued"]) == 20 and len(outcomes["missed"]) == 5
    assert all("queue is full" in f.reason for _, f in outcomes["missed"])
    assert firer.fired == 20
    for schedule, firing in outcomes["queued"]:
        (run,) = world.runs(schedule.id)
        job = world.jobs.get(run.id)
        assert (job.id, job.schedule_id, job.schedule_version) == (firing.job_id, schedule.id, 1)
        assert (job.due_at, job.parameters) == (T0, {"alpha": float(schedule.parameters["alpha"])})
        staged = world.jobs.files(world.jobs.record(job.id)).read_bytes(
            f"{world.jobs.record(job.id).files_key}/input.ipynb"
        )
        assert (b"other" in staged) == (job.notebook_path == "other.ipynb")
    for schedule, _ in outcomes["missed"]:
        assert world.runs(schedule.id) == []
        assert world.schedules.get(schedule.id).next_run_at == T0 + 3600
    staged_dirs = list((world.root / "dataops-jobs").iterdir())
    assert len(staged_dirs) == 20  # the missed ones' staged files are gone


def test_a_notebook_changed_during_a_burst_is_staged_as_it_is_then(world):
    """A burst reads each notebook once, keyed by its file's change time and size: a notebook
    written in between is read again."""
    first = world.create(cron="0 * * * *")
    second = world.create(cron="0 * * * *")
    firer = world.firer()
    prepare = world.jobs.prepare

    def prepare_then_edit(**kwargs: Any) -> Any:
        prepared = prepare(**kwargs)
        write_notebook(world.root / "train.ipynb", ["print('edited!')"], parameters="alpha = 2")
        return prepared

    world.jobs.prepare = prepare_then_edit  # type: ignore[method-assign]
    world.clock.now = T0 + 1
    firer.tick()
    staged = []
    for schedule in (first, second):
        (run,) = world.runs(schedule.id)
        record = world.jobs.record(run.id)
        staged.append(world.jobs.files(record).read_bytes(f"{record.files_key}/input.ipynb"))
    assert [b"edited!" in s for s in staged].count(True) == 1, staged


def test_the_clock_going_back_never_fires_a_time_twice(world):
    made = world.create(cron="0 * * * *", concurrency_policy="allow")
    firer = world.firer()
    world.clock.now = T0 + 1
    firer.tick()
    world.clock.now = T0 - 3600  # NTP steps the clock back an hour
    firer.tick()
    world.clock.now = T0 + 2
    firer.tick()
    assert len(world.runs(made.id)) == 1
    world.clock.now = T0 + 3600 + 1
    firer.tick()
    assert len(world.runs(made.id)) == 2


def test_a_run_records_the_version_that_fired_it_and_runs_the_notebook_as_it_is_then(world):
    made = world.create(cron="0 * * * *", parameters={"alpha": 1}, concurrency_policy="allow")
    firer = world.firer()
    world.clock.now = T0 + 1
    firer.tick()
    world.schedules.update(made.id, ScheduleUpdate(parameters={"alpha": 9}))
    write_notebook(world.root / "train.ipynb", ["print('edited', alpha)"], parameters="alpha = 0.5")
    world.clock.now = T0 + 3600 + 1
    firer.tick()
    first, second = (world.jobs.get(r.id) for r in world.runs(made.id))
    assert (first.schedule_version, first.parameters) == (1, {"alpha": 1.0})
    assert (second.schedule_version, second.parameters) == (2, {"alpha": 9.0})
    staged = world.jobs.files(world.jobs.record(second.id)).read_bytes(
        f"{world.jobs.record(second.id).files_key}/input.ipynb"
    )
    assert b"edited" in staged


def test_pause_resume_and_the_times_in_between(world):
    made = world.create(cron="0 * * * *")
    world.schedules.pause(made.id)
    with pytest.raises(Conflict):
        world.schedules.pause(made.id)
    assert world.schedules.get(made.id).next_run_at is None
    world.clock.now = T0 + 2 * 3600 + 1
    world.firer().tick()
    assert world.runs(made.id) == []
    resumed = world.schedules.resume(made.id)
    assert resumed.next_run_at == T0 + 3 * 3600  # from now on: paused times do not run
    world.firer().tick()
    assert world.runs(made.id) == [] and world.schedules.firings(made.id) == []


def test_run_now_and_delete_with_or_without_the_runs(world):
    made = world.create(cron="0 * * * *", parameters={"alpha": 1})
    now_run = world.schedules.run_now(made.id, ScheduleRunNow(parameters={"alpha": 4}))
    assert (now_run.schedule_id, now_run.due_at, now_run.parameters) == (
        made.id,
        None,
        {"alpha": 4.0},
    )
    world.end_run(now_run.id, JobStatus.COMPLETED)
    world.schedules.delete(made.id)
    assert world.jobs.get(now_run.id).status is JobStatus.COMPLETED  # runs are kept
    with pytest.raises(NotFound):
        world.schedules.get(made.id)

    other = world.create(cron="0 * * * *")
    run = world.schedules.run_now(other.id, ScheduleRunNow())
    world.end_run(run.id, JobStatus.FAILED)
    world.schedules.delete(other.id, delete_runs=True)
    with pytest.raises(NotFound):
        world.jobs.get(run.id)


def test_a_list_shows_next_run_last_run_and_recent_outcomes(world):
    made = world.create(cron="0 * * * *", concurrency_policy="forbid")
    firer = world.firer()
    outcomes = [JobStatus.COMPLETED, JobStatus.FAILED]
    for hour, status in enumerate(outcomes):
        world.clock.now = T0 + hour * 3600 + 1
        firer.tick()
        world.end_run(world.runs(made.id)[-1].id, status)
    world.clock.now = T0 + 2 * 3600 + 1
    firer.tick()  # queued
    world.clock.now = T0 + 3 * 3600 + 1
    firer.tick()  # skipped: the previous one is still queued
    (item,) = world.schedules.list().items
    assert item.recent == ["completed", "failed", "queued", "skipped"]
    assert item.last_run.status is JobStatus.QUEUED
    assert item.next_run_at == T0 + 4 * 3600


# -- the executor its runs go to ------------------------------------------------------------------
@pytest.fixture
def cluster_world(tmp_path) -> World:
    """Jobs here by default, and on the cluster when asked; nothing here talks to the cluster
    (jobs stay queued: no worker runs them)."""
    made = make_world(tmp_path, **cluster_config(tmp_path / "files"))
    assert list(made.jobs.executors) == ["local", "kubernetes"]
    yield made
    made.services.close()


def stored_executor(world: World, schedule_id: str) -> Any:
    with world.services.ctx.store.unit_of_work(read_only=True) as uow:
        return uow.schedules.get(schedule_id).executor


def test_a_schedule_on_the_cluster_fires_its_runs_there(cluster_world):
    world = cluster_world
    there = world.create(cron="0 * * * *", executor="kubernetes")
    here = world.create(cron="0 * * * *")
    assert (there.executor, here.executor) == ("kubernetes", None)
    assert stored_executor(world, there.id) == "kubernetes"
    assert world.schedules.record(there.id).definition["executor"] == "kubernetes"

    world.clock.now = T0 + 1
    world.firer().tick()
    (run,) = world.runs(there.id)
    assert world.jobs.record(run.id).executor == "kubernetes"  # the job the firing stored
    assert (run.schedule_id, run.due_at) == (there.id, T0)
    (local,) = world.runs(here.id)
    assert world.jobs.record(local.id).executor == "local"
    # Run now goes there too.
    now = world.schedules.run_now(there.id, ScheduleRunNow())
    assert world.jobs.record(now.id).executor == "kubernetes" and now.due_at is None


def test_an_edit_sets_keeps_or_clears_the_executor(cluster_world):
    world = cluster_world
    made = world.create(cron="0 * * * *")
    moved = world.schedules.update(made.id, ScheduleUpdate(executor="kubernetes"))
    assert (moved.version, moved.executor) == (2, "kubernetes")
    renamed = world.schedules.update(made.id, ScheduleUpdate(name="nightly"))
    assert (renamed.version, renamed.executor) == (3, "kubernetes")  # not given: kept
    with pytest.raises(InvalidInput, match="jobs here run on: local, kubernetes"):
        world.schedules.update(made.id, ScheduleUpdate(executor="slurm"))
    assert world.schedules.get(made.id).version == 3
    back = world.schedules.update(made.id, ScheduleUpdate(executor=None))  # null clears it
    assert (back.version, back.executor) == (4, None)
    assert stored_executor(world, made.id) is None
    world.clock.now = T0 + 1
    world.firer().tick()
    (run,) = world.runs(made.id)
    assert world.jobs.record(run.id).executor == "local"
    # Each version records where its runs went.
    versions = ScheduleVersionRow.__table__
    with world.services.ctx.store.unit_of_work(read_only=True) as uow:
        rows = uow.execute(
            select(versions.c.version, versions.c.definition).where(
                versions.c.schedule_id == made.id
            )
        ).all()
    executors = {version: definition.get("executor") for version, definition in rows}
    assert executors == {1: None, 2: "kubernetes", 3: "kubernetes", 4: None}


def test_what_the_executor_cannot_run_is_refused_when_the_schedule_is_saved(cluster_world):
    """Checked as a job of it would be: a sandbox is started by this server, which a cluster's
    job cannot use; a profile the policy refuses, or a kernel its image lacks, is refused by
    the executor's checks."""
    world = cluster_world
    target = {"sandbox": "0123456789ab"}
    with pytest.raises(InvalidInput, match="Jobs on kubernetes run with the kernels") as info:
        world.create(executor="kubernetes", **target)
    # A job of it is refused alike.
    with pytest.raises(InvalidInput) as job_refused:
        world.jobs.create(
            JobCreate(notebook_path="train.ipynb", executor="kubernetes", **target),
            actor="alice",
        )
    assert job_refused.value.message == info.value.message
    # A profile unknown there is refused when saved, naming those there are.
    with pytest.raises(NotFound, match="No sandbox profile named 'gpu'"):
        world.create(executor="kubernetes", profile="gpu")
    assert world.schedules.list().total == 0 and world.jobs.list().total == 0
    assert world.services.sandboxes.list().items == []
    world.jobs.executors["kubernetes"].settings.job_kernels = ["ir"]
    with pytest.raises(InvalidInput, match=r"c\.Kubernetes\.job_kernels"):
        world.create(executor="kubernetes")
    assert world.schedules.list().total == 0


def test_a_schedule_with_a_profile_on_the_cluster_sizes_its_runs_by_it(cluster_world):
    """On the cluster a profile sizes each run's pod (no sandbox starts): a firing and a run
    now both stage the profile with the job; moving a schedule of a profile to the cluster
    keeps the profile."""
    world = cluster_world
    sized = world.create(cron="0 * * * *", executor="kubernetes", profile="cpu")
    assert (sized.executor, sized.profile) == ("kubernetes", "cpu")
    world.clock.now = T0 + 1
    world.firer().tick()
    (run,) = world.runs(sized.id)
    assert world.jobs.record(run.id).executor == "kubernetes"
    profile = world.jobs.profile_of(run.id)
    assert profile is not None and profile.name == "cpu"
    assert (profile.resources.cpus, profile.resources.memory_bytes) == (1.0, 1 << 30)
    now = world.schedules.run_now(sized.id, ScheduleRunNow())
    assert world.jobs.profile_of(now.id).name == "cpu"
    assert world.services.sandboxes.list().items == []  # no sandbox started for them
    # Here a profile means a sandbox; moved to the cluster, it sizes the runs there.
    here = world.create(profile="cpu")
    moved = world.schedules.update(here.id, ScheduleUpdate(executor="kubernetes"))
    assert (moved.executor, moved.profile) == ("kubernetes", "cpu")


def test_runs_of_an_executor_the_server_no_longer_has_are_missed_with_why(cluster_world):
    world = cluster_world
    made = world.create(cron="0 * * * *", executor="kubernetes")
    world.serve([world.jobs.executor])  # the operator took "kubernetes" out of job_executors
    world.clock.now = T0 + 1
    world.firer().tick()
    (firing,) = world.schedules.firings(made.id)
    assert (firing.outcome, firing.job_id) == (FiringOutcome.MISSED, None)
    assert firing.reason.startswith("Unknown executor 'kubernetes'; jobs here run on: local.")
    assert world.runs(made.id) == []
    assert world.schedules.get(made.id).executor == "kubernetes"  # kept: it may come back
    with pytest.raises(InvalidInput, match="Unknown executor 'kubernetes'"):
        world.schedules.run_now(made.id, ScheduleRunNow())
    assert world.runs(made.id) == []


# -- notifications ------------------------------------------------------------------------------------
def test_ended_runs_are_notified_once_and_retried_when_delivery_fails(world):
    notes = Notes()
    made = world.create(
        cron="0 * * * *",
        notify=Notify(
            webhook_url="https://hooks.example.com/T/B/secret", email_to=["ops@example.com"]
        ),
    )
    firer = world.firer(notifier=notes)
    firer.tick()  # the first scheduler of this store starts notifying from now on
    world.clock.now = T0 + 1
    firer.tick()
    run = world.runs(made.id)[0]
    world.end_run(run.id, JobStatus.FAILED, error={"ename": "ValueError", "evalue": "boom"})
    notes.fail = True
    firer.tick()
    assert firer.deliver() == 0 and notes.sent == []  # failed: kept for a retry, run untouched
    assert world.jobs.get(run.id).status is JobStatus.FAILED
    world.clock.now += 31  # the first retry is 30 s later
    notes.fail = False
    assert firer.deliver() == 2
    channels = sorted((c, t) for c, t, _ in notes.sent)
    assert channels == [
        ("email", "ops@example.com"),
        ("webhook", "https://hooks.example.com/T/B/secret"),
    ]
    text = notes.sent[0][2]["text"]
    assert "failed" in text and "ValueError: boom" in text
    firer.tick()
    assert firer.deliver() == 0 and len(notes.sent) == 2  # once

    # Successes are notified only when asked.
    world.clock.now = T0 + 3600 + 1
    firer.tick()
    world.end_run(world.runs(made.id)[-1].id, JobStatus.COMPLETED)
    firer.tick()
    assert firer.deliver() == 0


def test_a_shown_schedule_never_gives_back_its_webhook_secret(world):
    made = world.create(notify=Notify(webhook_url="https://hooks.slack.com/services/T0/B0/s3cret"))
    shown = world.schedules.get(made.id)
    assert "s3cret" not in shown.notify.webhook_url
    assert "s3cret" not in world.schedules.list().model_dump_json()
    # Editing something else keeps the real URL (what fires uses it).
    world.schedules.update(made.id, ScheduleUpdate(cron="0 5 * * *"))
    assert "s3cret" in world.schedules.record(made.id).definition["notify"]["webhook_url"]


def _as_record(row: Any) -> Any:
    """A stored schedule as a plain object that dataclasses.replace can copy."""

    @dataclasses.dataclass
    class Record:
        id: str
        name: str
        notebook_path: str
        root_dir: str
        version: int
        definition: dict[str, Any]
        cron: str
        timezone: str
        executor: str | None
        status: str
        next_due_at: float | None
        last_due_at: float | None
        owner: str | None
        created_at: float
        updated_at: float

    return Record(**{f.name: getattr(row, f.name) for f in dataclasses.fields(Record)})
