"""The local backends: the job executor that runs notebooks with papermill on this machine."""

from .executor import LocalExecutor

__all__ = ["LocalExecutor"]
