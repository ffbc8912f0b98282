"""Endpoints' and model versions' request and response models (field names are the REST API's
JSON names).

An endpoint is a row with a state machine, like a job: ``desired`` says whether it should be
serving (the user's intent, kept across restarts) and ``status`` what it is doing now. The
supervisor moves ``status`` towards ``desired``: an endpoint that should run but whose process
is gone is started again on the same port, so its URL never changes.
"""

from __future__ import annotations

import enum
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: An endpoint's name: a DNS label (it becomes a Kubernetes Service name on a cluster).
NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
#: MLflow's registered model and alias names are freer; ours stay printable and short.
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
ALIAS_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,99}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class EndpointStatus(str, enum.Enum):
    STARTING = "starting"  #: its server is loading the model
    RUNNING = "running"  #: answering on its URL
    STOPPED = "stopped"  #: stopped on purpose (desired: stopped)
    FAILED = "failed"  #: could not start, or crashed and could not be started again


ALLOWED_TRANSITIONS: dict[EndpointStatus, frozenset[EndpointStatus]] = {
    EndpointStatus.STARTING: frozenset(
        {EndpointStatus.RUNNING, EndpointStatus.FAILED, EndpointStatus.STOPPED}
    ),
    EndpointStatus.RUNNING: frozenset(
        {EndpointStatus.STARTING, EndpointStatus.FAILED, EndpointStatus.STOPPED}
    ),
    EndpointStatus.STOPPED: frozenset({EndpointStatus.STARTING}),
    EndpointStatus.FAILED: frozenset({EndpointStatus.STARTING, EndpointStatus.STOPPED}),
}


def slug(name: str) -> str:
    """A model name as an endpoint name: lower case, runs of anything else as one hyphen."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text[:63].rstrip("-") or "model"


class Candidate(_Model):
    """A kernel variable that can be published, and the MLflow flavour that would log it."""

    name: str
    type: str
    flavor: str


class ModelVersion(_Model):
    """One version of a registered model, as the MLflow registry knows it."""

    name: str
    version: int
    run_id: str | None = None
    source: str = Field(..., description="Where its files are (the URI it was registered from)")
    model_uri: str = Field(..., description="models:/NAME/VERSION")
    aliases: list[str] = Field(default_factory=list)
    flavors: list[str] = Field(default_factory=list)
    signature: dict[str, Any] | None = Field(None, description="MLflow's inputs/outputs schema")
    created_at: float
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict, description="The run's parameters")
    metrics: dict[str, float] = Field(default_factory=dict, description="The run's metrics")
    job_id: str | None = Field(None, description="The job whose notebook made it")
    snapshot_id: str | None = Field(None, description="The snapshot of the project it came from")
    run_url: str | None = Field(None, description="The run in the MLflow UI, when one is set")


class RegisteredModel(_Model):
    name: str
    description: str | None = None
    aliases: dict[str, int] = Field(default_factory=dict)
    latest_version: int | None = None
    updated_at: float | None = None
    versions: list[ModelVersion] = Field(default_factory=list)


class ModelList(_Model):
    items: list[RegisteredModel]
    tracking_uri: str = Field(..., description="Where the kernel logs models (no password)")
    ui_url: str | None = Field(
        None, description="The MLflow UI, when c.DataOps.mlflow_ui_url is set"
    )


class ModelSettings(_Model):
    """Where a kernel logs a model before it is published (what `%dataops publish` uses)."""

    tracking_uri: str
    experiment: str
    artifact_location: str | None = None
    target: str = Field(
        "local",
        description="Where a new endpoint is served unless a publish names another: the default "
        "deployment target's name (local, kubernetes, kserve)",
    )
    targets: list[str] = Field(
        default_factory=list,
        description="Every target a publish may name (PublishRequest.target), the default first",
    )


class PublishRequest(_Model):
    """Register a logged model as a new version and serve it."""

    model_uri: str = Field(
        ...,
        min_length=1,
        max_length=4096,
        description="Any MLflow model URI: runs:/ID/model, models:/NAME/3, a local path",
    )
    name: str = Field(..., pattern=NAME_PATTERN, description="The endpoint's name")
    model_name: str | None = Field(
        None,
        pattern=MODEL_NAME_PATTERN,
        description="The registered model (default: the endpoint's name)",
    )
    alias: str = Field(
        "production", pattern=ALIAS_PATTERN, description="The alias that marks the version served"
    )
    canary_percent: int | None = Field(
        None,
        ge=1,
        le=99,
        description="Serve the new version to this share of requests next to the current one, "
        "instead of replacing it (promote it later)",
    )
    host: str | None = Field(
        None, max_length=255, description="Where to listen (default: c.DataOps.endpoint_host)"
    )
    port: int | None = Field(None, ge=1024, le=65535, description="Default: a free port, kept")
    target: str | None = Field(
        None,
        max_length=100,
        description="Where to serve it: one of ModelSettings.targets (default: where the "
        "endpoint is served now, for a new one the server's default target). Naming another "
        "moves the endpoint there",
    )
    description: str | None = Field(None, max_length=5000)
    job_id: str | None = Field(None, max_length=64, description="The job that made it (lineage)")
    snapshot_id: str | None = Field(None, max_length=64, description="Default: the job's")
    drift_threshold: float | None = Field(None, gt=0, le=100)
    only_if_better: str | None = Field(
        None,
        max_length=250,
        description="Serve the new version only if this metric of its run beats the served "
        "version's (a scheduled retrain); otherwise it is registered and nothing else changes",
    )
    lower_is_better: bool = Field(False, description="For only_if_better: lower wins (a loss)")
    reference: list[dict[str, Any]] | None = Field(
        None,
        max_length=10000,
        description="Rows of training data the drift score compares requests with "
        "(default: the model's input example)",
    )


class Publication(_Model):
    endpoint: Endpoint
    version: ModelVersion
    seconds: float = Field(..., description="From the request to the first good answer")
    published: bool = Field(
        True, description="False: only_if_better found it no better; the endpoint is unchanged"
    )
    reason: str | None = Field(None, description="Why it was or was not served (the gate)")


class TrafficRequest(_Model):
    """Split traffic: ``percent`` of requests to ``canary_version``, the rest to the served
    version. ``percent`` 0 (or no canary version) ends the split."""

    canary_version: int | None = Field(None, ge=1)
    percent: int = Field(..., ge=0, le=99)


class PromoteRequest(_Model):
    version: int | None = Field(None, ge=1, description="Default: the canary's version")


class EndpointAction(_Model):
    """What the supervisor did, for the endpoint's history."""

    at: float
    action: str
    version: int | None = None
    actor: str | None = None
    detail: str | None = None


class Endpoint(_Model):
    name: str
    model_name: str
    version: int
    alias: str
    model_uri: str
    canary_version: int | None = None
    canary_percent: int = 0
    status: EndpointStatus
    desired: Literal["running", "stopped"]
    target: str = Field(..., description="Where it is served: local (a process here), ...")
    host: str
    port: int
    url: str = Field(..., description="The scoring URL: POST it MLflow's JSON")
    token_required: bool
    pid: int | None = None
    error: str | None = None
    restarts: int = Field(0, description="Times it was started again after its process died")
    history: list[EndpointAction] = Field(default_factory=list)
    drift_threshold: float
    drift_score: float | None = None
    drift_checked_at: float | None = None
    run_id: str | None = None
    job_id: str | None = None
    snapshot_id: str | None = None
    owner: str | None = None
    created_at: float
    updated_at: float
    started_at: float | None = None


class EndpointPage(_Model):
    items: list[Endpoint]
    total: int


class MetricPoint(_Model):
    t: float = Field(..., description="Start of the interval (epoch seconds)")
    requests: int
    rate: float = Field(..., description="Requests per second")
    error_rate: float = Field(..., description="Share of requests answered 4xx or 5xx")
    server_errors: int
    p50_ms: float | None = None
    p99_ms: float | None = None
    by_version: dict[str, int] = Field(default_factory=dict)


class EndpointMetrics(_Model):
    name: str
    bucket_seconds: int
    points: list[MetricPoint]
    available: bool = Field(..., description="False when the endpoint is not answering")


class ColumnDrift(_Model):
    name: str
    kind: Literal["numeric", "categorical"]
    score: float = Field(..., description="Population stability index")


class DriftReport(_Model):
    name: str
    score: float | None = Field(None, description="The largest column score (PSI)")
    threshold: float
    drifted: bool
    columns: list[ColumnDrift] = Field(default_factory=list)
    sample_rows: int = 0
    reference_rows: int = 0
    message: str


class InvokeRequest(_Model):
    """A scoring request sent through the server (the catalogue's try-it form)."""

    payload: dict[str, Any] = Field(
        ..., description="MLflow's JSON: dataframe_split, dataframe_records, instances or inputs"
    )


class InvokeResult(_Model):
    status: int
    body: Any
    version: str | None = Field(None, description="The version that answered")
    seconds: float


class EndpointToken(_Model):
    name: str
    token: str | None = Field(None, description="None: the endpoint needs none (loopback)")


class Snippets(_Model):
    """Requests that call the endpoint, built from the model's input example."""

    curl: str
    python: str
    example: dict[str, Any] | None = None


Publication.model_rebuild()


class EndpointEvent(_Model):
    """An endpoint event on the server's event bus (https://events.jupyter-dataops.org/endpoint/v1)."""

    action: Literal["created", "updated", "deleted"]
    id: str
    seq: int = Field(..., ge=1)
    status: EndpointStatus | None = None
    version: int | None = None
    drifted: bool | None = None
