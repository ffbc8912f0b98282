"""jupyter_server's Authorizer decides who may do what on the "dataops" resource: reading is
"read", running a notebook (create, re-run) is "execute", cancelling and deleting are "write"."""

from __future__ import annotations

from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer


class ReadOnlyDataOps(Authorizer):
    """Lets the user read jobs but not run, cancel or delete them; everything else is allowed."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "dataops" or action == "read"


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    jp_server_config["ServerApp"]["authorizer_class"] = f"{__name__}.ReadOnlyDataOps"
    return jp_server_config


async def test_a_read_only_user_can_read_but_not_run_or_change(dataops_api, make_notebook):
    make_notebook("nb.ipynb", ["1"])
    assert (await dataops_api("GET", "jobs")).code == 200
    assert (await dataops_api("GET", "info")).code == 200
    params = await dataops_api("GET", "notebooks", "parameters", params={"path": "nb.ipynb"})
    assert params.code == 200

    for method, path, body in (
        ("POST", ("jobs",), {"notebook_path": "nb.ipynb"}),
        ("POST", ("jobs", "abcd1234", "rerun"), {}),
        ("POST", ("jobs", "abcd1234", "cancel"), None),
        ("DELETE", ("jobs", "abcd1234"), None),
    ):
        response = await dataops_api(method, *path, json=body)
        assert response.code == 403, (method, path, response)
        error = response.json()
        assert error["error"] == "forbidden"
        assert "dataops" in error["message"]
    assert (await dataops_api("GET", "jobs")).json()["total"] == 0

    # An unknown path goes through the Authorizer too: read, it is a 404; written to, a 403.
    assert (await dataops_api("GET", "no", "such", "route")).code == 404
    response = await dataops_api("POST", "no", "such", "route", json={})
    assert response.code == 403, response
    assert response.json()["error"] == "forbidden"


async def test_a_read_only_user_can_look_at_schedules_but_not_make_or_change_them(
    dataops_api, make_notebook
):
    make_notebook("nb.ipynb", ["1"])
    assert (await dataops_api("GET", "schedules")).json()["total"] == 0
    preview = await dataops_api("GET", "schedules", "preview", params={"cron": "@daily"})
    assert preview.code == 200, preview
    for method, path, body in (
        ("POST", ("schedules",), {"notebook_path": "nb.ipynb", "cron": "@daily"}),
        ("PATCH", ("schedules", "abcd1234"), {"name": "x"}),
        ("POST", ("schedules", "abcd1234", "pause"), None),
        ("POST", ("schedules", "abcd1234", "resume"), None),
        ("POST", ("schedules", "abcd1234", "run"), {}),
        ("DELETE", ("schedules", "abcd1234"), None),
    ):
        response = await dataops_api(method, *path, json=body)
        assert response.code == 403, (method, path, response)
        assert response.json()["error"] == "forbidden"
    assert (await dataops_api("GET", "schedules")).json()["total"] == 0


async def test_a_read_only_user_can_look_at_snapshots_but_not_take_or_restore_them(
    dataops_api, jp_root_dir
):
    assert (await dataops_api("GET", "snapshots")).json()["total"] == 0
    status = await dataops_api("GET", "snapshots", "workspace")
    assert status.code == 200 and status.json()["ready"] is False
    for method, path, body in (
        ("POST", ("snapshots",), {"init": True}),
        ("POST", ("snapshots", "workspace"), {}),
        ("POST", ("snapshots", "abcd1234", "restore"), {}),
        ("POST", ("snapshots", "abcd1234", "push"), {}),
    ):
        response = await dataops_api(method, *path, json=body)
        assert response.code == 403, (method, path, response)
        assert response.json()["error"] == "forbidden"
    assert not (jp_root_dir / ".git").exists()  # nothing was set up
