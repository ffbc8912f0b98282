"""``dataops``: run notebooks as jobs and manage them from a shell, with or without a Jupyter server.

    $ dataops run train.ipynb -p alpha 0.5 --wait
    3f2a9c1b7d4e
    [########################] 12/12 cells  completed  2.3s
    Job 3f2a9c1b7d4e completed in 2.3s; output: dataops-jobs/train-3f2a9c1b7d4e/train.ipynb

The commands are those of the ``%dataops`` magic (one table, ``jupyter_dataops.commands``). The
terminal CLI acts on the store directly, as the OS user. Exit codes: 0 success; 1 a waited-for job
failed or was cancelled; otherwise the error's ``exit_code`` (see docs/errors.md); 130 when
interrupted.

Start-up matters for a command people type: this path imports no papermill, nbconvert or
ipywidgets (the core imports them only where a job actually runs or renders).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .commands import TABLE, Invocation, UsageProblem
from .commands.render import error_line, format_outcome, progress_bar, strip_ansi
from .core.errors import DataOpsError, InvalidInput
from .core.jobs.models import Job, JobStatus


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class TextProgress:
    """Job progress on a text stream: redrawn in place on a terminal, one line per change otherwise
    (so a CI log shows each step once instead of a wall of carriage returns)."""

    def __init__(self, stream: TextIO, *, in_place: bool) -> None:
        self.stream = stream
        self.in_place = in_place
        self._last_key: tuple[Any, ...] | None = None
        self._last_width = 0

    def update(self, job: Job) -> None:
        key = (
            job.status,
            job.progress.cells_completed,
            job.progress.cells_total,
            job.attempt,
            job.pending_reason,
        )
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


class TerminalUi:
    """Results on stdout, everything else on stderr."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self._out = out
        self._err = err

    def out(self, text: str) -> None:
        print(text, file=self._out)
        self._out.flush()

    def err(self, text: str) -> None:
        print(text, file=self._err)

    def show(self, value: Any, text: str) -> None:
        self.out(text)

    def progress(self, job: Job) -> TextProgress:
        view = TextProgress(self._err, in_place=_is_tty(self._err))
        view.update(job)
        return view

    def outcome(self, job: Job) -> None:
        self.err(format_outcome(job))
        if job.status is JobStatus.FAILED and job.error and job.error.traceback:
            traceback = "\n".join(job.error.traceback)
            self.err(traceback if _is_tty(self._err) else strip_ansi(traceback))

    def follow(self, client: Any, job: Job) -> None:
        pass  # a terminal command ends when it has printed the id

    def notebook_path(self, client: Any, path: str) -> str:
        return path  # relative to the root directory, as the core reads it

    def namespace(self) -> dict[str, Any] | None:
        return None  # a terminal has no kernel

    def load_variables(self, values: dict[str, Any]) -> None:
        raise InvalidInput(
            "Variables load into a running kernel; a terminal has none.",
            hint="Run `%dataops snapshots load ID` in the notebook.",
        )


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Entry point of ``dataops``; returns the exit code (``sys.exit(main())``)."""
    out = out or sys.stdout
    err = err or sys.stderr
    words = list(sys.argv[1:] if argv is None else argv)
    client = None
    try:
        spec, args = TABLE.parse(words)
        from .client import LocalClient
        from .services import services_from_environment

        client = LocalClient(services_from_environment(getattr(args, "root_dir", None)))
        _, code = spec.run(Invocation(args=args, client=client, ui=TerminalUi(out, err)))
        return code
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
        if client is not None:
            client.close()


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
