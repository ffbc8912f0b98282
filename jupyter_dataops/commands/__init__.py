"""The shell commands, one table for the CLI and the magic (see :mod:`.base`). A capability adds
its module here: its groups and commands join the table."""

from __future__ import annotations

from . import endpoints, jobs, sandboxes, schedules, snapshots
from .base import (
    CommandSpec,
    CommandTable,
    Invocation,
    Progress,
    Ui,
    UsageProblem,
)

TABLE = CommandTable(
    groups=[
        *jobs.GROUPS,
        *schedules.GROUPS,
        *snapshots.GROUPS,
        *endpoints.GROUPS,
        *sandboxes.GROUPS,
    ],
    commands=[
        *jobs.COMMANDS,
        *schedules.COMMANDS,
        *snapshots.COMMANDS,
        *endpoints.COMMANDS,
        *sandboxes.COMMANDS,
    ],
)

__all__ = ["TABLE", "CommandSpec", "CommandTable", "Invocation", "Progress", "Ui", "UsageProblem"]
