"""What the ``%dataops`` magic displays: a live progress bar, a link to the executed notebook, the
jobs table. ipywidgets is used when it is installed; otherwise a text display updated in place."""

from __future__ import annotations

import html
import os
import sys
from pathlib import Path
from typing import Any

from ..commands.render import (
    TABLE_COLUMNS,
    AnyJob,
    format_duration,
    format_error,
    format_job_table,
    format_outcome,
    format_progress,
    job_row,
    page_footer,
    progress_bar,
    status_text,
)
from ..commands.schedules import SCHEDULE_COLUMNS, format_schedule_table, schedule_row
from ..core.jobs.models import Job, JobPage, JobStatus, JobSummary
from ..core.schedules.models import SchedulePage, ScheduleSummary
from ..core.snapshots.models import SnapshotPage

_BAR_STYLES = {
    JobStatus.COMPLETED: "success",
    JobStatus.FAILED: "danger",
    JobStatus.CANCELLED: "warning",
}


def _status_text(job: AnyJob) -> str:
    return (
        f"{status_text(job)} · {format_progress(job)} cells · {format_duration(job.duration)}"
        f" · job {job.id}"
    )


class JobProgress:
    """A live view of one job: an ``IntProgress`` bar with the job's name and a status label.

    Widget updates travel over the kernel's comm channel while the cell is still running, so the
    bar moves even though ``%dataops run --wait`` blocks the cell. Without ipywidgets, or outside a
    kernel (terminal IPython cannot draw widgets), it is a text bar updated in place.
    """

    def __init__(self, job: Job, *, use_widgets: bool = True) -> None:
        from IPython.display import display

        self._widgets: Any = None
        self._text = progress_bar(job)
        try:
            if not use_widgets:
                raise ImportError("widgets not wanted")
            import ipywidgets as widgets
        except ImportError:
            self._handle: Any = display(_TextView(self._text), display_id=True)
            return
        self._bar = widgets.IntProgress(
            value=0,
            min=0,
            max=max(1, job.progress.cells_total),
            description=job.name[:20],
            layout=widgets.Layout(width="40%"),
            style={"description_width": "initial"},
        )
        self._label = widgets.Label(value=_status_text(job))
        self._widgets = widgets.HBox([self._bar, self._label])
        display(self._widgets)
        self.update(job)

    def close(self) -> None:
        pass

    def update(self, job: AnyJob) -> None:
        if self._widgets is None:
            text = progress_bar(job)
            if text != self._text:  # a terminal prints every update: only print changes
                self._text = text
                self._handle.update(_TextView(text))
            return
        self._bar.max = max(1, job.progress.cells_total)
        self._bar.value = min(job.progress.cells_completed, self._bar.max)
        self._bar.bar_style = _BAR_STYLES.get(job.status, "info")
        if job.status is JobStatus.COMPLETED:
            self._bar.value = self._bar.max
        self._label.value = _status_text(job)


class _TextView:
    """A display object with a text and an HTML form, for front ends without widgets."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.text)}</pre>"


def link_href(job: Job, path: str, cwd: str | None = None) -> str:
    """``path`` (relative to the job's root) as a link relative to the kernel's working directory.

    JupyterLab resolves relative links in outputs against the notebook's folder, which is where
    it starts the kernel, and opens local files in a tab instead of downloading them.
    """
    target = Path(job.root_dir) / path
    href = os.path.relpath(target, cwd or os.getcwd())
    return Path(href).as_posix()


def outcome_html(job: Job, cwd: str | None = None) -> str:
    """The summary shown when a waited-for job ends: status, link to its output, its error."""
    parts = [f"<b>{html.escape(format_outcome(job))}</b>"]
    if job.output_path:
        href = html.escape(link_href(job, job.output_path, cwd), quote=True)
        parts.append(f'Executed notebook: <a href="{href}">{html.escape(job.output_path)}</a>')
    if job.html_path:
        href = html.escape(link_href(job, job.html_path, cwd), quote=True)
        parts.append(f'HTML: <a href="{href}">{html.escape(job.html_path)}</a>')
    return "<br>".join(parts)


class JobOutcome:
    """The end of a waited-for job, with an HTML form (a link the notebook opens) and a text form."""

    def __init__(self, job: Job, cwd: str | None = None) -> None:
        self.job = job
        self.cwd = cwd

    def __repr__(self) -> str:
        return format_outcome(self.job)

    def _repr_html_(self) -> str:
        return outcome_html(self.job, self.cwd)


def show_outcome(job: Job, cwd: str | None = None) -> None:
    """Display the outcome and, for a failed job, the failing cell's traceback on stderr (with its
    colours: the notebook renders ANSI codes in stream output)."""
    from IPython.display import display

    display(JobOutcome(job, cwd))
    if job.status is JobStatus.FAILED and job.error is not None:
        if job.error.traceback:
            print("\n".join(job.error.traceback), file=sys.stderr)
        else:
            print(format_error(job), file=sys.stderr)


class JobTable:
    """A page of jobs that renders as an HTML table in a notebook and as text in a terminal.

    ``page`` is the :class:`JobPage`; ``jobs`` its :class:`JobSummary` items.
    """

    def __init__(self, page: JobPage, cwd: str | None = None) -> None:
        self.page = page
        self.cwd = cwd

    @property
    def jobs(self) -> list[JobSummary]:
        return self.page.items

    def __repr__(self) -> str:
        return format_job_table(self.page)

    def _repr_html_(self) -> str:
        if not self.page.items:
            return f"<p>{html.escape(format_job_table(self.page))}</p>"
        head = "".join(f"<th>{c}</th>" for c in TABLE_COLUMNS)
        rows = []
        for job in self.page.items:
            cells = job_row(job)
            tds = "".join(f"<td>{html.escape(cells[c])}</td>" for c in TABLE_COLUMNS)
            title = html.escape(format_error(job), quote=True)
            rows.append(f'<tr title="{title}">{tds}</tr>' if title else f"<tr>{tds}</tr>")
        footer = page_footer(self.page)
        footer = f"<p>{html.escape(footer)}</p>" if footer else ""
        return (
            f'<table class="dataops-jobs"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>{footer}"
        )


#: Colours of a recent outcome in a schedule's sparkline (JupyterLab's success, error, muted).
SPARK_COLOURS = {
    "completed": "#388e3c",
    "failed": "#d32f2f",
    "cancelled": "#9e9e9e",
    "running": "#1976d2",
    "queued": "#90caf9",
    "skipped": "#bdbdbd",
    "missed": "#f57c00",
}


def sparkline_svg(recent: list[str]) -> str:
    """Recent outcomes (oldest first) as small bars, tall for runs that ended, short for due
    times that did not run; each bar says its outcome on hover."""
    if not recent:
        return "-"
    bars = []
    for i, outcome in enumerate(recent):
        height = 14 if outcome in ("completed", "failed", "cancelled", "running") else 6
        colour = SPARK_COLOURS.get(outcome, "#bdbdbd")
        bars.append(
            f'<rect x="{i * 6}" y="{14 - height}" width="4" height="{height}" rx="1" '
            f'fill="{colour}"><title>{html.escape(outcome)}</title></rect>'
        )
    label = html.escape(", ".join(recent), quote=True)
    return (
        f'<svg width="{len(recent) * 6 - 2}" height="14" role="img" aria-label="{label}">'
        f"{''.join(bars)}</svg>"
    )


class ScheduleTable:
    """A page of schedules: an HTML table with sparklines in a notebook, text in a terminal."""

    def __init__(self, page: SchedulePage) -> None:
        self.page = page

    @property
    def schedules(self) -> list[ScheduleSummary]:
        return self.page.items

    def __repr__(self) -> str:
        return format_schedule_table(self.page)

    def _repr_html_(self) -> str:
        if not self.page.items:
            return f"<p>{html.escape(format_schedule_table(self.page))}</p>"
        head = "".join(f"<th>{c}</th>" for c in SCHEDULE_COLUMNS)
        rows = []
        for item in self.page.items:
            cells = {c: html.escape(v) for c, v in schedule_row(item).items()}
            cells["recent"] = sparkline_svg(item.recent)
            tds = "".join(f"<td>{cells[c]}</td>" for c in SCHEDULE_COLUMNS)
            rows.append(f'<tr title="{html.escape(item.description, quote=True)}">{tds}</tr>')
        more = ""
        if self.page.next_cursor:
            more = (
                f"<p>{len(self.page.items)} of {self.page.total}; next page: "
                f"<code>--cursor {html.escape(self.page.next_cursor)}</code></p>"
            )
        return (
            f'<table class="dataops-schedules"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>{more}"
        )


#: How a push state looks in a notebook's snapshot table.
_PUSH_BADGES = {
    "pushed": ("✓", "#2e7d32", "on the remote"),
    "pending": ("…", "#f9a825", "waiting to be pushed"),
    "failed": ("✗", "#c62828", "not pushed"),
    "none": ("", "#757575", "nothing to push"),
}


class SnapshotTable:
    """A page of snapshots: an HTML table in a notebook (each row's data size as a bar against
    the largest, its push state as a badge), text in a terminal."""

    def __init__(self, page: SnapshotPage) -> None:
        self.page = page

    def __repr__(self) -> str:
        from ..commands.snapshots import format_snapshot_table

        return format_snapshot_table(self.page)

    def _repr_html_(self) -> str:
        from ..commands.snapshots import COLUMNS, format_snapshot_table, snapshot_row

        if not self.page.items:
            return f"<p>{html.escape(format_snapshot_table(self.page))}</p>"
        largest = max(item.size for item in self.page.items) or 1
        head = "".join(f"<th>{c}</th>" for c in COLUMNS)
        rows = []
        for item in self.page.items:
            cells = {c: html.escape(v) for c, v in snapshot_row(item).items()}
            width = max(1, round(60 * item.size / largest)) if item.size else 0
            cells["data"] = (
                f'<svg width="62" height="10" role="img" aria-label="{cells["data"]}">'
                f'<rect width="{width}" height="10" fill="#1976d2"/></svg> {cells["data"]}'
            )
            mark, colour, words = _PUSH_BADGES[item.push_status.value]
            cells["push"] = (
                f'<span style="color:{colour}" title="{html.escape(words, quote=True)}">'
                f"{mark} {cells['push']}</span>"
            )
            tds = "".join(f"<td>{cells[c]}</td>" for c in COLUMNS)
            rows.append(f"<tr>{tds}</tr>")
        more = ""
        if self.page.next_cursor:
            more = (
                f"<p>{len(self.page.items)} of {self.page.total}; next page: "
                f"<code>--cursor {html.escape(self.page.next_cursor)}</code></p>"
            )
        return (
            f'<table class="dataops-snapshots"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>{more}"
        )


class Follower:
    """One thread per kernel that keeps the progress bars of queued jobs moving after their cells
    have finished: it asks for all followed jobs at once every ``interval`` seconds and ends
    when none is left (or after ``limit`` seconds). Widget updates from a thread reach the front
    end through the kernel's comm channel."""

    interval = 0.5
    limit = 24 * 3600.0

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._views: dict[str, tuple[Any, Any]] = {}  # job id -> (client, view)
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def add(self, client: Any, job: Job, view: Any) -> None:
        import threading

        with self._lock:
            self._views[job.id] = (client, view)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="dataops-follower", daemon=True
                )
                self._thread.start()

    @property
    def following(self) -> set[str]:
        with self._lock:
            return set(self._views)

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        import time

        deadline = time.monotonic() + self.limit
        while True:
            done = self._stopped.wait(self.interval) or time.monotonic() > deadline
            with self._lock:
                # Decided under the lock: add() starts a new thread once this one has gone.
                if done or not self._views:
                    self._thread = None
                    return
                views = dict(self._views)
            by_client: dict[int, tuple[Any, list[str]]] = {}
            for job_id, (client, _) in views.items():
                by_client.setdefault(id(client), (client, []))[1].append(job_id)
            for client, ids in by_client.values():
                try:
                    seen = {s.id: s for s in client.summaries(ids)}
                except Exception:  # the server went away: try again next time
                    continue
                for job_id in ids:
                    summary = seen.get(job_id)
                    if summary is not None:
                        views[job_id][1].update(summary)
                    if summary is None or summary.status.is_terminal:
                        with self._lock:
                            self._views.pop(job_id, None)
