"""Configuration shared by every adapter: the server extension, the CLI, the magics and the worker.

One ``jupyter_server_config.py`` (or ``jupyter_dataops_config.py``) configures them all::

    c.DataOps.store_url = "postgresql+psycopg://dataops@db/dataops"
    c.DataOps.job_executor_class = "local"          # or an import string, or an entry-point name
    c.LocalExecutor.max_concurrent_jobs = 4
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from traitlets import (
    Bool,
    Dict,
    Float,
    Int,
    List,
    TraitError,
    Type,
    Unicode,
    Union,
    default,
    validate,
)
from traitlets.config import Config, Configurable

EXECUTOR_ENTRY_POINTS = "jupyter_dataops.executors"
SCHEDULER_ENTRY_POINTS = "jupyter_dataops.schedulers"
TARGET_ENTRY_POINTS = "jupyter_dataops.deployment_targets"
PROVIDER_ENTRY_POINTS = "jupyter_dataops.sandbox_providers"
# Built-in names work even from a source tree whose entry points are not installed.
BUILTIN_BACKENDS = {
    EXECUTOR_ENTRY_POINTS: {
        "local": "jupyter_dataops.backends.local.LocalExecutor",
        "kubernetes": "jupyter_dataops.backends.kubernetes.executor.KubernetesExecutor",
    },
    SCHEDULER_ENTRY_POINTS: {"local": "jupyter_dataops.backends.local.scheduler.LocalScheduler"},
    TARGET_ENTRY_POINTS: {
        "local": "jupyter_dataops.backends.local.serving.LocalProcessTarget",
        "kubernetes": "jupyter_dataops.backends.kubernetes.serving.KubernetesTarget",
        "kserve": "jupyter_dataops.backends.kubernetes.kserve.KServeTarget",
    },
    PROVIDER_ENTRY_POINTS: {
        "local": "jupyter_dataops.backends.local.sandboxes.LocalSandboxProvider",
        "kubernetes": "jupyter_dataops.backends.kubernetes.sandboxes.KubernetesSandboxProvider",
    },
}


def resolve_backend(group: str, value: Any) -> Any:
    """Turn an entry-point name (``"local"``) into its class; leave classes and import strings."""
    if isinstance(value, str) and "." not in value:
        for ep in entry_points(group=group):
            if ep.name == value:
                return ep.load()
        builtin = BUILTIN_BACKENDS.get(group, {})
        if value in builtin:
            return builtin[value]
        names = sorted({ep.name for ep in entry_points(group=group)} | set(builtin))
        raise TraitError(
            f"No backend named {value!r} in {group}; installed: {', '.join(names) or 'none'}. "
            "Install the package that provides it (for Kubernetes: pip install jupyter-dataops[kubernetes])."
        )
    return value


def _other_classes(group: str, values: Any, default: Any) -> list[type]:
    """The classes named in ``values`` (entry-point names or import strings) besides
    ``default``, without repeats."""
    from traitlets.utils.importstring import import_item

    found: list[type] = []
    for value in values:
        cls = resolve_backend(group, value)
        if isinstance(cls, str):
            cls = import_item(cls)
        if cls is not default and cls not in found:
            found.append(cls)
    return found


def other_executor_classes(dataops: Any) -> list[type]:
    """The classes of ``c.DataOps.job_executors`` (besides the default)."""
    return _other_classes(EXECUTOR_ENTRY_POINTS, dataops.job_executors, dataops.job_executor_class)


def other_target_classes(dataops: Any) -> list[type]:
    """The classes of ``c.DataOps.endpoint_targets`` (besides the default)."""
    return _other_classes(
        TARGET_ENTRY_POINTS, dataops.endpoint_targets, dataops.endpoint_target_class
    )


def other_provider_classes(dataops: Any) -> list[type]:
    """The classes of ``c.DataOps.sandbox_providers`` (besides the default)."""
    return _other_classes(
        PROVIDER_ENTRY_POINTS, dataops.sandbox_providers, dataops.sandbox_provider_class
    )


class BackendType(Type):
    """A ``Type`` trait that also accepts the name of an entry point in ``group``."""

    def __init__(self, *args: Any, group: str, **kwargs: Any) -> None:
        self.group = group
        super().__init__(*args, **kwargs)

    def validate(self, obj: Any, value: Any) -> Any:
        return super().validate(obj, resolve_backend(self.group, value))


def default_data_dir() -> Path:
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "dataops"


class DataOps(Configurable):
    """Settings of jupyter-dataops that every adapter shares."""

    root_dir = Unicode(
        "",
        help="""Directory that notebook paths are relative to and that no path may leave.
        The server uses its own root_dir; the CLI the current directory.""",
    ).tag(config=True)

    data_dir = Unicode(
        "",
        help="""Where the store, the worker's state and its lock live.
        Default: <jupyter data dir>/dataops (honours JUPYTER_DATA_DIR).""",
    ).tag(config=True)

    store_url = Unicode(
        "",
        help="""SQLAlchemy URL of the store. Default: sqlite:///<data_dir>/dataops.db.
        Example: c.DataOps.store_url = "postgresql+psycopg://user@host/dataops" """,
    ).tag(config=True)

    jobs_dir = Unicode(
        "dataops-jobs",
        help="""Folder, relative to root_dir, where each job gets a folder with its staged input,
        executed notebook, HTML and log. Example: c.DataOps.jobs_dir = "runs" """,
    ).tag(config=True)

    job_executor_class = BackendType(
        default_value="jupyter_dataops.backends.local.LocalExecutor",
        klass="jupyter_dataops.core.jobs.executor.Executor",
        group=EXECUTOR_ENTRY_POINTS,
        help="""Executor that runs jobs: an entry-point name from the jupyter_dataops.executors
        group ("local") or an import string. Example: c.DataOps.job_executor_class = "local" """,
    ).tag(config=True)

    job_executors = List(
        Unicode(),
        help="""Other executors a job may name to run on (entry-point names or import strings),
        besides job_executor_class, the default: "run this job on the cluster".
        Example: c.DataOps.job_executors = ["kubernetes"]""",
    ).tag(config=True)

    job_files_url = Unicode(
        "",
        help="""Where jobs' files (staged notebook, executed notebook, HTML, log) are kept: empty
        for a folder (jobs_dir) inside each job's root directory, where JupyterLab opens them; or
        an fsspec URL, so executions elsewhere read and write them.
        Example: c.DataOps.job_files_url = "s3://my-bucket/dataops" """,
    ).tag(config=True)

    max_notebook_bytes = Int(
        50 * 1024 * 1024,
        help="""Largest notebook a job may run (bytes); a larger one is refused before anything
        is stored. Example: c.DataOps.max_notebook_bytes = 200 * 1024 * 1024""",
    ).tag(config=True)

    max_parameter_bytes = Int(
        1024 * 1024,
        help="""Largest value of one parameter, as JSON (bytes). Pass large data as a file path.
        Example: c.DataOps.max_parameter_bytes = 65536""",
    ).tag(config=True)

    max_request_bytes = Int(
        8 * 1024 * 1024,
        help="""Largest request body the REST API reads (bytes); a larger one gets HTTP 413.
        Example: c.DataOps.max_request_bytes = 1024 * 1024""",
    ).tag(config=True)

    scheduler_class = BackendType(
        default_value="jupyter_dataops.backends.local.scheduler.LocalScheduler",
        klass="jupyter_dataops.core.schedules.backend.SchedulerBackend",
        group=SCHEDULER_ENTRY_POINTS,
        help="""Where schedules fire: an entry-point name from the jupyter_dataops.schedulers group
        ("local": in the worker process) or an import string.
        Example: c.DataOps.scheduler_class = "local" """,
    ).tag(config=True)

    min_schedule_interval = Float(
        60.0,
        help="""Shortest interval between two due times a schedule may have, in seconds (0: any).
        Example: c.DataOps.min_schedule_interval = 3600""",
    ).tag(config=True)

    default_kernel_name = Unicode(
        "python3",
        help="Kernel used when neither the request nor the notebook's metadata names one.",
    ).tag(config=True)

    default_timeout_seconds = Float(
        0.0,
        help="Whole-job time limit applied when a request gives none; 0 means no limit.",
    ).tag(config=True)

    max_queued_jobs = Int(
        1000,
        help="""Bound of the job queue: a submit beyond this many queued jobs is refused (HTTP 429)
        and stores nothing. Example: c.DataOps.max_queued_jobs = 5000""",
    ).tag(config=True)

    default_max_retries = Int(
        0, help="Retries for a failed job when the request does not say."
    ).tag(config=True)

    snapshot_data_paths = List(
        Unicode(),
        default_value=["data"],
        help="""Folders or files, relative to the project (root_dir), that snapshots version with
        DVC; everything else is committed with git. Example:
        c.DataOps.snapshot_data_paths = ["data", "models"]""",
    ).tag(config=True)

    snapshot_cache_type = Unicode(
        "hardlink,copy",
        help="""How DVC links data into its cache when a project is set up (its cache.type):
        links make adding 1 GiB cost little more than hashing it, where copying doubles the
        writes. Use "reflink,copy" on Btrfs, XFS or APFS. A hardlinked file must not be edited in
        place (DVC makes it read-only; a restore verifies hashes and refuses a damaged copy).
        Example: c.DataOps.snapshot_cache_type = "reflink,copy" """,
    ).tag(config=True)

    snapshot_remote = Unicode(
        "",
        help="""The DVC remote that snapshots' data is pushed to when the project has none of its
        own (a folder; set S3, GCS, Azure or SSH remotes with `dvc remote add -d`).
        Default: <data_dir>/dvc-remote. Example: c.DataOps.snapshot_remote = "/mnt/shared/dvc" """,
    ).tag(config=True)

    snapshot_max_git_file_bytes = Int(
        50 * 1024 * 1024,
        help="""Largest file outside the data paths that a snapshot commits with git; a larger one
        is refused, naming it (move it into a data path or .gitignore).
        Example: c.DataOps.snapshot_max_git_file_bytes = 10 * 1024 * 1024""",
    ).tag(config=True)

    snapshot_profile_max_bytes = Int(
        100 * 1024 * 1024,
        help="""Largest CSV or Parquet file a snapshot profiles (schema, rows, column statistics).
        Example: c.DataOps.snapshot_profile_max_bytes = 1024 * 1024 * 1024""",
    ).tag(config=True)

    snapshot_max_variable_bytes = Int(
        256 * 1024 * 1024,
        help="""Most bytes of kernel variables one snapshot saves (`%dataops snapshot
        --variables`); variables beyond it are skipped, each named with why.
        Example: c.DataOps.snapshot_max_variable_bytes = 1024 * 1024 * 1024""",
    ).tag(config=True)

    snapshot_jobs = Bool(
        False,
        help="""Record the snapshot each job runs on (lineage): the newest one when the project
        is unchanged since, else a new one taken before the job runs. Needs a project set up for
        snapshots. Example: c.DataOps.snapshot_jobs = True""",
    ).tag(config=True)

    mlflow_tracking_uri = Unicode(
        "",
        help="""MLflow tracking and registry URI where published models are logged and registered.
        Default: $MLFLOW_TRACKING_URI, else sqlite:///<data_dir>/mlflow.db.
        Example: c.DataOps.mlflow_tracking_uri = "http://mlflow.internal:5000" """,
    ).tag(config=True)

    mlflow_artifact_location = Unicode(
        "",
        help="""Where the models' files go when the experiment is created (a folder or URL).
        Default: <data_dir>/mlartifacts. Example: c.DataOps.mlflow_artifact_location = "s3://b/m" """,
    ).tag(config=True)

    mlflow_experiment = Unicode(
        "dataops",
        help="""The MLflow experiment that `%dataops publish` logs models in.
        Example: c.DataOps.mlflow_experiment = "churn" """,
    ).tag(config=True)

    mlflow_ui_url = Unicode(
        "",
        help="""The MLflow UI's address, for the catalogue's "Open in MLflow" links (empty: none).
        Example: c.DataOps.mlflow_ui_url = "http://127.0.0.1:5001" """,
    ).tag(config=True)

    endpoint_target_class = BackendType(
        default_value="jupyter_dataops.backends.local.serving.LocalProcessTarget",
        klass="jupyter_dataops.core.endpoints.target.DeploymentTarget",
        group=TARGET_ENTRY_POINTS,
        help="""Where endpoints are served: an entry-point name from the
        jupyter_dataops.deployment_targets group ("local": a process on this machine) or an
        import string. Example: c.DataOps.endpoint_target_class = "local" """,
    ).tag(config=True)

    endpoint_targets = List(
        Unicode(),
        help="""Other places endpoints may be served (entry-point names or import strings),
        besides endpoint_target_class, the default: a publish may name one ("serve this model
        on the cluster"). Example: c.DataOps.endpoint_targets = ["kubernetes"]""",
    ).tag(config=True)

    endpoint_host = Unicode(
        "127.0.0.1",
        help="""Address endpoints listen on. Anything but loopback makes each endpoint require a
        token (GET /dataops/api/endpoints/NAME/token). Example: c.DataOps.endpoint_host = "0.0.0.0" """,
    ).tag(config=True)

    endpoint_port_min = Int(
        8700,
        help="""Lowest port given to a new endpoint (it keeps its port across restarts).
        Example: c.DataOps.endpoint_port_min = 9000""",
    ).tag(config=True)

    endpoint_port_max = Int(
        8899,
        help="""Highest port given to a new endpoint. Example: c.DataOps.endpoint_port_max = 9100""",
    ).tag(config=True)

    endpoint_start_timeout = Float(
        120.0,
        help="""Seconds an endpoint's server may take to load its model and answer; after that
        the endpoint is failed, with its log's last lines. Example: c.DataOps.endpoint_start_timeout = 300""",
    ).tag(config=True)

    endpoint_drift_threshold = Float(
        0.2,
        help="""Drift score (largest population stability index of a column) above which an
        endpoint is reported as drifted. 0.1-0.2 is a moderate shift, above 0.2 a large one.
        Example: c.DataOps.endpoint_drift_threshold = 0.25""",
    ).tag(config=True)

    endpoint_sample_bytes = Int(
        1024 * 1024,
        help="""Bytes of recent request rows each endpoint keeps for the drift score.
        Example: c.DataOps.endpoint_sample_bytes = 4 * 1024 * 1024""",
    ).tag(config=True)

    endpoint_max_body_bytes = Int(
        16 * 1024 * 1024,
        help="""Largest scoring request an endpoint reads (bytes); a larger one gets HTTP 413.
        Example: c.DataOps.endpoint_max_body_bytes = 64 * 1024 * 1024""",
    ).tag(config=True)

    endpoint_launcher_idle = Float(
        1800.0,
        help="""Seconds the model server launcher (which forks endpoints' servers from a warm
        interpreter) stays with nothing to launch before it exits; the next publish starts it
        again. Endpoints it started keep running. Example: c.DataOps.endpoint_launcher_idle = 300""",
    ).tag(config=True)

    sandbox_provider_class = BackendType(
        default_value="jupyter_dataops.backends.local.sandboxes.LocalSandboxProvider",
        klass="jupyter_dataops.core.sandboxes.provider.SandboxProvider",
        group=PROVIDER_ENTRY_POINTS,
        help="""Where sandboxes run: an entry-point name from the jupyter_dataops.sandbox_providers
        group ("local": a folder, limits and kernels on this machine) or an import string.
        Example: c.DataOps.sandbox_provider_class = "local" """,
    ).tag(config=True)

    sandbox_providers = List(
        Unicode(),
        help="""Other places sandboxes may run (entry-point names or import strings), besides
        sandbox_provider_class, the default: a profile names one ("provider": "kubernetes"), a
        profile with an image goes to the first that can run it, and a start may ask for one
        ("start this sandbox on the cluster"). Example: c.DataOps.sandbox_providers = ["kubernetes"]
        """,
    ).tag(config=True)

    sandbox_profiles = List(
        Dict(),
        help="""The sandbox profiles users start from (empty: one profile, "local", with this
        machine's CPUs and memory and no GPU). Sizes are Kubernetes quantities. Example:
        c.DataOps.sandbox_profiles = [{"name": "gpu-small", "description": "One T4",
        "cpus": "4", "memory": "16Gi", "gpus": 1, "gpu_type": "t4",
        "environment": "/opt/envs/torch", "packages": ["torch>=2.3"], "tools": ["git"],
        "data": [{"kind": "directory", "source": "data/train"}],
        "env": {"HF_HOME": "/scratch/hf"}, "secrets": {"HF_TOKEN": "env:HF_TOKEN"},
        "idle_timeout": 3600, "max_lifetime": 86400}]""",
    ).tag(config=True)

    sandbox_policy = Dict(
        help="""What users may ask for when they start a sandbox, and how much they may hold.
        Bounds left open are the machine's. Example: c.DataOps.sandbox_policy = {
        "cpus": {"min": "500m", "max": "8"}, "memory": {"max": "64Gi"}, "gpus": {"max": 2},
        "gpu_types": ["t4", "a100"], "idle_timeout": {"max": 14400},
        "overridable": ["cpus", "memory", "gpus", "gpu_type", "idle_timeout"],
        "user_quota": {"sandboxes": 2, "gpus": 2, "gpu_hours_per_day": 8},
        "team_quotas": {"vision": {"gpus": 4}}, "teams": {"vision": ["alice", "bob"]}}""",
    ).tag(config=True)

    gpu_inventory = Union(
        [Unicode(), List(Dict())],
        default_value="auto",
        help="""The GPUs sandboxes are given: "auto" (NVIDIA's management library, nvidia-ml-py,
        where it loads; else none), "nvml", "none", or a list. Example:
        c.DataOps.gpu_inventory = [{"index": 0, "type": "a100", "memory": "40Gi"},
        {"index": 1, "type": "a100", "memory": "40Gi"}]""",
    ).tag(config=True)

    sandbox_warn_before = Float(
        300.0,
        help="""Seconds before an idle sandbox is stopped (or its lifetime ends) that its owner
        is warned. Example: c.DataOps.sandbox_warn_before = 600""",
    ).tag(config=True)

    @default("mlflow_tracking_uri")
    def _default_mlflow_tracking_uri(self) -> str:
        return (
            os.environ.get("MLFLOW_TRACKING_URI")
            or f"sqlite:///{Path(self.data_dir) / 'mlflow.db'}"
        )

    @default("mlflow_artifact_location")
    def _default_mlflow_artifact_location(self) -> str:
        return str(Path(self.data_dir) / "mlartifacts")

    @default("snapshot_remote")
    def _default_snapshot_remote(self) -> str:
        return str(Path(self.data_dir) / "dvc-remote")

    @default("root_dir")
    def _default_root_dir(self) -> str:
        return os.getcwd()

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return str(default_data_dir())

    @default("store_url")
    def _default_store_url(self) -> str:
        return f"sqlite:///{Path(self.data_dir) / 'dataops.db'}"

    @validate("jobs_dir")
    def _validate_jobs_dir(self, proposal: Any) -> str:
        value = str(proposal["value"]).strip()
        if not value or Path(value).is_absolute() or ".." in Path(value).parts:
            raise TraitError(f"jobs_dir must be a relative folder inside root_dir, got {value!r}")
        return value


def load_config_files(extra_paths: list[str] | None = None) -> Config:
    """Load ``jupyter_server_config`` and ``jupyter_dataops_config`` (.json/.py) from the Jupyter
    config path, as the server would, so the CLI and the worker see the same settings."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

    config = Config()
    paths = list(reversed(jupyter_config_path())) + list(extra_paths or [])
    for directory in paths:
        for base in ("jupyter_server_config", "jupyter_dataops_config"):
            for suffix, loader_cls in (
                (".json", JSONFileConfigLoader),
                (".py", PyFileConfigLoader),
            ):
                filename = base + suffix
                if not (Path(directory) / filename).is_file():
                    continue
                loader = loader_cls(filename, path=directory)
                config.merge(loader.load_config())
    return config
