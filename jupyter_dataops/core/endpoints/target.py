"""What serving needs from a deployment target: start a model server for an endpoint, stop it,
and tell whether the one running is that endpoint's: local processes (``backends.local.
serving``) or a Deployment and a Service on a cluster (``backends.kubernetes.serving``). A target never decides what should run: the store
does, and the endpoint service reconciles the target with it."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from traitlets.config import LoggingConfigurable


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (an endpoint there needs no token)."""
    import ipaddress

    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass(frozen=True)
class ServingSpec:
    """Everything a target needs to serve one endpoint."""

    name: str
    model_uri: str
    label: str
    host: str
    port: int
    token: str | None = None
    canary_uri: str | None = None
    canary_label: str = ""
    canary_percent: int = 0
    sample_bytes: int = 1 << 20
    max_body_bytes: int = 16 << 20


def server_argv(
    spec: ServingSpec,
    *,
    host: str,
    port: int,
    identity: str,
    tracking_uri: str,
    token_file: str | None,
) -> list[str]:
    """The arguments of our model server (``backends.local.model_server``) for ``spec``, as a
    local process or a cluster's pod runs it."""
    argv = [
        "--model-uri",
        spec.model_uri,
        "--host",
        host,
        "--port",
        str(port),
        "--label",
        spec.label,
        "--endpoint",
        identity,
        "--sample-bytes",
        str(spec.sample_bytes),
        "--max-body-bytes",
        str(spec.max_body_bytes),
        "--log-level",
        "warning",
    ]
    if tracking_uri:
        argv += ["--tracking-uri", tracking_uri]
    if spec.canary_uri and spec.canary_percent:
        argv += [
            "--canary-uri",
            spec.canary_uri,
            "--canary-label",
            spec.canary_label,
            "--canary-percent",
            str(spec.canary_percent),
        ]
    if token_file is not None:
        argv += ["--token-file", token_file]
    return argv


@dataclasses.dataclass(frozen=True)
class Handle:
    """How a target finds a server it started again: a process id and what tells that process
    from another that reused the id (its start time), or a cluster object's name."""

    pid: int | None
    identity: str | None = None


class DeploymentTarget(LoggingConfigurable):
    """Base class of deployment targets (``c.DataOps.endpoint_target_class``). Construction is
    cheap; nothing starts until :meth:`start`."""

    #: The name the catalogue shows ("local").
    name: ClassVar[str] = "base"

    def __init__(self, *, dataops: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: The shared settings (``core.config.DataOps``).
        self.dataops = dataops

    def needs_token(self, host: str) -> bool:
        """Whether clients of an endpoint on ``host`` must send its token: when anything but
        this machine can reach it."""
        return not is_loopback(host)

    def check(self) -> None:
        """Raise BackendUnavailable, naming the setting to change, when this target cannot
        serve endpoints as configured; a publish asks before it registers anything. Nothing by
        default."""

    def start(self, spec: ServingSpec) -> Handle:
        """Start serving ``spec`` (returns at once; the server loads the model meanwhile)."""
        raise NotImplementedError

    def stop(self, handle: Handle, *, timeout: float = 10.0) -> None:
        """Stop the server (gracefully, then for good); nothing when it is gone already."""
        raise NotImplementedError

    def alive(self, handle: Handle) -> bool:
        """Whether the server ``handle`` names still runs."""
        raise NotImplementedError

    def answers(self, spec: ServingSpec) -> bool:
        """Whether the endpoint's address answers as this endpoint (its health check)."""
        raise NotImplementedError

    def request(
        self,
        spec: ServingSpec,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        timeout: float = 10.0,
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request to the endpoint's server: (status, lower-cased headers, body)."""
        raise NotImplementedError

    def free_port(self, host: str, low: int, high: int, taken: set[int]) -> int:
        """A port in [low, high] that nothing listens on and no endpoint holds."""
        raise NotImplementedError

    def log_tail(self, name: str, lines: int = 20) -> str:
        """The last lines the endpoint's server logged (why it failed)."""
        return ""

    def url(self, spec: ServingSpec) -> str:
        """The base URL clients call."""
        raise NotImplementedError
