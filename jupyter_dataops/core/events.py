"""Versioned events that tell the UI what changed (emitted through jupyter_events by the server).

Each capability has its schema under ``server/event_schemas/<kind>/v<N>.yaml``; an event carries
the change's sequence number (``seq``) from the store's change log, so a client can tell whether
it has missed one and never applies one twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import Change

JOB_EVENT_SCHEMA_ID = "https://events.jupyter-dataops.org/job/v2"
JOB_EVENT_SCHEMA_VERSION = "2"
SCHEDULE_EVENT_SCHEMA_ID = "https://events.jupyter-dataops.org/schedule/v1"
SNAPSHOT_EVENT_SCHEMA_ID = "https://events.jupyter-dataops.org/snapshot/v1"
ENDPOINT_EVENT_SCHEMA_ID = "https://events.jupyter-dataops.org/endpoint/v1"
SANDBOX_EVENT_SCHEMA_ID = "https://events.jupyter-dataops.org/sandbox/v1"
SCHEMAS_DIR = Path(__file__).parent.parent / "server" / "event_schemas"


def job_event(change: Change, job: Any | None) -> dict[str, Any]:
    """The payload of one job event (schema: server/event_schemas/job/v2.yaml)."""
    data: dict[str, Any] = {"action": change.action, "id": change.id, "seq": change.seq}
    if job is not None and change.action != "deleted":
        data.update(
            status=job.status.value,
            cells_completed=job.progress.cells_completed,
            cells_total=job.progress.cells_total,
        )
    return data


def schedule_event(change: Change, schedule: Any | None) -> dict[str, Any]:
    """The payload of one schedule event (schema: server/event_schemas/schedule/v1.yaml)."""
    data: dict[str, Any] = {"action": change.action, "id": change.id, "seq": change.seq}
    if schedule is not None and change.action != "deleted":
        data.update(status=schedule.status.value, next_run_at=schedule.next_run_at)
    return data


def snapshot_event(change: Change, snapshot: Any | None) -> dict[str, Any]:
    """The payload of one snapshot event (schema: server/event_schemas/snapshot/v1.yaml)."""
    data: dict[str, Any] = {"action": change.action, "id": change.id, "seq": change.seq}
    if snapshot is not None and change.action != "deleted":
        data.update(status=snapshot.status.value, push_status=snapshot.push_status.value)
        if snapshot.phase:
            data["phase"] = snapshot.phase
    return data


def endpoint_event(change: Change, endpoint: Any | None) -> dict[str, Any]:
    """The payload of one endpoint event (schema: server/event_schemas/endpoint/v1.yaml)."""
    data: dict[str, Any] = {"action": change.action, "id": change.id, "seq": change.seq}
    if endpoint is not None and change.action != "deleted":
        data.update(status=endpoint.status.value, version=endpoint.version)
        if endpoint.drift_score is not None:
            data["drifted"] = endpoint.drift_score > endpoint.drift_threshold
    return data


def sandbox_event(change: Change, sandbox: Any | None) -> dict[str, Any]:
    """The payload of one sandbox event (schema: server/event_schemas/sandbox/v1.yaml)."""
    data: dict[str, Any] = {"action": change.action, "id": change.id, "seq": change.seq}
    if sandbox is not None and change.action != "deleted":
        data.update(status=sandbox.status.value, progress=sandbox.progress)
        if sandbox.warning:
            data["warning"] = sandbox.warning
        if sandbox.error:
            data["error"] = sandbox.error
    return data
