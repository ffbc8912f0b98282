"""``%dataops``: run notebooks as jobs and manage them from a notebook or IPython.

    %load_ext jupyter_dataops
    job = %dataops run train.ipynb -p alpha 0.5 --wait
    %dataops jobs --status failed
    %dataops jobs show 3f2a

The words are those of the ``dataops`` CLI: one command table (:mod:`jupyter_dataops.commands`)
drives both. See docs/magics.md.

Who acts, and where: in a kernel that a Jupyter server with jupyter-dataops started (or that the
worker started for a job), ``%dataops`` calls that server's REST API with the credential the
server gave the kernel, so it acts as the user the server authenticated, with the server's root
directory; the kernel never opens the store. Elsewhere (terminal IPython, a kernel started by
something else) it acts on the store directly as the OS user, like the CLI, rooted at the kernel's
working directory. Notebook paths on the magic line are relative to the kernel's working
directory, like ``open()`` (JupyterLab starts a kernel in its notebook's folder).
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from ..client import Client, HttpClient
from ..commands import TABLE, Invocation, UsageProblem
from ..core.errors import BackendUnavailable, DataOpsError
from ..core.identity import ENV_ACTOR, ENV_SERVER_ONLY
from ..core.jobs.models import Job, JobPage
from ..core.schedules.models import Schedule, SchedulePage
from ..core.snapshots.models import Snapshot, SnapshotPage


def _cell_parameters(cell: str) -> list[list[str]]:
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
        pairs.append([name.strip(), value.strip()])
    return pairs


class NotebookUi:
    """Results as rich output: widgets for progress (in a kernel), HTML tables and links."""

    def __init__(self, magics: DataOpsMagics) -> None:
        self.magics = magics

    def out(self, text: str) -> None:
        print(text)

    def err(self, text: str) -> None:
        print(text, file=sys.stderr)

    def show(self, value: Any, text: str) -> None:
        from IPython.display import display

        from .widgets import JobTable, ScheduleTable, SnapshotTable

        if isinstance(value, JobPage):
            display(JobTable(value))
        elif isinstance(value, SchedulePage):
            display(ScheduleTable(value))
        elif isinstance(value, SnapshotPage):
            display(SnapshotTable(value))
        elif isinstance(value, Job):
            print(f"Queued job {value.id} ({value.notebook_path}).")
        else:
            print(text)

    def progress(self, job: Job) -> Any:
        from .widgets import JobProgress

        return JobProgress(job, use_widgets=self.magics.in_kernel)

    def outcome(self, job: Job) -> None:
        from .widgets import show_outcome

        show_outcome(job)

    def follow(self, client: Client, job: Job) -> None:
        self.magics.follow(client, job)

    def notebook_path(self, client: Client, path: str) -> str:
        # Relative to the kernel's folder, like open(); the core wants it relative to the root.
        absolute = os.path.abspath(os.path.expanduser(path))
        return os.path.relpath(absolute, client.root)

    def namespace(self) -> dict[str, Any] | None:
        shell: Any = self.magics.shell
        hidden = getattr(shell, "user_ns_hidden", {})
        return {k: v for k, v in shell.user_ns.items() if k not in hidden}

    def load_variables(self, values: dict[str, Any]) -> None:
        shell: Any = self.magics.shell
        shell.user_ns.update(values)


@magics_class
class DataOpsMagics(Magics):
    """The ``%dataops`` line magic (and ``%%dataops run`` with parameters in the cell body)."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._clients: dict[str, Client] = {}
        self._follower: Any = None
        self.ui = NotebookUi(self)

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
            spec, args = TABLE.parse(words, prog="%dataops")
        except SystemExit:  # --help or --version printed their text
            return None
        except UsageProblem as exc:
            raise UsageError(f"{exc.message}\n{exc.usage.rstrip()}") from None
        except DataOpsError as exc:
            raise UsageError(str(exc)) from None
        if spec.cli_only:
            raise UsageError(
                f"`{' '.join(spec.words)}` runs in a terminal, not in a notebook: "
                f"`dataops {' '.join(spec.words)}`."
            )
        if cell is not None and cell.strip():
            if not spec.takes_cell:
                raise UsageError(
                    "Only `%%dataops run`, `jobs rerun`, `schedule`, `schedules edit` and "
                    "`schedules run` take a cell (parameters, one `name = value` per line)."
                )
            args.parameters = [*(args.parameters or []), *_cell_parameters(cell)]
        try:
            client = self.client(getattr(args, "root_dir", None))
            value, _ = spec.run(Invocation(args=args, client=client, ui=self.ui))
        except DataOpsError as exc:
            # One line, no traceback: IPython shows a UsageError as its message only.
            raise UsageError(str(exc)) from None
        except KeyboardInterrupt:
            print(
                "Stopped waiting; the job keeps going (`%dataops jobs cancel ID` stops it).",
                file=sys.stderr,
            )
            return None
        return value if spec.returns_value else None

    # -- where it acts -------------------------------------------------------------------------
    def client(self, root_dir: str | None = None) -> Client:
        """Through the server that started this kernel, else on the store; kept for the life of
        the kernel (one per root directory)."""
        remote = HttpClient.from_environment()
        if remote is not None:
            if root_dir:
                raise DataOpsError(
                    "--root-dir does not apply in a kernel started by a Jupyter server: jobs "
                    f"run in the server's root directory ({remote.root}).",
                    hint="Leave out --root-dir.",
                )
            return self._clients.setdefault("", remote)
        if os.environ.get(ENV_SERVER_ONLY):
            raise BackendUnavailable(
                "%dataops cannot act in this kernel: it runs in a pod on the cluster, which has "
                "no store of its own, and the server gave it no address to reach it at.",
                hint='An operator sets c.Kubernetes.server_url = "http://<service>.<namespace>'
                '.svc:8888" (where pods reach the Jupyter server); start the kernel again then.',
            )
        root = str(Path(root_dir).expanduser().resolve()) if root_dir else os.getcwd()
        if root not in self._clients:
            from ..client import LocalClient
            from ..services import os_user, services_from_environment

            actor = os.environ.get(ENV_ACTOR) or os_user()
            self._clients[root] = LocalClient(services_from_environment(root, actor=actor))
        return self._clients[root]

    def close(self) -> None:
        if self._follower is not None:
            self._follower.stop()
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    @property
    def in_kernel(self) -> bool:
        """Whether a front end that can draw widgets may be attached (not terminal IPython)."""
        return getattr(self.shell, "kernel", None) is not None

    def follow(self, client: Client, job: Job) -> None:
        """In a notebook, show a progress bar that keeps moving after the cell has finished.

        Every followed job of this kernel shares one thread, which watches the change log and
        ends when no followed job is left; a terminal has nothing to update."""
        if not self.in_kernel:
            return
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            return
        from .widgets import Follower, JobProgress

        if self._follower is None:
            self._follower = Follower()
        self._follower.add(client, job, JobProgress(job))


def _job_text(job: Job, printer: Any, cycle: bool) -> None:
    printer.text(f"<Job {job.id} {job.status.value}: {job.notebook_path}>")


def _schedule_text(schedule: Schedule, printer: Any, cycle: bool) -> None:
    printer.text(
        f"<Schedule {schedule.id} {schedule.status.value}: {schedule.notebook_path}, "
        f"{schedule.description}>"
    )


def _snapshot_text(snapshot: Snapshot, printer: Any, cycle: bool) -> None:
    files = sum(entry.nfiles for entry in snapshot.data)
    printer.text(
        f"<Snapshot {snapshot.id} {snapshot.status.value}: {snapshot.message or '(no message)'}, "
        f"{files} data files, commit {(snapshot.commit or '-')[:10]}>"
    )


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%dataops``; also show :class:`Job` results as one line instead of every field."""
    magics = DataOpsMagics(ipython)
    ipython.register_magics(magics)
    ipython.display_formatter.formatters["text/plain"].for_type(Job, _job_text)
    ipython.display_formatter.formatters["text/plain"].for_type(Schedule, _schedule_text)
    ipython.display_formatter.formatters["text/plain"].for_type(Snapshot, _snapshot_text)


def unload_ipython_extension(ipython: Any) -> None:
    manager = ipython.magics_manager
    magics = manager.registry.get("DataOpsMagics")
    if isinstance(magics, DataOpsMagics):
        magics.close()
    manager.magics["line"].pop("dataops", None)
    manager.magics["cell"].pop("dataops", None)
    manager.registry.pop("DataOpsMagics", None)
    ipython.display_formatter.formatters["text/plain"].type_printers.pop(Job, None)
    ipython.display_formatter.formatters["text/plain"].type_printers.pop(Schedule, None)
    ipython.display_formatter.formatters["text/plain"].type_printers.pop(Snapshot, None)


__all__ = ["DataOpsMagics", "load_ipython_extension", "unload_ipython_extension"]
