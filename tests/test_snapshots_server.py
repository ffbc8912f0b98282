"""Snapshots through the running server (REST under /dataops/api/snapshots and /lineage), end to
end: real git and DVC in the server's root, the worker the server starts pushes the data to a real
local remote, and the event bus tells of each change. Every wait is bounded; nothing asserts on
timing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_dataops.core.events import SNAPSHOT_EVENT_SCHEMA_ID

from .test_schedules_server import assert_error, wait_until

CSV = "sepal,petal,kind\n5.1,1.4,setosa\n4.9,1.4,setosa\n6.2,4.5,versicolor\n"


@pytest.fixture
def project(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test User")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
    root = Path(jp_root_dir)
    (root / "data").mkdir()
    (root / "data" / "iris.csv").write_text(CSV)
    (root / "train.py").write_text("print('train')\n")
    return root


@pytest.fixture
def snapshot_events(dataops_server: Any, jp_serverapp: Any) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        received.append(dict(data))

    jp_serverapp.event_logger.add_listener(schema_id=SNAPSHOT_EVENT_SCHEMA_ID, listener=listener)
    return received


async def test_snapshots_end_to_end_through_the_api(project, dataops_api, snapshot_events):
    # Not a repository yet: refused until the user agrees, and nothing is created.
    status = (await dataops_api("GET", "snapshots", "workspace")).json()
    assert status["ready"] is False and status["missing"] == ["git", "DVC"]
    refused = await dataops_api("POST", "snapshots", json={"message": "first"})
    assert_error(refused, 400, "invalid_input", "not yet a git and DVC repository", "init")
    assert not (project / ".git").exists()

    made = await dataops_api("POST", "snapshots", json={"message": "first", "init": True})
    assert made.code == 201, made
    first = made.json()
    assert made.headers["Location"].endswith(f"/dataops/api/snapshots/{first['id']}")
    assert first["status"] == "ready" and first["author"]
    assert first["profiles"]["data/iris.csv"]["rows"] == 3
    assert first["push_status"] == "pending"

    # The worker the server started pushes the data to the remote.
    async def pushed() -> bool:
        found = (await dataops_api("GET", "snapshots", first["id"])).json()
        return found["push_status"] == "pushed"

    await wait_until("the data pushed", pushed)
    await wait_until(
        "the snapshot events",
        lambda: any(
            e["id"] == first["id"] and e.get("push_status") == "pushed" for e in snapshot_events
        ),
    )
    # (The watcher tells the latest state of each snapshot per look: not every step.)
    assert {e["action"] for e in snapshot_events} <= {"created", "updated"}

    # A second snapshot after a change; the list, the diff and the lineage.
    (project / "data" / "iris.csv").unlink()
    (project / "data" / "iris.csv").write_text(CSV + "7.7,6.7,virginica\n")
    second = (await dataops_api("POST", "snapshots", json={"message": "more rows"})).json()
    page = (await dataops_api("GET", "snapshots")).json()
    assert [s["id"] for s in page["items"]] == [second["id"], first["id"]]
    assert page["total"] == 2 and page["counts"] == {"ready": 2}
    diff = await dataops_api("GET", "snapshots", "diff", params={"a": first["id"][:6]})
    assert diff.code == 200, diff
    found = diff.json()
    assert found["b"] == second["id"]
    assert found["data"] == [{"path": "data/iris.csv", "change": "modified"}]
    assert found["tables"][0]["rows_before"] == 3 and found["tables"][0]["rows_after"] == 4
    lineage = (await dataops_api("GET", "lineage", second["id"])).json()
    assert lineage["root"]["kind"] == "snapshot"
    assert lineage["upstream"][0] == {
        "kind": "snapshot",
        "id": first["id"],
        "label": "parent",
        "detail": {},
    }

    # Restore one file; the safety snapshot is listed.
    restored = await dataops_api(
        "POST", "snapshots", first["id"], "restore", json={"paths": ["data/iris.csv"]}
    )
    assert restored.code == 200, restored
    done = restored.json()
    assert done["verified"] == 1 and done["safety_snapshot_id"]
    assert (project / "data" / "iris.csv").read_text() == CSV
    kinds = [s["kind"] for s in (await dataops_api("GET", "snapshots")).json()["items"]]
    assert kinds == ["safety", "manual", "manual"]


async def test_bad_snapshot_requests_get_clear_errors_and_change_nothing(project, dataops_api):
    made = await dataops_api("POST", "snapshots", json={"init": True})
    assert made.code == 201, made
    snapshot_id = made.json()["id"]
    refs = sorted(p.name for p in (project / ".git" / "refs" / "dataops" / "snapshots").iterdir())

    assert_error(
        await dataops_api("GET", "snapshots", "0123456789ab"), 404, "not_found", "snapshots list"
    )
    assert_error(
        await dataops_api("POST", "snapshots", json={"paths": ["../outside"]}),
        403,
        "forbidden",
        "outside",
    )
    assert_error(
        await dataops_api("POST", "snapshots", json={"mesage": "typo"}),
        400,
        "invalid_input",
        "mesage",
    )
    assert_error(
        await dataops_api("POST", "snapshots", body="not json"), 400, "invalid_input", "JSON"
    )
    assert_error(
        await dataops_api("POST", "snapshots", snapshot_id, "restore", json={"paths": ["/etc"]}),
        403,
        "forbidden",
    )
    assert_error(
        await dataops_api(
            "POST", "snapshots", snapshot_id, "restore", json={"paths": ["gone.txt"]}
        ),
        400,
        "invalid_input",
        "Neither the snapshot nor the project has 'gone.txt'",
    )
    assert_error(await dataops_api("GET", "snapshots", "diff"), 400, "invalid_input", "a")
    assert_error(await dataops_api("GET", "lineage", "nothing-here"), 404, "not_found")
    after = sorted(p.name for p in (project / ".git" / "refs" / "dataops" / "snapshots").iterdir())
    assert after == refs
    assert (await dataops_api("GET", "snapshots")).json()["total"] == 1


async def test_kernel_variables_go_through_the_api_unopened(project, dataops_api, jp_serverapp):
    from jupyter_dataops.core.snapshots.variables import capture, restore

    upload = capture({"weights": [1.5, 2.5], "name": "model-a"}, max_bytes=1 << 20)
    made = await dataops_api(
        "POST", "snapshots", json={"init": True, "variables": upload.model_dump()}
    )
    assert made.code == 201, made
    summary = made.json()["variables"]
    assert [v["name"] for v in summary["saved"]] == ["name", "weights"]
    found = await dataops_api("GET", "snapshots", made.json()["id"], "variables")
    assert found.code == 200, found
    assert restore(found.json()["payload"])[0] == {"weights": [1.5, 2.5], "name": "model-a"}
    bad = await dataops_api(
        "POST", "snapshots", json={"variables": {"saved": [], "skipped": [], "payload": "%%"}}
    )
    assert_error(bad, 400, "invalid_input", "not base64")
    none = await dataops_api("GET", "snapshots", "0123456789ab", "variables")
    assert_error(none, 404, "not_found")


async def test_saving_a_data_file_in_jupyterlab_never_changes_a_snapshot(
    project, dataops_api, jp_fetch
):
    import json
    import os

    first = (await dataops_api("POST", "snapshots", json={"init": True})).json()
    csv = project / "data" / "iris.csv"
    assert os.stat(csv).st_nlink == 2  # linked to DVC's cache
    edited = CSV + "0.1,0.2,tiny\n"
    saved = await jp_fetch(
        "api",
        "contents",
        "data",
        "iris.csv",
        method="PUT",
        body=json.dumps({"type": "file", "format": "text", "content": edited}),
    )
    assert saved.code == 200
    assert csv.read_text() == edited and os.stat(csv).st_nlink == 1  # its own copy now
    second = (await dataops_api("POST", "snapshots", json={"message": "edited"})).json()
    assert second["warnings"] == []
    restored = await dataops_api("POST", "snapshots", first["id"], "restore", json={})
    assert restored.code == 200, restored
    assert csv.read_text() == CSV
