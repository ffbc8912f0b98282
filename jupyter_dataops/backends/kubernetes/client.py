"""The official Kubernetes client, made from ``c.Kubernetes``, with the cluster's errors turned
into the core's (a message that names the problem, a hint that names the fix), never a stack
trace. Every call is blocking and runs in the worker's threads, never on a server's event loop.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ...core.errors import (
    BackendUnavailable,
    Conflict,
    DataOpsError,
    InvalidInput,
    NotFound,
    PolicyViolation,
)

if TYPE_CHECKING:
    from .settings import Kubernetes

T = TypeVar("T")

RBAC_HINT = (
    "Give the server's service account the Role in docs/kubernetes.md (section RBAC) in that "
    "namespace: kubectl apply -n NAMESPACE -f rbac.yaml"
)


def require_kubernetes() -> Any:
    """The ``kubernetes`` package, or the extra to install."""
    try:
        import kubernetes
    except ImportError:
        raise BackendUnavailable(
            "The Kubernetes backends need the kubernetes package, which is not installed.",
            hint="pip install jupyter-dataops[kubernetes]",
        ) from None
    return kubernetes


class WatchExpired(Exception):
    """A watch's resourceVersion is too old (410 Gone): list again and watch from there."""


def status_message(exc: Any) -> str:
    """The API server's message of an ``ApiException`` (its Status body), else its reason."""
    body = getattr(exc, "body", None)
    if body:
        try:
            data = json.loads(body)
        except (TypeError, ValueError):
            data = None
        if isinstance(data, dict) and data.get("message"):
            return str(data["message"])
    return str(getattr(exc, "reason", "") or exc)


def translate(exc: Any, *, action: str, namespace: str) -> Exception:
    """An ``ApiException`` as the core's error. ``action`` says what was attempted, as in
    "create Job dataops-job-1a2b-1"."""
    status = int(getattr(exc, "status", 0) or 0)
    message = status_message(exc)
    where = f" in namespace {namespace}" if namespace else ""
    if status == 410:
        return WatchExpired(message)
    if status == 401:
        return BackendUnavailable(
            f"The cluster refused the server's credentials (401) to {action}: {message}",
            hint="Check c.Kubernetes.kubeconfig and c.Kubernetes.context, or the service "
            "account's token when the server runs in the cluster.",
        )
    if status == 403:
        if "exceeded quota" in message or "failed quota" in message:
            return PolicyViolation(
                f"The cluster's quota{where} refuses to {action}: {message}",
                hint="Ask for less, wait until running work ends, or ask the cluster's "
                "administrator to raise the namespace's ResourceQuota.",
            )
        if "maximum" in message or "minimum" in message:  # a LimitRange's bounds
            return PolicyViolation(
                f"The namespace's limits{where} refuse to {action}: {message}",
                hint="Stay within the namespace's LimitRange, or ask for it to change.",
            )
        return BackendUnavailable(
            f"The server's service account may not {action}{where}: {message}",
            hint=RBAC_HINT.replace("NAMESPACE", namespace or "NAMESPACE"),
        )
    if status == 404:
        if message.startswith("namespaces "):
            return BackendUnavailable(
                f"Namespace {namespace} does not exist on the cluster ({message}).",
                hint=f"kubectl create namespace {namespace}, then apply the RBAC of "
                "docs/kubernetes.md in it; or change c.Kubernetes.namespace.",
            )
        return NotFound(f"Cannot {action}{where}: {message}")
    if status == 409:
        return Conflict(
            f"Cannot {action}{where}: {message}",
            hint="Another object of that name exists; it is left alone.",
        )
    if status in (400, 422):
        return InvalidInput(
            f"The cluster refused to {action}{where}: {message}",
            hint="The message names the field; if it comes from a setting, change that "
            "c.Kubernetes setting.",
        )
    if status == 429 or status >= 500:
        return BackendUnavailable(
            f"The cluster's API server could not {action}{where} ({status}: {message}).",
            hint="It is retried; if it persists, check the API server.",
        )
    return BackendUnavailable(f"Cannot {action}{where}: {status} {message}")


class Cluster:
    """The clients of one cluster, made on first use (the server's start does not wait for the
    cluster). ``call`` runs one request with the timeout and the error translation."""

    def __init__(self, settings: Kubernetes) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._api_client: Any = None

    @property
    def api_client(self) -> Any:
        with self._lock:
            if self._api_client is None:
                self._api_client = self._make_client()
            return self._api_client

    def _make_client(self) -> Any:
        kubernetes = require_kubernetes()
        from kubernetes import client, config

        settings = self.settings
        configuration = client.Configuration()
        if settings.api_url:
            configuration.host = settings.api_url.rstrip("/")
        else:
            try:
                in_cluster = not settings.kubeconfig and "KUBERNETES_SERVICE_HOST" in os.environ
                if in_cluster:
                    config.load_incluster_config(client_configuration=configuration)
                else:
                    config.load_kube_config(
                        config_file=settings.kubeconfig or None,
                        context=settings.context or None,
                        client_configuration=configuration,
                    )
            except (config.ConfigException, OSError, TypeError, ValueError) as exc:
                raise BackendUnavailable(
                    f"Cannot load the cluster's configuration: {exc}",
                    hint="Set c.Kubernetes.kubeconfig (and c.Kubernetes.context), or run the "
                    "server in the cluster with a service account.",
                ) from None
            configuration.verify_ssl = settings.verify_ssl
        del kubernetes
        return client.ApiClient(configuration)

    @property
    def host(self) -> str:
        return str(self.api_client.configuration.host)

    def batch(self) -> Any:
        from kubernetes import client

        return client.BatchV1Api(self.api_client)

    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client)

    def call(
        self, fn: Callable[..., T], *args: Any, action: str, namespace: str = "", **kwargs: Any
    ) -> T:
        """``fn(*args, **kwargs)`` with the request timeout; errors as the core's."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        kwargs.setdefault("_request_timeout", self.settings.request_timeout)
        try:
            return fn(*args, **kwargs)
        except ApiException as exc:
            raise translate(exc, action=action, namespace=namespace) from None
        except (HTTPError, OSError) as exc:
            raise BackendUnavailable(
                f"Cannot reach the Kubernetes API server at {self.host} to {action}: {exc}",
                hint="Check c.Kubernetes.kubeconfig or c.Kubernetes.api_url, and that the "
                "server's network reaches the cluster.",
            ) from None

    def close(self) -> None:
        with self._lock:
            if self._api_client is not None:
                self._api_client.close()
                self._api_client = None


def is_error(exc: BaseException) -> bool:
    """Whether ``exc`` is one of the translated errors (to report, not to log as a bug)."""
    return isinstance(exc, (DataOpsError, WatchExpired))
