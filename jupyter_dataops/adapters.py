"""What the ``dataops`` CLI and the ``%dataops`` magic share: one argument parser, the typed
commands it produces, the service factory and plain-text rendering of jobs.

Both adapters do the same three things: parse the words into a command model (below), call one
core method, render the result. Because both parse with :func:`build_parser`, the magic line
``%dataops run train.ipynb -p alpha 0.5 --wait`` and the shell command
``dataops run train.ipynb -p alpha 0.5 --wait`` can never drift apart.

This module must stay cheap to import (the CLI's start-up time depends on it): no IPython,
ipywidgets, papermill or nbconvert here.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import getpass
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, get_args

from pydantic import BaseModel, ConfigDict, ValidationError

from . import __version__
from .core.errors import DataOpsError, InvalidInput
from .core.jobs.models import (
    Job,
    JobCreate,
    JobPage,
    JobQuery,
    JobRerun,
    JobStatus,
    SortField,
)

if TYPE_CHECKING:
    from .core.jobs.service import DataOpsService


# -- errors ---------------------------------------------------------------------------------------
class UsageProblem(InvalidInput):
    """The words themselves do not parse (unknown option, missing argument). Exit code 2."""

    def __init__(self, message: str, *, usage: str) -> None:
        super().__init__(message, hint=None)
        self.usage = usage


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser that raises :class:`UsageProblem` instead of exiting, so the magic can
    show the problem without killing the kernel and the CLI can print it its own way."""

    def error(self, message: str) -> NoReturn:
        raise UsageProblem(message, usage=self.format_usage())


def invalid_input_from(exc: ValidationError, what: str) -> InvalidInput:
    """A pydantic error on a request model, as the one-line message an adapter shows."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
    return InvalidInput(f"Invalid {what}: {'; '.join(parts)}.", hint="See --help for the options.")


# -- typed commands --------------------------------------------------------------------------------
class Command(BaseModel):
    """One parsed command line. Each adapter keeps one handler per command class."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    root_dir: str | None = None


def _parameters(pairs: Sequence[Sequence[str]] | None) -> dict[str, str]:
    """``-p NAME VALUE`` pairs as a dict; a repeated name keeps its last value, as papermill does."""
    return {str(name): str(value) for name, value in (pairs or [])}


class RunCommand(Command):
    """``run NOTEBOOK [-p NAME VALUE]... [--kernel K] [--name N] [--timeout S] [--retries N]``"""

    notebook: str
    parameters: list[tuple[str, str]] = []
    kernel: str | None = None
    job_name: str | None = None
    timeout: float | None = None
    retries: int | None = None
    wait: bool = False
    as_json: bool = False

    def to_request(self, notebook_path: str | None = None) -> JobCreate:
        """The core request; ``notebook_path`` replaces ``notebook`` (the magic resolves it from
        the kernel's folder)."""
        fields: dict[str, Any] = {
            "notebook_path": notebook_path or self.notebook,
            "parameters": _parameters(self.parameters),
            "kernel_name": self.kernel,
            "name": self.job_name,
            "timeout_seconds": self.timeout,
        }
        if self.retries is not None:
            fields["max_retries"] = self.retries
        try:
            return JobCreate(**fields)
        except ValidationError as exc:
            raise invalid_input_from(exc, "job request") from None


class ListCommand(Command):
    """``jobs list [--status S]... [--notebook TEXT] [--sort F] [--order O] [--limit N]``"""

    status: list[JobStatus] | None = None
    notebook: str | None = None
    sort: SortField = "created_at"
    order: Literal["asc", "desc"] = "desc"
    limit: int = 50
    offset: int = 0
    as_json: bool = False

    def to_query(self) -> JobQuery:
        try:
            return JobQuery(
                status=self.status or None,
                notebook=self.notebook,
                sort=self.sort,
                order=self.order,
                limit=self.limit,
                offset=self.offset,
            )
        except ValidationError as exc:
            raise invalid_input_from(exc, "job query") from None


class JobCommand(Command):
    """A command about one job, named by its id or a unique prefix of at least 4 characters."""

    job_id: str


class ShowCommand(JobCommand):
    """``jobs show ID [--json]``"""

    as_json: bool = False


class LogsCommand(JobCommand):
    """``jobs logs ID``"""


class CancelCommand(JobCommand):
    """``jobs cancel ID [--json]``"""

    as_json: bool = False


class DeleteCommand(JobCommand):
    """``jobs delete ID``"""


class RerunCommand(JobCommand):
    """``jobs rerun ID [-p NAME VALUE]... [--kernel K] [--current-notebook] [--wait]``"""

    parameters: list[tuple[str, str]] = []
    kernel: str | None = None
    current_notebook: bool = False
    wait: bool = False
    as_json: bool = False

    def to_request(self) -> JobRerun:
        return JobRerun(
            parameters=_parameters(self.parameters) or None,
            kernel_name=self.kernel,
            use_current_notebook=self.current_notebook,
        )


class WorkerCommand(Command):
    """``worker status|stop``: the local executor's worker process (other executors have none)."""

    action: Literal["status", "stop"] = "status"
    as_json: bool = False


COMMANDS: tuple[type[Command], ...] = (
    RunCommand,
    ListCommand,
    ShowCommand,
    LogsCommand,
    CancelCommand,
    DeleteCommand,
    RerunCommand,
    WorkerCommand,
)


# -- the parser ----------------------------------------------------------------------------------
def _common(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    # SUPPRESS: a --root-dir given before the subcommand is not overwritten by this default.
    parser.add_argument(
        "--root-dir",
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="directory that notebook paths are relative to and that jobs may not leave "
        "(default: the current directory)",
    )
    if json_flag:
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="print the result as JSON"
        )


def _parameter_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        action="append",
        nargs=2,
        metavar=("NAME", "VALUE"),
        default=[],
        help="set a parameter; VALUE is converted to the type of the parameter's default "
        "(repeatable)",
    )


JOB_ID_HELP = "job id or a unique prefix of it"


def _add_job_commands(subparsers: Any, *, shortcut: bool) -> None:
    suffix = " (short for `jobs %s`)" if shortcut else ""

    def add(name: str, help_text: str, command: type[Command]) -> argparse.ArgumentParser:
        sub = subparsers.add_parser(
            name,
            help=help_text + (suffix % name if shortcut else ""),
            description=help_text,
        )
        sub.set_defaults(command=command)
        return sub

    p = add("list", "list jobs, newest first", ListCommand)
    p.add_argument(
        "--status",
        action="append",
        choices=[s.value for s in JobStatus],
        help="only jobs in this status (repeatable)",
    )
    p.add_argument("--notebook", metavar="TEXT", help="only jobs whose notebook path contains TEXT")
    p.add_argument("--sort", choices=list(get_args(SortField)), default="created_at")
    p.add_argument("--order", choices=["asc", "desc"], default="desc")
    p.add_argument("--limit", type=int, default=50, help="at most N jobs (default 50)")
    p.add_argument("--offset", type=int, default=0, help="skip the first N jobs")
    _common(p)

    # The commands that act on one job: name, help, command model, whether it has --json.
    for name, help_text, command, json_flag in (
        ("show", "show one job", ShowCommand, True),
        ("logs", "print a job's log", LogsCommand, False),
        ("cancel", "cancel a queued or running job", CancelCommand, True),
        ("delete", "delete a finished job and its outputs", DeleteCommand, False),
    ):
        p = add(name, help_text, command)
        p.add_argument("job_id", metavar="ID", help=JOB_ID_HELP)
        _common(p, json_flag=json_flag)

    p = add("rerun", "run a job again, optionally with other parameters", RerunCommand)
    p.add_argument("job_id", metavar="ID", help=JOB_ID_HELP)
    _parameter_option(p)
    p.add_argument("--kernel", metavar="NAME", help="kernel to run it with")
    p.add_argument(
        "--current-notebook",
        action="store_true",
        help="run the notebook as it is now, not the copy the job ran",
    )
    p.add_argument("--wait", action="store_true", help="wait until the job ends, showing progress")
    _common(p)


def build_parser(prog: str = "dataops") -> ArgumentParser:
    """The parser of both adapters: ``prog`` is ``dataops`` for the CLI, ``%dataops`` for the magic."""
    parser = ArgumentParser(
        prog=prog,
        description="Run notebooks as parameterized jobs and manage them.",
        epilog=f"Examples:\n  {prog} run train.ipynb -p alpha 0.5 --wait\n  {prog} jobs list "
        f"--status failed\n  {prog} jobs show 1a2b",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dataops {__version__}")
    _common(parser, json_flag=False)
    subparsers = parser.add_subparsers(metavar="COMMAND", parser_class=ArgumentParser)

    run = subparsers.add_parser(
        "run",
        help="run a notebook as a job",
        description="Queue NOTEBOOK as a job and print its id.",
    )
    run.set_defaults(command=RunCommand)
    run.add_argument("notebook", metavar="NOTEBOOK", help="path of the .ipynb to run")
    _parameter_option(run)
    run.add_argument("--kernel", metavar="NAME", help="kernel (default: the notebook's own)")
    run.add_argument("--name", dest="job_name", metavar="NAME", help="job name (default: notebook)")
    run.add_argument("--timeout", type=float, metavar="SECONDS", help="whole-job time limit")
    run.add_argument("--retries", type=int, metavar="N", help="retries after a failure (0-10)")
    run.add_argument(
        "--wait",
        action="store_true",
        help="wait until the job ends, showing progress; exit 0 if it completed, 1 otherwise",
    )
    _common(run)

    jobs = subparsers.add_parser(
        "jobs",
        help="list and manage jobs",
        description="List and manage jobs. `jobs` alone, or followed by list options "
        "(`jobs --status failed`), is `jobs list`.",
    )
    _add_job_commands(
        jobs.add_subparsers(metavar="ACTION", parser_class=ArgumentParser), shortcut=False
    )
    _add_job_commands(subparsers, shortcut=True)

    worker = subparsers.add_parser(
        "worker",
        help="show or stop the local worker process",
        description="The local executor runs jobs in one worker process per data directory. It "
        "starts on the first job and exits after c.LocalExecutor.idle_timeout seconds idle; "
        "`stop` ends it now (running jobs fail, or are retried if they have retries left).",
    )
    worker.set_defaults(command=WorkerCommand)
    worker.add_argument("action", nargs="?", choices=["status", "stop"], default="status")
    _common(worker)
    return parser


_HELP = {"-h", "--help"}


def parse_command(argv: Sequence[str], prog: str = "dataops") -> Command:
    """Parse words into a typed command. Raises :class:`UsageProblem` (exit code 2) on bad words,
    and ``SystemExit(0)`` after printing ``--help`` or ``--version``."""
    words = list(argv)
    # `jobs` alone, or followed by list options (`jobs --status failed`), means `jobs list`.
    at = 0
    while at < len(words) and words[at].startswith("--root-dir"):
        at += 1 if "=" in words[at] else 2
    if at < len(words) and words[at] == "jobs":
        following = words[at + 1] if at + 1 < len(words) else None
        if following is None or (following.startswith("-") and following not in _HELP):
            words.insert(at + 1, "list")
    parser = build_parser(prog)
    namespace = parser.parse_args(words)
    command_cls = getattr(namespace, "command", None)
    if command_cls is None:
        raise UsageProblem("a command is required (run, jobs, ...)", usage=parser.format_usage())
    values = {k: v for k, v in vars(namespace).items() if k != "command"}
    try:
        return command_cls.model_validate(values)
    except ValidationError as exc:
        raise invalid_input_from(exc, "arguments") from None


# -- the service ---------------------------------------------------------------------------------
def service_from_environment(root_dir: str | Path | None = None) -> DataOpsService:
    """The core service configured as the server would be (Jupyter config files), rooted at
    ``root_dir`` (default: the current directory)."""
    from traitlets import TraitError

    from .core.config import DataOps, load_config_files
    from .core.jobs.service import DataOpsService

    root = Path(root_dir).expanduser() if root_dir else Path.cwd()
    if not root.is_dir():
        raise InvalidInput(
            f"The root directory {str(root)!r} does not exist.",
            hint="Give an existing folder with --root-dir.",
        )
    try:
        dataops = DataOps(config=load_config_files(), root_dir=str(root.resolve()))
        return DataOpsService(dataops)
    except TraitError as exc:
        raise InvalidInput(
            f"The jupyter-dataops configuration is invalid: {exc}",
            hint="Fix it in jupyter_server_config.py or jupyter_dataops_config.py.",
        ) from exc


def worker_report(service: DataOpsService, action: str) -> dict[str, Any]:
    """``worker status|stop``: ``{"executor", "running", "pid", ...}`` (``running`` is None for
    executors without a process of their own)."""
    return service.stop_executor() if action == "stop" else service.executor_status()


def format_worker_report(report: dict[str, Any]) -> str:
    if report["running"] is None:
        return f"The {report['executor']} executor has no local worker process."
    if "stopped" in report:
        if report["stopped"]:
            return f"Stopped the worker (pid {report['pid']})."
        return "The worker is still running." if report["running"] else "No worker was running."
    if report["running"]:
        return f"The worker is running (pid {report['pid']}, since {format_time(report.get('started_at'))})."
    return "No worker is running; the next job starts one."


def current_actor() -> str | None:
    """Who the audit log records for CLI and magic calls: the operating-system user."""
    try:
        return getpass.getuser()
    except Exception:  # no user name in a container without a passwd entry
        return None


# -- rendering -------------------------------------------------------------------------------------
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def strip_ansi(text: str) -> str:
    """Tracebacks from kernels carry colour codes; a pipe or a log file wants them gone."""
    return _ANSI.sub("", text)


def to_json(model: BaseModel) -> str:
    """Exactly the model's JSON dump (``model_dump(mode="json")``), indented for people."""
    return json.dumps(model.model_dump(mode="json"), indent=2)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_time(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return _dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def format_progress(job: Job) -> str:
    return f"{job.progress.cells_completed}/{job.progress.cells_total}"


def progress_bar(job: Job, width: int = 24) -> str:
    """``[##########--------------] 5/12 cells  running  3.2s``"""
    total = job.progress.cells_total
    done = min(job.progress.cells_completed, total) if total else 0
    filled = round(width * done / total) if total else (width if job.status.is_terminal else 0)
    bar = "#" * filled + "-" * (width - filled)
    return f"[{bar}] {done}/{total} cells  {job.status.value}  {format_duration(job.duration)}".rstrip()


TABLE_COLUMNS = ("id", "name", "status", "progress", "created", "duration")


def job_row(job: Job) -> dict[str, str]:
    """One job as the cells of the jobs table (the CLI's text table and the magic's HTML table)."""
    return {
        "id": job.id,
        "name": job.name,
        "status": job.status.value,
        "progress": format_progress(job),
        "created": format_time(job.created_at),
        "duration": format_duration(job.duration),
    }


def format_job_table(page: JobPage) -> str:
    """A plain-text table of a page of jobs, with a footer when more jobs match."""
    if not page.jobs:
        return "No jobs." if page.total == 0 else f"No jobs on this page ({page.total} in all)."
    rows = [job_row(job) for job in page.jobs]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in TABLE_COLUMNS}
    widths["name"] = min(widths["name"], 40)

    def line(cells: dict[str, str]) -> str:
        out = []
        for c in TABLE_COLUMNS:
            text = cells[c]
            if len(text) > widths[c]:
                text = text[: widths[c] - 1] + "…"
            out.append(text.ljust(widths[c]))
        return "  ".join(out).rstrip()

    lines = [line({c: c.upper() for c in TABLE_COLUMNS})]
    lines += [line(r) for r in rows]
    shown_to = page.offset + len(page.jobs)
    if page.offset or shown_to < page.total:
        lines.append(f"({page.offset + 1}-{shown_to} of {page.total} jobs)")
    return "\n".join(lines)


def format_job_details(job: Job) -> str:
    """``dataops jobs show``: one ``field: value`` line per field a person cares about."""
    fields: list[tuple[str, str]] = [
        ("id", job.id),
        ("name", job.name),
        (
            "status",
            job.status.value
            + (
                " (cancel requested)" if job.cancel_requested and not job.status.is_terminal else ""
            ),
        ),
        ("notebook", job.notebook_path),
        ("root dir", job.root_dir),
        ("kernel", job.kernel_name),
        ("executor", job.executor),
        ("parameters", json.dumps(job.parameters) if job.parameters else "-"),
        ("progress", f"{format_progress(job)} cells"),
        ("attempt", f"{job.attempt} of {job.max_retries + 1}"),
        ("created", format_time(job.created_at)),
        ("started", format_time(job.started_at)),
        ("finished", format_time(job.finished_at)),
        ("duration", format_duration(job.duration)),
        ("timeout", format_duration(job.timeout_seconds) if job.timeout_seconds else "-"),
        ("output", job.output_path or "-"),
        ("html", job.html_path or "-"),
        ("log", job.log_path or "-"),
    ]
    if job.tags:
        fields.append(("tags", ", ".join(job.tags)))
    if job.rerun_of:
        fields.append(("rerun of", job.rerun_of))
    lines = [f"{k + ':':<12}{v}" for k, v in fields]
    for warning in job.warnings:
        lines.append(f"{'warning:':<12}{warning}")
    if job.error:
        lines.append(f"{'error:':<12}{format_error(job)}")
    return "\n".join(lines)


def format_error(job: Job) -> str:
    """``ValueError: boom (cell 3)``: the one line that says why a job failed."""
    if job.error is None:
        return ""
    text = job.error.ename + (f": {job.error.evalue}" if job.error.evalue else "")
    if job.error.cell_index is not None:
        text += f" (cell {job.error.cell_index})"
    return text


def format_outcome(job: Job) -> str:
    """The line printed when a waited-for job ends."""
    took = format_duration(job.duration)
    if job.status is JobStatus.COMPLETED:
        return f"Job {job.id} completed in {took}; output: {job.output_path or '-'}"
    if job.status is JobStatus.CANCELLED:
        return f"Job {job.id} was cancelled."
    if job.status is JobStatus.FAILED:
        return f"Job {job.id} failed after {took}: {format_error(job)}"
    return f"Job {job.id} is {job.status.value}."


def error_line(error: DataOpsError) -> str:
    """How every adapter shows a core error in one line: message, then hint."""
    return f"error: {error}"


def stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
