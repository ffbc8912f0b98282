"""The schedule commands: ``schedule`` (creates), ``schedules list|show|edit|pause|resume|run|
delete|firings|preview``, and ``scheduler`` (the CLI runs the scheduler in the foreground)."""

from __future__ import annotations

import json
from typing import Any, get_args

from pydantic import ValidationError

from ..core.schedules.models import (
    ConcurrencyPolicy,
    MisfirePolicy,
    Schedule,
    ScheduleCreate,
    SchedulePage,
    ScheduleQuery,
    ScheduleRunNow,
    ScheduleSortField,
    ScheduleStatus,
    ScheduleUpdate,
)
from .base import Arg, CommandSpec, Group, Invocation, invalid_input_from
from .jobs import KERNEL_NAME, PARAMETER, WAIT, _started, parameters_of
from .render import format_duration, format_time, to_json

SCHEDULE_ID = Arg(
    "schedule_id", metavar="ID", help="schedule id, or a unique prefix of at least 4 characters"
)

#: What a recent outcome looks like in a text sparkline.
MARKS = {
    "completed": "✓",
    "failed": "✗",
    "cancelled": "⊘",
    "running": "▶",
    "queued": "·",
    "skipped": "-",
    "missed": "!",
}


def sparkline(recent: list[str]) -> str:
    return "".join(MARKS.get(outcome, "?") for outcome in recent)


def _definition_args(*, creating: bool) -> tuple[Arg, ...]:
    """The options of ``schedule`` and ``schedules edit`` (REST field names)."""
    tz_default = "UTC" if creating else None
    return (
        Arg(
            "--cron",
            required=creating,
            metavar="EXPR",
            help='5-field cron expression or @hourly/@daily/...: "0 6 * * *"',
        ),
        Arg(
            "--tz",
            "--timezone",
            dest="timezone",
            default=tz_default,
            metavar="ZONE",
            help="IANA time zone of the cron expression (default UTC): Europe/Berlin",
        ),
        PARAMETER,
        KERNEL_NAME,
        Arg("--sandbox", metavar="ID", help="run in this sandbox (it must be ready when due)"),
        Arg(
            "--profile",
            metavar="PROFILE",
            help="run each time in a sandbox of this profile, started for the run; on an "
            "executor that runs jobs as pods (--on kubernetes), each run's pod is sized like it",
        ),
        Arg(
            "--on",
            dest="executor",
            metavar="EXECUTOR",
            help="where its runs go: the name of one of the server's executors, e.g. kubernetes "
            "(c.DataOps.job_executors); default the server's"
            + ("" if creating else "; '' goes back to it"),
        ),
        Arg("--name", dest="schedule_name", metavar="NAME", help="schedule name"),
        Arg("--timeout-seconds", dest="timeout_seconds", type=float, metavar="S"),
        Arg("--max-retries", dest="max_retries", type=int, metavar="N"),
        Arg(
            "--misfire",
            dest="misfire_policy",
            choices=list(get_args(MisfirePolicy)),
            help="missed due times (no scheduler ran): run once for all, or skip those later "
            "than the grace",
        ),
        Arg("--misfire-grace-seconds", dest="misfire_grace_seconds", type=float, metavar="S"),
        Arg(
            "--concurrency",
            dest="concurrency_policy",
            choices=list(get_args(ConcurrencyPolicy)),
            help="a run due while the previous one still runs: allow, forbid (skip) or replace",
        ),
        Arg(
            "--notify-webhook",
            dest="webhook_url",
            metavar="URL",
            help="webhook (Slack-style); '' removes it",
        ),
        Arg(
            "--notify-email",
            dest="email_to",
            action="append",
            metavar="ADDRESS",
            help="e-mail on failure (repeatable); '' removes all",
        ),
        Arg(
            "--notify-on-success",
            dest="on_success",
            action="store_true",
            default=None,
            help="notify when a run completes too",
        ),
    )


def _definition(inv: Invocation) -> dict[str, Any]:
    a = inv.args
    fields: dict[str, Any] = {
        "cron": a.cron,
        "timezone": a.timezone,
        "kernel_name": a.kernel_name,
        "sandbox": a.sandbox,
        "profile": a.profile,
        "name": a.schedule_name,
        "timeout_seconds": a.timeout_seconds,
        "max_retries": a.max_retries,
        "misfire_policy": a.misfire_policy,
        "misfire_grace_seconds": a.misfire_grace_seconds,
        "concurrency_policy": a.concurrency_policy,
    }
    if a.parameters:
        fields["parameters"] = parameters_of(a.parameters)
    notify: dict[str, Any] = {}
    if a.webhook_url is not None:
        notify["webhook_url"] = a.webhook_url or None  # '' removes it
    if a.email_to:
        notify["email_to"] = [address for address in a.email_to if address]  # '' clears
    if a.on_success:
        notify["on_success"] = True
    if notify:
        fields["notify"] = notify
    given = {k: v for k, v in fields.items() if v is not None}
    if a.executor is not None:
        given["executor"] = a.executor or None  # '': the server's default
    return given


def schedule(inv: Invocation) -> tuple[Any, int]:
    fields = _definition(inv)
    fields["notebook_path"] = inv.ui.notebook_path(inv.client, inv.args.notebook)
    try:
        request = ScheduleCreate(**fields)
    except ValidationError as exc:
        raise invalid_input_from(exc, "schedule") from None
    created = inv.client.create_schedule(request)
    inv.ui.out(to_json(created) if inv.as_json else format_schedule(created))
    return created, 0


def edit(inv: Invocation) -> tuple[Any, int]:
    fields = _definition(inv)
    if inv.args.notebook:
        fields["notebook_path"] = inv.ui.notebook_path(inv.client, inv.args.notebook)
    try:
        request = ScheduleUpdate(**fields)
    except ValidationError as exc:
        raise invalid_input_from(exc, "schedule change") from None
    changed = inv.client.update_schedule(inv.args.schedule_id, request)
    inv.ui.out(to_json(changed) if inv.as_json else format_schedule(changed))
    return changed, 0


def list_schedules(inv: Invocation) -> tuple[Any, int]:
    a = inv.args
    try:
        query = ScheduleQuery(
            status=[ScheduleStatus(s) for s in a.status] if a.status else None,
            notebook=a.notebook,
            sort=a.sort,
            order=a.order,
            limit=a.limit,
            cursor=a.cursor,
        )
    except ValidationError as exc:
        raise invalid_input_from(exc, "schedule query") from None
    page = inv.client.list_schedules(query)
    if inv.as_json:
        inv.ui.out(to_json(page))
    else:
        inv.ui.show(page, format_schedule_table(page))
    return page, 0


def show(inv: Invocation) -> tuple[Any, int]:
    found = inv.client.get_schedule(inv.args.schedule_id)
    inv.ui.out(to_json(found) if inv.as_json else format_schedule(found))
    return found, 0


def pause(inv: Invocation) -> tuple[Any, int]:
    paused = inv.client.pause_schedule(inv.args.schedule_id)
    inv.ui.out(to_json(paused) if inv.as_json else f"Paused schedule {paused.id}.")
    return paused, 0


def resume(inv: Invocation) -> tuple[Any, int]:
    resumed = inv.client.resume_schedule(inv.args.schedule_id)
    text = f"Resumed schedule {resumed.id}; next run {format_time(resumed.next_run_at)}."
    inv.ui.out(to_json(resumed) if inv.as_json else text)
    return resumed, 0


def run_now(inv: Invocation) -> tuple[Any, int]:
    request = ScheduleRunNow(parameters=parameters_of(inv.args.parameters) or None)
    return _started(inv, inv.client.run_schedule(inv.args.schedule_id, request))


def delete(inv: Invocation) -> tuple[Any, int]:
    found = inv.client.get_schedule(inv.args.schedule_id)
    inv.client.delete_schedule(found.id, delete_runs=inv.args.delete_runs)
    if inv.as_json:
        inv.ui.out(to_json({"id": found.id, "deleted": True}))
    else:
        runs = " and its finished runs" if inv.args.delete_runs else ""
        inv.ui.out(f"Deleted schedule {found.id}{runs}.")
    return None, 0


def firings(inv: Invocation) -> tuple[Any, int]:
    items = inv.client.schedule_firings(inv.args.schedule_id, limit=inv.args.limit)
    if inv.as_json:
        inv.ui.out(to_json({"items": [f.model_dump(mode="json") for f in items]}))
        return items, 0
    if not items:
        inv.ui.out("No due time has come yet.")
        return items, 0
    lines = [f"{'DUE':<20}  {'OUTCOME':<8}  {'VERSION':<7}  JOB / REASON"]
    for f in items:
        detail = f.job_id or ""
        if f.reason:
            detail = f"{detail}  {f.reason}".strip()
        lines.append(f"{format_time(f.due_at):<20}  {f.outcome.value:<8}  {f.version:<7}  {detail}")
    inv.ui.out("\n".join(lines))
    return items, 0


def preview(inv: Invocation) -> tuple[Any, int]:
    shown = inv.client.preview_schedule(inv.args.cron, inv.args.timezone)
    if inv.as_json:
        inv.ui.out(to_json(shown))
    else:
        lines = [shown.description, *(f"  {format_time(t)}" for t in shown.next_runs)]
        inv.ui.out("\n".join(lines))
    return shown, 0


def scheduler(inv: Invocation) -> tuple[Any, int]:
    """Run the scheduler (the worker) in the foreground; stand by while another one runs."""
    from ..core.config import DataOps, load_config_files
    from ..worker.main import configure_logging, run

    configure_logging()
    config = load_config_files()
    config.Worker.idle_timeout = 0.0  # a service: never exit for idleness
    return None, run(DataOps(config=config), wait_for_lock=True)


# -- rendering ----------------------------------------------------------------------------------
SCHEDULE_COLUMNS = ("id", "name", "status", "cron", "next run", "last run", "recent")


def schedule_row(item: Any) -> dict[str, str]:
    last = item.last_run
    return {
        "id": item.id,
        "name": item.name,
        "status": item.status.value,
        "cron": f"{item.cron} {item.timezone}",
        "next run": format_time(item.next_run_at),
        "last run": last.status.value if last else "-",
        "recent": sparkline(item.recent) or "-",
    }


def format_schedule_table(page: SchedulePage) -> str:
    if not page.items:
        return "No schedules."
    rows = [schedule_row(item) for item in page.items]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in SCHEDULE_COLUMNS}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in SCHEDULE_COLUMNS).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in SCHEDULE_COLUMNS).rstrip() for r in rows]
    if page.next_cursor:
        lines.append(f"({len(page.items)} of {page.total}; next page: --cursor {page.next_cursor})")
    return "\n".join(lines)


def format_schedule(item: Schedule) -> str:
    fields = [
        ("id", item.id),
        ("name", item.name),
        ("status", item.status.value),
        ("notebook", item.notebook_path),
        ("when", item.description),
        ("cron", f"{item.cron} ({item.timezone})"),
        ("version", str(item.version)),
        ("owner", item.owner or "-"),
        ("parameters", json.dumps(item.parameters) if item.parameters else "-"),
        (
            "kernel",
            f"sandbox {item.sandbox}"
            if item.sandbox
            else f"a sandbox of profile {item.profile} per run"
            if item.profile
            else item.kernel_name or "the notebook's",
        ),
        ("runs on", item.executor or "the server's default executor"),
        ("timeout", format_duration(item.timeout_seconds) if item.timeout_seconds else "-"),
        (
            "misfire",
            f"{item.misfire_policy} (grace {format_duration(item.misfire_grace_seconds)})",
        ),
        ("concurrency", item.concurrency_policy),
        (
            "last run",
            f"{item.last_run.status.value} (job {item.last_run.job_id})" if item.last_run else "-",
        ),
        ("recent", sparkline(item.recent) or "-"),
    ]
    notify = item.notify
    targets = ([notify.webhook_url] if notify.webhook_url else []) + list(notify.email_to)
    if targets:
        when = "failure" + (" and success" if notify.on_success else "")
        fields.append(("notify", f"on {when}: {', '.join(targets)}"))
    lines = [f"{k + ':':<13}{v}" for k, v in fields]
    for t in item.next_runs:
        lines.append(f"{'next run:':<13}{format_time(t)}")
    return "\n".join(lines)


GROUPS = [
    Group(
        "schedules",
        "list and manage schedules",
        "List and manage schedules. `schedules` alone, or followed by list options, is "
        "`schedules list`.",
        default_verb="list",
    )
]

COMMANDS = [
    CommandSpec(
        ("schedule",),
        "run a notebook on a schedule",
        schedule,
        description="Turn NOTEBOOK into a schedule: a cron expression in a time zone, with typed "
        "parameters. Its runs are ordinary jobs.",
        takes_cell=True,
        returns_value=True,
        args=(
            Arg("notebook", metavar="NOTEBOOK", help="path of the .ipynb to run"),
            *_definition_args(creating=True),
        ),
    ),
    CommandSpec(
        ("schedules", "list"),
        "list schedules",
        list_schedules,
        args=(
            Arg(
                "--status",
                action="append",
                choices=[s.value for s in ScheduleStatus],
                help="only schedules in this status (repeatable)",
            ),
            Arg("--notebook", metavar="PATH", help="only schedules of this notebook"),
            Arg("--sort", choices=list(get_args(ScheduleSortField)), default="created_at"),
            Arg("--order", choices=["asc", "desc"], default="desc"),
            Arg("--limit", type=int, default=50),
            Arg("--cursor", metavar="CURSOR"),
        ),
    ),
    CommandSpec(("schedules", "show"), "show one schedule", show, args=(SCHEDULE_ID,)),
    CommandSpec(
        ("schedules", "edit"),
        "change a schedule (a new version; past runs keep theirs)",
        edit,
        takes_cell=True,
        args=(
            SCHEDULE_ID,
            Arg("--notebook", metavar="NOTEBOOK", help="another notebook to run"),
            *_definition_args(creating=False),
        ),
    ),
    CommandSpec(("schedules", "pause"), "pause a schedule", pause, args=(SCHEDULE_ID,)),
    CommandSpec(
        ("schedules", "resume"),
        "resume a schedule (from now on)",
        resume,
        args=(SCHEDULE_ID,),
    ),
    CommandSpec(
        ("schedules", "run"),
        "run a schedule's notebook now, optionally with other parameters",
        run_now,
        takes_cell=True,
        returns_value=True,
        args=(SCHEDULE_ID, PARAMETER, WAIT),
    ),
    CommandSpec(
        ("schedules", "delete"),
        "delete a schedule (its runs stay, unless --delete-runs)",
        delete,
        args=(
            SCHEDULE_ID,
            Arg(
                "--delete-runs",
                action="store_true",
                help="also delete its finished runs (and cancel active ones)",
            ),
        ),
    ),
    CommandSpec(
        ("schedules", "firings"),
        "what became of a schedule's due times",
        firings,
        args=(SCHEDULE_ID, Arg("--limit", type=int, default=20)),
    ),
    CommandSpec(
        ("schedules", "preview"),
        "a cron expression in plain words, with its next five times",
        preview,
        args=(
            Arg("cron", metavar="EXPR", help='"0 6 * * *", @daily...'),
            Arg("--tz", "--timezone", dest="timezone", default="UTC", metavar="ZONE"),
        ),
    ),
    CommandSpec(
        ("scheduler",),
        "run the scheduler in the foreground (for systemd or a container)",
        scheduler,
        json_flag=False,
        cli_only=True,
        description="Run the worker that fires schedules and runs jobs, in the foreground, until "
        "stopped (SIGTERM). While another one runs for this data directory, wait and take over "
        "when it exits. See docs/operators.md for a systemd user service.",
    ),
]

__all__ = ["COMMANDS", "GROUPS"]
