"""Schedules through the running server (REST under /dataops/api/schedules), end to end: the worker
the server starts fires them and runs their jobs with real kernels. Due times are made to come by
moving them back in the store (tests/schedule_helpers.py); every wait is bounded (conftest's
JOB_WAIT_SECONDS) and nothing asserts on timing."""

from __future__ import annotations

import asyncio
import getpass
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from jupyter_server.utils import url_path_join

from jupyter_dataops.core.events import JOB_EVENT_SCHEMA_ID, SCHEDULE_EVENT_SCHEMA_ID
from jupyter_dataops.worker.state import poke

from .conftest import JOB_WAIT_SECONDS, TERMINAL
from .schedule_helpers import cluster_config, make_due, past_slot

PARAMETERS = "alpha = 0.5  # learning rate\nlabel = 'base'"
SECRET_HOOK = "https://hooks.example.com/services/T000/B000/S3cretT0ken"


def assert_error(response, code: int, error: str, *texts: str) -> dict:
    assert response.code == code, response
    body = response.json()
    assert set(body) == {"error", "message", "hint", "details"}, body
    assert body["error"] == error, body
    said = f"{body['message']} {body['hint'] or ''}"
    for text in texts:
        assert text in said, (text, body)
    return body


async def wait_until(what: str, check: Callable[[], Any], timeout: float = JOB_WAIT_SECONDS):
    """Poll ``check`` (sync or async) until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.1)
    pytest.fail(f"{what}: not within {timeout:g} s (last seen: {value!r})")


async def create(dataops_api, **request: Any) -> dict[str, Any]:
    response = await dataops_api("POST", "schedules", json=request)
    assert response.code == 201, response
    return response.json()  # type: ignore[no-any-return]


async def firings_of(dataops_api, schedule_id: str) -> list[dict[str, Any]]:
    response = await dataops_api("GET", "schedules", schedule_id, "firings")
    assert response.code == 200, response
    return response.json()["items"]  # type: ignore[no-any-return]


async def fire(dataops_server, dataops_api, ids: list[str], due: float, **kwargs: Any) -> None:
    """Make ``due`` (and ``missed`` hourly due times before it) come for ``ids``, wake the
    server's worker, and wait until each schedule has a firing for ``due``."""
    make_due(dataops_server.services.ctx.store, ids, due, **kwargs)
    data_dir = Path(dataops_server.dataops.data_dir)
    poke(data_dir)

    async def fired() -> bool:
        for schedule_id in ids:
            if due not in [f["due_at"] for f in await firings_of(dataops_api, schedule_id)]:
                poke(data_dir)  # the worker may still be starting
                return False
        return True

    await wait_until(f"due time {due} fired for {ids}", fired)


def stored_definition(dataops_server, schedule_id: str) -> dict[str, Any]:
    return dataops_server.services.schedules.record(schedule_id).definition  # type: ignore[no-any-return]


async def nothing_stored(dataops_api, notebook_root: Path) -> None:
    page = (await dataops_api("GET", "schedules")).json()
    assert page["total"] == 0 and page["items"] == [], page
    assert (await dataops_api("GET", "jobs")).json()["total"] == 0
    assert not any((notebook_root / "dataops-jobs").glob("*"))


@pytest.fixture
def notebooks(make_notebook) -> None:
    make_notebook("sub/train.ipynb", ["print(f'{label}: alpha is {alpha}')"], parameters=PARAMETERS)
    make_notebook("slow.ipynb", ["import time; time.sleep(n)"], parameters="n = 60")


@pytest.fixture
def schedule_events(dataops_server, jp_serverapp) -> list[dict[str, Any]]:
    """Every event of the schedule schema the server emits during the test, in order."""
    received: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        received.append(dict(data))

    jp_serverapp.event_logger.add_listener(schema_id=SCHEDULE_EVENT_SCHEMA_ID, listener=listener)
    return received


@pytest.fixture
def job_events_all(dataops_server, jp_serverapp) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        received.append(dict(data))

    jp_serverapp.event_logger.add_listener(schema_id=JOB_EVENT_SCHEMA_ID, listener=listener)
    return received


# -- create -------------------------------------------------------------------------------------------
async def test_create_answers_201_with_location_and_the_schedule(
    dataops_api, notebooks, jp_base_url
):
    before = time.time()
    created = await dataops_api(
        "POST",
        "schedules",
        json={
            "notebook_path": "sub/train.ipynb",
            "cron": "0 6 * * *",
            "timezone": "Europe/Berlin",
            "parameters": {"alpha": 0.25},
            "notify": {"webhook_url": SECRET_HOOK, "email_to": ["ops@example.com"]},
        },
    )
    assert created.code == 201, created
    schedule = created.json()
    assert created.headers["Location"] == url_path_join(
        jp_base_url, "dataops/api/schedules", schedule["id"]
    )
    assert len(schedule["id"]) == 12 and schedule["id"].isalnum()
    expected = {
        "name": "train",
        "notebook_path": "sub/train.ipynb",
        "status": "active",
        "cron": "0 6 * * *",
        "timezone": "Europe/Berlin",
        "description": "At 06:00, every day (Europe/Berlin)",
        "version": 1,
        "owner": getpass.getuser(),
        "parameters": {"alpha": 0.25},
        "kernel_name": None,
        "timeout_seconds": None,
        "max_retries": None,
        "misfire_policy": "run_once",
        "misfire_grace_seconds": 300.0,
        "concurrency_policy": "forbid",
        "last_run": None,
        "recent": [],
    }
    assert {k: schedule[k] for k in expected} == expected
    # The next five due times, each 06:00 in Berlin, the first one next_run_at.
    runs = schedule["next_runs"]
    assert len(runs) == 5 and runs == sorted(set(runs)) and runs[0] > before
    assert schedule["next_run_at"] == runs[0]
    berlin = [datetime.fromtimestamp(t, ZoneInfo("Europe/Berlin")) for t in runs]
    assert {(d.hour, d.minute) for d in berlin} == {(6, 0)}
    # The webhook URL is shown without its secret; the store keeps it whole.
    assert schedule["notify"] == {
        "on_failure": True,
        "on_success": False,
        "webhook_url": "https://hooks.example.com/services/…",
        "email_to": ["ops@example.com"],
    }
    assert "S3cretT0ken" not in created.body.decode()

    for key in (schedule["id"], schedule["id"][:6]):
        shown = await dataops_api("GET", "schedules", key)
        assert shown.code == 200, shown
        assert shown.json() == schedule
    missing = await dataops_api("GET", "schedules", "0123456789ab")
    assert_error(missing, 404, "not_found", "No schedule with id '0123456789ab'")


BAD_CREATES = [
    ({"cron": "0 25 * * *"}, 400, "invalid_input", ["hour field", "0-23"], {"field": "hour"}),
    ({"cron": "0 6 * *"}, 400, "invalid_input", ["has 4 fields", "exactly 5"], {}),
    ({"cron": "0 6 * * MON-FRX"}, 400, "invalid_input", ["day-of-week"], {"field": "day-of-week"}),
    ({"timezone": "Mars/Olympus"}, 400, "invalid_input", ["Unknown time zone 'Mars/Olympus'"], {}),
    ({"notebook_path": "missing.ipynb"}, 404, "not_found", ["'missing.ipynb' does not exist"], {}),
    ({"parameters": {"alpha": "fast"}}, 400, "invalid_input", ["'alpha' expects float"], {}),
    ({"kernel_name": "no-such-kernel"}, 400, "invalid_input", ["Unknown kernel"], {}),
    (
        {"notify": {"webhook_url": "ftp://files.example.com/hook"}},
        400,
        "invalid_input",
        ["ftp: URL", "only http and https"],
        {},
    ),
    (
        {"notify": {"email_to": ["Ops <ops@example.com>"]}},
        400,
        "invalid_input",
        ["not a plain e-mail address"],
        {},
    ),
    ({"misfire_policy": "sometimes"}, 400, "invalid_input", ["misfire_policy"], {}),
    ({"crontab": "0 6 * * *"}, 400, "invalid_input", ["crontab"], {}),
]


@pytest.mark.parametrize(
    "change, code, error, texts, details", BAD_CREATES, ids=[str(c[0]) for c in BAD_CREATES]
)
async def test_bad_input_is_refused_naming_the_problem_and_nothing_is_stored(
    dataops_api, notebooks, notebook_root, change, code, error, texts, details
):
    request = {"notebook_path": "sub/train.ipynb", "cron": "0 6 * * *", **change}
    body = assert_error(await dataops_api("POST", "schedules", json=request), code, error, *texts)
    for key, value in details.items():
        assert body["details"].get(key) == value, body
    await nothing_stored(dataops_api, notebook_root)


class TestOperatorMinimumInterval:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: dict[str, Any]) -> dict[str, Any]:
        jp_server_config["DataOps"] = {"min_schedule_interval": 3600}
        return jp_server_config

    async def test_a_schedule_more_frequent_than_the_minimum_is_refused(
        self, dataops_api, notebooks, notebook_root
    ):
        request = {"notebook_path": "sub/train.ipynb", "cron": "*/5 * * * *"}
        body = assert_error(
            await dataops_api("POST", "schedules", json=request),
            400,
            "invalid_input",
            "every 300 s",
            "at most every 3600 s",
            "c.DataOps.min_schedule_interval",
        )
        assert body["details"] == {"cron": "*/5 * * * *"}
        await nothing_stored(dataops_api, notebook_root)
        # Exactly the minimum is allowed; an edit to a more frequent one is refused too.
        hourly = await create(dataops_api, notebook_path="sub/train.ipynb", cron="@hourly")
        refused = await dataops_api(
            "PATCH", "schedules", hourly["id"], json={"cron": "*/30 * * * *"}
        )
        assert_error(refused, 400, "invalid_input", "every 1800 s")
        assert (await dataops_api("GET", "schedules", hourly["id"])).json()["version"] == 1


async def test_the_default_minimum_interval_allows_every_minute(dataops_api, notebooks):
    """c.DataOps.min_schedule_interval is 60 s by default: a five-field expression cannot fire
    more often than that, so the default refuses nothing (docs/operators.md)."""
    every = await create(dataops_api, notebook_path="sub/train.ipynb", cron="* * * * *")
    assert every["description"].lower().startswith("every minute")


# -- list ---------------------------------------------------------------------------------------------
async def test_list_pages_by_cursor_filters_by_status_and_counts(dataops_api, notebooks):
    made = []
    for i in range(5):
        notebook = "slow.ipynb" if i == 4 else "sub/train.ipynb"
        made.append(await create(dataops_api, notebook_path=notebook, cron=f"{i} 6 * * *"))
    for schedule in made[:2]:
        paused = await dataops_api("POST", "schedules", schedule["id"], "pause")
        assert paused.code == 200, paused

    page = (await dataops_api("GET", "schedules")).json()
    assert page["total"] == 5 and page["counts"] == {"active": 3, "paused": 2}
    assert [s["id"] for s in page["items"]] == [s["id"] for s in reversed(made)]  # newest first
    assert "parameters" not in page["items"][0] and "next_runs" not in page["items"][0]
    assert page["seq"] > 0

    seen, cursor, pages = [], None, []
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await dataops_api("GET", "schedules", params=params)
        assert response.code == 200, response
        body = response.json()
        pages.append(body)
        seen += [s["id"] for s in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [s["id"] for s in reversed(made)] and len(pages) == 3
    back = await dataops_api(
        "GET", "schedules", params={"limit": 2, "cursor": pages[1]["prev_cursor"]}
    )
    assert [s["id"] for s in back.json()["items"]] == [s["id"] for s in pages[0]["items"]]

    paused = (await dataops_api("GET", "schedules", params={"status": "paused"})).json()
    assert {s["id"] for s in paused["items"]} == {made[0]["id"], made[1]["id"]}
    assert paused["total"] == 2 and all(s["next_run_at"] is None for s in paused["items"])
    both = await dataops_api("GET", "schedules", params={"status": ["active", "paused"]})
    assert both.json()["total"] == 5
    slow = (await dataops_api("GET", "schedules", params={"notebook": "slow.ipynb"})).json()
    assert [s["id"] for s in slow["items"]] == [made[4]["id"]]
    by_name = await dataops_api("GET", "schedules", params={"sort": "next_run_at", "order": "asc"})
    soonest = [s["next_run_at"] for s in by_name.json()["items"]]
    assert soonest[:3] == sorted(soonest[:3]) and soonest[3:] == [None, None]  # paused: last

    for params, text in [
        ({"cursor": "garbage"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"status": "sleeping"}, "status"),
        ({"offset": 2}, "offset"),
        ({"sort": "owner"}, "sort"),
    ]:
        bad = await dataops_api("GET", "schedules", params=params)
        assert bad.code == 400, (params, bad)
        assert text in bad.body.decode(), (params, bad)


# -- change -------------------------------------------------------------------------------------------
async def test_edit_makes_a_new_version_that_later_runs_record(
    dataops_server, dataops_api, notebooks, notebook_root
):
    due, cron = past_slot()
    schedule = await create(
        dataops_api,
        notebook_path="sub/train.ipynb",
        cron=cron,
        parameters={"alpha": 0.25},
        notify={"webhook_url": SECRET_HOOK},
    )
    changed = await dataops_api(
        "PATCH",
        "schedules",
        schedule["id"][:6],
        json={"parameters": {"alpha": 0.75, "label": "v2"}, "name": "nightly"},
    )
    assert changed.code == 200, changed
    v2 = changed.json()
    assert (v2["id"], v2["version"], v2["name"]) == (schedule["id"], 2, "nightly")
    assert v2["parameters"] == {"alpha": 0.75, "label": "v2"}
    assert v2["cron"] == cron and v2["status"] == "active"
    # The shown (redacted) webhook is not what the store keeps, and was not written back.
    assert v2["notify"]["webhook_url"] == "https://hooks.example.com/services/…"
    assert stored_definition(dataops_server, schedule["id"])["notify"]["webhook_url"] == SECRET_HOOK

    for bad, code, text in [
        ({"cron": "0 6 * * * *"}, 400, "exactly 5"),
        ({"parameters": {"alpha": "fast"}}, 400, "'alpha' expects float"),
        ({"notebook_path": "gone.ipynb"}, 404, "does not exist"),
        ({"version": 7}, 400, "version"),
    ]:
        refused = await dataops_api("PATCH", "schedules", schedule["id"], json=bad)
        assert refused.code == code and text in refused.body.decode(), (bad, refused)
    assert (await dataops_api("GET", "schedules", schedule["id"])).json() == v2
    assert (await dataops_api("PATCH", "schedules", "0123456789ab", json={})).code == 404

    # A due time after the edit runs version 2's definition.
    await fire(dataops_server, dataops_api, [schedule["id"]], due)
    (firing,) = await firings_of(dataops_api, schedule["id"])
    assert (firing["outcome"], firing["version"], firing["due_at"]) == ("queued", 2, due)
    job = await dataops_api.wait_for_job(firing["job_id"])
    assert job["status"] == "completed", job
    assert (job["schedule_id"], job["schedule_version"], job["due_at"]) == (schedule["id"], 2, due)
    assert job["parameters"] == {"alpha": 0.75, "label": "v2"}
    assert "scheduled" in job["tags"]
    log = (await dataops_api("GET", "jobs", job["id"], "logs")).json()
    assert "v2: alpha is 0.75" in str(log)


@pytest.mark.parametrize(
    "url", [SECRET_HOOK, "https://bot:pa55word@hooks.example.com/notify"], ids=["path", "userinfo"]
)
async def test_sending_back_the_shown_notify_keeps_the_stored_webhook(
    dataops_server, dataops_api, notebooks, url
):
    """An edit that sends back the notification settings as GET showed them (as an edit dialog
    does, here to turn on success notifications) must not replace the stored webhook URL by its
    redacted form: the URL's secret (in its path, or its user and password) would be lost, or the
    edit refused for the '…' the redaction put in."""
    schedule = await create(
        dataops_api, notebook_path="sub/train.ipynb", cron="0 6 * * *", notify={"webhook_url": url}
    )
    shown = schedule["notify"]
    assert shown["webhook_url"] != url
    changed = await dataops_api(
        "PATCH", "schedules", schedule["id"], json={"notify": {**shown, "on_success": True}}
    )
    assert changed.code == 200, changed
    assert changed.json()["notify"]["on_success"] is True
    stored = stored_definition(dataops_server, schedule["id"])["notify"]
    assert stored["webhook_url"] == url, stored


async def test_pause_and_resume_and_their_conflicts(dataops_server, dataops_api, notebooks):
    due, cron = past_slot()
    paused_one = await create(dataops_api, notebook_path="sub/train.ipynb", cron=cron)
    control = await create(dataops_api, notebook_path="sub/train.ipynb", cron=cron)
    paused = await dataops_api("POST", "schedules", paused_one["id"], "pause")
    assert paused.code == 200, paused
    body = paused.json()
    assert (body["status"], body["next_run_at"], body["next_runs"]) == ("paused", None, [])
    assert_error(
        await dataops_api("POST", "schedules", paused_one["id"], "pause"),
        409,
        "conflict",
        "already paused",
    )
    assert (await dataops_api("POST", "schedules", "0123456789ab", "pause")).code == 404

    # An edit keeps it paused.
    edited = (await dataops_api("PATCH", "schedules", paused_one["id"], json={"name": "p"})).json()
    assert (edited["status"], edited["next_run_at"], edited["version"]) == ("paused", None, 2)

    # A due time passes while it is paused (its last handled due time is before it): the active
    # one fires, the paused one does not (the same tick would have seen it).
    with dataops_server.services.ctx.store.unit_of_work() as uow:
        uow.schedules.update(paused_one["id"], last_due_at=due - 1.0)
        uow.commit()
    await fire(dataops_server, dataops_api, [control["id"]], due)
    assert await firings_of(dataops_api, paused_one["id"]) == []
    still = (await dataops_api("GET", "schedules", paused_one["id"])).json()
    assert (still["status"], still["next_run_at"]) == ("paused", None)

    resumed = await dataops_api("POST", "schedules", paused_one["id"], "resume")
    assert resumed.code == 200, resumed
    body = resumed.json()
    assert body["status"] == "active" and body["next_run_at"] > time.time()
    assert body["next_run_at"] == body["next_runs"][0]
    assert_error(
        await dataops_api("POST", "schedules", paused_one["id"], "resume"),
        409,
        "conflict",
        "not paused",
    )
    # Due times that passed while paused do not run after a resume.
    assert await firings_of(dataops_api, paused_one["id"]) == []


async def test_run_now_queues_a_job_of_the_schedule_without_a_due_time(
    dataops_api, notebooks, notebook_root
):
    schedule = await create(
        dataops_api, notebook_path="sub/train.ipynb", cron="0 6 * * *", parameters={"alpha": 0.25}
    )
    response = await dataops_api(
        "POST", "schedules", schedule["id"], "run", json={"parameters": {"label": "now"}}
    )
    assert response.code == 201, response
    job = response.json()
    assert response.headers["Location"].endswith(f"/dataops/api/jobs/{job['id']}")
    assert (job["schedule_id"], job["schedule_version"], job["due_at"]) == (schedule["id"], 1, None)
    assert job["parameters"] == {"alpha": 0.25, "label": "now"}
    assert job["tags"] == ["scheduled", "run-now"]
    done = await dataops_api.wait_for_job(job["id"])
    assert done["status"] == "completed", done

    without_body = await dataops_api("POST", "schedules", schedule["id"], "run")
    assert without_body.code == 201, without_body
    await dataops_api.wait_for_job(without_body.json()["id"])
    assert without_body.json()["parameters"] == {"alpha": 0.25}

    # Not a due time: no firing; the schedule's last run is the newest job.
    assert await firings_of(dataops_api, schedule["id"]) == []
    shown = (await dataops_api("GET", "schedules", schedule["id"])).json()
    assert shown["last_run"] == {
        "job_id": without_body.json()["id"],
        "status": "completed",
        "due_at": None,
    }

    bad = await dataops_api(
        "POST", "schedules", schedule["id"], "run", json={"parameters": {"alpha": "x"}}
    )
    assert_error(bad, 400, "invalid_input", "'alpha' expects float")
    assert (await dataops_api("POST", "schedules", "0123456789ab", "run")).code == 404
    assert (await dataops_api("POST", "schedules", schedule["id"], "run", body="{")).code == 400
    runs = (await dataops_api("GET", "jobs", params={"schedule_id": schedule["id"]})).json()
    assert runs["total"] == 2


# -- what became of due times --------------------------------------------------------------------------
async def test_firings_record_queued_skipped_and_missed_with_their_reasons(
    dataops_server, dataops_api, notebooks, make_notebook, notebook_root
):
    """Several schedules' due times come at once, each ending another way: queued; skipped
    (concurrency forbid: the previous run still goes; misfire skip: later than the grace);
    replace (the previous run is cancelled, a new one queued); missed (the notebook is gone);
    and, for the run-once ones, the earlier missed due times recorded as skipped."""
    make_notebook("doomed.ipynb", ["1"])
    due, cron = past_slot()
    plain = await create(dataops_api, notebook_path="sub/train.ipynb", cron=cron)
    forbid = await create(dataops_api, notebook_path="slow.ipynb", cron=cron)
    replace = await create(
        dataops_api, notebook_path="slow.ipynb", cron=cron, concurrency_policy="replace"
    )
    late = await create(
        dataops_api,
        notebook_path="sub/train.ipynb",
        cron=cron,
        misfire_policy="skip",
        misfire_grace_seconds=60,
    )
    doomed = await create(dataops_api, notebook_path="doomed.ipynb", cron=cron)
    (notebook_root / "doomed.ipynb").unlink()
    previous = {}
    for schedule in (forbid, replace):
        response = await dataops_api("POST", "schedules", schedule["id"], "run")
        assert response.code == 201, response
        previous[schedule["id"]] = response.json()["id"]
    for job_id in previous.values():
        await dataops_api.wait_for_job(job_id, frozenset({"running"}))

    ids = [s["id"] for s in (plain, forbid, replace, late, doomed)]
    await fire(dataops_server, dataops_api, ids, due, missed=1)
    got = {i: {f["due_at"]: f for f in await firings_of(dataops_api, i)} for i in ids}
    assert all(sorted(g) == [due - 3600, due] for g in got.values()), got
    for schedule_id in (plain["id"], forbid["id"], replace["id"], doomed["id"]):
        earlier = got[schedule_id][due - 3600]
        assert earlier["outcome"] == "skipped" and "misfire: run once" in earlier["reason"]

    assert got[plain["id"]][due]["outcome"] == "queued"
    run = await dataops_api.wait_for_job(got[plain["id"]][due]["job_id"])
    assert run["status"] == "completed" and run["due_at"] == due

    skipped = got[forbid["id"]][due]
    assert (skipped["outcome"], skipped["job_id"]) == ("skipped", None)
    assert f"The previous run (job {previous[forbid['id']]}) is still going" in skipped["reason"]
    assert "concurrency: forbid" in skipped["reason"]

    replaced = got[replace["id"]][due]
    assert replaced["outcome"] == "queued" and replaced["job_id"] != previous[replace["id"]]
    old = await dataops_api.wait_for_job(previous[replace["id"]])
    assert old["status"] == "cancelled", old

    for f in got[late["id"]].values():
        assert f["outcome"] == "skipped" and "misfire: skip" in f["reason"], f
        assert "grace of 60 s" in f["reason"]

    missed = got[doomed["id"]][due]
    assert (missed["outcome"], missed["job_id"]) == ("missed", None)
    assert "'doomed.ipynb' does not exist" in missed["reason"]

    # The list shows the outcomes (the sparkline), oldest first.
    page = (await dataops_api("GET", "schedules", params={"id": ids})).json()
    recent = {s["id"]: s["recent"] for s in page["items"]}
    assert recent[plain["id"]] == ["skipped", "completed"]
    assert recent[forbid["id"]] == ["skipped", "skipped"]
    assert recent[doomed["id"]] == ["skipped", "missed"]
    assert recent[late["id"]] == ["skipped", "skipped"]
    for schedule_id in (forbid["id"], replace["id"]):  # end the slow runs
        for job in (await dataops_api("GET", "jobs", params={"schedule_id": schedule_id})).json()[
            "items"
        ]:
            if job["status"] not in TERMINAL:
                await dataops_api("POST", "jobs", job["id"], "cancel")


async def test_jobs_filter_by_schedule(dataops_api, notebooks):
    one = await create(dataops_api, notebook_path="sub/train.ipynb", cron="0 6 * * *")
    two = await create(dataops_api, notebook_path="sub/train.ipynb", cron="0 7 * * *")
    runs = {}
    for schedule in (one, one, two):
        job = (await dataops_api("POST", "schedules", schedule["id"], "run")).json()
        runs.setdefault(schedule["id"], []).append(job["id"])
    plain = await dataops_api.create_job(notebook_path="sub/train.ipynb")
    for schedule_id, ids in runs.items():
        page = (await dataops_api("GET", "jobs", params={"schedule_id": schedule_id})).json()
        assert page["total"] == len(ids) and {j["id"] for j in page["items"]} == set(ids)
        assert {j["schedule_id"] for j in page["items"]} == {schedule_id}
    everything = (await dataops_api("GET", "jobs")).json()
    assert everything["total"] == 4 and plain["id"] in {j["id"] for j in everything["items"]}
    none = (await dataops_api("GET", "jobs", params={"schedule_id": "0123456789ab"})).json()
    assert none["total"] == 0
    assert (await dataops_api("GET", "jobs", params={"schedule_id": "x" * 33})).code == 400


# -- the executor its runs go to ----------------------------------------------------------------------
NOT_TEXT = {"field": "executor", "problem": "Input should be a valid string"}
TOO_LONG = "String should have at most 200 characters"


class TestOnTheCluster:
    """Jobs run here by default and on a Kubernetes cluster when asked (c.DataOps.job_executors),
    whose API server is nowhere: what the runs then do there is not these tests'."""

    @pytest.fixture
    def jp_server_config(self, jp_server_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
        for section, values in cluster_config(tmp_path / "files").items():
            jp_server_config.setdefault(section, {}).update(values)
        # An MLflow server is configured (the cluster needs one): no model launcher for it here.
        jp_server_config["DataOpsExtension"] = {"warm_model_launcher": False}
        return jp_server_config

    async def test_a_schedule_names_its_executor_and_its_runs_go_there(
        self, dataops_server, dataops_api, notebooks
    ):
        info = (await dataops_api("GET", "info")).json()
        assert [e["name"] for e in info["executors"]] == ["local", "kubernetes"]
        due, cron = past_slot()
        made = await create(
            dataops_api, notebook_path="sub/train.ipynb", cron=cron, executor="kubernetes"
        )
        assert made["executor"] == "kubernetes"
        assert (await dataops_api("GET", "schedules", made["id"])).json() == made
        await fire(dataops_server, dataops_api, [made["id"]], due)
        (firing,) = await firings_of(dataops_api, made["id"])
        assert firing["outcome"] == "queued", firing
        job = (await dataops_api("GET", "jobs", firing["job_id"])).json()
        assert (job["executor"], job["schedule_id"], job["due_at"]) == (
            "kubernetes",
            made["id"],
            due,
        )

        async def patch(body: dict[str, Any]) -> Any:
            return await dataops_api("PATCH", "schedules", made["id"], json=body)

        kept = (await patch({"name": "nightly"})).json()
        assert (kept["version"], kept["executor"]) == (2, "kubernetes")
        cleared = (await patch({"executor": None})).json()  # null: the server's default
        assert (cleared["version"], cleared["executor"]) == (3, None)
        moved = (await patch({"executor": "kubernetes"})).json()
        assert (moved["version"], moved["executor"]) == (4, "kubernetes")
        for body, texts in [
            ({"executor": "slurm"}, ["Unknown executor 'slurm'", "local, kubernetes"]),
            ({"executor": 5}, ["executor", "valid string"]),
            ({"executor": "k" * 10_000}, ["executor", "at most 200 characters"]),
            ({"sandbox": "0123456789ab"}, ["Jobs on kubernetes run with the kernels of their own"]),
        ]:
            assert_error(await patch(body), 400, "invalid_input", *texts)
        # A profile there sizes the runs' pods: one the server has not is refused, naming those
        # it has (a profile it has is kept, and sizes each run: tests/test_schedules.py).
        assert_error(await patch({"profile": "nope"}), 404, "not_found", "No sandbox profile")
        assert (await dataops_api("GET", "schedules", made["id"])).json()["version"] == 4

    @pytest.mark.parametrize(
        "executor, texts, details",
        [
            (
                "slurm",
                ["Unknown executor 'slurm'; jobs here run on: local, kubernetes."],
                {"executor": "slurm"},
            ),
            (5, ["executor: Input should be a valid string"], {"errors": [NOT_TEXT]}),
            (
                "k" * 10_000,
                ["executor: String should have at most 200 characters"],
                {"errors": [{"field": "executor", "problem": TOO_LONG}]},
            ),
            ({"name": "kubernetes"}, ["executor", "valid string"], {"errors": [NOT_TEXT]}),
        ],
        ids=["unknown", "number", "10 KB", "object"],
    )
    async def test_a_bad_executor_is_refused_naming_it_and_nothing_is_stored(
        self, dataops_api, notebooks, notebook_root, executor, texts, details
    ):
        request = {"notebook_path": "sub/train.ipynb", "cron": "0 6 * * *", "executor": executor}
        response = await dataops_api("POST", "schedules", json=request)
        body = assert_error(response, 400, "invalid_input", *texts)
        for key, value in details.items():
            assert body["details"].get(key) == value, body
        assert len(response.body) < 2000  # a 10 KB name is not echoed back whole
        await nothing_stored(dataops_api, notebook_root)

    async def test_null_is_the_server_default_and_a_sandbox_there_is_refused(
        self, dataops_api, notebooks, notebook_root
    ):
        request = {"notebook_path": "sub/train.ipynb", "cron": "0 6 * * *"}
        refused = await dataops_api(
            "POST",
            "schedules",
            json={**request, "sandbox": "0123456789ab", "executor": "kubernetes"},
        )
        assert_error(refused, 400, "invalid_input", "run with the kernels of their own")
        await nothing_stored(dataops_api, notebook_root)
        plain = await create(dataops_api, **request, executor=None)
        assert plain["executor"] is None


# -- delete -------------------------------------------------------------------------------------------
async def test_delete_keeps_the_runs_unless_asked_to_delete_them(
    dataops_api, notebooks, notebook_root
):
    keep = await create(dataops_api, notebook_path="sub/train.ipynb", cron="0 6 * * *")
    drop = await create(dataops_api, notebook_path="slow.ipynb", cron="0 6 * * *")
    kept = (await dataops_api("POST", "schedules", keep["id"], "run")).json()
    finished = (
        await dataops_api("POST", "schedules", drop["id"], "run", json={"parameters": {"n": 0}})
    ).json()
    await dataops_api.wait_for_job(kept["id"])
    done = await dataops_api.wait_for_job(finished["id"])
    assert done["status"] == "completed", done
    active = (await dataops_api("POST", "schedules", drop["id"], "run")).json()
    await dataops_api.wait_for_job(active["id"], frozenset({"running"}))

    bad = await dataops_api("DELETE", "schedules", keep["id"], params={"delete_runs": "maybe"})
    assert bad.code == 400, bad
    gone = await dataops_api("DELETE", "schedules", keep["id"])
    assert (gone.code, gone.body) == (204, b"")
    assert (await dataops_api("GET", "schedules", keep["id"])).code == 404
    assert (await dataops_api("GET", "schedules", keep["id"], "firings")).code == 404
    still = await dataops_api("GET", "jobs", kept["id"])
    assert still.code == 200 and still.json()["schedule_id"] == keep["id"]
    assert (notebook_root / still.json()["output_path"]).is_file()

    gone = await dataops_api("DELETE", "schedules", drop["id"], params={"delete_runs": "true"})
    assert gone.code == 204, gone
    assert (await dataops_api("GET", "jobs", finished["id"])).code == 404
    assert not (notebook_root / done["output_path"]).exists()
    cancelled = await dataops_api.wait_for_job(active["id"])
    assert cancelled["status"] == "cancelled", cancelled
    assert (await dataops_api("DELETE", "schedules", drop["id"])).code == 404
    page = (await dataops_api("GET", "schedules")).json()
    assert page["total"] == 0 and page["counts"] == {"active": 0, "paused": 0}


# -- preview ------------------------------------------------------------------------------------------
async def test_preview_says_it_in_words_with_the_next_five_times(dataops_api):
    response = await dataops_api(
        "GET",
        "schedules",
        "preview",
        params={"cron": "*/15 9-17 * * 1-5", "timezone": "America/New_York"},
    )
    assert response.code == 200, response
    body = response.json()
    assert body["description"] == (
        "Every 15 minutes, between 09:00 and 17:59, Monday through Friday (America/New_York)"
    )
    assert body["timezone"] == "America/New_York" and body["min_interval_seconds"] == 900
    assert len(body["next_runs"]) == 5 and body["next_runs"] == sorted(body["next_runs"])
    for t in body["next_runs"]:
        local = datetime.fromtimestamp(t, ZoneInfo("America/New_York"))
        assert local.weekday() < 5 and 9 <= local.hour <= 17 and local.minute % 15 == 0
    utc = (await dataops_api("GET", "schedules", "preview", params={"cron": "@daily"})).json()
    assert utc["timezone"] == "UTC" and utc["description"]

    bad = await dataops_api("GET", "schedules", "preview", params={"cron": "0 6 32 * *"})
    assert assert_error(bad, 400, "invalid_input", "day-of-month")["details"]["field"] == (
        "day-of-month"
    )
    zone = await dataops_api(
        "GET", "schedules", "preview", params={"cron": "0 6 * * *", "timezone": "Nowhere/City"}
    )
    assert_error(zone, 400, "invalid_input", "Unknown time zone")
    assert (await dataops_api("GET", "schedules", "preview")).code == 400
    extra = await dataops_api("GET", "schedules", "preview", params={"cron": "@daily", "tz": "UTC"})
    assert_error(extra, 400, "invalid_input", "tz")


# -- events -------------------------------------------------------------------------------------------
async def test_schedule_events_tell_create_update_and_delete_with_seq(
    dataops_api, notebooks, schedule_events
):
    """The change log keeps one entry per schedule (its latest change), so each step waits for
    its event before the next is made; the seqs only grow."""
    schedule = await create(dataops_api, notebook_path="sub/train.ipynb", cron="0 6 * * *")

    def mine() -> list[dict[str, Any]]:
        return [e for e in schedule_events if e["id"] == schedule["id"]]

    await wait_until("the created event", lambda: len(mine()) == 1)
    first = mine()[0]
    assert (first["action"], first["status"]) == ("created", "active"), first
    assert first["next_run_at"] == schedule["next_run_at"]
    await dataops_api("PATCH", "schedules", schedule["id"], json={"name": "renamed"})
    await wait_until("the updated event", lambda: len(mine()) == 2)
    await dataops_api("POST", "schedules", schedule["id"], "pause")
    await wait_until("the paused event", lambda: len(mine()) == 3)
    paused = mine()[2]
    assert (paused["action"], paused["status"], paused["next_run_at"]) == (
        "updated",
        "paused",
        None,
    ), paused
    await dataops_api("DELETE", "schedules", schedule["id"])
    await wait_until("the deleted event", lambda: len(mine()) == 4)
    assert [e["action"] for e in mine()] == ["created", "updated", "updated", "deleted"]
    assert "status" not in mine()[3]
    seqs = [e["seq"] for e in mine()]
    assert seqs == sorted(set(seqs)), seqs


async def test_schedule_changes_are_not_told_as_job_events(
    dataops_api, notebooks, job_events_all, schedule_events
):
    """Job events are about jobs: a schedule's change must not reach JupyterLab as a job event
    (a 'deleted' job event with a schedule's id, or an event the job schema's listener drops)."""
    schedule = await create(dataops_api, notebook_path="sub/train.ipynb", cron="0 6 * * *")
    await dataops_api("DELETE", "schedules", schedule["id"])
    job = await dataops_api.create_job(notebook_path="sub/train.ipynb")
    await wait_until("the job's event", lambda: any(e["id"] == job["id"] for e in job_events_all))
    assert [e for e in job_events_all if e["id"] == schedule["id"]] == []


# -- the worker ----------------------------------------------------------------------------------------
class TestSupervisor:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: dict[str, Any]) -> dict[str, Any]:
        jp_server_config["DataOpsExtension"] = {"supervise_interval": 0.5}
        return jp_server_config

    async def test_the_server_starts_a_worker_while_an_active_schedule_exists(
        self, dataops_server, dataops_api, notebooks
    ):
        """No job is queued or running: the active schedule alone makes the server's check start
        a worker again when the one that fires it is gone."""
        supervisor = dataops_server.services.supervisor
        await create(dataops_api, notebook_path="sub/train.ipynb", cron="0 6 * * *")

        async def running() -> dict[str, Any] | None:
            status = (await dataops_api("GET", "worker")).json()
            return status if status["running"] else None

        first = await wait_until("the worker started by the create", running)
        assert await asyncio.to_thread(supervisor.stop_worker)
        assert (await dataops_api("GET", "jobs")).json()["total"] == 0

        async def another() -> bool:
            status = (await dataops_api("GET", "worker")).json()
            return status["running"] and status["pid"] != first["pid"]

        await wait_until("a new worker started by the server", another)


async def test_a_jupyter_scheduler_job_definition_is_refused_saying_what_to_send(
    dataops_api, notebooks, notebook_root
):
    """A payload from another client: the body jupyter-scheduler's UI sends to create a job
    definition (its CreateJobDefinition model, 2.x). It is refused in one answer that names what
    is missing and what is unknown; nothing is stored."""
    payload = {
        "input_uri": "sub/train.ipynb",
        "input_filename": "train.ipynb",
        "runtime_environment_name": "python3",
        "runtime_environment_parameters": {},
        "output_formats": ["ipynb", "html"],
        "parameters": {"alpha": "0.5"},
        "tags": [],
        "name": "train",
        "output_filename_template": "{{input_filename}}-{{create_time}}",
        "compute_type": None,
        "schedule": "0 6 * * *",
        "timezone": "Europe/Berlin",
        "package_input_folder": False,
    }
    body = assert_error(await dataops_api("POST", "schedules", json=payload), 400, "invalid_input")
    text = f"{body['message']} {body.get('hint') or ''}"
    for name in ("notebook_path", "cron", "input_uri", "schedule"):
        assert name in text, body
    problems = {e["field"]: e["problem"] for e in body["details"]["errors"]}
    assert problems["input_uri"] == "not a field here (did you mean notebook_path?)"
    assert problems["schedule"] == "not a field here (did you mean cron?)"
    assert problems["runtime_environment_name"] == "not a field here (did you mean kernel_name?)"
    assert problems["output_formats"] == "not a field here"
    assert problems["notebook_path"] == "Field required"
    await nothing_stored(dataops_api, notebook_root)
