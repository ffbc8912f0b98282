"""The operator's settings for the cluster: ``c.Kubernetes.*`` (shared by every Kubernetes
backend). Example, in jupyter_server_config.py::

    c.DataOps.job_executor_class = "kubernetes"
    c.DataOps.job_files_url = "s3://ml-bucket/dataops"
    c.DataOps.store_url = "postgresql+psycopg://dataops@db/dataops"
    c.DataOps.mlflow_tracking_uri = "http://mlflow.ml.svc:5000"
    c.Kubernetes.namespace = "dataops-{user}"
    c.Kubernetes.job_image = "registry.example.com/ml/dataops-runner:1.4"
    c.Kubernetes.env_from_secrets = ["dataops-storage"]
"""

from __future__ import annotations

from traitlets import Bool, Dict, Float, Int, List, Unicode, validate
from traitlets.config import Configurable

from .names import check_namespace_template
from .objects import PodSettings


class Kubernetes(Configurable):
    """Where and how the Kubernetes backends create their objects."""

    kubeconfig = Unicode(
        "",
        help="""Path of the kubeconfig file. Empty: the in-cluster service account when the
        server runs in a pod, else $KUBECONFIG or ~/.kube/config.
        Example: c.Kubernetes.kubeconfig = "/etc/dataops/kubeconfig" """,
    ).tag(config=True)

    context = Unicode(
        "",
        help="""The kubeconfig context to use (default: its current context).
        Example: c.Kubernetes.context = "gpu-cluster" """,
    ).tag(config=True)

    api_url = Unicode(
        "",
        help="""The API server's URL, used as is with no credentials (a `kubectl proxy` or a test
        server); it overrides kubeconfig. Example: c.Kubernetes.api_url = "http://127.0.0.1:8001"
        """,
    ).tag(config=True)

    namespace = Unicode(
        "dataops",
        help="""Namespace of the objects: a name, or a template with {user} (and {team}, the
        user's first team in c.DataOps.sandbox_policy) for a namespace per user or team; the
        values are made safe as names. Example: c.Kubernetes.namespace = "dataops-{user}" """,
    ).tag(config=True)

    job_image = Unicode(
        "",
        help="""Image that runs job pods: it needs Python with jupyter-dataops (papermill,
        ipykernel, fsspec and the file store's driver, e.g. s3fs) and the kernels jobs name.
        Prefixed with image_registry unless it names a registry itself.
        Example: c.Kubernetes.job_image = "dataops-runner:1.4" """,
    ).tag(config=True)

    image_registry = Unicode(
        "",
        help="""Registry prefix for images that name none.
        Example: c.Kubernetes.image_registry = "registry.example.com/ml" """,
    ).tag(config=True)

    image_pull_policy = Unicode(
        "IfNotPresent",
        help="""imagePullPolicy of the pods' containers: Always, IfNotPresent or Never.
        Example: c.Kubernetes.image_pull_policy = "Always" """,
    ).tag(config=True)

    image_pull_secrets = List(
        Unicode(),
        help="""Secrets (in each namespace) holding registry credentials.
        Example: c.Kubernetes.image_pull_secrets = ["registry-creds"] """,
    ).tag(config=True)

    image_pull_timeout = Float(
        300.0,
        help="""Seconds a pod may fail to pull its image (ErrImagePull, ImagePullBackOff) before
        its job fails with the registry's message; until then the job shows as pending with it.
        Example: c.Kubernetes.image_pull_timeout = 120""",
    ).tag(config=True)

    service_account = Unicode(
        "",
        help="""Service account of the pods (default: the namespace's default account).
        Example: c.Kubernetes.service_account = "dataops-runner" """,
    ).tag(config=True)

    env_from_secrets = List(
        Unicode(),
        help="""Secrets whose keys become environment variables of every pod: credentials of the
        file store, MLflow and the DVC remote (AWS_ACCESS_KEY_ID, MLFLOW_TRACKING_TOKEN...).
        Their values are never read by the server. Example:
        c.Kubernetes.env_from_secrets = ["dataops-storage"]""",
    ).tag(config=True)

    env = Dict(
        value_trait=Unicode(),
        help="""Extra environment of every pod (not for secrets: use env_from_secrets).
        Example: c.Kubernetes.env = {"AWS_ENDPOINT_URL": "http://minio.storage:9000"}""",
    ).tag(config=True)

    job_resources = Dict(
        {"cpu": "1", "memory": "2Gi"},
        help="""Requests and limits of a job's container (Kubernetes quantities, as strings):
        cpu, memory, and gpus (a count, of the gpu_resource). Example:
        c.Kubernetes.job_resources = {"cpu": "2", "memory": "8Gi", "gpus": "1"}""",
    ).tag(config=True)

    gpu_resource = Unicode(
        "nvidia.com/gpu",
        help="""The extended resource that counts GPUs on the nodes.
        Example: c.Kubernetes.gpu_resource = "amd.com/gpu" """,
    ).tag(config=True)

    node_selector = Dict(
        value_trait=Unicode(),
        help="""nodeSelector of every pod. Example:
        c.Kubernetes.node_selector = {"node-pool": "ml"}""",
    ).tag(config=True)

    tolerations = List(
        Dict(),
        help="""Tolerations of every pod. Example: c.Kubernetes.tolerations = [{"key":
        "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]""",
    ).tag(config=True)

    labels = Dict(
        value_trait=Unicode(),
        help="""Extra labels of every object (cost centres, teams).
        Example: c.Kubernetes.labels = {"cost-centre": "ml-research"}""",
    ).tag(config=True)

    files_volume = Unicode(
        "",
        help="""When c.DataOps.job_files_url is a folder (file:///shared/dataops), the
        PersistentVolumeClaim that holds it in each namespace; pods mount it at the same path.
        Example: c.Kubernetes.files_volume = "dataops-files" """,
    ).tag(config=True)

    server_url = Unicode(
        "",
        help="""The Jupyter server's URL as pods reach it, so `%dataops` in a pod's kernel acts
        through the server. Needed when the store is sqlite (pods cannot reach the server's file).
        Without a path, the server's base URL is kept (JupyterHub's /user/NAME/). Without it,
        %dataops in a pod refuses, naming this setting.
        Example: c.Kubernetes.server_url = "http://jupyter.ml.svc:8888" """,
    ).tag(config=True)

    max_concurrent_jobs = Int(
        20,
        help="""Most jobs the worker keeps on the cluster at once (queued ones wait in the store).
        Example: c.Kubernetes.max_concurrent_jobs = 100""",
    ).tag(config=True)

    job_deadline_margin = Float(
        600.0,
        help="""Seconds added to a job's time limit for the Job's activeDeadlineSeconds, a
        backstop only (the worker enforces the limit; the deadline also counts pending time).
        Example: c.Kubernetes.job_deadline_margin = 1800""",
    ).tag(config=True)

    job_ttl_seconds = Int(
        3600,
        help="""ttlSecondsAfterFinished of job Jobs: how long a finished Job and its pod stay for
        `kubectl` (the job's files and log are kept in the file store regardless).
        Example: c.Kubernetes.job_ttl_seconds = 86400""",
    ).tag(config=True)

    job_kernels = List(
        Unicode(),
        ["python3"],
        help="""Kernels the job image has; a job naming another is refused at submit.
        Example: c.Kubernetes.job_kernels = ["python3", "ir"]""",
    ).tag(config=True)

    serving_image = Unicode(
        "",
        help="""Image of endpoints' model servers (c.DataOps.endpoint_target_class =
        "kubernetes"): Python with jupyter-dataops[models] and the libraries the models need.
        Default: job_image. Example: c.Kubernetes.serving_image = "dataops-serving:1.4" """,
    ).tag(config=True)

    endpoint_resources = Dict(
        {"cpu": "1", "memory": "2Gi"},
        help="""Requests and limits of each model server's container (quantities as strings;
        gpus a count). Example: c.Kubernetes.endpoint_resources = {"cpu": "2", "memory": "4Gi"}
        """,
    ).tag(config=True)

    endpoint_replicas = Int(
        1,
        help="""Model server pods per endpoint when it does not autoscale.
        Example: c.Kubernetes.endpoint_replicas = 2""",
    ).tag(config=True)

    endpoint_autoscale = Dict(
        {},
        help="""A HorizontalPodAutoscaler per endpoint: {"min": 1, "max": 5, "cpu_percent": 70}
        (empty: none, endpoint_replicas pods). Example: c.Kubernetes.endpoint_autoscale =
        {"min": 2, "max": 10, "cpu_percent": 60}""",
    ).tag(config=True)

    endpoint_url = Unicode(
        "http://{service}.{namespace}.svc.cluster.local:{port}",
        help="""The URL clients call, with {service}, {namespace}, {port} and {name} (the
        endpoint's); set it when an Ingress or a load balancer exposes endpoints. Example:
        c.Kubernetes.endpoint_url = "https://models.example.com/{name}" """,
    ).tag(config=True)

    sandbox_image = Unicode(
        "",
        help="""Image of sandbox pods whose profile names none: Python with jupyter-dataops and
        ipykernel (the runner image does). Default: job_image.
        Example: c.Kubernetes.sandbox_image = "dataops-notebook:1.4" """,
    ).tag(config=True)

    storage_class = Unicode(
        "",
        help="""StorageClass of each user's workspace volume (the PersistentVolumeClaim mounted
        as the home of the user's sandboxes). Empty: the cluster's default class.
        Example: c.Kubernetes.storage_class = "fast-ssd" """,
    ).tag(config=True)

    workspace_size = Unicode(
        "10Gi",
        help="""Size of each user's workspace volume, asked when it is first made.
        Example: c.Kubernetes.workspace_size = "50Gi" """,
    ).tag(config=True)

    workspace_access_mode = Unicode(
        "ReadWriteOnce",
        help="""Access mode of workspace volumes. ReadWriteOnce lets a user's sandboxes share it
        on one node only; ReadWriteMany (NFS, CephFS) on any.
        Example: c.Kubernetes.workspace_access_mode = "ReadWriteMany" """,
    ).tag(config=True)

    sandbox_max_resources = Dict(
        {"cpu": "16", "memory": "64Gi", "gpus": "8"},
        help="""The largest sandbox pod a node can hold (cpu, memory, gpus): it bounds
        c.DataOps.sandbox_policy as a machine's size does locally, so a request no node could
        place is refused at once instead of waiting for a node.
        Example: c.Kubernetes.sandbox_max_resources = {"cpu": "64", "memory": "480Gi", "gpus": "8"}
        """,
    ).tag(config=True)

    dvc_remote_volume = Unicode(
        "",
        help="""When the project's DVC remote is a folder (a shared NFS export), the
        PersistentVolumeClaim that holds it in each namespace: sandbox pods mount it read-only at
        the same path to load their data. Example: c.Kubernetes.dvc_remote_volume = "dvc-remote"
        """,
    ).tag(config=True)

    sandbox_port = Int(
        8765,
        help="""Port of the kernel host in each sandbox pod (the server reaches it and the
        kernels' ports at the pod's IP, so the server must run where pod IPs are routed).
        Example: c.Kubernetes.sandbox_port = 9000""",
    ).tag(config=True)

    sandbox_start_timeout = Float(
        900.0,
        help="""Seconds a sandbox pod may take from creation to a ready kernel host (waiting for a
        node, pulling, loading data, installing packages) before the start fails with the reason.
        Example: c.Kubernetes.sandbox_start_timeout = 1800""",
    ).tag(config=True)

    gpu_types = Dict(
        value_trait=Dict(value_trait=Unicode()),
        help="""GPU types the cluster offers, each with the node labels that select its nodes
        (a profile's or a request's gpu_type picks them); a type not listed is refused.
        Example: c.Kubernetes.gpu_types = {"a100": {"nvidia.com/gpu.product":
        "NVIDIA-A100-SXM4-80GB"}, "t4": {"nvidia.com/gpu.product": "Tesla-T4"}}""",
    ).tag(config=True)

    request_timeout = Float(
        30.0,
        help="""Seconds one call to the API server may take.
        Example: c.Kubernetes.request_timeout = 60""",
    ).tag(config=True)

    verify_ssl = Bool(
        True,
        help="""Verify the API server's certificate (only for kubeconfig clusters).
        Example: c.Kubernetes.verify_ssl = False""",
    ).tag(config=True)

    namespace_policy = Bool(
        True,
        help="""Set c.DataOps.sandbox_policy on the cluster: a ResourceQuota (GPUs of the
        namespace's user or team) and a LimitRange (each container's CPUs, memory and GPUs), both
        named dataops-policy, in each namespace before its first pod; the server checks the
        policy either way. Off: the namespaces' own quotas only.
        Example: c.Kubernetes.namespace_policy = False""",
    ).tag(config=True)

    @validate("namespace")
    def _check_namespace(self, proposal: dict) -> str:
        value: str = proposal["value"]
        check_namespace_template(value)
        return value

    @validate("image_pull_policy")
    def _check_pull_policy(self, proposal: dict) -> str:
        value: str = proposal["value"]
        if value not in ("Always", "IfNotPresent", "Never"):
            from traitlets import TraitError

            raise TraitError(
                f"c.Kubernetes.image_pull_policy = {value!r}: use Always, IfNotPresent or Never"
            )
        return value

    def image(self, name: str) -> str:
        """``name`` with the registry prefix, unless it names a registry (``host/...`` with a
        dot or a port in the first part, or ``localhost/...``)."""
        first = name.split("/", 1)[0]
        if not self.image_registry or (
            "/" in name and ("." in first or ":" in first or first == "localhost")
        ):
            return name
        return f"{self.image_registry.rstrip('/')}/{name}"

    def pod_settings(
        self, image: str, *, files_volume: tuple[str, str] | None = None
    ) -> PodSettings:
        """What every pod of the product shares, from these settings, running ``image``
        (prefixed with the registry)."""
        return PodSettings(
            image=self.image(image),
            image_pull_policy=self.image_pull_policy,
            image_pull_secrets=tuple(self.image_pull_secrets),
            service_account=self.service_account,
            env=dict(self.env),
            env_from_secrets=tuple(self.env_from_secrets),
            node_selector=dict(self.node_selector),
            tolerations=tuple(self.tolerations),
            labels=dict(self.labels),
            files_volume=files_volume,
        )


def pod_server_url(server_url: str, local: str) -> str:
    """``c.Kubernetes.server_url`` as a pod's kernel calls it: with the server's base URL (the
    path of ``local``, the URL the server gives its own kernels: JupyterHub's ``/user/NAME/``)
    when it names no path of its own."""
    from urllib.parse import urlsplit, urlunsplit

    ours = urlsplit(server_url)
    if ours.path.strip("/"):
        return server_url
    return urlunsplit(ours._replace(path=urlsplit(local).path or "/"))
