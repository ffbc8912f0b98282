"""``dataops``: run notebooks as jobs and manage them from a shell, with or without a Jupyter server.

    $ dataops run train.ipynb -p alpha 0.5 --wait
    3f2a9c1b7d4e
    [########################] 12/12 cells  completed  2.3s
    Job 3f2a9c1b7d4e completed in 2.3s; output: dataops-jobs/train-3f2a9c1b7d4e/train.ipynb

Exit codes: 0 success; 1 a waited-for job failed or was cancelled; otherwise the error's
``exit_code`` (2 invalid input or usage, 3 not found, 4 conflict, 5 forbidden, 6 policy,
7 backend unavailable); 130 when interrupted.

Start-up matters for a command people type: this path imports no papermill, nbconvert or
ipywidgets (the core imports them only where a job actually runs or renders).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from .adapters import (
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
    error_line,
    format_job_details,
    format_job_table,
    format_outcome,
    format_worker_report,
    parse_command,
    progress_bar,
    service_from_environment,
    stderr_is_tty,
    strip_ansi,
    to_json,
    worker_report,
)
from .core.errors import DataOpsError
from .core.jobs.models import Job, JobStatus

if TYPE_CHECKING:
    from .core.jobs.service import DataOpsService

#: How often ``--wait`` looks at the store; the worker writes progress once per cell.
WAIT_INTERVAL_SECONDS = 0.1


class TextProgress:
    """Job progress on a text stream: redrawn in place on a terminal, one line per change otherwise
    (so a CI log shows each step once instead of a wall of carriage returns)."""

    def __init__(self, stream: TextIO, *, in_place: bool) -> None:
        self.stream = stream
        self.in_place = in_place
        self._last_key: tuple[Any, ...] | None = None
        self._last_width = 0

    def update(self, job: Job) -> None:
        key = (job.status, job.progress.cells_completed, job.progress.cells_total, job.attempt)
        if key == self._last_key:
            return
        self._last_key = key
        text = progress_bar(job)
        if self.in_place:
            pad = " " * max(0, self._last_width - len(text))
            self.stream.write("\r" + text + pad)
            self._last_width = len(text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.in_place and self._last_key is not None:
            self.stream.write("\n")
            self.stream.flush()


class CommandLine:
    """One invocation: a handler per command, each parsing nothing and printing its result."""

    def __init__(self, service: DataOpsService, out: TextIO, err: TextIO) -> None:
        self.service = service
        self.out = out
        self.err = err
        self.handlers: dict[type[Command], Callable[[Any], int]] = {
            RunCommand: self.run,
            ListCommand: self.list,
            ShowCommand: self.show,
            LogsCommand: self.logs,
            CancelCommand: self.cancel,
            DeleteCommand: self.delete,
            RerunCommand: self.rerun,
            WorkerCommand: self.worker,
        }

    def dispatch(self, command: Command) -> int:
        return self.handlers[type(command)](command)

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def warn(self, job: Job) -> None:
        for warning in job.warnings:
            print(f"warning: {warning}", file=self.err)

    # -- handlers -------------------------------------------------------------------------------
    def run(self, command: RunCommand) -> int:
        job = self.service.create_job(command.to_request(), actor=current_actor())
        return self._started(job, wait=command.wait, as_json=command.as_json)

    def rerun(self, command: RerunCommand) -> int:
        job = self.service.rerun_job(command.job_id, command.to_request(), actor=current_actor())
        return self._started(job, wait=command.wait, as_json=command.as_json)

    def list(self, command: ListCommand) -> int:
        page = self.service.list_jobs(command.to_query())
        self.print(to_json(page) if command.as_json else format_job_table(page))
        return 0

    def show(self, command: ShowCommand) -> int:
        job = self.service.get_job(command.job_id)
        self.print(to_json(job) if command.as_json else format_job_details(job))
        return 0

    def logs(self, command: LogsCommand) -> int:
        text = self.service.job_logs(command.job_id)
        self.out.write(text if not text or text.endswith("\n") else text + "\n")
        return 0

    def cancel(self, command: CancelCommand) -> int:
        job = self.service.cancel_job(command.job_id, actor=current_actor())
        if command.as_json:
            self.print(to_json(job))
        elif job.status is JobStatus.CANCELLED:
            self.print(f"Cancelled job {job.id}.")
        else:
            self.print(f"Asked job {job.id} to stop; it is {job.status.value}.")
        return 0

    def delete(self, command: DeleteCommand) -> int:
        # Resolve a prefix first, so the message names the full id.
        job = self.service.get_job(command.job_id)
        self.service.delete_job(job.id, actor=current_actor())
        self.print(f"Deleted job {job.id}.")
        return 0

    def worker(self, command: WorkerCommand) -> int:
        report = worker_report(self.service, command.action)
        self.print(
            json.dumps(report, indent=2) if command.as_json else format_worker_report(report)
        )
        return 0

    # -- shared by run and rerun ----------------------------------------------------------------
    def _started(self, job: Job, *, wait: bool, as_json: bool) -> int:
        self.warn(job)
        if not as_json:
            self.print(job.id)
            self.out.flush()
        if not wait:
            if as_json:
                self.print(to_json(job))
            return 0
        job = self._wait(job)
        if as_json:
            self.print(to_json(job))
        else:
            print(format_outcome(job), file=self.err)
            if job.error and job.error.traceback and job.status is JobStatus.FAILED:
                traceback = "\n".join(job.error.traceback)
                print(traceback if stderr_is_tty() else strip_ansi(traceback), file=self.err)
        return 0 if job.status is JobStatus.COMPLETED else 1

    def _wait(self, job: Job) -> Job:
        progress = TextProgress(self.err, in_place=stderr_is_tty())
        try:
            return self.service.wait_for_job(
                job.id, on_update=progress.update, interval=WAIT_INTERVAL_SECONDS
            )
        finally:
            progress.close()


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Entry point of ``dataops``; returns the exit code (``sys.exit(main())``)."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = list(sys.argv[1:] if argv is None else argv)
    service = None
    try:
        command = parse_command(args)
        service = service_from_environment(command.root_dir)
        return CommandLine(service, out, err).dispatch(command)
    except UsageProblem as exc:
        err.write(exc.usage)
        print(f"dataops: error: {exc.message}", file=err)
        return exc.exit_code
    except DataOpsError as exc:
        print(error_line(exc), file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        print(
            "\ninterrupted; jobs already queued keep running (dataops jobs cancel ID stops one)",
            file=err,
        )
        return 130
    except BrokenPipeError:  # `dataops jobs list | head`
        return 0
    finally:
        if service is not None:
            service.close()


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
