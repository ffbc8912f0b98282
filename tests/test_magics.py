"""The ``%dataops`` magic in a real IPython shell, against a real store and worker (no mocks)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import CapturedIO, capture_output

from jupyter_dataops.core.jobs.models import Job, JobStatus
from jupyter_dataops.services import services_from_environment

from .notebooks import output_text, write_notebook

REPO = Path(__file__).resolve().parent.parent
WAIT = 120  # seconds: the bound on every wait in this file


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A root folder with notebooks, and Jupyter dirs of its own; the kernel's cwd is the root."""
    base = tmp_path_factory.mktemp("magics")
    root = base / "root"
    write_notebook(
        root / "ok.ipynb",
        ["print(f'alpha is {alpha}')"],
        parameters="alpha = 0.1  # learning rate",
    )
    write_notebook(root / "fail.ipynb", ["raise ValueError('boom')"], parameters="alpha = 0.1")
    write_notebook(root / "sub" / "nested.ipynb", ["print('nested ran')"])
    config = base / "config"
    config.mkdir()
    (config / "jupyter_dataops_config.json").write_text(
        json.dumps({"LocalExecutor": {"kernel_pool_size": 1}, "Worker": {"idle_timeout": 120}})
    )
    patch = pytest.MonkeyPatch()
    patch.setenv("JUPYTER_DATA_DIR", str(base / "data"))
    patch.setenv("JUPYTER_CONFIG_DIR", str(config))
    patch.setenv("JUPYTER_RUNTIME_DIR", str(base / "runtime"))
    patch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    for name in ("JPY_PARENT_PID", "DATAOPS_SERVER_URL", "DATAOPS_TOKEN", "DATAOPS_ROOT_DIR"):
        patch.delenv(name, raising=False)
    patch.chdir(root)
    yield root
    # Whatever started the worker (the magic in this process, or a kernel), stop it.
    subprocess.run(
        [sys.executable, "-m", "jupyter_dataops.cli", "worker", "stop"],
        cwd=root,
        capture_output=True,
        timeout=WAIT,
    )
    patch.undo()


@pytest.fixture(scope="module")
def ip(root: Path) -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_dataops")
    yield shell
    shell.run_line_magic("dataops", "worker stop")
    shell.run_line_magic("unload_ext", "jupyter_dataops")


def run(ip: InteractiveShell, source: str) -> tuple[Any, CapturedIO]:
    """Run a cell as a user would; returns IPython's result and what the cell showed."""
    with capture_output() as captured:
        result = ip.run_cell(source)
    return result, captured


def html_outputs(captured: CapturedIO) -> str:
    return "\n".join(o.data.get("text/html", "") for o in captured.outputs)


def job_count(ip: InteractiveShell) -> int:
    with capture_output() as captured:
        ip.run_line_magic("dataops", "jobs --json")
    return int(json.loads(captured.stdout)["total"])


# -- run ---------------------------------------------------------------------------------------
def test_run_wait_returns_the_completed_job_with_a_progress_bar_and_a_link(ip, root):
    result, captured = run(ip, "job = %dataops run ok.ipynb -p alpha 0.5 --wait")
    assert result.success, captured.stderr
    job = ip.user_ns["job"]
    assert isinstance(job, Job)
    assert job.status is JobStatus.COMPLETED
    assert job.parameters == {"alpha": 0.5}
    assert "alpha is 0.5" in output_text(root / job.output_path)

    # Outside a kernel (this shell is like terminal IPython) progress is a text bar; the widget
    # is tested in a real kernel below.
    texts = [o.data.get("text/plain", "") for o in captured.outputs]
    assert any(t.startswith("[") and "cells  completed" in t for t in texts)

    # Then a link to the executed notebook, relative to the kernel's folder (here the root).
    html = html_outputs(captured)
    assert f'<a href="{job.output_path}">' in html and "completed" in html


def test_run_returns_the_job_and_shows_it_in_one_line(ip):
    job = ip.run_line_magic("dataops", "run ok.ipynb")
    assert isinstance(job, Job) and job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    assert ip.display_formatter.format(job)[0]["text/plain"] == (
        f"<Job {job.id} {job.status.value}: ok.ipynb>"
    )
    services = services_from_environment(os.getcwd())
    try:
        assert services.jobs.wait(job.id, timeout=WAIT).status is JobStatus.COMPLETED
    finally:
        services.close()


def test_failed_job_shows_the_error_and_traceback(ip):
    result, captured = run(ip, "failed = %dataops run fail.ipynb --wait")
    assert result.success  # the job failed, the magic did not
    job = ip.user_ns["failed"]
    assert job.status is JobStatus.FAILED
    assert job.error is not None and job.error.ename == "ValueError"
    assert "ValueError" in captured.stderr and "boom" in captured.stderr
    assert "failed" in html_outputs(captured)


def test_cell_body_gives_parameters(ip, root):
    with capture_output():
        job = ip.run_cell_magic("dataops", "run ok.ipynb --wait", "# tuned\nalpha = 0.25\n")
    assert job.status is JobStatus.COMPLETED and job.parameters == {"alpha": 0.25}
    assert "alpha is 0.25" in output_text(root / job.output_path)


def test_text_progress_without_ipywidgets(ip, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # `import ipywidgets` now fails
    result, captured = run(ip, "plain = %dataops run ok.ipynb --wait")
    assert result.success, captured.stderr
    assert ip.user_ns["plain"].status is JobStatus.COMPLETED
    texts = [o.data.get("text/plain", "") for o in captured.outputs]
    assert any("cells  completed" in t for t in texts)


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line, text",
    [
        ("run missing.ipynb --wait", "The notebook 'missing.ipynb' does not exist."),
        ("run ok.ipynb -p alpha fast", "Parameter 'alpha' expects float"),
        ("run ok.ipynb --kernel nope", "Unknown kernel 'nope'"),
        ("run ok.ipynb --retries 99", "max_retries"),
        ("run ok.ipynb --max-retries 99", "max_retries"),
        ("run ok.ipynb -p import 1", "keyword"),
        ("jobs show 0123456789ab", "No job with id '0123456789ab'."),
        ("frobnicate", "invalid choice: 'frobnicate'"),
        ("run", "the following arguments are required: NOTEBOOK"),
        ("run 'ok.ipynb", "Cannot split the line"),
        ("show 0123456789ab", "No job with id '0123456789ab'."),
    ],
)
def test_bad_input_shows_one_clear_error_without_traceback(ip, line, text):
    before = job_count(ip)
    result, captured = run(ip, f"%dataops {line}")
    assert isinstance(result.error_in_exec, UsageError)
    assert f"UsageError: {text}" in captured.stderr.replace("\n", " ") or text in captured.stderr
    assert "Traceback" not in captured.stdout + captured.stderr
    assert job_count(ip) == before  # nothing stored


def test_help_prints_usage_and_no_error(ip):
    result, captured = run(ip, "%dataops --help")
    assert result.success
    assert captured.stdout.startswith("usage: %dataops")
    assert "run" in captured.stdout and "jobs" in captured.stdout


def test_cell_body_only_for_run(ip):
    result, captured = run(ip, "%%dataops jobs\nalpha = 1\n")
    assert isinstance(result.error_in_exec, UsageError)
    assert "Only `%%dataops run`, `jobs rerun`, `schedule`" in captured.stderr
    bad, captured = run(ip, "%%dataops run ok.ipynb\nnot a parameter\n")
    assert isinstance(bad.error_in_exec, UsageError)
    assert "Line 1 of the cell is not `name = value`" in captured.stderr


# -- jobs ------------------------------------------------------------------------------------------
def test_jobs_renders_an_html_table(ip):
    with capture_output():
        job = ip.run_line_magic("dataops", "run ok.ipynb --wait")
    result, captured = run(ip, "%dataops jobs --status completed --limit 5")
    assert result.success
    html = html_outputs(captured)
    assert html.startswith('<table class="dataops-jobs">')
    assert f"<td>{job.id}</td>" in html and "<th>status</th>" in html
    text = captured.outputs[0].data["text/plain"]  # the front end without HTML gets a text table
    assert text.splitlines()[0].split() == [
        "ID",
        "NAME",
        "STATUS",
        "PROGRESS",
        "CREATED",
        "DURATION",
    ]

    _, listed = run(ip, "%dataops jobs list --notebook no-such-notebook")
    assert "No jobs." in listed.outputs[0].data["text/plain"]


def test_show_logs_rerun_cancel_delete_by_prefix(ip, root):
    with capture_output():
        job = ip.run_line_magic("dataops", "run ok.ipynb -p alpha 0.75 --wait")
    prefix = job.id[:6]

    _, shown = run(ip, f"%dataops show {prefix}")
    assert f"id:         {job.id}" in shown.stdout and "status:     completed" in shown.stdout
    _, as_json = run(ip, f"%dataops jobs show {prefix} --json")
    assert json.loads(as_json.stdout) == job.model_dump(mode="json")

    _, logs = run(ip, f"%dataops logs {prefix}")
    assert "alpha is 0.75" in logs.stdout

    with capture_output():
        again = ip.run_line_magic("dataops", f"rerun {prefix} -p alpha 2 --wait")
    assert again.rerun_of == job.id and again.parameters == {"alpha": 2.0}
    assert "alpha is 2.0" in output_text(root / again.output_path)

    result, captured = run(ip, f"%dataops cancel {prefix}")
    assert isinstance(result.error_in_exec, UsageError)
    assert "there is nothing to cancel" in captured.stderr

    _, deleted = run(ip, f"%dataops delete {prefix}")
    assert deleted.stdout == f"Deleted job {job.id}.\n"
    assert isinstance(run(ip, f"%dataops show {job.id}")[0].error_in_exec, UsageError)


# -- where jobs live -----------------------------------------------------------------------------
def test_paths_are_relative_to_the_kernel_folder_and_the_root_can_be_given(ip, root, monkeypatch):
    """Outside a server's kernel, jobs live under the kernel's folder or --root-dir; the notebook
    path is relative to the kernel's folder, and the link works from that folder."""
    monkeypatch.chdir(root / "sub")
    result, captured = run(ip, "nested = %dataops run nested.ipynb --root-dir .. --wait")
    assert result.success, captured.stderr
    job = ip.user_ns["nested"]
    assert job.status is JobStatus.COMPLETED
    assert job.notebook_path == "sub/nested.ipynb" and job.root_dir == str(root.resolve())
    assert job.output_path.startswith("dataops-jobs/")
    assert f'<a href="../{job.output_path}">' in html_outputs(captured)
    assert "nested ran" in output_text(root / job.output_path)
    outside, captured = run(ip, "%dataops run ../ok.ipynb")  # the root is now root/sub
    assert isinstance(outside.error_in_exec, UsageError)
    assert "outside the root directory" in captured.stderr


def test_in_a_kernel(root):
    """End to end in a real kernel, as JupyterLab runs it (here without a server: the magic acts
    on the store). The progress widget ends full and green; without --wait, every queued job's
    bar is followed by one shared thread, which ends when they have."""
    import nbclient
    import nbformat

    driver = write_notebook(
        root / "driver.ipynb",
        [
            "%load_ext jupyter_dataops",
            "job = %dataops run ok.ipynb -p alpha 0.5 --wait",
            "print(job.status.value, job.notebook_path)",
            "%dataops run nope.ipynb",
            "run = get_ipython().run_line_magic\n"
            "later = [run('dataops', 'run ok.ipynb -p alpha 0.7') for _ in range(3)]\n"
            "import threading\n"
            "followers = [t for t in threading.enumerate() if t.name.startswith('dataops-follow')]",
            # Without --wait the bars follow the jobs from a thread after the cell has finished.
            "import time, warnings, ipywidgets\n"
            "warnings.simplefilter('ignore', DeprecationWarning)  # Widget.widgets\n"
            "bars = [w for w in list(ipywidgets.Widget.widgets.values())\n"
            "        if isinstance(w, ipywidgets.IntProgress)][-3:]\n"
            f"deadline = time.monotonic() + {WAIT}\n"
            "while any(b.bar_style != 'success' for b in bars) and time.monotonic() < deadline:\n"
            "    time.sleep(0.1)\n"
            "time.sleep(1.5)  # the follower notices there is nothing left to follow\n"
            "left = [t for t in threading.enumerate() if t.name.startswith('dataops-follow')]\n"
            "print(len(followers), len(left), all(b.value == b.max for b in bars))",
        ],
    )
    nb = nbformat.read(driver, as_version=4)
    client = nbclient.NotebookClient(
        nb, resources={"metadata": {"path": str(driver.parent)}}, allow_errors=True, timeout=WAIT
    )
    client.execute()
    ran, printed, bad = nb.cells[1].outputs, nb.cells[2].outputs, nb.cells[3].outputs
    queued, followed = nb.cells[4].outputs, nb.cells[5].outputs

    widget_states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    # Four bars, the --wait one and the three following `later`: all ended full and green.
    bars = [w["state"] for w in widget_states.values() if w["model_name"] == "IntProgressModel"]
    assert len(bars) == 4
    assert all(bar["value"] == bar["max"] and bar["bar_style"] == "success" for bar in bars)
    labels = [
        w["state"]["value"] for w in widget_states.values() if w["model_name"] == "LabelModel"
    ]
    assert len(labels) == 4 and all(label.startswith("completed · ") for label in labels)
    html = "".join(o.get("data", {}).get("text/html", "") for o in ran)
    assert '<a href="dataops-jobs/ok-' in html
    assert printed[0]["text"] == "completed ok.ipynb\n"
    assert bad[0]["name"] == "stderr"
    assert bad[0]["text"].startswith("UsageError: The notebook 'nope.ipynb' does not exist.")
    assert queued[0]["text"].startswith("Queued job ")
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in queued)
    # One follower thread for the three jobs while they ran, none once they had ended.
    assert [o["text"] for o in followed if o.get("name") == "stdout"] == ["1 0 True\n"]


def test_both_adapters_share_one_command_table(ip):
    """One table of commands: the CLI and the magic parse the same words into the same command,
    and every command (and hidden alias) has help in both."""
    from jupyter_dataops.commands import TABLE

    line = (
        "run a.ipynb -p alpha 0.5 -p n 3 --wait --json --kernel-name k --timeout-seconds 9 "
        "--max-retries 1 --tag x"
    )
    cli_spec, cli_args = TABLE.parse(line.split())
    magic_spec, magic_args = TABLE.parse(line.split(), prog="%dataops")
    assert cli_spec is magic_spec and vars(cli_args) == vars(magic_args)
    old_spelling = TABLE.parse("run a.ipynb --kernel k --timeout 9 --retries 1".split())[1]
    assert (old_spelling.kernel_name, old_spelling.timeout_seconds, old_spelling.max_retries) == (
        "k",
        9.0,
        1,
    )
    assert TABLE.parse(["show", "abcd"])[0] is TABLE.parse(["jobs", "show", "abcd"])[0]
    for spec in TABLE.commands:
        for words in (spec.words, *spec.hidden_aliases):
            _, captured = run(ip, f"%dataops {' '.join(words)} --help")
            assert captured.stdout.startswith(f"usage: %dataops {' '.join(words)}"), words
