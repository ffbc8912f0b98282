"""The sandbox policy (``c.DataOps.sandbox_policy``) as a ResourceQuota and a LimitRange in each
namespace the Kubernetes backends use, both named ``dataops-policy``, so the cluster enforces
what it can of the policy for every pod there, whoever creates it. The server keeps checking
the whole policy itself before it creates anything (with the messages users see locally); the
cluster's objects are a second line, not a replacement.

:func:`namespace_policy_objects` builds them (pure: policy in, dicts out);
:func:`ensure_namespace_policy` makes the cluster match (create, replace, delete);
:func:`ensure_for` is what the backends call before they create the first object of a namespace
(once per namespace per process, and again when the policy's objects change).

What maps, and what cannot (each a decision):

- **Which quota.** A namespace per user (``c.Kubernetes.namespace`` has ``{user}``, with or
  without ``{team}``) gets the ResourceQuota of ``user_quota``; a namespace per team (``{team}``
  only) gets its team's entry of ``team_quotas`` (none when the team has none); a shared
  namespace (no template) gets no ResourceQuota: a quota there would cap everyone together, and
  per-user quotas cannot be said in one namespace. A team's quota across per-user namespaces
  cannot be said either (a ResourceQuota caps one namespace). The server's checks cover those.
- **GPUs** (``gpus``) become ``requests.<c.Kubernetes.gpu_resource>``: extended resources are
  quota'd by their requests only (their requests always equal their limits). The quota counts
  every pod of the namespace, jobs' and endpoints' included, so on the cluster it is stricter
  than the server's own check, which counts sandboxes.
- **Sandboxes at once** (``sandboxes``) does not map: a ResourceQuota has no label selector, so
  it cannot count sandbox pods, and ``count/pods`` would count jobs', endpoints' and helper pods
  as sandboxes. The server keeps enforcing it.
- **GPU-hours per day** (``gpu_hours_per_day``) does not map: Kubernetes has no quota over time.
  The server keeps enforcing it.
- **Per-sandbox ranges** become a LimitRange item of type ``Container``: ``max`` of ``cpu``,
  ``memory`` and the GPU resource from the ranges' maxima, ``min`` of ``cpu`` and ``memory`` from
  their minima. The bounds hold for each container of every pod in the namespace (job pods
  included: ``c.Kubernetes.job_resources`` must fit them).
- **No GPU minimum.** It would refuse every container without GPUs (job pods, helpers), and
  would make the GPU default of 0 (next point) invalid. The server checks it.
- **Defaults only where needed.** Kubernetes defaults a LimitRange's ``default`` (the limit of a
  container that sets none) to its ``max``: a GPU maximum of 4 would hand 4 GPUs to every
  container that asks for none. So with a GPU maximum, ``default`` and ``defaultRequest`` of the
  GPU resource are ``"0"``. CPU and memory get no defaults: the backends' containers set their
  requests and limits (a container that sets none gets the maximum, as Kubernetes does it).
- **Bounds the operator left open stay open.** ``load_policy`` bounds open ranges by the
  server's machine, for local sandboxes; the server's CPUs, memory and GPUs mean nothing for a
  cluster's nodes, so :func:`cluster_policy` keeps only the bounds the operator wrote.
- ``gpu_types``, ``idle_timeout``, ``max_lifetime`` and ``overridable`` do not map (GPU models
  are a matter of node selection; lifetimes and overrides are the server's). The server checks.
- **Quantities** are strings: CPUs whole or in millicores (``format_cpus``, Kubernetes'
  precision), memory exact (in the largest binary unit that divides it, else in bytes), GPUs
  whole.
- **An empty policy** (and a shared namespace whose policy has no ranges) gives no objects;
  :func:`ensure_namespace_policy` then deletes the pair it made before, if any.
- **Ownership.** Both objects carry ``app.kubernetes.io/managed-by: jupyter-dataops`` and
  ``app.kubernetes.io/component: policy`` (plus ``c.Kubernetes.labels`` and the namespace's
  ``dataops.io/user`` or ``dataops.io/team``), and an annotation ``dataops.io/policy-hash`` of
  their labels, annotations and spec. Ours are replaced when the hash differs (the API server
  rewrites quantities, so the stored spec cannot be compared); an object of that name that is not
  ours is never touched: it is reported in the server's log (and the job's).
- **Errors** are the cluster's, translated (a 403 names the RBAC to apply). When the policy maps
  to nothing, a failure to look for a pair to delete is logged, not raised: there is nothing to
  enforce, and a cluster whose RBAC predates these objects keeps running jobs.
- **When.** The policy is read when the process starts (the worker reads its settings then); an
  object deleted by hand comes back when the next worker starts.

Every call blocks: the callers are the worker's and the request handlers' threads, never an
event loop.
"""

from __future__ import annotations

import hashlib
import json
import logging
import string
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ...core.errors import Conflict, DataOpsError, NotFound
from ...core.sandboxes.models import Policy, QuotaLimits
from ...core.sandboxes.quantities import BINARY, format_cpus
from .names import label_value
from .objects import COMPONENT, MANAGED_BY, MANAGER, USER

if TYPE_CHECKING:
    from ...core.config import DataOps
    from .client import Cluster
    from .settings import Kubernetes

log = logging.getLogger(__name__)

#: The name of both objects in each namespace.
NAME = "dataops-policy"
#: The component label of both.
POLICY = "policy"
#: The team of a team's namespace (a label, and an annotation with the name as it is).
TEAM = "dataops.io/team"
#: A hash of what the objects say (labels, annotations, spec), to replace them when it changes.
POLICY_HASH = "dataops.io/policy-hash"
#: The kinds ``ensure_namespace_policy`` manages, in the order they are applied.
KINDS = ("ResourceQuota", "LimitRange")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def namespace_scope(template: str) -> str:
    """Whose namespaces ``c.Kubernetes.namespace`` makes: "user", "team" or "shared"."""
    fields = _fields(template)
    if "user" in fields:
        return "user"
    if "team" in fields:
        return "team"
    return "shared"


def _memory(num_bytes: float) -> str:
    """Exact: in the largest binary unit that divides it (``32Gi``, ``1536Mi``), else in bytes
    (``format_memory`` would round ``1.5G`` to ``1.4Gi``)."""
    value = int(num_bytes)
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        if value >= BINARY[suffix] and value % BINARY[suffix] == 0:
            return f"{value // BINARY[suffix]}{suffix}"
    return str(value)


def _digest(obj: Mapping[str, Any]) -> str:
    meta = obj["metadata"]
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != POLICY_HASH}
    content = {"labels": meta.get("labels"), "annotations": annotations, "spec": obj.get("spec")}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]


def _quota_spec(limits: QuotaLimits | None, gpu_resource: str) -> dict[str, Any] | None:
    if limits is None or limits.gpus is None:
        return None
    return {"hard": {f"requests.{gpu_resource}": str(limits.gpus)}}


def _limit_range_spec(policy: Policy, gpu_resource: str) -> dict[str, Any] | None:
    item: dict[str, Any] = {"type": "Container"}
    maximum: dict[str, str] = {}
    minimum: dict[str, str] = {}
    if policy.cpus.max is not None:
        maximum["cpu"] = format_cpus(policy.cpus.max)
    if policy.memory_bytes.max is not None:
        maximum["memory"] = _memory(policy.memory_bytes.max)
    if policy.gpus.max is not None:
        maximum[gpu_resource] = str(int(policy.gpus.max))
    if policy.cpus.min is not None:
        minimum["cpu"] = format_cpus(policy.cpus.min)
    if policy.memory_bytes.min is not None:
        minimum["memory"] = _memory(policy.memory_bytes.min)
    if not maximum and not minimum:
        return None
    if maximum:
        item["max"] = maximum
    if minimum:
        item["min"] = minimum
    if gpu_resource in maximum:  # else Kubernetes defaults every container's GPUs to the max
        item["default"] = {gpu_resource: "0"}
        item["defaultRequest"] = {gpu_resource: "0"}
    return {"limits": [item]}


def namespace_policy_objects(
    policy: Policy,
    *,
    namespace: str,
    scope: str,
    user: str | None = None,
    team: str | None = None,
    gpu_resource: str = "nvidia.com/gpu",
    labels: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The ResourceQuota and LimitRange (each when the policy says something it can hold) of
    ``namespace``, whose ``scope`` is "user" (``user``'s namespace), "team" (``team``'s) or
    "shared" (see :func:`namespace_scope`). ``labels``: ``c.Kubernetes.labels``."""
    if scope not in ("user", "team", "shared"):
        raise ValueError(f"scope {scope!r}: user, team or shared")
    meta_labels = {
        **{key: label_value(value) for key, value in (labels or {}).items()},
        MANAGED_BY: MANAGER,
        COMPONENT: POLICY,
    }
    annotations: dict[str, str] = {}
    quota: QuotaLimits | None = None
    if scope == "user" and user:
        meta_labels[USER] = label_value(user)
        annotations[USER] = user
        quota = policy.user_quota
    elif scope == "team" and team:
        meta_labels[TEAM] = label_value(team)
        annotations[TEAM] = team
        quota = policy.team_quotas.get(team)
    made: list[dict[str, Any]] = []
    for kind, spec in (
        ("ResourceQuota", _quota_spec(quota, gpu_resource)),
        ("LimitRange", _limit_range_spec(policy, gpu_resource)),
    ):
        if spec is None:
            continue
        obj: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {
                "name": NAME,
                "namespace": namespace,
                "labels": dict(meta_labels),
                "annotations": dict(annotations),
            },
            "spec": spec,
        }
        obj["metadata"]["annotations"][POLICY_HASH] = _digest(obj)
        made.append(obj)
    return made


def cluster_policy(dataops: DataOps) -> Policy:
    """``c.DataOps.sandbox_policy`` as the operator wrote it: checked as the server checks it,
    but with the ranges the operator left open left open (``load_policy`` bounds them by this
    machine, which says nothing of the cluster's nodes)."""
    from ...core.sandboxes.settings import Machine, load_policy

    raw = dict(dataops.sandbox_policy)
    # Bounds no written value can reach: a written maximum is kept as written.
    unbounded = Machine(cpus=2**63, memory_bytes=2**63, gpus=2**63)
    policy = load_policy(raw, unbounded)
    open_ranges = {}
    for field, key in (("cpus", "cpus"), ("memory_bytes", "memory"), ("gpus", "gpus")):
        if (raw.get(key) or {}).get("max") is None:
            open_ranges[field] = getattr(policy, field).model_copy(update={"max": None})
    return policy.model_copy(update=open_ranges)


# -- on the cluster ------------------------------------------------------------------------------
def _api(cluster: Cluster, kind: str) -> dict[str, Any]:
    core = cluster.core()
    if kind == "ResourceQuota":
        return {
            "read": core.read_namespaced_resource_quota,
            "create": core.create_namespaced_resource_quota,
            "replace": core.replace_namespaced_resource_quota,
            "delete": core.delete_namespaced_resource_quota,
        }
    return {
        "read": core.read_namespaced_limit_range,
        "create": core.create_namespaced_limit_range,
        "replace": core.replace_namespaced_limit_range,
        "delete": core.delete_namespaced_limit_range,
    }


def _read(cluster: Cluster, kind: str, namespace: str) -> dict[str, Any] | None:
    try:
        found = cluster.call(
            _api(cluster, kind)["read"],
            NAME,
            namespace,
            action=f"read {kind} {NAME}",
            namespace=namespace,
        )
    except NotFound:
        return None
    data: dict[str, Any] = cluster.api_client.sanitize_for_serialization(found)
    return data


def _ours(obj: Mapping[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY) == MANAGER and labels.get(COMPONENT) == POLICY


def _hash_of(obj: Mapping[str, Any]) -> str | None:
    return ((obj.get("metadata") or {}).get("annotations") or {}).get(POLICY_HASH)


def _ensure_one(
    cluster: Cluster, kind: str, namespace: str, wanted: dict[str, Any] | None
) -> tuple[int, str] | None:
    """Make one kind match ``wanted`` (None: none of ours); what was done, in words, with the
    level to log it at."""
    calls = _api(cluster, kind)
    where = f"{kind} {NAME} in namespace {namespace}"
    for _ in range(2):  # a second round when another process wrote it meanwhile
        existing = _read(cluster, kind, namespace)
        if existing is not None and not _ours(existing):
            if wanted is None:
                return None
            return logging.WARNING, (
                f"{where} was not made by jupyter-dataops: it is left alone, and the sandbox "
                "policy's limits are not set on the cluster there (the server still checks them)"
            )
        try:
            if wanted is None:
                if existing is None:
                    return None
                answer = cluster.call(
                    calls["delete"],
                    NAME,
                    namespace,
                    _preload_content=False,  # the answer is a Status or the object: not read
                    action=f"delete {kind} {NAME}",
                    namespace=namespace,
                )
                answer.release_conn()
                return logging.INFO, f"deleted {where} (the sandbox policy sets nothing there now)"
            if existing is None:
                cluster.call(
                    calls["create"],
                    namespace,
                    wanted,
                    field_validation="Strict",
                    action=f"create {kind} {NAME}",
                    namespace=namespace,
                )
                return logging.INFO, f"created {where} from c.DataOps.sandbox_policy"
            if _hash_of(existing) == _hash_of(wanted):
                return None
            body = {
                **wanted,
                "metadata": {
                    **wanted["metadata"],
                    "resourceVersion": existing["metadata"]["resourceVersion"],
                },
            }
            cluster.call(
                calls["replace"],
                NAME,
                namespace,
                body,
                field_validation="Strict",
                action=f"replace {kind} {NAME}",
                namespace=namespace,
            )
            return logging.INFO, f"replaced {where}: c.DataOps.sandbox_policy changed"
        except (Conflict, NotFound):
            continue  # created, changed or deleted meanwhile: look again
    raise Conflict(
        f"{where} keeps changing while the server sets it from c.DataOps.sandbox_policy.",
        hint="Something else writes it: stop that, or give that object another name.",
    )


def ensure_namespace_policy(
    cluster: Cluster, namespace: str, objects: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Make ``namespace``'s ResourceQuota and LimitRange ``dataops-policy`` the ``objects``
    (from :func:`namespace_policy_objects`): create what is missing, replace ours whose hash
    differs, delete ours of a kind ``objects`` has none of; never touch one that is not ours.
    Returns what was done (and what was left alone), one line each. Blocking."""
    wanted = {obj["kind"]: dict(obj) for obj in objects}
    unknown = set(wanted) - set(KINDS)
    if unknown:
        raise ValueError(f"not a policy object: {sorted(unknown)}")
    done = []
    for kind in KINDS:
        found = _ensure_one(cluster, kind, namespace, wanted.get(kind))
        if found is not None:
            level, line = found
            log.log(level, "%s", line)
            done.append(line)
    return done


class _Ensured:
    """What one cluster client has ensured: namespace -> the digest of its objects."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.digests: dict[str, str] = {}
        self.locks: dict[str, threading.Lock] = {}

    def lock_of(self, namespace: str) -> threading.Lock:
        with self.lock:
            return self.locks.setdefault(namespace, threading.Lock())


_ENSURED: weakref.WeakKeyDictionary[Any, _Ensured] = weakref.WeakKeyDictionary()
_ENSURED_LOCK = threading.Lock()


def ensure_for(
    cluster: Cluster,
    settings: Kubernetes,
    dataops: DataOps | None,
    *,
    namespace: str,
    user: str,
    team: str | None = None,
) -> list[str]:
    """Before the first object of ``namespace`` (``user``'s, per ``c.Kubernetes.namespace``):
    its policy objects, from ``c.DataOps.sandbox_policy``, unless ``c.Kubernetes.namespace_policy``
    is off. Once per namespace for each ``cluster`` (a backend's client, kept for its lifetime),
    and again when the objects would differ. ``team``: the user's team (default: their first in
    the policy). Returns what was done, one line each, for the job's or sandbox's log; raises
    the cluster's refusal, translated. Blocking: call it from a worker or request thread."""
    if not settings.namespace_policy or dataops is None:
        return []
    policy = cluster_policy(dataops)
    scope = namespace_scope(settings.namespace)
    objects = namespace_policy_objects(
        policy,
        namespace=namespace,
        scope=scope,
        user=user,
        team=team if team is not None else policy.team_of(user),
        gpu_resource=settings.gpu_resource,
        labels=settings.labels,
    )
    digest = ",".join(_hash_of(obj) or "" for obj in objects) or "none"
    with _ENSURED_LOCK:
        ensured = _ENSURED.setdefault(cluster, _Ensured())
    with ensured.lock_of(namespace):
        if ensured.digests.get(namespace) == digest:
            return []
        try:
            done = ensure_namespace_policy(cluster, namespace, objects)
        except DataOpsError as exc:
            if objects:
                raise
            # Nothing to enforce: a pair of ours may be left, which the log says.
            log.warning(
                "could not look for the sandbox policy's objects to delete in namespace %s: %s",
                namespace,
                exc,
            )
            done = []
        ensured.digests[namespace] = digest
        return done
