"""The sandbox policy as each namespace's ResourceQuota and LimitRange (backends/kubernetes/
quotas.py). Tier 1: the builders make the expected objects, which pass the official schemas.
Tier 2, against the validating in-memory API server: ensure creates, keeps, replaces and deletes
its pair and never touches an object of that name it did not make; the API server's admission
then refuses what the policy refuses; the Kubernetes executor ensures a namespace's pair before
its first Job."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyter_dataops.backends.kubernetes import quotas
from jupyter_dataops.backends.kubernetes.client import Cluster
from jupyter_dataops.backends.kubernetes.executor import KubernetesExecutor
from jupyter_dataops.backends.kubernetes.settings import Kubernetes
from jupyter_dataops.core.config import DataOps
from jupyter_dataops.core.errors import (
    BackendUnavailable,
    Conflict,
    InvalidInput,
    PolicyViolation,
)
from jupyter_dataops.core.jobs.executor import ExecutionRequest

from .kubeapi import KubeAPI
from .test_kube_objects import VERSIONS, validate

#: A policy that says something of everything.
POLICY = {
    "cpus": {"min": "500m", "max": 8},
    "memory": {"min": "1536Mi", "max": "64Gi"},
    "gpus": {"max": 4},
    "gpu_types": ["a100"],
    "idle_timeout": {"max": 7200},
    "user_quota": {"sandboxes": 2, "gpus": 2, "gpu_hours_per_day": 8},
    "team_quotas": {"vision": {"sandboxes": 5, "gpus": 8}, "nlp": {"sandboxes": 3}},
    "teams": {"vision": ["alice", "bob"], "nlp": ["carol"]},
}
MANAGED = {
    "app.kubernetes.io/managed-by": "jupyter-dataops",
    "app.kubernetes.io/component": "policy",
}
LIMITS = {
    "type": "Container",
    "max": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "4"},
    "min": {"cpu": "500m", "memory": "1536Mi"},
    # Without these, Kubernetes would default every container's GPUs to the maximum.
    "default": {"nvidia.com/gpu": "0"},
    "defaultRequest": {"nvidia.com/gpu": "0"},
}


def dataops(tmp_path: Path, policy: dict | None = None, **kube) -> DataOps:
    config = Config({"DataOps": {"sandbox_policy": policy or {}}, "Kubernetes": kube})
    return DataOps(config=config, root_dir=str(tmp_path), data_dir=str(tmp_path / "data"))


def policy_of(tmp_path: Path, raw: dict):
    return quotas.cluster_policy(dataops(tmp_path, raw))


def build(tmp_path: Path, raw: dict = POLICY, **where) -> list[dict]:
    values = {"namespace": "dataops-alice", "scope": "user", "user": "alice", **where}
    return quotas.namespace_policy_objects(policy_of(tmp_path, raw), **values)


def without_hash(objs: list[dict]) -> list[dict]:
    """The objects with their hash annotation checked and taken out."""
    for obj in objs:
        digest = obj["metadata"]["annotations"].pop(quotas.POLICY_HASH)
        assert re.fullmatch(r"[0-9a-f]{16}", digest)
    return objs


def meta(namespace: str, labels: dict, annotations: dict) -> dict:
    return {
        "name": "dataops-policy",
        "namespace": namespace,
        "labels": {**MANAGED, **labels},
        "annotations": annotations,
    }


# -- tier 1 ----------------------------------------------------------------------------------------


def test_a_users_namespace_gets_the_user_quota_and_the_ranges(tmp_path):
    made = build(tmp_path, labels={"cost-centre": "ml-research"})
    labels = {"cost-centre": "ml-research", "dataops.io/user": "alice"}
    assert without_hash(made) == [
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": meta("dataops-alice", labels, {"dataops.io/user": "alice"}),
            # GPUs only: sandboxes at once and GPU-hours cannot be said by a ResourceQuota.
            "spec": {"hard": {"requests.nvidia.com/gpu": "2"}},
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": meta("dataops-alice", labels, {"dataops.io/user": "alice"}),
            "spec": {"limits": [LIMITS]},
        },
    ]


def test_a_teams_namespace_gets_its_teams_quota(tmp_path):
    made = build(
        tmp_path, namespace="ml-vision", scope="team", team="vision", gpu_resource="amd.com/gpu"
    )
    limits = {
        **LIMITS,
        "max": {"cpu": "8", "memory": "64Gi", "amd.com/gpu": "4"},
        "default": {"amd.com/gpu": "0"},
        "defaultRequest": {"amd.com/gpu": "0"},
    }
    labels = {"dataops.io/team": "vision"}
    assert without_hash(made) == [
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": meta("ml-vision", labels, {"dataops.io/team": "vision"}),
            "spec": {"hard": {"requests.amd.com/gpu": "8"}},
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": meta("ml-vision", labels, {"dataops.io/team": "vision"}),
            "spec": {"limits": [limits]},
        },
    ]
    # A team whose quota caps no GPUs, and a team with no quota: the ranges only.
    for team in ("nlp", "other"):
        (only,) = build(tmp_path, namespace=f"ml-{team}", scope="team", team=team)
        assert only["kind"] == "LimitRange"


def test_a_shared_namespace_gets_the_ranges_only(tmp_path):
    made = build(tmp_path, namespace="dataops", scope="shared")
    assert without_hash(made) == [
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": meta("dataops", {}, {}),
            "spec": {"limits": [LIMITS]},
        }
    ]


def test_what_cannot_map_makes_nothing(tmp_path):
    assert build(tmp_path, {}) == []
    assert build(tmp_path, {}, namespace="dataops", scope="shared") == []
    # Only what the server enforces: sandboxes at once, GPU-hours, GPU types, lifetimes.
    server_only = {
        "user_quota": {"sandboxes": 1, "gpu_hours_per_day": 4},
        "gpu_types": ["t4"],
        "max_lifetime": {"max": 3600},
        "gpus": {"min": 1},  # a GPU minimum would refuse every container without GPUs
    }
    assert build(tmp_path, server_only) == []


def test_bounds_the_operator_left_open_stay_open(tmp_path):
    # load_policy bounds open ranges by this machine; the cluster's nodes are not this machine.
    (limit_range,) = build(tmp_path, {"cpus": {"min": 2}}, namespace="dataops", scope="shared")
    assert limit_range["spec"]["limits"] == [{"type": "Container", "min": {"cpu": "2"}}]
    # A written maximum beyond this machine is kept as written.
    (limit_range,) = build(tmp_path, {"gpus": {"max": 64}}, namespace="dataops", scope="shared")
    assert limit_range["spec"]["limits"][0]["max"] == {"nvidia.com/gpu": "64"}


def test_quantities_are_exact_strings(tmp_path):
    raw = {"cpus": {"min": 0.25, "max": "1.5"}, "memory": {"min": "1.5G", "max": "3Gi"}}
    (limit_range,) = build(tmp_path, raw)
    (item,) = limit_range["spec"]["limits"]
    assert item == {
        "type": "Container",
        "max": {"cpu": "1500m", "memory": "3Gi"},
        "min": {"cpu": "250m", "memory": "1500000000"},
    }
    # No GPUs allowed at all: a maximum of 0, and 0 by default.
    (zero,) = build(tmp_path, {"gpus": {"max": 0}})
    assert zero["spec"]["limits"][0]["max"] == {"nvidia.com/gpu": "0"}
    assert zero["spec"]["limits"][0]["default"] == {"nvidia.com/gpu": "0"}
    (none,) = build(tmp_path, {"user_quota": {"gpus": 0}})
    assert none["spec"] == {"hard": {"requests.nvidia.com/gpu": "0"}}


def test_the_hash_follows_what_the_objects_say(tmp_path):
    def digests(raw, **where):
        return [
            o["metadata"]["annotations"][quotas.POLICY_HASH] for o in build(tmp_path, raw, **where)
        ]

    same = digests(POLICY)
    assert same == digests(dict(POLICY)) and len(set(same)) == 2
    changed = digests({**POLICY, "user_quota": {"gpus": 3}})
    assert changed[0] != same[0] and changed[1] == same[1]
    assert digests(POLICY, labels={"cost-centre": "x"}) != same


@pytest.mark.parametrize(
    ("template", "scope"),
    [
        ("dataops-{user}", "user"),
        ("{team}-{user}", "user"),
        ("ml-{team}", "team"),
        ("dataops", "shared"),
    ],
)
def test_the_namespace_template_says_whose_namespace_it_is(template, scope):
    assert quotas.namespace_scope(template) == scope


def test_a_bad_policy_is_refused_naming_the_setting(tmp_path):
    with pytest.raises(InvalidInput, match=r"c\.DataOps\.sandbox_policy"):
        policy_of(tmp_path, {"memory": {"max": "64GB"}})


@pytest.mark.parametrize("version", VERSIONS)
def test_policy_objects_pass_the_official_schemas(tmp_path, version):
    variants = [
        build(tmp_path, labels={"cost-centre": "ml research"}),
        build(tmp_path, namespace="ml-vision", scope="team", team="vision"),
        build(tmp_path, namespace="dataops", scope="shared", gpu_resource="amd.com/gpu"),
        build(tmp_path, {"cpus": {"min": 0.25, "max": "1.5"}, "memory": {"min": "1.5G"}}),
        build(tmp_path, user="CN=Alice Smith,OU=ML,DC=corp"),
    ]
    checked = 0
    for objs in variants:
        for obj in objs:
            validate(obj, version)
            checked += 1
    assert checked == 8


# -- tier 2 ----------------------------------------------------------------------------------------
NAMESPACE = "dataops-alice"


@pytest.fixture
def api():
    with KubeAPI() as server:
        for name in (NAMESPACE, "dataops-bob"):
            server.create(
                "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            )
        yield server


@pytest.fixture
def cluster(api):
    made = Cluster(Kubernetes(api_url=api.url, namespace="dataops-{user}"))
    yield made
    made.close()


def writes(api: KubeAPI) -> list[tuple[str, str, str | None]]:
    return [
        (r.verb, r.resource, r.query.get("fieldValidation"))
        for r in api.requests
        if r.verb in ("create", "update", "patch", "delete")
    ]


def versions(api: KubeAPI) -> dict[str, str]:
    return {
        kind: api.get(kind, NAMESPACE, "dataops-policy")["metadata"]["resourceVersion"]
        for kind in ("resourcequotas", "limitranges")
    }


def test_ensure_creates_keeps_replaces_and_deletes_its_pair(tmp_path, api, cluster):
    before = len(writes(api))
    done = quotas.ensure_namespace_policy(cluster, NAMESPACE, build(tmp_path))
    assert done == [
        f"created ResourceQuota dataops-policy in namespace {NAMESPACE} from c.DataOps.sandbox_policy",
        f"created LimitRange dataops-policy in namespace {NAMESPACE} from c.DataOps.sandbox_policy",
    ]
    assert writes(api)[before:] == [
        ("create", "resourcequotas", "Strict"),
        ("create", "limitranges", "Strict"),
    ]
    quota = api.get("resourcequotas", NAMESPACE, "dataops-policy")
    assert quota["spec"] == {"hard": {"requests.nvidia.com/gpu": "2"}}
    assert quota["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "jupyter-dataops"
    first = versions(api)

    # The same policy again: nothing written.
    before = len(writes(api))
    assert quotas.ensure_namespace_policy(cluster, NAMESPACE, build(tmp_path)) == []
    assert writes(api)[before:] == []
    assert versions(api) == first

    # A changed policy replaces them (the same objects, a new spec).
    uid = quota["metadata"]["uid"]
    changed = {**POLICY, "user_quota": {"gpus": 1}, "cpus": {"max": 4}}
    done = quotas.ensure_namespace_policy(cluster, NAMESPACE, build(tmp_path, changed))
    assert [line.split(":")[0] for line in done] == [
        f"replaced ResourceQuota dataops-policy in namespace {NAMESPACE}",
        f"replaced LimitRange dataops-policy in namespace {NAMESPACE}",
    ]
    quota = api.get("resourcequotas", NAMESPACE, "dataops-policy")
    assert quota["metadata"]["uid"] == uid
    assert quota["spec"] == {"hard": {"requests.nvidia.com/gpu": "1"}}
    limit_range = api.get("limitranges", NAMESPACE, "dataops-policy")
    assert limit_range["spec"]["limits"][0]["max"] == {
        "cpu": "4",
        "memory": "64Gi",
        "nvidia.com/gpu": "4",
    }
    assert versions(api) != first

    # A policy that maps to nothing here: the pair goes.
    done = quotas.ensure_namespace_policy(cluster, NAMESPACE, build(tmp_path, {}))
    assert [line.split(" (")[0] for line in done] == [
        f"deleted ResourceQuota dataops-policy in namespace {NAMESPACE}",
        f"deleted LimitRange dataops-policy in namespace {NAMESPACE}",
    ]
    assert api.list("resourcequotas", NAMESPACE) == api.list("limitranges", NAMESPACE) == []


def test_an_object_of_that_name_that_is_not_ours_is_left_alone(tmp_path, api, cluster):
    theirs = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "dataops-policy", "labels": {"owner": "platform-team"}},
        "spec": {"limits": [{"type": "Container", "max": {"cpu": "16"}}]},
    }
    stored = api.create("limitranges", theirs, NAMESPACE)
    done = quotas.ensure_namespace_policy(cluster, NAMESPACE, build(tmp_path))
    assert done[0].startswith(f"created ResourceQuota dataops-policy in namespace {NAMESPACE}")
    assert done[1] == (
        f"LimitRange dataops-policy in namespace {NAMESPACE} was not made by jupyter-dataops: it "
        "is left alone, and the sandbox policy's limits are not set on the cluster there (the "
        "server still checks them)"
    )
    assert api.get("limitranges", NAMESPACE, "dataops-policy") == stored
    # Nor deleted when the policy maps to nothing; ours is.
    assert len(quotas.ensure_namespace_policy(cluster, NAMESPACE, [])) == 1
    assert api.get("limitranges", NAMESPACE, "dataops-policy") == stored
    assert api.list("resourcequotas", NAMESPACE) == []


def test_the_api_server_then_refuses_what_the_policy_refuses(tmp_path, api, cluster):
    raw = {
        "cpus": {"max": 2},
        "memory": {"max": "4Gi"},
        "gpus": {"max": 2},
        "user_quota": {"gpus": 2},
    }
    quotas.ensure_namespace_policy(cluster, NAMESPACE, build(tmp_path, raw))
    core = cluster.core()

    def pod(name, **limits):
        resources = {
            "limits": limits,
            "requests": {k: v for k, v in limits.items() if "/" not in k},
        }
        container = {"name": "main", "image": "runner:1", "resources": resources}
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {"containers": [container]},
        }

    def create(body):
        return cluster.call(
            core.create_namespaced_pod,
            NAMESPACE,
            body,
            action=f"create Pod {body['metadata']['name']}",
            namespace=NAMESPACE,
        )

    # Over the LimitRange's maximum: the API server's message, as the core's PolicyViolation.
    with pytest.raises(PolicyViolation) as info:
        create(pod("big", cpu="4", memory="1Gi"))
    assert "maximum cpu usage per Container is 2, but limit is 4" in info.value.message
    assert info.value.message.startswith(f"The namespace's limits in namespace {NAMESPACE}")
    with pytest.raises(
        PolicyViolation, match=r"maximum nvidia\.com/gpu usage per Container is 2, but limit is 3"
    ):
        create(pod("greedy", cpu="1", memory="1Gi", **{"nvidia.com/gpu": "3"}))

    # A pod without GPUs gets none by default (not the maximum), and uses none of the quota.
    plain = create(pod("plain", cpu="1", memory="1Gi"))
    assert plain.spec.containers[0].resources.limits["nvidia.com/gpu"] == "0"
    # Within the quota, then over it: the quota's own message.
    create(pod("two-gpus", cpu="1", memory="1Gi", **{"nvidia.com/gpu": "2"}))
    with pytest.raises(PolicyViolation) as info:
        create(pod("one-more", cpu="1", memory="1Gi", **{"nvidia.com/gpu": "1"}))
    assert info.value.message.endswith(
        'pods "one-more" is forbidden: exceeded quota: dataops-policy, requested: '
        "requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=2, limited: "
        "requests.nvidia.com/gpu=2"
    )


def test_refusals_are_translated_and_name_the_rbac(tmp_path, api, cluster):
    api.inject(403, verb="create", resource="resourcequotas", namespace=NAMESPACE)
    with pytest.raises(BackendUnavailable) as info:
        quotas.ensure_namespace_policy(cluster, NAMESPACE, build(tmp_path))
    assert info.value.message.startswith(
        f"The server's service account may not create ResourceQuota dataops-policy in namespace {NAMESPACE}"
    )
    assert f"kubectl apply -n {NAMESPACE} -f rbac.yaml" in info.value.hint
    objs = quotas.namespace_policy_objects(
        policy_of(tmp_path, POLICY), namespace="nowhere", scope="user", user="x"
    )
    with pytest.raises(BackendUnavailable, match="Namespace nowhere does not exist"):
        quotas.ensure_namespace_policy(cluster, "nowhere", objs)


def test_ensure_for_runs_once_per_namespace_and_again_when_the_policy_changes(
    tmp_path, api, cluster
):
    settings = cluster.settings
    ops = dataops(tmp_path, POLICY)
    assert len(quotas.ensure_for(cluster, settings, ops, namespace=NAMESPACE, user="alice")) == 2
    before = len(api.requests)
    assert quotas.ensure_for(cluster, settings, ops, namespace=NAMESPACE, user="alice") == []
    assert len(api.requests) == before  # not even a read
    # Another namespace is its own; bob's quota is the user quota too.
    assert len(quotas.ensure_for(cluster, settings, ops, namespace="dataops-bob", user="bob")) == 2
    # A changed policy: ensured again.
    changed = dataops(tmp_path, {**POLICY, "user_quota": {"gpus": 1}})
    (line,) = quotas.ensure_for(cluster, settings, changed, namespace=NAMESPACE, user="alice")
    assert line.startswith("replaced ResourceQuota")
    # Off: nothing is looked at.
    off = Kubernetes(api_url=api.url, namespace="dataops-{user}", namespace_policy=False)
    before = len(api.requests)
    assert quotas.ensure_for(Cluster(off), off, ops, namespace="dataops-bob", user="bob") == []
    assert len(api.requests) == before


def test_with_nothing_to_enforce_a_refusal_to_look_is_only_logged(tmp_path, api, cluster, caplog):
    # A cluster whose RBAC predates the policy objects keeps running jobs under an empty policy.
    api.inject(403, verb="get", resource="resourcequotas", namespace=NAMESPACE)
    done = quotas.ensure_for(
        cluster, cluster.settings, dataops(tmp_path), namespace=NAMESPACE, user="alice"
    )
    assert done == []
    assert "could not look for the sandbox policy's objects" in caplog.text
    # With something to enforce, the same refusal fails.
    api.inject(403, verb="get", resource="resourcequotas", namespace="dataops-bob")
    with pytest.raises(BackendUnavailable, match="may not read ResourceQuota"):
        quotas.ensure_for(
            cluster,
            cluster.settings,
            dataops(tmp_path, POLICY),
            namespace="dataops-bob",
            user="bob",
        )


@pytest.fixture
def executor(tmp_path, api):
    """The Kubernetes executor, in this process, as the worker runs it (per-user namespaces)."""
    ops = dataops(
        tmp_path,
        POLICY,
        api_url=api.url,
        namespace="dataops-{user}",
        job_image="dataops-runner:test",
        files_volume="dataops-files",
        server_url="http://jupyter.dataops.svc:8888",
        job_resources={"cpu": "1", "memory": "2Gi"},
    )
    ops.job_files_url = f"file://{tmp_path / 'files'}"
    ops.mlflow_tracking_uri = "http://mlflow.dataops.svc:5000"
    ops.mlflow_artifact_location = "mlflow-artifacts:/"
    made = KubernetesExecutor(parent=ops, dataops=ops)
    made.open(lambda update: None)
    yield made
    made.close()


def attempt(tmp_path: Path, job_id: str) -> ExecutionRequest:
    return ExecutionRequest(
        execution_id=f"{job_id}-1",
        job_id=job_id,
        attempt=1,
        notebook_path="nb.ipynb",
        root_dir=str(tmp_path),
        kernel_name="python3",
        parameters={},
        input_uri="",
        output_uri="",
        log_uri="",
        cells_total=1,
        files_key=f"jobs/{job_id}",
        keys={
            "input": f"jobs/{job_id}/input.ipynb",
            "output": f"jobs/{job_id}/output.ipynb",
            "log": f"jobs/{job_id}/job.log",
        },
        user="alice",
    )


def job_log(tmp_path: Path, job_id: str) -> str:
    return (tmp_path / "files" / "jobs" / job_id / "job.log").read_text()


def test_the_executor_ensures_the_namespace_policy_before_its_first_job(tmp_path, api, executor):
    for job_id in ("1a2b3c4d5e6f", "2b3c4d5e6f7a"):
        executor.start(attempt(tmp_path, job_id))
    creates = [r.resource for r in api.requests if r.verb == "create"]
    # The pair first, once; then the Jobs.
    assert creates == ["resourcequotas", "limitranges", "jobs", "jobs"]
    assert [r.verb for r in api.requests if r.resource == "resourcequotas"] == ["get", "create"]
    first = job_log(tmp_path, "1a2b3c4d5e6f")
    assert f"created ResourceQuota dataops-policy in namespace {NAMESPACE}" in first
    assert first.index("created LimitRange") < first.index("created Job")
    assert "dataops-policy" not in job_log(tmp_path, "2b3c4d5e6f7a")
    # The Job's pod is admitted under the LimitRange made for it, with no GPU by default.
    pod = api.job_controller_step(NAMESPACE, "dataops-job-1a2b3c4d5e6f-1")
    assert pod is not None
    assert pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "0"


def test_a_refused_policy_fails_the_attempt_before_any_job(tmp_path, api, executor):
    api.inject(403, verb="create", resource="limitranges", namespace=NAMESPACE)
    with pytest.raises(BackendUnavailable, match="may not create LimitRange dataops-policy"):
        executor.start(attempt(tmp_path, "1a2b3c4d5e6f"))
    assert api.list("jobs", NAMESPACE) == []
    assert "attempt 1: The server's service account may not create LimitRange" in job_log(
        tmp_path, "1a2b3c4d5e6f"
    )


def test_the_docs_example_is_what_the_builder_makes(tmp_path):
    import yaml

    text = (Path(__file__).resolve().parent.parent / "docs" / "kubernetes.md").read_text()
    section = text[text.index("## Policy as quotas") : text.index("## When the cluster says no")]
    (python,) = re.findall(r"^```python\n(.*?)^```", section, re.S | re.M)
    (manifest,) = re.findall(r"^```yaml\n(.*?)^```", section, re.S | re.M)
    config = Config()
    exec(python, {"c": config})
    ops = DataOps(config=config, root_dir=str(tmp_path), data_dir=str(tmp_path / "data"))
    made = quotas.namespace_policy_objects(
        quotas.cluster_policy(ops), namespace="dataops-alice", scope="user", user="alice"
    )
    assert list(yaml.safe_load_all(manifest)) == made


def test_a_write_that_races_another_process_looks_again(tmp_path, api, cluster):
    # Another worker created it between the read and the create: read again, and it matches.
    api.inject(409, verb="create", resource="resourcequotas", namespace=NAMESPACE)
    done = quotas.ensure_namespace_policy(cluster, NAMESPACE, build(tmp_path))
    assert [line.split(" in ")[0] for line in done] == [
        "created ResourceQuota dataops-policy",
        "created LimitRange dataops-policy",
    ]
    # Something that keeps writing it is named, not fought forever.
    api.inject(409, verb="update", resource="limitranges", namespace=NAMESPACE, times=2)
    with pytest.raises(Conflict, match="keeps changing"):
        quotas.ensure_namespace_policy(cluster, NAMESPACE, build(tmp_path, {"cpus": {"max": 1}}))
