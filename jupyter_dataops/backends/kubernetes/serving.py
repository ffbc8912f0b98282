"""Endpoints on a cluster: ``c.DataOps.endpoint_target_class = "kubernetes"``.

Each endpoint is a Deployment running our model server (``backends.local.model_server``) on the
model from the MLflow registry, a Service in front of it, a Secret with its token (every
endpoint on a cluster has one: other pods can reach it), and a HorizontalPodAutoscaler when
``c.Kubernetes.endpoint_autoscale`` asks. The server reaches an endpoint through the API
server's Service proxy, so it need not run in the cluster; clients call
``c.Kubernetes.endpoint_url``. As for local processes, the store says what should run and the
endpoint service reconciles: a restart re-reads the Deployments, a publish replaces them (a
rolling update), an unpublish deletes them.
"""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from ...core.endpoints.target import DeploymentTarget, Handle, ServingSpec
from ...core.errors import BackendUnavailable, Conflict, DataOpsError, NotFound
from . import objects
from .client import Cluster, require_kubernetes
from .names import label_value, namespace_for
from .reachability import require_reachable
from .settings import Kubernetes

#: Plural, API group path and the client call names of each kind an endpoint is made of.
_KINDS = {
    "Secret": ("core", "secret"),
    "Deployment": ("apps", "deployment"),
    "Service": ("core", "service"),
    "HorizontalPodAutoscaler": ("autoscaling", "horizontal_pod_autoscaler"),
}


class KubernetesTarget(DeploymentTarget):
    """Endpoints as Deployments and Services (see the module's documentation)."""

    name: ClassVar[str] = "kubernetes"
    #: The container of an endpoint's pods that runs the model server (its log is read).
    server_container: ClassVar[str] = objects.SERVER_CONTAINER

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = Kubernetes(parent=self.dataops if self.dataops is not None else self)
        self.cluster = Cluster(self.settings)
        store = getattr(self.dataops, "store_url", "") or ""
        #: Which store's endpoints these are (a server answers as "<endpoint>@<this>").
        self.store_tag = hashlib.sha256(store.encode()).hexdigest()[:16]

    def config_objects(self) -> list[Any]:
        return [self.settings]

    def needs_token(self, host: str) -> bool:
        return True  # other pods reach every Service of the cluster

    @property
    def namespace(self) -> str:
        # Endpoints are shared by a team's notebooks and services: one namespace for all.
        return namespace_for(self.settings.namespace, user="endpoints", team="endpoints")

    def identity_of(self, spec: ServingSpec) -> str:
        return f"{spec.name}@{self.store_tag}"

    def _api(self, group: str) -> Any:
        from kubernetes import client

        api_client = self.cluster.api_client
        return {
            "core": client.CoreV1Api,
            "apps": client.AppsV1Api,
            "autoscaling": client.AutoscalingV2Api,
        }[group](api_client)

    # -- the contract -------------------------------------------------------------------------
    def start(self, spec: ServingSpec) -> Handle:
        serving, pod = self._prepare(spec)
        made = objects.endpoint_objects(serving, pod, spec.token or "")
        for obj in made:  # refuse before making anything when a name is someone else's
            self._check_ours(obj)
        for obj in made:
            self._apply(obj)
        if serving.autoscale is None:  # an autoscaler from an earlier publish goes
            self._delete("HorizontalPodAutoscaler", objects.endpoint_name(spec.name))
        return Handle(None, f"{self.namespace}/{objects.endpoint_name(spec.name)}")

    def check(self) -> None:
        """The client library, settings whose registry pods can reach, and an image."""
        self._image()

    def _image(self) -> str:
        require_kubernetes()
        require_reachable(
            self.dataops, self.settings, backend="deployment target", needs=("mlflow",)
        )
        image = self.settings.serving_image or self.settings.job_image
        if not image:
            raise BackendUnavailable(
                "Endpoints on the cluster need an image: c.Kubernetes.serving_image is not set.",
                hint='c.Kubernetes.serving_image = "registry.example.com/ml/dataops-serving:1.4"',
            )
        return image

    def _prepare(self, spec: ServingSpec) -> tuple[objects.EndpointServing, objects.PodSettings]:
        """What every endpoint on the cluster needs, checked: the settings, the registry the
        pods reach, a token and an image."""
        image = self._image()
        if not spec.token:
            raise BackendUnavailable(
                f"Endpoint {spec.name} has no token; endpoints on a cluster need one.",
                hint="Publish it again: a new token is made.",
            )
        serving = objects.EndpointServing(
            spec=spec,
            namespace=self.namespace,
            identity=self.identity_of(spec),
            tracking_uri=self.dataops.mlflow_tracking_uri if self.dataops is not None else "",
            resources=objects.Resources.parse(
                self.settings.endpoint_resources,
                gpu_resource=self.settings.gpu_resource,
                setting="c.Kubernetes.endpoint_resources",
            ),
            replicas=self.settings.endpoint_replicas,
            autoscale=objects.Autoscale.parse(
                self.settings.endpoint_autoscale, setting="c.Kubernetes.endpoint_autoscale"
            ),
        )
        return serving, self.settings.pod_settings(image)

    def _read(self, kind: str, name: str, namespace: str) -> Any:
        group, call = _KINDS[kind]
        try:
            return self.cluster.call(
                getattr(self._api(group), f"read_namespaced_{call}"),
                name,
                namespace,
                action=f"read {kind} {name}",
                namespace=namespace,
            )
        except NotFound:
            return None

    def _check_ours(self, obj: dict[str, Any]) -> None:
        kind, meta = obj["kind"], obj["metadata"]
        current = self._read(kind, meta["name"], meta["namespace"])
        if current is None:
            return
        if (current.metadata.labels or {}).get(objects.MANAGED_BY) != objects.MANAGER:
            raise Conflict(
                f"{kind} {meta['name']} in namespace {meta['namespace']} exists and is not "
                "this product's.",
                hint="Rename the endpoint, or remove that object.",
            )

    def _apply(self, obj: dict[str, Any]) -> None:
        """Create, or replace what is there (a Deployment rolls its pods to the new model)."""
        kind = obj["kind"]
        group, call = _KINDS[kind]
        api = self._api(group)
        name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
        try:
            self.cluster.call(
                getattr(api, f"create_namespaced_{call}"),
                namespace,
                obj,
                field_validation="Strict",
                action=f"create {kind} {name}",
                namespace=namespace,
            )
            return
        except Conflict:
            pass
        self._check_ours(obj)
        current = self._read(kind, name, namespace)
        if current is None:  # gone meanwhile: make it
            self._apply(obj)
            return
        replacement = {
            **obj,
            "metadata": {**obj["metadata"], "resourceVersion": current.metadata.resource_version},
        }
        if kind == "Service":  # a Service keeps the address the cluster gave it
            replacement["spec"] = {**obj["spec"], "clusterIP": current.spec.cluster_ip}
        self.cluster.call(
            getattr(api, f"replace_namespaced_{call}"),
            name,
            namespace,
            replacement,
            field_validation="Strict",
            action=f"replace {kind} {name}",
            namespace=namespace,
        )

    def _delete(self, kind: str, name: str) -> None:
        group, call = _KINDS[kind]
        try:
            self.cluster.call(
                getattr(self._api(group), f"delete_namespaced_{call}"),
                name,
                self.namespace,
                propagation_policy="Background",
                # The answer (the object, or a Status, by kind and version) is not needed.
                _preload_content=False,
                action=f"delete {kind} {name}",
                namespace=self.namespace,
            )
        except NotFound:
            pass

    def stop(self, handle: Handle, *, timeout: float = 10.0) -> None:
        if not handle.identity:
            return
        name = handle.identity.rsplit("/", 1)[-1]
        for kind in ("HorizontalPodAutoscaler", "Service", "Deployment"):
            self._delete(kind, name)
        self._delete("Secret", f"{name}-token")

    def alive(self, handle: Handle) -> bool:
        if not handle.identity:
            return False
        name = handle.identity.rsplit("/", 1)[-1]
        try:
            deployment = self.cluster.call(
                self._api("apps").read_namespaced_deployment,
                name,
                self.namespace,
                action=f"read Deployment {name}",
                namespace=self.namespace,
            )
        except NotFound:
            return False
        if deployment.metadata.deletion_timestamp:
            return False
        # Pods that cannot start (a bad image, a crash loop) are not a server coming up.
        endpoint = (deployment.metadata.annotations or {}).get(objects.ENDPOINT, "")
        return not self._stuck_reason(endpoint)

    def _stuck_reason(self, endpoint: str) -> str | None:
        for pod in self._pods(endpoint):
            for status in (pod.status.container_statuses or []) if pod.status else []:
                waiting = status.state.waiting if status.state else None
                if waiting and waiting.reason in (
                    "CrashLoopBackOff",
                    "ImagePullBackOff",
                    "ErrImagePull",
                    "InvalidImageName",
                    "CreateContainerConfigError",
                ):
                    return f"{waiting.reason}: {waiting.message or ''}".strip(": ")
        return None

    def _pod_selector(self, endpoint: str) -> str:
        """The label selector of an endpoint's pods."""
        return f"{objects.selector('endpoint')},{objects.ENDPOINT}={label_value(endpoint)}"

    def _pods(self, endpoint: str) -> list[Any]:
        """The pods of an endpoint's Deployment, oldest first."""
        try:
            pods = self.cluster.call(
                self._api("core").list_namespaced_pod,
                self.namespace,
                label_selector=self._pod_selector(endpoint),
                action="list pods",
                namespace=self.namespace,
            )
        except DataOpsError:
            return []
        return sorted(pods.items, key=lambda p: p.metadata.creation_timestamp or 0)

    def _proxy_service(self, spec: ServingSpec) -> str:
        """The endpoint's Service and port, as the Service proxy names them ("name:port")."""
        return f"{objects.endpoint_name(spec.name)}:{spec.port}"

    def request(
        self,
        spec: ServingSpec,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        timeout: float = 10.0,
    ) -> tuple[int, dict[str, str], bytes]:
        """Through the API server's Service proxy. The token goes in the ``token`` header: the
        API server keeps ``Authorization`` for itself."""
        from urllib3.exceptions import HTTPError

        api_client = self.cluster.api_client
        _, url, headers, _, _ = api_client.param_serialize(
            method,
            "/api/v1/namespaces/{namespace}/services/{name}/proxy/{path}",
            path_params={
                "namespace": self.namespace,
                "name": self._proxy_service(spec),
                "path": path.lstrip("/"),
            },
            header_params={"Content-Type": "application/json"},
            auth_settings=["BearerToken"],
        )
        if spec.token:
            headers["token"] = spec.token
        try:
            response = api_client.rest_client.pool_manager.request(
                method,
                url,
                body=body,
                headers=headers,
                timeout=timeout,
                retries=False,
                preload_content=True,
            )
        except (HTTPError, OSError) as exc:
            raise ConnectionError(f"cannot reach the API server's Service proxy: {exc}") from None
        answer = {k.lower(): v for k, v in response.headers.items()}
        if response.status in (502, 503) and "x-dataops-endpoint" not in answer:
            # The API server's own answer: no ready pod behind the Service yet.
            raise ConnectionError(f"the Service has no ready pod ({response.status})")
        return response.status, answer, response.data

    def answers(self, spec: ServingSpec) -> bool:
        try:
            status, headers, _ = self.request(spec, "GET", "/ping", timeout=2.0)
        except OSError:
            return False
        return status == 200 and headers.get("x-dataops-endpoint") == self.identity_of(spec)

    def free_port(self, host: str, low: int, high: int, taken: set[int]) -> int:
        """Each endpoint has a Service of its own: any port is free; the first of the range
        that no endpoint holds keeps them apart in the catalogue."""
        for port in range(low, high + 1):
            if port not in taken:
                return port
        raise Conflict(
            f"Every port from {low} to {high} is held by an endpoint.",
            hint="Unpublish one, or widen c.DataOps.endpoint_port_min/max.",
        )

    def log_tail(self, name: str, lines: int = 20) -> str:
        pods = self._pods(name)
        if not pods:
            return ""
        pod = pods[-1]
        reason = self._stuck_reason(name)
        try:
            text = self.cluster.call(
                self._api("core").read_namespaced_pod_log,
                pod.metadata.name,
                self.namespace,
                container=self.server_container,
                tail_lines=lines,
                action=f"read the log of pod {pod.metadata.name}",
                namespace=self.namespace,
            )
        except DataOpsError as exc:
            text = str(exc)
        return "\n".join(x for x in (reason, str(text).rstrip()) if x)

    def url(self, spec: ServingSpec) -> str:
        return self.settings.endpoint_url.format(
            service=objects.endpoint_name(spec.name),
            namespace=self.namespace,
            port=spec.port,
            name=spec.name,
        ).rstrip("/")
