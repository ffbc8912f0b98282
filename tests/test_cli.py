"""The ``dataops`` CLI, run as a user runs it: a real subprocess against a real store and worker.

Every test shares one data dir (one store, one warm worker) except those that check that bad input
stores nothing, which get a fresh one. The worker is stopped at the end with ``dataops worker stop``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_dataops.cli import TerminalUi
from jupyter_dataops.commands import TABLE, Invocation
from jupyter_dataops.core.jobs.models import Job, JobStatus

from .factories import make_job
from .notebooks import output_text, write_notebook

REPO = Path(__file__).resolve().parent.parent
WAIT = 120  # seconds: the bound on every wait in this file


class Env:
    """A root folder and a Jupyter data/config/runtime dir, and a way to call ``dataops`` there."""

    def __init__(self, base: Path) -> None:
        self.root = base / "root"
        self.root.mkdir(parents=True)
        self.env = {
            **os.environ,
            "JUPYTER_DATA_DIR": str(base / "data"),
            "JUPYTER_CONFIG_DIR": str(base / "config"),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        self.env.pop("JPY_PARENT_PID", None)
        # Read by the CLI like any user's config: one warm kernel is enough here, and a worker
        # whose test died before stopping it exits on its own soon.
        config = base / "config"
        config.mkdir()
        (config / "jupyter_dataops_config.json").write_text(
            json.dumps({"LocalExecutor": {"kernel_pool_size": 1}, "Worker": {"idle_timeout": 120}})
        )
        write_notebook(
            self.root / "ok.ipynb",
            ["print(f'alpha is {alpha}')", "result = alpha * 2"],
            parameters="alpha = 0.1  # learning rate\nname = 'run'",
        )
        write_notebook(
            self.root / "fail.ipynb",
            ["x = 1", "raise ValueError('boom')"],
            parameters="alpha = 0.1",
        )
        write_notebook(
            self.root / "slow.ipynb", ["import time; time.sleep(60)"], parameters="n = 1"
        )

    def dataops(self, *args: str, timeout: float = WAIT) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jupyter_dataops.cli", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def json(self, *args: str) -> Any:
        result = self.dataops(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def wait_until(self, job_id: str, statuses: set[str]) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        while True:
            job = self.json("jobs", "show", job_id)
            if job["status"] in statuses or time.monotonic() > deadline:
                return job
            time.sleep(0.2)

    def stop_worker(self) -> None:
        self.dataops("worker", "stop")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    shared = Env(tmp_path_factory.mktemp("cli"))
    yield shared
    shared.stop_worker()


@pytest.fixture
def fresh(tmp_path: Path):
    """An empty store; no job is ever submitted to it, but stop a worker in case a test fails."""
    own = Env(tmp_path)
    yield own
    own.stop_worker()


def nothing_stored(env: Env) -> None:
    page = env.json("jobs", "list")
    assert page["total"] == 0 and page["items"] == []
    assert not (env.root / "dataops-jobs").exists() or not any(
        (env.root / "dataops-jobs").iterdir()
    )


# -- run -------------------------------------------------------------------------------------------
def test_run_wait_json_completes_with_the_parameter_injected(env: Env):
    result = env.dataops("run", "ok.ipynb", "-p", "alpha", "0.5", "--wait", "--json")
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)  # stdout is exactly one JSON object
    assert job["status"] == "completed"
    assert job["error"] is None
    assert job["parameters"] == {"alpha": 0.5}  # "0.5" coerced to the default's type
    assert {"id", "status", "output_path", "error", "progress", "notebook_path"} <= set(job)
    output = env.root / job["output_path"]
    assert output.is_file()
    assert "alpha is 0.5" in output_text(output)


#: One progress line as ``--wait`` prints it when stderr is not a terminal.
PROGRESS_LINE = re.compile(
    r"\[[#-]{24}\] (\d+)/(\d+) cells  (queued|running|completed)( \([^)]*\))?\b"
)


def progress_lines(stderr: str) -> list[tuple[int, int, str]]:
    """``(done, total, status)`` of each progress line; fails on any other line but the last
    (the outcome), so nothing else leaks onto stderr between them."""
    lines = stderr.splitlines()
    progress = [PROGRESS_LINE.match(line) for line in lines[:-1]]
    assert all(progress), f"not a progress line in:\n{stderr}"
    return [(int(m.group(1)), int(m.group(2)), m.group(3)) for m in progress if m]


def test_run_wait_shows_progress_on_stderr_and_only_the_id_on_stdout(env: Env):
    result = env.dataops("run", "ok.ipynb", "--wait")
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.strip()
    assert len(job_id) == 12 and job_id.isalnum()
    assert result.stdout == job_id + "\n"  # stdout is only the id
    # Not a terminal: one line per change, no carriage returns.
    assert "\r" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"Job {job_id} completed")
    # The job takes ~0.2 s, so whether --wait sees it queued or running is a race; it always
    # sees it end, and prints that as a last progress line with every cell done.
    seen = progress_lines(result.stderr)
    assert seen and seen[-1] == (3, 3, "completed"), result.stderr
    order = {"queued": 0, "running": 1, "completed": 2}
    statuses = [status for _, _, status in seen]
    assert statuses == sorted(statuses, key=order.__getitem__), result.stderr


def test_wait_prints_a_final_progress_line_for_a_job_never_seen_running():
    """A job that ends between two looks is never seen running: the end is still shown."""

    def job(status: JobStatus, done: int) -> Job:
        return make_job(
            status=status,
            started_at=None if status is JobStatus.QUEUED else 1.5,
            finished_at=None if status is JobStatus.QUEUED else 1.7,
            done=done,
            output_path="dataops-jobs/ok-3f2a9c1b7d4e/ok.ipynb",
        )

    class Client:
        root = "/r"

        def create_job(self, request: Any) -> Job:
            return job(JobStatus.QUEUED, 0)

        def wait_for_job(self, job_id: str, *, on_update: Any, interval: float) -> Job:
            on_update(job(JobStatus.QUEUED, 0))
            on_update(job(JobStatus.COMPLETED, 3))
            return job(JobStatus.COMPLETED, 3)

    out, err = io.StringIO(), io.StringIO()
    spec, args = TABLE.parse(["run", "ok.ipynb", "--wait"])
    _, code = spec.run(Invocation(args=args, client=Client(), ui=TerminalUi(out, err)))  # type: ignore[arg-type]
    assert code == 0
    assert out.getvalue() == "3f2a9c1b7d4e\n"
    assert progress_lines(err.getvalue()) == [(0, 3, "queued"), (3, 3, "completed")]
    assert err.getvalue().splitlines()[-1].startswith("Job 3f2a9c1b7d4e completed")


def test_failing_notebook_exits_1_with_the_cell_error(env: Env):
    result = env.dataops("run", "fail.ipynb", "--wait", "--json")
    assert result.returncode == 1
    job = json.loads(result.stdout)
    assert job["status"] == "failed"
    assert job["error"]["ename"] == "ValueError"
    assert job["error"]["evalue"] == "boom"


def test_failing_notebook_prints_the_reason_and_traceback(env: Env):
    result = env.dataops("run", "fail.ipynb", "--wait")
    assert result.returncode == 1
    assert "failed" in result.stderr and "ValueError: boom" in result.stderr
    assert "\x1b[" not in result.stderr  # colour codes stripped when stderr is not a terminal


def test_run_without_wait_prints_the_id(env: Env):
    result = env.dataops("run", "ok.ipynb", "--name", "quick")
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.strip()
    job = env.wait_until(job_id, {"completed", "failed"})
    assert (job["status"], job["name"]) == ("completed", "quick")


def test_unknown_parameter_warns_on_stderr_and_runs(env: Env):
    result = env.dataops("run", "ok.ipynb", "-p", "beta", "3", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("warning: Parameter 'beta' is not defined")
    job = json.loads(result.stdout)
    assert job["parameters"] == {"beta": 3}
    assert job["warnings"]


# -- bad input -------------------------------------------------------------------------------------
def test_missing_notebook_exits_3_and_stores_nothing(fresh: Env):
    result = fresh.dataops("run", "missing.ipynb", "--wait")
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.startswith("error: The notebook 'missing.ipynb' does not exist.")
    assert len(result.stderr.strip().splitlines()) == 1
    nothing_stored(fresh)


def test_wrong_parameter_type_exits_2_and_stores_nothing(fresh: Env):
    result = fresh.dataops("run", "ok.ipynb", "-p", "alpha", "fast", "--wait")
    assert result.returncode == 2
    assert result.stderr.startswith("error: Parameter 'alpha' expects float")
    assert "Give alpha a value of type float." in result.stderr  # the hint
    nothing_stored(fresh)


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["run", "ok.ipynb", "--kernel-name", "nope"], 2, "Unknown kernel 'nope'"),
        (["run", "ok.ipynb", "--kernel", "no-such-kernel"], 2, "Unknown kernel 'no-such-kernel'"),
        (["run", "ok.ipynb", "--max-retries", "99"], 2, "max_retries"),
        (["run", "ok.ipynb", "--retries", "99"], 2, "max_retries"),
        (["run", "ok.ipynb", "--timeout-seconds", "-5"], 2, "timeout_seconds"),
        (["run", "ok.ipynb", "--timeout", "-5"], 2, "timeout_seconds"),
        (["run", "ok.ipynb", "-p", "import", "1"], 2, "keyword"),
        (["jobs", "list", "--cursor", "garbage"], 2, "cursor"),
        (["run", "ok.txt"], 2, "is not a notebook"),
        (["run", "../outside.ipynb"], 5, "outside the root directory"),
        (["run", "ok.ipynb", "--root-dir", "nope"], 2, "does not exist"),
        (["run", "ok.ipynb", "--on", "kubernetes"], 2, "Unknown executor 'kubernetes'"),
        (
            ["sandboxes", "start", "local", "--on", "kubernetes"],
            2,
            "Unknown sandbox provider 'kubernetes' (asked); sandboxes here run on: local.",
        ),
    ],
)
def test_invalid_requests_exit_with_the_error_code(fresh: Env, args, code, text):
    write_notebook(fresh.root.parent / "outside.ipynb", ["x = 1"])
    result = fresh.dataops(*args)
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith("error: ") and text in result.stderr
    nothing_stored(fresh)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["frobnicate"],
        ["run"],
        ["run", "ok.ipynb", "-p", "alpha"],
        ["jobs", "list", "--limit", "x"],
    ],
)
def test_usage_errors_exit_2_with_usage(fresh: Env, args):
    result = fresh.dataops(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: dataops")
    assert "dataops: error:" in result.stderr


def test_unknown_job_exits_3(fresh: Env):
    for action in ("show", "logs", "cancel", "delete", "rerun"):
        result = fresh.dataops("jobs", action, "0123456789ab")
        assert result.returncode == 3, (action, result.stderr)
        assert (
            result.stderr
            == "error: No job with id '0123456789ab'. List jobs with `dataops jobs list`.\n"
        )


def test_version_and_help(fresh: Env):
    version = fresh.dataops("--version")
    assert version.returncode == 0 and version.stdout.startswith("dataops ")
    help_ = fresh.dataops("run", "--help")
    assert help_.returncode == 0 and "-p NAME VALUE" in help_.stdout
    assert "--kernel-name" in help_.stdout and "--timeout-seconds" in help_.stdout
    # The older spellings still work but are not advertised.
    assert "--retries" not in help_.stdout and "--kernel " not in help_.stdout
    top = fresh.dataops("--help")
    assert "jobs" in top.stdout and "{" not in top.stdout.split("options:")[0].split("COMMAND")[0]


# -- jobs ------------------------------------------------------------------------------------------
def test_jobs_list_show_logs_rerun_delete_by_prefix(env: Env):
    job = env.json("run", "ok.ipynb", "-p", "alpha", "0.25", "--wait")
    prefix = job["id"][:6]

    shown = env.json("jobs", "show", prefix)
    assert shown == job

    text = env.dataops("jobs", "show", prefix)
    assert text.returncode == 0
    assert f"id:         {job['id']}" in text.stdout and "status:     completed" in text.stdout

    logs = env.dataops("jobs", "logs", prefix)
    assert logs.returncode == 0 and "alpha is 0.25" in logs.stdout

    table = env.dataops("jobs", "list", "--notebook", "ok.ipynb", "--status", "completed")
    assert table.returncode == 0
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "STATUS", "PROGRESS", "CREATED", "DURATION"]
    assert any(row.startswith(job["id"]) and " completed " in row for row in rows)

    rerun = env.dataops("jobs", "rerun", prefix, "-p", "alpha", "2", "--wait", "--json")
    assert rerun.returncode == 0, rerun.stderr
    again = json.loads(rerun.stdout)
    assert again["rerun_of"] == job["id"] and again["id"] != job["id"]
    assert again["parameters"] == {"alpha": 2.0}
    assert "alpha is 2.0" in output_text(env.root / again["output_path"])

    follow = env.dataops("jobs", "logs", prefix, "--follow")
    assert follow.returncode == 0 and follow.stdout == logs.stdout

    deleted = env.dataops("jobs", "delete", prefix)
    assert (deleted.returncode, deleted.stdout) == (0, f"Deleted job {job['id']}.\n")
    assert not (env.root / job["output_path"]).exists()
    assert env.dataops("jobs", "show", job["id"]).returncode == 3
    # The shortcut form is the same command.
    assert env.json("show", again["id"][:6])["id"] == again["id"]


def test_jobs_list_filters_sorts_and_pages(env: Env):
    env.dataops("run", "fail.ipynb", "--wait")
    env.dataops("run", "ok.ipynb", "--wait")
    failed = env.json("jobs", "list", "--status", "failed")
    assert failed["items"] and {j["status"] for j in failed["items"]} == {"failed"}
    assert "parameters" not in failed["items"][0]  # a list has summaries
    both = env.json("jobs", "list", "--status", "failed", "--status", "completed")
    assert {j["status"] for j in both["items"]} == {"failed", "completed"}
    first = env.json("jobs", "list", "--limit", "1", "--sort", "created_at", "--order", "asc")
    assert len(first["items"]) == 1 and first["total"] > 1 and first["next_cursor"]
    second = env.json(
        "jobs", "list", "--limit", "1", "--order", "asc", "--cursor", first["next_cursor"]
    )
    assert second["items"][0]["created_at"] >= first["items"][0]["created_at"]
    assert second["items"][0]["id"] != first["items"][0]["id"]
    paged = env.dataops("jobs", "list", "--limit", "1")
    assert paged.stdout.splitlines()[-1].startswith(f"(1 of {first['total']:,} jobs; next page:")
    # `jobs` alone, or with list options, is `jobs list`.
    assert env.json("jobs", "--status", "failed") == failed
    assert env.dataops("jobs").stdout == env.dataops("jobs", "list").stdout
    assert env.json("jobs", "list", "--notebook", "no-such-notebook")["total"] == 0
    assert env.dataops("jobs", "list", "--notebook", "no-such-notebook").stdout == "No jobs.\n"


def test_cancel_a_running_job_and_conflicts(env: Env):
    job_id = env.dataops("run", "slow.ipynb").stdout.strip()
    busy = env.dataops("jobs", "delete", job_id)
    assert busy.returncode == 4 and "Cancel it first" in busy.stderr

    cancel = env.dataops("jobs", "cancel", job_id[:5], "--json")
    assert cancel.returncode == 0, cancel.stderr
    assert json.loads(cancel.stdout)["cancel_requested"] is True
    job = env.wait_until(job_id, {"cancelled", "failed", "completed"})
    assert job["status"] == "cancelled"

    again = env.dataops("jobs", "cancel", job_id)
    assert again.returncode == 4 and again.stderr.startswith("error: Job ")
    assert env.dataops("jobs", "delete", job_id).returncode == 0


@contextlib.contextmanager
def waiting_on_slow_job(env: Env) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """``dataops run slow.ipynb --wait --json`` in a subprocess, yielded with the job once it
    runs; the subprocess is killed on the way out if it is still waiting."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_dataops.cli", "run", "slow.ipynb", "--wait", "--json"],
        cwd=env.root,
        env=env.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + WAIT
        running: list[dict[str, Any]] = []
        while not running and time.monotonic() < deadline:
            running = env.json("jobs", "list", "--notebook", "slow.ipynb", "--status", "running")[
                "items"
            ]
            time.sleep(0.2)
        assert running, "the slow job never started"
        yield proc, running[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_wait_on_a_job_cancelled_meanwhile_exits_1(env: Env):
    with waiting_on_slow_job(env) as (proc, running):
        assert env.dataops("jobs", "cancel", running["id"]).returncode == 0
        out, _ = proc.communicate(timeout=WAIT)
    assert proc.returncode == 1
    assert json.loads(out)["status"] == "cancelled"


def test_wait_ends_when_the_worker_dies(fresh: Env):
    """A worker killed mid-job must not leave `run --wait` hanging on a `running` row: the wait
    reconciles, a new worker marks the job failed, and the CLI exits 1 with the reason."""
    with waiting_on_slow_job(fresh) as (proc, _):
        os.kill(fresh.json("worker", "status")["pid"], signal.SIGKILL)
        out, _ = proc.communicate(timeout=WAIT)
    assert proc.returncode == 1
    job = json.loads(out)
    assert (job["status"], job["error"]["ename"]) == ("failed", "WorkerLost")


def test_worker_status_and_stop(tmp_path: Path):
    own = Env(tmp_path)
    try:
        assert own.dataops("worker").stdout.startswith("No worker is running")
        assert own.dataops("run", "ok.ipynb", "--wait").returncode == 0
        status = own.json("worker", "status")
        assert status["running"] is True and status["pid"]
        stopped = own.json("worker", "stop")
        assert stopped["stopped"] is True and stopped["running"] is False
    finally:
        own.stop_worker()


# -- start-up cost ---------------------------------------------------------------------------------
def test_cli_path_does_not_import_heavy_libraries(fresh: Env):
    code = (
        "import sys\n"
        "from jupyter_dataops import cli\n"
        "assert cli.main(['jobs', 'list']) == 0\n"
        "assert cli.main(['run', 'missing.ipynb']) == 3\n"
        "heavy = {'papermill', 'nbconvert', 'ipywidgets', 'IPython', 'nbclient', 'tornado'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=fresh.root,
        env=fresh.env,
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


# -- notebooks nobody here wrote ---------------------------------------------------------------------
#: Notebooks from papermill's package and from other projects' sdists (tests/corpus.py), each with
#: what `dataops run --wait` must end in: run to completion, fail as a job (on their own error, never
#: ours), or just run ("ran": either).
CORPUS_RUNS = {
    "papermill/simple_execute.ipynb": ("completed", ["-p", "msg", "hello"]),
    # Its parameters cell has a line that is not Python ("= 2"): the job fails there, as with papermill.
    "papermill/complex_parameters.ipynb": ("failed", ["-p", "msg", "x"]),
    "papermill/no_parameters.ipynb": ("completed", ["-p", "injected", "1"]),
    "papermill/nb_version_4.4.ipynb": ("completed", []),
    "papermill/broken1.ipynb": ("failed", []),
    "papermill/sysexit1.ipynb": ("failed", []),
    "papermill/line_magic_error.ipynb": ("failed", []),
    # nbformat 3: converted and run; one of its cells fetches a URL, which fails offline.
    "nbformat-5.11.1/tests/test3.ipynb": ("ran", []),
    "nbclient-0.11.0/tests/files/Factorials.ipynb": ("completed", []),
    "nbclient-0.11.0/tests/files/Unicode.ipynb": ("completed", []),
    "nbclient-0.11.0/tests/files/Error.ipynb": ("failed", []),
    "nbclient-0.11.0/tests/files/Empty Cell.ipynb": ("completed", []),
}


@pytest.fixture(scope="module")
def corpus_root(env: Env) -> Path:
    """The corpus notebooks, copied into the CLI's root."""
    import shutil

    from .corpus import PAPERMILL_NOTEBOOKS, corpus_notebooks

    found = corpus_notebooks()
    target = env.root / "corpus"
    for name in CORPUS_RUNS:
        source = (
            PAPERMILL_NOTEBOOKS / name.split("/", 1)[1]
            if name.startswith("papermill/")
            else next(p for key, p in found.items() if key.endswith(name))
        )
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
    return target


@pytest.mark.parametrize("name", list(CORPUS_RUNS))
def test_other_projects_notebooks_run_or_are_refused_in_one_line(env: Env, corpus_root, name):
    expected, extra = CORPUS_RUNS[name]
    result = env.dataops("run", f"corpus/{name}", *extra, "--wait", "--json")
    assert "Traceback (most recent call last)" not in result.stderr, result.stderr
    assert result.returncode in (0, 1), result.stderr
    job = json.loads(result.stdout)
    if expected == "ran":
        expected = job["status"] if job["status"] in ("completed", "failed") else "completed"
    assert job["status"] == expected, (job["status"], job["error"], result.stderr)
    if expected == "failed":
        assert job["error"]["ename"] not in ("InternalError", "DeadKernelError"), job["error"]
