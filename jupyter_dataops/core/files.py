"""Where a job's files live (staged input, executed notebook, HTML, log), addressed by key.

Rows store keys such as ``dataops-jobs/train-3f2a9c1b7e4d/input.ipynb``, never absolute paths, so
an execution can run where the server's filesystem is not (a pod reads and writes the same keys
in object storage). ``LocalFileStore`` keeps them under a job's root directory, where JupyterLab can
open them; ``jupyter_dataops.backends.files`` adds object storage through fsspec.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Protocol

from .errors import Forbidden


class FileStore(Protocol):
    def uri(self, key: str) -> str:
        """What an executor reads or writes (a local path, or an fsspec URL such as s3://...)."""

    def local_path(self, key: str) -> Path | None:
        """The file on this machine, or None if the store is elsewhere."""

    def write_bytes(self, key: str, data: bytes) -> None: ...

    def read_bytes(self, key: str, offset: int = 0, size: int = -1) -> bytes:
        """Raises FileNotFoundError if the key does not exist."""

    def size(self, key: str) -> int | None:
        """Bytes in the file, or None if it does not exist."""

    def mtime(self, key: str) -> float | None: ...

    def delete_tree(self, key: str) -> None:
        """Remove a folder of keys and everything under it; missing is fine."""


def check_key(key: str) -> PurePosixPath:
    """A key is a relative POSIX path that stays inside the store."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts or "\x00" in key:
        raise Forbidden(f"The file key {key!r} would leave the job file store.")
    return path


class LocalFileStore:
    """Keys as files under ``base`` (a job's root directory by default)."""

    def __init__(self, base: str | os.PathLike[str]) -> None:
        self.base = Path(base)

    def _path(self, key: str) -> Path:
        return self.base.joinpath(*check_key(key).parts)

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def write_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    def read_bytes(self, key: str, offset: int = 0, size: int = -1) -> bytes:
        with open(self._path(key), "rb") as f:
            if offset:
                f.seek(offset)
            return f.read(size)

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            return None

    def mtime(self, key: str) -> float | None:
        try:
            return self._path(key).stat().st_mtime
        except (FileNotFoundError, NotADirectoryError):
            return None

    def delete_tree(self, key: str) -> None:
        shutil.rmtree(self._path(key), ignore_errors=True)
