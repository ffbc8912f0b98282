"""The interfaces a backend implements. A third party adds one through an entry point::

    [project.entry-points."jupyter_dataops.executors"]
    slurm = "my_package.executor:SlurmExecutor"

and selects it with ``c.DataOps.job_executor_class = "slurm"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from traitlets.config import LoggingConfigurable

if TYPE_CHECKING:
    from ..core.config import DataOps
    from ..store.orm import JobRow
    from ..store.repository import JobStore


class Executor(LoggingConfigurable):
    """Runs jobs that the service has stored as ``queued``.

    The store is the source of truth: an executor moves rows through their states and must, after
    a restart of any process, bring the store and the real world back in line (``reconcile``).
    """

    #: Short name stored with each job and matched by ``reconcile``.
    name: ClassVar[str] = "base"

    def __init__(self, *, dataops: DataOps, store: JobStore, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.dataops = dataops
        self.store = store

    def submit(self, job: JobRow) -> None:
        """Hand a queued job to the backend. Must return quickly; the job runs elsewhere."""
        raise NotImplementedError

    def cancel(self, job: JobRow) -> None:
        """Stop a running job whose row has ``cancel_requested`` set."""
        raise NotImplementedError

    def reconcile(self) -> list[str]:
        """Re-attach to or fail jobs that were running when a process stopped, and make sure
        queued jobs will run. Returns one line per action taken, for the log."""
        raise NotImplementedError

    def status(self) -> dict[str, Any]:
        """What the executor's own processes are doing (``dataops worker status``).

        ``running`` is None for executors that run no process of their own (e.g. a cluster)."""
        return {"executor": self.name, "running": None, "pid": None}

    def stop(self) -> dict[str, Any]:
        """Stop the executor's own processes, if any (their running jobs fail, or retry)."""
        return {**self.status(), "stopped": False}

    def warm_up(self) -> None:
        """Get ready for the first job (the server calls this on start). Optional."""

    def logs(self, job: JobRow) -> str:
        """The job's log as text (the local executor writes it next to the outputs)."""
        path = Path(job.output_dir) / "job.log"
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def close(self) -> None:
        """Release resources held in this process (not the jobs: they keep running)."""
