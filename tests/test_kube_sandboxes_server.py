"""Kubernetes tier 2, through a running Jupyter server: a sandbox started over REST is a pod of
the validating in-memory API server (the test's kubelet runs it), its kernel spec is in the
server's kernel picker, and a kernel that the SERVER's kernel manager starts from it runs in the
pod with the server's ``%dataops`` identity: ``DATAOPS_SERVER_URL`` is ``c.Kubernetes.server_url``
(the server's Service, as pods reach it) and ``DATAOPS_TOKEN`` is bound to that kernel, so
``%dataops`` there acts through the server as the server's user. Without ``server_url`` the
kernel gets no identity. Every wait is bounded; nothing asserts on timing.

The pods' DNS: the kubelet's ``dns`` rewrites the strings of a Deployment pod's command and
environment, but a kernel in a sandbox pod gets the server's URL at run time, in the kernel
host's request. So the pods' Python processes here also get a resolver for the cluster's names
(a ``sitecustomize`` on their ``PYTHONPATH`` that maps exactly ``kubelet.dns``), as a cluster's
DNS would answer them.

Other tests make happen, every time, what once went wrong here: ``%dataops`` in a pod without
``server_url`` (refused, naming it), a server behind a base URL, a background reconcile that
races a stop, the kernel restarter that races a stop, and a kernel host that dies mid-answer."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from jupyter_dataops.backends.kubernetes import sandbox_objects as so

from .kube_cluster import NAMESPACE, emulated_cluster, wait_for
from .pg import postgres  # noqa: F401  (the session fixture)
from .test_schedules_server import wait_until
from .test_server_identity import _audit, in_own_thread, run_in_kernel

SERVICE = "jupyter.dataops.svc"
SERVER_URL = f"http://{SERVICE}:8888"
PROFILES = [{"name": "pod", "cpus": "1", "memory": "512Mi"}]
WAIT = 120.0  # a bound on waits (a pod's start, a job), not a performance claim
#: What the pods' resolver maps: {"host:port": "address:port"} (kubelet.dns), as JSON
POD_DNS_ENV = "TEST_POD_DNS"
SITECUSTOMIZE = f'''"""The cluster's DNS for the pods of tests/test_kube_sandboxes_server.py."""
import json as _json
import os as _os
import socket as _socket

_NAMES = _json.loads(_os.environ.get("{POD_DNS_ENV}") or "{{}}")
if _NAMES:
    _real_getaddrinfo = _socket.getaddrinfo

    def _getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        found = _NAMES.get(f"{{name}}:{{port}}")
        if found:
            host, _, port = found.rpartition(":")
            port = int(port)
        return _real_getaddrinfo(host, port, *args, **kwargs)

    _socket.getaddrinfo = _getaddrinfo
'''


class NotThroughTheServer(AssertionError):
    """``%dataops`` in the pod's kernel did not reach the server (a known product gap)."""


class NoFixNamed(AssertionError):
    """``%dataops`` in a pod's kernel without an identity did not fail naming the fix."""


# -- the cluster, the pods' DNS and the server ----------------------------------------------------
@pytest.fixture
def cluster() -> Iterator[tuple[Any, Any]]:
    """The emulator and its kubelet: up before the server's configuration needs its URL, down
    after the server (which stops its kernels through the pods' kernel hosts)."""
    with emulated_cluster() as (api, kubelet):
        yield api, kubelet


@pytest.fixture
def jp_base_url() -> str:
    """The server at the root of its Service's URL (a test with a base URL parametrizes it)."""
    return "/"


@pytest.fixture
def pod_dns(
    cluster: tuple[Any, Any],
    jp_environ: Any,
    jp_http_port: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """``jupyter.dataops.svc:8888`` is this test's server for the pods' processes (set after
    pytest-jupyter's PYTHONPATH, which the pods inherit); the URL pods reach it at."""
    _, kubelet = cluster
    kubelet.dns[f"{SERVICE}:8888"] = f"127.0.0.1:{jp_http_port}"
    folder = tmp_path / "pod-dns"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(folder), *([path] if path else [])]))
    monkeypatch.setenv(POD_DNS_ENV, json.dumps(kubelet.dns))
    return SERVER_URL


@pytest.fixture
def server_url(pod_dns: str) -> str:
    """c.Kubernetes.server_url (a test without one parametrizes it as "")."""
    return pod_dns


@pytest.fixture
def store_url(request: pytest.FixtureRequest) -> str:
    """c.DataOps.store_url: the default sqlite file, or (for a test that asks for
    ``postgres_store``) PostgreSQL, the store pods may use without c.Kubernetes.server_url."""
    if "postgres_store" in request.fixturenames:
        return str(request.getfixturevalue("postgres_store"))
    return ""


@pytest.fixture
def postgres_store(postgres: Any) -> str:  # noqa: F811
    return str(postgres.new_database())


@pytest.fixture
def autorestart() -> bool:
    """c.KernelManager.autorestart: off, so that the kernel restarter cannot race a sandbox's
    stop (test_a_kernel_the_restarter_saw_die_is_gone_after_the_stop turns it on)."""
    return False


@pytest.fixture
def jp_server_config(
    jp_server_config: dict[str, Any],
    cluster: tuple[Any, Any],
    server_url: str,
    store_url: str,
    autorestart: bool,
) -> dict[str, Any]:
    api, _ = cluster
    return {
        **jp_server_config,
        "KernelManager": {"autorestart": autorestart},
        "ServerApp": {
            **jp_server_config["ServerApp"],
            # The pods' kernels call the server by its Service's name (the Host header that a
            # server behind a Service gets).
            "local_hostnames": ["localhost", SERVICE],
        },
        "DataOps": {
            "sandbox_provider_class": "kubernetes",
            "sandbox_profiles": PROFILES,
            **({"store_url": store_url} if store_url else {}),
        },
        # The tests reconcile when they need to: a reconcile in the background during a stop
        # races it (see test_a_reconcile_during_a_stop_leaves_the_kernels_ended).
        "DataOpsExtension": {"sandbox_interval": 3600.0},
        "Kubernetes": {
            "api_url": api.url,
            "namespace": NAMESPACE,
            "sandbox_image": "dataops-notebook:test",
            "storage_class": "standard",
            **({"server_url": server_url} if server_url else {}),
        },
        # c.KubernetesSandboxProvider.kernels_dir stays its default: the kernels folder of the
        # Jupyter data dir, which the server's kernel spec manager searches (pytest-jupyter's).
    }


# -- helpers --------------------------------------------------------------------------------------
async def start_sandbox(dataops_api: Any) -> dict[str, Any]:
    """Start a sandbox of the profile over REST and wait until it is ready."""
    made = await dataops_api("POST", "sandboxes", json={"profile": "pod"})
    assert made.code == 202, made
    sandbox_id = made.json()["id"]

    async def settled() -> Any:
        found = (await dataops_api("GET", "sandboxes", sandbox_id)).json()
        return found if found["status"] in ("ready", "failed", "stopped") else None

    sandbox = await wait_until("the sandbox to be ready", settled, timeout=WAIT)
    assert sandbox["status"] == "ready", sandbox.get("error")
    assert sandbox["provider"] == "kubernetes"
    return sandbox  # type: ignore[no-any-return]


async def reconcile(dataops_server: Any) -> None:
    """What the server's sandbox watcher does every c.DataOpsExtension.sandbox_interval."""
    await asyncio.to_thread(dataops_server.services.sandboxes.reconcile)


async def start_kernel_in(
    jp_serverapp: Any, dataops_server: Any, dataops_api: Any, sandbox: dict[str, Any], pids: list
) -> tuple[str, Any, dict[str, Any]]:
    """A kernel of the sandbox's spec, started by the server's kernel manager (as the kernel
    picker does); its id, its manager and its record in the sandbox (its pid in the pod)."""
    manager = jp_serverapp.kernel_manager
    kernel_id = await manager.start_kernel(kernel_name=sandbox["kernel_name"], path="")

    async def recorded() -> Any:
        await reconcile(dataops_server)
        found = (await dataops_api("GET", "sandboxes", sandbox["id"])).json()
        return found["kernels"] or None

    (kernel,) = await wait_until("the kernel to be recorded", recorded, timeout=WAIT)
    pids.append(kernel["pid"])
    assert kernel["id"] == kernel_id
    return kernel_id, manager.get_kernel(kernel_id), kernel


async def shut_down_all(jp_serverapp: Any) -> None:
    manager = jp_serverapp.kernel_manager
    for kernel_id in list(manager.list_kernel_ids()):
        with contextlib.suppress(Exception):
            await manager.shutdown_kernel(kernel_id, now=True)


def kill_leftovers(pids: list[int]) -> None:
    """A safety net for a failed test: the pods' kernels run in sessions of their own, outside
    the containers' process groups that the kubelet ends; each still running is killed (only
    if it is still a sandbox's kernel, not a process that reused its pid)."""
    for pid in pids:
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            process = psutil.Process(pid)
            if (
                process.status() != psutil.STATUS_ZOMBIE
                and "ipykernel_launcher" in process.cmdline()
                and "DATAOPS_SANDBOX" in process.environ()
            ):
                os.kill(pid, signal.SIGKILL)


def process_gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# -- tests ----------------------------------------------------------------------------------------
async def test_a_server_kernel_in_a_sandbox_pod_acts_through_the_server_as_its_owner(
    cluster, dataops_api, dataops_server, jp_serverapp, jp_fetch, jp_data_dir, make_notebook
):
    api, _ = cluster
    make_notebook("nb.ipynb", ["print('ran', alpha)"], parameters="alpha = 1")
    sandbox = await start_sandbox(dataops_api)
    name = so.sandbox_name(sandbox["id"])
    pod = api.get("pods", NAMESPACE, name)
    assert pod is not None and pod["status"]["phase"] == "Running"
    assert sandbox["owner"] == getpass.getuser()

    # In the server's kernel picker: the spec the provider wrote where the server looks,
    # naming the cluster's kernel provisioner.
    specs = json.loads((await jp_fetch("api", "kernelspecs", method="GET")).body)["kernelspecs"]
    spec = specs[sandbox["kernel_name"]]["spec"]
    assert spec["metadata"]["kernel_provisioner"]["provisioner_name"] == "dataops-cluster-sandbox"
    assert Path(jp_data_dir, "kernels", sandbox["kernel_name"], "kernel.json").is_file()

    manager = jp_serverapp.kernel_manager
    pids: list[int] = []
    try:
        kernel_id, km, kernel = await start_kernel_in(
            jp_serverapp, dataops_server, dataops_api, sandbox, pids
        )
        shown = await in_own_thread(
            run_in_kernel,
            km,
            f"%load_ext jupyter_dataops\n%dataops sandboxes show {sandbox['id']} --json",
        )
        code = (
            "import os, sys, json\n"
            "job = %dataops run nb.ipynb -p alpha 2 --wait\n"
            "print(json.dumps({'owner': job.owner, 'status': job.status.value,"
            " 'store': 'jupyter_dataops.store' in sys.modules or 'sqlalchemy' in sys.modules,"
            " 'env': {k: os.environ.get(k) for k in ('DATAOPS_SERVER_URL', 'DATAOPS_TOKEN',"
            " 'DATAOPS_SANDBOX', 'HOSTNAME')}, 'pid': os.getpid()}))"
        )
        printed = await in_own_thread(run_in_kernel, km, code)

        # %dataops reached the server at its Service's name, and saw the kernel's own sandbox.
        try:
            found = json.loads(shown)
        except ValueError:
            raise AssertionError(f"%dataops sandboxes show printed: {shown!r}") from None
        assert (found["id"], found["status"], found["provider"]) == (
            sandbox["id"],
            "ready",
            "kubernetes",
        )
        assert kernel_id in [k["id"] for k in found["kernels"]]
        seen = json.loads(printed.strip().splitlines()[-1])
        # The kernel's process is the pod's: its host name, a child of the pod's kernel host.
        env = seen["env"]
        assert env["HOSTNAME"] == name
        assert env["DATAOPS_SANDBOX"] == sandbox["id"]
        assert seen["pid"] == kernel["pid"]
        assert "sandbox_agent" in " ".join(psutil.Process(seen["pid"]).parent().cmdline())
        # ... with the server's identity as pods reach it.
        assert env["DATAOPS_SERVER_URL"] == SERVER_URL + "/"  # with the server's base URL, "/"
        token = env["DATAOPS_TOKEN"]
        assert token and token.startswith("dataops1.")
        # What it did, it did through the server as the server's user, never opening the store.
        assert seen["status"] == "completed"
        assert seen["owner"] == getpass.getuser()
        assert seen["store"] is False
        audit = await asyncio.to_thread(lambda: _audit(dataops_server, action="job.create"))
        assert [e.actor for e in audit] == [getpass.getuser()]

        # The kernel's credential works on the DataOps API; a forged one does not.
        header = {"Authorization": f"DataOps {token}"}
        assert (await dataops_api("GET", "sandboxes", headers=header)).code == 200
        payload, signature = token.split(".")[1:]
        forged = {"Authorization": f"DataOps dataops1.{payload}.{signature[::-1]}"}
        refused = await dataops_api("GET", "jobs", headers=forged)
        assert refused.code == 401 and refused.json()["error"] == "unauthorized"

        # Stopping the sandbox over REST shuts its kernel down and deletes its pod.
        stopped = await dataops_api("POST", "sandboxes", sandbox["id"], "stop", json={})
        assert stopped.code == 200, stopped
        assert stopped.json()["status"] == "stopped"
        assert kernel_id not in manager
        kernels = json.loads((await jp_fetch("api", "kernels", method="GET")).body)
        assert kernel_id not in [k["id"] for k in kernels]
        specs = (await jp_fetch("api", "kernelspecs", method="GET")).body
        assert sandbox["kernel_name"].encode() not in specs
        await asyncio.to_thread(
            wait_for, lambda: api.get("pods", NAMESPACE, name) is None, "the pod to go", WAIT
        )
        assert api.get("secrets", NAMESPACE, name) is None
        await asyncio.to_thread(
            wait_for, lambda: process_gone(kernel["pid"]), "the pod's kernel to end", WAIT
        )
        ended = (await dataops_api("GET", "sandboxes", sandbox["id"])).json()
        assert ended["kernels"] and all(k["ended_at"] for k in ended["kernels"])
        # ... and its credential ends with it.
        gone = await dataops_api("GET", "jobs", headers=header)
        assert gone.code == 401 and "kernel" in gone.json()["message"]
    finally:
        await shut_down_all(jp_serverapp)
        kill_leftovers(pids)


@pytest.mark.parametrize("server_url", [""], ids=["no-server-url"])
async def test_without_a_server_url_a_pod_kernel_has_no_identity_and_dataops_says_why(
    cluster, postgres_store, dataops_api, dataops_server, jp_serverapp
):
    """With PostgreSQL as the store the cluster takes sandboxes without c.Kubernetes.server_url;
    then the server gives the pod's kernel no identity, and ``%dataops`` there cannot act."""
    sandbox = await start_sandbox(dataops_api)
    pids: list[int] = []
    try:
        _, km, _ = await start_kernel_in(jp_serverapp, dataops_server, dataops_api, sandbox, pids)
        printed = await in_own_thread(
            run_in_kernel,
            km,
            "import os, json\n"
            "print(json.dumps({k: os.environ.get(k) for k in ('DATAOPS_SERVER_URL',"
            " 'DATAOPS_TOKEN', 'DATAOPS_ROOT_DIR', 'HOSTNAME')}))",
        )
        env = json.loads(printed.strip().splitlines()[-1])
        assert env == {
            "DATAOPS_SERVER_URL": None,
            "DATAOPS_TOKEN": None,
            "DATAOPS_ROOT_DIR": None,
            "HOSTNAME": so.sandbox_name(sandbox["id"]),
        }
        # A pod's Jupyter data dir is in its home, the workspace (the emulated pod inherits
        # the test's).
        said = await in_own_thread(
            run_in_kernel,
            km,
            "import os\n"
            "os.environ['JUPYTER_DATA_DIR'] = os.path.abspath('../.local/share/jupyter')\n"
            "%load_ext jupyter_dataops\n"
            "%dataops sandboxes list",
        )
        if "UsageError" not in said or "c.Kubernetes.server_url" not in said:
            raise NoFixNamed(f"%dataops sandboxes list in the pod printed: {said!r}")
    finally:
        await shut_down_all(jp_serverapp)
        await dataops_api("POST", "sandboxes", sandbox["id"], "stop", json={})
        kill_leftovers(pids)


@pytest.mark.parametrize("jp_base_url", ["/a%40b/"], ids=["base-url"])
async def test_a_pod_kernel_reaches_a_server_with_a_base_url(
    cluster, dataops_api, dataops_server, jp_serverapp
):
    sandbox = await start_sandbox(dataops_api)
    pids: list[int] = []
    try:
        _, km, _ = await start_kernel_in(jp_serverapp, dataops_server, dataops_api, sandbox, pids)
        shown = await in_own_thread(
            run_in_kernel,
            km,
            f"%load_ext jupyter_dataops\n%dataops sandboxes show {sandbox['id']} --json",
        )
        try:
            found = json.loads(shown)
        except ValueError:
            raise NotThroughTheServer(f"%dataops sandboxes show printed: {shown!r}") from None
        assert found["id"] == sandbox["id"]
    finally:
        await shut_down_all(jp_serverapp)
        await dataops_api("POST", "sandboxes", sandbox["id"], "stop", json={})
        kill_leftovers(pids)


class StaleStop(AssertionError):
    """A stopped sandbox's record says its kernels never ended (a known product race)."""


async def test_a_reconcile_during_a_stop_leaves_the_kernels_ended(
    cluster, dataops_api, dataops_server, jp_serverapp, monkeypatch
):
    """The interleaving the watcher makes by chance, made every time: a reconcile runs while
    the REST stop is between sampling the kernel host and stopping its kernels."""
    import threading

    from jupyter_dataops.backends.kubernetes.sandboxes import KubernetesSandboxProvider

    sandbox = await start_sandbox(dataops_api)
    pids: list[int] = []
    stopping = threading.local()
    raced: list[BaseException | None] = []
    real_stop, real_sample = KubernetesSandboxProvider.stop, KubernetesSandboxProvider._sample

    def stop(self: Any, sandbox_id: str, **kwargs: Any) -> Any:
        stopping.on = True
        try:
            return real_stop(self, sandbox_id, **kwargs)
        finally:
            stopping.on = False

    def sample(self: Any, launch: dict[str, Any], sandbox_id: str) -> Any:
        found = real_sample(self, launch, sandbox_id)
        if getattr(stopping, "on", False) and not raced:
            # The server's watcher, in its own thread, now.
            def watcher() -> None:
                try:
                    dataops_server.services.sandboxes.reconcile()
                    raced.append(None)
                except BaseException as exc:
                    raced.append(exc)

            thread = threading.Thread(target=watcher, name="test-watcher")
            thread.start()
            thread.join(timeout=WAIT)
        return found

    try:
        kernel_id, _, _ = await start_kernel_in(
            jp_serverapp, dataops_server, dataops_api, sandbox, pids
        )
        monkeypatch.setattr(KubernetesSandboxProvider, "stop", stop)
        monkeypatch.setattr(KubernetesSandboxProvider, "_sample", sample)
        stopped = await dataops_api("POST", "sandboxes", sandbox["id"], "stop", json={})
        assert stopped.code == 200 and stopped.json()["status"] == "stopped", stopped
        assert raced == [None], raced  # the watcher ran during the stop, without an error
        assert kernel_id not in jp_serverapp.kernel_manager
        ended = (await dataops_api("GET", "sandboxes", sandbox["id"])).json()
        assert ended["kernels"], ended
        if not all(k["ended_at"] for k in ended["kernels"]):
            raise StaleStop(f"the stopped sandbox's kernels: {ended['kernels']}")
    finally:
        monkeypatch.undo()
        await shut_down_all(jp_serverapp)
        await dataops_api("POST", "sandboxes", sandbox["id"], "stop", json={})
        kill_leftovers(pids)


class GhostKernel(AssertionError):
    """A stopped sandbox's kernel stays in the server's kernel manager (a known product race)."""


@pytest.mark.parametrize("autorestart", [True], ids=["autorestart"])
async def test_a_kernel_the_restarter_saw_die_is_gone_after_the_stop(
    cluster, dataops_api, dataops_server, jp_serverapp, monkeypatch
):
    """The interleaving the restarter makes by chance, made every time: it polls right after
    the pod's kernels were stopped, and its restart is still under way (the kernel host's
    answers are slowed) when the stop handler shuts the kernel down."""
    import threading

    from jupyter_dataops.backends.kubernetes.sandbox_kernel import ClusterSandboxProvisioner
    from jupyter_dataops.backends.kubernetes.sandboxes import KubernetesSandboxProvider

    sandbox = await start_sandbox(dataops_api)
    pids: list[int] = []
    loop = asyncio.get_running_loop()
    real_stop, real_call = KubernetesSandboxProvider.stop, ClusterSandboxProvisioner._call
    slow, restarting = threading.Event(), threading.Event()

    async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if slow.is_set():
            await asyncio.sleep(1.0)
        return await real_call(self, *args, **kwargs)

    try:
        kernel_id, km, _ = await start_kernel_in(
            jp_serverapp, dataops_server, dataops_api, sandbox, pids
        )
        assert km.autorestart and km._restarter is not None
        km.add_restart_callback(restarting.set, "restart")

        def stop(self: Any, sandbox_id: str, **kwargs: Any) -> Any:
            done = real_stop(self, sandbox_id, **kwargs)
            if kernel_id in jp_serverapp.kernel_manager and km._restarter is not None:
                slow.set()
                asyncio.run_coroutine_threadsafe(km._restarter.poll(), loop)
                restarting.wait(WAIT)
            return done

        monkeypatch.setattr(KubernetesSandboxProvider, "stop", stop)
        monkeypatch.setattr(ClusterSandboxProvisioner, "_call", call)
        stopped = await dataops_api("POST", "sandboxes", sandbox["id"], "stop", json={})
        assert stopped.code == 200 and stopped.json()["status"] == "stopped", stopped
        try:
            await wait_until(
                "the kernel to leave the server",
                lambda: kernel_id not in jp_serverapp.kernel_manager,
                timeout=10,
            )
        except pytest.fail.Exception:
            raise GhostKernel(f"kernel {kernel_id} is still in the server after the stop") from None
    finally:
        monkeypatch.undo()
        await shut_down_all(jp_serverapp)
        kill_leftovers(pids)


def test_a_kernel_host_that_dies_mid_answer_is_a_host_error():
    import socket
    import threading

    from jupyter_dataops.backends.kubernetes.sandbox_kernel import HostError, call

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def answer_half() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 355\r\n\r\n{")

        thread = threading.Thread(target=answer_half, name="test-half-answer", daemon=True)
        thread.start()
        launch = {"host": "127.0.0.1", "port": listener.getsockname()[1], "token": "t"}
        with pytest.raises(HostError, match="kernel host"):
            call(launch, "GET", "/kernels/k", timeout=10)
        thread.join(timeout=10)
