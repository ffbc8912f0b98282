"""Identity and authority belong to the server: ``%dataops`` in a kernel the server started acts
through the server as its owner (never by opening the store), a job's kernel acts as the job's
owner, and the credential they use works only on the DataOps API and only while its kernel or
job lives."""

from __future__ import annotations

import asyncio
import getpass
import json
import queue
from typing import Any

import pytest

from jupyter_dataops.core.identity import TokenSigner, load_secret
from jupyter_dataops.core.jobs.models import JobCreate

from .conftest import JOB_WAIT_SECONDS


def run_in_kernel(km: Any, code: str, timeout: float = JOB_WAIT_SECONDS) -> str:
    """Run ``code`` in a started kernel; its stdout (raises with the error if it failed)."""
    from jupyter_client.blocking import BlockingKernelClient

    kc = BlockingKernelClient()
    kc.load_connection_info(km.get_connection_info())
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        msg_id = kc.execute(code)
        out: list[str] = []
        while True:
            try:
                msg = kc.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"no output within {timeout} s; got {''.join(out)!r}"
                ) from None
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                raise AssertionError("\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out)
    finally:
        kc.stop_channels()


async def in_own_thread(fn: Any, *args: Any) -> Any:
    """Run blocking ``fn`` in a thread of its own (jupyter_core keys its per-thread event loops by
    thread name, which pooled threads share), leaving the server's loop free to answer it."""
    import threading

    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def run() -> None:
        try:
            result = fn(*args)
        except BaseException as exc:
            loop.call_soon_threadsafe(future.set_exception, exc)
        else:
            loop.call_soon_threadsafe(future.set_result, result)

    threading.Thread(target=run, name=f"kernel-client-{id(future)}", daemon=True).start()
    return await future


async def start_kernel(jp_serverapp: Any) -> tuple[str, Any]:
    manager = jp_serverapp.kernel_manager
    kernel_id = await manager.start_kernel(kernel_name="python3", path="")
    return kernel_id, manager.get_kernel(kernel_id)


async def test_a_server_kernel_acts_through_the_server_as_its_owner(
    dataops_api, dataops_server, jp_serverapp, make_notebook, jp_fetch
):
    make_notebook("nb.ipynb", ["print('ran', alpha)"], parameters="alpha = 1")
    kernel_id, km = await start_kernel(jp_serverapp)
    try:
        code = (
            "import os, sys, json\n"
            "%load_ext jupyter_dataops\n"
            "job = %dataops run nb.ipynb -p alpha 2 --wait\n"
            "print(json.dumps({'owner': job.owner, 'status': job.status.value,"
            " 'store': 'jupyter_dataops.store' in sys.modules or 'sqlalchemy' in sys.modules,"
            " 'token': os.environ['DATAOPS_TOKEN'], 'url': os.environ['DATAOPS_SERVER_URL']}))"
        )
        printed = await in_own_thread(run_in_kernel, km, code)
        seen = json.loads(printed.strip().splitlines()[-1])
        assert seen["status"] == "completed"
        # The server's owner, not a name the notebook made up or the browser's display name.
        assert seen["owner"] == getpass.getuser()
        assert seen["store"] is False  # the kernel never opened the store
        token = seen["token"]

        audit = await asyncio.to_thread(lambda: _audit(dataops_server, action="job.create"))
        assert [e.actor for e in audit] == [getpass.getuser()]

        # The credential works on the DataOps API only.
        header = {"Authorization": f"DataOps {token}"}
        assert (await dataops_api("GET", "jobs", headers=header)).code == 200
        with pytest.raises(Exception) as refused:
            await jp_fetch("api", "contents", headers=header)
        assert getattr(refused.value, "code", None) in (401, 403)
        # A mutation with it needs no XSRF token (a header cannot be sent by another site).
        created = await dataops_api(
            "POST", "jobs", json={"notebook_path": "nb.ipynb"}, headers=header
        )
        assert created.code == 201, created
    finally:
        await jp_serverapp.kernel_manager.shutdown_kernel(kernel_id, now=True)
    # ... and only while its kernel lives.
    gone = await dataops_api("GET", "jobs", headers=header)
    assert gone.code == 401 and gone.json()["error"] == "unauthorized"
    assert "kernel" in gone.json()["message"]


async def test_a_job_kernel_acts_as_the_jobs_owner(dataops_api, dataops_server, make_notebook):
    """A notebook run as a job can itself call %dataops; what it does is done as the job's owner,
    through the server."""
    make_notebook("child.ipynb", ["print('child ran')"])
    make_notebook(
        "parent.ipynb",
        [
            "%load_ext jupyter_dataops",
            "child = %dataops run child.ipynb --wait",
            "import os, sys\n"
            "print('child', child.owner, child.status.value)\n"
            "print('store', 'sqlalchemy' in sys.modules)",
        ],
    )
    services = dataops_server.services
    parent = await asyncio.to_thread(
        lambda: services.jobs.create(JobCreate(notebook_path="parent.ipynb"), actor="alice")
    )
    done = await dataops_api.wait_for_job(parent.id)
    assert done["status"] == "completed", done["error"]
    output = (await dataops_api("GET", "jobs", parent.id, "output")).body.decode()
    assert "child alice completed" in output
    assert "store False" in output
    created = await asyncio.to_thread(lambda: _audit(dataops_server, action="job.create"))
    assert sorted(e.actor for e in created) == ["alice", "alice"]


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "dataops1.e30.AAAA",
        "",
    ],
)
async def test_bad_dataops_tokens_are_401_and_change_nothing(dataops_api, make_notebook, token):
    make_notebook("nb.ipynb", ["1"])
    header = {"Authorization": f"DataOps {token}"}
    response = await dataops_api("POST", "jobs", json={"notebook_path": "nb.ipynb"}, headers=header)
    if token:
        assert response.code == 401, response
        assert response.json()["error"] == "unauthorized"
    else:  # an empty credential is no credential at all
        assert response.code == 403, response
    assert (await dataops_api("GET", "jobs")).json()["total"] == 0


async def test_expired_tokens_and_tokens_of_another_server_are_refused(
    dataops_api, dataops_server, jp_serverapp, tmp_path
):
    kernel_id, _ = await start_kernel(jp_serverapp)
    try:
        signer = TokenSigner(load_secret(dataops_server.dataops.data_dir))
        expired = signer.mint("mallory", f"kernel:{kernel_id}", ttl=-1)
        foreign = TokenSigner(load_secret(tmp_path)).mint("mallory", f"kernel:{kernel_id}", ttl=60)
        unbound = signer.mint("mallory", "session:whatever", ttl=60)
        for token, words in ((expired, "expired"), (foreign, "not valid"), (unbound, "bound")):
            response = await dataops_api(
                "GET", "jobs", headers={"Authorization": f"DataOps {token}"}
            )
            assert response.code == 401, response
            assert words in response.json()["message"]
            assert "mallory" not in response.body.decode()
    finally:
        await jp_serverapp.kernel_manager.shutdown_kernel(kernel_id, now=True)


async def test_the_secret_is_readable_by_its_owner_only(dataops_server):
    import os
    import stat

    path = os.path.join(dataops_server.dataops.data_dir, "secret.key")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def _audit(extension: Any, *, action: str) -> list[Any]:
    with extension.services.ctx.store.unit_of_work() as uow:
        return [e for e in uow.audit.events() if e.action == action]
