"""The job commands: ``run``, ``jobs list|show|logs|cancel|delete|rerun`` and ``worker``."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any, get_args

from pydantic import ValidationError

from ..core.jobs.models import (
    Job,
    JobCreate,
    JobQuery,
    JobRerun,
    JobStatus,
    SortField,
)
from .base import Arg, CommandSpec, Group, Invocation, invalid_input_from
from .render import (
    format_job_details,
    format_job_table,
    format_worker_report,
    to_json,
)

JOB_ID = Arg("job_id", metavar="ID", help="job id, or a unique prefix of at least 4 characters")
PARAMETER = Arg(
    "-p",
    "--parameter",
    dest="parameters",
    action="append",
    nargs=2,
    metavar=("NAME", "VALUE"),
    default=[],
    help="set a parameter; VALUE is converted to the type of the parameter's default (repeatable)",
)
KERNEL_NAME = Arg("--kernel-name", dest="kernel_name", metavar="NAME", help="kernel to run with")
WAIT = Arg(
    "--wait",
    action="store_true",
    help="wait until the job ends, showing progress; exit 0 if it completed, 1 otherwise",
)

#: How often a waiting command looks at the job; the worker writes progress once per cell.
WAIT_INTERVAL_SECONDS = 0.1


def parameters_of(pairs: Sequence[Sequence[str]] | None) -> dict[str, str]:
    """``-p NAME VALUE`` pairs as a dict; a repeated name keeps its last value, as papermill does."""
    return {str(name): str(value) for name, value in (pairs or [])}


def _started(inv: Invocation, job: Job) -> tuple[Job, int]:
    """What ``run`` and ``jobs rerun`` do once the job is queued: say so, or wait for it."""
    for warning in job.warnings:
        inv.ui.err(f"warning: {warning}")
    if not inv.args.wait:
        if inv.as_json:
            inv.ui.out(to_json(job))
        else:
            inv.ui.show(job, job.id)
            inv.ui.follow(inv.client, job)
        return job, 0
    if not inv.as_json:
        inv.ui.show(job, job.id)
    view = inv.ui.progress(job)
    try:
        job = inv.client.wait_for_job(job.id, on_update=view.update, interval=WAIT_INTERVAL_SECONDS)
    finally:
        view.close()
    if inv.as_json:
        inv.ui.out(to_json(job))
    else:
        inv.ui.outcome(job)
    return job, 0 if job.status is JobStatus.COMPLETED else 1


def run(inv: Invocation) -> tuple[Any, int]:
    a = inv.args
    fields: dict[str, Any] = {
        "notebook_path": inv.ui.notebook_path(inv.client, a.notebook),
        "parameters": parameters_of(a.parameters),
        "kernel_name": a.kernel_name,
        "name": a.job_name,
        "timeout_seconds": a.timeout_seconds,
        "max_retries": a.max_retries,
        "tags": a.tags or [],
        "sandbox": a.sandbox,
        "profile": a.profile,
        "executor": a.executor,
    }
    try:
        request = JobCreate(**fields)
    except ValidationError as exc:
        raise invalid_input_from(exc, "job request") from None
    job, code = _started(inv, inv.client.create_job(request))
    if a.profile and a.wait:
        # Its sandbox ends with it (a server would stop it within seconds; a terminal has none).
        for sandbox in inv.client.list_sandboxes().items:
            if sandbox.job_id == job.id and sandbox.status.active:
                inv.client.stop_sandbox(sandbox.id)
    return job, code


def rerun(inv: Invocation) -> tuple[Any, int]:
    a = inv.args
    try:
        request = JobRerun(
            parameters=parameters_of(a.parameters) or None,
            kernel_name=a.kernel_name,
            use_current_notebook=a.current_notebook,
        )
    except ValidationError as exc:
        raise invalid_input_from(exc, "re-run request") from None
    return _started(inv, inv.client.rerun_job(a.job_id, request))


def list_jobs(inv: Invocation) -> tuple[Any, int]:
    a = inv.args
    try:
        query = JobQuery(
            status=[JobStatus(s) for s in a.status] if a.status else None,
            notebook=a.notebook,
            sort=a.sort,
            order=a.order,
            limit=a.limit,
            cursor=a.cursor,
        )
    except ValidationError as exc:
        raise invalid_input_from(exc, "job query") from None
    page = inv.client.list_jobs(query)
    if inv.as_json:
        inv.ui.out(to_json(page))
    else:
        inv.ui.show(page, format_job_table(page))
    return page, 0


def show(inv: Invocation) -> tuple[Any, int]:
    job = inv.client.get_job(inv.args.job_id)
    inv.ui.out(to_json(job) if inv.as_json else format_job_details(job))
    return job, 0


def logs(inv: Invocation) -> tuple[Any, int]:
    """Print a job's log; with --follow, keep printing until the job has ended."""
    offset = 0
    while True:
        chunk = inv.client.job_logs(inv.args.job_id, offset)
        if chunk.logs:
            inv.ui.out(chunk.logs.rstrip("\n"))
        offset = chunk.offset
        if chunk.complete or not inv.args.follow:
            return None, 0
        if not chunk.logs:
            time.sleep(0.5)


def cancel(inv: Invocation) -> tuple[Any, int]:
    job = inv.client.cancel_job(inv.args.job_id)
    if inv.as_json:
        inv.ui.out(to_json(job))
    elif job.status is JobStatus.CANCELLED:
        inv.ui.out(f"Cancelled job {job.id}.")
    else:
        inv.ui.out(f"Asked job {job.id} to stop; it is {job.status.value}.")
    return job, 0


def delete(inv: Invocation) -> tuple[Any, int]:
    job = inv.client.get_job(inv.args.job_id)  # resolve a prefix: the message names the full id
    inv.client.delete_job(job.id)
    inv.ui.out(
        to_json({"id": job.id, "deleted": True}) if inv.as_json else f"Deleted job {job.id}."
    )
    return None, 0


def worker(inv: Invocation) -> tuple[Any, int]:
    client = inv.client
    report = client.worker_stop() if inv.args.action == "stop" else client.worker_status()
    inv.ui.out(to_json(report) if inv.as_json else format_worker_report(report))
    return report, 0


GROUPS = [
    Group(
        "jobs",
        "list and manage jobs",
        "List and manage jobs. `jobs` alone, or followed by list options "
        "(`jobs --status failed`), is `jobs list`.",
        default_verb="list",
    )
]

COMMANDS = [
    CommandSpec(
        ("run",),
        "run a notebook as a job",
        run,
        description="Queue NOTEBOOK as a job and print its id.",
        takes_cell=True,
        returns_value=True,
        args=(
            Arg("notebook", metavar="NOTEBOOK", help="path of the .ipynb to run"),
            PARAMETER,
            KERNEL_NAME,
            Arg("--kernel", dest="kernel_name", help=argparse.SUPPRESS),
            Arg("--sandbox", metavar="ID", help="run with the kernel of this ready sandbox"),
            Arg(
                "--profile",
                metavar="PROFILE",
                help="run in a sandbox of this profile, started for the job (stopped when it "
                "ends); on an executor that runs jobs as pods (--on kubernetes), size and place "
                "the job's pod like the profile instead",
            ),
            Arg(
                "--on",
                dest="executor",
                metavar="EXECUTOR",
                help="where it runs: the name of one of the server's executors, e.g. kubernetes "
                "(c.DataOps.job_executors); default the server's",
            ),
            Arg(
                "--name", dest="job_name", metavar="NAME", help="job name (default: the notebook's)"
            ),
            Arg(
                "--timeout-seconds",
                dest="timeout_seconds",
                type=float,
                metavar="S",
                help="time limit of each attempt; the job fails with TimeoutError after it",
            ),
            Arg("--timeout", dest="timeout_seconds", type=float, help=argparse.SUPPRESS),
            Arg(
                "--max-retries",
                dest="max_retries",
                type=int,
                metavar="N",
                help="run a failed job again up to N times (0-10)",
            ),
            Arg("--retries", dest="max_retries", type=int, help=argparse.SUPPRESS),
            Arg("--tag", dest="tags", action="append", metavar="TAG", help="label (repeatable)"),
            WAIT,
        ),
    ),
    CommandSpec(
        ("jobs", "list"),
        "list jobs, newest first",
        list_jobs,
        hidden_aliases=(("list",),),
        args=(
            Arg(
                "--status",
                action="append",
                choices=[s.value for s in JobStatus],
                help="only jobs in this status (repeatable)",
            ),
            Arg("--notebook", metavar="PATH", help="only jobs of this notebook"),
            Arg("--sort", choices=list(get_args(SortField)), default="created_at"),
            Arg("--order", choices=["asc", "desc"], default="desc"),
            Arg("--limit", type=int, default=50, help="at most N jobs (default 50)"),
            Arg("--cursor", metavar="CURSOR", help="the next page (printed under a full page)"),
        ),
    ),
    CommandSpec(
        ("jobs", "show"), "show one job", show, args=(JOB_ID,), hidden_aliases=(("show",),)
    ),
    CommandSpec(
        ("jobs", "logs"),
        "print a job's log",
        logs,
        json_flag=False,
        hidden_aliases=(("logs",),),
        args=(
            JOB_ID,
            Arg("-f", "--follow", action="store_true", help="keep printing until the job ends"),
        ),
    ),
    CommandSpec(
        ("jobs", "cancel"),
        "cancel a queued or running job",
        cancel,
        args=(JOB_ID,),
        hidden_aliases=(("cancel",),),
    ),
    CommandSpec(
        ("jobs", "delete"),
        "delete a finished job and its files",
        delete,
        args=(JOB_ID,),
        hidden_aliases=(("delete",),),
    ),
    CommandSpec(
        ("jobs", "rerun"),
        "run a job again, optionally with other parameters",
        rerun,
        takes_cell=True,
        returns_value=True,
        hidden_aliases=(("rerun",),),
        args=(
            JOB_ID,
            PARAMETER,
            KERNEL_NAME,
            Arg("--kernel", dest="kernel_name", help=argparse.SUPPRESS),
            Arg(
                "--current-notebook",
                action="store_true",
                help="run the notebook as it is now, not the copy the job ran",
            ),
            WAIT,
        ),
    ),
    CommandSpec(
        ("worker",),
        "show or stop the worker process that runs jobs",
        worker,
        description="Jobs run in one worker process per data directory. It starts when there is "
        "work and exits after c.Worker.idle_timeout seconds idle; `stop` ends it now (running "
        "jobs are retried if they have retries left, else fail).",
        args=(Arg("action", nargs="?", choices=["status", "stop"], default="status"),),
    ),
]
