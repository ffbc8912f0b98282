"""Failures inside the server: a backend that breaks gives a clean JSON error, never a traceback or
a secret; a backend that is unavailable gives a 503 saying so. The backend is chosen through
configuration, as a user would choose one (c.DataOps.job_executor_class)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.utils import url_path_join

from jupyter_dataops.backends.base import Executor
from jupyter_dataops.core.errors import BackendUnavailable

SECRET = "s3cr3t-password-in-a-message"


class BrokenExecutor(Executor):
    """Takes jobs and never ends them; reading a job's log fails with an unexpected error, and
    a notebook named unavailable.ipynb cannot be submitted."""

    name = "broken"

    def check(self, *, kernel_name: str, notebook_path: str) -> None:
        if notebook_path == "unavailable.ipynb":
            raise BackendUnavailable(
                "The cluster cannot be reached.", hint="Check the kube config.", cluster="demo"
            )

    def open(self, report: Any) -> None:
        pass

    def start(self, request: Any) -> None:
        pass

    def stop(self, execution_id: str, reason: str) -> None:
        pass

    def read_log(self, job: Any, files: Any, offset: int = 0) -> tuple[str, int]:
        raise RuntimeError(f"connection to postgresql://admin:{SECRET}@db failed")


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    jp_server_config["DataOps"] = {"job_executor_class": f"{__name__}.BrokenExecutor"}
    return jp_server_config


async def test_an_unexpected_error_is_a_500_without_details(
    dataops_api, make_notebook, caplog, jp_serverapp
):
    make_notebook("nb.ipynb", ["1"])
    job = await dataops_api.create_job(notebook_path="nb.ipynb")
    assert job["executor"] == "broken"

    token = jp_serverapp.identity_provider.token
    with caplog.at_level(logging.DEBUG):
        # Some clients authenticate with ?token=; it must not reach the log with the traceback.
        response = await dataops_api("GET", "jobs", job["id"], "logs", params={"token": token})
    assert response.code == 500
    assert response.json() == {
        "error": "internal_error",
        "message": "The server failed to handle this request.",
        "hint": "The Jupyter server's log has the details.",
        "details": {},
    }
    assert SECRET not in response.body.decode()
    # The operator gets the traceback in the server log.
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert logged, [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if token in r.getMessage()]

    # The server goes on answering.
    assert (await dataops_api("GET", "jobs", job["id"])).code == 200


async def test_an_unavailable_backend_is_a_503(dataops_api, dataops_server, make_notebook):
    make_notebook("unavailable.ipynb", ["1"])
    response = await dataops_api("POST", "jobs", json={"notebook_path": "unavailable.ipynb"})
    assert response.code == 503
    assert response.json() == {
        "error": "backend_unavailable",
        "message": "The cluster cannot be reached.",
        "hint": "Check the kube config.",
        "details": {"cluster": "demo"},
    }
    # The refused job was taken back: nothing is stored, no folder is left.
    assert (await dataops_api("GET", "jobs")).json()["total"] == 0
    jobs_dir = Path(dataops_server.services.root) / "dataops-jobs"
    assert not jobs_dir.exists() or not any(jobs_dir.iterdir())


async def test_an_unknown_api_path_is_a_json_404_naming_it(
    dataops_api, http_server_client, jp_auth_header, jp_base_url
):
    for method, path in (
        ("GET", ("nope",)),
        ("GET", ("jobs", "abc", "unknown")),
        ("POST", ("jobs", "abc", "unknown")),
        ("DELETE", ("nope",)),
        ("GET", ()),  # the prefix itself
    ):
        response = await dataops_api(method, *path, json={} if method == "POST" else None)
        assert response.code == 404, (method, path, response)
        assert response.headers["Content-Type"].startswith("application/json")
        full_path = url_path_join(jp_base_url, "dataops/api", *path)
        assert response.json() == {
            "error": "not_found",
            "message": f"There is no API route {method} {full_path}.",
            "hint": "The routes under /dataops/api are listed in docs/rest-api.md "
            "(the contract: jupyter_dataops/server/openapi.yaml).",
            "details": {"method": method, "path": full_path},
        }

    # An unknown query argument does not turn the 404 into a 400, and the query is not echoed.
    response = await dataops_api("GET", "nope", params={"secret": SECRET})
    assert response.code == 404 and response.json()["error"] == "not_found"
    assert SECRET not in response.body.decode()
    # A trailing slash is still redirected by jupyter_server: to a real route, or to the 404.
    for path in ("info", "nope"):
        response = await http_server_client.fetch(
            url_path_join(jp_base_url, "dataops/api", path) + "/",
            headers=jp_auth_header,
            raise_error=False,
            follow_redirects=False,
        )
        assert response.code == 302, (path, response.code)
        assert response.headers["Location"] == url_path_join(jp_base_url, "dataops/api", path)
    # The real routes are not shadowed.
    assert (await dataops_api("GET", "info")).code == 200


async def test_an_unknown_api_path_refuses_unauthenticated_requests(
    dataops_server, http_server_client, jp_base_url
):
    for method in ("GET", "POST", "DELETE"):
        for headers in ({}, {"Authorization": "token not-the-token"}):
            response = await http_server_client.fetch(
                url_path_join(jp_base_url, "dataops/api/jobs/abc/unknown"),
                method=method,
                headers=headers,
                body=b"{}" if method == "POST" else None,
                raise_error=False,
                follow_redirects=False,
            )
            assert response.code in (401, 403), (method, headers, response.code)
            error = json.loads(response.body)
            assert error["error"] == "forbidden"  # not "not_found": nothing is told about paths
            assert "unknown" not in error["message"]


async def test_a_field_of_another_client_is_named_with_ours(dataops_api, make_notebook):
    """A job request written for papermill's words (input_path, kernel, a misspelt
    parameter field): each unknown field is named with the field it stands for here."""
    make_notebook("other.ipynb", ["1"])
    response = await dataops_api(
        "POST",
        "jobs",
        json={"input_path": "other.ipynb", "kernel": "python3", "parameterz": {"a": 1}},
    )
    assert response.code == 400
    body = response.json()
    problems = {e["field"]: e["problem"] for e in body["details"]["errors"]}
    assert problems == {
        "notebook_path": "Field required",
        "input_path": "not a field here (did you mean notebook_path?)",
        "kernel": "not a field here (did you mean kernel_name?)",
        "parameterz": "not a field here (did you mean parameters?)",
    }
    assert "did you mean notebook_path?" in body["message"]
    assert (await dataops_api("GET", "jobs")).json()["total"] == 0
