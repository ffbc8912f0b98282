"""Versioned events that tell the UI what changed (emitted through jupyter_events by the server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

JOB_EVENT_SCHEMA_ID = "https://events.jupyter-dataops.org/job/v1"
JOB_EVENT_SCHEMA_VERSION = "1"
SCHEMAS_DIR = Path(__file__).parent.parent / "server" / "event_schemas"


def job_event(action: str, job_id: str, job: Any | None) -> dict[str, Any]:
    """The payload of one job event (schema: server/event_schemas/job/v1.yaml)."""
    data: dict[str, Any] = {"action": action, "job_id": job_id}
    if job is not None:
        data.update(
            status=job.status.value,
            cells_completed=job.progress.cells_completed,
            cells_total=job.progress.cells_total,
        )
    return data
