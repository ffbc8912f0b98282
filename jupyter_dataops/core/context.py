"""The small context every capability's core shares: configuration, the store, where files go,
the clock and the acting user. Capabilities get it instead of reaching for globals, so tests and
adapters can give them another store, clock or user."""

from __future__ import annotations

import dataclasses
import time as _time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .files import FileStore, LocalFileStore

if TYPE_CHECKING:
    from .config import DataOps
    from .store import Store


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch (what rows record)."""

    def monotonic(self) -> float:
        """Seconds for measuring durations (time limits)."""


class SystemClock:
    time = staticmethod(_time.time)
    monotonic = staticmethod(_time.monotonic)


def local_files(root_dir: str) -> FileStore:
    return LocalFileStore(root_dir)


@dataclasses.dataclass(frozen=True)
class Context:
    config: DataOps
    store: Store
    #: The file store of a job's files, given the job's root directory.
    files: Callable[[str], FileStore] = local_files
    clock: Clock = dataclasses.field(default_factory=SystemClock)
    #: Who acts when a call names nobody: the OS user for the CLI, the job's owner in a worker.
    actor: str | None = None

    @property
    def root(self) -> Path:
        return Path(self.config.root_dir).resolve()

    def with_root(self, root_dir: str | Path) -> Context:
        from .config import DataOps

        config = DataOps(parent=self.config.parent, config=self.config.config)
        config.root_dir = str(root_dir)
        return dataclasses.replace(self, config=config)
