"""Shared fixtures: a notebook factory, and a real Jupyter server with jupyter-dataops enabled.

Notebook factory (any test)::

    def test_x(make_notebook):
        path = make_notebook("sub/train.ipynb", ["print(alpha * 2)"], parameters="alpha = 0.5")

Server (pytest-jupyter; each test gets its own root dir and JUPYTER_DATA_DIR, hence its own store)::

    async def test_y(dataops_server, dataops_api, make_notebook):
        make_notebook("nb.ipynb", ["1 + 1"])
        response = await dataops_api("POST", "jobs", json={"notebook_path": "nb.ipynb"})
        assert response.code == 201
        job = await dataops_api.wait_for_job(response.json()["id"])
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_dataops.core.events import JOB_EVENT_SCHEMA_ID

from .notebooks import write_notebook

pytest_plugins = ["pytest_jupyter.jupyter_server"]

# DVC's CLI (the tests run it as users do) would start a daemon that reports usage over the
# network: that does not belong in a test run.
os.environ["DVC_NO_ANALYTICS"] = "1"
# MLflow's URIs come from each test's own configuration, never from the developer's shell (a
# server would log and register there).
for _name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
    os.environ.pop(_name, None)


@pytest.fixture(autouse=True, scope="module")
def _no_mlflow_uri_leaks() -> Iterator[None]:
    """A test module that sets MLflow's process-wide URIs (``mlflow.set_tracking_uri`` also
    writes the environment) must put them back: the servers of later tests would use them."""
    yield
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        assert os.environ.pop(name, None) is None, f"the test left {name} set"


EXTENSION = "jupyter_dataops"
#: Upper bound for any wait on a job in server tests (machines are noisy; never a timing assertion).
JOB_WAIT_SECONDS = 60.0
TERMINAL = frozenset({"completed", "failed", "cancelled"})


# -- notebooks ----------------------------------------------------------------------------------
@pytest.fixture
def notebook_root(jp_root_dir: Path) -> Path:
    """Where ``make_notebook`` writes: the server's root dir (a fresh temporary folder)."""
    return Path(jp_root_dir)


@pytest.fixture
def make_notebook(notebook_root: Path) -> Callable[..., Path]:
    """``make_notebook(path, cells, *, parameters=None, kernel="python3") -> Path``.

    ``path`` is relative to ``notebook_root`` (override that fixture to write elsewhere); ``cells``
    are code-cell sources; ``parameters``, if given, becomes a first cell tagged ``parameters``.
    Returns the absolute path of the written notebook.
    """

    def make(
        path: str, cells: list[str], *, parameters: str | None = None, kernel: str = "python3"
    ) -> Path:
        return write_notebook(notebook_root / path, cells, parameters=parameters, kernel=kernel)

    return make


# -- server -------------------------------------------------------------------------------------
@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    """The server under test: jupyter-dataops enabled, a small worker that goes away when idle."""
    return {
        "ServerApp": {"jpserver_extensions": {EXTENSION: True}, "allow_root": True},
        # The worker starts with the first job rather than with the server (most server tests run
        # none), keeps one warm kernel, and is stopped after each test (the idle timeout is only a
        # safety net): two-core machines stay responsive.
        "LocalExecutor": {"kernel_pool_size": 1},
        "Worker": {"idle_timeout": 120.0, "warm_start": False},
    }


@pytest.fixture
def dataops_server(jp_serverapp: Any, jp_asyncio_loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    """The started extension (``DataOpsExtension``): its event watcher runs, ``.services`` are the
    core. pytest-jupyter does not run extensions' start hooks, so this does, on the server's loop.
    The worker process the test started is stopped afterwards."""
    extension = jp_serverapp.extension_manager.extension_apps[EXTENSION]
    (app,) = extension
    jp_asyncio_loop.run_until_complete(jp_serverapp.extension_manager.start_extension(EXTENSION))
    yield app
    services = app._services
    # Stop the extension first: its supervisor would start the worker again for the test's
    # active schedules (the server itself stops later).
    jp_asyncio_loop.run_until_complete(app.stop_extension())
    if services is not None:
        stop_local_worker(services.supervisor)


def stop_local_worker(supervisor: Any) -> None:
    """Stop the worker a test started (the supervisor waits for one that is still starting),
    then, as a safety net, end any worker process of this test's data dir, so none outlives it."""
    from jupyter_dataops.worker.state import LOG_FILE

    data_dir = Path(supervisor.data_dir)
    if not (data_dir / LOG_FILE).exists():
        return  # this test never started a worker (each test has its own data dir)
    with contextlib.suppress(Exception):
        supervisor.stop_worker(timeout=30)
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        pids = worker_pids(data_dir)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while pids and time.monotonic() < deadline:
            time.sleep(0.1)
            pids = worker_pids(data_dir)
        if not pids:
            return


def worker_pids(data_dir: Path) -> list[int]:
    """Processes of the local worker for ``data_dir`` (Linux /proc; elsewhere none are found)."""
    needle = f"--data-dir\0{data_dir}\0".encode()
    pids = []
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"jupyter_dataops.worker\0" in cmdline and needle in cmdline:
            pids.append(int(entry.name))
    return pids


class ApiResponse:
    """A finished HTTP exchange: ``code``, ``headers``, ``body`` (bytes) and ``json()``."""

    def __init__(self, code: int, headers: Any, body: bytes) -> None:
        self.code = code
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<ApiResponse {self.code} {self.body[:300]!r}>"


class DataOpsApi:
    """Calls ``/dataops/api/...`` as the test's authenticated user; never raises on 4xx/5xx."""

    def __init__(self, fetch: Callable[..., Any]) -> None:
        self._fetch = fetch

    async def __call__(
        self,
        method: str,
        *path: str,
        json: Any = None,
        body: str | bytes | None = None,
        params: dict[str, Any] | list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        import json as json_module

        if json is not None:
            body = json_module.dumps(json)
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        pairs: list[tuple[str, str]] = []
        items = params.items() if isinstance(params, dict) else (params or [])
        for key, value in items:
            values = value if isinstance(value, (list, tuple)) else [value]
            pairs.extend((key, str(v)) for v in values)
        response = await self._fetch(
            "dataops",
            "api",
            *path,
            method=method,
            body=body,
            headers=headers,
            params=pairs,  # jp_fetch url-encodes them; a list keeps repeated keys
            raise_error=False,
        )
        return ApiResponse(response.code, response.headers, response.body or b"")

    async def create_job(self, **request: Any) -> dict[str, Any]:
        response = await self("POST", "jobs", json=request)
        assert response.code == 201, response
        return response.json()  # type: ignore[no-any-return]

    async def wait_for_job(
        self,
        job_id: str,
        statuses: frozenset[str] = TERMINAL,
        *,
        timeout: float = JOB_WAIT_SECONDS,
    ) -> dict[str, Any]:
        """Poll the job until its status is one of ``statuses``; fail the test after ``timeout``."""
        deadline = time.monotonic() + timeout
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = await self("GET", "jobs", job_id)
            assert response.code == 200, response
            job = response.json()
            if job["status"] in statuses:
                return job
            await asyncio.sleep(0.1)
        pytest.fail(f"job {job_id} not {sorted(statuses)} within {timeout}s; last seen: {job}")


@pytest.fixture
def dataops_api(dataops_server: Any, jp_fetch: Callable[..., Any]) -> DataOpsApi:
    """``await dataops_api(method, *path, json=, body=, params=, headers=) -> ApiResponse`` under
    ``/dataops/api``, plus ``create_job(**JobCreate)`` and ``wait_for_job(id, statuses)``."""
    return DataOpsApi(jp_fetch)


def registered_routes(web_app: Any) -> dict[str, tuple[Any, frozenset[str]]]:
    """Every ``/dataops`` route the running server has, as OpenAPI-style paths
    (``/dataops/api/jobs/{job_id}``) -> (handler class, HTTP methods it implements).

    Read from tornado's routing table, not from our own list, so a handler registered any other
    way is found too. OPTIONS (CORS pre-flight, answered without auth by jupyter_server) is left out.
    """
    from tornado.routing import PathMatches
    from tornado.web import RequestHandler

    routes: dict[str, tuple[Any, frozenset[str]]] = {}

    def walk(router: Any) -> None:
        for rule in getattr(router, "rules", []):
            if hasattr(rule.target, "rules"):
                walk(rule.target)
            elif isinstance(rule.matcher, PathMatches) and "/dataops" in rule.matcher.regex.pattern:
                pattern = rule.matcher.regex.pattern.rstrip("$")
                path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern[pattern.index("/dataops") :])
                handler = rule.target
                methods = frozenset(
                    m.upper()
                    for m in ("get", "post", "put", "patch", "delete", "head")
                    if getattr(handler, m) is not getattr(RequestHandler, m)
                )
                routes[path] = (handler, methods)

    walk(web_app.default_router)
    return routes


@pytest.fixture
def job_events(dataops_server: Any, jp_serverapp: Any) -> list[dict[str, Any]]:
    """Every job event the server emits during the test, in order (each a dict of its data)."""
    received: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        received.append(dict(data))

    jp_serverapp.event_logger.add_listener(schema_id=JOB_EVENT_SCHEMA_ID, listener=listener)
    return received
