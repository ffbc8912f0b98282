"""Sandboxes through the core and the local provider, on real parts: a real store, real kernels
started by jupyter_client from the sandbox's kernel spec (through the ``dataops-sandbox``
provisioner), and a configured inventory of fake GPUs. What a kernel sees (its environment, its
limits, its CPUs) is read inside the kernel. Every wait is bounded; nothing asserts on timing."""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_dataops.backends.sandbox_files import KERNEL_PREFIX
from jupyter_dataops.core.config import DataOps
from jupyter_dataops.core.errors import Conflict, InvalidInput, NotFound, PolicyViolation
from jupyter_dataops.core.sandboxes import quantities
from jupyter_dataops.core.sandboxes.models import SandboxCreate
from jupyter_dataops.services import Services

from .notebooks import write_notebook
from .schedule_helpers import wait_for
from .test_schedules import Clock

GPUS = [
    {"index": 0, "type": "t4", "memory": "16Gi"},
    {"index": 1, "type": "t4", "memory": "16Gi"},
    {"index": 2, "type": "a100", "memory": "40Gi"},
]
PROFILES = [
    {"name": "cpu", "description": "No GPU", "cpus": "1", "memory": "1Gi", "idle_timeout": 600},
    {
        "name": "gpu-small",
        "cpus": "1",
        "memory": "2Gi",
        "gpus": 1,
        "gpu_type": "t4",
        "env": {"HF_HOME": "/tmp/hf"},
        "secrets": {"API_TOKEN": "env:DATAOPS_TEST_SECRET"},
    },
    {"name": "big-a100", "cpus": "1", "memory": "2Gi", "gpus": 1, "gpu_type": "a100"},
    {"name": "in-image", "cpus": "1", "memory": "1Gi", "image": "ghcr.io/acme/torch:2.3"},
]
POLICY = {
    "memory": {"max": "4Gi"},
    "gpus": {"max": 2},
    "gpu_types": ["t4"],
    "idle_timeout": {"max": 7200},
    "overridable": ["memory", "gpus", "gpu_type", "idle_timeout"],
    "user_quota": {"sandboxes": 3, "gpus": 2, "gpu_hours_per_day": 8},
}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Services]]:
    """``make(**settings)``: services on one store in ``tmp_path``, as the server would build
    them (each call another process's view: its own connection)."""
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    monkeypatch.setenv("DATAOPS_TEST_SECRET", "s3cret-value")
    (tmp_path / "root").mkdir()
    made: list[Services] = []

    def make(**settings: Any) -> Services:
        dataops = DataOps(root_dir=str(tmp_path / "root"), data_dir=str(tmp_path / "data"))
        dataops.gpu_inventory = settings.pop("gpu_inventory", GPUS)
        dataops.sandbox_profiles = settings.pop("profiles", PROFILES)
        dataops.sandbox_policy = settings.pop("policy", POLICY)
        for key, value in settings.items():
            setattr(dataops, key, value)
        services = Services.from_config(dataops, actor="alice")
        made.append(services)
        return services

    yield make
    from .conftest import stop_local_worker

    for services in made:
        for sandbox in services.sandboxes.list().items:
            if sandbox.status.active:
                services.sandboxes.stop(sandbox.id)
    if made:  # a job or a schedule woke the store's worker: it goes with the test
        stop_local_worker(made[0].supervisor)
    for services in made:
        services.close()


def start_kernel(kernel_name: str) -> tuple[Any, Any]:
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc


def run(kc: Any, code: str) -> Any:
    """Run ``code`` in the kernel; the value of its last line, read back as JSON."""
    out: list[str] = []
    reply = kc.execute_interactive(
        f"import json as _j\n_v = ({code})\nprint(_j.dumps(_v))",
        timeout=60,
        output_hook=lambda m: (
            out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None
        ),
    )
    assert reply["content"]["status"] == "ok", reply["content"]
    return json.loads("".join(out).strip().splitlines()[-1])


def stop_kernel(km: Any, kc: Any) -> None:
    kc.stop_channels()
    if km.is_alive():
        km.shutdown_kernel(now=True)


# -- quantities ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("32Gi", 32 * 2**30),
        ("32G", 32 * 10**9),
        ("1.5Gi", 3 * 2**29),
        ("512Mi", 2**29),
        ("1e9", 10**9),
        (1024, 1024),
        ("128974848", 128974848),
        ("1k", 1000),
    ],
)
def test_memory_quantities(text: Any, expected: int) -> None:
    assert quantities.parse_memory(text) == expected


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("32GB", "Did you mean 32G (32×10^9 bytes) or 32Gi (32×2^30 bytes)?"),
        ("32gb", "Did you mean 32G"),
        ("32 Gi", "Did you mean 32Gi?"),
        ("16gib", "Did you mean 16Gi?"),
        ("500m", "thousandths of a byte"),
        ("-1Gi", "more than zero"),
        ("0", "more than zero"),
        ("lots", "a number with a suffix"),
        ("1e30", "absurdly large"),
        (True, "is not bytes"),
    ],
)
def test_sizes_that_are_not_quantities_are_refused_with_the_spelling_meant(
    text: Any, said: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        quantities.parse_memory(text)
    assert said in str(caught.value)


def test_cpu_quantities() -> None:
    assert quantities.parse_cpus("500m") == 0.5
    assert quantities.parse_cpus("2") == 2.0
    assert quantities.format_cpus(0.25) == "250m" and quantities.format_memory(32 * 2**30) == "32Gi"
    for bad in ("two", "-1", "0.0001", "1e9"):
        with pytest.raises(InvalidInput):
            quantities.parse_cpus(bad)


# -- profiles and policy ------------------------------------------------------------------------
def test_embedded_defaults_offer_one_profile_for_this_machine(env) -> None:
    services = env(profiles=[], policy={}, gpu_inventory="none")
    found = services.sandboxes.profiles("alice")
    (view,) = found.items
    assert view.profile.name == "local" and view.available and view.profile.gpus == 0
    assert view.profile.cpus == len(os.sched_getaffinity(0))
    gpus = next(f for f in view.fields if f.field == "gpus")
    assert not gpus.overridable and gpus.reason == "the policy allows no GPUs"
    assert found.limits_method in ("rlimits", "cgroup v2")


def test_profiles_show_limits_quotas_and_why_one_cannot_start(env) -> None:
    services = env()
    found = services.sandboxes.profiles("alice")
    views = {v.profile.name: v for v in found.items}
    assert views["gpu-small"].available and views["gpu-small"].gpus_free == 2
    assert not views["in-image"].available and views["in-image"].where == "cluster"
    assert "no container engine" in (views["in-image"].reason or "")
    # The profile itself asks for a GPU type the policy does not allow.
    assert not views["big-a100"].available and "GPU type a100 is not allowed" in (
        views["big-a100"].reason or ""
    )
    cpus = next(f for f in views["cpu"].fields if f.field == "cpus")
    assert not cpus.overridable and "does not let users change it" in (cpus.reason or "")
    memory = next(f for f in views["cpu"].fields if f.field == "memory")
    assert memory.overridable and memory.max == 4 * 2**30
    assert views["cpu"].quotas["gpus"].limit == 2 and views["cpu"].quotas["gpus"].used == 0
    assert [d.index for d in found.gpu_inventory] == [0, 1, 2]
    assert found.gpu_inventory_source == "configuration"


@pytest.mark.parametrize(
    ("request_fields", "error", "said"),
    [
        (
            {"profile": "gpu-small", "gpus": 3},
            PolicyViolation,
            "gpus 3 is over the policy's maximum of 2 by 1",
        ),
        (
            {"profile": "gpu-small", "gpu_type": "h100"},
            PolicyViolation,
            "GPU type h100 is not allowed; the policy allows t4",
        ),
        (
            {"profile": "cpu", "memory": "64Gi"},
            PolicyViolation,
            "memory 64Gi is over the policy's maximum of 4Gi by 60Gi",
        ),
        ({"profile": "cpu", "memory": "32GB"}, InvalidInput, "Did you mean 32G"),
        (
            {"profile": "cpu", "cpus": "2"},
            PolicyViolation,
            "cpus may not be changed from the profile's 1",
        ),
        (
            {"profile": "cpu", "idle_timeout": 99999},
            PolicyViolation,
            "idle_timeout 99999 s is over the policy's maximum of 7200 s",
        ),
        ({"profile": "cpu", "gpus": -1}, InvalidInput, "gpus -1 is negative"),
        ({"profile": "cpu", "gpus": 10**6}, InvalidInput, "is absurd"),
        ({"profile": "cpu", "memory": "-5Gi"}, InvalidInput, "more than zero"),
        ({"profile": "cpu", "idle_timeout": -3}, InvalidInput, "not a number of seconds"),
        ({"profile": "cpu", "idle_timeout": 1e12}, InvalidInput, "more than a year"),
        (
            {"profile": "nope"},
            NotFound,
            "No sandbox profile named 'nope' (there are: cpu, gpu-small, big-a100, in-image)",
        ),
        ({"profile": "in-image"}, Conflict, "no container engine"),
        ({"profile": "big-a100"}, PolicyViolation, "GPU type a100 is not allowed"),
    ],
)
def test_a_corpus_of_bad_requests_is_refused_naming_the_limit_and_starts_nothing(
    env, request_fields: dict[str, Any], error: type[Exception], said: str
) -> None:
    services = env()
    with pytest.raises(error) as caught:
        services.sandboxes.start(SandboxCreate(**request_fields), actor="alice")
    assert said in str(caught.value)
    assert services.sandboxes.list().total == 0
    assert not list((Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels").glob(f"{KERNEL_PREFIX}*"))


def test_quotas_are_named_with_what_is_held(env) -> None:
    services = env(policy={**POLICY, "user_quota": {"sandboxes": 1, "gpus": 2}})
    first = services.sandboxes.start(SandboxCreate(profile="cpu", wait=True), actor="alice")
    with pytest.raises(PolicyViolation) as caught:
        services.sandboxes.start(SandboxCreate(profile="cpu"), actor="alice")
    assert "User alice's quota of 1 sandbox(es) at once would be exceeded by 1" in str(caught.value)
    assert first.id in str(caught.value)
    # Another user has their own quota.
    other = services.sandboxes.start(SandboxCreate(profile="cpu", wait=True), actor="bob")
    assert other.status.value == "ready"


def test_gpu_hours_per_day_and_team_quotas(env) -> None:
    policy = {
        **POLICY,
        "user_quota": {"gpu_hours_per_day": 1},
        "team_quotas": {"vision": {"gpus": 1}},
        "teams": {"vision": ["alice", "bob"]},
    }
    services = env(policy=policy)
    clock = Clock(services.ctx.clock.time())
    services.sandboxes.ctx = dataclasses.replace(services.ctx, clock=clock)
    held = services.sandboxes.start(SandboxCreate(profile="gpu-small", wait=True), actor="alice")
    assert held.team == "vision"
    with pytest.raises(PolicyViolation) as caught:
        services.sandboxes.start(SandboxCreate(profile="gpu-small"), actor="bob")
    assert "Team vision's quota of 1 GPU(s) would be exceeded by 1" in str(caught.value)
    clock.now += 2 * 3600  # two GPU-hours later (same UTC day or not, the hours were used)
    services.sandboxes.stop(held.id)
    if quantities_day(clock.now) == quantities_day(held.created_at):
        with pytest.raises(PolicyViolation) as caught:
            services.sandboxes.start(SandboxCreate(profile="gpu-small"), actor="alice")
        assert "quota of 1 GPU-hours per day is used up" in str(caught.value)
    stopped = services.sandboxes.get(held.id)
    assert stopped.usage.gpu_seconds == pytest.approx(2 * 3600, abs=5)


def quantities_day(at: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(at, dt.timezone.utc).date().isoformat()


# -- what a kernel sees -------------------------------------------------------------------------
def test_a_sandbox_kernel_runs_with_exactly_its_environment_limits_and_gpus(env, tmp_path) -> None:
    data = tmp_path / "root" / "data" / "train"
    data.mkdir(parents=True)
    (data / "rows.csv").write_text("a,b\n1,2\n")
    profiles = [{**PROFILES[1], "data": ["data/train"]}, PROFILES[0]]
    services = env(profiles=profiles)
    gpu = services.sandboxes.start(SandboxCreate(profile="gpu-small", wait=True), actor="alice")
    assert gpu.status.value == "ready", gpu.error
    assert [d.index for d in gpu.devices] == [0]
    assert [s.status for s in gpu.steps] == ["done", "skipped", "skipped", "done", "done", "done"]
    assert gpu.kernel_name == f"{KERNEL_PREFIX}{gpu.id}"
    assert "API_TOKEN" not in gpu.env  # secrets are resolved at launch, never stored or shown
    cpu = services.sandboxes.start(
        SandboxCreate(profile="cpu", memory="512Mi", wait=True), actor="alice"
    )

    km, kc = start_kernel(gpu.kernel_name)
    try:
        seen = run(
            kc,
            "{k: __import__('os').environ.get(k) for k in ('CUDA_VISIBLE_DEVICES', 'DATAOPS_SANDBOX', "
            "'HF_HOME', 'API_TOKEN', 'OMP_NUM_THREADS')}",
        )
        assert seen == {
            "CUDA_VISIBLE_DEVICES": "0",
            "DATAOPS_SANDBOX": gpu.id,
            "HF_HOME": "/tmp/hf",
            "API_TOKEN": "s3cret-value",
            "OMP_NUM_THREADS": "1",
        }
        assert run(
            kc, "__import__('resource').getrlimit(__import__('resource').RLIMIT_DATA)[0]"
        ) in (
            2 * 2**30,
            resource.RLIM_INFINITY,  # cgroup v2 machines limit through the group instead
        )
        if gpu.limits and gpu.limits.method == "rlimits":
            assert run(kc, "len(__import__('os').sched_getaffinity(0))") == 1
        assert (
            run(
                kc,
                "open(__import__('os').environ['DATAOPS_SANDBOX_DIR'] + '/data/train/rows.csv').read()",
            )
            == "a,b\n1,2\n"
        )
    finally:
        stop_kernel(km, kc)

    km, kc = start_kernel(cpu.kernel_name)
    try:
        assert run(kc, "__import__('os').environ['CUDA_VISIBLE_DEVICES']") == ""  # no GPU at all
        if cpu.limits and cpu.limits.method == "rlimits":
            code = "(lambda: (bytearray(1024 * 2**20), 'allocated')[1])"
            refused = kc.execute_interactive(f"{code}()", timeout=60)
            assert refused["content"]["status"] == "error"
            assert refused["content"]["ename"] == "MemoryError"
            assert run(kc, "1 + 1") == 2  # the kernel lives on
    finally:
        stop_kernel(km, kc)


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together; each one's result, or what it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run_one(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = calls[i]()
        except Exception as exc:  # the test sorts them
            results[i] = exc

    threads = [threading.Thread(target=run_one, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_no_gpu_is_ever_given_to_two_sandboxes_under_concurrent_requests(env) -> None:
    env()  # migrates the store once
    views = [env() for _ in range(6)]
    results = at_once(
        [
            lambda i=i, v=v: v.sandboxes.start(
                SandboxCreate(profile="gpu-small", wait=True), actor=f"user{i}"
            )
            for i, v in enumerate(views)
        ]
    )
    started = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(started) == 2, results
    assert sorted(d.index for s in started for d in s.devices) == [0, 1]
    assert all(
        isinstance(r, Conflict) and "1 GPU(s) of type t4 asked, 0 free" in str(r) for r in refused
    )


def test_one_users_quota_holds_under_concurrent_requests(env) -> None:
    env(policy={**POLICY, "user_quota": {"gpus": 1}})
    views = [env(policy={**POLICY, "user_quota": {"gpus": 1}}) for _ in range(4)]
    results = at_once(
        [
            lambda v=v: v.sandboxes.start(SandboxCreate(profile="gpu-small"), actor="alice")
            for v in views
        ]
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert all(
        "User alice's quota of 1 GPU(s) would be exceeded by 1" in str(r)
        for r in results
        if isinstance(r, Exception)
    )


def test_a_killed_kernel_is_told_with_its_cause(env) -> None:
    services = env()
    sandbox = services.sandboxes.start(SandboxCreate(profile="cpu", wait=True), actor="alice")
    km, kc = start_kernel(sandbox.kernel_name)
    try:
        pid = km.provisioner.pid
        services.sandboxes.reconcile()
        assert [k.pid for k in services.sandboxes.get(sandbox.id).kernels] == [pid]
        os.kill(pid, signal.SIGKILL)
        wait_for("the kernel to die", lambda: not km.is_alive(), timeout=30)
        services.sandboxes.reconcile()
        found = services.sandboxes.get(sandbox.id)
        (kernel,) = found.kernels
        assert kernel.exit == "killed by signal 9 (SIGKILL); out of memory?"
        assert found.error and "killed by signal 9" in found.error
        assert found.status.value == "ready"  # the sandbox lives on; a new kernel may start
    finally:
        stop_kernel(km, kc)


def test_a_kernel_cannot_start_in_a_stopped_sandbox(env) -> None:
    services = env()
    sandbox = services.sandboxes.start(SandboxCreate(profile="cpu", wait=True), actor="alice")
    from jupyter_client.kernelspec import KernelSpecManager

    assert sandbox.kernel_name in KernelSpecManager().find_kernel_specs()
    km, kc = start_kernel(sandbox.kernel_name)
    pid = km.provisioner.pid
    stopped = services.sandboxes.stop(sandbox.id, actor="alice")
    assert stopped.status.value == "stopped" and stopped.stop_reason == "stopped by alice"
    wait_for("the kernel to end", lambda: not km.is_alive(), timeout=30)
    assert not Path(f"/proc/{pid}").exists() or _zombie(pid)
    assert sandbox.kernel_name not in KernelSpecManager().find_kernel_specs()
    with pytest.raises(Exception, match="This sandbox has been stopped"):
        km.start_kernel()
    kc.stop_channels()


def _zombie(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


# -- idle, lifetime and restarts ----------------------------------------------------------------
def test_an_idle_sandbox_is_warned_then_stopped(env) -> None:
    services = env(sandbox_warn_before=300.0)
    clock = Clock(services.ctx.clock.time())
    services.sandboxes.ctx = dataclasses.replace(services.ctx, clock=clock)
    sandbox = services.sandboxes.start(
        SandboxCreate(profile="cpu", idle_timeout=1200, wait=True), actor="alice"
    )
    clock.now += 600
    services.sandboxes.reconcile()
    assert services.sandboxes.get(sandbox.id).warning is None
    clock.now += 400  # 200 s before the idle stop
    services.sandboxes.reconcile()
    warned = services.sandboxes.get(sandbox.id)
    assert warned.warning and "it stops at" in warned.warning and warned.status.value == "ready"
    # Activity (a kernel the server saw busy) clears the warning and moves the stop.
    services.sandboxes.touch(sandbox.id, clock.now)
    assert services.sandboxes.get(sandbox.id).warning is None
    clock.now += 1201
    services.sandboxes.reconcile()
    stopped = services.sandboxes.get(sandbox.id)
    assert stopped.status.value == "stopped" and stopped.stop_reason == "idle for 1200 s"


def test_a_sandbox_past_its_lifetime_is_stopped(env) -> None:
    services = env(policy={**POLICY, "overridable": [*POLICY["overridable"], "max_lifetime"]})
    clock = Clock(services.ctx.clock.time())
    services.sandboxes.ctx = dataclasses.replace(services.ctx, clock=clock)
    sandbox = services.sandboxes.start(
        SandboxCreate(profile="gpu-small", max_lifetime=3600, wait=True), actor="alice"
    )
    assert sandbox.expires_at == pytest.approx(sandbox.created_at + 3600)
    clock.now += 3400  # 200 s before its end: its owner is told, busy or not
    services.sandboxes.touch(sandbox.id, clock.now)
    services.sandboxes.reconcile()
    warned = services.sandboxes.get(sandbox.id)
    assert warned.status.value == "ready" and "Its lifetime ends at" in (warned.warning or "")
    clock.now += 201
    services.sandboxes.touch(sandbox.id, clock.now)  # busy or not, the lifetime ends
    services.sandboxes.reconcile()
    stopped = services.sandboxes.get(sandbox.id)
    assert stopped.status.value == "stopped" and "lifetime of 3600 s ended" in (
        stopped.stop_reason or ""
    )
    again = services.sandboxes.start(SandboxCreate(profile="gpu-small", wait=True), actor="alice")
    assert [d.index for d in again.devices] == [0]  # its GPU is free again


def test_a_restart_reattaches_ready_sandboxes_and_releases_the_others_once(env) -> None:
    services = env()
    kept = services.sandboxes.start(SandboxCreate(profile="gpu-small", wait=True), actor="alice")
    lost = services.sandboxes.start(SandboxCreate(profile="gpu-small", wait=True), actor="alice")
    km, kc = start_kernel(kept.kernel_name)
    try:
        # The server goes away; lost's files with it. A provisioning interrupted by the crash:
        provider = services.sandboxes.provider
        provider.launch_file(lost.id).unlink()
        with services.ctx.store.unit_of_work() as uow:
            uow.sandboxes.insert(
                **{
                    **_row(uow, kept.id),
                    "id": "deadbeef0001",
                    "status": "provisioning",
                    "devices": [{"index": 2, "type": "a100"}],
                    "holder": f"{socket.gethostname()}:999999",  # a process that is gone
                    "kernel_name": None,
                }
            )
            uow.commit()
        # Two servers come back at once: each settles what it finds; devices are released once.
        first, second = env(), env()
        at_once([first.sandboxes.reconcile, second.sandboxes.reconcile])
        assert services.sandboxes.get(kept.id).status.value == "ready"
        assert [k.pid for k in services.sandboxes.get(kept.id).kernels] == [km.provisioner.pid]
        gone = services.sandboxes.get(lost.id)
        assert gone.status.value == "stopped" and "files or kernel spec are gone" in (
            gone.stop_reason or ""
        )
        failed = services.sandboxes.get("deadbeef0001")
        assert failed.status.value == "failed" and "interrupted" in (failed.error or "")
        releases = _audit(services, "sandbox.release")
        assert sorted(e.target_id for e in releases) == sorted([lost.id, "deadbeef0001"])
        # Their GPUs are free again: the next two requests get GPU 1 and the a100 is free.
        again = services.sandboxes.start(
            SandboxCreate(profile="gpu-small", wait=True), actor="alice"
        )
        assert [d.index for d in again.devices] == [1]
    finally:
        stop_kernel(km, kc)


def _row(uow: Any, sandbox_id: str) -> dict[str, Any]:
    return dict(uow.sandboxes.get(sandbox_id)._mapping)


def _audit(services: Services, action: str) -> list[Any]:
    with services.ctx.store.unit_of_work(read_only=True) as uow:
        return [e for e in uow.audit.events() if e.action == action]


# -- provisioning ---------------------------------------------------------------------------------
def _wheel(folder: Path) -> Path:
    """A tiny wheel made here (pip installs it without reaching any index)."""
    path = folder / "dataops_tinypkg-1.0-py3-none-any.whl"
    files = {
        "dataops_tinypkg/__init__.py": "ANSWER = 42\n",
        "dataops_tinypkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: dataops-tinypkg\nVersion: 1.0\n",
        "dataops_tinypkg-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in files) + "dataops_tinypkg-1.0.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
        z.writestr("dataops_tinypkg-1.0.dist-info/RECORD", record)
    return path


def test_missing_packages_are_installed_for_the_sandbox_only(env, tmp_path) -> None:
    wheel = _wheel(tmp_path)
    profiles = [
        {
            "name": "pkgs",
            "cpus": "1",
            "memory": "2Gi",
            "packages": ["pyyaml>=5", str(wheel)],
            "tools": ["sh"],
        }
    ]
    services = env(profiles=profiles, policy={})
    sandbox = services.sandboxes.start(SandboxCreate(profile="pkgs", wait=True), actor="alice")
    assert sandbox.status.value == "ready", sandbox.error
    steps = {s.name: s for s in sandbox.steps}
    assert steps["packages"].status == "done" and str(wheel) in (steps["packages"].detail or "")
    assert steps["tools"].detail == "sh"
    km, kc = start_kernel(sandbox.kernel_name)
    try:
        assert run(kc, "__import__('dataops_tinypkg').ANSWER") == 42
    finally:
        stop_kernel(km, kc)
    probe = subprocess.run([sys.executable, "-c", "import dataops_tinypkg"], capture_output=True)
    assert probe.returncode != 0  # not installed in the environment itself


@pytest.mark.parametrize(
    ("profile", "said"),
    [
        (
            {"environment": "/nonexistent/env"},
            "neither a Python interpreter nor an environment's folder",
        ),
        ({"tools": ["no-such-tool-xyz"]}, "needs no-such-tool-xyz on PATH"),
        ({"data": ["no/such/folder"]}, "The profile's data 'no/such/folder' does not exist"),
        ({"packages": ["/nonexistent/pkg.whl"]}, "Installing /nonexistent/pkg.whl failed"),
        ({"secrets": {"X": "vault:abc"}}, "neither env:VARIABLE nor file:PATH"),
    ],
)
def test_a_failed_provisioning_is_told_and_holds_nothing(env, profile, said) -> None:
    profiles = [
        {"name": "broken", "cpus": "1", "memory": "1Gi", "gpus": 1, "gpu_type": "t4", **profile}
    ]
    services = env(profiles=profiles, policy={})
    try:
        sandbox = services.sandboxes.start(
            SandboxCreate(profile="broken", wait=True), actor="alice"
        )
    except InvalidInput as exc:  # an operator's mistake in the profile itself
        assert said in str(exc)
        return
    assert sandbox.status.value == "failed" and said in (sandbox.error or ""), sandbox.error
    assert (
        any(s.status == "running" or s.status == "failed" for s in sandbox.steps) or sandbox.error
    )
    assert not services.sandboxes.provider.exists(sandbox.id)
    assert _audit(services, "sandbox.release")  # its GPU went back
    assert services.sandboxes.profiles("alice").items[0].gpus_free == 2


# -- the CLI --------------------------------------------------------------------------------------
def test_the_cli_starts_lists_shows_and_stops(env, tmp_path) -> None:
    services = env()  # the store and settings the CLI will read
    config = tmp_path / "config"
    config.mkdir()
    (config / "jupyter_dataops_config.py").write_text(
        f"c.DataOps.data_dir = {str(tmp_path / 'data')!r}\n"
        f"c.DataOps.gpu_inventory = {GPUS!r}\n"
        f"c.DataOps.sandbox_profiles = {PROFILES!r}\n"
        f"c.DataOps.sandbox_policy = {POLICY!r}\n"
    )
    base = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_CONFIG_PATH": str(config)}

    def dataops(*words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jupyter_dataops.cli", *words],
            cwd=tmp_path / "root",
            env=base,
            capture_output=True,
            text=True,
            timeout=120,
        )

    listed = dataops("profiles", "list")
    assert listed.returncode == 0, listed.stderr
    assert "gpu-small" in listed.stdout and "no: it runs the image" in listed.stdout
    bad = dataops("sandboxes", "start", "cpu", "--memory", "32GB")
    assert bad.returncode == 2 and "Did you mean 32G" in bad.stderr
    over = dataops("sandboxes", "start", "gpu-small", "--gpus", "3")
    assert over.returncode == 6 and "over the policy's maximum of 2 by 1" in over.stderr
    started = dataops("sandboxes", "start", "gpu-small", "--json")
    assert started.returncode == 0, started.stderr
    sandbox = json.loads(started.stdout)
    assert sandbox["status"] == "ready" and sandbox["devices"][0]["index"] == 0
    assert "kernel spec done" in started.stderr  # the steps, as they went
    shown = dataops("sandboxes", "show", sandbox["id"][:6])
    assert shown.returncode == 0 and "pick it in the kernel picker" in shown.stdout
    table = dataops("sandboxes")
    assert sandbox["id"] in table.stdout and "GPU 0 (t4)" in table.stdout
    # A job runs in the sandbox through its kernel spec; its usage is recorded.
    write_notebook(
        tmp_path / "root" / "gpu.ipynb",
        ["import os\nprint('GPUS=' + os.environ['CUDA_VISIBLE_DEVICES'])\nsum(range(10**6))"],
    )
    ran = dataops("run", "gpu.ipynb", "--kernel-name", sandbox["kernel_name"], "--wait", "--json")
    assert ran.returncode == 0, ran.stderr
    job = json.loads(ran.stdout)
    assert job["status"] == "completed", job
    executed = json.loads((tmp_path / "root" / job["output_path"]).read_text())
    assert "GPUS=0" in json.dumps(executed["cells"][0]["outputs"])
    usage = job["usage"]
    assert usage["cpu_seconds"] > 0 and usage["peak_memory_bytes"] > 0
    assert usage["gpu_seconds"] == pytest.approx(usage["wall_seconds"], rel=0.01)
    assert "usage:" in dataops("jobs", "show", job["id"]).stdout
    # Exactly the job's kernel ran in it (the worker pools no spare kernels of a sandbox), and
    # its end is no crash.
    services.sandboxes.reconcile()  # what the server (or the worker) does every few seconds
    kernels = json.loads(dataops("sandboxes", "show", sandbox["id"], "--json").stdout)["kernels"]
    assert len(kernels) == 1 and kernels[0]["exit"] is None
    # A job on a profile gets a sandbox of its own, which ends with it.
    on_profile = dataops("run", "gpu.ipynb", "--profile", "gpu-small", "--wait", "--json")
    assert on_profile.returncode == 0, on_profile.stderr
    job = json.loads(on_profile.stdout)
    assert job["status"] == "completed" and job["kernel_name"].startswith(KERNEL_PREFIX)
    executed = json.loads((tmp_path / "root" / job["output_path"]).read_text())
    assert "GPUS=1" in json.dumps(executed["cells"][0]["outputs"])  # GPU 0 is the other's
    listed = json.loads(dataops("sandboxes", "--json").stdout)["items"]
    (its,) = [s for s in listed if s["job_id"] == job["id"]]
    assert its["status"] == "stopped" and its["profile"] == "gpu-small"
    # Its re-run gets a new sandbox of the same profile.
    again = dataops("jobs", "rerun", job["id"], "--wait", "--json")
    assert again.returncode == 0, again.stderr
    rerun = json.loads(again.stdout)
    assert (
        rerun["kernel_name"].startswith(KERNEL_PREFIX)
        and rerun["kernel_name"] != job["kernel_name"]
    )
    both = dataops("run", "gpu.ipynb", "--profile", "gpu-small", "--sandbox", sandbox["id"])
    assert (
        both.returncode == 2 and "give kernel_name, sandbox or profile, not several" in both.stderr
    )
    over = dataops("run", "gpu.ipynb", "--profile", "in-image")
    assert over.returncode == 4 and "no container engine" in over.stderr
    stopped = dataops("sandboxes", "stop", sandbox["id"], "--json")
    assert stopped.returncode == 0 and json.loads(stopped.stdout)["status"] == "stopped"
    missing = dataops("sandboxes", "show", "ffffffffffff")
    assert missing.returncode == 3 and "No sandbox with id" in missing.stderr
    in_stopped = dataops("run", "gpu.ipynb", "--sandbox", sandbox["id"])
    assert (
        in_stopped.returncode == 4
        and "is stopped: a job runs only in a ready sandbox" in in_stopped.stderr
    )
    subprocess.run(
        [sys.executable, "-m", "jupyter_dataops.cli", "worker", "stop"],
        cwd=tmp_path / "root",
        env=base,
        capture_output=True,
        timeout=60,
    )


def test_kernel_specs_left_by_sandboxes_that_are_gone_leave_the_picker(env, tmp_path) -> None:
    services = env()
    kernels = Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels"
    stale = kernels / f"{KERNEL_PREFIX}0123456789ab"
    stale.mkdir(parents=True)
    provisioner = {
        "provisioner_name": "dataops-sandbox",
        "config": {"sandbox_file": str(tmp_path / "gone.json")},
    }
    (stale / "kernel.json").write_text(
        json.dumps(
            {
                "argv": ["python"],
                "display_name": "old",
                "metadata": {"kernel_provisioner": provisioner},
            }
        )
    )
    foreign = kernels / f"{KERNEL_PREFIX}handmade"
    foreign.mkdir()
    (foreign / "kernel.json").write_text(json.dumps({"argv": ["python"], "display_name": "mine"}))
    live = services.sandboxes.start(SandboxCreate(profile="cpu", wait=True), actor="alice")
    done = services.sandboxes.reconcile()
    assert f"{KERNEL_PREFIX}0123456789ab: its sandbox is gone; kernel spec removed" in done
    assert not stale.exists() and foreign.exists()
    assert (kernels / live.kernel_name / "kernel.json").exists()


def test_with_cgroup_v2_a_sandbox_gets_its_group_and_an_oom_kill_is_told(env, tmp_path) -> None:
    """No machine here delegates cgroup v2, so the group is a folder that stands in for one:
    what is written there (limits, the kernel joining it) and what is read back (the OOM
    killer's count) is what the kernel would meet on a delegated cgroup v2 machine."""
    parent = tmp_path / "cgroup"
    parent.mkdir()
    services = env()
    services.sandboxes.provider.cgroup_parent = str(parent)
    assert services.sandboxes.provider.limits_method().method == "cgroup v2"
    sandbox = services.sandboxes.start(
        SandboxCreate(profile="cpu", memory="768Mi", wait=True), actor="alice"
    )
    group = parent / f"dataops-{sandbox.id}"
    assert sandbox.limits and sandbox.limits.method == "cgroup v2"
    assert (group / "memory.max").read_text() == str(768 * 2**20)
    assert (group / "cpu.max").read_text() == "100000 100000"
    km, kc = start_kernel(sandbox.kernel_name)
    try:
        pid = km.provisioner.pid
        assert (group / "cgroup.procs").read_text() == str(
            pid
        )  # joined before it became the kernel
        assert (
            run(kc, "__import__('resource').getrlimit(__import__('resource').RLIMIT_DATA)[0]")
            == resource.RLIM_INFINITY
        )
        os.kill(pid, signal.SIGKILL)
        (group / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
        wait_for("the kernel to die", lambda: not km.is_alive(), timeout=30)
    finally:
        stop_kernel(km, kc)
    services.sandboxes.reconcile()
    found = services.sandboxes.get(sandbox.id)
    (kernel,) = found.kernels
    assert kernel.oom and "out of memory (the out-of-memory killer ended it)" in (kernel.exit or "")
    assert "the sandbox's memory limit is 768Mi" in (found.error or "")


# -- schedules ------------------------------------------------------------------------------------
def test_a_schedule_runs_each_time_in_a_sandbox_of_its_profile(env, tmp_path) -> None:
    from jupyter_dataops.core.schedules.firing import ScheduleFirer
    from jupyter_dataops.core.schedules.models import ScheduleCreate, ScheduleRunNow

    from .conftest import stop_local_worker
    from .schedule_helpers import make_due, past_slot

    services = env()
    write_notebook(
        tmp_path / "root" / "gpu.ipynb",
        ["import os\nprint('GPUS=' + os.environ['CUDA_VISIBLE_DEVICES'])"],
    )
    due, cron = past_slot()
    with pytest.raises(InvalidInput, match="not several"):
        services.schedules.create(
            ScheduleCreate(
                notebook_path="gpu.ipynb", cron=cron, profile="cpu", kernel_name="python3"
            )
        )
    with pytest.raises(NotFound, match="No sandbox profile named 'huge'"):
        services.schedules.create(
            ScheduleCreate(notebook_path="gpu.ipynb", cron=cron, profile="huge")
        )
    made = services.schedules.create(
        ScheduleCreate(notebook_path="gpu.ipynb", cron=cron, profile="gpu-small"), actor="alice"
    )
    assert made.profile == "gpu-small" and made.kernel_name is None
    try:
        make_due(services.ctx.store, [made.id], due)
        ScheduleFirer(services.ctx, services.jobs, holder="test").tick()
        (run,) = services.jobs.list(_schedule_runs(made.id)).items
        assert run.kernel_name.startswith(KERNEL_PREFIX)
        (sandbox,) = [s for s in services.sandboxes.list().items if s.job_id == run.id]
        assert sandbox.owner == "alice" and [d.index for d in sandbox.devices] == [0]

        # The worker runs it; the supervisor's look at the sandboxes (the server makes one every
        # few seconds) stops the sandbox after the run.
        def stopped() -> bool:
            services.sandboxes.reconcile()
            return services.sandboxes.get(sandbox.id).status.value == "stopped"

        wait_for("the run's sandbox to stop", stopped, timeout=120, interval=0.5)
        done = services.jobs.get(run.id)
        assert done.status.value == "completed", done.error
        assert "GPUS=0" in (tmp_path / "root" / done.output_path).read_text()
        assert (
            services.sandboxes.get(sandbox.id).stop_reason == f"its job {run.id} ended (completed)"
        )

        # Run now, too, gets a sandbox of its own.
        now = services.schedules.run_now(made.id, ScheduleRunNow(), actor="alice")
        assert now.kernel_name.startswith(KERNEL_PREFIX) and now.kernel_name != run.kernel_name
    finally:
        stop_local_worker(services.supervisor)


def test_a_due_run_whose_sandbox_the_quota_refuses_is_missed_with_why(env, tmp_path) -> None:
    from jupyter_dataops.core.schedules.firing import ScheduleFirer
    from jupyter_dataops.core.schedules.models import ScheduleCreate

    from .schedule_helpers import firings, make_due, past_slot

    services = env(policy={**POLICY, "user_quota": {"gpus": 0}})
    write_notebook(tmp_path / "root" / "gpu.ipynb", ["print(1)"])
    due, cron = past_slot()
    made = services.schedules.create(
        ScheduleCreate(notebook_path="gpu.ipynb", cron=cron, profile="gpu-small"), actor="alice"
    )
    make_due(services.ctx.store, [made.id], due)
    ScheduleFirer(services.ctx, services.jobs, holder="test").tick()
    (firing,) = [f for f in firings(services.ctx.store) if f["schedule_id"] == made.id]
    assert firing["outcome"] == "missed" and firing["job_id"] is None
    assert "User alice's quota of 0 GPU(s) would be exceeded by 1" in firing["reason"]
    assert services.sandboxes.list().total == 0


def _schedule_runs(schedule_id: str) -> Any:
    from jupyter_dataops.core.jobs.models import JobQuery

    return JobQuery(schedule_id=schedule_id)


def test_a_sandbox_whose_provider_is_no_longer_offered_is_left_alone_and_said_once(
    env, caplog
) -> None:
    """An operator took a provider out of c.DataOps.sandbox_providers while one of its sandboxes
    ran: the server leaves it alone (nothing of it is stopped or released), warns once rather
    than at every reconcile, and a stop says how to bring the provider back."""
    import logging

    from jupyter_dataops.core.errors import BackendUnavailable

    services = env()
    kept = services.sandboxes.start(SandboxCreate(profile="cpu", wait=True), actor="alice")
    with services.ctx.store.unit_of_work() as uow:
        uow.sandboxes.insert(
            **{**_row(uow, kept.id), "id": "0rphan0000001", "provider": "gone-cluster"}
        )
        uow.commit()
    try:
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                services.sandboxes.reconcile()
        warned = [r for r in caplog.records if "0rphan0000001" in r.getMessage()]
        assert len(warned) == 1, [r.getMessage() for r in warned]
        assert "no longer offers" in warned[0].getMessage()
        assert services.sandboxes.get("0rphan0000001").status.value == "ready"
        assert services.sandboxes.get(kept.id).status.value == "ready"
        with pytest.raises(BackendUnavailable) as refused:
            services.sandboxes.stop("0rphan0000001")
        assert "c.DataOps.sandbox_providers" in (refused.value.hint or "")
        # Refused changing nothing: still ready, nothing released or audited as stopped.
        assert services.sandboxes.get("0rphan0000001").status.value == "ready"
        assert not _audit(services, "sandbox.release")
        assert not [e for e in _audit(services, "sandbox.stop") if e.target_id == "0rphan0000001"]
    finally:
        with services.ctx.store.unit_of_work() as uow:
            uow.sandboxes.update("0rphan0000001", status="stopped")
            uow.commit()
