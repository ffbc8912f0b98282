"""A papermill engine that reports per-cell progress to a listener.

papermill still does the work (parameter injection, execution through nbclient, error cells);
this engine only taps its NotebookExecutionManager's cell hooks. The local worker registers it as
``dataops`` itself: an entry point would make every papermill start import this package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from papermill.engines import NBClientEngine

#: listener(event, cell, index) with event in {"start", "complete", "exception"}
CellListener = Callable[[str, Any, int], None]


class DataOpsEngine(NBClientEngine):
    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
        listener: CellListener | None = kwargs.pop("dataops_listener", None)
        _save_at_next_start(nb_man)
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


def _save_at_next_start(nb_man: Any) -> None:
    """papermill saves the output notebook at each cell's start and again at its end. The save
    at the end is redundant: the next cell's start saves the same state a moment later, and
    papermill writes the finished notebook itself. Skipping it halves the writes (each one
    serialises and validates the whole notebook) without a reader ever seeing less."""
    save, complete = nb_man.save, nb_man.cell_complete
    in_complete = [False]

    def save_unless_completing(**kwargs: Any) -> Any:
        return None if in_complete[0] else save(**kwargs)

    def cell_complete(cell: Any, cell_index: int | None = None, **kwargs: Any) -> Any:
        in_complete[0] = True
        try:
            return complete(cell, cell_index, **kwargs)
        finally:
            in_complete[0] = False

    nb_man.save = save_unless_completing
    nb_man.cell_complete = cell_complete


def stream_lines(cell: Any) -> list[tuple[str, str]]:
    """A finished cell's stream output as (stream name, line) pairs, for a job's log."""
    lines = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            text = output.get("text", "")
            text = "".join(text) if isinstance(text, list) else str(text)
            lines += [
                (output.get("name", "stdout"), line) for line in text.rstrip("\n").splitlines()
            ]
    return lines
