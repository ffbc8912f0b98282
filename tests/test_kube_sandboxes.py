"""Kubernetes tier 2: sandboxes as pods, end to end through the sandbox service against the
validating in-memory API server. The test's kubelet runs a sandbox pod as a node would: each
init container to its end (the data loader reads a real snapshot's files from the project's DVC
remote by hash; the environment step checks tools and packages), then the kernel host at the
pod's own loopback IP. A real kernel starts in it through the kernel spec's provisioner, as the
kernel picker or papermill would start it, and runs code there. Waits are bounded.

Tier 3: the tests that take ``cluster`` run again under ``-m kind`` on a real cluster
(``DATAOPS_KUBECONFIG``): the pod runs the runner image (``DATAOPS_KIND_IMAGE``), its workspace is
a claim of the storage class ``DATAOPS_KIND_STORAGE_CLASS`` (default ``standard``, kind's), its
data comes from a DVC remote in the folder this process and the nodes share
(``DATAOPS_KIND_FILES``/dvc-remote, the claim ``dvc-remote``), and this process reaches the
kernel host and the kernels at the pod's IP (the kind workflow routes the pod network to the
node). Tests that hold pods are the emulator's only."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyter_dataops.backends.kubernetes import sandbox_objects as so
from jupyter_dataops.core.config import DataOps
from jupyter_dataops.core.errors import Conflict
from jupyter_dataops.core.sandboxes.models import SandboxCreate
from jupyter_dataops.core.snapshots.models import SnapshotCreate
from jupyter_dataops.services import Services

from .conftest import stop_local_worker
from .kube_cluster import (
    CLUSTERS,
    NAMESPACE,
    RealCluster,
    cluster_of,
    kind_env,
    unschedulable,
    wait_for,
)

IRIS = "sepal,petal,kind\n5.1,1.4,setosa\n4.9,1.4,setosa\n"
WAIT = 180  # a bound on waits: a real cluster provisions a volume and starts a pod


@pytest.fixture(params=CLUSTERS)
def cluster(request):
    """Each test that takes this fixture runs on the emulator (tier 2) and, under ``-m kind``,
    on a real cluster (tier 3)."""
    with cluster_of(request.param) as made:
        yield made


@pytest.fixture
def emulator():
    """Tests that hold pods, or need a cluster bigger than this machine: the emulator only."""
    with cluster_of("emulator") as made:
        yield made


def storage_class(api: Any) -> str:
    """The workspace claims' storage class: kind's (local-path) by default."""
    if isinstance(api, RealCluster):
        return kind_env("DATAOPS_KIND_STORAGE_CLASS", "standard")
    return "standard"


def make_services(
    tmp_path: Path, api: Any, profiles: list[dict], dataops: dict | None = None, **kube: Any
) -> Services:
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "iris.csv").write_text(IRIS)
    if isinstance(api, RealCluster):
        # The DVC remote is a folder the nodes see at the same path, held by the claim
        # dvc-remote; DVC keeps files by content, so runs can share it.
        remote = Path(kind_env("DATAOPS_KIND_FILES")) / "dvc-remote"
        where = {
            "kubeconfig": api.kubeconfig,
            "sandbox_image": kind_env("DATAOPS_KIND_IMAGE", "dataops-runner:kind"),
            "image_pull_policy": "IfNotPresent",
        }
    else:
        remote = tmp_path / "dvc-remote"
        where = {"api_url": api.url, "sandbox_image": "dataops-notebook:test"}
    config = Config(
        {
            "DataOps": {
                "sandbox_provider_class": "kubernetes",
                "snapshot_remote": str(remote),
                "sandbox_profiles": profiles,
                **(dataops or {}),
            },
            "Kubernetes": {
                **where,
                "namespace": NAMESPACE,
                "server_url": "http://jupyter.dataops.svc:8888",
                "dvc_remote_volume": "dvc-remote",
                "storage_class": storage_class(api),
                "gpu_types": {"t4": {"nvidia.com/gpu.product": "Tesla-T4"}},
                **kube,
            },
            "KubernetesSandboxProvider": {"kernels_dir": str(tmp_path / "kernels")},
        }
    )
    made = DataOps(config=config, root_dir=str(root), data_dir=str(tmp_path / "data"))
    return Services.from_config(made, actor="alice")


@pytest.fixture
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(name, "Test User")
    for name in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(name, "test@example.com")


def run_in(kernel_name: str, kernels_dir: Path, code: str) -> tuple[str, Any]:
    """Start the sandbox's kernel as Jupyter does (its spec's provisioner), run ``code``, and
    return what it printed; the kernel manager, still running."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    manager = KernelManager(
        kernel_name=kernel_name,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels_dir)]),
    )
    manager.start_kernel()
    return execute(manager, code), manager


@contextlib.contextmanager
def watching_pods(api: Any):
    """The namespace's pods as last seen while the block runs, by name (a pod that a failed
    start deleted included)."""
    seen: dict[str, dict] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.2):
            with contextlib.suppress(Exception):  # a blink of the API: look again
                for pod in api.list("pods", NAMESPACE):
                    seen[pod["metadata"]["name"]] = pod

    thread = threading.Thread(target=watch, name="test-watch-pods", daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(timeout=10)


def execute(manager: Any, code: str) -> str:
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        out: list[str] = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))

        reply = client.execute_interactive(code, output_hook=hook, timeout=60)
        assert reply["content"]["status"] == "ok", "".join(out)
        return "".join(out)
    finally:
        client.stop_channels()


def test_a_sandbox_is_a_pod_whose_kernel_runs_there_with_its_data(
    cluster, tmp_path: Path, git_identity, monkeypatch: pytest.MonkeyPatch
):
    api = cluster.api
    monkeypatch.setenv("TEST_API_KEY", "s3cr3t-value")
    services = make_services(tmp_path, api, [])
    try:
        snapshot = services.snapshots.create(SnapshotCreate(message="v1", init=True))
        services.snapshots.push(snapshot.id)
        assert services.snapshots.get(snapshot.id).push_status.value == "pushed"
    finally:
        services.close()
    profiles = [
        {
            "name": "cluster",
            "cpus": "1",
            "memory": "1Gi",
            "data": [{"kind": "snapshot", "source": snapshot.id}],
            # What the image has (the runner image; here, this environment): checked, not
            # installed.
            "packages": ["pyyaml>=5"],
            "tools": ["sh"],
            "env": {"GREETING": "hello"},
            "secrets": {"API_KEY": "env:TEST_API_KEY"},
            # A label every node has, so a real cluster's node fits.
            "node_selector": {"kubernetes.io/os": "linux"},
            "tolerations": [
                {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}
            ],
        }
    ]
    services = make_services(tmp_path, api, profiles)
    sandboxes = services.sandboxes
    try:
        listed = sandboxes.profiles("alice")
        assert listed.limits_method == "Kubernetes"
        assert [(v.profile.name, v.available, v.where) for v in listed.items] == [
            ("cluster", True, "cluster")
        ]
        sandbox = sandboxes.start(SandboxCreate(profile="cluster", wait=True), actor="alice")
        assert sandbox.status.value == "ready", sandbox.error
        steps = {s.name: (s.status, s.detail) for s in sandbox.steps}
        assert steps["namespace"] == ("done", NAMESPACE)
        assert steps["workspace"][1].startswith(
            f"dataops-home-alice (10Gi, storage class {storage_class(api)}, made now"
        )
        assert steps["data"] == ("done", "data: 1/1 data/iris.csv")
        assert steps["environment"][0] == "done"
        assert "all 1 package(s) present" in steps["environment"][1]
        assert steps["kernel host"][0] == "done"
        assert sandbox.kernel_name == f"dataops-sandbox-{sandbox.id}"

        # What the cluster holds: the pod as the profile and policy made it, the secret's value
        # only in the Secret, the workspace claim.
        name = so.sandbox_name(sandbox.id)
        pod = api.get("pods", NAMESPACE, name)
        main = pod["spec"]["containers"][0]
        assert main["resources"] == {
            "requests": {"cpu": "1", "memory": "1073741824"},
            "limits": {"cpu": "1", "memory": "1073741824"},
        }
        assert pod["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
        assert pod["spec"]["tolerations"][0]["key"] == "dedicated"
        assert [c["name"] for c in pod["spec"]["initContainers"]] == ["data", "environment"]
        assert "s3cr3t-value" not in json.dumps(pod)
        assert {
            "name": "API_KEY",
            "valueFrom": {"secretKeyRef": {"name": name, "key": "env-API_KEY"}},
        } in main["env"]
        claim = api.get("persistentvolumeclaims", NAMESPACE, "dataops-home-alice")
        assert claim["spec"]["storageClassName"] == storage_class(api)

        # The kernel runs in the pod: its folder has the snapshot's data, its environment the
        # profile's variables and secrets, the packages' folder is on its path.
        printed, manager = run_in(
            sandbox.kernel_name,
            tmp_path / "kernels",
            "import os, sys, pathlib\n"
            "print(pathlib.Path('data/iris.csv').read_text(), end='')\n"
            "print(os.environ['GREETING'], os.environ['API_KEY'], os.environ['DATAOPS_SANDBOX'])\n"
            "print(os.environ['HOSTNAME'])\n"
            "print('DATAOPS_TOKEN' in os.environ)\n",
        )
        try:
            lines = printed.splitlines()
            assert "\n".join(lines[:3]) + "\n" == IRIS
            assert lines[3] == f"hello s3cr3t-value {sandbox.id}"
            assert lines[4] == name
            # A kernel the server did not start has no identity to pass on.
            assert lines[5] == "False"
            sandboxes.reconcile()
            running = sandboxes.get(sandbox.id)
            assert len(running.kernels) == 1 and running.kernels[0].ended_at is None
            # The kernel host reports what the pod used.
            assert running.usage.cpu_seconds > 0, running.usage
            assert running.usage.peak_memory_bytes > 0, running.usage
            # A restart starts it again in the pod (same kernel id, a new process).
            first_pid = running.kernels[0].pid
            manager.restart_kernel(now=True)
            assert execute(manager, "print(6 * 7)") == "42\n"
            sandboxes.reconcile()
            again = sandboxes.get(sandbox.id)
            assert [k.pid for k in again.kernels] != [first_pid]
        finally:
            stopped = sandboxes.stop(sandbox.id)
        assert stopped.status.value in ("stopping", "stopped")
        ended = sandboxes.get(sandbox.id)
        assert ended.status.value == "stopped"
        assert all(k.ended_at for k in ended.kernels)
        assert ended.usage.cpu_seconds > 0
        # The pod is deleted (a real one ends gracefully first); the workspace is kept.
        wait_for(lambda: api.get("pods", NAMESPACE, name) is None, "the sandbox's pod to go", WAIT)
        assert api.get("secrets", NAMESPACE, name) is None
        assert api.get("configmaps", NAMESPACE, name) is None
        assert api.get("persistentvolumeclaims", NAMESPACE, "dataops-home-alice") is not None
        assert not (tmp_path / "kernels" / sandbox.kernel_name).exists()
        # The kernel's manager learns its kernel is gone.
        assert not manager.is_alive()
        manager.cleanup_resources()
    finally:
        stop_local_worker(services.supervisor)
        services.close()


def test_a_sandbox_pod_that_cannot_start_fails_with_the_reason_and_leaves_nothing(
    cluster, tmp_path: Path
):
    api = cluster.api
    profiles = [
        {"name": "tools", "cpus": "1", "memory": "1Gi", "tools": ["no-such-tool-here"]},
        {"name": "gpu", "cpus": "1", "memory": "1Gi", "gpus": 1, "gpu_type": "a100"},
        {
            "name": "folder",
            "cpus": "1",
            "memory": "1Gi",
            "data": [{"kind": "directory", "source": "data"}],
        },
    ]
    services = make_services(tmp_path, api, profiles, sandbox_start_timeout=WAIT)
    sandboxes = services.sandboxes
    try:
        views = {v.profile.name: v for v in sandboxes.profiles("alice").items}
        assert not views["gpu"].available
        assert "no GPU type 'a100'" in (views["gpu"].reason or "")
        assert not views["folder"].available
        assert "a folder on the server's disk" in (views["folder"].reason or "")
        with pytest.raises(Conflict) as refused:
            sandboxes.start(SandboxCreate(profile="folder", wait=True), actor="alice")
        assert "cannot start here" in refused.value.message
        assert api.list("pods", NAMESPACE) == []

        # The environment init container fails: the sandbox fails with its log, and what the
        # start made is deleted (the workspace stays).
        failed = sandboxes.start(SandboxCreate(profile="tools", wait=True), actor="alice")
        assert failed.status.value == "failed"
        assert "Preparing the sandbox's environment failed" in (failed.error or "")
        assert "no-such-tool-here" in (failed.error or "")
        wait_for(lambda: not api.list("pods", NAMESPACE), "the failed pod to go", WAIT)
        assert api.list("secrets", NAMESPACE) == []
    finally:
        stop_local_worker(services.supervisor)
        services.close()


def test_a_sandbox_no_node_can_hold_shows_the_schedulers_reason_then_gives_up(
    cluster, tmp_path: Path
):
    """No node has a free GPU: the pod step shows the scheduler's reason, then the start gives
    up and deletes the pod. The emulator's node says so for a held pod; the kind workflow's node
    advertises one fake GPU, labelled as a T4, so four cannot be scheduled there."""
    api = cluster.api
    gpus = 4 if cluster.real else 1
    timeout = 30 if cluster.real else 4  # the scheduler's word comes within it
    profiles = [
        {"name": "small", "cpus": "0.5", "memory": "512Mi", "gpus": gpus, "gpu_type": "t4"},
    ]
    if not cluster.real:
        message = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
        cluster.kubelet.hold = lambda pod: unschedulable(message)
    services = make_services(tmp_path, api, profiles, sandbox_start_timeout=timeout)
    sandboxes = services.sandboxes
    try:
        with watching_pods(api) as seen:
            held = sandboxes.start(SandboxCreate(profile="small", wait=True), actor="alice")
        assert held.status.value == "failed"
        assert f"did not become ready within {timeout:g} s" in (held.error or "")
        assert "Insufficient nvidia.com/gpu" in (held.error or "")
        wait_for(lambda: not api.list("pods", NAMESPACE), "the pod to be deleted", WAIT)
        # The GPU type selected its nodes; the GPUs are a limit of the extended resource.
        (sent,) = seen.values()
        assert sent["spec"]["nodeSelector"] == {"nvidia.com/gpu.product": "Tesla-T4"}
        assert sent["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == str(gpus)
    finally:
        stop_local_worker(services.supervisor)
        services.close()


def test_the_init_containers_load_data_by_hash_and_refuse_a_damaged_or_escaping_file(tmp_path):
    """sandbox_init: a directory's manifest, each file checked against its md5."""
    import hashlib

    from jupyter_dataops.backends.kubernetes.sandbox_init import LoadError, load_data

    remote = tmp_path / "remote"

    def put(data: bytes) -> str:
        md5 = hashlib.md5(data).hexdigest()
        path = remote / "files" / "md5" / md5[:2] / md5[2:]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return md5

    a, b = put(b"first\n"), put(b"second\n")
    manifest = json.dumps([{"md5": a, "relpath": "a.txt"}, {"md5": b, "relpath": "sub/b.txt"}])
    digest = put(manifest.encode())
    (remote / "files" / "md5" / digest[:2] / digest[2:]).rename(
        remote / "files" / "md5" / digest[:2] / f"{digest[2:]}.dir"
    )
    into = tmp_path / "work"
    plan = {"remote": str(remote), "outs": [{"path": "data/set", "hash": f"{digest}.dir"}]}
    assert load_data(plan, into, out=open(os.devnull, "w")) == 2
    assert (into / "data/set/sub/b.txt").read_text() == "second\n"
    (remote / "files" / "md5" / a[:2] / a[2:]).write_bytes(b"tampered\n")
    (into / "data/set/a.txt").unlink()
    with pytest.raises(LoadError, match="does not match its md5"):
        load_data(plan, into, out=open(os.devnull, "w"))
    assert not (into / "data/set/a.txt").exists()
    with pytest.raises(LoadError, match="leaves the sandbox's folder"):
        load_data(
            {"remote": str(remote), "outs": [{"path": "../x", "hash": b}]},
            into,
            out=open(os.devnull, "w"),
        )


# -- tier 1: the objects ---------------------------------------------------------------------------
def sandbox_pod(**overrides: Any) -> so.SandboxPod:
    from jupyter_dataops.backends.kubernetes.objects import Resources

    fields: dict[str, Any] = {
        "sandbox_id": "0123456789ab",
        "user": "Alice.Smith@example.com",
        "profile": "gpu-small",
        "namespace": "dataops",
        "resources": Resources(cpu="2", memory="8589934592", gpus=1),
        "port": 8765,
        "token": "agent-token",
        "env": {"DATAOPS_SANDBOX": "0123456789ab"},
        "secrets": {"HF_TOKEN": "hf-secret"},
        "data": {"remote": "s3://bucket/dvc", "outs": [{"path": "data", "hash": "ab.dir"}]},
        "packages": ("torch==2.4",),
        "tools": ("git",),
        "node_selector": {"nvidia.com/gpu.product": "Tesla-T4"},
        "tolerations": ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},),
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                    ]
                }
            }
        },
        "remote_volume": None,
    }
    fields.update(overrides)
    return so.SandboxPod(**fields)


def pod_settings(**overrides: Any) -> Any:
    from jupyter_dataops.backends.kubernetes.objects import PodSettings

    return PodSettings(
        image="registry.example.com/ml/notebook:1",
        env={"AWS_ENDPOINT_URL": "http://minio:9000"},
        env_from_secrets=("dataops-storage",),
        node_selector={"pool": "ml"},
        labels={"cost-centre": "ml"},
        **overrides,
    )


@pytest.mark.parametrize("version", ["1.29", "1.37"])
@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"data": None, "packages": (), "tools": (), "secrets": {}, "affinity": {}},
        {"remote_volume": ("dvc-remote", "/srv/dvc"), "data": {"remote": "/srv/dvc", "outs": []}},
    ],
    ids=["full", "bare", "remote-volume"],
)
def test_sandbox_objects_pass_the_official_schemas(version: str, variant: dict):
    import kubernetes_validate

    for obj in so.sandbox_objects(sandbox_pod(**variant), pod_settings()):
        kubernetes_validate.validate(obj, version, strict=True)
    claim = so.workspace_claim(
        "Alice.Smith@example.com",
        "dataops",
        size="10Gi",
        storage_class="fast",
        access_mode="ReadWriteOnce",
        extra_labels={},
    )
    kubernetes_validate.validate(claim, version, strict=True)


def test_the_sandbox_pod_is_the_expected_one():
    secret, config_map, pod = so.sandbox_objects(sandbox_pod(), pod_settings())
    name = "dataops-sandbox-0123456789ab"
    assert secret["stringData"] == {"token": "agent-token", "env-HF_TOKEN": "hf-secret"}
    assert json.loads(config_map["data"]["setup.json"]) == {
        "packages": ["torch==2.4"],
        "tools": ["git"],
    }
    spec = pod["spec"]
    assert pod["metadata"]["name"] == name
    labels = pod["metadata"]["labels"]
    assert labels["dataops.io/sandbox"] == "0123456789ab"
    assert labels["app.kubernetes.io/component"] == "sandbox"
    assert labels["cost-centre"] == "ml"
    assert spec["restartPolicy"] == "Never"
    assert spec["automountServiceAccountToken"] is False
    assert spec["nodeSelector"] == {"pool": "ml", "nvidia.com/gpu.product": "Tesla-T4"}
    assert spec["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert "nodeAffinity" in spec["affinity"]
    assert [c["name"] for c in spec["initContainers"]] == ["data", "environment"]
    main = spec["containers"][0]
    assert main["resources"] == {
        "requests": {"cpu": "2", "memory": "8589934592"},
        "limits": {"cpu": "2", "memory": "8589934592", "nvidia.com/gpu": "1"},
    }
    # Secrets reach the kernels by reference only; init containers never see them.
    env = {e["name"]: e for e in main["env"]}
    assert env["HF_TOKEN"] == {
        "name": "HF_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": name, "key": "env-HF_TOKEN"}},
    }
    assert "hf-secret" not in json.dumps(pod)
    for init in spec["initContainers"]:
        assert all("value" in e for e in init["env"])
        assert init["envFrom"] == [{"secretRef": {"name": "dataops-storage"}}]
    assert env[so.PACKAGES_ENV]["value"] == so.packages_dir(["torch==2.4"])
    assert spec["volumes"][0] == {
        "name": "home",
        "persistentVolumeClaim": {"claimName": so.workspace_claim_name("Alice.Smith@example.com")},
    }
    assert main["readinessProbe"]["httpGet"] == {"path": "/health", "port": "kernel-host"}


def test_a_kernel_in_a_pod_gets_the_servers_identity_only_where_pods_reach_the_server():
    from jupyter_dataops.backends.kubernetes.sandbox_kernel import kernel_env

    env = {
        "DATAOPS_SERVER_URL": "http://127.0.0.1:8888/",
        "DATAOPS_TOKEN": "dataops1.x.y",
        "DATAOPS_ROOT_DIR": "/home/alice/project",
        "PATH": "/usr/bin",
        "AWS_SECRET_ACCESS_KEY": "server-only",
    }
    assert kernel_env(env, "http://jupyter.ml.svc:8888") == {
        "DATAOPS_SERVER_URL": "http://jupyter.ml.svc:8888/",
        "DATAOPS_TOKEN": "dataops1.x.y",
    }
    assert kernel_env(env, "") == {}
    # Behind a base URL (JupyterHub's /user/NAME/), pods keep it unless the setting names a path.
    hub = {**env, "DATAOPS_SERVER_URL": "http://127.0.0.1:8888/user/alice/"}
    assert kernel_env(hub, "http://hub.ml.svc:8081")["DATAOPS_SERVER_URL"] == (
        "http://hub.ml.svc:8081/user/alice/"
    )
    assert kernel_env(hub, "http://hub.ml.svc:8081/user/alice/")["DATAOPS_SERVER_URL"] == (
        "http://hub.ml.svc:8081/user/alice/"
    )


def test_sandboxes_run_here_or_on_the_cluster_by_profile_or_by_request(emulator, tmp_path: Path):
    """c.DataOps.sandbox_providers offers the cluster beside this machine: a profile with an
    image goes there, another may be asked there, and each place refuses what it cannot hold.
    The emulator only: the sandbox asked of the cluster is bigger than this machine, which a
    kind cluster's node is."""
    from jupyter_dataops.core.errors import InvalidInput, PolicyViolation

    api = emulator.api
    profiles = [
        {"name": "small", "cpus": "1", "memory": "512Mi"},
        {"name": "imaged", "cpus": "1", "memory": "512Mi", "image": "notebook:2"},
    ]
    services = make_services(
        tmp_path,
        api,
        profiles,
        {"sandbox_provider_class": "local", "sandbox_providers": ["kubernetes"]},
    )
    sandboxes = services.sandboxes
    try:
        views = {v.profile.name: v for v in sandboxes.profiles("alice").items}
        assert (views["small"].provider, views["small"].where) == ("local", "local")
        assert [(c.name, c.available) for c in views["small"].providers] == [
            ("local", True),
            ("kubernetes", True),
        ]
        # A profile with an image cannot run here: it goes to the cluster, and says so.
        assert (views["imaged"].provider, views["imaged"].where) == ("kubernetes", "cluster")
        assert views["imaged"].available
        assert "no container engine" in (views["imaged"].providers[0].reason or "")

        with pytest.raises(InvalidInput) as unknown:
            sandboxes.start(SandboxCreate(profile="small", provider="slurm"), actor="alice")
        assert "sandboxes here run on: local, kubernetes" in unknown.value.message
        cpus = len(os.sched_getaffinity(0))
        with pytest.raises(PolicyViolation) as too_big:
            sandboxes.start(
                SandboxCreate(profile="small", cpus=str(cpus + 1), provider="local"),
                actor="alice",
            )
        # Bounded by this machine's size here, by a node's on the cluster.
        assert f"cpus {cpus + 1} is over the policy's maximum of {cpus} by 1" in (
            too_big.value.message
        )
        assert sandboxes.list().total == 0

        # Asked for the cluster, the same profile starts as a pod there.
        on_cluster = sandboxes.start(
            SandboxCreate(profile="small", cpus=str(cpus + 1), provider="kubernetes", wait=True),
            actor="alice",
        )
        assert on_cluster.status.value == "ready", on_cluster.error
        assert on_cluster.provider == "kubernetes"
        pod = api.get("pods", NAMESPACE, so.sandbox_name(on_cluster.id))
        assert pod["spec"]["containers"][0]["resources"]["limits"]["cpu"] == str(cpus + 1)
        sandboxes.reconcile()
        assert sandboxes.get(on_cluster.id).status.value == "ready"
        sandboxes.stop(on_cluster.id)
        assert api.get("pods", NAMESPACE, so.sandbox_name(on_cluster.id)) is None
    finally:
        stop_local_worker(services.supervisor)
        services.close()


def test_on_the_embedded_defaults_the_cluster_is_offered_but_refused_naming_the_settings(
    tmp_path: Path,
):
    """No cluster is contacted: the profile list says why a pod could not work, and a start
    there is refused with nothing recorded."""
    config = Config(
        {
            "DataOps": {"sandbox_providers": ["kubernetes"]},
            "Kubernetes": {"api_url": "http://127.0.0.1:9", "sandbox_image": "nb:1"},
        }
    )
    root = tmp_path / "project"
    root.mkdir()
    services = Services.from_config(
        DataOps(config=config, root_dir=str(root), data_dir=str(tmp_path / "data")),
        actor="alice",
    )
    try:
        view = services.sandboxes.profiles("alice").items[0]
        assert (view.provider, view.available) == ("local", True)
        # The default profile is this machine's size; what may be asked is bounded by each
        # place's: this machine's here, a node's (c.Kubernetes.sandbox_max_resources) there.
        assert view.profile.cpus == len(os.sched_getaffinity(0))
        here = {f.field: f.max for f in view.fields}
        there = {f.field: f.max for f in view.providers[1].fields}
        assert here["cpus"] == len(os.sched_getaffinity(0))
        assert (there["cpus"], there["memory"], there["gpus"]) == (16, 64 * 2**30, 8)
        cluster = view.providers[1]
        assert (cluster.name, cluster.available) == ("kubernetes", False)
        assert "the store is a sqlite file on the server's disk" in (cluster.reason or "")
        assert "c.Kubernetes.server_url" in (cluster.reason or "")
        with pytest.raises(Conflict) as refused:
            services.sandboxes.start(
                SandboxCreate(profile=view.profile.name, provider="kubernetes"), actor="alice"
            )
        assert "cannot start on kubernetes: its pod could not reach" in refused.value.message
        assert services.sandboxes.list().total == 0
    finally:
        stop_local_worker(services.supervisor)
        services.close()
