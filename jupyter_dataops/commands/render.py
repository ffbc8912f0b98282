"""Plain-text rendering of results, shared by the CLI and the magic (which adds HTML and widgets).

Cheap to import: the CLI's start-up time depends on it.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from typing import Any

from pydantic import BaseModel

from ..core.errors import DataOpsError
from ..core.jobs.models import Job, JobPage, JobStatus, JobSummary

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")

AnyJob = Job | JobSummary


def strip_ansi(text: str) -> str:
    """Tracebacks from kernels carry colour codes; a pipe or a log file wants them gone."""
    return _ANSI.sub("", text)


def to_json(value: BaseModel | dict[str, Any] | list[Any]) -> str:
    """Exactly what the REST API returns (``model_dump(mode="json")``), indented for people."""
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    return json.dumps(data, indent=2)


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


def format_progress(job: AnyJob) -> str:
    return f"{job.progress.cells_completed}/{job.progress.cells_total}"


def status_text(job: AnyJob) -> str:
    """The status as people read it: ``running``, ``running (starting a kernel)``."""
    text = job.status.value
    if job.pending_reason and not job.status.is_terminal:
        text += f" ({job.pending_reason})"
    if job.cancel_requested and not job.status.is_terminal:
        text += " (cancel requested)"
    return text


def progress_bar(job: AnyJob, width: int = 24) -> str:
    """``[##########--------------] 5/12 cells  running  3.2s``"""
    total = job.progress.cells_total
    done = min(job.progress.cells_completed, total) if total else 0
    filled = round(width * done / total) if total else (width if job.status.is_terminal else 0)
    bar = "#" * filled + "-" * (width - filled)
    return f"[{bar}] {done}/{total} cells  {status_text(job)}  {format_duration(job.duration)}"


TABLE_COLUMNS = ("id", "name", "status", "progress", "created", "duration")


def job_row(job: AnyJob) -> dict[str, str]:
    """One job as the cells of the jobs table (the CLI's text table and the magic's HTML table)."""
    return {
        "id": job.id,
        "name": job.name,
        "status": job.status.value,
        "progress": format_progress(job),
        "created": format_time(job.created_at),
        "duration": format_duration(job.duration),
    }


def page_footer(page: JobPage) -> str:
    """``(50 of 1,234 jobs; more with --cursor XYZ)`` when there is more than this page."""
    if page.next_cursor is None and page.prev_cursor is None:
        return ""
    about = "about " if page.total_is_estimate else ""
    text = f"({len(page.items)} of {about}{page.total:,} jobs"
    if page.next_cursor:
        text += f"; next page: --cursor {page.next_cursor}"
    return text + ")"


def format_job_table(page: JobPage) -> str:
    """A plain-text table of a page of jobs, with a footer when more jobs match."""
    if not page.items:
        return "No jobs." if page.total == 0 else f"No jobs on this page ({page.total} in all)."
    rows = [job_row(job) for job in page.items]
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
    footer = page_footer(page)
    if footer:
        lines.append(footer)
    return "\n".join(lines)


def format_job_details(job: Job) -> str:
    """``dataops jobs show``: one ``field: value`` line per field a person cares about."""
    fields: list[tuple[str, str]] = [
        ("id", job.id),
        ("name", job.name),
        ("status", status_text(job)),
        ("notebook", job.notebook_path),
        ("root dir", job.root_dir),
        ("kernel", job.kernel_name),
        ("executor", job.executor),
        ("owner", job.owner or "-"),
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
    if job.usage:
        u = job.usage
        peak = f"{u.peak_memory_bytes / 2**20:.0f}Mi" if u.peak_memory_bytes else "-"
        fields.append(
            (
                "usage",
                f"CPU {u.cpu_seconds:.1f} s, GPU {u.gpu_seconds:.1f} s, peak memory {peak}, "
                f"kernel wall {u.wall_seconds:.1f} s",
            )
        )
    lines = [f"{k + ':':<12}{v}" for k, v in fields]
    for warning in job.warnings:
        lines.append(f"{'warning:':<12}{warning}")
    if job.error:
        lines.append(f"{'error:':<12}{format_error(job)}")
    return "\n".join(lines)


def format_error(job: AnyJob) -> str:
    """``ValueError: boom (cell 3)``: the one line that says why a job failed."""
    if job.error is None:
        return ""
    text = job.error.ename + (f": {job.error.evalue}" if job.error.evalue else "")
    if job.error.cell_index is not None:
        text += f" (cell {job.error.cell_index})"
    return text


def format_outcome(job: AnyJob) -> str:
    """The line printed when a waited-for job ends."""
    took = format_duration(job.duration)
    if job.status is JobStatus.COMPLETED:
        output = getattr(job, "output_path", None) or "-"
        return f"Job {job.id} completed in {took}; output: {output}"
    if job.status is JobStatus.CANCELLED:
        return f"Job {job.id} was cancelled."
    if job.status is JobStatus.FAILED:
        return f"Job {job.id} failed after {took}: {format_error(job)}"
    return f"Job {job.id} is {status_text(job)}."


def format_worker_report(report: dict[str, Any]) -> str:
    if report.get("running") is None:
        return f"The {report.get('executor')} executor has no worker process."
    if "stopped" in report:
        if report["stopped"]:
            return f"Stopped the worker (pid {report['pid']})."
        return "The worker is still running." if report["running"] else "No worker was running."
    if report["running"]:
        return (
            f"The worker is running (pid {report['pid']}, since "
            f"{format_time(report.get('started_at'))})."
        )
    return "No worker is running; the next job starts one."


def error_line(error: DataOpsError) -> str:
    """How every shell adapter shows a core error in one line: message, then hint."""
    return f"error: {error}"
