"""Snapshots on real git and DVC repositories: taking, listing, diffing, restoring, pushing to a real
local remote, and what a crash or bad input leaves behind. Nothing here is mocked: each test has a
project folder, a store and a DVC remote of its own, and checks the repository with git's and
DVC's own commands."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_dataops.backends.local.environment import kernel_environment
from jupyter_dataops.backends.local.workspace import workspace_factory
from jupyter_dataops.core.config import DataOps
from jupyter_dataops.core.errors import Forbidden, IntegrityError, InvalidInput, NotFound
from jupyter_dataops.core.jobs.models import JobCreate
from jupyter_dataops.core.snapshots.models import SnapshotCreate, SnapshotQuery, SnapshotRestore
from jupyter_dataops.core.snapshots.service import SnapshotService
from jupyter_dataops.services import Services

from .conftest import stop_local_worker
from .notebooks import write_notebook

DVC = [sys.executable, "-m", "dvc"]
WAIT = 120.0


def run(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=check, timeout=WAIT)


def git(cwd: Path, *args: str, check: bool = True) -> str:
    return run("git", *args, cwd=cwd, check=check).stdout


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_bytes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


class Project:
    """A user's project folder with a CSV in data/, its own store and DVC remote."""

    def __init__(self, base: Path, *, config: dict[str, Any] | None = None) -> None:
        self.base = base
        self.root = base / "project"
        (self.root / "data").mkdir(parents=True)
        (self.root / "data" / "iris.csv").write_text(
            "sepal,petal,kind\n5.1,1.4,setosa\n4.9,1.4,setosa\n6.2,4.5,versicolor\n"
        )
        (self.root / "train.py").write_text("print('train')\n")
        self.remote = base / "remote"
        sections = {"DataOps": {"snapshot_remote": str(self.remote), **(config or {})}}
        dataops = DataOps(
            config=Config(sections), root_dir=str(self.root), data_dir=str(base / "dataops")
        )
        self.services = Services.from_config(dataops, actor="alice")
        # No worker: the tests push by calling what the worker calls.
        self.snapshots = SnapshotService(
            self.services.ctx,
            workspace=workspace_factory(dataops),
            environment=kernel_environment,
        )
        self.services.snapshots = self.snapshots
        self.services.jobs.before_run = self.snapshots.for_job

    def take(self, message: str = "", **fields: Any) -> Any:
        return self.snapshots.create(SnapshotCreate(message=message, **fields))

    def close(self) -> None:
        stop_local_worker(self.services.supervisor)  # none should run: a safety net
        self.services.close()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    for name in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(name, "Test User")
    for name in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(name, "test@example.com")
    made = Project(tmp_path)
    yield made
    made.close()


def user_repo(project: Project) -> None:
    """The project is the user's git repository with a commit, a staged change and a stash."""
    root = project.root
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "train.py")
    git(root, "commit", "-q", "-m", "initial")
    (root / "train.py").write_text("print('stashed')\n")
    git(root, "stash", "-q")
    (root / "notes.md").write_text("staged\n")
    git(root, "add", "notes.md")


def user_state(root: Path) -> dict[str, str]:
    return {
        "head": git(root, "rev-parse", "HEAD"),
        "branch": git(root, "symbolic-ref", "HEAD"),
        "index": git(root, "diff", "--cached", "--name-status"),
        "stash": git(root, "stash", "list"),
        "stash_ref": git(root, "rev-parse", "refs/stash"),
    }


# -- taking one -----------------------------------------------------------------------------------
def test_a_project_that_is_no_repository_is_refused_until_the_user_agrees(project: Project):
    with pytest.raises(InvalidInput) as refused:
        project.take("first")
    assert "not yet a git and DVC repository" in refused.value.message
    assert "--init" in (refused.value.hint or "")
    assert not (project.root / ".git").exists() and not (project.root / ".dvc").exists()
    assert project.snapshots.list().total == 0

    taken = project.take("first", init=True)
    assert taken.status.value == "ready" and taken.author == "alice"
    assert (project.root / ".git").is_dir() and (project.root / ".dvc").is_dir()
    # Links, not copies: adding data does not copy it (where the filesystem has hard links).
    config = (project.root / ".dvc" / "config").read_text()
    assert "hardlink" in config
    assert os.stat(project.root / "data" / "iris.csv").st_nlink == 2


def test_a_snapshot_leaves_the_users_branch_index_and_stash_alone(project: Project):
    user_repo(project)
    before = user_state(project.root)
    status_before = git(project.root, "status", "--porcelain")
    taken = project.take("before feature change", init=True)

    assert user_state(project.root) == before
    # The work tree gained what `dvc add` makes (and DVC's own files), and nothing else.
    status_after = git(project.root, "status", "--porcelain", "--untracked-files=all")
    new = set(status_after.splitlines()) - set(status_before.splitlines())
    new_paths = {line[3:] for line in new}
    assert "data.dvc" in new_paths and ".gitignore" in new_paths
    assert all(
        p in ("data.dvc", ".gitignore", ".dvcignore") or p.startswith(".dvc/") for p in new_paths
    ), new_paths
    assert "/data" in (project.root / ".gitignore").read_text()

    # The snapshot is a commit under the project's own ref, with HEAD as its parent.
    assert git(project.root, "rev-parse", taken.ref).strip() == taken.commit
    assert git(project.root, "rev-parse", f"{taken.commit}^").strip() == before["head"].strip()
    files = git(project.root, "ls-tree", "-r", "--name-only", taken.commit).split()
    assert {"train.py", "notes.md", "data.dvc", ".gitignore"} <= set(files)
    assert "data/iris.csv" not in files  # data goes to DVC, not git
    assert run(*DVC, "status", cwd=project.root).stdout.strip() in (
        "Data and pipelines are up to date.",
        "",
    )


def test_checking_out_the_ref_with_git_and_dvc_reproduces_the_same_bytes(
    project: Project, tmp_path
):
    first = project.take("v1", init=True)
    expected = tree_bytes(project.root / "data")
    (project.root / "data" / "iris.csv").unlink()  # a new file, as pandas' to_csv of a new name
    (project.root / "data" / "iris.csv").write_text("sepal,petal,kind\n1,1,x\n")
    second = project.take("v2")
    assert second.warnings == []
    assert project.snapshots.push_due() >= 1
    assert project.snapshots.get(first.id).push_status.value == "pushed"

    clone = tmp_path / "clone"
    run("git", "clone", "-q", str(project.root), str(clone), cwd=tmp_path)
    git(clone, "fetch", "-q", "origin", f"{first.ref}:{first.ref}")
    git(clone, "checkout", "-q", first.commit)
    run(*DVC, "remote", "add", "-d", "origin", str(project.remote), cwd=clone)
    run(*DVC, "pull", cwd=clone)
    assert tree_bytes(clone / "data") == expected
    assert (clone / "train.py").read_text() == "print('train')\n"


def test_a_snapshot_says_what_it_is_doing(project: Project):
    project.snapshots.init()
    phases: list[str] = []
    workspace = project.snapshots.workspace()
    first = workspace.record(
        "refs/dataops/snapshots/phases",
        message="m",
        author="a",
        parent=None,
        previous=None,
        on_phase=phases.append,
    )
    assert phases == ["hashing data", "committing"]
    phases.clear()
    workspace.record(
        "refs/dataops/snapshots/phases2",
        message="m",
        author="a",
        parent=None,
        previous=first,
        on_phase=phases.append,
    )
    assert phases == ["committing"]  # unchanged data is not hashed again
    taken = project.take("done")
    assert taken.phase is None  # only while it is being taken


def test_an_unchanged_project_is_recorded_without_hashing_its_data_again(project: Project):
    first = project.take("one", init=True)
    second = project.take("two")
    assert second.changed is False and second.parent_id == first.id
    assert second.data == first.data and second.commit != first.commit
    status = project.snapshots.status()
    assert status.ready and status.changed is False and status.latest_id == second.id
    (project.root / "train.py").write_text("print('changed')\n")
    assert project.snapshots.status().changed is True
    third = project.take("three")
    assert third.changed is True and third.data == first.data  # code only


def test_tables_are_profiled_and_the_environment_recorded(project: Project):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": [1, 2, 3], "when": pd.to_datetime(["2024-01-01"] * 3)})
    frame.to_parquet(project.root / "data" / "frame.parquet")
    (project.root / "data" / "broken.csv").write_bytes(b'a,b\n"unterminated\n\xff\xfe')
    taken = project.take("profiled", init=True)
    iris = taken.profiles["data/iris.csv"]
    assert iris.rows == 3 and [c.name for c in iris.columns] == ["sepal", "petal", "kind"]
    sepal = iris.columns[0]
    assert sepal.dtype == "float64" and sepal.min == 4.9 and sepal.max == 6.2
    assert taken.profiles["data/frame.parquet"].rows == 3
    assert taken.profiles["data/broken.csv"].error  # reported, the snapshot still taken
    env = taken.environment
    assert env.python == ".".join(map(str, sys.version_info[:3]))
    assert "pandas" in env.packages and env.kernel_name == "python3"


# -- diffs ------------------------------------------------------------------------------------------
def test_a_diff_names_files_data_tables_and_packages_that_changed(project: Project):
    first = project.take("v1", init=True)
    (project.root / "data" / "iris.csv").write_text(
        "sepal,petal,kind,width\n5.1,1.4,setosa,0.2\n4.9,1.4,setosa,0.2\n"
        "6.2,4.5,versicolor,1.5\n7.7,6.7,virginica,2.2\n"
    )
    (project.root / "data" / "extra.txt").write_text("new data\n")
    (project.root / "features.py").write_text("FEATURES = 4\n")
    (project.root / "train.py").unlink()
    second = project.take("v2")

    found = project.snapshots.diff(first.id, second.id)
    assert {(c.path, c.change) for c in found.files} == {
        ("features.py", "added"),
        ("train.py", "deleted"),
    }
    assert {(c.path, c.change) for c in found.data} == {
        ("data/extra.txt", "added"),
        ("data/iris.csv", "modified"),
    }
    (table,) = found.tables
    assert table.path == "data/iris.csv" and (table.rows_before, table.rows_after) == (3, 4)
    changes = {c.name: c for c in table.columns}
    assert changes["width"].change == "added"
    assert changes["sepal"].change == "stats" and changes["sepal"].after["max"] == 7.7
    assert found.packages == [] and found.python is None
    # b defaults to the newest.
    assert project.snapshots.diff(first.id).b == second.id


# -- restoring --------------------------------------------------------------------------------------
def test_a_restore_takes_a_safety_snapshot_and_brings_back_code_and_data(project: Project):
    first = project.take("v1", init=True)
    original = tree_bytes(project.root / "data")
    (project.root / "data" / "iris.csv").unlink()
    (project.root / "data" / "new.csv").write_text("a\n1\n")
    (project.root / "train.py").write_text("print('edited, not snapshotted')\n")
    (project.root / "later.py").write_text("x = 1\n")

    done = project.snapshots.restore(first.id)
    assert tree_bytes(project.root / "data") == original
    assert (project.root / "train.py").read_text() == "print('train')\n"
    assert not (project.root / "later.py").exists()
    assert done.verified == 1 and done.safety_snapshot_id
    assert ("later.py", "deleted") in {(c.path, c.change) for c in done.files}

    # Nothing was lost: restoring the safety snapshot undoes the restore.
    safety = project.snapshots.get(done.safety_snapshot_id)
    assert safety.kind == "safety"
    project.snapshots.restore(safety.id)
    assert (project.root / "train.py").read_text() == "print('edited, not snapshotted')\n"
    assert (project.root / "later.py").read_text() == "x = 1\n"
    assert (project.root / "data" / "new.csv").read_text() == "a\n1\n"
    assert not (project.root / "data" / "iris.csv").exists()


def test_a_restore_of_one_path_touches_nothing_else(project: Project):
    (project.root / "data" / "other.csv").write_text("z\n1\n")
    first = project.take("v1", init=True)
    assert project.snapshots.push_due() == 1  # as the worker does, seconds after
    # Written in place (a linked file: the cached copy changes too, the remote's does not).
    (project.root / "data" / "iris.csv").write_text("changed\n")
    (project.root / "data" / "other.csv").write_text("z\n2\n")
    (project.root / "train.py").write_text("print('keep me')\n")

    done = project.snapshots.restore(first.id, SnapshotRestore(paths=["data/iris.csv"]))
    assert "setosa" in (project.root / "data" / "iris.csv").read_text()
    assert (project.root / "data" / "other.csv").read_text() == "z\n2\n"
    assert (project.root / "train.py").read_text() == "print('keep me')\n"
    assert done.verified == 1


def test_a_file_edited_in_place_through_a_link_is_caught_and_fetched_again(project: Project):
    first = project.take("v1", init=True)
    good = sha(project.root / "data" / "iris.csv")
    assert project.snapshots.push_due() == 1  # the remote has a good copy
    # As root, a hardlinked file is writable: appending also changes the cached copy.
    with open(project.root / "data" / "iris.csv", "a") as handle:
        handle.write("9.9,9.9,bad\n")
    project.take("v2")
    project.snapshots.restore(first.id)
    assert sha(project.root / "data" / "iris.csv") == good


def test_a_restore_that_cannot_be_verified_fails_and_says_so(project: Project):
    first = project.take("v1", init=True)  # never pushed: no good copy anywhere
    with open(project.root / "data" / "iris.csv", "a") as handle:
        handle.write("9.9,9.9,bad\n")
    project.take("v2")
    with pytest.raises(IntegrityError) as failed:
        project.snapshots.restore(first.id)
    assert "does not match the snapshot: data/iris.csv" in failed.value.message
    assert "safety snapshot" in (failed.value.hint or "")


def test_data_edited_in_place_before_its_push_is_not_pushed_and_the_user_is_told(project: Project):
    first = project.take("v1", init=True)
    # As root, a linked (read-only) file is writable: this also changes the cached copy.
    (project.root / "data" / "iris.csv").write_text("sepal,petal,kind\n0,0,edited\n")
    second = project.take("v2")
    assert any("data/iris.csv" in w and "Edited in place" in w for w in second.warnings)
    project.snapshots.push_due()
    lost = project.snapshots.get(first.id)
    assert lost.push_status.value == "failed" and lost.push_attempts == 1  # no retries
    assert "data/iris.csv" in (lost.push_error or "") and "lost" in (lost.push_error or "")
    assert project.snapshots.get(second.id).push_status.value == "pushed"
    assert not project.snapshots.pushes_pending()


# -- pushing ----------------------------------------------------------------------------------------
def test_an_unreachable_remote_keeps_the_snapshot_and_retries_the_push(project: Project):
    project.remote.parent.mkdir(parents=True, exist_ok=True)
    project.take("v0", init=True)
    # The remote becomes a file: nothing can be written there.
    import shutil

    shutil.rmtree(project.remote)
    project.remote.write_text("not a folder")
    (project.root / "data" / "more.csv").write_text("a\n1\n")
    taken = project.take("v1")
    assert taken.status.value == "ready" and taken.push_status.value == "pending"

    assert project.snapshots.push_due() >= 1
    after = project.snapshots.get(taken.id)
    assert after.push_status.value == "pending" and after.push_attempts == 1
    assert after.push_error and "could not be pushed" in after.push_error
    assert project.snapshots.pushes_pending()
    assert project.snapshots.push_due() == 0  # not due again before its back-off

    project.remote.unlink()
    pushed = project.snapshots.push(taken.id)
    assert pushed.push_status.value == "pushed" and pushed.push_error is None


# -- crashes and bad input -------------------------------------------------------------------------
_KILLED = """
import sys
from traitlets.config import Config
from jupyter_dataops.core.config import DataOps
from jupyter_dataops.core.snapshots.models import SnapshotCreate
from jupyter_dataops.services import Services
dataops = DataOps(config=Config({"DataOps": {"snapshot_remote": sys.argv[3]}}),
                  root_dir=sys.argv[1], data_dir=sys.argv[2])
Services.from_config(dataops, actor="bob").snapshots.create(SnapshotCreate(message="killed"))
"""


def test_kill_9_mid_snapshot_leaves_no_half_snapshot_and_a_consistent_repository(project: Project):
    first = project.take("v1", init=True)
    with open(project.root / "data" / "big.bin", "wb") as handle:
        for _ in range(256):
            handle.write(os.urandom(1 << 20))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _KILLED,
            str(project.root),
            str(project.base / "dataops"),
            str(project.remote),
        ],
        env={**os.environ, "JUPYTER_PLATFORM_DIRS": "1"},
    )
    try:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            query = SnapshotQuery(status=["creating"])  # type: ignore[list-item]
            if project.snapshots.list(query).total or proc.poll() is not None:
                break
            time.sleep(0.02)
        time.sleep(0.2)  # inside DVC's hashing of 256 MiB
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(WAIT)

    page = project.snapshots.list()
    killed = [s for s in page.items if s.message == "killed"]
    if killed:  # it had begun: it is failed, never listed as ready
        assert killed[0].status.value == "failed"
        assert "interrupted" in (project.snapshots.get(killed[0].id).error or "")
        refs = git(project.root, "for-each-ref", "refs/dataops/snapshots/")
        assert killed[0].id not in refs
    assert [s.id for s in page.items if s.status.value == "ready"] == [first.id]
    run("git", "fsck", "--no-progress", cwd=project.root)
    # The next snapshot works and is complete.
    again = project.take("after the crash")
    assert again.status.value == "ready"
    assert run(*DVC, "status", cwd=project.root).returncode == 0


def test_bad_input_is_refused_and_changes_nothing(project: Project, tmp_path: Path):
    first = project.take("v1", init=True)
    refs = git(project.root, "for-each-ref")
    with pytest.raises(Forbidden):
        project.take("escape", paths=["../outside"])
    with pytest.raises(InvalidInput):
        project.take("root", paths=["."])
    with pytest.raises(NotFound):
        project.snapshots.get("0123456789ab")
    with pytest.raises(NotFound):
        project.snapshots.restore("0123456789ab")
    with pytest.raises(Forbidden):
        project.snapshots.restore(first.id, SnapshotRestore(paths=["/etc/passwd"]))
    with pytest.raises(InvalidInput) as nowhere:
        project.snapshots.restore(first.id, SnapshotRestore(paths=["no/such/file.txt"]))
    assert "Neither the snapshot nor the project has 'no/such/file.txt'" in nowhere.value.message
    # A file too big for git outside the data paths is named, with the fix.
    with open(project.root / "model.bin", "wb") as handle:
        handle.truncate(60 * 1024 * 1024)
    with pytest.raises(InvalidInput) as too_big:
        project.take("big")
    assert "model.bin" in too_big.value.message and "snapshot_data_paths" in (
        too_big.value.hint or ""
    )
    (project.root / "model.bin").unlink()
    assert git(project.root, "for-each-ref") == refs
    assert [s.id for s in project.snapshots.list(SnapshotQuery(status=["ready"])).items] == [  # type: ignore[list-item]
        first.id
    ]


def test_a_project_inside_a_larger_repository_is_a_dvc_subdir(project: Project, tmp_path: Path):
    outer = project.root.parent
    (outer / "README.md").write_text("outer\n")
    git(outer, "init", "-q", "-b", "main")
    git(outer, "add", "README.md")
    git(outer, "commit", "-q", "-m", "outer")
    taken = project.take("sub", init=True)
    assert (project.root / ".dvc").is_dir() and not (outer / ".dvc").exists()
    files = git(outer, "ls-tree", "-r", "--name-only", taken.commit).split()
    assert "README.md" in files and "project/data.dvc" in files and "project/train.py" in files
    (project.root / "train.py").write_text("print('two')\n")
    project.snapshots.restore(taken.id, SnapshotRestore(paths=["train.py"]))
    assert (project.root / "train.py").read_text() == "print('train')\n"
    assert (outer / "README.md").read_text() == "outer\n"


# -- lineage ----------------------------------------------------------------------------------------
def test_jobs_record_the_snapshot_they_ran_on_and_lineage_answers_both_ways(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test User")
    project = Project(tmp_path, config={"snapshot_jobs": True})
    try:
        first = project.take("before jobs", init=True)
        write_notebook(project.root / "train.ipynb", ["print(alpha)"], parameters="alpha = 0.5")
        jobs = project.services.jobs

        class Parked:
            def wake(self) -> None:  # queue only: the lineage is recorded when it is queued
                pass

        jobs.dispatcher = Parked()  # type: ignore[assignment]
        job = jobs.create(JobCreate(notebook_path="train.ipynb", parameters={"alpha": 0.7}))
        # The notebook was new since the snapshot: a snapshot was taken for the job.
        assert job.snapshot_id and job.snapshot_id != first.id
        taken = project.snapshots.get(job.snapshot_id)
        assert taken.kind == "job" and taken.jobs == [job.id]
        again = jobs.create(JobCreate(notebook_path="train.ipynb"))
        assert again.snapshot_id == job.snapshot_id  # unchanged: the same snapshot

        upstream = project.snapshots.lineage(job.id)
        assert upstream.root.kind == "job" and upstream.root.detail["parameters"] == {"alpha": 0.7}
        kinds = [(n.kind, n.label) for n in upstream.upstream]
        assert kinds[0] == ("snapshot", taken.message)
        assert ("data", "data") in kinds and any(k == "package" for k, _ in kinds)

        downstream = project.snapshots.lineage(taken.id)
        assert {n.id for n in downstream.downstream} == {job.id, again.id}
        assert json.loads(downstream.model_dump_json())["root"]["kind"] == "snapshot"
    finally:
        project.close()


def test_captured_variables_respect_the_size_cap_one_by_one():
    from jupyter_dataops.core.snapshots.variables import capture, restore

    namespace = {"small": 1, "big": b"x" * 5000, "_hidden": 2, "In": [], "medium": "y" * 500}
    upload = capture(namespace, max_bytes=1000)
    assert [v.name for v in upload.saved] == ["medium", "small"]
    (big,) = upload.skipped
    assert big.name == "big" and "over the size limit of 1000 bytes" in (big.reason or "")
    values, problems = restore(upload.payload)
    assert values == {"medium": "y" * 500, "small": 1} and problems == []


def test_a_snapshot_keeps_variables_with_their_hash(project: Project):
    from jupyter_dataops.core.snapshots.variables import capture, restore

    upload = capture({"weights": [0.1, 0.2]}, max_bytes=1 << 20)
    taken = project.take("with variables", init=True, variables=upload)
    assert taken.variables is not None and taken.variables.saved[0].name == "weights"
    found = project.snapshots.variables(taken.id)
    assert restore(found.payload)[0] == {"weights": [0.1, 0.2]}
    with pytest.raises(NotFound, match="saved no kernel variables"):
        project.snapshots.variables(project.take("none").id)
    # A payload changed on disk is refused, not loaded.
    stored = project.base / "dataops" / "snapshot-variables" / f"{taken.id}.pkl"
    stored.write_bytes(stored.read_bytes() + b"tampered")
    with pytest.raises(IntegrityError, match="do not match their hash"):
        project.snapshots.variables(taken.id)
    # Bad payloads are refused before anything is recorded.
    before = project.snapshots.list().total
    with pytest.raises(InvalidInput, match="not base64"):
        project.take("bad", variables={"payload": "%%%"})
    assert project.snapshots.list().total == before


def test_an_existing_dvc_project_keeps_its_own_layout(project: Project):
    """A project whose DVC tracks files inside data/ one by one (made with DVC's own CLI, as many
    existing projects are): those outputs are updated; git commits the files beside them."""
    git(project.root, "init", "-q", "-b", "main")
    run(*DVC, "init", "-q", cwd=project.root)
    run(*DVC, "add", "-q", "data/iris.csv", cwd=project.root)
    git(project.root, "add", "-A")
    git(project.root, "commit", "-q", "-m", "their own layout")
    (project.root / "data" / "notes.txt").write_text("not tracked\n")
    taken = project.take("theirs")
    assert [entry.path for entry in taken.data] == ["data/iris.csv"]
    assert taken.warnings == []
    files = git(project.root, "ls-tree", "-r", "--name-only", taken.commit).split()
    assert "data/notes.txt" in files and "data/iris.csv.dvc" in files
    assert not (project.root / "data.dvc").exists()
    (project.root / "data" / "iris.csv").unlink()
    project.snapshots.restore(taken.id)
    assert "setosa" in (project.root / "data" / "iris.csv").read_text()


def _tables_in_the_wild() -> list[Path]:
    """CSV and Parquet files that other projects ship in their wheels (sample data, test sets
    with comment lines, old Parquet versions, headers that are not column names)."""
    import matplotlib
    import numpy
    import pyarrow
    import sklearn

    found = []
    for package in (matplotlib, numpy, pyarrow, sklearn):
        base = Path(package.__file__).parent
        found += sorted(p for p in base.rglob("*") if p.suffix in (".csv", ".tsv", ".parquet"))
    return found


def test_tables_nobody_here_wrote_are_profiled_or_reported(project: Project):
    import shutil

    files = _tables_in_the_wild()
    assert len(files) >= 30, files  # the corpus is there: never a pass on nothing
    for n, source in enumerate(files):
        shutil.copyfile(source, project.root / "data" / f"{n:02d}-{source.name}")
    taken = project.take("the wild", init=True)
    profiles = {p: t for p, t in taken.profiles.items() if p != "data/iris.csv"}
    assert len(profiles) == len(files)
    read = [t for t in profiles.values() if t.error is None]
    assert len(read) >= len(files) - 3, [(p, t.error) for p, t in profiles.items() if t.error]
    parquet = [t for p, t in profiles.items() if p.endswith(".parquet")]
    assert parquet and all(t.rows is not None for t in parquet)
    for table in read:
        assert table.rows is not None and table.columns
        for column in table.columns:
            json.dumps(column.model_dump())  # finite numbers only: the API can send it
    # A diff of two versions of every table works too.
    for path in list(profiles)[:5]:
        (project.root / path).unlink()
    second = project.take("fewer")
    found = project.snapshots.diff(taken.id, second.id)
    assert len([c for c in found.data if c.change == "deleted"]) == 5
    assert len([t for t in found.tables if t.rows_after is None]) == 5


def test_data_restored_from_an_earlier_snapshot_is_not_hashed_again(project: Project):
    first = project.take("v1", init=True)
    assert project.snapshots.push_due() == 1
    (project.root / "data" / "iris.csv").unlink()
    (project.root / "data" / "iris.csv").write_text("sepal\n1\n")
    project.take("v2")
    project.snapshots.restore(first.id)
    phases: list[str] = []

    def by_fingerprint(fingerprint: str) -> Any:
        with project.services.ctx.store.unit_of_work(read_only=True) as uow:
            found = uow.snapshots.with_fingerprint(str(project.root), fingerprint)
        return project.snapshots._recorded(found) if found else None

    recorded = project.snapshots.workspace().record(
        "refs/dataops/snapshots/after-restore",
        message="m",
        author="a",
        parent=None,
        previous=None,
        on_phase=phases.append,
        reuse=by_fingerprint,
    )
    assert phases == ["committing"]
    assert [vars(out) for out in recorded.data] == [e.model_dump() for e in first.data]
    # Through the service: the same data as a pushed snapshot is not pushed again.
    after = project.take("after the restore")
    assert after.data == first.data and after.push_status.value == "pushed"


def test_the_packages_of_a_kernel_are_read_once_per_environment(tmp_path: Path):
    from jupyter_dataops.backends.local import environment

    cache = tmp_path / "environments.json"
    environment._cache.clear()
    first = environment.kernel_environment("python3", cache_file=cache)
    assert first["packages"] and cache.exists()
    environment._cache.clear()  # another process: read from the file, not the interpreter
    stored = json.loads(cache.read_text())
    (program,) = stored
    stored[program]["found"]["packages"]["marker-from-cache"] = "1"
    cache.write_text(json.dumps(stored))
    again = environment.kernel_environment("python3", cache_file=cache)
    assert again["packages"]["marker-from-cache"] == "1"
    # A site-packages folder that changed (a package installed) makes it read again.
    stored[program]["stamp"][0][1] = 1
    cache.write_text(json.dumps(stored))
    environment._cache.clear()
    fresh = environment.kernel_environment("python3", cache_file=cache)
    assert "marker-from-cache" not in fresh["packages"]
    assert (
        environment.kernel_environment("no-such-kernel")["error"]
        == "No kernel named 'no-such-kernel'."
    )


def test_the_status_names_the_snapshot_the_project_now_is(project: Project):
    first = project.take("v1", init=True)
    (project.root / "train.py").write_text("print('two')\n")
    second = project.take("v2")
    status = project.snapshots.status()
    assert status.changed is False and status.matches_id == second.id
    project.snapshots.restore(first.id)
    status = project.snapshots.status()
    # The newest is the safety snapshot; the project is now exactly the first one again.
    assert status.changed is True and status.matches_id == first.id
    page = project.snapshots.list(SnapshotQuery(id=[first.id, second.id]))
    assert {s.id for s in page.items} == {first.id, second.id} and page.total == 2


def test_scheduled_runs_record_the_snapshot_they_run_on(tmp_path, monkeypatch):
    """A burst of due schedules of one project runs on one snapshot of it (taken at firing)."""
    from jupyter_dataops.core.schedules.firing import ScheduleFirer
    from jupyter_dataops.core.schedules.models import ScheduleCreate

    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test User")
    project = Project(tmp_path, config={"snapshot_jobs": True})
    try:
        write_notebook(project.root / "train.ipynb", ["print(alpha)"], parameters="alpha = 0.5")
        first = project.take("before the schedules", init=True)

        class Parked:
            def wake(self) -> None:
                pass

        jobs = project.services.jobs
        jobs.dispatcher = Parked()  # type: ignore[assignment]
        made = [
            project.services.schedules.create(
                ScheduleCreate(notebook_path="train.ipynb", cron="* * * * *"), actor="alice"
            )
            for _ in range(2)
        ]
        (project.root / "data" / "iris.csv").write_text("changed\n")  # after the snapshot
        firer = ScheduleFirer(project.services.ctx, jobs, holder="test")
        with project.services.ctx.store.unit_of_work(read_only=True) as uow:
            rows = [uow.schedules.get(s.id) for s in made]
        assert firer.fire_many(rows, time.time() + 180) == 2
        runs = [j for j in jobs.list().items if j.schedule_id]
        assert len(runs) == 2
        (snapshot_id,) = {jobs.get(j.id).snapshot_id for j in runs}  # one for the burst
        assert snapshot_id and snapshot_id != first.id
        taken = project.snapshots.get(snapshot_id)
        assert taken.kind == "job" and taken.message.startswith("Before schedule ")
        assert sorted(taken.jobs) == sorted(j.id for j in runs)
    finally:
        project.close()


def test_a_sandbox_gets_a_snapshots_data_and_the_project_is_left_alone(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from jupyter_dataops.core.sandboxes.models import SandboxCreate
    from jupyter_dataops.core.sandboxes.settings import Machine, load_profiles

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    first = project.take("v1", init=True)
    original = (project.root / "data" / "iris.csv").read_text()
    (project.root / "data" / "iris.csv").unlink()
    (project.root / "data" / "iris.csv").write_text("changed since\n")
    sandboxes = project.services.sandboxes
    machine = Machine(cpus=1, memory_bytes=2**31, gpus=0)
    profiles = [
        {
            "name": "v1",
            "cpus": "1",
            "memory": "1Gi",
            "data": [{"kind": "snapshot", "source": first.id}],
        }
    ]
    sandboxes._profiles = lambda: load_profiles(profiles, machine)
    sandbox = sandboxes.start(SandboxCreate(profile="v1", wait=True), actor="alice")
    try:
        assert sandbox.status.value == "ready", sandbox.error
        data = next(s for s in sandbox.steps if s.name == "data")
        assert data.detail == f"snapshot {first.id} (1 files)"
        assert (Path(sandbox.workdir) / "data" / "iris.csv").read_text() == original
        assert (project.root / "data" / "iris.csv").read_text() == "changed since\n"
    finally:
        sandboxes.stop(sandbox.id)
    unknown = [
        {
            "name": "v1",
            "cpus": "1",
            "memory": "1Gi",
            "data": [{"kind": "snapshot", "source": "ffffffff"}],
        }
    ]
    sandboxes._profiles = lambda: load_profiles(unknown, machine)
    failed = sandboxes.start(SandboxCreate(profile="v1", wait=True), actor="alice")
    assert failed.status.value == "failed" and "No snapshot" in (failed.error or "")
