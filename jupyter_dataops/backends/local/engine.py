"""A papermill engine that reports per-cell progress to a listener.

papermill still does the work (parameter injection, execution through nbclient, error cells);
this engine only taps its NotebookExecutionManager's cell hooks. Registered as the papermill engine
``dataops`` through an entry point, and used by the local worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from papermill.engines import NBClientEngine

#: listener(event, cell, index) with event in {"start", "complete", "exception"}
CellListener = Callable[[str, Any, int], None]


class DataOpsEngine(NBClientEngine):
    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
        listener: CellListener | None = kwargs.pop("dataops_listener", None)
        save_every: float = kwargs.pop("dataops_save_every", 0.0)
        if save_every > 0:
            nb_man.save = _throttle(nb_man.save, save_every)
        if listener is not None:
            for event, hook in (
                ("start", "cell_start"),
                ("complete", "cell_complete"),
                ("exception", "cell_exception"),
            ):
                setattr(nb_man, hook, _tap(getattr(nb_man, hook), event, listener))
        return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)


def _tap(original: Callable[..., Any], event: str, listener: CellListener) -> Callable[..., Any]:
    def hook(cell: Any, cell_index: int | None = None, **kwargs: Any) -> Any:
        result = original(cell, cell_index, **kwargs)
        listener(event, cell, -1 if cell_index is None else cell_index)
        return result

    return hook


def _throttle(save: Callable[..., Any], every: float) -> Callable[..., Any]:
    """papermill saves the output notebook at every cell's start and end so a reader can follow
    a run; at most one save per ``every`` seconds keeps that while sparing a burst of short
    cells a write each. papermill writes the final notebook itself when the run ends."""
    last = [0.0]

    def throttled(**kwargs: Any) -> Any:
        now = time.monotonic()
        if now - last[0] < every:
            return None
        last[0] = now
        return save(**kwargs)

    return throttled
