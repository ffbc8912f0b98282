"""Schedules from a shell: ``dataops schedule`` and ``dataops schedules ...`` run as a user runs them
(subprocesses against a real store and worker), and ``%dataops schedule``/``schedules`` in a real
IPython shell. Exit codes: 2 invalid input, 3 not found, 4 conflict. Due times are made to come by
moving them back in the store (tests/schedule_helpers.py); every wait is bounded."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from jupyter_dataops.core.jobs.models import Job
from jupyter_dataops.core.schedules.models import Schedule

from .notebooks import output_text
from .schedule_helpers import (
    TERMINAL,
    WAIT,
    SchedEnv,
    cluster_config,
    firings,
    job_count,
    make_due,
    past_slot,
    schedule_rows,
    wait_for,
)

HOOK = "https://hooks.example.com/services/T000/B000/S3cretT0ken"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchedEnv]:
    """One store and worker for the tests that make schedules."""
    shared = SchedEnv(tmp_path_factory.mktemp("schedules-cli"))
    yield shared
    shared.close()


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SchedEnv]:
    """A store where nothing is ever stored (bad input only)."""
    own = SchedEnv(tmp_path_factory.mktemp("schedules-cli-empty"))
    yield own
    own.close()


def nothing_stored(env: SchedEnv) -> None:
    assert schedule_rows(env.store) == {}
    assert job_count(env.store) == 0
    assert not (env.root / "dataops-jobs").exists() or not any(
        (env.root / "dataops-jobs").iterdir()
    )


def create(env: SchedEnv, *args: str) -> dict[str, Any]:
    return env.json("schedule", "ok.ipynb", *args)  # type: ignore[no-any-return]


def wait_job_end(env: SchedEnv, job_id: str) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        job = env.json("jobs", "show", job_id)
        return job if job["status"] in TERMINAL else None

    return wait_for(f"job {job_id} ending", ended, interval=0.3)  # type: ignore[no-any-return]


def fire(env: SchedEnv, ids: list[str], due: float, **kwargs: Any) -> None:
    """Make ``due`` come for ``ids``, wake the worker, and wait until each has fired it."""
    make_due(env.store, ids, due, **kwargs)

    def fired() -> bool:
        env.poke()
        done = {(f["schedule_id"], f["due_at"]) for f in firings(env.store)}
        return all((i, due) in done for i in ids)

    wait_for(f"due time {due} fired", fired, interval=0.2)


# -- create ---------------------------------------------------------------------------------------
def test_schedule_prints_the_schedule_in_words_with_its_next_runs(env: SchedEnv):
    result = env.dataops(
        "schedule", "ok.ipynb", "--cron", "0 6 * * *", "--tz", "Europe/Berlin", "-p", "alpha", "0.5"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    fields = dict(line.split(":", 1) for line in lines if not line.startswith("next run:"))
    assert fields["when"].strip() == "At 06:00, every day (Europe/Berlin)"
    assert fields["cron"].strip() == "0 6 * * * (Europe/Berlin)"
    assert fields["parameters"].strip() == '{"alpha": 0.5}'
    assert fields["status"].strip() == "active" and fields["version"].strip() == "1"
    assert len([line for line in lines if line.startswith("next run:")]) == 5
    assert result.stderr == ""


def test_schedule_json_has_every_option_given(env: SchedEnv):
    result = env.dataops(
        "schedule", "ok.ipynb", "--cron", "@daily", "-p", "alpha", "2", "--name", "nightly",
        "--kernel-name", "python3", "--timeout-seconds", "60", "--max-retries", "1",
        "--misfire", "skip", "--misfire-grace-seconds", "30", "--concurrency", "allow",
        "--notify-webhook", HOOK, "--notify-email", "ops@example.com",
        "--notify-email", "ml@example.com", "--notify-on-success", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    schedule = json.loads(result.stdout)  # stdout is exactly one JSON object
    expected = {
        "name": "nightly",
        "notebook_path": "ok.ipynb",
        "cron": "@daily",
        "timezone": "UTC",
        "parameters": {"alpha": 2.0},  # converted to the type of the notebook's default
        "kernel_name": "python3",
        "timeout_seconds": 60.0,
        "max_retries": 1,
        "misfire_policy": "skip",
        "misfire_grace_seconds": 30.0,
        "concurrency_policy": "allow",
        "notify": {
            "on_failure": True,
            "on_success": True,
            "webhook_url": "https://hooks.example.com/services/…",
            "email_to": ["ops@example.com", "ml@example.com"],
        },
        "version": 1,
        "status": "active",
    }
    assert {k: schedule[k] for k in expected} == expected
    assert "S3cretT0ken" not in result.stdout
    assert len(schedule["next_runs"]) == 5


BAD = [
    (["schedule", "ok.ipynb", "--cron", "61 * * * *"], 2, "The minute field '61'"),
    (["schedule", "ok.ipynb", "--cron", "0 6 * *"], 2, "has 4 fields"),
    (["schedule", "ok.ipynb", "--cron", "@fortnightly"], 2, "@fortnightly"),
    (
        ["schedule", "ok.ipynb", "--cron", "0 6 * * *", "--tz", "Mars/Olympus"],
        2,
        "Unknown time zone",
    ),
    (["schedule", "missing.ipynb", "--cron", "0 6 * * *"], 3, "'missing.ipynb' does not exist"),
    (["schedule", "ok.ipynb", "--cron", "0 6 * * *", "-p", "alpha", "fast"], 2, "expects float"),
    (["schedule", "ok.ipynb", "--cron", "0 6 * * *", "--kernel-name", "nope"], 2, "Unknown kernel"),
    (["schedule", "ok.ipynb", "--cron", "0 6 * * *", "--max-retries", "99"], 2, "max_retries"),
    (
        ["schedule", "ok.ipynb", "--cron", "0 6 * * *", "--on", "slurm"],
        2,
        "Unknown executor 'slurm'; jobs here run on: local.",
    ),
    (
        ["schedule", "ok.ipynb", "--cron", "0 6 * * *", "--notify-webhook", "ftp://x.example/h"],
        2,
        "only http and https",
    ),
    (
        ["schedule", "ok.ipynb", "--cron", "0 6 * * *", "--notify-email", "Ops <ops@example.com>"],
        2,
        "not a plain e-mail address",
    ),
    (["schedules", "show", "0123456789ab"], 3, "No schedule with id '0123456789ab'"),
    (["schedules", "edit", "0123456789ab", "--name", "x"], 3, "No schedule with id"),
    (["schedules", "pause", "0123456789ab"], 3, "No schedule with id"),
    (["schedules", "resume", "0123456789ab"], 3, "No schedule with id"),
    (["schedules", "run", "0123456789ab"], 3, "No schedule with id"),
    (["schedules", "delete", "0123456789ab"], 3, "No schedule with id"),
    (["schedules", "firings", "0123456789ab"], 3, "No schedule with id"),
    (["schedules", "list", "--cursor", "garbage"], 2, "cursor"),
    (["schedules", "preview", "0 6 * * 8"], 2, "day-of-week"),
    (["schedules", "preview", "0 6 * * *", "--tz", "Nowhere/City"], 2, "Unknown time zone"),
]


@pytest.mark.parametrize("args, code, text", BAD, ids=[" ".join(a[0][:3]) for a in BAD])
def test_bad_input_exits_with_its_code_and_stores_nothing(empty: SchedEnv, args, code, text):
    result = empty.dataops(*args)
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and text in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    nothing_stored(empty)


@pytest.mark.parametrize(
    "args",
    [
        ["schedule", "ok.ipynb"],  # --cron is required
        ["schedule", "ok.ipynb", "--cron", "@daily", "--misfire", "sometimes"],
        ["schedule", "ok.ipynb", "--cron", "@daily", "--concurrency", "queue"],
        ["schedules", "frobnicate"],
        ["schedules", "show"],
    ],
)
def test_usage_errors_exit_2_with_usage(empty: SchedEnv, args):
    result = empty.dataops(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: dataops") and "dataops: error:" in result.stderr
    nothing_stored(empty)


def test_an_operator_minimum_interval_refuses_a_more_frequent_schedule(tmp_path: Path):
    own = SchedEnv(tmp_path, config={"DataOps": {"min_schedule_interval": 3600}})
    try:
        result = own.dataops("schedule", "ok.ipynb", "--cron", "*/10 * * * *")
        assert result.returncode == 2
        assert "runs as often as every 600 s; this server allows at most every 3600 s" in (
            result.stderr
        )
        nothing_stored(own)
    finally:
        own.close()


# -- manage -----------------------------------------------------------------------------------------
def test_list_show_pause_resume_by_prefix(env: SchedEnv):
    one = create(env, "--cron", "15 4 * * *", "--name", "early")
    two = create(env, "--cron", "45 23 * * *", "--name", "late")
    prefix = one["id"][:5]

    table = env.dataops("schedules", "list")
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == [
        "ID",
        "NAME",
        "STATUS",
        "CRON",
        "NEXT",
        "RUN",
        "LAST",
        "RUN",
        "RECENT",
    ]
    assert any(r.startswith(one["id"]) and " early " in r and "15 4 * * * UTC" in r for r in rows)
    assert env.dataops("schedules").stdout == table.stdout  # `schedules` alone lists

    assert env.json("schedules", "show", prefix) == env.json("schedules", "show", one["id"])
    shown = env.dataops("schedules", "show", prefix)
    assert f"id:          {one['id']}" in shown.stdout and "status:      active" in shown.stdout

    paused = env.dataops("schedules", "pause", prefix)
    assert (paused.returncode, paused.stdout) == (0, f"Paused schedule {one['id']}.\n")
    again = env.dataops("schedules", "pause", prefix)
    assert again.returncode == 4 and "is already paused" in again.stderr
    listed = env.json("schedules", "list", "--status", "paused")
    assert [s["id"] for s in listed["items"]] == [one["id"]] and listed["total"] == 1
    assert listed["counts"]["paused"] == 1
    assert env.json("schedules", "show", one["id"])["next_runs"] == []

    resumed = env.dataops("schedules", "resume", prefix)
    assert resumed.returncode == 0
    assert resumed.stdout.startswith(f"Resumed schedule {one['id']}; next run ")
    assert env.dataops("schedules", "resume", prefix).returncode == 4
    pj = env.json("schedules", "pause", two["id"])
    assert pj["status"] == "paused" and pj["next_run_at"] is None
    rj = env.json("schedules", "resume", two["id"])
    assert rj["status"] == "active" and rj["next_run_at"]

    first = env.json("schedules", "list", "--limit", "1", "--sort", "name", "--order", "asc")
    assert len(first["items"]) == 1 and first["next_cursor"] and first["total"] >= 2
    paged = env.dataops("schedules", "list", "--limit", "1")
    assert paged.stdout.splitlines()[-1].startswith(f"(1 of {first['total']}; next page: --cursor")
    rest = env.json(
        "schedules", "list", "--limit", "1", "--sort", "name", "--order", "asc",
        "--cursor", first["next_cursor"],
    )  # fmt: skip
    assert rest["items"][0]["name"] >= first["items"][0]["name"]
    assert rest["items"][0]["id"] != first["items"][0]["id"]


def test_edit_makes_a_new_version(env: SchedEnv):
    schedule = create(env, "--cron", "0 6 * * *", "-p", "alpha", "0.5")
    edited = env.json(
        "schedules", "edit", schedule["id"][:6], "-p", "alpha", "0.9", "--name", "renamed",
        "--cron", "30 7 * * 1-5", "--tz", "Asia/Tokyo",
    )  # fmt: skip
    assert (edited["version"], edited["name"], edited["parameters"]) == (
        2,
        "renamed",
        {"alpha": 0.9},
    )
    assert (edited["cron"], edited["timezone"]) == ("30 7 * * 1-5", "Asia/Tokyo")
    assert edited["description"].endswith("(Asia/Tokyo)")
    bad = env.dataops("schedules", "edit", schedule["id"], "--cron", "0 24 * * *")
    assert bad.returncode == 2 and "The hour field '24'" in bad.stderr
    assert env.json("schedules", "show", schedule["id"])["version"] == 2


def test_edit_adding_an_e_mail_keeps_the_webhook(env: SchedEnv):
    """`schedules edit ID --notify-email ADDRESS` adds an e-mail; it must not drop the webhook
    (nor `--notify-on-success` the targets): an option not given is not changed."""
    schedule = create(env, "--cron", "0 6 * * *", "--notify-webhook", HOOK)
    edited = env.json("schedules", "edit", schedule["id"], "--notify-email", "ops@example.com")
    assert edited["notify"]["email_to"] == ["ops@example.com"]
    assert edited["notify"]["webhook_url"] == "https://hooks.example.com/services/…", edited
    again = env.json("schedules", "edit", schedule["id"], "--notify-on-success")
    assert again["notify"]["on_success"] is True
    assert again["notify"]["email_to"] == ["ops@example.com"], again
    assert again["notify"]["webhook_url"] == "https://hooks.example.com/services/…", again


def test_run_now_and_wait(env: SchedEnv):
    schedule = create(env, "--cron", "0 6 * * *", "-p", "alpha", "0.5")
    result = env.dataops("schedules", "run", schedule["id"], "-p", "alpha", "3", "--wait", "--json")
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)
    assert job["status"] == "completed"
    assert (job["schedule_id"], job["schedule_version"], job["due_at"]) == (schedule["id"], 1, None)
    assert job["parameters"] == {"alpha": 3.0}
    assert "alpha is 3.0" in output_text(env.root / job["output_path"])
    plain = env.dataops("schedules", "run", schedule["id"][:6])
    assert plain.returncode == 0, plain.stderr
    job_id = plain.stdout.strip()
    assert len(job_id) == 12 and wait_job_end(env, job_id)["schedule_id"] == schedule["id"]
    bad = env.dataops("schedules", "run", schedule["id"], "-p", "alpha", "x")
    assert bad.returncode == 2 and "expects float" in bad.stderr
    shown = env.json("schedules", "show", schedule["id"])
    assert shown["last_run"]["job_id"] == job_id
    assert env.json("schedules", "firings", schedule["id"]) == {"items": []}


def test_firings_show_what_became_of_each_due_time(env: SchedEnv):
    due, cron = past_slot()
    schedule = create(env, "--cron", cron, "-p", "alpha", "0.25")
    empty = env.dataops("schedules", "firings", schedule["id"])
    assert (empty.returncode, empty.stdout) == (0, "No due time has come yet.\n")
    fire(env, [schedule["id"]], due, missed=1)
    items = env.json("schedules", "firings", schedule["id"])["items"]
    assert [(f["due_at"], f["outcome"]) for f in items] == [
        (due, "queued"),
        (due - 3600, "skipped"),
    ]
    job = wait_job_end(env, items[0]["job_id"])
    assert (job["status"], job["due_at"], job["parameters"]) == ("completed", due, {"alpha": 0.25})
    text = env.dataops("schedules", "firings", schedule["id"][:6])
    header, queued, skipped = text.stdout.splitlines()
    assert header.split() == ["DUE", "OUTCOME", "VERSION", "JOB", "/", "REASON"]
    assert queued.split()[2:] == ["queued", "1", job["id"]]
    assert skipped.split()[2:4] == ["skipped", "1"] and "misfire: run once" in skipped
    shown = env.json("schedules", "show", schedule["id"])
    assert shown["recent"] == ["skipped", "completed"]
    assert shown["last_run"] == {"job_id": job["id"], "status": "completed", "due_at": due}
    row = next(
        r for r in env.dataops("schedules", "list").stdout.splitlines() if r.startswith(shown["id"])
    )
    assert row.rstrip().endswith("-✓") and " completed " in row


def test_delete_keeps_the_runs_unless_delete_runs(env: SchedEnv):
    keep = create(env, "--cron", "0 6 * * *")
    drop = create(env, "--cron", "0 6 * * *")
    kept = env.json("schedules", "run", keep["id"], "--wait")
    dropped = env.json("schedules", "run", drop["id"], "--wait")
    deleted = env.dataops("schedules", "delete", keep["id"][:6])
    assert (deleted.returncode, deleted.stdout) == (0, f"Deleted schedule {keep['id']}.\n")
    assert env.dataops("schedules", "show", keep["id"]).returncode == 3
    assert env.json("jobs", "show", kept["id"])["schedule_id"] == keep["id"]
    assert (env.root / kept["output_path"]).is_file()
    gone = env.json("schedules", "delete", drop["id"], "--delete-runs")
    assert gone == {"id": drop["id"], "deleted": True}
    assert env.dataops("jobs", "show", dropped["id"]).returncode == 3
    assert not (env.root / dropped["output_path"]).exists()
    assert env.dataops("schedules", "delete", drop["id"]).returncode == 3


def test_preview_in_words_and_json(env: SchedEnv):
    result = env.dataops(
        "schedules", "preview", "*/15 9-17 * * MON-FRI", "--tz", "America/New_York"
    )
    assert result.returncode == 0, result.stderr
    first, *times = result.stdout.splitlines()
    assert first == (
        "Every 15 minutes, between 09:00 and 17:59, Monday through Friday (America/New_York)"
    )
    assert len(times) == 5 and all(t.startswith("  ") for t in times)
    shown = env.json("schedules", "preview", "@hourly")
    assert shown["min_interval_seconds"] == 3600 and len(shown["next_runs"]) == 5
    assert shown["timezone"] == "UTC"


def test_an_edit_does_not_drop_a_due_time_that_has_not_fired_yet(env: SchedEnv):
    """A due time passes while no scheduler runs; the schedule is then edited before a scheduler
    fires it. The due time must not vanish without a trace: it is run (misfire run once) or at
    least recorded (docs/schedules.md: 'due times go on from the last one handled'; issue 7: 'a
    slot ... is recorded ..., never dropped silently'). A schedule not edited, made due at the
    same time, shows that the scheduler has looked."""
    due, cron = past_slot()
    edited = create(env, "--cron", cron)
    control = create(env, "--cron", cron)
    assert env.json("worker", "stop")["running"] is False
    make_due(env.store, [edited["id"], control["id"]], due)
    # Edited while no scheduler runs (the edit starts the worker again, as any change does).
    assert env.json("schedules", "edit", edited["id"], "--name", "edited")["version"] == 2
    fire(env, [control["id"]], due)
    got = [
        (f["due_at"], f["outcome"]) for f in env.json("schedules", "firings", edited["id"])["items"]
    ]
    assert got and got[0][0] == due, got


def test_on_sends_the_runs_to_an_executor_and_an_edit_moves_or_clears_it(tmp_path: Path):
    """`--on kubernetes` with the cluster offered (c.DataOps.job_executors) at an API server that is
    nowhere: the run the worker fires is stored as a job on kubernetes (what then becomes of it on
    that cluster is not this test's)."""
    own = SchedEnv(tmp_path, config=cluster_config(tmp_path / "files"))
    try:
        due, cron = past_slot()
        made = own.json("schedule", "ok.ipynb", "--cron", cron, "--on", "kubernetes")
        assert made["executor"] == "kubernetes"
        shown = own.dataops("schedules", "show", made["id"][:6]).stdout
        assert "runs on:     kubernetes\n" in shown
        with own.store.unit_of_work(read_only=True) as uow:
            assert uow.schedules.get(made["id"]).executor == "kubernetes"
        fire(own, [made["id"]], due)
        (firing,) = firings(own.store)
        assert firing["outcome"] == "queued", firing["reason"]
        assert job_executor(own, firing["job_id"]) == "kubernetes"

        # An edit keeps it unless told; refused, exit 2, nothing changed: a name the server
        # does not have, a sandbox there; '' goes back to the server's default.
        assert own.json("schedules", "edit", made["id"], "--name", "n")["executor"] == "kubernetes"
        for args, text in [
            (["--on", "slurm"], "Unknown executor 'slurm'; jobs here run on: local, kubernetes."),
            (["--sandbox", "0123456789ab"], "Jobs on kubernetes run with the kernels of their own"),
        ]:
            refused = own.dataops("schedules", "edit", made["id"], *args)
            assert refused.returncode == 2, refused.stderr
            assert refused.stderr.startswith("error: ") and text in refused.stderr
        cleared = own.json("schedules", "edit", made["id"], "--on", "")
        assert (cleared["version"], cleared["executor"]) == (3, None)
        assert list(schedule_rows(own.store)) == [made["id"]]
    finally:
        own.close()


def job_executor(env: SchedEnv, job_id: str) -> str:
    with env.store.unit_of_work(read_only=True) as uow:
        return uow.jobs.get(job_id).executor


# -- the magic --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InteractiveShell, SchedEnv]]:
    """A real IPython shell with %dataops, acting on a store of its own (its cwd is the root)."""
    own = SchedEnv(tmp_path_factory.mktemp("schedules-magic"))
    patch = pytest.MonkeyPatch()
    for name in ("JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "PYTHONPATH"):
        patch.setenv(name, own.env[name])
    for name in ("JPY_PARENT_PID", "DATAOPS_SERVER_URL", "DATAOPS_TOKEN", "DATAOPS_ROOT_DIR"):
        patch.delenv(name, raising=False)
    patch.chdir(own.root)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_dataops")
    try:
        yield shell, own
    finally:
        with capture_output():
            shell.run_line_magic("dataops", "worker stop")
        shell.run_line_magic("unload_ext", "jupyter_dataops")
        own.close()
        subprocess.run(
            [sys.executable, "-m", "jupyter_dataops.cli", "worker", "stop"],
            cwd=own.root,
            env=own.env,
            capture_output=True,
            timeout=WAIT,
        )
        patch.undo()


def test_magic_schedule_returns_the_schedule_and_lists_it(ip):
    shell, _own = ip
    with capture_output() as captured:
        result = shell.run_cell(
            'made = %dataops schedule ok.ipynb --cron "0 6 * * *" --tz Europe/Berlin -p alpha 0.5'
        )
    assert result.success, captured.stderr
    made = shell.user_ns["made"]
    assert isinstance(made, Schedule)
    assert (made.parameters, made.timezone, made.version) == ({"alpha": 0.5}, "Europe/Berlin", 1)
    assert shell.display_formatter.format(made)[0]["text/plain"] == (
        f"<Schedule {made.id} active: ok.ipynb, At 06:00, every day (Europe/Berlin)>"
    )
    with capture_output():
        celled = shell.run_cell_magic("dataops", "schedule ok.ipynb --cron @daily", "alpha = 0.3\n")
    assert isinstance(celled, Schedule) and celled.parameters == {"alpha": 0.3}

    with capture_output() as listed:
        assert shell.run_cell("%dataops schedules list").success
    # A table: HTML in a notebook, text where there is no HTML.
    (shown,) = listed.outputs
    text = shown.data["text/plain"]
    assert text.splitlines()[0].split()[:4] == ["ID", "NAME", "STATUS", "CRON"]
    assert made.id in text and celled.id in text
    table = shown.data["text/html"]
    assert table.startswith('<table class="dataops-schedules">') and made.id in table
    assert "<th>next run</th>" in table and "At 06:00" in table  # its words, on hover
    with capture_output() as as_json:
        shell.run_line_magic("dataops", "schedules list --json")
    assert json.loads(as_json.stdout)["total"] == 2
    with capture_output():
        job = shell.run_line_magic("dataops", f"schedules run {made.id[:6]} -p alpha 1.5 --wait")
    assert isinstance(job, Job) and job.status.value == "completed"
    assert (job.schedule_id, job.parameters) == (made.id, {"alpha": 1.5})
    with capture_output() as paused:
        shell.run_line_magic("dataops", f"schedules pause {made.id}")
    assert paused.stdout == f"Paused schedule {made.id}.\n"
    with capture_output() as again:
        shell.run_line_magic("dataops", "schedules list --status paused")
    assert made.id in again.outputs[0].data["text/html"]
    assert celled.id not in again.outputs[0].data["text/html"]
    # --on names the executor of its runs; '' goes back to the server's default.
    on = shell.run_line_magic("dataops", "schedule ok.ipynb --cron @daily --on local")
    assert isinstance(on, Schedule) and on.executor == "local"
    with capture_output() as edited:
        shell.run_line_magic("dataops", f"schedules edit {on.id} --on '' --json")
    assert json.loads(edited.stdout)["executor"] is None
    with capture_output() as shown:
        shell.run_line_magic("dataops", f"schedules show {on.id}")
    assert "runs on:     the server's default executor" in shown.stdout


@pytest.mark.parametrize(
    "line, text",
    [
        ('schedule ok.ipynb --cron "0 25 * * *"', "The hour field '25'"),
        ('schedule ok.ipynb --cron "@daily" --tz Mars/Olympus', "Unknown time zone"),
        ('schedule nope.ipynb --cron "@daily"', "'nope.ipynb' does not exist"),
        ('schedule ok.ipynb --cron "@daily" -p alpha fast', "expects float"),
        (
            'schedule ok.ipynb --cron "@daily" --on slurm',
            "Unknown executor 'slurm'; jobs here run on: local.",
        ),
        ("schedules show 0123456789ab", "No schedule with id '0123456789ab'"),
        ("schedule ok.ipynb", "the following arguments are required: --cron"),
        ("scheduler", "`scheduler` runs in a terminal, not in a notebook: `dataops scheduler`."),
    ],
)
def test_magic_bad_input_and_the_scheduler_are_refused_in_one_line(ip, line, text):
    shell, own = ip
    before = len(schedule_rows(own.store))
    with capture_output() as captured:
        result = shell.run_cell(f"%dataops {line}")
    assert isinstance(result.error_in_exec, UsageError)
    assert text in captured.stderr.replace("\n", " "), captured.stderr
    assert "Traceback" not in captured.stdout + captured.stderr
    assert len(schedule_rows(own.store)) == before
