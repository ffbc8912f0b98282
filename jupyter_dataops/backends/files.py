"""Job file stores: the local one (a job's root directory, where JupyterLab opens the files) or
object storage through fsspec (``c.DataOps.job_files_url = "s3://bucket/dataops"``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import BackendUnavailable
from ..core.files import FileStore, LocalFileStore, check_key

if TYPE_CHECKING:
    from ..core.config import DataOps


class FsspecFileStore:
    """Keys under an fsspec URL (``s3://bucket/prefix``, ``gs://...``, ``file:///shared/dir``)."""

    def __init__(self, url: str) -> None:
        try:
            import fsspec
        except ImportError as exc:  # pragma: no cover - fsspec comes with papermill's deps
            raise BackendUnavailable(
                "Job files in object storage need fsspec.", hint="pip install fsspec"
            ) from exc
        self.url = url.rstrip("/")
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url)
        except ImportError as exc:  # e.g. s3:// without s3fs
            raise BackendUnavailable(
                f"c.DataOps.job_files_url = {url!r} needs a package that is not installed: {exc}",
                hint="Install the fsspec implementation for that URL (s3fs, gcsfs, adlfs...).",
            ) from None
        except (ValueError, OSError) as exc:
            raise BackendUnavailable(
                f"c.DataOps.job_files_url = {url!r} cannot be used: {exc}",
                hint="Give an fsspec URL such as s3://bucket/prefix, or a local folder.",
            ) from None
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self._local = bool({"file", "local"} & set(protocols))

    def _path(self, key: str) -> str:
        return f"{self.root}/{check_key(key).as_posix()}"

    def uri(self, key: str) -> str:
        return self._path(key) if self._local else self.fs.unstrip_protocol(self._path(key))

    def local_path(self, key: str) -> Path | None:
        return Path(self._path(key)) if self._local else None

    def write_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        self.fs.pipe_file(path, data)

    def read_bytes(self, key: str, offset: int = 0, size: int = -1) -> bytes:
        path = self._path(key)
        if not self.fs.exists(path):
            raise FileNotFoundError(key)
        end = None if size < 0 else offset + size
        data: bytes = self.fs.cat_file(path, start=offset or None, end=end)
        return data

    def size(self, key: str) -> int | None:
        try:
            return int(self.fs.size(self._path(key)))
        except FileNotFoundError:
            return None

    def mtime(self, key: str) -> float | None:
        try:
            info: dict[str, Any] = self.fs.info(self._path(key))
        except FileNotFoundError:
            return None
        value: Any = info.get("mtime") or info.get("LastModified") or info.get("updated")
        if value is None:
            return 0.0
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        return float(value)

    def delete_tree(self, key: str) -> None:
        path = self._path(key)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)


def file_store_factory(dataops: DataOps) -> Callable[[str], FileStore]:
    """``files(root_dir)`` for a context: the configured object store, else the job's root."""
    url = dataops.job_files_url
    if not url:
        return LocalFileStore
    made: list[FileStore] = []

    def files(_root: str) -> FileStore:
        # Made on first use, so a store that cannot be reached fails the request that needs it
        # (with the reason), not the server's start.
        if not made:
            made.append(FsspecFileStore(url))
        return made[0]

    return files
