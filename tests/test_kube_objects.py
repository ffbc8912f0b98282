"""Kubernetes tier 1: the pure parts. Names are valid and collision-free; the objects the
builders make are the expected ones and pass the official schemas (``kubernetes-validate
--strict``) of the oldest (1.29) and newest (1.37) Kubernetes we support; the settings that pods
could not reach are refused with the setting to change."""

from __future__ import annotations

import dataclasses
import re
import string

import kubernetes_validate
import pytest
from traitlets.config import Config

from jupyter_dataops.backends.kubernetes import names, objects
from jupyter_dataops.backends.kubernetes.reachability import problems, require_reachable
from jupyter_dataops.backends.kubernetes.settings import Kubernetes
from jupyter_dataops.core.config import DataOps
from jupyter_dataops.core.endpoints.target import ServingSpec
from jupyter_dataops.core.errors import BackendUnavailable, InvalidInput

VERSIONS = ["1.29", "1.37"]
LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")

# User names as identity providers give them: e-mails, LDAP DNs, upper case, unicode, long ones,
# and values that look like what the hashing produces.
USERS = [
    "alice",
    "Alice",
    "alice.smith@example.com",
    "Alice.Smith@example.com",
    "alice_smith",
    "alice-smith",
    "CN=Alice Smith,OU=ML,DC=corp,DC=example",
    "ålice",
    "李雷",
    "-alice-",
    "a" * 80,
    "a" * 81,
    "x" * 300,
    "alice-0123456789",
    "0123456789",
    "9",
    "",
    "..",
    "admin/../../etc",
]


def validate(obj, version):
    kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize("prefix", ["dataops-", "dataops-job-", ""])
def test_dns_labels_are_valid_bounded_and_collision_free(prefix):
    made = {}
    for user in USERS + [u.upper() for u in USERS] + [f"{u}-{i}" for u in USERS for i in range(3)]:
        name = names.dns_label(user, prefix=prefix)
        assert LABEL.fullmatch(name), (user, name)
        assert len(name) <= 63
        assert made.setdefault(name, user) == user, f"{user!r} and {made[name]!r} give {name}"


def test_valid_names_are_kept_readable():
    assert names.dns_label("alice", prefix="dataops-") == "dataops-alice"
    assert names.namespace_for("dataops-{user}", user="bob") == "dataops-bob"
    assert names.namespace_for("ml-{team}", user="bob", team="vision") == "ml-vision"
    assert names.namespace_for("shared", user="bob") == "shared"
    # Changed values say where they came from, and the hash tells them apart.
    assert names.namespace_for("dataops-{user}", user="Bob").startswith("dataops-bob-")
    assert names.execution_name("1a2b3c4d5e6f-12") == "dataops-job-1a2b3c4d5e6f-12"


def test_label_values_are_valid_and_collision_free():
    made = {}
    for user in USERS + [u.upper() for u in USERS]:
        value = names.label_value(user)
        assert LABEL_VALUE.fullmatch(value) and len(value) <= 63, (user, value)
        assert made.setdefault(value, user) == user


@pytest.mark.parametrize(
    "template",
    ["dataops-{usr}", "Dataops", "dataops_{user}", "{user}.{team}", "dataops-{user}-" + "x" * 70],
)
def test_bad_namespace_settings_are_refused_naming_the_setting(template):
    with pytest.raises(Exception) as info:
        Kubernetes(config=Config({"Kubernetes": {"namespace": template}}))
    assert "c.Kubernetes.namespace" in str(info.value)


def test_a_team_namespace_needs_a_team():
    with pytest.raises(InvalidInput, match="in no team"):
        names.namespace_for("ml-{team}", user="bob")


def execution(**overrides):
    values = dict(
        execution_id="1a2b3c4d5e6f-1",
        job_id="1a2b3c4d5e6f",
        attempt=1,
        user="alice@example.com",
        notebook_path="analysis/train.ipynb",
        namespace="dataops-alice",
        env={"DATAOPS_FILES_URL": "s3://bucket/dataops", "DATAOPS_REQUEST": "jobs/x/request.json"},
        resources=objects.Resources(cpu="2", memory="8Gi", gpus=1),
        timeout_seconds=3600.0,
        deadline_margin=600.0,
        ttl_seconds=3600,
        log_offset=120,
        files_key="jobs/x",
    )
    values.update(overrides)
    return objects.JobExecution(**values)


POD = objects.PodSettings(
    image="registry.example.com/ml/dataops-runner:1.4",
    image_pull_secrets=("registry-creds",),
    service_account="dataops-runner",
    env={"AWS_ENDPOINT_URL": "http://minio.storage:9000"},
    env_from_secrets=("dataops-storage",),
    node_selector={"node-pool": "gpu"},
    tolerations=({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},),
    labels={"cost-centre": "ml research"},
)


def test_the_job_object_is_the_expected_one():
    labels = {
        "cost-centre": "ml_research-" + names.label_value("ml research").rsplit("-", 1)[1],
        "app.kubernetes.io/managed-by": "jupyter-dataops",
        "app.kubernetes.io/component": "job",
        "dataops.io/job-id": "1a2b3c4d5e6f",
        "dataops.io/execution": "1a2b3c4d5e6f-1",
        "dataops.io/attempt": "1",
        "dataops.io/user": names.label_value("alice@example.com"),
    }
    assert objects.job_object(execution(), POD) == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "dataops-job-1a2b3c4d5e6f-1",
            "namespace": "dataops-alice",
            "labels": labels,
            "annotations": {
                "dataops.io/user": "alice@example.com",
                "dataops.io/notebook": "analysis/train.ipynb",
                "dataops.io/execution": "1a2b3c4d5e6f-1",
                "dataops.io/log-offset": "120",
                "dataops.io/files-key": "jobs/x",
            },
        },
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 3600,
            "activeDeadlineSeconds": 4200,
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {"dataops.io/execution": "1a2b3c4d5e6f-1"},
                },
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "serviceAccountName": "dataops-runner",
                    "imagePullSecrets": [{"name": "registry-creds"}],
                    "nodeSelector": {"node-pool": "gpu"},
                    "tolerations": [
                        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
                    ],
                    "containers": [
                        {
                            "name": "papermill",
                            "image": "registry.example.com/ml/dataops-runner:1.4",
                            "imagePullPolicy": "IfNotPresent",
                            "command": [
                                "python",
                                "-m",
                                "jupyter_dataops.backends.kubernetes.pod_runner",
                            ],
                            "env": [
                                {"name": "AWS_ENDPOINT_URL", "value": "http://minio.storage:9000"},
                                {"name": "DATAOPS_FILES_URL", "value": "s3://bucket/dataops"},
                                {"name": "DATAOPS_REQUEST", "value": "jobs/x/request.json"},
                            ],
                            "envFrom": [{"secretRef": {"name": "dataops-storage"}}],
                            "resources": {
                                "requests": {"cpu": "2", "memory": "8Gi"},
                                "limits": {"cpu": "2", "memory": "8Gi", "nvidia.com/gpu": "1"},
                            },
                        }
                    ],
                },
            },
        },
    }


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"timeout_seconds": None, "resources": objects.Resources()},
        {
            "resources": objects.Resources(
                cpu="500m", memory="512Mi", gpus=2, gpu_resource="amd.com/gpu"
            )
        },
        {"user": "CN=Alice Smith,OU=ML", "notebook_path": "ä/b c.ipynb", "job_id": "x" * 40},
    ],
)
def test_job_objects_pass_the_official_schemas(version, variant):
    pod = POD
    if variant.get("resources") == objects.Resources():
        pod = objects.PodSettings(image="runner:1", files_volume=("dataops-files", "/shared/jobs"))
    obj = objects.job_object(execution(**variant), pod)
    validate(obj, version)
    assert LABEL.fullmatch(obj["metadata"]["name"]) and len(obj["metadata"]["name"]) <= 63
    for key, value in obj["metadata"]["labels"].items():
        assert LABEL_VALUE.fullmatch(value), (key, value)
    # Quantities are strings, always.
    resources = obj["spec"]["template"]["spec"]["containers"][0]["resources"]
    for block in resources.values():
        assert all(isinstance(v, str) for v in block.values())


def profile_sized(**overrides):
    """An attempt sized and placed by a sandbox profile, as the executor makes it."""
    from jupyter_dataops.backends.kubernetes import sandbox_objects as so
    from jupyter_dataops.core.sandboxes.models import Resources

    allowed = Resources(cpus=3.5, memory_bytes=24 * 2**30, gpus=2, gpu_type="a100")
    gpu_types = {"a100": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}}
    values = dict(
        resources=so.profile_resources(allowed, "nvidia.com/gpu"),
        profile="gpu-large",
        node_selector={"node-pool": "a100", **so.gpu_node_selector(allowed, gpu_types)},
        tolerations=(
            {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"},
        ),
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "zone", "operator": "In", "values": ["eu-1", "eu-2"]}
                            ]
                        }
                    ]
                }
            }
        },
    )
    values.update(overrides)
    return execution(**values)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_job_sized_by_a_profile_is_placed_like_the_profile_and_passes_the_schemas(version):
    """`--profile` on the cluster: the profile's CPUs and memory requested as much as limited,
    its GPUs as limits, its node selector over the operator's (with its GPU type's labels), its
    tolerations after the operator's, its affinity, and a label naming it."""
    pod = dataclasses.replace(POD, image="registry.example.com/ml/trainer:2")
    obj = objects.job_object(profile_sized(), pod)
    validate(obj, version)
    assert obj["metadata"]["labels"]["dataops.io/profile"] == "gpu-large"
    template = obj["spec"]["template"]
    assert template["metadata"]["labels"]["dataops.io/profile"] == "gpu-large"
    spec = template["spec"]
    (container,) = spec["containers"]
    assert container["image"] == "registry.example.com/ml/trainer:2"
    memory = str(24 * 2**30)
    assert container["resources"] == {
        "requests": {"cpu": "3500m", "memory": memory},
        "limits": {"cpu": "3500m", "memory": memory, "nvidia.com/gpu": "2"},
    }
    assert spec["nodeSelector"] == {
        "node-pool": "a100",  # the profile's wins over c.Kubernetes.node_selector's "gpu"
        "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB",
    }
    assert spec["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"},
    ]
    assert spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    # Without a profile nothing of it is there.
    plain = objects.job_object(execution(), POD)
    assert "dataops.io/profile" not in plain["metadata"]["labels"]
    assert "affinity" not in plain["spec"]["template"]["spec"]
    # A GPU type the cluster does not offer is refused, naming those it does.
    from jupyter_dataops.backends.kubernetes import sandbox_objects as so
    from jupyter_dataops.core.sandboxes.models import Resources

    with pytest.raises(InvalidInput, match=r"no GPU type 'h100'") as info:
        so.gpu_node_selector(
            Resources(cpus=1, memory_bytes=2**30, gpus=1, gpu_type="h100"), {"a100": {}}
        )
    assert "Pick one of a100" in info.value.hint


@pytest.mark.parametrize("version", VERSIONS)
def test_the_schemas_catch_what_a_builder_must_never_make(version):
    obj = objects.job_object(execution(), POD)
    obj["spec"]["template"]["spec"]["containers"][0]["resource"] = {}  # a typo
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(obj, version)


def test_the_deadline_is_only_a_backstop_above_the_time_limit():
    spec = objects.job_object(execution(timeout_seconds=90.5, deadline_margin=600), POD)["spec"]
    assert spec["activeDeadlineSeconds"] == 691
    assert spec["backoffLimit"] == 0
    assert (
        "activeDeadlineSeconds"
        not in objects.job_object(execution(timeout_seconds=None), POD)["spec"]
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"memory": "32GB"}, "Did you mean 32G"),
        ({"cpu": "two"}, "c.Kubernetes.job_resources['cpu']"),
        ({"gpus": "0.5"}, "whole number"),
        ({"gpus": -1}, "whole number"),
        ({"gpu": 1}, "unknown keys ['gpu']"),
    ],
)
def test_bad_job_resources_are_refused_naming_the_setting(values, message):
    with pytest.raises(InvalidInput, match=re.escape(message)):
        objects.Resources.parse(
            values, gpu_resource="nvidia.com/gpu", setting="c.Kubernetes.job_resources"
        )


def test_images_get_the_registry_unless_they_name_one():
    settings = Kubernetes(image_registry="registry.example.com/ml/")
    assert settings.image("runner:1") == "registry.example.com/ml/runner:1"
    assert settings.image("team/runner:1") == "registry.example.com/ml/team/runner:1"
    assert settings.image("quay.io/org/runner:1") == "quay.io/org/runner:1"
    assert settings.image("localhost:5000/runner") == "localhost:5000/runner"
    assert Kubernetes().image("runner:1") == "runner:1"


def dataops(tmp_path, **values):
    return DataOps(root_dir=str(tmp_path), data_dir=str(tmp_path / "data"), **values)


def test_the_embedded_defaults_are_refused_naming_each_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text(
        "[core]\n    remote = local\n['remote \"local\"']\n    url = ../remote\n"
    )
    found = problems(dataops(tmp_path), Kubernetes())
    settings = " ".join(p.fix for p in found)
    for setting in (
        "c.DataOps.mlflow_artifact_location",
        "c.DataOps.job_files_url",
        "c.DataOps.store_url",
        "c.DataOps.mlflow_tracking_uri",
        "dvc remote add",
    ):
        assert setting in settings
    with pytest.raises(BackendUnavailable) as info:
        require_reachable(dataops(tmp_path), Kubernetes(), backend="job executor")
    assert "pods cannot reach" in info.value.message
    assert len(info.value.details["problems"]) == 5


def test_a_working_set_is_accepted(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text(
        "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://bucket/dvc\n"
    )
    ok = dataops(
        tmp_path,
        job_files_url="s3://bucket/dataops",
        store_url="postgresql+psycopg://dataops@db.ml.svc/dataops",
        mlflow_tracking_uri="http://mlflow.ml.svc:5000",
        mlflow_artifact_location="s3://bucket/mlflow",
    )
    assert problems(ok, Kubernetes()) == []
    # A shared folder works when pods mount it; sqlite works when pods act through the server.
    shared = dataops(
        tmp_path,
        job_files_url="file:///shared/dataops",
        mlflow_tracking_uri="http://mlflow.ml.svc:5000",
        mlflow_artifact_location="mlflow-artifacts:/",
    )
    assert (
        problems(
            shared,
            Kubernetes(files_volume="dataops-files", server_url="http://jupyter.ml.svc:8888"),
        )
        == []
    )
    assert next(p.what for p in problems(shared, Kubernetes())).startswith(
        "job files are kept in file:///shared"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:5000",
        "http://127.0.0.1:5000",
        "http://[::1]:5000",
        "sqlite:///m.db",
        "/srv/mlruns",
        "file:///srv/mlruns",
    ],
)
def test_mlflow_on_the_servers_own_machine_is_refused(tmp_path, url):
    found = problems(
        dataops(
            tmp_path,
            mlflow_tracking_uri=url,
            mlflow_artifact_location="s3://b/m",
            job_files_url="s3://b/d",
        ),
        Kubernetes(server_url="http://j.ml.svc:8888"),
    )
    assert [p.fix for p in found] == ['c.DataOps.mlflow_tracking_uri = "http://mlflow.ns.svc:5000"']


def test_names_of_every_placeholder_are_checked():
    fields = {n for _, n, _, _ in string.Formatter().parse("dataops-{user}-{team}") if n}
    assert fields == {"user", "team"}
    names.check_namespace_template("dataops-{user}-{team}")


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_in_the_operators_docs_passes_the_schemas(version):
    import textwrap
    from pathlib import Path

    import yaml

    text = (Path(__file__).resolve().parent.parent / "docs" / "kubernetes.md").read_text()
    blocks = re.findall(r"^( *)```yaml\n(.*?)^\1```", text, re.S | re.M)
    checked = 0
    for _, block in blocks:
        for doc in yaml.safe_load_all(textwrap.dedent(block)):
            if not doc or "kind.x-k8s.io" in doc.get("apiVersion", "kind.x-k8s.io"):
                continue  # a kind cluster's configuration: not a Kubernetes object
            validate(doc, version)
            checked += 1
    assert checked >= 10  # the RBAC, the Secret, the scheduler's Deployment, the Job...


def serving(autoscale=None, resources=None, **spec):
    values = dict(
        name="churn",
        model_uri="models:/churn@production",
        label="churn v3",
        host="127.0.0.1",
        port=9100,
        token="s3cret",
    )
    values.update(spec)
    return objects.EndpointServing(
        spec=ServingSpec(**values),
        namespace="dataops",
        identity="churn@0123456789abcdef",
        tracking_uri="http://mlflow.ml.svc:5000",
        resources=resources or objects.Resources(cpu="1", memory="2Gi"),
        autoscale=autoscale,
        owner="alice@example.com",
    )


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"autoscale": objects.Autoscale(2, 10, 60)},
        {"canary_uri": "models:/churn/4", "canary_label": "churn v4", "canary_percent": 10},
        {"name": "a" * 63, "resources": objects.Resources(memory="4Gi", gpus=1)},
    ],
)
def test_endpoint_objects_pass_the_official_schemas(version, variant):
    made = objects.endpoint_objects(serving(**variant), POD, token="s3cret")
    kinds = [o["kind"] for o in made]
    assert kinds[:3] == ["Secret", "Deployment", "Service"]
    assert ("HorizontalPodAutoscaler" in kinds) == ("autoscale" in variant)
    for obj in made:
        validate(obj, version)
        name = obj["metadata"]["name"]
        assert LABEL.fullmatch(name) and len(name) <= 63 and name[0].isalpha()


def test_an_endpoint_is_a_deployment_behind_a_service_with_its_token_in_a_secret():
    secret, deployment, service = objects.endpoint_objects(serving(), POD, token="s3cret")
    assert secret["stringData"] == {"token": "s3cret"}
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    # The selector matches the pods' labels and the Service's selector.
    pod_labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"]
    (container,) = spec["template"]["spec"]["containers"]
    argv = container["command"]
    assert argv[:3] == ["python", "-m", "jupyter_dataops.backends.local.model_server"]
    assert argv[argv.index("--model-uri") + 1] == "models:/churn@production"
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert argv[argv.index("--token-file") + 1] == "/var/run/dataops/token"
    assert argv[argv.index("--tracking-uri") + 1] == "http://mlflow.ml.svc:5000"
    # The token is never in the pod's command or environment: a file from the Secret.
    assert "s3cret" not in str(deployment)
    assert (
        spec["template"]["spec"]["volumes"][0]["secret"]["secretName"] == secret["metadata"]["name"]
    )
    assert container["readinessProbe"]["httpGet"]["path"] == "/ping"
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 9100, "targetPort": "http", "protocol": "TCP"}
    ]
    hpa = objects.endpoint_objects(serving(autoscale=objects.Autoscale(2, 10, 60)), POD, token="t")[
        3
    ]
    assert (
        "replicas"
        not in objects.endpoint_objects(
            serving(autoscale=objects.Autoscale(2, 10, 60)), POD, token="t"
        )[1]["spec"]
    )
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]


@pytest.mark.parametrize(
    "values",
    [{"max": 0}, {"min": 3, "max": 2}, {"min": 1}, {"max": 5, "cpu": 70}, {"max": "many"}],
)
def test_bad_autoscaling_settings_are_refused_naming_the_setting(values):
    with pytest.raises(InvalidInput, match=r"c\.Kubernetes\.endpoint_autoscale"):
        objects.Autoscale.parse(values, setting="c.Kubernetes.endpoint_autoscale")
