"""A project workspace on git and DVC (the ``Workspace`` contract of ``core.snapshots``).

- Data paths are versioned with DVC's Python API in this process (its CLI costs 0.3-0.8 s per
  call), with cache links (reflink or hardlink) so adding data does not copy it. Unchanged data
  (the same paths, sizes, times and inodes as an earlier snapshot, and the same ``.dvc`` files)
  is not hashed again.
- Code and notebooks are committed with git plumbing through a private index
  (``.git/dataops/index``) under ``refs/dataops/snapshots/<id>``: the user's branch, index,
  stash and work tree are never touched, except for the ``.dvc`` files and ``.gitignore``
  entries that ``dvc add`` makes.
- A restore writes only what differs, lets DVC check data out of its cache (fetching from the
  remote what is missing) and then verifies every data file's md5: a file whose inode, size and
  time are those it had when its md5 was computed here is known; any other file is hashed (see
  "what is known to hold which content" below).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ...core.errors import BackendUnavailable, Conflict, IntegrityError, InvalidInput
from ...core.snapshots.workspace import (
    DataOut,
    FileChange,
    Recorded,
    Restored,
    WorkspaceInfo,
)

log = logging.getLogger(__name__)

#: File name suffixes profiled as tables.
TABULAR_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
#: Files that hold no project content, never committed by a snapshot even when not ignored.
_ALWAYS_IGNORED = (":(exclude,glob)**/.ipynb_checkpoints/**",)


def _redact_url(url: str) -> str:
    return re.sub(r"//[^/@]*@", "//…@", url)


@contextlib.contextmanager
def _quiet_dvc() -> Iterator[None]:
    logger = logging.getLogger("dvc")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


class GitDvcWorkspace:
    """The project at ``root``: a git work tree (``root`` or a parent of it) with a DVC
    repository at ``root``."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        data_paths: list[str],
        cache_type: str = "hardlink,copy",
        default_remote: str | None = None,
        max_git_file_bytes: int = 50 * 1024 * 1024,
        lock_timeout: float = 120.0,
        excluded_paths: tuple[str, ...] = (),
    ) -> None:
        #: Project folders never committed (jobs' output folders).
        self.excluded_paths = excluded_paths
        self.root = Path(root).resolve()
        self.data_paths = [p.strip("/") for p in data_paths if p.strip("/")]
        self.cache_type = cache_type
        self.default_remote = default_remote
        self.max_git_file_bytes = max_git_file_bytes
        self.lock_timeout = lock_timeout

    # -- where things are ---------------------------------------------------------------

    def _git_root(self) -> Path | None:
        proc = subprocess.run(
            ["git", "-C", str(self.root), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            return None
        return Path(proc.stdout.strip()).resolve()

    def info(self) -> WorkspaceInfo:
        git_root = self._git_root()
        dvc_root = self.root if (self.root / ".dvc").is_dir() else None
        return WorkspaceInfo(
            root=str(self.root),
            git_root=str(git_root) if git_root else None,
            dvc_root=str(dvc_root) if dvc_root else None,
            remote=self._remote_url() if dvc_root else None,
        )

    def _require(self) -> Path:
        info = self.info()
        if not info.ready:
            raise InvalidInput(
                f"The project {str(self.root)!r} is not yet a "
                f"{' and '.join(info.missing())} repository.",
                hint="Agree to set it up: the sidebar asks, the CLI takes --init, the API init: true.",
                code="workspace_not_initialised",
            )
        return Path(info.git_root or self.root)

    # -- git plumbing -------------------------------------------------------------------

    def _git(
        self,
        *args: str,
        index: str | None = None,
        env: dict[str, str] | None = None,
        input: str | None = None,
        check: bool = True,
    ) -> str:
        full_env = dict(os.environ)
        # Never let the user's hooks, pager or prompts run inside the server.
        full_env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C")
        if index is not None:
            full_env["GIT_INDEX_FILE"] = index
        if env:
            full_env.update(env)
        proc = subprocess.run(
            ["git", "-C", str(self.root), *args],
            capture_output=True,
            text=True,
            env=full_env,
            input=input,
        )
        if check and proc.returncode != 0:
            raise IntegrityError(
                f"git {args[0]} failed: {proc.stderr.strip() or proc.stdout.strip()}",
                hint="Check the repository with `git status` and `git fsck`.",
            )
        return proc.stdout

    def _git_dir(self) -> Path:
        found = getattr(self, "_git_dir_path", None)
        if found is None:
            found = Path(self._git("rev-parse", "--absolute-git-dir").strip())
            self._git_dir_path = found
        return found

    def _private(self, name: str) -> Path:
        directory = self._git_dir() / "dataops"
        directory.mkdir(exist_ok=True)
        return directory / name

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One snapshot or restore at a time per project (across processes)."""
        path = self._private("lock")
        with open(path, "a+") as handle:
            deadline = time.monotonic() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise Conflict(
                            "Another snapshot or restore of this project is still running.",
                            hint="Wait for it to finish, then try again.",
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _scope(self, git_root: Path) -> str:
        """The project's path inside the git work tree ("." when it is the whole tree)."""
        rel = os.path.relpath(self.root, git_root)
        return "." if rel == "." else rel

    # -- set-up ---------------------------------------------------------------------------

    def init(self) -> WorkspaceInfo:
        from dvc.repo import Repo

        git_root = self._git_root()
        if git_root is None:
            self._git("init", "-q")
            git_root = self.root
        if not (self.root / ".dvc").is_dir():
            # dvc init stages its files; the user's index must stay as it was.
            index = self._git_dir() / "index"
            saved = index.read_bytes() if index.exists() else None
            try:
                with _quiet_dvc():
                    Repo.init(str(self.root), subdir=git_root != self.root).close()
            finally:
                if saved is None:
                    index.unlink(missing_ok=True)
                else:
                    index.write_bytes(saved)
        self._configure()
        return self.info()

    def _configure(self) -> None:
        from dvc.repo import Repo

        with _quiet_dvc(), contextlib.closing(Repo(str(self.root))) as repo:
            with repo.config.edit("repo") as conf:
                if conf.get("cache", {}).get("type") is None:
                    conf.setdefault("cache", {})["type"] = self.cache_type
            if self.default_remote and not repo.config.get("core", {}).get("remote"):
                # A local default lives in config.local: a clone elsewhere would not have it.
                Path(self.default_remote).mkdir(parents=True, exist_ok=True)
                with repo.config.edit("local") as conf:
                    conf.setdefault("remote", {})["dataops-local"] = {"url": self.default_remote}
                    conf.setdefault("core", {})["remote"] = "dataops-local"

    def _remote_url(self) -> str | None:
        from dvc.config import Config

        try:
            config = Config(str(self.root / ".dvc"))
        except Exception:  # an unreadable config: the status shows no remote
            return None
        name = config.get("core", {}).get("remote")
        if not name:
            return None
        url = config.get("remote", {}).get(name, {}).get("url")
        return _redact_url(str(url)) if url else None

    # -- recording -------------------------------------------------------------------------

    def _targets(self) -> tuple[list[str], list[str]]:
        """What DVC adds for the data paths, and the ``.dvc`` files of outputs whose data is
        gone (the snapshot leaves those out: it records the data as deleted, without touching
        the work tree). A path that the project already tracks as separate outputs inside it
        (``data/raw.csv.dvc``: the layout of many existing DVC projects) keeps that layout:
        those outputs are updated (git commits the files beside them, as before)."""
        targets: list[str] = []
        gone: list[str] = []
        for rel in self.data_paths:
            path = self.root / rel
            if not path.exists():
                if (self.root / f"{rel}.dvc").exists():
                    gone.append(f"{rel}.dvc")
                continue
            if (self.root / f"{rel}.dvc").exists() or not path.is_dir():
                targets.append(rel)
                continue
            inner = sorted(
                os.path.relpath(found, self.root)[: -len(".dvc")]
                for found, _st in _walk_stats(path)
                if found.endswith(".dvc")
            )
            for output in inner:
                if (self.root / output).exists():
                    targets.append(output)
                else:
                    gone.append(f"{output}.dvc")
            if not inner:
                targets.append(rel)
        return targets, gone

    def _scan(self) -> list[tuple[str, os.stat_result]]:
        """Every file of the data paths (and their ``.dvc`` files), with its metadata."""
        found: list[tuple[str, os.stat_result]] = []
        for rel in self.data_paths:
            for path in (self.root / rel, self.root / f"{rel}.dvc"):
                found.extend(_walk_stats(path))
        return found

    @staticmethod
    def _digest(scan: list[tuple[str, os.stat_result]]) -> str:
        digest = hashlib.blake2b(digest_size=20)
        for path, st in scan:
            if path.endswith(".dvc"):
                # By content: a checkout rewrites them unchanged (new times, same meaning).
                try:
                    content = hashlib.md5(Path(path).read_bytes(), usedforsecurity=False)
                except OSError:
                    continue
                digest.update(f"{path}\0dvc\0{content.hexdigest()}\n".encode())
            else:
                digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
        return digest.hexdigest()

    def fingerprint(self) -> str:
        """A digest of every data file's path, size, mtime and inode, and of the ``.dvc``
        files' content: equal digests mean nothing DVC tracks here changed."""
        return self._digest(self._scan())

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
        git_root = self._require()
        for rel in self.data_paths:
            if not (self.root / rel).resolve().is_relative_to(self.root):
                raise InvalidInput(
                    f"The data path {rel!r} leads outside the project.",
                    hint="Set c.DataOps.snapshot_data_paths to folders inside the project.",
                )
        warnings: list[str] = []
        with self._locked():
            scan = self._scan()
            fingerprint = self._digest(scan)
            targets, gone = self._targets()
            same = previous if previous and previous.fingerprint == fingerprint else None
            if same is None and reuse is not None:
                same = reuse(fingerprint)  # an older snapshot's data, as after a restore
            if same is not None and all((self.root / f"{t}.dvc").exists() for t in targets):
                data, tabular = same.data, same.tabular
                data_changed = previous is None or data != previous.data
            else:
                edited = self.edited_in_place(scan)
                if edited:
                    warnings.append(
                        f"Edited in place since an earlier snapshot: {_shown(edited)}. Those "
                        "files are linked to DVC's cache, so the earlier snapshots' copies "
                        "changed too (restores fetch them again from the remote, if pushed)."
                    )
                if on_phase is not None and targets:
                    on_phase("hashing data")
                data, tabular = self._add(targets)
                fingerprint = self.fingerprint()  # dvc add may replace files by links
                data_changed = previous is None or data != previous.data
            if on_phase is not None:
                on_phase("committing")
            commit, tree = self._commit(
                git_root, message=message, author=author, parent=parent, leave_out=gone
            )
            self._git("update-ref", ref_name, commit)
        return Recorded(
            commit=commit,
            tree=tree,
            ref=ref_name,
            data=data,
            fingerprint=fingerprint,
            data_changed=data_changed,
            tabular=tabular,
            warnings=warnings,
        )

    def _add(self, targets: list[str]) -> tuple[list[DataOut], dict[str, str]]:
        from dvc.exceptions import DvcException
        from dvc.repo import Repo

        if not targets:
            return [], {}
        with _quiet_dvc(), contextlib.closing(Repo(str(self.root))) as repo:
            try:
                stages = repo.add([str(self.root / t) for t in targets])
            except DvcException as exc:
                raise InvalidInput(
                    f"DVC could not version the data: {exc}",
                    hint="Run `dvc doctor` and `dvc status` in the project to see why.",
                ) from exc
            outs: list[DataOut] = []
            tabular: dict[str, str] = {}
            hashed: dict[str, str] = {}
            # The outputs DVC just built (their trees in memory: not read back from the cache).
            by_path = {
                os.path.relpath(out.fs_path, self.root): out
                for stage in stages or []
                for out in stage.outs
            }
            for target in targets:
                out = by_path.get(target)
                if out is None:
                    continue
                outs.append(
                    DataOut(
                        path=target,
                        hash=str(out.hash_info.value),
                        size=int(out.meta.size or 0),
                        nfiles=int(out.meta.nfiles or 1),
                    )
                )
                files = self._files_of(out, target)
                hashed.update(files)
                tabular.update(
                    (rel, md5)
                    for rel, md5 in files.items()
                    if rel.lower().endswith(TABULAR_SUFFIXES)
                )
            # DVC just hashed these files: what it found is known for their inodes (the data
            # file's and its cached copy's, one inode when linked), as they are now.
            odb = repo.cache.local
            known = {str(self.root / rel): md5 for rel, md5 in hashed.items()}
            known.update((odb.oid_to_path(md5), md5) for md5 in hashed.values())
        self._remember(known)
        return outs, tabular

    @staticmethod
    def _files_of(out: Any, target: str) -> dict[str, str]:
        """Every file of a DVC output, by path: its md5."""
        if not out.hash_info.isdir:
            return {target: str(out.hash_info.value)}
        tree = getattr(out, "obj", None) or out.get_obj()
        if tree is None:
            return {}
        return {"/".join((target, *key)): str(h.value) for key, _meta, h in tree}

    # -- what is known to hold which content ----------------------------------------------------
    #
    # A record of (inode, size, mtime) -> md5 for files whose md5 was computed here (by DVC when
    # adding, by a restore when verifying). A data file linked to DVC's cache shares its inode
    # with the cache object, so one that was edited in place (which also changes the cached
    # copy) no longer matches its record and is hashed again; DVC's own state database cannot
    # tell, since a checkout records the hash it expects without reading the file.

    def _known(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._private("hashed.sqlite"), timeout=30)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS hashed (ino INTEGER PRIMARY KEY, size INTEGER, "
            "mtime_ns INTEGER, md5 TEXT)"
        )
        return conn

    def _remember(self, files: dict[str, str]) -> None:
        """Record that the files (absolute path: md5) hold that content, as they are now."""
        rows = []
        for path, md5 in files.items():
            with contextlib.suppress(OSError):
                st = os.stat(path)
                rows.append((st.st_ino, st.st_size, st.st_mtime_ns, md5))
        if not rows:
            return
        with contextlib.closing(self._known()) as conn, conn:
            conn.executemany("INSERT OR REPLACE INTO hashed VALUES (?, ?, ?, ?)", rows)

    def _commit(
        self,
        git_root: Path,
        *,
        message: str,
        author: str,
        parent: str | None,
        leave_out: Sequence[str] = (),
    ) -> tuple[str, str]:
        tree, head = self._stage(git_root, leave_out)
        parents = parent or head
        name = author or "jupyter-dataops"
        email = f"{re.sub(r'[^A-Za-z0-9._-]', '_', name)}@jupyter-dataops.invalid"
        env = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": "jupyter-dataops",
            "GIT_COMMITTER_EMAIL": "snapshots@jupyter-dataops.invalid",
        }
        args = ["commit-tree", tree, *(["-p", parents] if parents else []), "-F", "-"]
        commit = self._git(*args, env=env, input=message or "snapshot").strip()
        return commit, tree

    def _stage(self, git_root: Path, leave_out: Sequence[str] = ()) -> tuple[str, str | None]:
        """The tree of the project as it is now, through the private index; and HEAD."""
        index = str(self._private("index"))
        scope = self._scope(git_root)
        head = self._git("rev-parse", "--verify", "-q", "HEAD", check=False).strip() or None
        if scope != ".":
            # Everything outside the project as HEAD has it; the project as it is now.
            self._git("read-tree", *(["HEAD"] if head else ["--empty"]), index=index)
        self._refuse_large_files(index, scope)
        self._git("add", "-A", "--", _top(scope), *self._excluded(), index=index)
        if leave_out:  # outputs whose data is gone: recorded as deleted
            self._git("rm", "-q", "--cached", "--ignore-unmatch", "--", *leave_out, index=index)
        return self._git("write-tree", index=index).strip(), head

    def _excluded(self) -> list[str]:
        return [*_ALWAYS_IGNORED, *(f":(exclude){p}" for p in self.excluded_paths)]

    def unchanged(self, previous: Recorded) -> bool:
        """Whether the project is what ``previous`` recorded (data by file metadata, code by
        its git tree), without hashing data or writing anything the user sees."""
        return self.state() == (previous.fingerprint, previous.tree)

    def state(self) -> tuple[str, str]:
        """The project as it is now: the fingerprint of its data and the git tree of the rest
        (its ``.dvc`` files included), without hashing data."""
        git_root = self._require()
        with self._locked():
            return self.fingerprint(), self._stage(git_root, self._targets()[1])[0]

    def _refuse_large_files(self, index: str, scope: str) -> None:
        listed = self._git(
            "ls-files",
            "-z",
            "-o",
            "-m",
            "--exclude-standard",
            "--",
            _top(scope),
            *self._excluded(),
            index=index,
        )
        too_big = []
        for rel in filter(None, listed.split("\0")):
            path = Path(self._git_root_cached(), rel)
            with contextlib.suppress(OSError):
                if path.is_file() and path.stat().st_size > self.max_git_file_bytes:
                    too_big.append(os.path.relpath(path, self.root))
        if too_big:
            shown = ", ".join(too_big[:5]) + (
                f" and {len(too_big) - 5} more" if len(too_big) > 5 else ""
            )
            raise InvalidInput(
                f"Too big to commit with git: {shown} (over "
                f"{self.max_git_file_bytes // (1024 * 1024)} MiB).",
                hint="Move data into a data path (c.DataOps.snapshot_data_paths) so DVC versions "
                "it, or list it in .gitignore.",
                code="file_too_big_for_git",
            )

    def _git_root_cached(self) -> Path:
        root = getattr(self, "_git_root_path", None)
        if root is None:
            root = self._git_root() or self.root
            self._git_root_path = root
        return root

    def drop_ref(self, ref_name: str) -> None:
        self._git("update-ref", "-d", ref_name, check=False)

    # -- restoring ---------------------------------------------------------------------------

    def restore(
        self, commit: str, *, current: str, paths: list[str] | None, data: list[DataOut]
    ) -> Restored:
        git_root = self._require()
        scope = self._scope(git_root)
        whole, inside = self._split(paths, data)
        if paths:
            # A data output restored whole comes with its .dvc file (which names its content).
            git_paths = [*paths, *(f"{out}.dvc" for out in whole)]
            wanted = [_top(self._in_git(git_root, p)) for p in git_paths]
        else:
            wanted = [_top(scope)]
        with self._locked():
            files = self._restore_files(commit, current, wanted)
            changed = self._restore_data(whole, data)
            verified = self._verify(whole, data)
            if inside:
                extra, checked = self._restore_inside(commit, inside, data)
                changed += extra
                verified += checked
        return Restored(files=files, data=changed, verified=verified)

    def check_paths(self, commit: str, paths: list[str], data: list[DataOut]) -> None:
        """Refuse paths that neither the snapshot nor the project has (before anything is
        changed, the safety snapshot included)."""
        git_root = self._require()
        whole, inside = self._split(paths, data)
        covered = set(whole) | set(inside)
        for rel in paths:
            if any(_under(out, rel) or _under(rel, out) for out in covered):
                continue
            in_git = self._git(
                "ls-tree", "-r", "--name-only", commit, "--", _top(self._in_git(git_root, rel))
            ).strip()
            if not in_git and not (self.root / rel).exists():
                raise InvalidInput(
                    f"Neither the snapshot nor the project has {rel!r}.",
                    hint="List what the snapshot holds with `dataops snapshots show ID`.",
                )

    def _split(self, paths: list[str] | None, data: list[DataOut]) -> tuple[list[str], list[str]]:
        """The data outputs a restore brings back whole, and the paths inside an output (one
        file or folder of a tracked folder) it brings back alone."""
        if not paths:
            return [out.path for out in data], []
        whole: set[str] = set()
        inside: set[str] = set()
        for rel in paths:
            for out in data:
                if _under(out.path, rel):
                    whole.add(out.path)
                elif _under(rel, out.path):
                    inside.add(rel)
        return sorted(whole), sorted(inside)

    def _in_git(self, git_root: Path, rel: str) -> str:
        return os.path.relpath(self.root / rel, git_root)

    def _restore_files(self, commit: str, current: str, wanted: list[str]) -> list[FileChange]:
        out = self._git(
            "diff-tree", "-r", "-z", "--no-renames", "--name-status", current, commit, "--", *wanted
        )
        fields = out.split("\0")
        changes: list[FileChange] = []
        write: list[str] = []
        git_root = self._git_root_cached()
        for status, rel in zip(fields[0::2], fields[1::2], strict=False):
            if not rel:
                continue
            local = os.path.relpath(git_root / rel, self.root)
            if status == "D":  # in the present, not in the snapshot: remove it
                with contextlib.suppress(FileNotFoundError):
                    (git_root / rel).unlink()
                changes.append(FileChange(local, "deleted"))
            else:
                write.append(rel)
                changes.append(FileChange(local, "added" if status == "A" else "modified"))
        if write:
            index = str(self._private("restore-index"))
            self._git("read-tree", commit, index=index)
            # checkout-index paths are relative to the current directory: the git root.
            subprocess.run(
                ["git", "checkout-index", "-f", "-z", "--stdin"],
                cwd=git_root,
                input="\0".join(write),
                text=True,
                capture_output=True,
                check=True,
                env=dict(os.environ, GIT_INDEX_FILE=index),
            )
        return changes

    def _restore_data(self, outs: list[str], data: list[DataOut]) -> list[FileChange]:
        """DVC checks the outputs out of its cache (their .dvc files are restored already),
        fetching from the remote what the cache lacks."""
        from dvc.exceptions import CheckoutError, DvcException
        from dvc.repo import Repo

        if not outs:
            return []
        changes: list[FileChange] = []
        absolute = [str(self.root / t) for t in outs]
        with _quiet_dvc(), contextlib.closing(Repo(str(self.root))) as repo:
            try:
                try:
                    result = repo.checkout(targets=absolute, force=True)
                except CheckoutError:
                    repo.fetch(targets=absolute)  # objects gone from the cache: from the remote
                    result = repo.checkout(targets=absolute, force=True)
            except DvcException as exc:
                raise IntegrityError(
                    f"DVC could not restore the data: {exc}",
                    hint="The cache and the remote lack its objects; check `dvc status -c`.",
                    code="data_restore_failed",
                ) from exc
        for kind in ("added", "modified", "deleted"):
            for rel in result.get(kind, []):
                # DVC names them relative to this process's working directory.
                local = os.path.relpath(os.path.abspath(rel.rstrip("/")), self.root)
                changes.append(FileChange(local, kind))
        return changes

    def _restore_inside(
        self, commit: str, paths: list[str], data: list[DataOut]
    ) -> tuple[list[FileChange], int]:
        """Files inside tracked folders, alone: read at the snapshot's revision through DVC's
        API (from its cache, or the remote), hashed while written, and put in place only when
        the hash matches. The folder's .dvc file stays as it is (the folder now differs from
        it, as `dvc status` then says, until the next snapshot records it)."""
        expected = self.expected_files(data)
        wanted = {rel: md5 for rel, md5 in expected.items() if any(_under(rel, p) for p in paths)}
        changes: list[FileChange] = []
        for path in paths:  # files there now that the snapshot did not have
            for found, _st in _walk_stats(self.root / path):
                rel = os.path.relpath(found, self.root)
                if rel not in wanted:
                    os.unlink(found)
                    changes.append(FileChange(rel, "deleted"))
        if not wanted and not changes:
            raise InvalidInput(
                f"The snapshot has no data at {_shown(paths)}.",
                hint="List what it holds with `dataops snapshots show ID`.",
            )
        wrong = []
        for rel, md5 in wanted.items():
            dest = self.root / rel
            existed = dest.exists()
            if existed and self._mismatches({rel: md5}) == []:
                continue  # already the snapshot's content
            dest.parent.mkdir(parents=True, exist_ok=True)
            temporary = dest.with_name(f".{dest.name}.dataops-restore")
            good = self._read_at(commit, rel, md5, temporary)
            if not good:
                # The cached copy is damaged: drop it, so DVC reads the remote's.
                self._drop_cached(md5)
                good = self._read_at(commit, rel, md5, temporary)
            if not good:
                wrong.append(rel)
                continue
            dest.unlink(missing_ok=True)  # never write through a link into the cache
            os.replace(temporary, dest)
            self._remember({str(dest): md5})
            changes.append(FileChange(rel, "modified" if existed else "added"))
        if wrong:
            raise IntegrityError(
                f"The restored data does not match the snapshot: {_shown(wrong)}. Its cached "
                "copy was changed after the snapshot (edited in place through a cache link).",
                hint="Nothing was replaced. Fetch a good copy with `dvc fetch` if the remote "
                "has one, then restore again.",
                code="restore_verification_failed",
            )
        return changes, len(wanted)

    def _read_at(self, commit: str, rel: str, md5: str, temporary: Path) -> bool:
        """Write ``rel`` as of ``commit`` to ``temporary``; whether its md5 is ``md5`` (when not,
        ``temporary`` is removed)."""
        import dvc.api

        digest = hashlib.md5(usedforsecurity=False)
        try:
            with (
                _quiet_dvc(),
                dvc.api.open(rel, repo=str(self.root), rev=commit, mode="rb") as source,
                open(temporary, "wb") as target,
            ):
                while chunk := source.read(1 << 22):
                    digest.update(chunk)
                    target.write(chunk)
        except Exception as exc:  # DVC's errors of every kind: named, nothing replaced
            temporary.unlink(missing_ok=True)
            raise IntegrityError(
                f"DVC could not read {rel} of the snapshot: {exc}",
                hint="The cache and the remote lack its content; check `dvc status -c`.",
                code="data_restore_failed",
            ) from exc
        if digest.hexdigest() != md5:
            temporary.unlink(missing_ok=True)
            return False
        return True

    def _drop_cached(self, md5: str) -> None:
        from dvc.repo import Repo

        with _quiet_dvc(), contextlib.closing(Repo(str(self.root))) as repo:
            Path(repo.cache.local.oid_to_path(md5)).unlink(missing_ok=True)

    def expected_files(self, data: list[DataOut]) -> dict[str, str]:
        """Every data file a snapshot holds, by path: its md5 (a folder's list is read from its
        ``.dir`` object in the cache, fetched from the remote when the cache lacks it)."""
        from dvc.repo import Repo

        files: dict[str, str] = {}
        with _quiet_dvc(), contextlib.closing(Repo(str(self.root))) as repo:
            odb = repo.cache.local
            for out in data:
                if not out.hash.endswith(".dir"):
                    files[out.path] = out.hash
                    continue
                listing = Path(odb.oid_to_path(out.hash))
                if not listing.exists():
                    with contextlib.suppress(Exception):
                        repo.fetch(targets=[str(self.root / out.path)])
                try:
                    entries = json.loads(listing.read_bytes())
                except (OSError, ValueError) as exc:
                    raise IntegrityError(
                        f"The list of files of {out.path} ({out.hash}) is not in DVC's cache "
                        "or remote.",
                        hint="Fetch it with `dvc fetch`, or push it from where it was taken.",
                    ) from exc
                for entry in entries:
                    files[f"{out.path}/{entry['relpath']}"] = str(entry["md5"])
        return files

    def export_data(self, data: list[DataOut], into: Path) -> int:
        """A snapshot's data files under ``into``, hard-linked from the cache where it can be
        (DVC keeps cached copies read-only), copied otherwise; missing ones are fetched from the
        remote first. Each file's md5 is checked against the snapshot (a cached copy edited in
        place through a link is refused, not handed on). The project is not touched."""
        from dvc.repo import Repo

        expected = self.expected_files(data)
        with _quiet_dvc(), contextlib.closing(Repo(str(self.root))) as repo:
            odb = repo.cache.local
            cached = {rel: Path(odb.oid_to_path(md5)) for rel, md5 in expected.items()}
            if any(not path.exists() for path in cached.values()):
                repo.fetch(targets=[str(self.root / out.path) for out in data])
        for rel, source in cached.items():
            if not source.exists():
                raise IntegrityError(
                    f"{rel} of the snapshot is neither in DVC's cache nor on its remote.",
                    hint="Push the snapshot from where it was taken (dataops snapshots push ID).",
                )
            if _md5(str(source)) != expected[rel]:
                raise IntegrityError(
                    f"The cached copy of {rel} no longer matches the snapshot (edited in place).",
                    hint="Restore the snapshot in the project to repair it, then start again.",
                )
            target = into / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
        return len(cached)

    def _verify(self, outs: list[str], data: list[DataOut]) -> int:
        """Check every restored data file's md5 against the snapshot: a file whose inode, size
        and time match the record of a hash computed here is known; any other is hashed. Files
        that differ (a cached copy edited in place through a link) are fetched again from the
        remote; if they still differ the restore fails."""
        expected = self.expected_files([out for out in data if out.path in outs])
        if not expected:
            return 0
        wrong = self._mismatches(expected)
        if wrong:
            self._repair({rel: expected[rel] for rel in wrong}, data)
            still = self._mismatches({rel: expected[rel] for rel in wrong})
            if still:
                shown = ", ".join(still[:5]) + (
                    f" and {len(still) - 5} more" if len(still) > 5 else ""
                )
                raise IntegrityError(
                    f"The restored data does not match the snapshot: {shown}. Its cached copy "
                    "was changed after the snapshot (edited in place through a cache link), "
                    "and the DVC remote has no good copy.",
                    hint="Nothing else was lost: the safety snapshot holds the state before "
                    "the restore. Edit data files by writing new files, or use "
                    'c.DataOps.snapshot_cache_type = "reflink,copy".',
                    code="restore_verification_failed",
                )
        return len(expected)

    def _lookup(self, inodes: list[int]) -> dict[int, tuple[int, int, str]]:
        known: dict[int, tuple[int, int, str]] = {}
        with contextlib.closing(self._known()) as conn:
            for start in range(0, len(inodes), 500):
                chunk = inodes[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for ino, size, mtime_ns, md5 in conn.execute(
                    f"SELECT ino, size, mtime_ns, md5 FROM hashed WHERE ino IN ({marks})", chunk
                ):
                    known[ino] = (size, mtime_ns, md5)
        return known

    def edited_in_place(self, scan: list[tuple[str, os.stat_result]] | None = None) -> list[str]:
        """Data files that share their inode with a cached copy (a link) and were written to
        since that content was hashed: the cached copy of an earlier snapshot changed with them."""
        linked: dict[int, tuple[str, os.stat_result]] = {}
        for path, st in self._scan() if scan is None else scan:
            if st.st_nlink > 1:
                linked[st.st_ino] = (path, st)
        if not linked:
            return []
        known = self._lookup(list(linked))
        edited = []
        for ino, (path, st) in linked.items():
            record = known.get(ino)
            if record is not None and record[:2] != (st.st_size, st.st_mtime_ns):
                edited.append(os.path.relpath(path, self.root))
        return sorted(edited)

    def _damaged_objects(self, data: list[DataOut]) -> list[str]:
        """Files of ``data`` whose cached copy no longer holds the content its name says."""
        from dvc.repo import Repo

        expected = self.expected_files(data)
        with _quiet_dvc(), contextlib.closing(Repo(str(self.root))) as repo:
            odb = repo.cache.local
            objects = {rel: odb.oid_to_path(md5) for rel, md5 in expected.items()}
        stats = {}
        for rel, path in objects.items():
            with contextlib.suppress(OSError):
                stats[rel] = os.stat(path)
        known = self._lookup([st.st_ino for st in stats.values()])
        damaged = []
        for rel, md5 in expected.items():
            st = stats.get(rel)
            if st is None:
                continue  # not in the cache: DVC says so itself when pushing
            if known.get(st.st_ino) == (st.st_size, st.st_mtime_ns, md5):
                continue
            if _md5(objects[rel]) != md5:
                damaged.append(rel)
            else:
                self._remember({objects[rel]: md5})
        return damaged

    def _mismatches(self, expected: dict[str, str]) -> list[str]:
        stats: dict[str, os.stat_result | None] = {}
        for rel in expected:
            try:
                stats[rel] = os.stat(self.root / rel)
            except OSError:
                stats[rel] = None
        known = self._lookup([st.st_ino for st in stats.values() if st is not None])
        wrong = []
        verified: dict[str, str] = {}
        for rel, md5 in expected.items():
            st = stats[rel]
            if st is None:
                wrong.append(rel)
                continue
            if known.get(st.st_ino) == (st.st_size, st.st_mtime_ns, md5):
                continue
            if _md5(str(self.root / rel)) == md5:
                verified[rel] = md5
            else:
                wrong.append(rel)
        self._remember({str(self.root / rel): md5 for rel, md5 in verified.items()})
        return wrong

    def _repair(self, wrong: dict[str, str], data: list[DataOut]) -> None:
        """Drop the damaged cached copies of the ``wrong`` files (path: expected md5) and fetch
        them again from the remote."""
        from dvc.exceptions import DvcException
        from dvc.repo import Repo

        with _quiet_dvc(), contextlib.closing(Repo(str(self.root))) as repo:
            odb = repo.cache.local
            for rel, md5 in wrong.items():
                for path in (Path(odb.oid_to_path(md5)), self.root / rel):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
            try:
                # Fetching whole outputs downloads only what the cache lacks (DVC cannot fetch
                # one file of a tracked folder).
                outs = {o.path for o in data for rel in wrong if _under(rel, o.path)}
                repo.fetch(targets=[str(self.root / o) for o in sorted(outs)])
                repo.checkout(targets=[str(self.root / rel) for rel in wrong], force=True)
            except DvcException as exc:
                log.warning("could not fetch damaged data again: %s", exc)

    # -- diffs and pushes ----------------------------------------------------------------

    def diff_files(self, a: str, b: str) -> list[FileChange]:
        git_root = self._require()
        scope = self._scope(git_root)
        out = self._git(
            "diff-tree", "-r", "-z", "--no-renames", "--name-status", a, b, "--", _top(scope)
        )
        fields = out.split("\0")
        labels = {"A": "added", "D": "deleted"}
        changes = []
        for status, rel in zip(fields[0::2], fields[1::2], strict=False):
            if rel:
                local = os.path.relpath(git_root / rel, self.root)
                changes.append(FileChange(local, labels.get(status[:1], "modified")))
        return changes

    def diff_data(self, a: list[DataOut], b: list[DataOut]) -> list[FileChange]:
        if a == b:
            return []
        before = self.expected_files(a)
        after = self.expected_files(b)
        changes = [FileChange(p, "deleted") for p in sorted(before.keys() - after.keys())]
        changes += [FileChange(p, "added") for p in sorted(after.keys() - before.keys())]
        changes += [
            FileChange(p, "modified")
            for p in sorted(before.keys() & after.keys())
            if before[p] != after[p]
        ]
        return sorted(changes, key=lambda c: c.path)

    def push(self, data: list[DataOut], commit: str) -> None:
        from dvc.exceptions import DvcException
        from dvc.repo import Repo

        if not data:
            return
        damaged = self._damaged_objects(data)
        if damaged:
            raise IntegrityError(
                f"Not pushed: the cached copy of {_shown(damaged)} was changed before it was "
                "pushed (the file was edited in place through a cache link), so this snapshot's "
                "version of it is lost.",
                hint="Later snapshots hold the new content. Write data to new files rather than "
                'in place, or use c.DataOps.snapshot_cache_type = "reflink,copy".',
                code="damaged_before_push",
            )
        with _quiet_dvc(), contextlib.closing(Repo(str(self.root))) as repo:
            try:
                # The objects that commit's .dvc files name (the work tree may have moved on).
                repo.push(revs=[commit], workspace=False)
            except (DvcException, OSError) as exc:
                raise BackendUnavailable(
                    f"The data could not be pushed to the DVC remote: {exc}",
                    hint="Check that the remote is reachable (`dvc remote list`); pushing is "
                    "retried.",
                ) from exc


def _walk_stats(path: Path) -> Iterator[tuple[str, os.stat_result]]:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if not path.is_dir():
        yield str(path), st
        return
    stack = [str(path)]
    while stack:
        directory = stack.pop()
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    yield entry.path, entry.stat(follow_symlinks=False)


def break_cache_link(path: str | os.PathLike[str]) -> bool:
    """Give ``path`` its own copy if it is a file that DVC linked to its cache (a hard link
    inside a DVC project), so writing to it in place changes it alone; whether it did. The copy
    is writable by its owner (DVC makes linked files read-only)."""
    target = Path(path)
    try:
        st = target.stat()
    except FileNotFoundError:
        return False
    if not target.is_file() or st.st_nlink < 2 or not _in_dvc_project(target):
        return False
    temporary = target.with_name(f".{target.name}.dataops-unlink")
    try:
        with open(target, "rb") as source, open(temporary, "wb") as copy:
            while chunk := source.read(1 << 22):
                copy.write(chunk)
        os.chmod(temporary, (st.st_mode & 0o777) | 0o200)
        os.utime(temporary, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return True


def _in_dvc_project(path: Path) -> bool:
    for parent in path.resolve().parents:
        if parent.name == ".dvc":
            return False  # DVC's own files (its cache)
        if (parent / ".dvc").is_dir():
            return True
    return False


def _shown(paths: list[str], most: int = 5) -> str:
    more = f" and {len(paths) - most} more" if len(paths) > most else ""
    return ", ".join(paths[:most]) + more


def _top(rel: str) -> str:
    """A pathspec of ``rel`` (relative to the git work tree), wherever git runs from."""
    return ":(top)" if rel in (".", "") else f":(top){rel}"


def _under(rel: str, path: str) -> bool:
    return path in (".", "") or rel == path or rel.startswith(path.rstrip("/") + "/")


def _md5(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def workspace_factory(dataops: Any) -> Any:
    """Workspaces configured by ``dataops`` (a ``DataOps``), given a project root and its data
    paths."""

    def make(root: Path, data_paths: list[str]) -> GitDvcWorkspace:
        return GitDvcWorkspace(
            root,
            data_paths=data_paths,
            cache_type=dataops.snapshot_cache_type,
            default_remote=dataops.snapshot_remote or None,
            max_git_file_bytes=dataops.snapshot_max_git_file_bytes,
            excluded_paths=(dataops.jobs_dir,),
        )

    return make
