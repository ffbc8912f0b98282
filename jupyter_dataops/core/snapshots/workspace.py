"""The contract of a project workspace that snapshots record and restore: code through a version
control system, data through a content-addressed data store. ``backends.local.workspace``
implements it with git and DVC; the core only sees these plain records."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class DataOut:
    """One tracked data path: a file or a directory, by its content hash."""

    path: str  #: relative to the project root
    hash: str  #: DVC's md5 (a directory's ends in ``.dir``)
    size: int
    nfiles: int


@dataclasses.dataclass(frozen=True)
class WorkspaceInfo:
    """Where the project's repositories are, and what first use would create."""

    root: str
    git_root: str | None  #: the git work tree containing the project, if any
    dvc_root: str | None  #: the DVC repository at the project root, if any
    remote: str | None  #: the DVC remote data is pushed to (a URL, passwords removed)

    @property
    def ready(self) -> bool:
        return self.git_root is not None and self.dvc_root is not None

    def missing(self) -> list[str]:
        return [
            name for name, where in (("git", self.git_root), ("DVC", self.dvc_root)) if not where
        ]


@dataclasses.dataclass(frozen=True)
class Recorded:
    """What recording the workspace made: a commit (under the project's own ref) and the data
    outputs it names."""

    commit: str
    tree: str
    ref: str
    data: list[DataOut]
    #: A digest of the data paths' file metadata (paths, sizes, times): equal digests mean the
    #: data was not touched, so hashing it again can be skipped.
    fingerprint: str
    data_changed: bool
    #: Tabular files' content hashes, by path (what their profiles are keyed by).
    tabular: dict[str, str]
    #: What the user should know (data edited in place through cache links...).
    warnings: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class FileChange:
    path: str
    change: str  #: added, deleted, modified


@dataclasses.dataclass(frozen=True)
class Restored:
    files: list[FileChange]  #: code and notebooks written or removed
    data: list[FileChange]  #: data files written or removed
    verified: int  #: data files whose content hash was checked against the snapshot


class Workspace(Protocol):
    def info(self) -> WorkspaceInfo: ...

    def init(self) -> WorkspaceInfo:
        """Create what is missing (a git repository, a DVC repository with cache links and a
        default remote), leaving the user's branch and index as they were."""

    def record(
        self,
        ref_name: str,
        *,
        message: str,
        author: str,
        parent: str | None,
        previous: Recorded | None,
        on_phase: Callable[[str], None] | None = None,
        reuse: Callable[[str], Recorded | None] | None = None,
    ) -> Recorded:
        """Version the data paths with DVC and commit the project under ``ref_name`` (never the
        user's branch, index or stash). ``previous`` lets unchanged data skip hashing;
        ``on_phase`` hears what it is doing ("hashing data", "committing"); ``reuse`` finds an
        earlier snapshot by the fingerprint of its data (data restored from it is not hashed
        again)."""

    def restore(
        self, commit: str, *, current: str, paths: list[str] | None, data: list[DataOut]
    ) -> Restored:
        """Make the project (or ``paths`` in it) what ``commit`` recorded; ``current`` is a
        commit of the present state (the safety snapshot). Verifies every data file's hash."""

    def check_paths(self, commit: str, paths: list[str], data: list[DataOut]) -> None:
        """InvalidInput for paths that neither ``commit`` nor the project has."""

    def unchanged(self, previous: Recorded) -> bool:
        """Whether the project is still what ``previous`` recorded (cheap: no data hashing)."""

    def state(self) -> tuple[str, str]:
        """(data fingerprint, code tree) of the project now (cheap: no data hashing)."""

    def diff_files(self, a: str, b: str) -> list[FileChange]: ...

    def diff_data(self, a: list[DataOut], b: list[DataOut]) -> list[FileChange]: ...

    def push(self, data: list[DataOut], commit: str) -> None:
        """Upload the data objects that ``commit`` names to the remote (raises with the reason
        when it cannot)."""

    def drop_ref(self, ref_name: str) -> None: ...

    def export_data(self, data: list[DataOut], into: Path) -> int:
        """Put the snapshot's data files under ``into`` (same relative paths), linked from the
        cache (fetched from the remote when the cache lacks them) and verified; leaves the
        project as it is. Returns how many files."""
