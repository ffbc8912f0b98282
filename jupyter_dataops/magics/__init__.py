"""``%dataops``: run notebooks as jobs and manage them from a notebook or IPython.

    %load_ext jupyter_dataops
    job = %dataops run train.ipynb -p alpha 0.5 --wait
    %dataops jobs --status failed
    %dataops show 3f2a

The words are those of the ``dataops`` CLI, parsed by the same parser (:mod:`jupyter_dataops.adapters`)
into the same typed commands; each command has one handler here. See docs/magics.md.

Where jobs live: when the kernel was started by a Jupyter server, the root directory is that
server's root (so output links open in JupyterLab and the panel shows the same paths); otherwise it
is the kernel's working directory. Notebook paths on the magic line are relative to the kernel's
working directory, like ``open()`` (JupyterLab starts a kernel in its notebook's folder).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from ..adapters import (
    CancelCommand,
    Command,
    DeleteCommand,
    ListCommand,
    LogsCommand,
    RerunCommand,
    RunCommand,
    ShowCommand,
    UsageProblem,
    WorkerCommand,
    current_actor,
    format_job_details,
    format_worker_report,
    parse_command,
    service_from_environment,
    to_json,
    worker_report,
)
from ..core.errors import DataOpsError
from ..core.jobs.models import Job
from ..core.jobs.service import DataOpsService

#: How often a waiting magic looks at the store; the worker writes progress once per cell.
WAIT_INTERVAL_SECONDS = 0.1
#: How long a progress bar shown without --wait keeps following its job.
FOLLOW_LIMIT_SECONDS = 24 * 3600.0


def server_root_dir(cwd: str | None = None) -> str | None:
    """The root directory of the Jupyter server that started this kernel, if there is one.

    jupyter_client puts the server's pid in the kernel's ``JPY_PARENT_PID``; the server writes its
    pid and root_dir to ``jpserver-<pid>.json`` in the runtime directory. Only a root that contains
    the working directory is used: anything else means the guess is wrong.
    """
    parent = os.environ.get("JPY_PARENT_PID", "")
    if not parent.isdigit():
        return None
    from jupyter_core.paths import jupyter_runtime_dir

    runtime = Path(jupyter_runtime_dir())
    cwd_path = Path(cwd or os.getcwd()).resolve()
    for info_file in sorted(runtime.glob("jpserver-*.json")):
        try:
            info = json.loads(info_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if str(info.get("pid")) != parent or not info.get("root_dir"):
            continue
        root = Path(os.path.expanduser(info["root_dir"])).resolve()
        if root == cwd_path or root in cwd_path.parents:
            return str(root)
    return None


def _cell_parameters(cell: str) -> list[tuple[str, str]]:
    """``NAME = VALUE`` lines of a ``%%dataops run`` cell, as more ``-p NAME VALUE`` pairs."""
    pairs = []
    for number, raw in enumerate(cell.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip().isidentifier():
            raise UsageError(
                f"Line {number} of the cell is not `name = value`: {raw!r}. "
                "Write one parameter per line, e.g. `alpha = 0.5`."
            )
        pairs.append((name.strip(), value.strip()))
    return pairs


@magics_class
class DataOpsMagics(Magics):
    """The ``%dataops`` line magic (and ``%%dataops run`` with parameters in the cell body)."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._services: dict[str, DataOpsService] = {}
        self.handlers: dict[type[Command], Callable[[Any], Any]] = {
            RunCommand: self.run,
            ListCommand: self.list,
            ShowCommand: self.show,
            LogsCommand: self.logs,
            CancelCommand: self.cancel,
            DeleteCommand: self.delete,
            RerunCommand: self.rerun,
            WorkerCommand: self.worker,
        }

    # -- entry point -------------------------------------------------------------------------
    @line_cell_magic
    def dataops(self, line: str, cell: str | None = None) -> Any:
        """Run notebooks as jobs and manage them; ``%dataops --help`` lists the commands.

        ``%dataops run NOTEBOOK [-p NAME VALUE]... [--wait]`` returns the :class:`Job`.
        """
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"Cannot split the line into words: {exc}.") from None
        try:
            command = parse_command(words, prog="%dataops")
        except SystemExit:  # --help or --version printed their text
            return None
        except UsageProblem as exc:
            raise UsageError(f"{exc.message}\n{exc.usage.rstrip()}") from None
        except DataOpsError as exc:
            raise UsageError(str(exc)) from None
        if cell is not None and cell.strip():
            if not isinstance(command, (RunCommand, RerunCommand)):
                raise UsageError(
                    "Only `%%dataops run` and `%%dataops rerun` take a cell (parameters, one "
                    "`name = value` per line)."
                )
            command = command.model_copy(
                update={"parameters": [*command.parameters, *_cell_parameters(cell)]}
            )
        try:
            return self.handlers[type(command)](command)
        except DataOpsError as exc:
            # One line, no traceback: IPython shows a UsageError as its message only.
            raise UsageError(str(exc)) from None

    # -- the service ---------------------------------------------------------------------------
    def root_dir(self, command: Command) -> str:
        if command.root_dir:
            return str(Path(command.root_dir).expanduser().resolve())
        return server_root_dir() or os.getcwd()

    def service(self, command: Command) -> DataOpsService:
        """One service per root directory, kept for the life of the kernel (opening the store
        and its executor once, not on every line)."""
        root = self.root_dir(command)
        if root not in self._services:
            self._services[root] = service_from_environment(root)
        return self._services[root]

    def close(self) -> None:
        for service in self._services.values():
            service.close()
        self._services.clear()

    # -- handlers ------------------------------------------------------------------------------
    def run(self, command: RunCommand) -> Job:
        service = self.service(command)
        # Relative to the kernel's folder, like open(); the core wants it relative to the root
        # (and then names it that way in its messages).
        notebook = os.path.relpath(
            os.path.abspath(os.path.expanduser(command.notebook)), service.root
        )
        job = service.create_job(command.to_request(notebook), actor=current_actor())
        return self._started(service, job, wait=command.wait, as_json=command.as_json)

    def rerun(self, command: RerunCommand) -> Job:
        service = self.service(command)
        job = service.rerun_job(command.job_id, command.to_request(), actor=current_actor())
        return self._started(service, job, wait=command.wait, as_json=command.as_json)

    def list(self, command: ListCommand) -> None:
        from .widgets import JobTable

        page = self.service(command).list_jobs(command.to_query())
        if command.as_json:
            print(to_json(page))
        else:
            display(JobTable(page))

    def show(self, command: ShowCommand) -> None:
        job = self.service(command).get_job(command.job_id)
        print(to_json(job) if command.as_json else format_job_details(job))

    def logs(self, command: LogsCommand) -> None:
        print(self.service(command).job_logs(command.job_id), end="")

    def cancel(self, command: CancelCommand) -> None:
        job = self.service(command).cancel_job(command.job_id, actor=current_actor())
        if command.as_json:
            print(to_json(job))
        elif job.status.is_terminal:
            print(f"Cancelled job {job.id}.")
        else:
            print(f"Asked job {job.id} to stop; it is {job.status.value}.")

    def delete(self, command: DeleteCommand) -> None:
        service = self.service(command)
        job = service.get_job(command.job_id)
        service.delete_job(job.id, actor=current_actor())
        print(f"Deleted job {job.id}.")

    def worker(self, command: WorkerCommand) -> None:
        report = worker_report(self.service(command), command.action)
        print(json.dumps(report, indent=2) if command.as_json else format_worker_report(report))

    @property
    def in_kernel(self) -> bool:
        """Whether a front end that can draw widgets may be attached (not terminal IPython)."""
        return getattr(self.shell, "kernel", None) is not None

    def _follow_in_background(self, service: DataOpsService, job: Job) -> None:
        """In a notebook, show a progress bar that keeps moving after the cell has finished.

        Only in a kernel with ipywidgets: widget updates from a thread reach the front end through
        the kernel's comm channel, while a terminal has nothing to update. The thread ends with
        the job (or after FOLLOW_LIMIT_SECONDS) and dies with the kernel.
        """
        if not self.in_kernel:
            return
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            return
        from .widgets import JobProgress

        view = JobProgress(job)

        def follow() -> None:
            try:
                service.wait_for_job(
                    job.id, on_update=view.update, interval=0.5, timeout=FOLLOW_LIMIT_SECONDS
                )
            except Exception:  # the job was deleted, the store went away: stop following
                return

        threading.Thread(target=follow, name=f"dataops-follow-{job.id}", daemon=True).start()

    def _started(self, service: DataOpsService, job: Job, *, wait: bool, as_json: bool) -> Job:
        from .widgets import JobProgress, show_outcome

        for warning in job.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if not wait:
            if as_json:
                print(to_json(job))
            else:
                print(
                    f"Queued job {job.id} ({job.notebook_path}); `%dataops show {job.id}` follows it."
                )
                self._follow_in_background(service, job)
            return job
        view = JobProgress(job, use_widgets=self.in_kernel)
        try:
            job = service.wait_for_job(
                job.id, on_update=view.update, interval=WAIT_INTERVAL_SECONDS
            )
        except KeyboardInterrupt:
            job = service.get_job(job.id)
            print(
                f"Stopped waiting; job {job.id} is {job.status.value} and keeps going "
                f"(`%dataops cancel {job.id}` stops it).",
                file=sys.stderr,
            )
            return job
        if as_json:
            print(to_json(job))
        else:
            show_outcome(job)
        return job


def _job_text(job: Job, printer: Any, cycle: bool) -> None:
    printer.text(f"<Job {job.id} {job.status.value}: {job.notebook_path}>")


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%dataops``; also show :class:`Job` results as one line instead of every field."""
    magics = DataOpsMagics(ipython)
    ipython.register_magics(magics)
    ipython.display_formatter.formatters["text/plain"].for_type(Job, _job_text)


def unload_ipython_extension(ipython: Any) -> None:
    manager = ipython.magics_manager
    magics = manager.registry.get("DataOpsMagics")
    if isinstance(magics, DataOpsMagics):
        magics.close()
    manager.magics["line"].pop("dataops", None)
    manager.magics["cell"].pop("dataops", None)
    manager.registry.pop("DataOpsMagics", None)
    ipython.display_formatter.formatters["text/plain"].type_printers.pop(Job, None)


__all__ = ["DataOpsMagics", "load_ipython_extension", "server_root_dir", "unload_ipython_extension"]
