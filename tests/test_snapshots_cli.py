"""Snapshots from a shell: ``dataops snapshot`` and ``dataops snapshots ...`` run as a user runs them
(subprocesses in a project folder, a store of their own), and ``%dataops snapshot`` in a real
IPython shell. Exit codes: 2 invalid input, 3 not found, 5 forbidden, 9 integrity."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from jupyter_dataops.core.snapshots.models import Snapshot

from .schedule_helpers import WAIT, SchedEnv

CSV = "x,y\n1,2\n3,4\n"


def project(env: SchedEnv) -> Path:
    (env.root / "data").mkdir(exist_ok=True)
    (env.root / "data" / "points.csv").write_text(CSV)
    return env.root


@pytest.fixture
def env(tmp_path: Path) -> Iterator[SchedEnv]:
    made = SchedEnv(tmp_path / "cli")
    made.env.update(
        GIT_AUTHOR_NAME="Test User",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test User",
        GIT_COMMITTER_EMAIL="test@example.com",
    )
    project(made)
    yield made
    made.dataops("worker", "stop")
    made.close()


def test_the_cli_takes_lists_diffs_and_restores_snapshots(env: SchedEnv):
    refused = env.dataops("snapshot", "-m", "first")
    assert refused.returncode == 2, refused
    assert refused.stderr.startswith("error: ") and "--init" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (env.root / ".git").exists()

    taken = env.dataops("snapshot", "-m", "first", "--init")
    assert taken.returncode == 0, taken.stderr
    first_id = taken.stdout.split()[1]
    assert taken.stdout.startswith(f"Snapshot {first_id} taken.")
    assert "data/points.csv  2 rows x 2 columns" in taken.stdout

    (env.root / "data" / "points.csv").unlink()
    (env.root / "data" / "points.csv").write_text(CSV + "5,6\n")
    second = env.json("snapshot", "-m", "second")
    assert second["parent_id"] == first_id and second["changed"] is True

    listed = env.dataops("snapshots")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "CREATED", "KIND", "AUTHOR"]
    assert lines[1].startswith(second["id"]) and lines[2].startswith(first_id)

    diff = env.dataops("snapshots", "diff", first_id[:6])
    assert diff.returncode == 0, diff.stderr
    assert "~ data/points.csv" in diff.stdout and "rows 2 -> 3" in diff.stdout

    status = env.dataops("snapshots", "status")
    assert "changed:     no" in status.stdout

    restored = env.dataops("snapshots", "restore", first_id, "data/points.csv")
    assert restored.returncode == 0, restored.stderr
    assert f"Restored snapshot {first_id}; verified 1 data files." in restored.stdout
    assert (env.root / "data" / "points.csv").read_text() == CSV

    lineage = env.dataops("lineage", second["id"])
    assert "Made from:" in lineage.stdout and first_id[:16] in lineage.stdout


@pytest.mark.parametrize(
    "args, code, text",
    [
        (("snapshots", "show", "0123456789ab"), 3, "No snapshot with id '0123456789ab'"),
        (("snapshots", "restore", "0123456789ab"), 3, "No snapshot"),
        (("snapshot", "--init", "../elsewhere"), 5, "outside"),
        (("snapshots", "diff"), 2, "the following arguments are required: A"),
        (("snapshots", "list", "--status", "done"), 2, "invalid choice: 'done'"),
    ],
)
def test_bad_input_exits_with_its_code_and_one_line(env: SchedEnv, args, code, text):
    result = env.dataops(*args)
    assert result.returncode == code, result
    assert text in result.stderr and "Traceback" not in result.stderr


# -- the magic --------------------------------------------------------------------------------------
@pytest.fixture
def ip(env: SchedEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    for name in ("JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "PYTHONPATH"):
        monkeypatch.setenv(name, env.env[name])
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        monkeypatch.setenv(name, env.env[name])
    for name in ("JPY_PARENT_PID", "DATAOPS_SERVER_URL", "DATAOPS_TOKEN", "DATAOPS_ROOT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(env.root)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_dataops")
    try:
        yield shell
    finally:
        with capture_output():
            shell.run_line_magic("dataops", "worker stop")
        shell.run_line_magic("unload_ext", "jupyter_dataops")
        subprocess.run(
            [sys.executable, "-m", "jupyter_dataops.cli", "worker", "stop"],
            cwd=env.root,
            env=env.env,
            capture_output=True,
            timeout=WAIT,
        )


def test_the_magic_takes_a_snapshot_and_shows_them_as_a_table(ip: InteractiveShell, env):
    with pytest.raises(UsageError, match="not yet a git and DVC repository"):
        ip.run_line_magic("dataops", 'snapshot -m "before feature change"')
    with capture_output():
        result = ip.run_cell('snap = %dataops snapshot --init -m "before feature change"')
    assert result.success
    snap = ip.user_ns["snap"]
    assert isinstance(snap, Snapshot) and snap.message == "before feature change"
    assert ip.display_formatter.format(snap)[0]["text/plain"].startswith(
        f"<Snapshot {snap.id} ready: before feature change, 1 data files, commit "
    )
    with capture_output() as listed:
        assert ip.run_cell("%dataops snapshots").success
    (shown,) = listed.outputs
    assert snap.id in shown.data["text/plain"]
    table = shown.data["text/html"]
    assert table.startswith('<table class="dataops-snapshots">') and "<svg" in table
    with capture_output() as as_json:
        ip.run_line_magic("dataops", "snapshots list --json")
    assert json.loads(as_json.stdout)["items"][0]["id"] == snap.id
    with pytest.raises(UsageError, match="No snapshot with id"):
        ip.run_line_magic("dataops", "snapshots diff 0123456789ab")


def test_the_magic_saves_kernel_variables_and_loads_them_back(ip: InteractiveShell, env):
    setup = """
import math, threading
import pandas as pd
frame = pd.DataFrame({"a": [1, 2, 3]})
alpha = 0.25
square = lambda v: v * v
def helper():
    return 1
lock = threading.Lock()
"""
    assert ip.run_cell(setup).success
    with capture_output():
        assert ip.run_cell("snap = %dataops snapshot --init --variables -m vars").success
    snap = ip.user_ns["snap"]
    saved = {v.name: v for v in snap.variables.saved}
    skipped = {v.name: v.reason for v in snap.variables.skipped}
    assert {"frame", "alpha"} <= set(saved) and saved["frame"].type.endswith("DataFrame")
    assert "cannot be pickled" in skipped["lock"]
    assert "defined in the notebook" in skipped["square"]  # a lambda
    assert "defined in the notebook" in skipped["helper"]
    assert "a module" in skipped["math"]
    with capture_output() as shown:
        ip.run_line_magic("dataops", f"snapshots show {snap.id}")
    assert "variables:" in shown.stdout and "not saved:   lock: cannot be pickled" in shown.stdout

    assert ip.run_cell("del frame, alpha\nalpha = 'changed'").success
    with capture_output() as loaded:
        names = ip.run_line_magic("dataops", f"snapshots load {snap.id[:6]}")
    assert "frame" in names and "alpha" in names
    first_line = loaded.stdout.splitlines()[0]
    assert first_line.startswith("Loaded ") and first_line.endswith(f"from snapshot {snap.id[:6]}.")
    assert {"alpha", "frame"} <= set(first_line[len("Loaded ") :].split(" from ")[0].split(", "))
    assert "not saved: lock" in loaded.stdout
    assert ip.user_ns["alpha"] == 0.25
    assert ip.user_ns["frame"].equals(ip.user_ns["pd"].DataFrame({"a": [1, 2, 3]}))

    with capture_output() as as_json:
        ip.run_line_magic("dataops", f"snapshots load {snap.id} alpha --json")
    report = json.loads(as_json.stdout)
    assert report["loaded"] == ["alpha"] and report["not_loaded"] == []
    with capture_output():
        only = ip.run_cell("%dataops snapshot --variable alpha -m one").result
    assert [v.name for v in only.variables.saved] == ["alpha"] and only.variables.skipped == []
    with pytest.raises(UsageError, match="No variable named 'nope' in the kernel"):
        ip.run_line_magic("dataops", "snapshot --variable nope")
    with pytest.raises(UsageError, match="saved no variable named 'frame'"):
        ip.run_line_magic("dataops", f"snapshots load {only.id} frame")


def test_variables_are_a_notebook_thing_in_the_terminal(env: SchedEnv):
    result = env.dataops("snapshot", "--init", "--variables")
    assert result.returncode == 2 and "a terminal has none" in result.stderr
    assert not (env.root / ".git").exists()  # refused before anything was set up
    taken = env.json("snapshot", "--init")
    loaded = env.dataops("snapshots", "load", taken["id"])
    assert loaded.returncode == 2 and "%dataops snapshots load" in loaded.stderr
