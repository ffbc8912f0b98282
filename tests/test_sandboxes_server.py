"""Sandboxes through the running server (REST under /dataops/api/profiles and /sandboxes), end
to end: a sandbox started over REST, its kernel spec in the server's kernel picker, a kernel
started by the server's own kernel manager in it (its process checked for exactly the sandbox's
environment, limits and GPU), the events on the bus, and a stop that shuts that kernel down.
Every wait is bounded; nothing asserts on timing."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import psutil
import pytest

from jupyter_dataops.core.events import SANDBOX_EVENT_SCHEMA_ID

from .test_schedules_server import assert_error, wait_until

GPUS = [{"index": 0, "type": "t4"}, {"index": 1, "type": "t4"}]


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {
        **jp_server_config,
        "DataOps": {
            "gpu_inventory": GPUS,
            "sandbox_profiles": [
                {"name": "cpu", "cpus": "1", "memory": "1Gi"},
                {"name": "gpu", "cpus": "1", "memory": "2Gi", "gpus": 1, "gpu_type": "t4"},
            ],
            "sandbox_policy": {"gpus": {"max": 1}, "user_quota": {"sandboxes": 2}},
        },
        "DataOpsExtension": {"sandbox_interval": 0.5},
    }


@pytest.fixture
def sandbox_events(dataops_server: Any, jp_serverapp: Any) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        received.append(dict(data))

    jp_serverapp.event_logger.add_listener(schema_id=SANDBOX_EVENT_SCHEMA_ID, listener=listener)
    return received


async def test_start_use_and_stop_a_sandbox_through_the_api(
    dataops_api, jp_fetch, sandbox_events, dataops_server
):
    profiles = (await dataops_api("GET", "profiles")).json()
    assert [p["profile"]["name"] for p in profiles["items"]] == ["cpu", "gpu"]
    assert profiles["gpu_inventory_source"] == "configuration"

    # Bad requests are refused with the limit and by how much; nothing starts.
    over = await dataops_api("POST", "sandboxes", json={"profile": "gpu", "gpus": 2})
    assert_error(over, 403, "policy_violation", "gpus 2 is over the policy's maximum of 1 by 1")
    spelled = await dataops_api("POST", "sandboxes", json={"profile": "cpu", "memory": "32GB"})
    assert_error(spelled, 400, "invalid_input", "Did you mean 32G")
    unknown = await dataops_api("POST", "sandboxes", json={"profile": "huge"})
    assert_error(unknown, 404, "not_found", "No sandbox profile named 'huge'")
    foreign = await dataops_api("POST", "sandboxes", json={"profile": "cpu", "cores": 4})
    assert_error(foreign, 400, "invalid_input", "cores")
    assert (await dataops_api("GET", "sandboxes")).json() == {"items": [], "total": 0}

    made = await dataops_api("POST", "sandboxes", json={"profile": "gpu"})
    assert made.code == 202, made.body
    sandbox = made.json()
    assert made.headers["Location"].endswith(f"/dataops/api/sandboxes/{sandbox['id']}")

    async def ready() -> Any:
        found = (await dataops_api("GET", "sandboxes", sandbox["id"])).json()
        return found if found["status"] == "ready" else None

    sandbox = await wait_until("the sandbox to be ready", ready, timeout=120)
    assert [d["index"] for d in sandbox["devices"]] == [0]
    await wait_until(
        "the ready event",
        lambda: any(
            e["id"] == sandbox["id"] and e.get("status") == "ready" for e in sandbox_events
        ),
    )

    # In the server's kernel picker, and a kernel started by the server runs inside it.
    specs = (await jp_fetch("api", "kernelspecs", method="GET")).body
    assert sandbox["kernel_name"].encode() in specs
    started = await jp_fetch(
        "api", "kernels", method="POST", body=f'{{"name": "{sandbox["kernel_name"]}"}}'
    )
    kernel_id = json.loads(started.body)["id"]

    async def recorded() -> Any:
        found = (await dataops_api("GET", "sandboxes", sandbox["id"])).json()
        return found["kernels"] or None

    (kernel,) = await wait_until("the kernel to be recorded", recorded, timeout=60)
    assert kernel["id"] == kernel_id
    process = psutil.Process(kernel["pid"])
    environ = process.environ()
    assert environ["CUDA_VISIBLE_DEVICES"] == "0" and environ["DATAOPS_SANDBOX"] == sandbox["id"]
    if sandbox["limits"]["method"] == "rlimits":
        assert process.rlimit(psutil.RLIMIT_DATA)[0] == 2 * 2**30
        assert len(process.cpu_affinity()) == 1

    stopped = await dataops_api("POST", "sandboxes", sandbox["id"], "stop", json={})
    assert stopped.code == 200 and stopped.json()["status"] == "stopped"
    kernels = json.loads((await jp_fetch("api", "kernels", method="GET")).body)
    assert kernel_id not in [k["id"] for k in kernels]
    specs = (await jp_fetch("api", "kernelspecs", method="GET")).body
    assert sandbox["kernel_name"].encode() not in specs
    assert (
        not psutil.pid_exists(kernel["pid"]) or psutil.Process(kernel["pid"]).status() == "zombie"
    )
    await wait_until(
        "the stopped event",
        lambda: any(
            e["id"] == sandbox["id"] and e.get("status") == "stopped" for e in sandbox_events
        ),
    )
    # Its GPU is free again.
    profiles = (await dataops_api("GET", "profiles")).json()
    assert profiles["items"][1]["gpus_free"] == 2
    missing = await dataops_api("GET", "sandboxes", "ffffffffffff")
    assert_error(missing, 404, "not_found", "No sandbox with id")


async def test_the_server_reattaches_sandboxes_after_a_restart(
    dataops_api, dataops_server, jp_asyncio_loop
):
    made = await dataops_api("POST", "sandboxes", json={"profile": "cpu", "wait": True})
    assert made.code == 201 and made.json()["status"] == "ready"
    sandbox = made.json()
    # The extension stops and starts again (as a server restart does): the sandbox is found
    # ready (its files are there) and kept.
    await dataops_server.stop_extension()
    await dataops_server._start_jupyter_server_extension(dataops_server.serverapp)
    found = (await dataops_api("GET", "sandboxes", sandbox["id"])).json()
    assert found["status"] == "ready" and found["kernel_name"] == sandbox["kernel_name"]
    # Its files go while the server is down: the next look stops it and says why.
    os.unlink(Path(dataops_server.dataops.data_dir) / "sandboxes" / sandbox["id"] / "launch.json")

    async def stopped() -> Any:
        now = (await dataops_api("GET", "sandboxes", sandbox["id"])).json()
        return now if now["status"] == "stopped" else None

    gone = await wait_until("the sandbox to be stopped", stopped, timeout=60)
    assert "files or kernel spec are gone" in gone["stop_reason"]


async def test_the_magic_starts_and_stops_a_sandbox_through_the_server(
    dataops_api, dataops_server, jp_serverapp
):
    from .test_server_identity import in_own_thread, run_in_kernel, start_kernel

    kernel_id, km = await start_kernel(jp_serverapp)
    try:
        refused = await in_own_thread(
            run_in_kernel,
            km,
            "%load_ext jupyter_dataops\n%dataops sandboxes start gpu --memory 32GB",
        )
        code = (
            "import json\n"
            "sb = %dataops sandboxes start gpu\n"
            "%dataops sandboxes stop {sb.id}\n"
            "print(json.dumps({'id': sb.id, 'status': sb.status.value,"
            " 'gpus': [d.index for d in sb.devices]}))"
        )
        printed = await in_own_thread(run_in_kernel, km, code)
    finally:
        await jp_serverapp.kernel_manager.shutdown_kernel(kernel_id, now=True)
    assert "Did you mean 32G" in refused  # the bad size, told in the notebook; nothing started
    assert "dataops: kernel spec done" in printed  # the steps, as they went (stderr)
    seen = json.loads(next(line for line in printed.splitlines() if line.startswith("{")))
    assert seen["status"] == "ready" and seen["gpus"] == [0]
    found = (await dataops_api("GET", "sandboxes", seen["id"])).json()
    assert found["status"] == "stopped" and found["owner"]
    assert (await dataops_api("GET", "sandboxes")).json()["total"] == 1


async def test_a_job_on_a_profile_runs_in_its_own_sandbox_which_ends_with_it(
    dataops_api, dataops_server, make_notebook
):
    make_notebook("gpu.ipynb", ["import os\nprint('GPUS=' + os.environ['CUDA_VISIBLE_DEVICES'])"])
    refused = await dataops_api(
        "POST",
        "jobs",
        json={"notebook_path": "gpu.ipynb", "profile": "gpu", "kernel_name": "python3"},
    )
    assert_error(refused, 400, "invalid_input", "not several")
    made = await dataops_api("POST", "jobs", json={"notebook_path": "gpu.ipynb", "profile": "gpu"})
    assert made.code == 201, made.body
    job = made.json()
    assert job["kernel_name"].startswith("dataops-sandbox-")

    async def its_sandbox() -> Any:
        items = (await dataops_api("GET", "sandboxes")).json()["items"]
        found = [s for s in items if s["job_id"] == job["id"]]
        return found[0] if found and found[0]["status"] == "stopped" else None

    # The job runs; once it has ended the server stops its sandbox and frees the GPU.
    sandbox = await wait_until("the job's sandbox to stop", its_sandbox, timeout=120)
    assert f"its job {job['id']} ended (completed)" == sandbox["stop_reason"]
    done = (await dataops_api("GET", "jobs", job["id"])).json()
    assert done["status"] == "completed" and done["usage"]["gpu_seconds"] > 0
