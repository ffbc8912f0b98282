"""Kubernetes tier 2: jobs as Kubernetes Jobs, end to end through the core and a real worker
process, against the validating in-memory API server. The test's kubelet runs each pod's
container as a local process (real papermill, real kernels), so a notebook really goes through
the file store to the "pod" and back. Cluster errors are injected (403, 409, 410, 500) and pod
states reported as a cluster would (unschedulable, OOM, image pull). Waits are bounded."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from jupyter_dataops.core.config import DataOps
from jupyter_dataops.core.errors import BackendUnavailable, InvalidInput, NotFound, PolicyViolation
from jupyter_dataops.core.jobs.models import JobCreate, JobRerun, JobStatus
from jupyter_dataops.services import Services

from .conftest import stop_local_worker
from .kube_cluster import (
    NAMESPACE,
    emulated_cluster,
    image_pull_failing,
    real_cluster,
    unschedulable,
    wait_for,
)
from .notebooks import write_notebook

WAIT = 120


class Cluster:
    """What a test has: the API (the emulator, or a real cluster's reads) and, with the
    emulator, its kubelet; ``real`` for tier 3."""

    def __init__(self, api, kubelet=None, real=False):
        self.api, self.kubelet, self.real = api, kubelet, real


@pytest.fixture(params=["emulator", pytest.param("real", marks=pytest.mark.kind)])
def cluster(request):
    """Each test that takes this fixture runs on the emulator (tier 2) and, under ``-m kind``,
    on a real cluster (tier 3)."""
    if request.param == "real":
        with real_cluster() as api:
            yield Cluster(api, real=True)
        return
    with emulated_cluster() as (api, kubelet):
        yield Cluster(api, kubelet)


@pytest.fixture
def emulator():
    """Tests that inject errors or pod states: the emulator only."""
    with emulated_cluster() as (api, kubelet):
        yield Cluster(api, kubelet)


def make_services(tmp_path: Path, cluster: Cluster, **kube) -> Services:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    if cluster.real:
        files_url = f"file://{os.environ['DATAOPS_KIND_FILES']}"
        where = {
            "kubeconfig": cluster.api.kubeconfig,
            "job_image": os.environ.get("DATAOPS_KIND_IMAGE", "dataops-runner:kind"),
            "image_pull_policy": "IfNotPresent",
        }
    else:
        files_url = f"file://{tmp_path / 'files'}"
        where = {"api_url": cluster.api.url, "job_image": "dataops-runner:test"}
    config = Config(
        {
            "DataOps": {
                "job_executor_class": "kubernetes",
                "job_files_url": files_url,
                "mlflow_tracking_uri": "http://mlflow.dataops.svc:5000",
                "mlflow_artifact_location": "mlflow-artifacts:/",
            },
            "Kubernetes": {
                **where,
                "namespace": NAMESPACE,
                "files_volume": "dataops-files",
                "server_url": "http://jupyter.dataops.svc:8888",
                "job_resources": {"cpu": "500m", "memory": "1Gi"},
                **kube,
            },
            "Worker": {"idle_timeout": 120, "warm_start": False},
        }
    )
    dataops = DataOps(config=config, root_dir=str(root), data_dir=str(tmp_path / "data"))
    return Services.from_config(dataops, actor="alice")


def _factory(tmp_path, cluster):
    made: list[Services] = []

    def factory(**kube) -> Services:
        made.append(make_services(tmp_path, cluster, **kube))
        return made[-1]

    return made, factory


@pytest.fixture
def make(tmp_path, cluster):
    made, factory = _factory(tmp_path, cluster)
    yield factory
    for services in made:
        stop_local_worker(services.supervisor)
        services.close()


@pytest.fixture
def make_emulated(tmp_path, emulator):
    made, factory = _factory(tmp_path, emulator)
    yield factory
    for services in made:
        stop_local_worker(services.supervisor)
        services.close()


def submit(services: Services, cells: list[str], **request):
    write_notebook(Path(services.root) / "nb.ipynb", cells, parameters="n = 1")
    return services.jobs.create(JobCreate(notebook_path="nb.ipynb", **request), actor="alice")


def log_of(services: Services, job_id: str) -> str:
    return services.jobs.logs(job_id).logs


def output_of(services: Services, job_id: str) -> nbformat.NotebookNode:
    _, data = services.jobs.output(job_id)
    return nbformat.reads(data.decode(), as_version=4)


def stream_text(nb) -> str:
    return "".join(
        "".join(out.get("text", ""))
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    )


def test_a_parameterized_notebook_runs_as_a_kubernetes_job(cluster, make):
    services = make()
    job = submit(
        services,
        ["print('n is', n)", "import os; print('pod', os.environ['HOSTNAME'])"],
        parameters={"n": 7},
    )
    done = services.jobs.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.COMPLETED, done.error
    # The parameters cell, the injected parameters and the two cells.
    assert done.progress.cells_completed == done.progress.cells_total == 4
    # The Job: tied to its record, no retries of its own.
    (obj,) = cluster.api.list("jobs", NAMESPACE)
    assert obj["metadata"]["labels"]["dataops.io/job-id"] == job.id
    assert obj["metadata"]["annotations"]["dataops.io/execution"] == f"{job.id}-1"
    assert obj["spec"]["backoffLimit"] == 0
    if not cluster.real:  # created with strict field validation
        assert any(
            r.verb == "create"
            and r.resource == "jobs"
            and r.query.get("fieldValidation") == "Strict"
            for r in cluster.api.requests
        )
    # The executed notebook came back through the file store, with the parameter injected.
    text = stream_text(output_of(services, job.id))
    assert "n is 7" in text
    (pod,) = cluster.api.list("pods", NAMESPACE)
    assert f"pod {pod['metadata']['name']}" in text
    # The job's log has the pod's log, without the progress lines.
    log_text = log_of(services, job.id)
    assert f"created Job {obj['metadata']['name']} in namespace {NAMESPACE}" in log_text
    assert "cell 2 stdout: n is 7" in log_text  # after the parameters and the injected cell
    assert "::dataops-progress::" not in log_text


def test_a_failing_cell_fails_the_job_with_its_cell_and_error(cluster, make):
    services = make()
    job = submit(
        services, ["x = 1", "raise ValueError('bad data in column a')"], parameters={"n": 2}
    )
    done = services.jobs.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.FAILED
    assert done.error.ename == "ValueError"
    assert done.error.evalue == "bad data in column a"
    # Cells: the parameters (0), the injected parameters (1), x = 1 (2), the raise (3).
    assert done.error.cell_index == 3
    assert "failed in cell 3: ValueError: bad data in column a" in log_of(services, job.id)
    # The executed notebook came back too, up to the failing cell.
    code = {c.source: c for c in output_of(services, job.id).cells if c.cell_type == "code"}
    assert code["x = 1"].execution_count == 3
    assert code["raise ValueError('bad data in column a')"].outputs[0].ename == "ValueError"


def test_a_job_waiting_for_gpus_shows_the_schedulers_reason_and_cancel_deletes_its_job(
    cluster, make
):
    if not cluster.real:
        message = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
        cluster.kubelet.hold = lambda pod: unschedulable(message)
    # The kind workflow's node advertises 1 fake GPU: 4 cannot be scheduled there either.
    services = make(job_resources={"cpu": "500m", "memory": "1Gi", "gpus": "4"})
    job = submit(services, ["print(1)"])
    waiting = wait_for(
        lambda: (
            "Insufficient nvidia.com/gpu" in ((j := services.jobs.get(job.id)).pending_reason or "")
            and j
        ),
        "the scheduler's reason",
    )
    assert waiting.status == JobStatus.RUNNING
    assert waiting.pending_reason.startswith("waiting for a node: 0/")
    (obj,) = cluster.api.list("jobs", NAMESPACE)
    limits = obj["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "4"
    services.jobs.cancel(job.id, actor="alice")
    done = services.jobs.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.CANCELLED
    wait_for(lambda: not cluster.api.list("jobs", NAMESPACE), "the Job to be deleted")
    wait_for(lambda: not cluster.api.list("pods", NAMESPACE), "its pod to be deleted")


def test_a_restarted_worker_re_attaches_to_its_running_job(cluster, make):
    services = make()
    job = submit(
        services, ["print('before the restart')", "import time; time.sleep(6)", "print('after')"]
    )
    wait_for(lambda: "before the restart" in log_of(services, job.id), "the first cell's output")
    services.supervisor.stop_worker(timeout=30)
    # The worker is gone; the Job runs on and the job is still running in the store.
    assert cluster.api.list("jobs", NAMESPACE)
    assert services.jobs.get(job.id).status == JobStatus.RUNNING
    services.supervisor.wake()
    done = services.jobs.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.COMPLETED, done.error
    log_text = log_of(services, job.id)
    assert "re-attached after the worker restarted" in log_text
    assert log_text.index("created Job") < log_text.index("re-attached")
    # The pod's log is read again from its start: what was in the job's log is not repeated.
    assert log_text.count("cell 1 stdout: before the restart") == 1
    assert log_text.count("cell 3 stdout: after") == 1
    assert len(cluster.api.list("jobs", NAMESPACE)) == 1


# -- the emulator only: injected errors and pod states ---------------------------------------
def test_a_quota_that_refuses_the_pod_is_said_while_the_job_waits(emulator, make_emulated):
    emulator.api.create(
        "resourcequotas",
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "gpus", "namespace": NAMESPACE},
            "spec": {"hard": {"requests.nvidia.com/gpu": "0"}},
        },
        NAMESPACE,
    )
    services = make_emulated(job_resources={"cpu": "1", "memory": "1Gi", "gpus": "1"})
    job = submit(services, ["print(1)"])
    waiting = wait_for(
        lambda: "quota" in ((j := services.jobs.get(job.id)).pending_reason or "") and j,
        "the quota's refusal",
    )
    assert "exceeded quota: gpus" in waiting.pending_reason
    assert waiting.pending_reason.startswith("the namespace's quota refuses the job's pod")
    services.jobs.cancel(job.id, actor="alice")
    assert services.jobs.wait(job.id, timeout=WAIT).status == JobStatus.CANCELLED


def test_an_image_that_cannot_be_pulled_fails_the_job_with_the_registrys_message(
    emulator, make_emulated
):
    emulator.kubelet.hold = lambda pod: image_pull_failing(pod["spec"]["containers"][0]["image"])
    services = make_emulated(image_pull_timeout=1.0)
    job = submit(services, ["print(1)"], max_retries=0)
    done = services.jobs.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.FAILED
    assert done.error.ename == "ImagePullError"
    assert "The image dataops-runner:test cannot be pulled (ImagePullBackOff)" in done.error.evalue
    wait_for(lambda: not emulator.api.list("jobs", NAMESPACE), "the Job to be deleted")


def test_an_out_of_memory_kill_is_said_with_the_limit(emulator, make_emulated):
    emulator.kubelet.outcome = lambda pod: (137, "OOMKilled")
    services = make_emulated()
    job = submit(services, ["print(1)"], max_retries=0)
    done = services.jobs.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.FAILED
    assert done.error.ename == "OOMKilled"
    assert "ran out of memory (its limit is 1Gi)" in done.error.evalue


def test_rbac_refusal_fails_the_job_with_the_fix(emulator, make_emulated):
    emulator.api.inject(403, verb="create", resource="jobs")
    services = make_emulated()
    job = submit(services, ["print(1)"], max_retries=0)
    done = services.jobs.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.FAILED
    assert "may not create Job" in done.error.evalue
    assert "docs/kubernetes.md" in done.error.evalue
    assert not emulator.api.list("jobs", NAMESPACE)


def test_a_server_error_is_retried_as_a_new_attempt(emulator, make_emulated):
    emulator.api.inject(500, verb="create", resource="jobs")
    services = make_emulated()
    job = submit(services, ["print('second try')"], max_retries=1)
    done = services.jobs.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.COMPLETED, done.error
    assert done.attempt == 2
    # The first attempt's refusal is in the job's log.
    assert "The cluster's API server could not create Job" in log_of(services, job.id)
    (obj,) = emulator.api.list("jobs", NAMESPACE)
    assert obj["metadata"]["name"].endswith("-2")


def test_an_expired_watch_is_listed_again_and_the_job_still_ends(emulator, make_emulated):
    emulator.api.inject(410, verb="watch", resource="jobs", times=2)
    services = make_emulated()
    job = submit(services, ["print('watched')"])
    done = services.jobs.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.COMPLETED, done.error


def test_a_job_deleted_on_the_cluster_is_lost_not_running_forever(emulator, make_emulated):
    emulator.kubelet.hold = lambda pod: {}
    services = make_emulated()
    job = submit(services, ["print(1)"], max_retries=0)
    (obj,) = wait_for(lambda: emulator.api.list("jobs", NAMESPACE), "the Job")
    emulator.api.delete("jobs", NAMESPACE, obj["metadata"]["name"])
    done = services.jobs.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.FAILED
    assert done.error.ename == "ExecutionLost"
    assert "was deleted on the cluster" in done.error.evalue


def test_the_embedded_defaults_are_refused_at_submit_and_nothing_is_stored(tmp_path, emulator):
    root = tmp_path / "root"
    write_notebook(root / "nb.ipynb", ["print(1)"])
    dataops = DataOps(
        config=Config(
            {
                "DataOps": {"job_executor_class": "kubernetes"},
                "Kubernetes": {"api_url": emulator.api.url, "job_image": "runner:1"},
            }
        ),
        root_dir=str(root),
        data_dir=str(tmp_path / "data"),
    )
    services = Services.from_config(dataops, actor="alice")
    try:
        with pytest.raises(BackendUnavailable) as info:
            services.jobs.create(JobCreate(notebook_path="nb.ipynb"), actor="alice")
        assert "c.DataOps.job_files_url" in info.value.message
        assert "c.DataOps.store_url" in info.value.message
        assert services.jobs.list().total == 0
        assert not [r for r in emulator.api.requests if r.resource == "jobs"]
    finally:
        services.close()
    # An image without the notebook's kernel is refused too, naming the setting.
    services = make_services(tmp_path, emulator, job_kernels=["ir"])
    try:
        with pytest.raises(InvalidInput, match=r"c\.Kubernetes\.job_kernels"):
            services.jobs.create(JobCreate(notebook_path="nb.ipynb"), actor="alice")
        assert services.jobs.list().total == 0
    finally:
        services.close()


def test_a_schedule_fires_its_runs_as_kubernetes_jobs(cluster, make):
    """Schedules keep their guarantees on the cluster: the worker's firer (with its lease) fires
    each due time once and the run is a Kubernetes Job; the store has the firing and the run."""
    from jupyter_dataops.core.schedules.models import ScheduleCreate

    from .schedule_helpers import firings, make_due, past_slot

    services = make()
    write_notebook(Path(services.root) / "nb.ipynb", ["print('scheduled', n)"], parameters="n = 1")
    due, cron = past_slot()
    schedule = services.schedules.create(
        ScheduleCreate(notebook_path="nb.ipynb", cron=cron, parameters={"n": 3}), actor="alice"
    )
    make_due(services.ctx.store, [schedule.id], due)
    services.supervisor.wake()
    (firing,) = wait_for(
        lambda: [f for f in firings(services.ctx.store) if f["job_id"]], "a firing"
    )
    assert firing["outcome"] == "queued" and firing["due_at"] == due
    done = services.jobs.wait(firing["job_id"], timeout=WAIT)
    assert done.status == JobStatus.COMPLETED, done.error
    assert done.executor == "kubernetes"
    (obj,) = cluster.api.list("jobs", NAMESPACE)
    assert obj["metadata"]["labels"]["dataops.io/job-id"] == done.id
    assert "scheduled 3" in stream_text(output_of(services, done.id))
    assert len(firings(services.ctx.store)) == 1


def test_one_job_asks_for_the_cluster_while_others_run_here(tmp_path, emulator):
    """c.DataOps.job_executors: the default runs jobs on this machine, a job names "kubernetes"
    (JobCreate.executor, `dataops run --on kubernetes`, the run dialog's "Run on")."""
    services = make_services(tmp_path, emulator)
    services.close()
    dataops = services.ctx.config
    dataops.job_executor_class = "local"
    dataops.job_executors = ["kubernetes"]
    services = Services.from_config(dataops, actor="alice")
    try:
        assert [c.name for c in services.jobs.all_capabilities()] == ["local", "kubernetes"]
        write_notebook(
            Path(services.root) / "nb.ipynb",
            ["import os; print(os.environ.get('HOSTNAME', 'here'))"],
        )
        on_cluster = services.jobs.create(
            JobCreate(notebook_path="nb.ipynb", executor="kubernetes"), actor="alice"
        )
        here = services.jobs.create(JobCreate(notebook_path="nb.ipynb"), actor="alice")
        assert services.jobs.wait(on_cluster.id, timeout=WAIT).status == JobStatus.COMPLETED
        assert services.jobs.wait(here.id, timeout=WAIT).status == JobStatus.COMPLETED
        assert (on_cluster.executor, here.executor) == ("kubernetes", "local")
        (obj,) = emulator.api.list("jobs", NAMESPACE)
        assert obj["metadata"]["labels"]["dataops.io/job-id"] == on_cluster.id
        assert "created Job" in log_of(services, on_cluster.id)
        assert "created Job" not in log_of(services, here.id)
        # A re-run goes where the job ran.
        again = services.jobs.rerun(on_cluster.id, JobRerun(), actor="alice")
        assert again.executor == "kubernetes"
        assert services.jobs.wait(again.id, timeout=WAIT).status == JobStatus.COMPLETED
        # A name that is not configured is refused, naming those there are; nothing is stored.
        with pytest.raises(InvalidInput, match="jobs here run on: local, kubernetes"):
            services.jobs.create(
                JobCreate(notebook_path="nb.ipynb", executor="slurm"), actor="alice"
            )
        assert services.jobs.list().total == 3
    finally:
        stop_local_worker(services.supervisor)
        services.close()


def test_a_cluster_out_of_reach_at_restart_holds_up_only_its_own_jobs(tmp_path, emulator):
    """A worker whose cluster cannot be listed when it starts keeps running this machine's jobs;
    the cluster's job stays running in the store (not failed) and the next worker re-attaches."""
    services = make_services(tmp_path, emulator)
    services.close()
    dataops = services.ctx.config
    dataops.job_executor_class = "local"
    dataops.job_executors = ["kubernetes"]
    services = Services.from_config(dataops, actor="alice")
    try:
        write_notebook(Path(services.root) / "nb.ipynb", ["print('ran')"])
        emulator.kubelet.hold = lambda pod: {}
        remote = services.jobs.create(
            JobCreate(notebook_path="nb.ipynb", executor="kubernetes"), actor="alice"
        )
        wait_for(lambda: emulator.api.list("pods", NAMESPACE), "the cluster's pod")
        services.supervisor.stop_worker(timeout=30)
        emulator.api.inject(503, verb="list", resource="jobs", times=1000)
        local = services.jobs.create(JobCreate(notebook_path="nb.ipynb"), actor="alice")
        assert services.jobs.wait(local.id, timeout=WAIT).status == JobStatus.COMPLETED
        assert services.jobs.get(remote.id).status == JobStatus.RUNNING
        # The cluster answers again: the next worker re-attaches and the job ends.
        services.supervisor.stop_worker(timeout=30)
        emulator.api.clear_injections()
        emulator.kubelet.hold = None
        services.supervisor.wake()
        done = services.jobs.wait(remote.id, timeout=WAIT)
        assert done.status == JobStatus.COMPLETED, done.error
        # Re-attached to its Job; or, when the pod was done before the worker listed the
        # cluster (a loaded machine), ended as its result says: the log says which.
        text = log_of(services, remote.id)
        assert (
            "re-attached after the worker restarted" in text
            or "ended while no worker watched it (succeeded" in text
        ), text
    finally:
        stop_local_worker(services.supervisor)
        services.close()


def test_a_job_that_ended_and_was_removed_while_no_worker_ran_keeps_its_result(
    emulator, make_emulated
):
    """ttlSecondsAfterFinished removed the finished Job before a worker came back: its result in
    the file store says how it ended (not failed as lost)."""
    services = make_emulated()
    job = submit(services, ["import time; time.sleep(3)", "print('done')"])
    wait_for(lambda: emulator.api.list("pods", NAMESPACE), "the pod")
    services.supervisor.stop_worker(timeout=30)
    (obj,) = emulator.api.list("jobs", NAMESPACE)
    wait_for(
        lambda: (
            (emulator.api.get("jobs", NAMESPACE, obj["metadata"]["name"]) or {})
            .get("status", {})
            .get("conditions")
        ),
        "the Job to end while no worker runs",
    )
    emulator.api.delete("jobs", NAMESPACE, obj["metadata"]["name"])  # as its TTL would
    services.supervisor.wake()
    done = services.jobs.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.COMPLETED, done.error
    assert stream_text(output_of(services, job.id)) == "done\n"
    assert "attempt 1 ended while no worker watched it (succeeded" in log_of(services, job.id)


def test_an_image_pull_that_fails_once_then_works_does_not_fail_the_job(emulator, make_emulated):
    """ImagePullBackOff for a moment, then the pull works: the job runs to its end, even past
    c.Kubernetes.image_pull_timeout from the first failure."""
    import time

    first_seen: list[float] = []

    def hold(pod):
        first_seen[:] = first_seen or [time.monotonic()]
        if time.monotonic() - first_seen[0] < 1.0:
            return image_pull_failing(pod["spec"]["containers"][0]["image"])
        return None

    emulator.kubelet.hold = hold
    services = make_emulated(image_pull_timeout=2.0)
    job = submit(services, ["import time; time.sleep(4)", "print('pulled at last')"], max_retries=0)
    done = services.jobs.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.COMPLETED, done.error
    assert "cannot be pulled (ImagePullBackOff)" in log_of(services, job.id)


def test_a_job_staged_in_object_storage_can_be_run_again(tmp_path, emulator):
    """With the job files in object storage (no local path), a re-run reads the notebook the job
    staged from the store, not from a folder that is not there."""
    import uuid

    class Queue:
        """Queues only: no worker (what is queued is all this test looks at)."""

        def wake(self) -> None: ...

        def check(self) -> bool:
            return False

    services = make_services(tmp_path, emulator)
    services.close()
    dataops = services.ctx.config
    dataops.job_files_url = f"memory://dataops-{uuid.uuid4().hex}"
    services = Services.from_config(dataops, actor="alice")
    try:
        services.jobs.dispatcher = Queue()
        write_notebook(Path(services.root) / "nb.ipynb", ["print(n)"], parameters="n = 1")
        first = services.jobs.create(
            JobCreate(notebook_path="nb.ipynb", parameters={"n": 2}), actor="alice"
        )
        record = services.jobs.record(first.id)
        assert services.jobs.files(record).local_path("x") is None  # object storage indeed
        # The notebook changes afterwards; the re-run runs what the job staged.
        write_notebook(Path(services.root) / "nb.ipynb", ["print('changed')"], parameters="n = 1")
        again = services.jobs.rerun(first.id, JobRerun(parameters={"n": 3}), actor="alice")
        assert again.executor == "kubernetes"
        assert again.parameters == {"n": 3}
        files = services.jobs.files(services.jobs.record(again.id))
        staged = files.read_bytes(f"{services.jobs.record(again.id).files_key}/input.ipynb")
        assert b"print(n)" in staged and b"changed" not in staged
    finally:
        services.close()


# -- sized by a sandbox profile (--profile on the cluster) ------------------------------------
TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
AFFINITY = {
    "nodeAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {
                "weight": 50,
                "preference": {
                    "matchExpressions": [{"key": "zone", "operator": "In", "values": ["eu-1"]}]
                },
            }
        ]
    }
}
PROFILES = [
    {
        "name": "gpu",
        "cpus": "2",
        "memory": "4Gi",
        "gpus": 1,
        "gpu_type": "t4",
        "image": "registry.example.com/ml/trainer:2",
        "node_selector": {"pool": "gpu"},
        "tolerations": [TOLERATION],
        "affinity": AFFINITY,
        "packages": ["xgboost"],
    },
    {"name": "huge", "cpus": "4", "memory": "8Gi", "gpus": 4, "gpu_type": "t4"},
    {"name": "pair", "cpus": "2", "memory": "4Gi", "gpus": 2, "gpu_type": "t4"},
    {"name": "a100", "cpus": "2", "memory": "4Gi", "gpus": 1, "gpu_type": "a100"},
]
POLICY = {"gpus": {"max": 2}, "user_quota": {"gpus": 1}}


@pytest.fixture
def sized(tmp_path, emulator):
    """Services whose jobs run on the emulated cluster, with sandbox profiles and a policy."""
    services = make_services(
        tmp_path, emulator, gpu_types={"t4": {"nvidia.com/gpu.product": "Tesla-T4"}}
    )
    services.close()
    dataops = services.ctx.config
    dataops.sandbox_profiles = PROFILES
    dataops.sandbox_policy = POLICY
    services = Services.from_config(dataops, actor="alice")
    yield services
    stop_local_worker(services.supervisor)
    services.close()


def nothing_created(services: Services, emulator: Cluster) -> None:
    """No job stored or staged, no sandbox started, nothing made on the cluster."""
    assert services.jobs.list().total == 0
    files = services.ctx.files(str(services.root)).local_path("x").parent
    assert not files.exists() or not [p for p in files.rglob("*") if p.is_file()]
    assert services.sandboxes.list().items == []
    assert not [r for r in emulator.api.requests if r.verb not in ("get", "list", "watch")]


def pod_spec_of(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


def test_a_job_with_a_profile_runs_in_a_pod_sized_and_placed_like_the_profile(emulator, sized):
    """`dataops run train.ipynb --profile gpu --on kubernetes`: no sandbox starts; the Job's pod
    has the profile's CPUs and memory (requested as much as limited), its GPU as a limit, on
    the nodes of its GPU type, with its node selector, tolerations, affinity and image."""
    services = sized
    job = submit(services, ["print('trained', n)"], parameters={"n": 3}, profile="gpu")
    done = services.jobs.wait(job.id, timeout=WAIT)
    assert done.status == JobStatus.COMPLETED, done.error
    assert done.executor == "kubernetes" and done.kernel_name == "python3"
    assert "trained 3" in stream_text(output_of(services, job.id))
    assert services.sandboxes.list().items == []
    (obj,) = emulator.api.list("jobs", NAMESPACE)
    assert obj["metadata"]["labels"]["dataops.io/profile"] == "gpu"
    memory = str(4 * 2**30)
    assert pod_spec_of(obj)["containers"][0]["resources"] == {
        "requests": {"cpu": "2", "memory": memory},
        "limits": {"cpu": "2", "memory": memory, "nvidia.com/gpu": "1"},
    }
    for spec in (pod_spec_of(obj), emulator.api.list("pods", NAMESPACE)[0]["spec"]):
        (container,) = spec["containers"]
        assert container["resources"]["limits"] == {
            "cpu": "2",
            "memory": memory,
            "nvidia.com/gpu": "1",
        }
        assert container["image"] == "registry.example.com/ml/trainer:2"
        assert spec["nodeSelector"] == {"pool": "gpu", "nvidia.com/gpu.product": "Tesla-T4"}
        assert TOLERATION in spec["tolerations"]
        assert spec["affinity"] == AFFINITY
    # The record keeps the profile (as checked when it was queued); the log says it.
    kept = services.jobs.profile_of(job.id)
    assert (kept.name, kept.resources.gpus, kept.resources.gpu_type) == ("gpu", 1, "t4")
    text = log_of(services, job.id)
    assert (
        "sized by profile gpu: cpu 2, memory 4Gi, 1 nvidia.com/gpu of type t4; "
        "image registry.example.com/ml/trainer:2"
    ) in text
    assert "the profile's packages are a sandbox's" in text
    # A re-run is sized the same way (the profile checked again), on the cluster.
    again = services.jobs.rerun(job.id, JobRerun(parameters={"n": 4}), actor="alice")
    assert again.executor == "kubernetes"
    assert services.jobs.profile_of(again.id).name == "gpu"
    assert services.jobs.wait(again.id, timeout=WAIT).status == JobStatus.COMPLETED
    second = next(
        o
        for o in emulator.api.list("jobs", NAMESPACE)
        if o["metadata"]["labels"]["dataops.io/job-id"] == again.id
    )
    assert (
        pod_spec_of(second)["containers"][0]["resources"]
        == (pod_spec_of(obj)["containers"][0]["resources"])
    )
    assert pod_spec_of(second)["nodeSelector"] == pod_spec_of(obj)["nodeSelector"]
    # A re-run with a kernel named is a plain job of c.Kubernetes.job_resources.
    plain = services.jobs.rerun(job.id, JobRerun(kernel_name="python3"), actor="alice")
    assert services.jobs.profile_of(plain.id) is None


def test_a_profile_unknown_or_over_the_policy_is_refused_and_nothing_is_created(emulator, sized):
    """Checked before anything is staged, stored, started or created on the cluster, with the
    messages a sandbox start gives."""
    services = sized
    write_notebook(Path(services.root) / "nb.ipynb", ["print(1)"])

    def refused(error: type, profile: str) -> str:
        with pytest.raises(error) as info:
            services.jobs.create(
                JobCreate(notebook_path="nb.ipynb", profile=profile), actor="alice"
            )
        return info.value.message

    assert refused(NotFound, "nope") == (
        "No sandbox profile named 'nope' (there are: gpu, huge, pair, a100)."
    )
    assert refused(PolicyViolation, "huge") == (
        "The sandbox request breaks the policy: gpus 4 is over the policy's maximum of 2 by 2."
    )
    assert refused(PolicyViolation, "pair") == (
        "The sandbox would exceed a quota: User alice's quota of 1 GPU(s) would be exceeded "
        "by 1 (0 held now, 2 asked)."
    )
    assert refused(InvalidInput, "a100") == (
        "The profile 'a100' cannot size jobs on kubernetes: The cluster offers no GPU type 'a100'."
    )
    nothing_created(services, emulator)


def test_a_sandbox_stays_refused_on_the_cluster_and_a_schedules_profile_is_checked(emulator, sized):
    """A sandbox's kernel is started by this server: a cluster's job cannot use one. A
    schedule's profile sizes its runs there: checked with the policy when it is saved."""
    from jupyter_dataops.core.schedules.models import ScheduleCreate

    services = sized
    write_notebook(Path(services.root) / "nb.ipynb", ["print(1)"])
    with pytest.raises(InvalidInput) as info:
        services.jobs.create(
            JobCreate(notebook_path="nb.ipynb", sandbox="0123456789ab"), actor="alice"
        )
    assert info.value.message == (
        "Jobs on kubernetes run with the kernels of their own executions, not in sandbox "
        "0123456789ab: a sandbox's kernel is started by this server."
    )
    with pytest.raises(InvalidInput, match="A job runs in one kernel"):
        services.jobs.create(
            JobCreate(notebook_path="nb.ipynb", profile="gpu", kernel_name="python3"), actor="alice"
        )
    with pytest.raises(PolicyViolation, match="gpus 4 is over the policy's maximum of 2 by 2"):
        services.schedules.create(
            ScheduleCreate(notebook_path="nb.ipynb", cron="0 6 * * *", profile="huge"),
            actor="alice",
        )
    assert services.schedules.list().total == 0
    nothing_created(services, emulator)
    made = services.schedules.create(
        ScheduleCreate(notebook_path="nb.ipynb", cron="0 6 * * *", profile="gpu"), actor="alice"
    )
    assert made.profile == "gpu"
    services.schedules.delete(made.id, actor="alice")
