"""Every /dataops route requires the server's authentication, and every mutation its XSRF token.

Routes are read from the running server's routing table, so a route added later is covered too.
Requests are sent with a bare tornado client: no token, no cookie unless a test adds one.
"""

from __future__ import annotations

import json
import os
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

import pytest
from jupyter_server.utils import url_path_join

from jupyter_dataops.server.handlers import default_handlers

from .conftest import registered_routes

MUTATIONS = {"POST", "PUT", "PATCH", "DELETE"}
FAKE_JOB_ID = "0123456789ab"
#: What the catch-all route for unknown /dataops/api paths is requested with.
UNKNOWN_PATH = "/no/such/route"


def all_requests(jp_serverapp: Any) -> list[tuple[str, str]]:
    routes = registered_routes(jp_serverapp.web_app)
    # The enumeration found every shipped handler (it would pass vacuously on an empty list).
    assert len(routes) == len(default_handlers) >= 9
    requests = []
    for path, (_, methods) in sorted(routes.items()):
        for method in sorted(methods):
            path = path.replace("{job_id}", FAKE_JOB_ID).replace("{path}", UNKNOWN_PATH)
            requests.append((method, path))
    return requests


def body_for(method: str) -> bytes | None:
    return b"{}" if method in MUTATIONS else None


async def raw(http_server_client, jp_base_url, method, path, headers=None, body=None):
    url = url_path_join(jp_base_url, path.lstrip("/"))
    if path.endswith("parameters"):
        url += "?path=nb.ipynb"
    return await http_server_client.fetch(
        url,
        method=method,
        headers=headers or {},
        body=body if body is not None else body_for(method),
        raise_error=False,
        follow_redirects=False,
        allow_nonstandard_methods=True,
    )


async def test_every_route_refuses_unauthenticated_requests(
    dataops_server, jp_serverapp, http_server_client, jp_base_url
):
    for method, path in all_requests(jp_serverapp):
        for headers in ({}, {"Authorization": "token not-the-token"}):
            response = await raw(http_server_client, jp_base_url, method, path, headers)
            assert response.code in (401, 403), (method, path, headers, response.code)
            if response.body:
                assert json.loads(response.body)["error"] == "forbidden"


async def test_every_mutation_requires_the_xsrf_token(
    dataops_server, jp_serverapp, http_server_client, jp_base_url
):
    cookies = await login(jp_serverapp, http_server_client, jp_base_url)
    cookie_header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    mutations = [(m, p) for m, p in all_requests(jp_serverapp) if m in MUTATIONS]
    # The API's routes mutate with POST, PATCH and DELETE; the catch-all answers every method
    # (with 404).
    assert {m for m, p in mutations if not p.endswith(UNKNOWN_PATH)} == {"POST", "PATCH", "DELETE"}
    assert {m for m, p in mutations if p.endswith(UNKNOWN_PATH)} == MUTATIONS

    for method, path in all_requests(jp_serverapp):
        without = await raw(
            http_server_client, jp_base_url, method, path, {"Cookie": cookie_header}
        )
        with_xsrf = await raw(
            http_server_client,
            jp_base_url,
            method,
            path,
            {"Cookie": cookie_header, "X-XSRFToken": cookies["_xsrf"]},
        )
        # The cookie session is authenticated: with the XSRF token nothing is refused as forbidden
        # (the fake job id and empty bodies give 400/404 instead).
        assert with_xsrf.code not in (401, 403), (method, path, with_xsrf.body)
        if path.endswith(UNKNOWN_PATH):
            assert with_xsrf.code == 404, (method, path, with_xsrf.code)
        if method in MUTATIONS:
            assert without.code == 403, (method, path, without.code)
        else:
            assert without.code not in (401, 403), (method, path, without.body)


async def login(jp_serverapp, http_server_client, jp_base_url) -> dict[str, str]:
    """Log in through the server's login form, as a browser would; returns the cookies."""
    cookies: dict[str, str] = {}

    def keep(response):
        for header in response.headers.get_list("Set-Cookie"):
            for name, morsel in SimpleCookie(header).items():
                cookies[name] = morsel.value

    login_url = url_path_join(jp_base_url, "login")
    keep(await http_server_client.fetch(login_url, raise_error=False, follow_redirects=False))
    assert "_xsrf" in cookies
    form = urlencode({"password": jp_serverapp.identity_provider.token, "_xsrf": cookies["_xsrf"]})
    response = await http_server_client.fetch(
        login_url,
        method="POST",
        body=form,
        headers={"Cookie": f"_xsrf={cookies['_xsrf']}"},
        raise_error=False,
        follow_redirects=False,
    )
    keep(response)
    assert response.code == 302, response.body
    assert any(name.startswith("username-") for name in cookies), cookies
    return cookies


async def test_rendered_html_is_sandboxed(dataops_api, make_notebook):
    make_notebook("page.ipynb", ["from IPython.display import HTML", "HTML('<script>1</script>')"])
    job = await dataops_api.create_job(notebook_path="page.ipynb")
    await dataops_api.wait_for_job(job["id"])
    response = await dataops_api("GET", "jobs", job["id"], "html")
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    csp = [part.strip() for part in response.headers["Content-Security-Policy"].split(";")]
    sandbox = next(part for part in csp if part.startswith("sandbox"))
    # Scripts may run, but never with the server's origin (no allow-same-origin).
    assert "allow-scripts" in sandbox
    assert "allow-same-origin" not in sandbox
    assert "connect-src 'none'" in csp
    assert "<script>1</script>" in response.body.decode()


@pytest.mark.parametrize(
    "path",
    ["../outside.ipynb", "/etc/passwd.ipynb", "sub/../../outside.ipynb", "link/escaped.ipynb"],
)
async def test_paths_outside_the_root_are_forbidden(
    dataops_api, make_notebook, notebook_root, tmp_path, path
):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    make_notebook("../outside.ipynb", ["1"])  # exists, just outside the root
    (outside / "escaped.ipynb").write_text((notebook_root.parent / "outside.ipynb").read_text())
    os.symlink(outside, notebook_root / "link")

    for method, route, kwargs in (
        ("POST", ("jobs",), {"json": {"notebook_path": path}}),
        ("GET", ("notebooks", "parameters"), {"params": {"path": path}}),
    ):
        response = await dataops_api(method, *route, **kwargs)
        assert response.code == 403, (method, path, response)
        error = response.json()
        assert error["error"] == "forbidden"
        assert error["message"] and error["hint"]

    assert (await dataops_api("GET", "jobs")).json()["total"] == 0
    assert not (notebook_root / "dataops-jobs").exists()
