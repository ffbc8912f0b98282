"""A :class:`Job` model with plain defaults, for tests that feed jobs to code without a store."""

from __future__ import annotations

from typing import Any

from jupyter_dataops.core.jobs.models import Job, JobProgress, JobStatus


def make_job(**fields: Any) -> Job:
    """A queued job of ``ok.ipynb``; any field can be given. ``done``/``total`` set progress."""
    done, total = fields.pop("done", 0), fields.pop("total", 3)
    defaults: dict[str, Any] = {
        "id": "3f2a9c1b7d4e",
        "name": "ok",
        "notebook_path": "ok.ipynb",
        "root_dir": "/r",
        "status": JobStatus.QUEUED,
        "parameters": {},
        "kernel_name": "python3",
        "executor": "local",
        "created_at": 1.0,
        "updated_at": 2.0,
        "progress": JobProgress(cells_completed=done, cells_total=total),
    }
    return Job(**{**defaults, **fields})
