"""The validating Kubernetes API emulator (tests/kubeapi.py), through the official client."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import kubernetes.client as k8s
import pydantic
import pytest
from kubernetes import dynamic, watch

from .kubeapi import KubeAPI, StatusError, kserve_crd

VERSIONS = [
    pytest.param({"version": "1.29"}, id="1.29"),
    pytest.param({"version": "1.37"}, id="1.37"),
]


@pytest.fixture
def api(request: pytest.FixtureRequest) -> Iterator[KubeAPI]:
    """An emulator; parametrize indirectly with KubeAPI's keyword arguments."""
    with KubeAPI(**getattr(request, "param", {})) as server:
        yield server


@pytest.fixture
def client(api: KubeAPI) -> Iterator[k8s.ApiClient]:
    with api.api_client() as api_client:
        yield api_client


# --- manifests ----------------------------------------------------------------------------------


def container(name: str = "main", **fields: Any) -> dict:
    return {"name": name, "image": "python:3.11", **fields}


def job(name: str = "train", *, labels: dict | None = None, **pod_spec: Any) -> dict:
    pod_spec = {"restartPolicy": "Never", "containers": [container()], **pod_spec}
    metadata = {"name": name, **({"labels": labels} if labels else {})}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": {"template": {"spec": pod_spec}},
    }


def gpu_job(name: str = "train", *, limits: Any = "1", requests: Any = None) -> dict:
    resources = {"limits": {"nvidia.com/gpu": limits}} if limits is not None else {}
    if requests is not None:
        resources["requests"] = {"nvidia.com/gpu": requests}
    return job(name, containers=[container(resources=resources)])


def job_with(name: str = "train", **job_spec: Any) -> dict:
    manifest = job(name)
    manifest["spec"].update(job_spec)
    return manifest


def pod(name: str, *, labels: dict | None = None, **pod_spec: Any) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, **({"labels": labels} if labels else {})},
        "spec": {"containers": [container()], **pod_spec},
    }


def cronjob(name: str = "nightly", schedule: str = "0 3 * * *", **spec: Any) -> dict:
    template = job()["spec"]
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {"schedule": schedule, "jobTemplate": {"spec": template}, **spec},
    }


def deployment(
    name: str = "web", *, selector: dict | None = None, labels: dict | None = None, **pod_spec: Any
) -> dict:
    labels = labels or {"app": name}
    spec: dict[str, Any] = {
        "replicas": 2,
        "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [container(ports=[{"containerPort": 8080}])], **pod_spec},
        },
    }
    if selector != {}:
        spec["selector"] = selector or {"matchLabels": labels}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def service(name: str = "web", port: int = 80) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": port, "targetPort": 8080}]},
    }


def hpa(name: str = "web", min_replicas: int = 1, max_replicas: int = 5) -> dict:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def pvc(name: str = "data", **resources: Any) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": resources or {"requests": {"storage": "10Gi"}},
        },
    }


def namespace(api: KubeAPI, name: str = "team") -> None:
    api.create("namespaces", {"metadata": {"name": name}})


def assert_rejected(
    api: KubeAPI, call: Callable[[], Any], status: int, reason: str, *fragments: str
) -> dict:
    """The call fails with a real server's Status naming what is wrong, and writes nothing."""
    before = api.resource_version
    with pytest.raises(k8s.ApiException) as caught:
        call()
    assert caught.value.status == status, caught.value.body
    body = json.loads(caught.value.body)
    assert (body["kind"], body["status"], body["code"], body["reason"]) == (
        "Status",
        "Failure",
        status,
        reason,
    )
    text = body["message"] + json.dumps(body.get("details", {}))
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    assert api.resource_version == before  # every write bumps it: nothing was stored
    return body


def stream(func: Callable[..., Any], *args: Any, count: int, **kwargs: Any) -> list[dict]:
    """The first ``count`` watch events (bounded by a server-side timeout)."""
    events = []
    watcher = watch.Watch()
    for event in watcher.stream(func, *args, timeout_seconds=5, **kwargs):
        events.append(event)
        if len(events) == count:
            watcher.stop()
    return events


# --- discovery and bookkeeping ------------------------------------------------------------------


def test_discovery_serves_the_resources_to_the_official_client(
    api: KubeAPI, client: k8s.ApiClient, tmp_path: Any
) -> None:
    assert k8s.CoreApi(client).get_api_versions().versions == ["v1"]
    groups = {group.name for group in k8s.ApisApi(client).get_api_versions().groups}
    assert groups == {"batch", "apps", "autoscaling", "coordination.k8s.io"}
    batch = {r.name: r for r in k8s.BatchV1Api(client).get_api_resources().resources}
    assert {"jobs", "jobs/status", "cronjobs"} <= set(batch)
    assert batch["jobs"].kind == "Job" and batch["jobs"].namespaced
    core = k8s.CoreV1Api(client).get_api_resources()
    assert core.group_version == "v1"
    assert {"pods", "pods/log", "pods/status", "namespaces", "resourcequotas"} <= {
        r.name for r in core.resources
    }
    assert next(r for r in core.resources if r.name == "namespaces").namespaced is False
    version = k8s.VersionApi(client).get_code()
    assert (version.major, version.minor) == ("1", "29")

    # The dynamic client finds resources through discovery.
    resources = dynamic.DynamicClient(client, cache_file=str(tmp_path / "discovery.json")).resources
    jobs = resources.get(api_version="batch/v1", kind="Job")
    assert jobs.namespaced and "status" in jobs.subresources
    assert "log" in resources.get(api_version="v1", kind="Pod").subresources
    assert resources.get(api_version="coordination.k8s.io/v1", kind="Lease").name == "leases"


def test_objects_get_server_fields_and_round_trip(api: KubeAPI, client: k8s.ApiClient) -> None:
    batch, core = k8s.BatchV1Api(client), k8s.CoreV1Api(client)
    start = int(core.list_namespace().metadata.resource_version)

    created, code, _ = batch.create_namespaced_job_with_http_info(
        "default", job(), field_validation="Strict"
    )
    assert code == 201
    assert (created.kind, created.api_version) == ("Job", "batch/v1")
    assert created.metadata.namespace == "default"
    assert created.metadata.uid and created.metadata.generation == 1
    assert int(created.metadata.resource_version) == start + 1
    assert created.metadata.creation_timestamp.tzinfo is not None
    # The server's defaults and generated selector, as a real one gives them.
    uid = created.metadata.uid
    assert created.spec.backoff_limit == 6 and created.spec.completions == 1
    assert created.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": uid}
    assert created.spec.template.metadata.labels == {
        "batch.kubernetes.io/controller-uid": uid,
        "controller-uid": uid,
        "batch.kubernetes.io/job-name": "train",
        "job-name": "train",
    }
    raw = api.get("jobs", "default", "train")
    assert raw["metadata"]["creationTimestamp"].endswith("Z")

    fetched = batch.read_namespaced_job("train", "default")
    assert fetched.metadata.resource_version == created.metadata.resource_version
    listed = batch.list_namespaced_job("default")
    assert (listed.kind, listed.api_version) == ("JobList", "batch/v1")
    assert listed.metadata.resource_version == str(start + 1)
    assert [j.metadata.name for j in listed.items] == ["train"]

    # A spec change bumps the generation, a status change does not; both bump the version.
    patched = batch.patch_namespaced_job("train", "default", {"spec": {"parallelism": 2}})
    assert (patched.metadata.generation, patched.metadata.resource_version) == (2, str(start + 2))
    status = batch.patch_namespaced_job_status("train", "default", {"status": {"active": 1}})
    assert (status.metadata.generation, status.status.active) == (2, 1)
    assert status.metadata.resource_version == str(start + 3)
    json_patched = batch.patch_namespaced_job(
        "train", "default", [{"op": "replace", "path": "/spec/parallelism", "value": 3}]
    )
    assert json_patched.spec.parallelism == 3 and json_patched.status.active == 1

    assert_rejected(
        api,
        lambda: batch.create_namespaced_job("default", job()),
        409,
        "AlreadyExists",
        'jobs.batch "train" already exists',
    )
    batch.delete_namespaced_job("train", "default", propagation_policy="Background")
    assert_rejected(
        api,
        lambda: batch.read_namespaced_job("train", "default"),
        404,
        "NotFound",
        'jobs.batch "train" not found',
    )
    assert_rejected(
        api,
        lambda: batch.delete_namespaced_job("train", "default"),
        404,
        "NotFound",
        'jobs.batch "train" not found',
    )


def test_namespaces_must_exist_and_names_can_be_generated(
    api: KubeAPI, client: k8s.ApiClient
) -> None:
    core = k8s.CoreV1Api(client)
    assert_rejected(
        api,
        lambda: core.create_namespaced_config_map("nowhere", {"metadata": {"name": "settings"}}),
        404,
        "NotFound",
        'namespaces "nowhere" not found',
    )
    created = core.create_namespace({"metadata": {"name": "team"}})
    assert created.status.phase == "Active"
    assert created.metadata.labels == {"kubernetes.io/metadata.name": "team"}
    # The service account controller's default account comes with it.
    assert [a.metadata.name for a in core.list_namespaced_service_account("team").items] == [
        "default"
    ]
    generated = core.create_namespaced_pod(
        "team", {"metadata": {"generateName": "worker-"}, "spec": {"containers": [container()]}}
    )
    name = generated.metadata.name
    assert name.startswith("worker-") and len(name) == len("worker-") + 5
    assert (generated.status.phase, generated.spec.service_account_name) == ("Pending", "default")


def test_label_and_field_selectors(api: KubeAPI, client: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(client)
    for name, labels in [
        ("a", {"app": "web", "tier": "front"}),
        ("b", {"app": "web", "tier": "back"}),
        ("c", {"app": "db"}),
        ("d", None),
    ]:
        api.create("pods", pod(name, labels=labels), "default")
    api.patch_status("pods", "default", "a", {"phase": "Running"})

    def names(**selectors: str) -> list[str]:
        return sorted(
            p.metadata.name for p in core.list_namespaced_pod("default", **selectors).items
        )

    assert names(label_selector="app=web") == ["a", "b"]
    assert names(label_selector="app==web") == ["a", "b"]
    assert names(label_selector="app!=web") == ["c", "d"]
    assert names(label_selector="tier in (front, back)") == ["a", "b"]
    assert names(label_selector="tier notin (front)") == ["b", "c", "d"]
    assert names(label_selector="tier") == ["a", "b"]
    assert names(label_selector="!tier") == ["c", "d"]
    assert names(label_selector="app=web,tier!=back") == ["a"]
    assert names(field_selector="status.phase=Running") == ["a"]
    assert names(field_selector="status.phase!=Running,metadata.name!=d") == ["b", "c"]
    assert names(field_selector="metadata.namespace=default", label_selector="app=db") == ["c"]
    assert [p["metadata"]["name"] for p in api.list("pods", "default", "tier=back")] == ["b"]

    assert_rejected(
        api,
        lambda: core.list_namespaced_pod("default", field_selector="spec.foo=1"),
        400,
        "BadRequest",
        "field label not supported: spec.foo",
    )
    assert_rejected(
        api,
        lambda: core.list_namespaced_pod("default", label_selector="app in (a"),
        400,
        "BadRequest",
        "unable to parse requirement",
    )


# --- watches ------------------------------------------------------------------------------------


def test_watch_from_a_resource_version_sends_only_newer_events(
    api: KubeAPI, client: k8s.ApiClient
) -> None:
    core = k8s.CoreV1Api(client)
    api.create("pods", pod("old"), "default")
    since = core.list_namespaced_pod("default").metadata.resource_version
    api.create("pods", pod("new"), "default")
    api.patch_status("pods", "default", "new", {"phase": "Running"})
    api.delete("pods", "default", "old")

    events = stream(core.list_namespaced_pod, "default", resource_version=since, count=3)
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "new"),
        ("MODIFIED", "new"),
        ("DELETED", "old"),
    ]
    assert events[1]["object"].status.phase == "Running"
    versions = [int(e["object"].metadata.resource_version) for e in events]
    assert versions == sorted(versions) and versions[0] > int(since)
    assert events[0]["raw_object"]["kind"] == "Pod"

    # Without a version, the current state comes first as ADDED events.
    current = stream(core.list_namespaced_pod, "default", count=1)
    assert [(e["type"], e["object"].metadata.name) for e in current] == [("ADDED", "new")]


def test_watch_follows_selectors_across_namespaces_and_times_out(
    api: KubeAPI, client: k8s.ApiClient
) -> None:
    batch, core = k8s.BatchV1Api(client), k8s.CoreV1Api(client)
    namespace(api)
    since = batch.list_job_for_all_namespaces().metadata.resource_version
    batch.create_namespaced_job("default", job("one"))
    batch.create_namespaced_job("team", job("two"))
    events = stream(batch.list_job_for_all_namespaces, resource_version=since, count=2)
    assert [(e["object"].metadata.namespace, e["object"].metadata.name) for e in events] == [
        ("default", "one"),
        ("team", "two"),
    ]

    # An object leaving a watch's selection is DELETED for that watch.
    api.create("pods", pod("p", labels={"app": "web"}), "team")
    since = core.list_namespaced_pod("team").metadata.resource_version
    api.patch("pods", "team", "p", {"metadata": {"labels": {"app": "db"}}})
    left = stream(
        core.list_namespaced_pod, "team", label_selector="app=web", resource_version=since, count=1
    )
    # As the real watch cache does: the object as it was, at the version of the change.
    assert [(e["type"], e["object"].metadata.labels) for e in left] == [("DELETED", {"app": "web"})]
    assert left[0]["object"].metadata.resource_version == str(api.resource_version)

    started = time.monotonic()
    assert list(watch.Watch().stream(core.list_namespaced_pod, "default", timeout_seconds=1)) == []
    assert 0.9 < time.monotonic() - started < 3


def test_compaction_expires_older_watches_inside_the_stream(
    api: KubeAPI, client: k8s.ApiClient
) -> None:
    core = k8s.CoreV1Api(client)
    since = core.list_namespaced_pod("default").metadata.resource_version
    api.create("pods", pod("p"), "default")
    compacted = api.compact()

    # The watch starts (200) and gets a single ERROR event with an Expired Status.
    response = core.list_namespaced_pod(
        "default", watch=True, resource_version=since, _preload_content=False
    )
    assert response.status == 200
    lines = response.data.decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "type": "ERROR",
            "object": {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": f"too old resource version: {since} ({compacted})",
                "reason": "Expired",
                "code": 410,
            },
        }
    ]
    with pytest.raises(k8s.ApiException) as caught:
        list(
            watch.Watch().stream(
                core.list_namespaced_pod, "default", resource_version=since, timeout_seconds=5
            )
        )
    assert caught.value.status == 410 and "too old resource version" in caught.value.reason

    # From the compaction point on, watching works.
    api.create("pods", pod("q"), "default")
    events = stream(core.list_namespaced_pod, "default", resource_version=str(compacted), count=1)
    assert [e["object"].metadata.name for e in events] == ["q"]


# --- validation ---------------------------------------------------------------------------------


def create_job(manifest: dict) -> Callable[[k8s.ApiClient], Any]:
    return create_with("BatchV1Api.create_namespaced_job", manifest)


def create_raw(
    group: str, version: str, plural: str, manifest: dict
) -> Callable[[k8s.ApiClient], Any]:
    """Sent as is: the typed API would refuse unknown fields and wrong types client-side."""
    return lambda c: k8s.CustomObjectsApi(c).create_namespaced_custom_object(
        group, version, "default", plural, manifest, field_validation="Strict"
    )


def create_with(method: str, manifest: dict) -> Callable[[k8s.ApiClient], Any]:
    apis = {
        "AppsV1Api": k8s.AppsV1Api,
        "CoreV1Api": k8s.CoreV1Api,
        "BatchV1Api": k8s.BatchV1Api,
        "AutoscalingV2Api": k8s.AutoscalingV2Api,
    }
    api_name, name = method.split(".")
    return lambda c: getattr(apis[api_name](c), name)(
        "default", manifest, field_validation="Strict"
    )


C0 = "spec.template.spec.containers[0]"

BROKEN = [
    pytest.param(
        create_raw("batch", "v1", "jobs", job(containers=[container(imagePullPolicyy="Always")])),
        400, "BadRequest", [f'strict decoding error: unknown field "{C0}.imagePullPolicyy"'],
        id="typo-with-strict",
    ),
    pytest.param(
        create_raw("batch", "v1", "jobs", {**job(), "spec": {**job()["spec"], "parallelism": "two"}}),
        422, "Invalid", ['spec.parallelism: Invalid value: "two"'], id="wrong-type",
    ),
    pytest.param(
        create_job(gpu_job(limits="0.5")), 422, "Invalid",
        [f'{C0}.resources.limits[nvidia.com/gpu]: Invalid value: "500m": must be an integer'],
        id="fractional-gpu",
    ),
    pytest.param(
        create_job(gpu_job(limits="1", requests="2")), 422, "Invalid",
        [f'{C0}.resources.requests: Invalid value: "2": must be equal to nvidia.com/gpu limit of 1'],
        id="gpu-request-not-limit",
    ),
    pytest.param(
        create_job(gpu_job(limits=None, requests="1")), 422, "Invalid",
        [f"{C0}.resources.limits: Required value: Limit must be set for non overcommitable resources"],
        id="gpu-request-without-limit",
    ),
    pytest.param(
        create_job(job(restartPolicy="Always")), 422, "Invalid",
        ['Job.batch "train" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"'],
        id="job-restart-always",
    ),
    pytest.param(
        create_job({**job(), "spec": {"template": {"spec": {"containers": [container()]}}}}),
        422, "Invalid", ['spec.template.spec.restartPolicy: Unsupported value: "Always"'],
        id="job-restart-unset",
    ),
    pytest.param(
        create_job(job("Train")), 422, "Invalid",
        ['metadata.name: Invalid value: "Train": a lowercase RFC 1123 subdomain must consist of'],
        id="name-uppercase",
    ),
    pytest.param(
        create_job(job("my_job")), 422, "Invalid", ['metadata.name: Invalid value: "my_job"'],
        id="name-underscore",
    ),
    pytest.param(
        create_job(job("j" * 64)), 422, "Invalid",
        [f'metadata.name: Invalid value: "{"j" * 64}": must be no more than 63 characters'],
        id="job-name-too-long",
    ),
    pytest.param(
        create_with("BatchV1Api.create_namespaced_cron_job", cronjob("c" * 53)), 422, "Invalid",
        ["metadata.name", "must be no more than 52 characters"], id="cronjob-name-too-long",
    ),
    pytest.param(
        create_job(job(labels={"team": "data science"})), 422, "Invalid",
        ['metadata.labels: Invalid value: "data science": a valid label must be an empty string'],
        id="bad-label-value",
    ),
    pytest.param(
        create_job(job(labels={"-team": "x"})), 422, "Invalid",
        ['metadata.labels: Invalid value: "-team": name part must consist of'],
        id="bad-label-key",
    ),
    pytest.param(
        create_with("AppsV1Api.create_namespaced_deployment", deployment(selector={"matchLabels": {"app": "api"}})),
        422, "Invalid",
        ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`'],
        id="deployment-selector-mismatch",
    ),
    pytest.param(
        create_raw("apps", "v1", "deployments", deployment(selector={})),
        422, "Invalid", ["spec.selector: Required value"], id="deployment-without-selector",
    ),
    pytest.param(
        create_job(job(containers=[container(volumeMounts=[{"name": "data", "mountPath": "/data"}])])),
        422, "Invalid", [f'{C0}.volumeMounts[0].name: Not found: "data"'],
        id="volume-mount-without-volume",
    ),
    pytest.param(
        create_with("BatchV1Api.create_namespaced_cron_job", cronjob(schedule="61 * * * *")),
        422, "Invalid", ['spec.schedule: Invalid value: "61 * * * *"'], id="cron-out-of-range",
    ),
    pytest.param(
        create_with("BatchV1Api.create_namespaced_cron_job", cronjob(schedule="0 0 3 * * *")),
        422, "Invalid", ['spec.schedule: Invalid value: "0 0 3 * * *": expected exactly 5 fields'],
        id="cron-six-fields",
    ),
    pytest.param(
        create_with("BatchV1Api.create_namespaced_cron_job", cronjob(concurrencyPolicy="Sometimes")),
        422, "Invalid", ['spec.concurrencyPolicy: Unsupported value: "Sometimes"'],
        id="cron-concurrency-policy",
    ),
    pytest.param(
        create_job(job(containers=[container(), container()])), 422, "Invalid",
        ['spec.template.spec.containers[1].name: Duplicate value: "main"'],
        id="duplicate-container-names",
    ),
    pytest.param(
        create_job(job(initContainers=[container()])), 422, "Invalid",
        ['spec.template.spec.containers[0].name: Duplicate value: "main"'],
        id="init-container-same-name",
    ),
    pytest.param(
        create_job(job(containers=[container(resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}})])),
        422, "Invalid",
        [f'{C0}.resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1'],
        id="requests-above-limits",
    ),
    pytest.param(
        create_job(job(containers=[container(resources={"limits": {"memory": "32GB"}})])),
        400, "BadRequest",
        ["quantities must match the regular expression", f"{C0}.resources.limits[memory]"],
        id="bad-quantity",
    ),
    pytest.param(
        create_job(job(containers=[container(env=[{"name": "A=B", "value": "1"}])])),
        422, "Invalid", [f'{C0}.env[0].name: Invalid value: "A=B"'], id="bad-env-name",
    ),
    pytest.param(
        create_job(job(containers=[container(ports=[{"containerPort": 70000}])])), 422, "Invalid",
        [f"{C0}.ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"],
        id="container-port",
    ),
    pytest.param(
        create_with("CoreV1Api.create_namespaced_service", service("1web")), 422, "Invalid",
        ['Service "1web" is invalid: metadata.name: Invalid value: "1web": a DNS-1035 label'],
        id="service-name",
    ),
    pytest.param(
        create_with("CoreV1Api.create_namespaced_service", service(port=0)), 422, "Invalid",
        ["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"],
        id="service-port",
    ),
    pytest.param(
        create_with("AutoscalingV2Api.create_namespaced_horizontal_pod_autoscaler", hpa(min_replicas=0)),
        422, "Invalid", ["spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"],
        id="hpa-min-replicas",
    ),
    pytest.param(
        create_with("AutoscalingV2Api.create_namespaced_horizontal_pod_autoscaler", hpa(min_replicas=6)),
        422, "Invalid", ["spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`"],
        id="hpa-min-above-max",
    ),
    pytest.param(
        create_job(job(nodeSelector={"gpu": "a100 80gb"})), 422, "Invalid",
        ['spec.template.spec.nodeSelector: Invalid value: "a100 80gb"'], id="node-selector",
    ),
    pytest.param(
        create_job(job(tolerations=[{"key": "gpu", "operator": "In", "effect": "NoSchedule"}])),
        422, "Invalid", ['spec.template.spec.tolerations[0].operator: Unsupported value: "In"'],
        id="toleration-operator",
    ),
    pytest.param(
        create_job(job_with(backoffLimit=-1)), 422, "Invalid",
        ["spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"],
        id="backoff-limit",
    ),
    pytest.param(
        create_job(job_with(selector={"matchLabels": {"app": "train"}})), 422, "Invalid",
        ["spec.selector", "`selector` not auto-generated"], id="job-selector-not-manual",
    ),
    pytest.param(
        create_with("CoreV1Api.create_namespaced_persistent_volume_claim", pvc(requests={"storage": "0"})),
        422, "Invalid", ['spec.resources[storage]: Invalid value: "0": must be greater than zero'],
        id="pvc-size",
    ),
]  # fmt: skip


@pytest.mark.parametrize("api", VERSIONS, indirect=True)
@pytest.mark.parametrize(("call", "status", "reason", "fragments"), BROKEN)
def test_broken_manifests_are_rejected_and_nothing_is_stored(
    api: KubeAPI,
    client: k8s.ApiClient,
    call: Callable[[k8s.ApiClient], Any],
    status: int,
    reason: str,
    fragments: list[str],
) -> None:
    body = assert_rejected(api, lambda: call(client), status, reason, *fragments)
    if status == 422:
        assert body["details"]["causes"] and all(c["field"] for c in body["details"]["causes"])
    assert api.list("jobs") == api.list("cronjobs") == api.list("deployments") == []
    assert api.list("services") == api.list("horizontalpodautoscalers") == []
    assert api.list("persistentvolumeclaims") == []


def test_int_gpu_quantity_is_refused_by_the_client_and_normalised_by_the_server(
    api: KubeAPI, client: k8s.ApiClient
) -> None:
    with pytest.raises(pydantic.ValidationError, match=r"nvidia\.com/gpu"):
        k8s.BatchV1Api(client).create_namespaced_job("default", gpu_job(limits=1))
    assert not [r for r in api.requests if r.verb == "create"]  # refused before sending
    assert api.list("jobs") == []

    # A real API server decodes JSON numbers as quantities, and stores canonical quantities.
    manifest = job(
        containers=[
            container(resources={"limits": {"nvidia.com/gpu": 1, "cpu": 0.5, "memory": "1024Mi"}})
        ]
    )
    created = k8s.CustomObjectsApi(client).create_namespaced_custom_object(
        "batch", "v1", "default", "jobs", manifest
    )
    resources = created["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["limits"] == {"nvidia.com/gpu": "1", "cpu": "500m", "memory": "1Gi"}


@pytest.mark.parametrize("api", VERSIONS, indirect=True)
def test_good_manifests_are_accepted(api: KubeAPI, client: k8s.ApiClient) -> None:
    batch, core = k8s.BatchV1Api(client), k8s.CoreV1Api(client)
    apps, autoscaling = k8s.AppsV1Api(client), k8s.AutoscalingV2Api(client)
    coordination = k8s.CoordinationV1Api(client)
    strict = {"field_validation": "Strict"}

    gpu = batch.create_namespaced_job("default", gpu_job(), **strict)
    limits = gpu.spec.template.spec.containers[0].resources.limits
    assert limits == {"nvidia.com/gpu": "1"}
    nightly = batch.create_namespaced_cron_job(
        "default", cronjob(timeZone="Europe/Paris"), **strict
    )
    assert nightly.spec.concurrency_policy == "Allow"
    assert batch.create_namespaced_cron_job("default", cronjob("hourly", "@hourly"), **strict)
    web = apps.create_namespaced_deployment("default", deployment(), **strict)
    assert web.spec.strategy.type == "RollingUpdate" and web.metadata.generation == 1
    svc = core.create_namespaced_service("default", service(), **strict)
    assert svc.spec.cluster_ip and svc.spec.type == "ClusterIP"
    scaler = autoscaling.create_namespaced_horizontal_pod_autoscaler("default", hpa(), **strict)
    assert scaler.spec.max_replicas == 5
    claim = core.create_namespaced_persistent_volume_claim("default", pvc(), **strict)
    assert claim.status.phase == "Pending"
    quota = {
        "metadata": {"name": "compute"},
        "spec": {
            "hard": {"requests.cpu": "8", "requests.nvidia.com/gpu": "2", "count/jobs.batch": "10"}
        },
    }
    assert core.create_namespaced_resource_quota("default", quota, **strict)
    limit_range = {
        "metadata": {"name": "defaults"},
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "1"}, "max": {"cpu": "4"}}]},
    }
    created_range = core.create_namespaced_limit_range("default", limit_range, **strict)
    assert created_range.spec.limits[0].default_request == {"cpu": "1"}  # defaulted from default
    lease = {
        "metadata": {"name": "scheduler"},
        "spec": {"holderIdentity": "worker-1", "leaseDurationSeconds": 15},
    }
    assert coordination.create_namespaced_lease("default", lease, **strict).spec.holder_identity
    secret = core.create_namespaced_secret(
        "default", {"metadata": {"name": "token"}, "stringData": {"token": "s3cret"}}, **strict
    )
    assert secret.data == {"token": "czNjcmV0"} and secret.type == "Opaque"

    # The quota controller keeps the quota's usage.
    used = core.read_namespaced_resource_quota("compute", "default").status.used
    assert used == {"requests.cpu": "0", "requests.nvidia.com/gpu": "0", "count/jobs.batch": "1"}
    assert all(
        r.query.get("fieldValidation") == "Strict" for r in api.requests if r.verb == "create"
    )


@pytest.mark.parametrize(
    ("api", "accepted"),
    [(VERSIONS[0].values[0], False), (VERSIONS[1].values[0], True)],
    indirect=["api"],
    ids=["1.29", "1.37"],
)
def test_validation_follows_the_kubernetes_version(
    api: KubeAPI, client: k8s.ApiClient, accepted: bool
) -> None:
    """Job.spec.managedBy is in the 1.37 schema, not in 1.29's; env names were relaxed in 1.34."""
    managed = job_with("managed", managedBy="kueue.x-k8s.io/multikueue")
    relaxed = job("relaxed", containers=[container(env=[{"name": "1 DIGIT", "value": "x"}])])
    calls = [
        create_raw("batch", "v1", "jobs", managed),
        create_job(relaxed),
    ]
    if accepted:
        for call in calls:
            call(client)
        assert [j["metadata"]["name"] for j in api.list("jobs")] == ["managed", "relaxed"]
    else:
        assert_rejected(
            api, lambda: calls[0](client), 400, "BadRequest", 'unknown field "spec.managedBy"'
        )
        assert_rejected(
            api,
            lambda: calls[1](client),
            422,
            "Invalid",
            f'{C0}.env[0].name: Invalid value: "1 DIGIT": a valid environment variable name',
        )


def test_unknown_fields_are_dropped_without_strict(api: KubeAPI, client: k8s.ApiClient) -> None:
    created, code, headers = k8s.CustomObjectsApi(
        client
    ).create_namespaced_custom_object_with_http_info(
        "batch", "v1", "default", "jobs", job(containers=[container(imagePullPolicyy="Always")])
    )
    assert code == 201
    assert "imagePullPolicyy" not in created["spec"]["template"]["spec"]["containers"][0]
    assert f'unknown field \\"{C0}.imagePullPolicyy\\"' in headers["Warning"]


def test_updates_are_validated_and_immutable_fields_kept(
    api: KubeAPI, client: k8s.ApiClient
) -> None:
    batch, apps = k8s.BatchV1Api(client), k8s.AppsV1Api(client)
    created = batch.create_namespaced_job("default", job())
    new_template = {
        "spec": {"template": {"spec": {"containers": [container(image="python:3.12")]}}}
    }
    assert_rejected(
        api,
        lambda: batch.patch_namespaced_job("train", "default", new_template),
        422,
        "Invalid",
        'Job.batch "train" is invalid: spec.template: Invalid value: ',
        "field is immutable",
    )
    batch.patch_namespaced_job("train", "default", {"metadata": {"labels": {"stage": "2"}}})
    assert_rejected(
        api,
        lambda: batch.replace_namespaced_job("train", "default", created),  # an old version
        409,
        "Conflict",
        'Operation cannot be fulfilled on jobs.batch "train": the object has been modified',
    )
    assert_rejected(
        api,
        lambda: batch.patch_namespaced_job(
            "train", "default", {"metadata": {"labels": {"stage": "two words"}}}
        ),
        422,
        "Invalid",
        'metadata.labels: Invalid value: "two words"',
    )

    # A strategic merge patch merges containers by name.
    apps.create_namespaced_deployment("default", deployment())
    patched = apps.patch_namespaced_deployment(
        "web", "default", {"spec": {"template": {"spec": {"containers": [container("proxy")]}}}}
    )
    assert [c.name for c in patched.spec.template.spec.containers] == ["main", "proxy"]
    assert_rejected(
        api,
        lambda: apps.patch_namespaced_deployment(
            "web", "default", {"spec": {"selector": {"matchLabels": {"app": "web", "v": "2"}}}}
        ),
        422,
        "Invalid",
        "spec.selector: Invalid value: ",
        "field is immutable",
    )


# --- admission ----------------------------------------------------------------------------------


def test_quota_admission_counts_gpus_and_reports_like_the_real_server(
    api: KubeAPI, client: k8s.ApiClient
) -> None:
    batch, core = k8s.BatchV1Api(client), k8s.CoreV1Api(client)
    namespace(api)
    quota = {
        "metadata": {"name": "gpu-quota"},
        "spec": {"hard": {"requests.nvidia.com/gpu": "1", "pods": "10"}},
    }
    core.create_namespaced_resource_quota("team", quota)
    batch.create_namespaced_job("team", gpu_job("first"))
    batch.create_namespaced_job("team", gpu_job("second"))

    first = api.job_controller_step("team", "first")
    assert first is not None and first["metadata"]["name"].startswith("first-")
    assert first["metadata"]["ownerReferences"][0]["kind"] == "Job"
    assert first["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "first"
    assert first["spec"]["containers"][0]["resources"]["requests"] == {"nvidia.com/gpu": "1"}
    assert batch.read_namespaced_job_status("first", "team").status.active == 1
    used = core.read_namespaced_resource_quota("gpu-quota", "team").status.used
    assert used == {"requests.nvidia.com/gpu": "1", "pods": "1"}

    # The job controller cannot create the second pod: it says so in an Event on the Job.
    exceeded = "exceeded quota: gpu-quota, requested: requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=1, limited: requests.nvidia.com/gpu=1"
    assert api.job_controller_step("team", "second") is None
    events = core.list_namespaced_event(
        "team", field_selector="involvedObject.name=second,reason=FailedCreate"
    ).items
    assert [(e.type, e.message) for e in events] == [
        ("Warning", f'Error creating: pods "second-" is forbidden: {exceeded}')
    ]
    gpu_pod = pod("direct", containers=[container(resources={"limits": {"nvidia.com/gpu": "1"}})])
    assert_rejected(
        api,
        lambda: core.create_namespaced_pod("team", gpu_pod),
        403,
        "Forbidden",
        f'pods "direct" is forbidden: {exceeded}',
    )

    # A finished pod no longer counts.
    api.patch_status("pods", "team", first["metadata"]["name"], {"phase": "Succeeded"})
    assert api.get("resourcequotas", "team", "gpu-quota")["status"]["used"] == {
        "requests.nvidia.com/gpu": "0",
        "pods": "0",
    }
    assert api.job_controller_step("team", "second") is not None


def test_quota_requires_the_resources_it_caps(api: KubeAPI, client: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(client)
    namespace(api)
    quota = {
        "metadata": {"name": "compute"},
        "spec": {"hard": {"limits.cpu": "4", "requests.memory": "8Gi"}},
    }
    core.create_namespaced_resource_quota("team", quota)
    assert_rejected(
        api,
        lambda: core.create_namespaced_pod("team", pod("bare")),
        403,
        "Forbidden",
        'pods "bare" is forbidden: failed quota: compute: must specify limits.cpu for: main; requests.memory for: main',
    )
    sized = pod(
        "sized", containers=[container(resources={"limits": {"cpu": "3", "memory": "4Gi"}})]
    )
    core.create_namespaced_pod("team", sized)
    assert_rejected(
        api,
        lambda: core.create_namespaced_pod("team", {**sized, "metadata": {"name": "more"}}),
        403,
        "Forbidden",
        "exceeded quota: compute, requested: limits.cpu=3, used: limits.cpu=3, limited: limits.cpu=4",
    )


def test_limit_ranges_default_and_bound_containers(api: KubeAPI, client: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(client)
    namespace(api)
    limits = {
        "type": "Container",
        "default": {"cpu": "500m", "memory": "512Mi"},
        "defaultRequest": {"cpu": "250m"},
        "max": {"cpu": "2"},
    }
    core.create_namespaced_limit_range(
        "team", {"metadata": {"name": "defaults"}, "spec": {"limits": [limits]}}
    )

    plain = core.create_namespaced_pod("team", pod("plain"))
    resources = plain.spec.containers[0].resources
    assert resources.limits == {"cpu": "500m", "memory": "512Mi"}
    assert resources.requests == {"cpu": "250m", "memory": "512Mi"}
    assert plain.metadata.annotations["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container main; "
        "cpu, memory limit for container main"
    )
    big = pod("big", containers=[container(resources={"limits": {"cpu": "4"}})])
    assert_rejected(
        api,
        lambda: core.create_namespaced_pod("team", big),
        403,
        "Forbidden",
        'pods "big" is forbidden: maximum cpu usage per Container is 2, but limit is 4',
    )


# --- failures on demand -------------------------------------------------------------------------


def test_injected_errors_reach_the_client_as_api_exceptions(
    api: KubeAPI, client: k8s.ApiClient
) -> None:
    batch, core = k8s.BatchV1Api(client), k8s.CoreV1Api(client)
    api.inject(403, verb="create", resource="jobs")
    assert_rejected(
        api,
        lambda: batch.create_namespaced_job("default", job(), field_validation="Strict"),
        403,
        "Forbidden",
        'jobs.batch is forbidden: User "system:serviceaccount:dataops:jupyter-dataops" cannot create resource "jobs" in API group "batch" in the namespace "default"',
    )
    served = [r for r in api.requests if r.verb == "create"]
    assert [(r.path, r.query) for r in served] == [
        ("/apis/batch/v1/namespaces/default/jobs", {"fieldValidation": "Strict"})
    ]
    batch.create_namespaced_job("default", job())  # the injection is used up

    api.inject(409, verb="create", resource="jobs", name="again", times=2)
    for _ in range(2):
        assert_rejected(
            api,
            lambda: batch.create_namespaced_job("default", job("again")),
            409,
            "AlreadyExists",
            'jobs.batch "again" already exists',
        )
    batch.create_namespaced_job("default", job("again"))

    api.inject(
        500,
        verb="get",
        resource="jobs",
        message="Internal error occurred: etcdserver: leader changed",
    )
    assert_rejected(
        api,
        lambda: batch.read_namespaced_job("train", "default"),
        500,
        "InternalError",
        "Internal error occurred: etcdserver: leader changed",
    )

    api.inject(403, resource="pods/log", reason="Forbidden", message="no logs for you")
    api.create("pods", pod("p"), "default")
    with pytest.raises(k8s.ApiException) as caught:
        core.read_namespaced_pod_log("p", "default")
    assert caught.value.status == 403 and "no logs for you" in caught.value.body

    api.inject(410, verb="watch", resource="jobs")
    with pytest.raises(k8s.ApiException) as caught:
        list(watch.Watch().stream(batch.list_namespaced_job, "default", timeout_seconds=5))
    assert caught.value.status == 410 and caught.value.reason.startswith("Expired: too old")


# --- the services/proxy subresource -------------------------------------------------------------


class _Echo(http.server.BaseHTTPRequestHandler):
    """A model server's stand-in: answers with what it was sent, as JSON; /status/CODE with
    that status."""

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path, _, query = self.path.partition("?")
        echoed = {
            "method": self.command,
            "path": path,
            "query": query,
            "body": body.decode(),
            "headers": {k.lower(): v for k, v in self.headers.items()},
        }
        payload = json.dumps(echoed).encode()
        self.send_response(int(path.rsplit("/", 1)[1]) if path.startswith("/status/") else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Model", "churn")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        pass


class _EchoServer(http.server.ThreadingHTTPServer):
    daemon_threads = False  # closing joins the request threads


@pytest.fixture
def upstream() -> Iterator[str]:
    """The URL of an echoing HTTP server on 127.0.0.1 (a Service's endpoint)."""
    server = _EchoServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def model_service(name: str = "ep-churn") -> dict:
    port = {"name": "http", "port": 8080, "targetPort": 8080}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [port]},
    }


def proxy_get(client: k8s.ApiClient, service_id: str, path: str = "ping") -> Callable[[], Any]:
    core = k8s.CoreV1Api(client)
    return lambda: core.connect_get_namespaced_service_proxy_with_path(
        service_id, "dataops", path, _preload_content=False
    )


def test_service_proxy_forwards_to_the_backend_and_answers_with_its_answer(
    api: KubeAPI, client: k8s.ApiClient, upstream: str
) -> None:
    core = k8s.CoreV1Api(client)
    namespace(api, "dataops")
    api.create("services", model_service(), "dataops")
    api.set_service_backend("dataops", "ep-churn", 8080, upstream)

    # The official client quotes its path parameters whole: "ep-churn%3A8080", "v1%2Fmodels...".
    answer = proxy_get(client, "ep-churn:8080", "v1/models/churn")()
    assert (answer.status, answer.headers["X-Model"]) == (200, "churn")
    echoed = json.loads(answer.data)
    assert (echoed["method"], echoed["path"], echoed["body"]) == ("GET", "/v1/models/churn", "")

    # connect_post sends no body; the port by its name.
    answer = core.connect_post_namespaced_service_proxy_with_path(
        "ep-churn:http", "dataops", "v1/models/churn:predict", _preload_content=False
    )
    echoed = json.loads(answer.data)
    assert (echoed["method"], echoed["path"], echoed["body"]) == (
        "POST",
        "/v1/models/churn:predict",
        "",
    )

    # A JSON body, a query and headers, serialized by the client (scheme:name:port form).
    method, url, headers, body, _ = client.param_serialize(
        "POST",
        "/api/v1/namespaces/{namespace}/services/{name}/proxy/{path}",
        path_params={
            "namespace": "dataops",
            "name": "http:ep-churn:8080",
            "path": "v1/models/churn:predict",
        },
        query_params=[("explain", "true")],
        header_params={
            "Content-Type": "application/json",
            "Authorization": "Bearer cluster-token",
            "token": "endpoint-token",
        },
        body={"instances": [[1.5, 2]]},
        auth_settings=["BearerToken"],
    )
    response = client.call_api(method, url, header_params=headers, body=body)
    assert response.status == 200
    echoed = json.loads(response.read())
    assert (echoed["method"], echoed["path"], echoed["query"]) == (
        "POST",
        "/v1/models/churn:predict",
        "explain=true",
    )
    assert json.loads(echoed["body"]) == {"instances": [[1.5, 2]]}
    sent = echoed["headers"]
    assert (sent["content-type"], sent["token"]) == ("application/json", "endpoint-token")
    assert "authorization" not in sent  # the API server keeps the credentials for itself
    assert sent["host"] == upstream.removeprefix("http://")

    # Any status and headers of the backend come back as they are; the query goes on as sent.
    response = client.rest_client.request(
        "GET",
        f"{api.url}/api/v1/namespaces/dataops/services/ep-churn:8080/proxy/status/418?a=1&b=x%2Fy",
    )
    assert (response.status, response.headers["X-Model"]) == (418, "churn")
    echoed = json.loads(response.read())
    assert (echoed["method"], echoed["path"], echoed["query"]) == (
        "GET",
        "/status/418",
        "a=1&b=x%2Fy",
    )

    # The proxy URL without a path redirects to the one ending in "/" (the client follows).
    answer = core.connect_get_namespaced_service_proxy(
        "ep-churn:8080", "dataops", _preload_content=False
    )
    assert json.loads(answer.data)["path"] == "/"

    proxied = [
        (r.verb, r.namespace, r.name) for r in api.requests if r.resource == "services/proxy"
    ]
    assert (
        proxied
        == [("get", "dataops", "ep-churn")]
        + [("create", "dataops", "ep-churn")] * 2
        + [("get", "dataops", "ep-churn")] * 3
    )


def test_service_proxy_answers_as_the_api_server_when_it_cannot_forward(
    api: KubeAPI, client: k8s.ApiClient, upstream: str
) -> None:
    namespace(api, "dataops")
    assert_rejected(
        api, proxy_get(client, "nope:8080"), 404, "NotFound", 'services "nope" not found'
    )
    # By port name (or none), a real server looks for the Service's Endpoints.
    assert_rejected(api, proxy_get(client, "nope"), 404, "NotFound", 'endpoints "nope" not found')

    api.create("services", model_service(), "dataops")
    no_endpoints = 'no endpoints available for service "ep-churn"'
    assert_rejected(
        api, proxy_get(client, "ep-churn:8080"), 503, "ServiceUnavailable", no_endpoints
    )

    api.set_service_backend("dataops", "ep-churn", 8080, upstream)
    assert_rejected(
        api,
        proxy_get(client, "ep-churn:9090"),
        503,
        "ServiceUnavailable",
        'no service port 9090 found for service "ep-churn"',
    )
    assert_rejected(
        api,
        proxy_get(client, "ep-churn:grpc"),
        503,
        "ServiceUnavailable",
        'no endpoints available for service "ep-churn:grpc"',
    )
    # Its only port has a name: without it, no endpoint port matches.
    assert_rejected(api, proxy_get(client, "ep-churn"), 503, "ServiceUnavailable", no_endpoints)
    assert_rejected(
        api,
        proxy_get(client, "ftp:ep-churn:8080"),
        400,
        "BadRequest",
        'invalid service request "ftp:ep-churn:8080"',
    )

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    api.set_service_backend("dataops", "ep-churn", 8080, f"http://127.0.0.1:{closed}")
    assert_rejected(
        api,
        proxy_get(client, "ep-churn:8080"),
        503,
        "ServiceUnavailable",
        f"error trying to reach service: dial tcp 127.0.0.1:{closed}: connect: connection refused",
    )

    api.clear_service_backend("dataops", "ep-churn")
    assert_rejected(
        api, proxy_get(client, "ep-churn:8080"), 503, "ServiceUnavailable", no_endpoints
    )
    with pytest.raises(ValueError):
        api.set_service_backend("dataops", "ep-churn", 8080, "127.0.0.1:8080")


def test_service_proxy_failures_can_be_injected(
    api: KubeAPI, client: k8s.ApiClient, upstream: str
) -> None:
    core = k8s.CoreV1Api(client)
    namespace(api, "dataops")
    api.create("services", model_service(), "dataops")
    api.set_service_backend("dataops", "ep-churn", 8080, upstream)
    user = 'User "system:serviceaccount:dataops:jupyter-dataops"'

    api.inject(403, resource="services/proxy")
    assert_rejected(
        api,
        proxy_get(client, "ep-churn:8080"),
        403,
        "Forbidden",
        f'services "ep-churn:8080" is forbidden: {user} cannot get resource "services/proxy" in API group "" in the namespace "dataops"',
    )
    api.inject(403, verb="create", resource="services/proxy", name="ep-churn")
    assert_rejected(
        api,
        lambda: core.connect_post_namespaced_service_proxy_with_path(
            "ep-churn:8080", "dataops", "predict", _preload_content=False
        ),
        403,
        "Forbidden",
        f'services "ep-churn:8080" is forbidden: {user} cannot create resource "services/proxy"',
    )
    assert proxy_get(client, "ep-churn:8080")().status == 200  # the injections are used up


# --- logs, deletion and helpers ----------------------------------------------------------------


def test_pod_logs_follow_until_the_pod_finishes(api: KubeAPI, client: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(client)
    api.create("pods", pod("p"), "default")
    api.set_log("default", "p", "epoch 1\nepoch 2\n")
    assert_rejected(
        api,
        lambda: core.read_namespaced_pod_log("p", "default"),
        400,
        "BadRequest",
        'container "main" in pod "p" is waiting to start: ContainerCreating',
    )
    api.patch_status("pods", "default", "p", {"phase": "Running"})
    assert core.read_namespaced_pod_log("p", "default") == "epoch 1\nepoch 2\n"
    assert core.read_namespaced_pod_log("p", "default", tail_lines=1) == "epoch 2\n"
    assert core.read_namespaced_pod_log("p", "default", container="main").startswith("epoch 1")
    assert_rejected(
        api,
        lambda: core.read_namespaced_pod_log("p", "default", container="sidecar"),
        400,
        "BadRequest",
        "container sidecar is not valid for pod p",
    )

    lines = watch.Watch().stream(
        core.read_namespaced_pod_log, "p", "default", follow=True, _request_timeout=5
    )
    assert [next(lines), next(lines)] == ["epoch 1", "epoch 2"]
    api.append_log("default", "p", "epoch 3\n")
    assert next(lines) == "epoch 3"
    api.append_log("default", "p", "done\n")
    api.patch_status("pods", "default", "p", {"phase": "Succeeded"})
    assert list(lines) == ["done"]


def test_deletion_propagates_as_asked(api: KubeAPI, client: k8s.ApiClient) -> None:
    batch, core, apps = k8s.BatchV1Api(client), k8s.CoreV1Api(client), k8s.AppsV1Api(client)
    for name in ("background", "orphan", "default"):
        batch.create_namespaced_job("default", job(name))
        for _ in range(2):
            api.job_controller_step("default", name)

    def pods_of(name: str) -> list:
        return core.list_namespaced_pod("default", label_selector=f"job-name={name}").items

    since = core.list_namespaced_pod("default").metadata.resource_version
    status = batch.delete_namespaced_job("background", "default", propagation_policy="Background")
    assert (status["kind"], status["status"]) == ("Status", "Success")
    assert pods_of("background") == []
    deleted = stream(core.list_namespaced_pod, "default", resource_version=since, count=2)
    assert {e["type"] for e in deleted} == {"DELETED"}
    assert {e["object"].metadata.labels["job-name"] for e in deleted} == {"background"}

    batch.delete_namespaced_job("orphan", "default", propagation_policy="Orphan")
    assert len(pods_of("orphan")) == 2
    assert all(p.metadata.owner_references is None for p in pods_of("orphan"))
    batch.delete_namespaced_job("default", "default")  # batch/v1 Jobs orphan by default
    assert len(pods_of("default")) == 2

    apps.create_namespaced_deployment("default", deployment())
    api.create("pods", pod("web-1", labels={"app": "web"}), "default")
    apps.delete_namespaced_deployment("web", "default", propagation_policy="Foreground")
    assert api.get("pods", "default", "web-1") is None


def test_helpers_share_validation_and_record_events(api: KubeAPI, client: k8s.ApiClient) -> None:
    with pytest.raises(StatusError) as caught:
        api.create("jobs", job("Bad"), "default")
    assert caught.value.status == 422 and caught.value.data["reason"] == "Invalid"
    assert isinstance(caught.value, k8s.ApiException)

    created = api.create("pods", pod("p"), "default")
    event = api.add_event(
        "default",
        created,
        "FailedScheduling",
        "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
    )
    assert event["source"] == {"component": "default-scheduler"}
    listed = k8s.CoreV1Api(client).list_namespaced_event(
        "default", field_selector="involvedObject.kind=Pod"
    )
    assert [(e.reason, e.involved_object.name, e.type) for e in listed.items] == [
        ("FailedScheduling", "p", "Warning")
    ]
    api.delete("pods", "default", "p")
    assert api.get("pods", "default", "p") is None
    with pytest.raises(StatusError) as caught:
        api.delete("pods", "default", "p")
    assert caught.value.status == 404


@pytest.mark.parametrize("api", [{"kserve": True}], indirect=True)
def test_kserve_inference_services_when_asked(api: KubeAPI, client: k8s.ApiClient) -> None:
    groups = {group.name for group in k8s.ApisApi(client).get_api_versions().groups}
    assert "serving.kserve.io" in groups
    custom = k8s.CustomObjectsApi(client)
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "sklearn-iris"},
        "spec": {
            "predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://x"}}
        },
    }
    created = custom.create_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", "default", "inferenceservices", isvc
    )
    assert created["metadata"]["generation"] == 1
    listed = custom.list_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", "default", "inferenceservices"
    )
    assert listed["items"][0]["kind"] == "InferenceService"  # custom resources' items keep it
    assert_rejected(
        api,
        lambda: custom.create_namespaced_custom_object(
            "serving.kserve.io",
            "v1beta1",
            "default",
            "inferenceservices",
            {**isvc, "metadata": {"name": "1-iris"}},
        ),
        422,
        "Invalid",
        'metadata.name: Invalid value: "1-iris": a DNS-1035 label',
    )


def test_without_kserve_inference_services_are_not_served(
    api: KubeAPI, client: k8s.ApiClient
) -> None:
    assert_rejected(
        api,
        lambda: k8s.CustomObjectsApi(client).list_namespaced_custom_object(
            "serving.kserve.io", "v1beta1", "default", "inferenceservices"
        ),
        404,
        "NotFound",
        "the server could not find the requested resource",
    )


def test_a_crd_is_served_once_installed_and_its_schema_is_the_servers(
    api: KubeAPI, client: k8s.ApiClient
) -> None:
    custom = k8s.CustomObjectsApi(client)
    # Not installed: discovery and requests answer 404, as on a cluster without KServe.
    with pytest.raises(k8s.ApiException) as caught:
        custom.get_api_resources("serving.kserve.io", "v1beta1")
    assert caught.value.status == 404
    api.install_crd(kserve_crd())
    listed = custom.get_api_resources("serving.kserve.io", "v1beta1")
    assert {r.name for r in listed.resources} == {
        "inferenceservices",
        "inferenceservices/status",
    }

    def isvc(**predictor: Any) -> dict:
        return {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "churn"},
            "spec": {"predictor": {"containers": [{"name": "c", "image": "i"}], **predictor}},
            "status": {"url": "http://set.by.the.client"},
        }

    def create(body: dict, **kwargs: Any) -> Any:
        return custom.create_namespaced_custom_object(
            "serving.kserve.io", "v1beta1", "default", "inferenceservices", body, **kwargs
        )

    # Unknown fields: refused with Strict, dropped otherwise (a warning), as the CRD prunes them.
    assert_rejected(
        api,
        lambda: create(isvc(minReplica=1), field_validation="Strict"),
        400,
        "BadRequest",
        'strict decoding error: unknown field "spec.predictor.minReplica"',
    )
    # Types, enums and required fields: 422 with every error.
    assert_rejected(
        api,
        lambda: create(isvc(minReplicas="1", scaleMetric="gpu", containers=[{"image": "i"}])),
        422,
        "Invalid",
        'InferenceService.serving.kserve.io "churn" is invalid: [',
        'spec.predictor.minReplicas: Invalid value: "string": spec.predictor.minReplicas in '
        'body must be of type integer: "string"',
        'spec.predictor.scaleMetric: Unsupported value: "gpu"',
        "spec.predictor.containers[0].name: Required value",
    )
    created = create(
        isvc(
            minReplica=1,
            minReplicas=1,
            containers=[{"name": "c", "image": "i", "ports": [{"containerPort": 8080}]}],
        )
    )
    predictor = created["spec"]["predictor"]
    assert "minReplica" not in predictor and predictor["minReplicas"] == 1
    assert predictor["containers"][0]["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert "status" not in created  # a create cannot set the status of a custom resource
    assert created["metadata"]["generation"] == 1


def test_an_owner_held_by_a_finalizer_takes_its_dependents_when_it_goes(api: KubeAPI) -> None:
    api.install_crd(kserve_crd())
    owner = api.create(
        "inferenceservices",
        {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": {"name": "churn", "finalizers": ["inferenceservice.finalizers"]},
            "spec": {"predictor": {"containers": [{"name": "c", "image": "i"}]}},
        },
        "default",
    )
    ref = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "name": "churn",
        "uid": owner["metadata"]["uid"],
        "controller": True,
    }
    api.create(
        "services",
        {
            "metadata": {"name": "churn-predictor", "ownerReferences": [ref]},
            "spec": {"ports": [{"port": 80}], "selector": {"app": "churn"}},
        },
        "default",
    )
    api.delete("inferenceservices", "default", "churn")
    held = api.get("inferenceservices", "default", "churn")
    assert held is not None and held["metadata"]["deletionTimestamp"]
    assert api.get("services", "default", "churn-predictor") is not None  # not yet
    api.patch("inferenceservices", "default", "churn", {"metadata": {"finalizers": []}})
    assert api.get("inferenceservices", "default", "churn") is None
    assert api.get("services", "default", "churn-predictor") is None  # the garbage collector


def test_starting_and_closing_is_cheap_and_leaves_nothing_behind() -> None:
    threads_before = set(threading.enumerate())
    started = time.monotonic()
    with KubeAPI() as api, api.api_client() as client:
        port = int(api.url.rsplit(":", 1)[1])
        core = k8s.CoreV1Api(client)
        # An open watch must not hold the closing up: the server ends it.
        watcher = threading.Thread(
            target=lambda: list(
                watch.Watch().stream(core.list_namespaced_pod, "default", _request_timeout=5)
            )
        )
        watcher.start()
        deadline = time.monotonic() + 5
        while not any(r.verb == "watch" for r in api.requests) and time.monotonic() < deadline:
            time.sleep(0.005)
    watcher.join(5)
    assert time.monotonic() - started < 0.5
    assert not watcher.is_alive()
    assert set(threading.enumerate()) == threads_before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
