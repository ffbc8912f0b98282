"""The interfaces a backend implements, re-exported for third parties. A package adds an executor
with an entry point::

    [project.entry-points."jupyter_dataops.executors"]
    slurm = "my_package.executor:SlurmExecutor"

and an operator selects it with ``c.DataOps.job_executor_class = "slurm"``. The contract itself
(what the core asks of an executor) lives with the core: ``jupyter_dataops.core.jobs.executor``.
"""

from __future__ import annotations

from ..core.jobs.executor import (
    ExecutionRequest,
    ExecutionUpdate,
    Executor,
    Report,
    StopReason,
)

__all__ = ["ExecutionRequest", "ExecutionUpdate", "Executor", "Report", "StopReason"]
