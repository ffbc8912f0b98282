"""A validating in-memory Kubernetes API server on loopback, for tests.

:class:`KubeAPI` runs :class:`KubeEmulator` (a subclass of kmock's ``KubernetesEmulator``) in a
background thread with its own asyncio loop, on 127.0.0.1 and a free port. The official
``kubernetes`` client talks to it as to a cluster::

    with KubeAPI() as api:
        batch = kubernetes.client.BatchV1Api(api.api_client())
        batch.create_namespaced_job("default", job, field_validation="Strict")
        api.job_controller_step("default", "train")  # play the job controller: make its pod
        api.patch_status("pods", "default", pod_name, {"phase": "Running"})  # play the kubelet

What it does as a real API server does:
discovery; CRUD with uid / resourceVersion / generation / creationTimestamp bookkeeping; watch
from a resourceVersion, with compaction (410 Expired) and timeouts; label and field selectors;
the status and log subresources; the services/proxy subresource, forwarding to the backends tests
register (:meth:`KubeAPI.set_service_backend`); merge, strategic-merge and JSON patches; unknown
fields refused with ``fieldValidation=Strict`` or dropped; schema validation with
``kubernetes_validate`` for the configured Kubernetes version plus the API server's own rules
(names, labels, quantities, resources, restart policies, selectors, cron schedules, immutable
fields...); the NamespaceLifecycle, ServiceAccount, LimitRanger and ResourceQuota admission
plugins; garbage collection on delete (propagation policies) and once an object's finalizers
are done; custom resources of the CustomResourceDefinitions a test installs
(:meth:`KubeAPI.install_crd`; KServe's InferenceService: ``kserve_crd()``), absent from
discovery until then, pruned, defaulted and validated with their CRD's structural schema.
Errors are ``Status`` objects shaped as the real server's, with its messages.

Tests play the controllers and the kubelet with the synchronous helpers of :class:`KubeAPI`.
Failures can be injected with :meth:`KubeAPI.inject`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import copy
import dataclasses
import datetime
import fractions
import functools
import json
import math
import os
import pathlib
import re
import secrets
import socket
import threading
import urllib.parse
import uuid
import zoneinfo
from collections.abc import Callable, Iterable
from typing import Any

import aiohttp
import aiohttp.web
import attrs
import croniter
import kmock
import kubernetes.client
import kubernetes_validate
import kubernetes_validate.utils
import multidict
import yaml
import yarl

# -------------------------------------------------------------------------------------------------
# Served resources


@dataclasses.dataclass(frozen=True)
class _Kind:
    """A served resource: where it lives in the API and how the server names it in messages."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    subresources: tuple[str, ...] = ()
    short_names: tuple[str, ...] = ()
    builtin: bool = True  # False for custom resources (their lists keep items' kind/apiVersion)
    #: A custom resource's structural schema (its CRD's openAPIV3Schema); None for built-ins
    schema: dict | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> str:
        """As in "jobs.batch "x" not found" or "pods "x" is forbidden"."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_kind(self) -> str:
        """As in "Job.batch "x" is invalid" or "Pod "x" is invalid"."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def ref(self) -> kmock.resource:
        """The key of this resource in kmock's object store and discovery."""
        return kmock.resource(self.group, self.version, self.plural)

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


_BUILTIN_KINDS = (
    _Kind("", "v1", "namespaces", "Namespace", False, ("status",), ("ns",)),
    _Kind("", "v1", "pods", "Pod", True, ("status", "log"), ("po",)),
    _Kind("", "v1", "services", "Service", True, ("status", "proxy"), ("svc",)),
    _Kind("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("status",), ("pvc",)),
    _Kind("", "v1", "secrets", "Secret"),
    _Kind("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    _Kind("", "v1", "events", "Event", short_names=("ev",)),
    _Kind("", "v1", "resourcequotas", "ResourceQuota", True, ("status",), ("quota",)),
    _Kind("", "v1", "limitranges", "LimitRange", short_names=("limits",)),
    _Kind("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",)),
    _Kind("batch", "v1", "jobs", "Job", True, ("status",)),
    _Kind("batch", "v1", "cronjobs", "CronJob", True, ("status",), ("cj",)),
    _Kind("apps", "v1", "deployments", "Deployment", True, ("status",), ("deploy",)),
    _Kind(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        True,
        ("status",),
        ("hpa",),
    ),
    _Kind("coordination.k8s.io", "v1", "leases", "Lease"),
)
#: KServe's InferenceService CRD, trimmed (the file says from where and how).
KSERVE_CRD = pathlib.Path(__file__).with_name("kserve_inferenceservice_crd.yaml")


def kserve_crd() -> dict:
    """KServe's InferenceService CustomResourceDefinition, for :meth:`KubeAPI.install_crd`."""
    with open(KSERVE_CRD, encoding="utf-8") as f:
        crd: dict = yaml.safe_load(f)
    return crd


_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

# Built-in kinds whose metadata.generation the server maintains (pods only from 1.34, see
# _has_generation); custom resources all have one.
_GENERATION_KINDS = frozenset({"jobs", "cronjobs", "deployments"})

# The Kubernetes versions kubernetes_validate has schemas for.
_SCHEMA_VERSIONS = tuple(v.rsplit(".", 1)[0] for v in kubernetes_validate.utils.all_versions())

# Watch history kept for watches from a resourceVersion; older events are compacted away.
_HISTORY_LIMIT = 10_000

# Bound on how long a synchronous helper waits for the server's loop.
_CALL_TIMEOUT = 30.0

# Bound on a request forwarded by the services/proxy subresource (connection, answer and body).
_PROXY_TIMEOUT = 30.0


def _version_tuple(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


# -------------------------------------------------------------------------------------------------
# Errors: Kubernetes Status objects


def _status(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    """A failure ``Status`` with the fields in the real server's order."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details:
        body["details"] = details
    body["code"] = code
    return body


def _details(kind: _Kind, name: str | None, **extra: Any) -> dict:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if kind.group:
        details["group"] = kind.group
    details["kind"] = kind.plural
    details.update(extra)
    return details


class _Failure(Exception):
    """A request refused inside the server; rendered as its ``Status``."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.body = _status(code, reason, message, details)
        self.headers = headers or {}

    @property
    def code(self) -> int:
        return self.body["code"]

    @property
    def message(self) -> str:
        return self.body["message"]


class StatusError(kubernetes.client.ApiException):
    """A request refused by the emulator, raised by the synchronous helpers of :class:`KubeAPI`.

    Like the ``ApiException`` the client raises: ``status`` is the HTTP code, ``reason`` the
    Status reason, ``body`` the Status as JSON text; ``data`` is the Status as a dict.
    """

    def __init__(self, status_body: dict) -> None:
        super().__init__(
            status=status_body["code"],
            reason=status_body["reason"],
            body=json.dumps(status_body),
            data=status_body,
        )


def _not_found(kind: _Kind, name: str) -> _Failure:
    return _Failure(404, "NotFound", f'{kind.resource} "{name}" not found', _details(kind, name))


def _no_such_resource() -> _Failure:
    return _Failure(404, "NotFound", "the server could not find the requested resource")


def _bad_request(message: str, details: dict | None = None) -> _Failure:
    return _Failure(400, "BadRequest", message, details)


def _forbidden(kind: _Kind, name: str, message: str) -> _Failure:
    return _Failure(
        403, "Forbidden", f'{kind.resource} "{name}" is forbidden: {message}', _details(kind, name)
    )


def _conflict(kind: _Kind, name: str) -> _Failure:
    return _Failure(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {kind.resource} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        _details(kind, name),
    )


def _aggregate(messages: list[str]) -> str:
    """Several errors in one message, as Go's ``utilerrors.NewAggregate`` prints them."""
    return messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"


# -------------------------------------------------------------------------------------------------
# Field errors (k8s.io/apimachinery/pkg/util/validation/field)


@dataclasses.dataclass(frozen=True)
class _FieldError:
    reason: str  # FieldValueInvalid, FieldValueRequired, FieldValueNotSupported, ...
    field: str
    body: str  # e.g. 'Invalid value: "x": must be ...'

    def __str__(self) -> str:
        return f"{self.field}: {self.body}"

    def cause(self) -> dict:
        return {"reason": self.reason, "message": self.body, "field": self.field}


def _go(value: Any) -> str:
    """A value as Go's field errors print it: strings quoted, numbers bare, maps as Go maps."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if value is None:
        return "null"
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        pairs = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(value.items()))
        return "map[string]string{" + pairs + "}"
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _invalid(field: str, value: Any, detail: str, *, shown: str | None = None) -> _FieldError:
    shown = _go(value) if shown is None else shown
    return _FieldError("FieldValueInvalid", field, f"Invalid value: {shown}: {detail}")


def _required(field: str, detail: str = "") -> _FieldError:
    return _FieldError(
        "FieldValueRequired", field, "Required value" + (f": {detail}" if detail else "")
    )


def _not_supported(field: str, value: Any, supported: Iterable[str]) -> _FieldError:
    values = ", ".join(json.dumps(s) for s in supported)
    body = f"Unsupported value: {_go(value)}: supported values: {values}"
    return _FieldError("FieldValueNotSupported", field, body)


class _Errors(list[_FieldError]):
    """The field errors a validation collects."""

    def invalid(self, field: str, value: Any, detail: str, *, shown: str | None = None) -> None:
        self.append(_invalid(field, value, detail, shown=shown))

    def check(self, field: str, value: Any, problems: list[str]) -> None:
        """One Invalid error per problem a name or value check found (as the server reports)."""
        self.extend(_invalid(field, value, problem) for problem in problems)

    def required(self, field: str, detail: str = "") -> None:
        self.append(_required(field, detail))

    def not_supported(self, field: str, value: Any, supported: Iterable[str]) -> None:
        self.append(_not_supported(field, value, supported))

    def duplicate(self, field: str, value: Any) -> None:
        self.append(_FieldError("FieldValueDuplicate", field, f"Duplicate value: {_go(value)}"))

    def not_found(self, field: str, value: Any) -> None:
        self.append(_FieldError("FieldValueNotFound", field, f"Not found: {_go(value)}"))

    def too_long(self, field: str, limit: int) -> None:
        body = f"Too long: must have at most {limit} bytes"
        self.append(_FieldError("FieldValueTooLong", field, body))

    def forbidden(self, field: str, detail: str) -> None:
        self.append(_FieldError("FieldValueForbidden", field, f"Forbidden: {detail}"))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _json_path(parts: Iterable[str | int]) -> str:
    """A jsonschema error path as Kubernetes writes field paths: spec.containers[0].name."""
    out = ""
    for part in parts:
        out = f"{out}[{part}]" if isinstance(part, int) else _join(out, part)
    return out


# -------------------------------------------------------------------------------------------------
# Quantities (k8s.io/apimachinery/pkg/api/resource)

_QUANTITY_RE = re.compile(r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$")
_QUANTITY_FORMAT_ERROR = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
_BINARY_SUFFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL_SUFFIXES = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_NANO = fractions.Fraction(1, 10**9)


@functools.total_ordering
@dataclasses.dataclass(frozen=True, eq=False)
class Quantity:
    """A Kubernetes resource quantity: an exact value, and whether it was written in binary SI.

    Quantities compare by value: "1Gi" equals "1073741824".
    """

    value: fractions.Fraction
    binary: bool = False

    @classmethod
    def parse(cls, text: str | int | float) -> Quantity:
        """Parse as the API server does; raises ValueError with the server's message."""
        match = _QUANTITY_RE.match(str(text).strip())
        if not match:
            raise ValueError(_QUANTITY_FORMAT_ERROR)
        number, suffix = match.groups()
        if number.count(".") > 1 or not re.search(r"[0-9]", number):
            raise ValueError("unable to parse numeric part of quantity")
        value = fractions.Fraction(number)
        binary = False
        if suffix in _BINARY_SUFFIXES:
            value *= 1024 ** _BINARY_SUFFIXES[suffix]
            binary = True
        elif suffix in _DECIMAL_SUFFIXES:
            value *= fractions.Fraction(10) ** _DECIMAL_SUFFIXES[suffix]
        elif re.fullmatch(r"[eE][-+]?[0-9]+", suffix):
            value *= fractions.Fraction(10) ** int(suffix[1:])
        else:
            raise ValueError("unable to parse quantity's suffix")
        # The server keeps at most nanounits and rounds up what is finer.
        nanos = value / _NANO
        if nanos.denominator != 1:
            value = math.ceil(nanos) * _NANO
        return cls(value, binary)

    def __str__(self) -> str:
        """The canonical form the server stores and prints ("500m", "1Gi", "2k")."""
        value = self.value
        if value == 0:
            return "0"
        if self.binary and abs(value) >= 1024 and value.denominator == 1:
            mantissa, exponent = int(value), 0
            while exponent < 6 and mantissa % 1024 == 0:
                mantissa //= 1024
                exponent += 1
            suffix = {v: k for k, v in _BINARY_SUFFIXES.items()}.get(exponent, "")
            return f"{mantissa}{suffix}"
        # Decimal SI: the largest power of 1000 that leaves a whole mantissa.
        for exponent in range(18, -10, -3):
            mantissa = value / fractions.Fraction(10) ** exponent
            if mantissa.denominator == 1:
                suffix = {v: k for k, v in _DECIMAL_SUFFIXES.items()}[exponent]
                return f"{mantissa.numerator}{suffix}"
        raise AssertionError("a parsed quantity is a whole number of nanounits")

    def __add__(self, other: Quantity) -> Quantity:
        # As in Go, a sum keeps the format of its first non-zero term.
        return Quantity(self.value + other.value, self.binary if self.value else other.binary)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    @property
    def is_integer(self) -> bool:
        return self.value.denominator == 1


_ZERO = Quantity(fractions.Fraction(0))


def _q(text: Any) -> Quantity:
    """A quantity already canonicalised by the decoder (or a default of zero)."""
    return _ZERO if text is None else Quantity.parse(text)


# Where quantities live: maps of resource name to quantity, and single quantity fields.
_QUANTITY_MAPS = frozenset(
    "limits requests hard used capacity allocatable max min default defaultRequest "
    "maxLimitRequestRatio overhead allocatedResources".split()
)
_QUANTITY_SCALARS = frozenset({"sizeLimit", "averageValue"})


def _canonicalise_quantities(node: Any, path: str, bad: list[tuple[str, str]]) -> None:
    """Rewrite every quantity of an object in canonical form, as the server stores them.

    Numbers (JSON allows ``nvidia.com/gpu: 1``) become strings. Unparseable quantities are
    collected in ``bad`` as (field, error).
    """

    def canonical(value: Any, field: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return value  # the schema check reports wrong types
        try:
            return str(Quantity.parse(value))
        except ValueError as e:
            bad.append((field, str(e)))
            return value

    if isinstance(node, dict):
        for key, value in node.items():
            field = _join(path, key)
            scalar_map = isinstance(value, dict) and not any(
                isinstance(v, dict | list) for v in value.values()
            )
            if key in _QUANTITY_MAPS and scalar_map:
                node[key] = {name: canonical(q, f"{field}[{name}]") for name, q in value.items()}
            elif key in _QUANTITY_SCALARS or (
                key == "value" and path.endswith(("target", "current"))
            ):
                node[key] = canonical(value, field)
            else:
                _canonicalise_quantities(value, field, bad)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _canonicalise_quantities(item, f"{path}[{index}]", bad)


# -------------------------------------------------------------------------------------------------
# Names, labels and other strings (k8s.io/apimachinery/pkg/util/validation)

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_ENV_NAME_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    """Go's ``RegexError`` (its double space before "or" included)."""
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def _max_len(limit: int) -> str:
    return f"must be no more than {limit} characters"


def _dns1123_label(value: str) -> list[str]:
    problems = [_max_len(63)] if len(value) > 63 else []
    if not re.fullmatch(_DNS1123_LABEL_FMT, value):
        problems.append(
            _regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
                "'-', and must start and end with an alphanumeric character",
                _DNS1123_LABEL_FMT,
                "my-name",
                "123-abc",
            )
        )
    return problems


def _dns1123_subdomain(value: str) -> list[str]:
    problems = [_max_len(253)] if len(value) > 253 else []
    if not re.fullmatch(_DNS1123_SUBDOMAIN_FMT, value):
        problems.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                "'-' or '.', and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN_FMT,
                "example.com",
            )
        )
    return problems


def _dns1035_label(value: str) -> list[str]:
    problems = [_max_len(63)] if len(value) > 63 else []
    if not re.fullmatch(_DNS1035_LABEL_FMT, value):
        problems.append(
            _regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
                "with an alphabetic character, and end with an alphanumeric character",
                _DNS1035_LABEL_FMT,
                "my-name",
                "abc-123",
            )
        )
    return problems


def _qualified_name(value: str) -> list[str]:
    """A label or annotation key: an optional DNS subdomain prefix and "/", then a name."""
    name_error = _regex_error(
        "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
        "an alphanumeric character",
        _QUALIFIED_NAME_FMT,
        "MyName",
        "my.name",
        "123-abc",
    )
    parts = value.split("/")
    if len(parts) > 2:
        return [
            f"a qualified name {name_error} with an optional DNS subdomain prefix and '/' "
            "(e.g. 'example.com/MyName')"
        ]
    problems = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            problems += [f"prefix part {p}" for p in _dns1123_subdomain(prefix)]
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append(f"name part {_max_len(63)}")
    if not re.fullmatch(_QUALIFIED_NAME_FMT, name):
        problems.append(f"name part {name_error}")
    return problems


def _label_value(value: str) -> list[str]:
    problems = [_max_len(63)] if len(value) > 63 else []
    if not re.fullmatch(_LABEL_VALUE_FMT, value):
        problems.append(
            _regex_error(
                "a valid label must be an empty string or consist of alphanumeric characters, '-', "
                "'_' or '.', and must start and end with an alphanumeric character",
                _LABEL_VALUE_FMT,
                "MyValue",
                "my_value",
                "12345",
            )
        )
    return problems


def _port_name(value: str) -> list[str]:
    """An IANA service name, as container and service port names must be."""
    problems = [_max_len(15)] if len(value) > 15 else []
    if not re.fullmatch("[-a-z0-9]+", value):
        problems.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        problems.append("must not contain consecutive hyphens")
    if not re.search("[a-z]", value):
        problems.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        problems.append("must not begin or end with a hyphen")
    return problems


def _port_number(value: Any) -> list[str]:
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535
    return [] if ok else ["must be between 1 and 65535, inclusive"]


def _validate_labels(labels: Any, field: str, errors: _Errors) -> None:
    for key, value in (labels or {}).items():
        errors.check(field, key, _qualified_name(key))
        errors.check(field, value, _label_value(value))


def _validate_annotations(annotations: Any, field: str, errors: _Errors) -> None:
    annotations = annotations or {}
    for key in annotations:
        errors.check(field, key, _qualified_name(key.lower()))
    if sum(len(k) + len(v) for k, v in annotations.items()) > 256 * 1024:
        errors.too_long(field, 256 * 1024)


def _nonnegative(spec: dict, key: str, path: str, errors: _Errors) -> None:
    if isinstance(spec.get(key), int) and spec[key] < 0:
        errors.invalid(_join(path, key), spec[key], "must be greater than or equal to 0")


def _positive(spec: dict, key: str, path: str, errors: _Errors) -> None:
    if isinstance(spec.get(key), int) and spec[key] <= 0:
        errors.invalid(_join(path, key), spec[key], "must be greater than 0")


# -------------------------------------------------------------------------------------------------
# Label and field selectors


@dataclasses.dataclass(frozen=True)
class _Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!", ">", "<"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator in ("=", "in"):
            return present and value in self.values
        if self.operator in ("!=", "notin"):
            return not present or value not in self.values
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        try:  # > and < compare integers
            number, bound = int(value or ""), int(self.values[0])
        except ValueError:
            return False
        return number > bound if self.operator == ">" else number < bound


_SELECTOR_TERM_RE = re.compile(
    r"^\s*(?:(?P<not>!)\s*(?P<nkey>[^\s!=<>(),]+)"
    r"|(?P<skey>[^\s!=<>(),]+)\s+(?P<setop>in|notin)\s*\((?P<set>[^()]*)\)"
    r"|(?P<key>[^\s!=<>(),]+)\s*(?P<op>==|=|!=|>|<)\s*(?P<value>[^\s!=<>(),]*)"
    r"|(?P<ekey>[^\s!=<>(),]+))\s*$"
)


def _split_selector(text: str) -> list[str]:
    """Split a selector on the commas that are not inside a "(...)" set."""
    terms, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [term for term in terms if term.strip()]


def _parse_label_selector(text: str | None) -> list[_Requirement]:
    requirements = []
    for term in _split_selector(text or ""):
        match = _SELECTOR_TERM_RE.match(term)
        if not match:
            raise _bad_request(f"unable to parse requirement: found '{term.strip()}'")
        if match["not"]:
            requirement = _Requirement(match["nkey"], "!")
        elif match["setop"]:
            values = tuple(v.strip() for v in match["set"].split(",") if v.strip())
            requirement = _Requirement(match["skey"], match["setop"], values)
        elif match["op"]:
            operator = "=" if match["op"] == "==" else match["op"]
            requirement = _Requirement(match["key"], operator, (match["value"],))
        else:
            requirement = _Requirement(match["ekey"], "exists")
        problems = _qualified_name(requirement.key)
        if requirement.operator not in (">", "<"):
            problems += [p for value in requirement.values for p in _label_value(value)]
        if problems:
            raise _bad_request(f"unable to parse requirement: {term.strip()!r}: {problems[0]}")
        requirements.append(requirement)
    return requirements


def _labels_of(obj: dict) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _selector_matches(selector: dict | None, labels: dict[str, str]) -> bool:
    """Whether a LabelSelector object (matchLabels, matchExpressions) selects these labels."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expression in selector.get("matchExpressions") or []:
        operator = operators.get(expression.get("operator", ""))
        requirement = _Requirement(
            expression.get("key", ""), operator or "in", tuple(expression.get("values") or ())
        )
        if operator is None or not requirement.matches(labels):
            return False
    return True


def _show_selector(selector: Any) -> str:
    return f"v1.LabelSelector{{MatchLabels:{_go((selector or {}).get('matchLabels') or {})}}}"


# Field selectors each resource supports besides metadata.name and metadata.namespace.
_FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "pods": tuple(
        "spec.nodeName spec.restartPolicy spec.schedulerName spec.serviceAccountName "
        "spec.hostNetwork status.phase status.podIP status.nominatedNodeName".split()
    ),
    "events": tuple(
        "involvedObject.kind involvedObject.namespace involvedObject.name involvedObject.uid "
        "involvedObject.apiVersion involvedObject.resourceVersion involvedObject.fieldPath "
        "reason reportingComponent source type".split()
    ),
    "secrets": ("type",),
    "namespaces": ("status.phase",),
    "jobs": ("status.successful",),
}


def _parse_field_selector(text: str | None, kind: _Kind) -> list[tuple[str, str, str]]:
    """(field, "=" or "!=", value) terms; unknown fields are refused as the server does."""
    terms = []
    supported = ("metadata.name", "metadata.namespace", *_FIELD_LABELS.get(kind.plural, ()))
    for term in _split_selector(text or ""):
        match = re.fullmatch(r"\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*", term)
        if not match:
            raise _bad_request(f"invalid selector: '{text}'; can't understand '{term.strip()}'")
        field, operator, value = match.groups()
        if field not in supported:
            raise _bad_request(f"field label not supported: {field}")
        terms.append((field, "!=" if operator == "!=" else "=", value))
    return terms


def _field_value(obj: dict, field: str) -> str:
    if field == "source":  # events: the reporting component
        return str((obj.get("source") or {}).get("component", ""))
    node: Any = obj
    for part in field.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, bool):
        return "true" if node else "false"
    return "" if node is None else str(node)


@dataclasses.dataclass(frozen=True)
class _Filter:
    """What a list or a watch selects: a namespace, a name, label and field selectors."""

    namespace: str | None = None
    name: str | None = None
    labels: tuple[_Requirement, ...] = ()
    fields: tuple[tuple[str, str, str], ...] = ()

    def matches(self, obj: dict) -> bool:
        meta = obj.get("metadata") or {}
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        if self.name is not None and meta.get("name") != self.name:
            return False
        labels = meta.get("labels") or {}
        if not all(requirement.matches(labels) for requirement in self.labels):
            return False
        for field, operator, value in self.fields:
            if (_field_value(obj, field) == value) != (operator == "="):
                return False
        return True


# -------------------------------------------------------------------------------------------------
# Schema checks with kubernetes_validate


def _schema_check(obj: dict, version: str) -> tuple[list[str], _FieldError | None]:
    """Check an object against the strict OpenAPI schema of a Kubernetes version.

    Unknown fields are removed from ``obj`` in place and returned as field paths (the caller
    refuses them with fieldValidation=Strict or drops them as the server does otherwise). The
    first other schema error is returned as a field error. Custom resources have none here
    (their CRD's schema: ``_structural_check``).
    """
    unknown: list[str] = []
    while True:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
            return unknown, None
        except kubernetes_validate.SchemaNotFoundError:
            return unknown, None
        except kubernetes_validate.ValidationError as e:
            path = _json_path(e.absolute_path)
            if e.validator == "additionalProperties" and isinstance(e.instance, dict):
                # e.instance is the very dict inside obj: drop its unknown keys and check again.
                known = (e.schema or {}).get("properties") or {}
                for key in sorted(set(e.instance) - set(known)):
                    unknown.append(_join(path, key))
                    del e.instance[key]
                continue
            if e.validator == "required" and isinstance(e.instance, dict):
                missing = next(k for k in e.validator_value if k not in e.instance)
                return unknown, _required(_join(path, missing))
            if e.validator == "enum":
                return unknown, _not_supported(path, e.instance, e.validator_value)
            return unknown, _invalid(path, e.instance, e.message)


# -------------------------------------------------------------------------------------------------
# Custom resources: their CRD's structural schema (k8s.io/apiextensions-apiserver)

_FORMAT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}.get(type(value), "null")


def _structural_check(obj: dict, schema: dict) -> tuple[list[str], list[_FieldError]]:
    """Check a custom resource against its CRD's structural schema, as the API server does.

    Fields the schema does not declare (where neither ``additionalProperties`` nor
    ``x-kubernetes-preserve-unknown-fields`` lets them be) are removed from ``obj`` in place and
    returned as field paths (pruning: the caller refuses them with fieldValidation=Strict);
    missing fields with a ``default`` get it; then types, formats, enums, patterns, bounds and
    required fields are checked, every error reported. ``metadata`` is the server's own
    (ObjectMeta, checked as for every kind).
    """
    unknown: list[str] = []
    errors: list[_FieldError] = []
    _structural(obj, schema, "", unknown, errors)
    return unknown, errors


def _structural(
    value: Any, schema: dict, path: str, unknown: list[str], errors: list[_FieldError]
) -> None:
    actual = _json_type(value)
    if schema.get("x-kubernetes-int-or-string"):
        expected = "integer,string" if actual not in ("integer", "string") else actual
    else:
        expected = schema.get("type") or actual
        if expected == "number" and actual == "integer":
            expected = actual
    if expected != actual:
        detail = f'{path} in body must be of type {expected}: "{actual}"'
        errors.append(_invalid(path, actual, detail, shown=f'"{actual}"'))
        return
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for name, sub in properties.items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
        for name in list(value):
            field = _join(path, name)
            if name in properties:
                if not (path == "" and name == "metadata"):
                    _structural(value[name], properties[name], field, unknown, errors)
            elif isinstance(extra, dict):
                _structural(value[name], extra, field, unknown, errors)
            elif not (extra is True or schema.get("x-kubernetes-preserve-unknown-fields")):
                unknown.append(field)
                del value[name]
        for name in schema.get("required") or []:
            if name not in value:
                errors.append(_required(_join(path, name)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _structural(item, schema.get("items") or {}, f"{path}[{index}]", unknown, errors)
    else:
        if "enum" in schema and value not in schema["enum"]:
            errors.append(_not_supported(path, value, [str(v) for v in schema["enum"]]))
        if (
            isinstance(value, str)
            and "pattern" in schema
            and not re.search(schema["pattern"], value)
        ):
            detail = f"{path} in body should match '{schema['pattern']}'"
            errors.append(_invalid(path, value, detail))
        if actual == "integer" and schema.get("format") in _FORMAT_RANGES:
            low, high = _FORMAT_RANGES[schema["format"]]
            if not low <= value <= high:
                detail = f'{path} in body must be of type {schema["format"]}: "{value}"'
                errors.append(_invalid(path, value, detail))
        if "minimum" in schema and value < schema["minimum"]:
            detail = f"{path} in body should be greater than or equal to {schema['minimum']}"
            errors.append(_invalid(path, value, detail))
        if "maximum" in schema and value > schema["maximum"]:
            detail = f"{path} in body should be less than or equal to {schema['maximum']}"
            errors.append(_invalid(path, value, detail))


def _base64_error_offset(text: Any) -> int | None:
    """Where Go's base64 decoder fails on a Secret's value (None if it decodes)."""
    if not isinstance(text, str):
        return 0
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        invalid = re.search(r"[^A-Za-z0-9+/=]", text)
        return invalid.start() if invalid else len(text) - len(text) % 4
    return None


def _strip_nulls(node: Any) -> Any:
    """Drop null fields, as decoding into Go structs and encoding again does."""
    if isinstance(node, dict):
        return {k: _strip_nulls(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_strip_nulls(item) for item in node]
    return node


# -------------------------------------------------------------------------------------------------
# Defaulting (the API server's SetDefaults_* functions and PrepareForCreate strategies)

_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # as k8s.io/apimachinery/pkg/util/rand


def _random_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(_NAME_ALPHABET) for _ in range(length))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _image_pull_policy(image: str) -> str:
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _default_pod_spec(spec: dict) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    for group in ("initContainers", "containers"):
        for container in spec.get(group) or []:
            if isinstance(container.get("image"), str):
                container.setdefault("imagePullPolicy", _image_pull_policy(container["image"]))
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("resources", {})
            for port in container.get("ports") or []:
                port.setdefault("protocol", "TCP")
    for volume in spec.get("volumes") or []:
        for source in ("secret", "configMap"):
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)


def _template_spec(obj: dict, *path: str) -> dict | None:
    node: Any = obj
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _apply_defaults(kind: _Kind, obj: dict, version: tuple[int, int]) -> None:
    """Fill the defaults the server's decoder fills (on create and on update)."""
    spec = obj.setdefault("spec", {}) if kind.plural not in _SPECLESS else {}
    if kind.plural == "pods":
        _default_pod_spec(spec)
        # A limit without a request requests the limit.
        for group in ("initContainers", "containers"):
            for container in spec.get(group) or []:
                resources = container.get("resources") or {}
                for name, limit in (resources.get("limits") or {}).items():
                    resources.setdefault("requests", {}).setdefault(name, limit)
    elif kind.plural == "jobs":
        if "completions" not in spec and "parallelism" not in spec:
            spec["completions"] = spec["parallelism"] = 1
        spec.setdefault("parallelism", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        if version >= (1, 29):
            spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        if template := _template_spec(spec, "template", "spec"):
            _default_pod_spec(template)
    elif kind.plural == "cronjobs":
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        if template := _template_spec(spec, "jobTemplate", "spec", "template", "spec"):
            _default_pod_spec(template)
    elif kind.plural == "deployments":
        spec.setdefault("replicas", 1)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        if template := _template_spec(spec, "template", "spec"):
            _default_pod_spec(template)
    elif kind.plural == "services":
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["type"] != "ExternalName":
            spec.setdefault("internalTrafficPolicy", "Cluster")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            if spec["type"] != "ExternalName":
                port.setdefault("targetPort", port.get("port"))
    elif kind.plural == "persistentvolumeclaims":
        spec.setdefault("volumeMode", "Filesystem")
    elif kind.plural == "horizontalpodautoscalers":
        spec.setdefault("minReplicas", 1)
        if not spec.get("metrics"):
            spec["metrics"] = [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 80},
                    },
                }
            ]
    elif kind.plural == "secrets":
        obj.setdefault("type", "Opaque")
    elif kind.plural == "limitranges":
        for item in spec.get("limits") or []:
            if item.get("type") != "Container":
                continue
            default = item.setdefault("default", {})
            default_request = item.setdefault("defaultRequest", {})
            for name, value in (item.get("max") or {}).items():
                default.setdefault(name, value)
            for name, value in default.items():
                default_request.setdefault(name, value)
            for name, value in (item.get("min") or {}).items():
                default_request.setdefault(name, value)


# Kinds without a spec: their data sits at the top level.
_SPECLESS = frozenset({"configmaps", "secrets", "events", "serviceaccounts"})


def _qos_class(spec: dict) -> str:
    containers = spec.get("containers") or []
    compute = ("cpu", "memory")
    resources = [c.get("resources") or {} for c in containers]
    if not any(
        name in (r.get(section) or {})
        for r in resources
        for section in ("requests", "limits")
        for name in compute
    ):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        for name in compute:
            if name not in limits or _q(requests.get(name, limits[name])) != _q(limits[name]):
                return "Burstable"
    return "Guaranteed"


# -------------------------------------------------------------------------------------------------
# Validation (k8s.io/kubernetes/pkg/apis/*/validation)


_STANDARD_CONTAINER_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})


def _is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _is_extended(name: str) -> bool:
    return (
        not _is_native(name)
        and not name.startswith("requests.")
        and not _qualified_name(f"requests.{name}")
    )


def _overcommit_allowed(name: str) -> bool:
    return _is_native(name) and not name.startswith("hugepages-")


def _validate_resources(resources: dict, path: str, errors: _Errors) -> None:
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    for section, values in (("limits", limits), ("requests", requests)):
        for name, text in values.items():
            field = f"{path}.{section}[{name}]"
            errors.check(field, name, _qualified_name(name))
            if "/" not in name:
                if name not in _STANDARD_CONTAINER_RESOURCES and not name.startswith("hugepages-"):
                    errors.invalid(field, name, "must be a standard resource for containers")
            elif not _is_native(name) and not _is_extended(name):
                errors.invalid(field, name, "doesn't follow extended resource name standard")
            quantity = _q(text)
            if quantity < _ZERO:
                errors.invalid(field, str(quantity), "must be greater than or equal to 0")
            if _is_extended(name) and not quantity.is_integer:
                errors.invalid(field, str(quantity), "must be an integer")
    for name, text in requests.items():
        request = _q(text)
        if name in limits:
            limit = _q(limits[name])
            if request != limit and not _overcommit_allowed(name):
                errors.invalid(
                    f"{path}.requests",
                    str(request),
                    f"must be equal to {name} limit of {limit}",
                )
            elif limit < request:
                errors.invalid(
                    f"{path}.requests",
                    str(request),
                    f"must be less than or equal to {name} limit of {limit}",
                )
        elif not _overcommit_allowed(name):
            errors.required(f"{path}.limits", "Limit must be set for non overcommitable resources")


def _validate_env(env: list, path: str, version: tuple[int, int], errors: _Errors) -> None:
    for index, var in enumerate(env):
        field = f"{path}[{index}].name"
        name = var.get("name", "")
        if not name:
            errors.required(field)
        elif version >= (1, 34):  # RelaxedEnvironmentVariableValidation is GA in 1.34
            if "=" in name or not all(" " <= char <= "~" for char in name):
                message = "a valid environment variable name must consist only of printable ASCII characters other than '='"
                errors.invalid(field, name, message)
        elif not re.fullmatch(_ENV_NAME_FMT, name):
            errors.invalid(
                field,
                name,
                _regex_error(
                    "a valid environment variable name must consist of alphabetic characters, digits, "
                    "'_', '-', or '.', and must not start with a digit",
                    _ENV_NAME_FMT,
                    "my.env-name",
                    "MY_ENV.NAME",
                    "MyEnvName1",
                ),
            )


def _validate_container(
    container: dict,
    path: str,
    volumes: set[str],
    version: tuple[int, int],
    errors: _Errors,
) -> None:
    if not container.get("image"):
        errors.required(f"{path}.image")
    policy = container.get("imagePullPolicy")
    if policy is not None and policy not in ("Always", "IfNotPresent", "Never"):
        errors.not_supported(f"{path}.imagePullPolicy", policy, ("Always", "IfNotPresent", "Never"))
    _validate_resources(container.get("resources") or {}, f"{path}.resources", errors)
    _validate_env(container.get("env") or [], f"{path}.env", version, errors)
    mount_paths: set[str] = set()
    for index, mount in enumerate(container.get("volumeMounts") or []):
        field = f"{path}.volumeMounts[{index}]"
        name = mount.get("name", "")
        if not name:
            errors.required(f"{field}.name")
        elif name not in volumes:
            errors.not_found(f"{field}.name", name)
        mount_path = mount.get("mountPath", "")
        if not mount_path:
            errors.required(f"{field}.mountPath")
        elif mount_path in mount_paths:
            errors.invalid(f"{field}.mountPath", mount_path, "must be unique")
        mount_paths.add(mount_path)
    port_names: set[str] = set()
    for index, port in enumerate(container.get("ports") or []):
        field = f"{path}.ports[{index}]"
        if "containerPort" not in port:
            errors.required(f"{field}.containerPort")
        else:
            errors.check(
                f"{field}.containerPort",
                port["containerPort"],
                _port_number(port["containerPort"]),
            )
        if "hostPort" in port and port["hostPort"] != 0:
            errors.check(f"{field}.hostPort", port["hostPort"], _port_number(port["hostPort"]))
        if port.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
            errors.not_supported(f"{field}.protocol", port["protocol"], ("SCTP", "TCP", "UDP"))
        if name := port.get("name"):
            errors.check(f"{field}.name", name, _port_name(name))
            if name in port_names:
                errors.duplicate(f"{field}.name", name)
            port_names.add(name)


def _validate_tolerations(tolerations: list, path: str, errors: _Errors) -> None:
    for index, toleration in enumerate(tolerations):
        field = f"{path}[{index}]"
        key, operator = toleration.get("key", ""), toleration.get("operator", "Equal")
        if key:
            errors.check(f"{field}.key", key, _qualified_name(key))
        if operator not in ("Equal", "Exists"):
            errors.not_supported(f"{field}.operator", operator, ("Equal", "Exists"))
        elif operator == "Exists" and toleration.get("value"):
            errors.invalid(
                f"{field}.operator",
                toleration,
                "value must be empty when `operator` is 'Exists'",
            )
        elif not key and operator != "Exists":
            errors.invalid(
                f"{field}.operator",
                operator,
                'operator must be Exists when `key` is empty, which means "match all values and all keys"',
            )
        effect = toleration.get("effect", "")
        if effect not in ("", "NoSchedule", "PreferNoSchedule", "NoExecute"):
            errors.not_supported(
                f"{field}.effect", effect, ("NoSchedule", "PreferNoSchedule", "NoExecute")
            )
        elif "tolerationSeconds" in toleration and effect != "NoExecute":
            errors.invalid(
                f"{field}.effect",
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            )


def _validate_pod_spec(
    spec: dict,
    path: str,
    restart_policies: tuple[str, ...],
    version: tuple[int, int],
    errors: _Errors,
) -> None:
    volumes: set[str] = set()
    for index, volume in enumerate(spec.get("volumes") or []):
        field = f"{path}.volumes[{index}].name"
        name = volume.get("name", "")
        if not name:
            errors.required(field)
            continue
        errors.check(field, name, _dns1123_label(name))
        if name in volumes:
            errors.duplicate(field, name)
        volumes.add(name)
    if not spec.get("containers"):
        errors.required(f"{path}.containers")
    names: set[str] = set()
    for group in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(spec.get(group) or []):
            field = f"{path}.{group}[{index}]"
            name = container.get("name", "")
            if not name:
                errors.required(f"{field}.name")
            else:
                errors.check(f"{field}.name", name, _dns1123_label(name))
                if name in names:
                    errors.duplicate(f"{field}.name", name)
                names.add(name)
            _validate_container(container, field, volumes, version, errors)
    policy = spec.get("restartPolicy", "Always")
    if policy not in restart_policies:
        errors.not_supported(f"{path}.restartPolicy", policy, restart_policies)
    dns_policies = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
    if spec.get("dnsPolicy", "ClusterFirst") not in dns_policies:
        errors.not_supported(f"{path}.dnsPolicy", spec["dnsPolicy"], dns_policies)
    _validate_labels(spec.get("nodeSelector"), f"{path}.nodeSelector", errors)
    _validate_tolerations(spec.get("tolerations") or [], f"{path}.tolerations", errors)
    deadline = spec.get("activeDeadlineSeconds")
    if isinstance(deadline, int) and not 1 <= deadline <= 2**31 - 1:
        errors.invalid(
            f"{path}.activeDeadlineSeconds",
            deadline,
            "must be between 1 and 2147483647, inclusive",
        )


def _validate_template(
    template: Any,
    path: str,
    restart_policies: tuple[str, ...],
    version: tuple[int, int],
    errors: _Errors,
) -> None:
    if not isinstance(template, dict):
        errors.required(path)
        return
    meta = template.get("metadata") or {}
    _validate_labels(meta.get("labels"), f"{path}.metadata.labels", errors)
    _validate_annotations(meta.get("annotations"), f"{path}.metadata.annotations", errors)
    _validate_pod_spec(
        template.get("spec") or {}, f"{path}.spec", restart_policies, version, errors
    )


def _validate_selector_matches(selector: Any, template: Any, path: str, errors: _Errors) -> None:
    """The template's labels must be selected by the selector (a controller finds its pods)."""
    if not isinstance(selector, dict) or not isinstance(template, dict):
        return
    _validate_labels(selector.get("matchLabels"), f"{path}.selector.matchLabels", errors)
    labels = (template.get("metadata") or {}).get("labels") or {}
    if not _selector_matches(selector, labels):
        errors.invalid(
            f"{path}.template.metadata.labels",
            labels,
            "`selector` does not match template `labels`",
        )


_JOB_RESTART_POLICIES = ("OnFailure", "Never")


def _validate_job_spec(spec: dict, path: str, version: tuple[int, int], errors: _Errors) -> None:
    for key in ("parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"):
        _nonnegative(spec, key, path, errors)
    _positive(spec, "activeDeadlineSeconds", path, errors)
    mode = spec.get("completionMode", "NonIndexed")
    if mode not in ("NonIndexed", "Indexed"):
        errors.not_supported(f"{path}.completionMode", mode, ("NonIndexed", "Indexed"))
    elif mode == "Indexed" and spec.get("completions") is None:
        errors.required(f"{path}.completions", "when completion mode is Indexed")
    _validate_template(
        spec.get("template"), f"{path}.template", _JOB_RESTART_POLICIES, version, errors
    )
    if spec.get("selector") is not None:
        _validate_selector_matches(spec["selector"], spec.get("template"), path, errors)


def _validate_job(obj: dict, old: dict | None, version: tuple[int, int], errors: _Errors) -> None:
    meta, spec = obj["metadata"], obj.get("spec") or {}
    if len(meta.get("name", "")) > 63:  # it becomes the value of the job-name label
        errors.invalid("metadata.name", meta["name"], _max_len(63))
    _validate_job_spec(spec, "spec", version, errors)
    if not spec.get("manualSelector"):
        # The selector must be the generated one: selecting just this Job's controller-uid.
        generated = {"batch.kubernetes.io/controller-uid": meta.get("uid", "")}
        if spec.get("selector") is not None and not _selector_matches(spec["selector"], generated):
            errors.invalid(
                "spec.selector",
                None,
                "`selector` not auto-generated",
                shown=_show_selector(spec["selector"]),
            )
    elif spec.get("selector") is None:
        errors.required("spec.selector")
    if old is not None:
        old_spec = old.get("spec") or {}
        if spec.get("template") != old_spec.get("template"):
            errors.invalid(
                "spec.template", None, "field is immutable", shown="core.PodTemplateSpec{...}"
            )
        if spec.get("selector") != old_spec.get("selector"):
            errors.invalid(
                "spec.selector",
                None,
                "field is immutable",
                shown=_show_selector(spec.get("selector")),
            )
        if spec.get("completionMode") != old_spec.get("completionMode"):
            errors.invalid("spec.completionMode", spec.get("completionMode"), "field is immutable")


_CRON_MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)


def _cron_problem(schedule: str) -> str | None:
    """Why a CronJob schedule is invalid (robfig/cron's standard parser), or None."""
    if "TZ" in schedule:
        return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
    if schedule in _CRON_MACROS:
        return None
    if schedule.startswith("@every "):
        ok = re.fullmatch(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+", schedule[len("@every ") :])
        return None if ok else f"failed to parse duration {schedule[len('@every ') :]}"
    if schedule.startswith("@"):
        return f"unrecognized descriptor: {schedule}"
    fields = schedule.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    try:
        croniter.croniter(schedule)
    except (croniter.CroniterError, ValueError) as e:
        return str(e)
    return None


def _validate_cronjob(
    obj: dict, old: dict | None, version: tuple[int, int], errors: _Errors
) -> None:
    name, spec = obj["metadata"].get("name", ""), obj.get("spec") or {}
    if len(name) > 52:  # the controller appends an 11-character suffix for its Jobs
        errors.invalid("metadata.name", name, _max_len(52))
    schedule = spec.get("schedule")
    if not schedule:
        errors.required("spec.schedule")
    elif problem := _cron_problem(schedule):
        errors.invalid("spec.schedule", schedule, problem)
    if time_zone := spec.get("timeZone"):
        try:
            zoneinfo.ZoneInfo(time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.invalid("spec.timeZone", time_zone, f"unknown time zone {time_zone}")
    policy = spec.get("concurrencyPolicy", "Allow")
    if policy not in ("Allow", "Forbid", "Replace"):
        errors.not_supported("spec.concurrencyPolicy", policy, ("Allow", "Forbid", "Replace"))
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        _nonnegative(spec, key, "spec", errors)
    job_template = spec.get("jobTemplate")
    if not isinstance(job_template, dict):
        errors.required("spec.jobTemplate")
        return
    meta = job_template.get("metadata") or {}
    _validate_labels(meta.get("labels"), "spec.jobTemplate.metadata.labels", errors)
    _validate_annotations(meta.get("annotations"), "spec.jobTemplate.metadata.annotations", errors)
    _validate_job_spec(job_template.get("spec") or {}, "spec.jobTemplate.spec", version, errors)


def _validate_deployment(
    obj: dict, old: dict | None, version: tuple[int, int], errors: _Errors
) -> None:
    spec = obj.get("spec") or {}
    for key in ("replicas", "minReadySeconds", "revisionHistoryLimit"):
        _nonnegative(spec, key, "spec", errors)
    selector = spec.get("selector")
    if selector is None:
        errors.required("spec.selector")
    elif not selector.get("matchLabels") and not selector.get("matchExpressions"):
        errors.invalid(
            "spec.selector",
            None,
            "empty selector is invalid for deployment",
            shown=_show_selector(selector),
        )
    template = spec.get("template")
    if isinstance(template, dict):
        labels = (template.get("metadata") or {}).get("labels") or {}
        if selector is not None and not _selector_matches(selector, labels):
            errors.invalid(
                "spec.template.metadata.labels",
                labels,
                "`selector` does not match template `labels`",
            )
    if selector is not None:
        _validate_labels(selector.get("matchLabels"), "spec.selector.matchLabels", errors)
    _validate_template(template, "spec.template", ("Always",), version, errors)
    strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
    if strategy not in ("Recreate", "RollingUpdate"):
        errors.not_supported("spec.strategy.type", strategy, ("Recreate", "RollingUpdate"))
    if old is not None and selector != (old.get("spec") or {}).get("selector"):
        errors.invalid("spec.selector", None, "field is immutable", shown=_show_selector(selector))


def _validate_pod(obj: dict, old: dict | None, version: tuple[int, int], errors: _Errors) -> None:
    spec = obj.get("spec") or {}
    _validate_pod_spec(spec, "spec", ("Always", "OnFailure", "Never"), version, errors)
    if old is None:
        return

    # Only images, the deadline, added tolerations and the grace period may change.
    def mutable_masked(pod_spec: dict) -> dict:
        masked = copy.deepcopy(pod_spec)
        for group in ("initContainers", "containers"):
            for container in masked.get(group) or []:
                container.pop("image", None)
        for key in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
            masked.pop(key, None)
        return masked

    if mutable_masked(spec) != mutable_masked(old.get("spec") or {}):
        errors.forbidden(
            "spec",
            "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
        )


def _validate_service(
    obj: dict, old: dict | None, version: tuple[int, int], errors: _Errors
) -> None:
    spec = obj.get("spec") or {}
    kinds = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
    service_type = spec.get("type", "ClusterIP")
    if service_type not in kinds:
        errors.not_supported("spec.type", service_type, kinds)
    ports = spec.get("ports") or []
    if not ports and service_type != "ExternalName" and spec.get("clusterIP") != "None":
        errors.required("spec.ports")
    if service_type == "ExternalName":
        errors.check(
            "spec.externalName",
            spec.get("externalName", ""),
            _dns1123_subdomain(spec.get("externalName", "")),
        )
    names: set[str] = set()
    for index, port in enumerate(ports):
        field = f"spec.ports[{index}]"
        name = port.get("name", "")
        if not name and len(ports) > 1:
            errors.required(f"{field}.name")
        elif name:
            errors.check(f"{field}.name", name, _dns1123_label(name))
            if name in names:
                errors.duplicate(f"{field}.name", name)
            names.add(name)
        errors.check(f"{field}.port", port.get("port"), _port_number(port.get("port")))
        if port.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
            errors.not_supported(f"{field}.protocol", port["protocol"], ("SCTP", "TCP", "UDP"))
        target = port.get("targetPort")
        if isinstance(target, str):
            errors.check(f"{field}.targetPort", target, _port_name(target))
        elif target is not None:
            errors.check(f"{field}.targetPort", target, _port_number(target))
        node_port = port.get("nodePort")
        if node_port is not None:
            if service_type not in ("NodePort", "LoadBalancer"):
                errors.forbidden(
                    f"{field}.nodePort", f"may not be used when `type` is '{service_type}'"
                )
            elif not 30000 <= node_port <= 32767:
                errors.invalid(
                    f"{field}.nodePort",
                    node_port,
                    "provided port is not in the valid range. The range of valid ports is 30000-32767",
                )
    _validate_labels(spec.get("selector"), "spec.selector", errors)
    if old is not None:
        old_ip, new_ip = (old.get("spec") or {}).get("clusterIP"), spec.get("clusterIP")
        if old_ip and new_ip and old_ip != new_ip:
            errors.invalid("spec.clusterIPs[0]", new_ip, "may not change once set")


def _validate_pvc(obj: dict, old: dict | None, version: tuple[int, int], errors: _Errors) -> None:
    spec = obj.get("spec") or {}
    modes = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
    if not spec.get("accessModes"):
        errors.required("spec.accessModes", "at least 1 access mode is required")
    for mode in spec.get("accessModes") or []:
        if mode not in modes:
            errors.not_supported("spec.accessModes", mode, modes)
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if storage is None:
        errors.required("spec.resources[storage]")
    elif _q(storage) <= _ZERO:
        errors.invalid("spec.resources[storage]", storage, "must be greater than zero")
    if spec.get("volumeMode", "Filesystem") not in ("Block", "Filesystem"):
        errors.not_supported("spec.volumeMode", spec["volumeMode"], ("Block", "Filesystem"))
    if old is not None:

        def without_requests(pvc_spec: dict) -> dict:
            masked = copy.deepcopy(pvc_spec)
            (masked.get("resources") or {}).pop("requests", None)
            return masked

        old_spec = old.get("spec") or {}
        if without_requests(spec) != without_requests(old_spec):
            errors.forbidden(
                "spec",
                "spec is immutable after creation except resources.requests for bound claims",
            )
        old_storage = ((old_spec.get("resources") or {}).get("requests") or {}).get("storage")
        if storage is not None and old_storage is not None and _q(storage) < _q(old_storage):
            errors.forbidden(
                "spec.resources.requests.storage", "field can not be less than previous value"
            )


def _validate_config_data(obj: dict, keys: tuple[str, ...], errors: _Errors) -> None:
    seen: set[str] = set()
    for section in keys:
        for key in obj.get(section) or {}:
            field = f"{section}[{key}]"
            if len(key) > 253:
                errors.invalid(field, key, _max_len(253))
            if not re.fullmatch(_CONFIG_KEY_FMT, key):
                errors.invalid(
                    field,
                    key,
                    _regex_error(
                        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                        _CONFIG_KEY_FMT,
                        "key.name",
                        "KEY_NAME",
                        "key-name",
                    ),
                )
            if key in seen:
                errors.invalid(field, key, f"duplicate of key present in {keys[0]}")
            seen.add(key)
    size = sum(len(k) + len(str(v)) for s in keys for k, v in (obj.get(s) or {}).items())
    if size > 1024 * 1024:
        errors.too_long(keys[0], 1024 * 1024)


def _validate_immutable_data(
    obj: dict, old: dict | None, keys: tuple[str, ...], errors: _Errors
) -> None:
    if old is None or not old.get("immutable"):
        return
    for key in keys:
        if obj.get(key) != old.get(key):
            errors.forbidden(key, "field is immutable when `immutable` is set")
    if not obj.get("immutable"):
        errors.forbidden("immutable", "field is immutable when `immutable` is set")


def _validate_configmap(
    obj: dict, old: dict | None, version: tuple[int, int], errors: _Errors
) -> None:
    _validate_config_data(obj, ("data", "binaryData"), errors)
    _validate_immutable_data(obj, old, ("data", "binaryData"), errors)


def _validate_secret(
    obj: dict, old: dict | None, version: tuple[int, int], errors: _Errors
) -> None:
    _validate_config_data(obj, ("data",), errors)
    _validate_immutable_data(obj, old, ("data",), errors)
    if old is not None and obj.get("type") != old.get("type"):
        errors.invalid("type", obj.get("type"), "field is immutable")


_QUOTA_NAMES = frozenset(
    "pods services replicationcontrollers resourcequotas secrets configmaps persistentvolumeclaims "
    "services.nodeports services.loadbalancers cpu memory ephemeral-storage requests.cpu "
    "requests.memory requests.storage requests.ephemeral-storage limits.cpu limits.memory "
    "limits.ephemeral-storage".split()
)
_QUOTA_SCOPES = tuple(
    "Terminating NotTerminating BestEffort NotBestEffort PriorityClass CrossNamespacePodAffinity".split()
)


def _validate_resourcequota(
    obj: dict, old: dict | None, version: tuple[int, int], errors: _Errors
) -> None:
    spec = obj.get("spec") or {}
    for name, text in (spec.get("hard") or {}).items():
        field = f"spec.hard[{name}]"
        errors.check(field, name, _qualified_name(name))
        if (
            "/" not in name
            and name not in _QUOTA_NAMES
            and not name.startswith(("hugepages-", "requests.hugepages-"))
        ):
            errors.invalid(field, name, "must be a standard resource for quota")
        if _q(text) < _ZERO:
            errors.invalid(field, text, "must be greater than or equal to 0")
    for index, scope in enumerate(spec.get("scopes") or []):
        if scope not in _QUOTA_SCOPES:
            errors.not_supported(f"spec.scopes[{index}]", scope, _QUOTA_SCOPES)


def _validate_limitrange(
    obj: dict, old: dict | None, version: tuple[int, int], errors: _Errors
) -> None:
    types = ("Container", "PersistentVolumeClaim", "Pod")
    for index, item in enumerate((obj.get("spec") or {}).get("limits") or []):
        path = f"spec.limits[{index}]"
        limit_type = item.get("type", "")
        if not limit_type:
            errors.required(f"{path}.type")
        elif limit_type not in types:
            errors.not_supported(f"{path}.type", limit_type, types)
        if limit_type != "Container":
            for key in ("default", "defaultRequest"):
                if item.get(key):
                    errors.forbidden(
                        f"{path}.{key}", f"may not be specified when `type` is '{limit_type}'"
                    )
        sections = {key: item.get(key) or {} for key in ("min", "max", "default", "defaultRequest")}
        for name in sorted({n for values in sections.values() for n in values}):
            found = {key: _q(values[name]) for key, values in sections.items() if name in values}
            checks = (
                ("min", "max", "min", "min value {a} is greater than max value {b}"),
                (
                    "min",
                    "defaultRequest",
                    "defaultRequest",
                    "min value {a} is greater than default request value {b}",
                ),
                (
                    "defaultRequest",
                    "max",
                    "defaultRequest",
                    "default request value {a} is greater than max value {b}",
                ),
                (
                    "defaultRequest",
                    "default",
                    "defaultRequest",
                    "default request value {a} is greater than default limit value {b}",
                ),
                ("min", "default", "default", "min value {a} is greater than default value {b}"),
                ("default", "max", "default", "default value {a} is greater than max value {b}"),
            )
            for low, high, where, message in checks:
                if low in found and high in found and found[high] < found[low]:
                    shown = str(found[low] if where == low else found[high])
                    errors.invalid(
                        f"{path}.{where}[{name}]",
                        shown,
                        message.format(a=found[low], b=found[high]),
                    )


def _validate_hpa(obj: dict, old: dict | None, version: tuple[int, int], errors: _Errors) -> None:
    spec = obj.get("spec") or {}
    target = spec.get("scaleTargetRef") or {}
    for key in ("kind", "name"):
        if not target.get(key):
            errors.required(f"spec.scaleTargetRef.{key}")
    min_replicas, max_replicas = spec.get("minReplicas", 1), spec.get("maxReplicas", 0)
    if isinstance(min_replicas, int) and min_replicas < 1:
        errors.invalid("spec.minReplicas", min_replicas, "must be greater than or equal to 1")
    if isinstance(max_replicas, int) and max_replicas < 1:
        errors.invalid("spec.maxReplicas", max_replicas, "must be greater than 0")
    elif (
        isinstance(min_replicas, int)
        and isinstance(max_replicas, int)
        and max_replicas < min_replicas
    ):
        errors.invalid(
            "spec.maxReplicas", max_replicas, "must be greater than or equal to `minReplicas`"
        )
    metric_types = ("ContainerResource", "External", "Object", "Pods", "Resource")
    for index, metric in enumerate(spec.get("metrics") or []):
        path = f"spec.metrics[{index}]"
        metric_type = metric.get("type", "")
        if metric_type not in metric_types:
            errors.not_supported(f"{path}.type", metric_type, metric_types)
            continue
        source = metric.get(metric_type[0].lower() + metric_type[1:]) or {}
        target_type = (source.get("target") or {}).get("type", "")
        if target_type not in ("AverageValue", "Utilization", "Value"):
            errors.not_supported(
                f"{path}.{metric_type[0].lower() + metric_type[1:]}.target.type",
                target_type,
                ("AverageValue", "Utilization", "Value"),
            )
        utilization = (source.get("target") or {}).get("averageUtilization")
        if isinstance(utilization, int) and utilization <= 0:
            errors.invalid(
                f"{path}.resource.target.averageUtilization",
                utilization,
                "must be greater than 0",
            )


def _validate_lease(obj: dict, old: dict | None, version: tuple[int, int], errors: _Errors) -> None:
    spec = obj.get("spec") or {}
    _positive(spec, "leaseDurationSeconds", "spec", errors)
    _nonnegative(spec, "leaseTransitions", "spec", errors)


_Validator = Callable[[dict, dict | None, tuple[int, int], _Errors], None]
_VALIDATORS: dict[str, _Validator] = {
    "pods": _validate_pod,
    "jobs": _validate_job,
    "cronjobs": _validate_cronjob,
    "deployments": _validate_deployment,
    "services": _validate_service,
    "persistentvolumeclaims": _validate_pvc,
    "configmaps": _validate_configmap,
    "secrets": _validate_secret,
    "resourcequotas": _validate_resourcequota,
    "limitranges": _validate_limitrange,
    "horizontalpodautoscalers": _validate_hpa,
    "leases": _validate_lease,
}

# Names that must be DNS-1123 labels or DNS-1035 labels instead of DNS-1123 subdomains.
_NAME_RULES: dict[str, Callable[[str], list[str]]] = {
    "namespaces": _dns1123_label,
    "services": _dns1035_label,
    "inferenceservices": _dns1035_label,
}


def _validate(kind: _Kind, obj: dict, old: dict | None, version: tuple[int, int]) -> _Errors:
    errors = _Errors()
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    if not name:
        errors.required("metadata.name", "name or generateName is required")
    else:
        errors.check("metadata.name", name, _NAME_RULES.get(kind.plural, _dns1123_subdomain)(name))
    _validate_labels(meta.get("labels"), "metadata.labels", errors)
    _validate_annotations(meta.get("annotations"), "metadata.annotations", errors)
    if validator := _VALIDATORS.get(kind.plural):
        validator(obj, old, version, errors)
    return errors


# -------------------------------------------------------------------------------------------------
# Admission: LimitRanger and ResourceQuota


def _containers(spec: dict) -> Iterable[tuple[str, dict]]:
    """(annotation prefix, container) for the init containers and the containers of a pod."""
    for container in spec.get("initContainers") or []:
        yield "init container", container
    for container in spec.get("containers") or []:
        yield "container", container


def _limit_range_defaults(pod: dict, limit_ranges: list[dict]) -> None:
    """LimitRanger's mutation: Container defaults for missing limits and requests."""
    notes: list[str] = []
    for limit_range in limit_ranges:
        for item in (limit_range.get("spec") or {}).get("limits") or []:
            if item.get("type") != "Container":
                continue
            for prefix, container in _containers(pod.get("spec") or {}):
                resources = container.setdefault("resources", {})
                for section, defaults, word in (
                    ("requests", item.get("defaultRequest"), "request"),
                    ("limits", item.get("default"), "limit"),
                ):
                    values = resources.setdefault(section, {})
                    added = sorted(name for name in defaults or {} if name not in values)
                    for name in added:
                        values[name] = defaults[name]
                    if added:
                        notes.append(
                            f"{', '.join(added)} {word} for {prefix} {container.get('name', '')}"
                        )
                    if not values:
                        del resources[section]
    if notes:
        annotations = pod["metadata"].setdefault("annotations", {})
        annotations["kubernetes.io/limit-ranger"] = "LimitRanger plugin set: " + "; ".join(notes)


def _limit_range_problems(kind: _Kind, obj: dict, limit_ranges: list[dict]) -> list[str]:
    """LimitRanger's validation of a pod or a claim against min, max and ratio constraints."""
    problems: list[str] = []

    def check(item: dict, limit_type: str, requests: dict, limits: dict) -> None:
        for name, bound in (item.get("min") or {}).items():
            minimum = _q(bound)
            if name not in requests:
                problems.append(
                    f"minimum {name} usage per {limit_type} is {minimum}.  No request is specified"
                )
            elif _q(requests[name]) < minimum:
                problems.append(
                    f"minimum {name} usage per {limit_type} is {minimum}, but request is {_q(requests[name])}"
                )
            elif name in limits and _q(limits[name]) < minimum:
                problems.append(
                    f"minimum {name} usage per {limit_type} is {minimum}, but limit is {_q(limits[name])}"
                )
        for name, bound in (item.get("max") or {}).items():
            maximum = _q(bound)
            if name not in limits and limit_type != "PersistentVolumeClaim":
                problems.append(
                    f"maximum {name} usage per {limit_type} is {maximum}.  No limit is specified"
                )
            elif name in limits and maximum < _q(limits[name]):
                problems.append(
                    f"maximum {name} usage per {limit_type} is {maximum}, but limit is {_q(limits[name])}"
                )
            elif name in requests and maximum < _q(requests[name]):
                problems.append(
                    f"maximum {name} usage per {limit_type} is {maximum}, but request is {_q(requests[name])}"
                )
        for name, bound in (item.get("maxLimitRequestRatio") or {}).items():
            ratio = _q(bound)
            request, limit = _q(requests.get(name)), _q(limits.get(name))
            if request == _ZERO:
                problems.append(
                    f"{name} max limit to request ratio per {limit_type} is {ratio}, but no request is specified or request is 0"
                )
            elif limit == _ZERO:
                problems.append(
                    f"{name} max limit to request ratio per {limit_type} is {ratio}, but no limit is specified or limit is 0"
                )
            elif limit.value / request.value > ratio.value:
                problems.append(
                    f"{name} max limit to request ratio per {limit_type} is {ratio}, but provided ratio is {float(limit.value / request.value):f}"
                )

    for limit_range in limit_ranges:
        for item in (limit_range.get("spec") or {}).get("limits") or []:
            if kind.plural == "pods" and item.get("type") == "Container":
                for _, container in _containers(obj.get("spec") or {}):
                    resources = container.get("resources") or {}
                    check(
                        item,
                        "Container",
                        resources.get("requests") or {},
                        resources.get("limits") or {},
                    )
            elif kind.plural == "pods" and item.get("type") == "Pod":
                requests, limits = _pod_totals(obj.get("spec") or {})
                check(
                    item,
                    "Pod",
                    {k: str(v) for k, v in requests.items()},
                    {k: str(v) for k, v in limits.items()},
                )
            elif (
                kind.plural == "persistentvolumeclaims"
                and item.get("type") == "PersistentVolumeClaim"
            ):
                resources = (obj.get("spec") or {}).get("resources") or {}
                check(
                    item,
                    "PersistentVolumeClaim",
                    resources.get("requests") or {},
                    resources.get("limits") or {},
                )
    return problems


def _pod_totals(spec: dict) -> tuple[dict[str, Quantity], dict[str, Quantity]]:
    """A pod's requests and limits: its containers' sums, or its largest init container's."""
    totals: tuple[dict[str, Quantity], dict[str, Quantity]] = ({}, {})
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        for total, section in zip(totals, ("requests", "limits"), strict=True):
            for name, text in (resources.get(section) or {}).items():
                total[name] = total.get(name, _ZERO) + _q(text)
    for container in spec.get("initContainers") or []:
        resources = container.get("resources") or {}
        for total, section in zip(totals, ("requests", "limits"), strict=True):
            for name, text in (resources.get(section) or {}).items():
                total[name] = max(total.get(name, _ZERO), _q(text))
    return totals


_COMPUTE = ("cpu", "memory", "ephemeral-storage")
_TERMINAL_PHASES = ("Succeeded", "Failed")
_LEGACY_COUNTS = frozenset(
    {"pods", "services", "secrets", "configmaps", "persistentvolumeclaims", "resourcequotas"}
)


def _usage(kind: _Kind, obj: dict) -> dict[str, Quantity]:
    """What an object counts against resource quotas."""
    one = Quantity(fractions.Fraction(1))
    count_name = f"count/{kind.plural}" + (f".{kind.group}" if kind.group else "")
    usage = {count_name: one}
    if kind.plural in _LEGACY_COUNTS:
        usage[kind.plural] = one
    spec = obj.get("spec") or {}
    if kind.plural == "pods":
        if (obj.get("status") or {}).get("phase") in _TERMINAL_PHASES:
            return {}
        requests, limits = _pod_totals(spec)
        for name, value in requests.items():
            usage[f"requests.{name}"] = value
            if name in _COMPUTE:
                usage[name] = value
        for name, value in limits.items():
            if name in _COMPUTE:
                usage[f"limits.{name}"] = value
    elif kind.plural == "services":
        service_type = spec.get("type", "ClusterIP")
        if service_type == "LoadBalancer":
            usage["services.loadbalancers"] = one
        if service_type in ("NodePort", "LoadBalancer"):
            usage["services.nodeports"] = Quantity(fractions.Fraction(len(spec.get("ports") or [])))
    elif kind.plural == "persistentvolumeclaims":
        storage = _q(((spec.get("resources") or {}).get("requests") or {}).get("storage"))
        usage["requests.storage"] = storage
        if storage_class := spec.get("storageClassName"):
            usage[f"{storage_class}.storageclass.storage.k8s.io/requests.storage"] = storage
            usage[f"{storage_class}.storageclass.storage.k8s.io/persistentvolumeclaims"] = one
    return usage


def _quota_applies(quota: dict, kind: _Kind, obj: dict) -> bool:
    """Whether a quota's scopes select this object (scopes only select pods)."""
    spec = quota.get("spec") or {}
    scopes = list(spec.get("scopes") or [])
    expressions = (spec.get("scopeSelector") or {}).get("matchExpressions") or []
    if not scopes and not expressions:
        return True
    if kind.plural != "pods":
        return False
    pod_spec = obj.get("spec") or {}
    best_effort = _qos_class(pod_spec) == "BestEffort"
    in_scope = {
        "Terminating": pod_spec.get("activeDeadlineSeconds") is not None,
        "NotTerminating": pod_spec.get("activeDeadlineSeconds") is None,
        "BestEffort": best_effort,
        "NotBestEffort": not best_effort,
        "PriorityClass": bool(pod_spec.get("priorityClassName")),
        "CrossNamespacePodAffinity": False,
    }
    for scope in scopes:
        if not in_scope.get(scope, False):
            return False
    for expression in expressions:
        scope, operator = expression.get("scopeName", ""), expression.get("operator", "")
        if scope == "PriorityClass" and operator in ("In", "NotIn"):
            inside = pod_spec.get("priorityClassName", "") in (expression.get("values") or [])
            if inside != (operator == "In"):
                return False
        elif in_scope.get(scope, False) != (operator != "DoesNotExist"):
            return False
    return True


def _pretty(usage: dict[str, Quantity]) -> str:
    return ",".join(f"{name}={usage[name]}" for name in sorted(usage))


def _missing_compute(pod: dict, hard: Iterable[str]) -> str | None:
    """The quota's "must specify" check: each container must set what a compute quota caps."""
    required = set(hard) & {
        "cpu",
        "memory",
        "requests.cpu",
        "requests.memory",
        "limits.cpu",
        "limits.memory",
    }
    missing: dict[str, list[str]] = {}
    for _, container in _containers(pod.get("spec") or {}):
        resources = container.get("resources") or {}
        has = set()
        for name in resources.get("requests") or {}:
            has |= {name, f"requests.{name}"}
        for name in resources.get("limits") or {}:
            has.add(f"limits.{name}")
        for name in sorted(required - has):
            missing.setdefault(name, []).append(container.get("name", ""))
    if not missing:
        return None
    parts = [f"{name} for: {','.join(sorted(names))}" for name, names in sorted(missing.items())]
    return "must specify " + "; ".join(parts)


# -------------------------------------------------------------------------------------------------
# Patches

# Lists merged by a key in strategic merge patches (the patchMergeKey of the Go types).
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
}
_MERGED_PRIMITIVE_LISTS = frozenset({"finalizers"})


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


def _strategic_merge(target: Any, patch: Any) -> Any:
    """A strategic merge patch: a merge patch whose keyed lists merge item by item."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key == "$retainKeys":
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            result[name] = [item for item in result.get(name) or [] if item not in value]
        elif value is None:
            result.pop(key, None)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(key, result[key], value)
        else:
            result[key] = _strategic_merge(result.get(key), value)
    return result


def _merge_list(key: str, current: list, patch: list) -> list:
    if key in _MERGED_PRIMITIVE_LISTS:
        return current + [item for item in patch if item not in current]
    merge_key = _MERGE_KEYS.get(key)
    if key == "ports":  # container ports merge on containerPort, service ports on port
        merge_key = (
            "containerPort"
            if any("containerPort" in p for p in patch if isinstance(p, dict))
            else "port"
        )
    if merge_key is None or not all(isinstance(item, dict) for item in patch):
        return copy.deepcopy(patch)
    result = copy.deepcopy(current)
    for item in patch:
        index = next(
            (
                i
                for i, old in enumerate(result)
                if isinstance(old, dict) and old.get(merge_key) == item.get(merge_key)
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            result[index] = _strategic_merge(result[index], item)
    return result


def _has(parent: Any, key: str | int) -> bool:
    if isinstance(parent, list):
        return isinstance(key, int) and 0 <= key < len(parent)
    return key in parent


def _json_patch(target: dict, operations: Any) -> dict:
    """RFC 6902 JSON patch; a failing operation is a 422 as on the real server."""
    if not isinstance(operations, list):
        raise _bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    document = copy.deepcopy(target)

    def locate(pointer: str) -> tuple[Any, str | int]:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        if not parts:
            raise _Failure(
                422, "Invalid", f"jsonpatch: unable to operate on the whole document at {pointer!r}"
            )
        node: Any = document
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        last = parts[-1]
        if isinstance(node, list):
            return node, len(node) if last == "-" else int(last)
        return node, last

    for operation in operations:
        op, path = operation.get("op"), operation.get("path", "")
        try:
            parent, key = locate(path)
            if op == "test":
                if parent[key] != operation.get("value"):
                    raise _Failure(
                        422,
                        "Invalid",
                        f"jsonpatch test operation does not apply: doc is not equal to value at {path}",
                    )
            elif op == "remove":
                del parent[key]
            elif op in ("add", "replace", "move", "copy"):
                if op in ("move", "copy"):
                    source_parent, source_key = locate(operation.get("from", ""))
                    value = copy.deepcopy(source_parent[source_key])
                    if op == "move":
                        del source_parent[source_key]
                else:
                    value = copy.deepcopy(operation.get("value"))
                if op == "replace" and not _has(parent, key):
                    raise KeyError(key)
                if isinstance(parent, list) and op != "replace":
                    parent.insert(key, value)  # type: ignore[arg-type]
                else:
                    parent[key] = value
            else:
                raise _bad_request(f"Unexpected kind: {op}")
        except (KeyError, IndexError, ValueError, TypeError):
            raise _Failure(
                422,
                "Invalid",
                f"jsonpatch {op} operation does not apply: doc is missing path: {path}",
            ) from None
    return document


# -------------------------------------------------------------------------------------------------
# The emulator


@dataclasses.dataclass(frozen=True)
class ServedRequest:
    """A request the emulator served (or refused), as tests assert on them."""

    verb: str  # get, list, watch, create, update, patch, delete, deletecollection
    path: str
    query: dict[str, str]
    resource: str = ""  # "jobs", "pods/log", "services/proxy"; empty for discovery
    namespace: str | None = None
    name: str | None = None


@dataclasses.dataclass
class _Injection:
    status: int
    verb: str | None
    resource: str | None
    name: str | None
    namespace: str | None
    times: int
    reason: str | None
    message: str | None

    def matches(self, verb: str, resource: str, name: str | None, namespace: str | None) -> bool:
        return all(
            wanted is None or wanted == actual
            for wanted, actual in (
                (self.verb, verb),
                (self.resource, resource),
                (self.name, name),
                (self.namespace, namespace),
            )
        )


@dataclasses.dataclass(frozen=True)
class _Change:
    """A write, as watches replay it: its resourceVersion, the object before and after."""

    rv: int
    kind: _Kind
    type: str  # ADDED, MODIFIED, DELETED
    obj: dict
    old: dict | None


@dataclasses.dataclass(frozen=True)
class _Route:
    """A resource request's URL: /api/v1/namespaces/ns/pods/name/log."""

    group: str
    version: str
    plural: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


def _parse_route(path: str) -> _Route | None:
    """The resource a URL addresses, or None for discovery and other URLs."""
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = None
    # /namespaces/NS/PLURAL/... is namespaced; /namespaces[/NAME[/status]] is the namespace itself.
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    return _Route(group, version, rest[0], namespace, *rest[1:])


def _warning_header(warnings: list[str]) -> dict[str, str]:
    return {"Warning": ", ".join(f"299 - {json.dumps(w)}" for w in warnings)} if warnings else {}


# --- the services/proxy subresource ---------------------------------------------------------------

# /api/v1/namespaces/NS/services/ID/proxy[/PATH], on the percent-decoded path (the official client
# quotes everything in path parameters: "ep:8080" comes as "ep%3A8080", "v1/x" as "v1%2Fx").
_SERVICE_PROXY = re.compile(r"/api/v1/namespaces/([^/]+)/services/([^/]+)/proxy(/.*)?", re.DOTALL)

# The verbs the API server authorizes a proxied request as (from its method).
_PROXY_VERBS = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
    "OPTIONS": "",
}

# Hop-by-hop headers: not forwarded either way (as by Go's httputil.ReverseProxy).
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


def _split_service_id(service_id: str) -> tuple[str, str, str] | None:
    """(scheme, name, port) of "name", "name:port" or "scheme:name:port" (utilnet's
    SplitSchemeNamePort); None if not one of those."""
    parts = service_id.split(":")
    if len(parts) == 1:
        scheme, name, port = "", parts[0], ""
    elif len(parts) == 2:
        scheme, name, port = "", parts[0], parts[1]
    elif len(parts) == 3:
        scheme, name, port = parts
    else:
        return None
    if not name or scheme not in ("", "http", "https"):
        return None
    return scheme, name, port


def _proxy_path(rest: str) -> str:
    """The upstream path of what follows /proxy, as the API server makes it: cleaned (Go's
    path.Join), its trailing slash kept; empty when nothing follows."""
    segments: list[str] = []
    for segment in rest.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in ("", "."):
            segments.append(segment)
    if not segments:
        return "/" if rest.endswith("/") else ""
    return "/" + "/".join(segments) + ("/" if rest.endswith("/") else "")


def _forwarded_headers(
    headers: multidict.CIMultiDictProxy[str], drop: Iterable[str]
) -> multidict.CIMultiDict[str]:
    """The headers but the hop-by-hop ones (and those the Connection header names) and ``drop``."""
    named = {
        token.strip().lower()
        for value in headers.getall("Connection", [])
        for token in value.split(",")
    }
    dropped = _HOP_BY_HOP | named | {name.lower() for name in drop}
    return multidict.CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in dropped)


@attrs.define(kw_only=True)
class KubeEmulator(kmock.KubernetesEmulator):
    """kmock's Kubernetes emulator made to validate, admit and keep objects as a real server.

    Resource requests are served here (kmock's generic handling would store anything, before
    any check); discovery and other URLs go to kmock (its ``resources`` declare what is served,
    its DSL can add reactions to other URLs). Objects live in kmock's ``objects`` store, with
    their history. Everything runs on one event loop: writes happen without awaiting, so each
    is atomic for the other requests and for the helpers of :class:`KubeAPI`.
    """

    version: str = "1.29"
    kserve: bool = False  # KServe's InferenceService CRD installed from the start

    _kinds: dict[tuple[str, str, str], _Kind] = attrs.field(factory=dict, init=False)
    _by_plural: dict[str, _Kind] = attrs.field(factory=dict, init=False)
    _version: tuple[int, int] = attrs.field(init=False)
    _rv: int = attrs.field(default=0, init=False)
    _compacted: int = attrs.field(default=0, init=False)  # watches from older versions get 410
    _changes: list[_Change] = attrs.field(factory=list, init=False)
    _change_rvs: list[int] = attrs.field(factory=list, init=False)
    _changed: asyncio.Event = attrs.field(factory=asyncio.Event, init=False)  # replaced per change
    _closing: bool = attrs.field(default=False, init=False)
    _logs: dict[tuple[str, str, str | None], str] = attrs.field(factory=dict, init=False)
    _injections: list[_Injection] = attrs.field(factory=list, init=False)
    _served: list[ServedRequest] = attrs.field(factory=list, init=False)
    _addresses: int = attrs.field(default=0, init=False)  # allocated cluster IPs and node ports
    # The endpoints of Services, as tests register them: (namespace, service) -> {port: URL}.
    _backends: dict[tuple[str, str], dict[int, yarl.URL]] = attrs.field(factory=dict, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._version = _version_tuple(self.version)
        for kind in _BUILTIN_KINDS:
            self._serve_kind(kind)
        self._create(self._by_plural["namespaces"], None, {"metadata": {"name": "default"}})
        if self.kserve:
            self.install_crd(kserve_crd())

    def _serve_kind(self, kind: _Kind) -> None:
        """Serve a resource: its requests, and discovery (kmock's ``resources``)."""
        self._kinds[kind.group, kind.version, kind.plural] = kind
        self._by_plural[kind.plural] = kind
        self.resources[kind.ref] = kmock.ResourceInfo(
            namespaced=kind.namespaced,
            kind=kind.kind,
            singular=kind.kind.lower(),
            verbs=_VERBS,
            shortnames=kind.short_names,
            subresources=kind.subresources,
        )

    def install_crd(self, crd: dict) -> list[_Kind]:
        """Serve the custom resource of a CustomResourceDefinition (apiextensions.k8s.io/v1),
        as the API server does once one is created: its served versions appear in discovery
        and their objects are checked against the version's schema."""
        if crd.get("apiVersion") != "apiextensions.k8s.io/v1" or (
            crd.get("kind") != "CustomResourceDefinition"
        ):
            raise ValueError("not an apiextensions.k8s.io/v1 CustomResourceDefinition")
        spec, names = crd["spec"], crd["spec"]["names"]
        if crd["metadata"]["name"] != f"{names['plural']}.{spec['group']}":
            raise ValueError("a CRD's name must be <plural>.<group>")
        if names["plural"] in self._by_plural:
            raise ValueError(f"{names['plural']} are served already")
        installed = []
        for version in spec["versions"]:
            if not version.get("served"):
                continue
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            if not schema:
                raise ValueError(f"version {version['name']} has no openAPIV3Schema")
            kind = _Kind(
                spec["group"],
                version["name"],
                names["plural"],
                names["kind"],
                spec["scope"] == "Namespaced",
                tuple(version.get("subresources") or {}),
                tuple(names.get("shortNames") or ()),
                builtin=False,
                schema=copy.deepcopy(schema),
            )
            self._serve_kind(kind)
            installed.append(kind)
        return installed

    # --- entry points -------------------------------------------------------------------------

    async def __call__(self, raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # Decoded as the real server decodes it (%2F too), before it is split.
        proxied = _SERVICE_PROXY.fullmatch(urllib.parse.unquote(raw.raw_path.split("?", 1)[0]))
        if proxied is not None:
            namespace, service_id, rest = proxied.groups()
            return await self._serve_service_proxy(raw, namespace, service_id, rest or "")
        route = _parse_route(raw.path)
        if route is None:
            return await super().__call__(raw)  # discovery and other URLs: kmock
        return await self._serve(raw, route)

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        """Discovery, for the URLs the client requests (with their trailing slashes)."""
        path = request.url.path.rstrip("/") or "/"
        self._served.append(ServedRequest("get", request.url.path, dict(request.params)))
        serve: Callable[[kmock.Request], Any] | None = {
            "/": self._serve_root,
            "/api": self._serve_api,
            "/apis": self._serve_apis,
            "/version": self._serve_server_version,
        }.get(path)
        if serve is None and re.fullmatch(r"/api/v1", path):
            serve = self._serve_version
        elif serve is None and re.fullmatch(r"/apis/[^/]+", path):
            serve = self._serve_group
        elif serve is None and re.fullmatch(r"/apis/[^/]+/[^/]+", path):
            serve = self._serve_version
        if serve is None:
            # kmock's reactions, if a test added any (past the emulator's object tracking).
            return await super(kmock.KubernetesEmulator, self)._handle(request)
        try:
            return aiohttp.web.json_response(await serve(request))
        except kmock.KubernetesNotFoundError:
            failure = _no_such_resource()
            return aiohttp.web.json_response(failure.body, status=failure.code)

    async def _serve_api(self, request: kmock.Request) -> dict:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
            ],
        }

    async def _serve_version(self, request: kmock.Request) -> dict:
        listing = await super()._serve_version(request)
        listing["groupVersion"] = listing["groupVersion"].lstrip("/")  # the core group: "v1"
        return listing

    async def _serve_server_version(self, request: kmock.Request) -> dict:
        major, minor = _version_tuple(self.version)
        return {
            "major": str(major),
            "minor": str(minor),
            "gitVersion": f"v{major}.{minor}.0",
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2024-01-01T00:00:00Z",
            "goVersion": "go1.22.0",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    async def _serve(
        self, raw: aiohttp.web.BaseRequest, route: _Route
    ) -> aiohttp.web.StreamResponse:
        body = await raw.read()
        query = dict(raw.query)
        verb = self._verb(raw.method, route, query)
        kind = self._kinds.get((route.group, route.version, route.plural))
        name = route.name
        if verb == "create" and name is None:
            try:
                name = (json.loads(body) or {}).get("metadata", {}).get("name")
            except (ValueError, AttributeError):
                name = None
        resource = route.plural + (f"/{route.subresource}" if route.subresource else "")
        self._served.append(ServedRequest(verb, raw.path, query, resource, route.namespace, name))
        try:
            if kind is None or verb == "":
                raise _no_such_resource()
            if route.subresource and route.subresource not in kind.subresources:
                raise _no_such_resource()
            if route.namespace is not None and not kind.namespaced:
                raise _no_such_resource()
            if kind.namespaced and route.namespace is None and verb not in ("list", "watch"):
                raise _no_such_resource()
            if (
                injected := self._injected(verb, kind, resource, name, route.namespace, query)
            ) is not None:
                if verb == "watch" and injected.code == 410:
                    return await self._stream_error(raw, injected)
                raise injected
            if route.subresource == "log":
                return await self._serve_log(raw, kind, route, query)
            if verb == "watch":
                return await self._serve_watch(raw, kind, route, query)
            return self._respond(verb, kind, route, query, body, raw.content_type)
        except _Failure as failure:
            return aiohttp.web.json_response(
                failure.body, status=failure.code, headers=failure.headers
            )

    @staticmethod
    def _verb(method: str, route: _Route, query: dict[str, str]) -> str:
        if method == "GET":
            if query.get("watch") in ("true", "1") and route.subresource is None:
                return "watch"
            return "get" if route.name else "list"
        verbs = {
            "POST": "create" if route.name is None else "",
            "PUT": "update" if route.name else "",
            "PATCH": "patch" if route.name else "",
            "DELETE": "delete" if route.name else "deletecollection",
        }
        return verbs.get(method, "")

    def _respond(
        self,
        verb: str,
        kind: _Kind,
        route: _Route,
        query: dict[str, str],
        body: bytes,
        content_type: str,
    ) -> aiohttp.web.Response:
        namespace, name = route.namespace, route.name or ""
        dry_run = query.get("dryRun") == "All"
        field_validation = query.get("fieldValidation", "Warn")
        if verb == "get":
            return aiohttp.web.json_response(self._get(kind, namespace, name))
        if verb == "list":
            return aiohttp.web.json_response(self._list(kind, namespace, query))
        if verb == "deletecollection":
            for obj in self._list(kind, namespace, query)["items"]:
                self._delete(kind, obj["metadata"].get("namespace"), obj["metadata"]["name"], {})
            return aiohttp.web.json_response(
                {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
            )
        data = self._parse_body(body, allow_empty=verb == "delete")
        if verb == "create":
            obj, warnings = self._create(kind, namespace, data, field_validation, dry_run=dry_run)
            return aiohttp.web.json_response(obj, status=201, headers=_warning_header(warnings))
        if verb == "update":
            obj, warnings = self._update(
                kind, namespace, name, route.subresource, data, field_validation, dry_run=dry_run
            )
            return aiohttp.web.json_response(obj, headers=_warning_header(warnings))
        if verb == "patch":
            obj, warnings = self._patch(
                kind,
                namespace,
                name,
                route.subresource,
                data,
                content_type,
                field_validation,
                dry_run=dry_run,
            )
            return aiohttp.web.json_response(obj, headers=_warning_header(warnings))
        options = dict(data or {})
        options.update({k: v for k, v in query.items() if k in ("propagationPolicy", "dryRun")})
        return aiohttp.web.json_response(self._delete(kind, namespace, name, options))

    @staticmethod
    def _parse_body(body: bytes, *, allow_empty: bool = False) -> Any:
        if not body.strip() and allow_empty:
            return {}
        try:
            return json.loads(body)
        except ValueError as e:
            raise _bad_request(f"couldn't get version/kind; json parse error: {e}") from None

    # --- error injection ------------------------------------------------------------------------

    def inject(self, injection: _Injection) -> None:
        self._injections.append(injection)

    def _injected(
        self,
        verb: str,
        kind: _Kind,
        resource: str,
        name: str | None,
        namespace: str | None,
        query: dict[str, str],
        *,
        shown_name: str | None = None,
    ) -> _Failure | None:
        """The failure to answer with, if a test injected one for this request. ``shown_name``:
        the name in the messages if not ``name`` (the proxy's "name:port")."""
        for injection in self._injections:
            if injection.matches(verb, resource, name, namespace):
                injection.times -= 1
                if injection.times <= 0:
                    self._injections.remove(injection)
                return self._injected_failure(
                    injection, verb, kind, resource, shown_name or name, namespace, query
                )
        return None

    def _injected_failure(
        self,
        injection: _Injection,
        verb: str,
        kind: _Kind,
        resource: str,
        name: str | None,
        namespace: str | None,
        query: dict[str, str],
    ) -> _Failure:
        """The Status a real server answers with for that code, unless the test gave one."""
        code = injection.status
        subject = f'{kind.resource} "{name}"' if name else kind.resource
        # Authorization denies a create before the object (and its name) is decoded; a create
        # on a subresource (a POST through services/proxy) has its name in the URL.
        denied = kind.resource if verb == "create" and "/" not in resource else subject
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        rv = query.get("resourceVersion") or str(self._rv)
        defaults: dict[int, tuple[str, str]] = {
            400: ("BadRequest", "the server rejected our request for an unknown reason"),
            401: ("Unauthorized", "Unauthorized"),
            403: (
                "Forbidden",
                f'{denied} is forbidden: User "system:serviceaccount:dataops:jupyter-dataops" cannot {verb} resource "{resource}" in API group "{kind.group}" {scope}',
            ),
            404: ("NotFound", f"{subject} not found"),
            409: ("AlreadyExists", f"{subject} already exists")
            if verb == "create"
            else (
                "Conflict",
                f"Operation cannot be fulfilled on {subject}: the object has been modified; please apply your changes to the latest version and try again",
            ),
            410: ("Expired", f"too old resource version: {rv} ({self._rv})"),
            422: ("Invalid", f'{kind.qualified_kind} "{name or ""}" is invalid: injected failure'),
            429: ("TooManyRequests", "Too many requests, please try again later."),
            500: ("InternalError", "Internal error occurred: injected failure"),
            503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
            504: (
                "Timeout",
                "the server was unable to return a response in the time allotted, but may still be processing the request",
            ),
        }
        reason, message = defaults.get(
            code,
            (
                "Unknown",
                f"an error on the server ({code}) has prevented the request from succeeding",
            ),
        )
        details = _details(kind, name)
        headers = {}
        if code == 429:
            details["retryAfterSeconds"] = 1
            headers["Retry-After"] = "1"
        if code == 500 and injection.message is None:
            details["causes"] = [{"message": "injected failure"}]
        return _Failure(
            code, injection.reason or reason, injection.message or message, details, headers=headers
        )

    # --- storage --------------------------------------------------------------------------------

    def kind(self, resource: str) -> _Kind:
        """A served resource by plural ("jobs"), plural.group ("jobs.batch") or "batch/v1/jobs"."""
        plural = resource.rsplit("/", 1)[-1].split(".", 1)[0]
        if plural not in self._by_plural:
            raise KeyError(f"not a served resource: {resource}")
        return self._by_plural[plural]

    def _read(self, kind: _Kind, namespace: str | None, name: str) -> dict | None:
        """The stored object (never to be modified in place), or None."""
        key = (kind.ref, namespace if kind.namespaced else None, name)
        if key not in self._objects:
            return None
        stored = self._objects[key]
        return None if stored.deleted else stored.last.raw

    def _all(self, kind: _Kind, namespace: str | None = None) -> list[dict]:
        """The stored objects of a kind, in a namespace or all, sorted as etcd keys are."""
        found = [
            (ns or "", name, stored.last.raw)
            for (ref, ns, name), stored in self._objects.items()
            if ref == kind.ref and not stored.deleted and (namespace is None or ns == namespace)
        ]
        return [obj for _, _, obj in sorted(found, key=lambda item: item[:2])]

    def _record(self, kind: _Kind, change_type: str, obj: dict, old: dict | None) -> dict:
        """Write an object (or its deletion) with the next resourceVersion; wake the watches."""
        self._rv += 1
        obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self._rv)}}
        meta = obj["metadata"]
        key = (kind.ref, meta.get("namespace") if kind.namespaced else None, meta["name"])
        if change_type == "DELETED":
            self._objects[key].delete()
        elif key in self._objects:
            self._objects[key].history.append(obj)
        else:
            self._objects[key] = obj
        self._changes.append(_Change(self._rv, kind, change_type, obj, old))
        self._change_rvs.append(self._rv)
        if len(self._changes) > _HISTORY_LIMIT:
            self._compact(self._changes[-_HISTORY_LIMIT - 1].rv)
        self._wake()
        return obj

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def compact(self) -> int:
        """Forget the history up to now: watches from older versions get 410 Expired."""
        self._compact(self._rv)
        return self._rv

    def _compact(self, rv: int) -> None:
        drop = bisect.bisect_right(self._change_rvs, rv)
        del self._changes[:drop], self._change_rvs[:drop]
        self._compacted = max(self._compacted, rv)

    @property
    def resource_version(self) -> int:
        return self._rv

    @property
    def served(self) -> list[ServedRequest]:
        return list(self._served)

    def shutdown(self) -> None:
        """End the watches and log streams (before the server closes its connections)."""
        self._closing = True
        self._wake()

    # --- reads ----------------------------------------------------------------------------------

    def _get(self, kind: _Kind, namespace: str | None, name: str) -> dict:
        obj = self._read(kind, namespace, name)
        if obj is None:
            raise _not_found(kind, name)
        return obj

    def _filter(
        self, kind: _Kind, namespace: str | None, query: dict[str, str], name: str | None = None
    ) -> _Filter:
        return _Filter(
            namespace=namespace,
            name=name,
            labels=tuple(_parse_label_selector(query.get("labelSelector"))),
            fields=tuple(_parse_field_selector(query.get("fieldSelector"), kind)),
        )

    def _list(self, kind: _Kind, namespace: str | None, query: dict[str, str]) -> dict:
        selected = self._filter(kind, namespace, query)
        items = [obj for obj in self._all(kind, namespace) if selected.matches(obj)]
        meta: dict[str, Any] = {"resourceVersion": str(self._rv)}
        offset = 0
        if query.get("continue"):  # our tokens: the offset of the next page
            try:
                offset = int(base64.b64decode(query["continue"]).decode())
            except (ValueError, binascii.Error):
                raise _bad_request("continue key is not valid: incorrect encoded start") from None
            items = items[offset:]
        limit = int(query.get("limit") or 0)
        if 0 < limit < len(items):
            meta["continue"] = base64.b64encode(str(offset + limit).encode()).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        if kind.builtin:  # the real server leaves kind and apiVersion out of built-in lists' items
            items = [
                {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")} for obj in items
            ]
        return {
            "kind": f"{kind.kind}List",
            "apiVersion": kind.api_version,
            "metadata": meta,
            "items": items,
        }

    async def _stream_error(
        self, raw: aiohttp.web.BaseRequest, failure: _Failure
    ) -> aiohttp.web.StreamResponse:
        """A watch that fails after it started: one ERROR event with the Status, then the end."""
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(raw)
        await response.write(json.dumps({"type": "ERROR", "object": failure.body}).encode() + b"\n")
        await response.write_eof()
        return response

    async def _serve_watch(
        self, raw: aiohttp.web.BaseRequest, kind: _Kind, route: _Route, query: dict[str, str]
    ) -> aiohttp.web.StreamResponse:
        selected = self._filter(kind, route.namespace, query, route.name)
        rv_text = query.get("resourceVersion", "")
        try:
            since = int(rv_text) if rv_text not in ("", "0") else None
        except ValueError:
            raise _Failure(400, "BadRequest", f'invalid resource version "{rv_text}"') from None
        if since is not None and since < self._compacted:
            return await self._stream_error(raw, self._expired(since))
        loop = asyncio.get_running_loop()
        timeout = float(query.get("timeoutSeconds") or 0)
        deadline = loop.time() + timeout if timeout > 0 else None
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(raw)

        async def send(event_type: str, obj: dict) -> None:
            await response.write(json.dumps({"type": event_type, "object": obj}).encode() + b"\n")

        initial_events = query.get("sendInitialEvents") == "true"
        if since is None or initial_events:  # the current state first, as ADDED events
            since = self._rv
            for obj in self._all(kind, route.namespace):
                if selected.matches(obj):
                    await send("ADDED", obj)
        if initial_events:
            bookmark = {
                "kind": kind.kind,
                "apiVersion": kind.api_version,
                "metadata": {
                    "resourceVersion": str(self._rv),
                    "annotations": {"k8s.io/initial-events-end": "true"},
                },
            }
            await send("BOOKMARK", bookmark)
        while not self._closing:
            changed = self._changed
            if since < self._compacted:  # fell behind the compaction
                await send("ERROR", self._expired(since).body)
                break
            for change in self._changes[bisect.bisect_right(self._change_rvs, since) :]:
                since = change.rv
                if change.kind != kind:
                    continue
                now, before = (
                    selected.matches(change.obj),
                    change.old is not None and selected.matches(change.old),
                )
                if change.type == "MODIFIED" and now and not before:
                    await send("ADDED", change.obj)  # it entered the selection
                elif change.type == "MODIFIED" and before and not now:
                    # It left the selection: deleted, as it was, at this version.
                    assert change.old is not None
                    meta = {**change.old["metadata"], "resourceVersion": str(change.rv)}
                    await send("DELETED", {**change.old, "metadata": meta})
                elif now:
                    await send(change.type, change.obj)
            if deadline is not None and loop.time() >= deadline:
                break
            await self._wait(changed, deadline)
        await response.write_eof()
        return response

    def _expired(self, since: int) -> _Failure:
        return _Failure(410, "Expired", f"too old resource version: {since} ({self._compacted})")

    @staticmethod
    async def _wait(changed: asyncio.Event, deadline: float | None) -> None:
        timeout = (
            None if deadline is None else max(0.0, deadline - asyncio.get_running_loop().time())
        )
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except TimeoutError:
            pass

    # --- logs -----------------------------------------------------------------------------------

    def set_log(
        self,
        namespace: str,
        pod: str,
        text: str,
        container: str | None = None,
        *,
        append: bool = False,
    ) -> None:
        key = (namespace, pod, container)
        self._logs[key] = (self._logs.get(key, "") if append else "") + text
        self._wake()

    def _log_text(self, namespace: str, pod: str, container: str) -> str:
        return self._logs.get(
            (namespace, pod, container), self._logs.get((namespace, pod, None), "")
        )

    def _log_container(self, pod: dict, query: dict[str, str]) -> str:
        """The container whose log is asked for; the real server's 400s when unclear."""
        name = pod["metadata"]["name"]
        spec = pod.get("spec") or {}
        containers = [c.get("name", "") for c in spec.get("containers") or []]
        init = [c.get("name", "") for c in spec.get("initContainers") or []]
        container = query.get("container")
        if not container:
            if len(containers) != 1:
                choices = f"choose one of: [{' '.join(containers)}]" + (
                    f" or one of the init containers: [{' '.join(init)}]" if init else ""
                )
                raise _bad_request(f"a container name must be specified for pod {name}, {choices}")
            container = containers[0]
        if container not in containers + init:
            raise _bad_request(f"container {container} is not valid for pod {name}")
        status = pod.get("status") or {}
        if status.get("phase", "Pending") == "Pending":
            waiting = next(
                (
                    s.get("state", {}).get("waiting", {}).get("reason")
                    for s in status.get("containerStatuses") or []
                    if s.get("name") == container
                ),
                None,
            )
            raise _bad_request(
                f'container "{container}" in pod "{name}" is waiting to start: {waiting or "ContainerCreating"}'
            )
        return container

    async def _serve_log(
        self, raw: aiohttp.web.BaseRequest, kind: _Kind, route: _Route, query: dict[str, str]
    ) -> aiohttp.web.StreamResponse:
        namespace, name = route.namespace or "", route.name or ""
        container = self._log_container(self._get(kind, namespace, name), query)
        text = self._log_text(namespace, name, container)
        if query.get("tailLines"):
            lines = text.splitlines(keepends=True)
            text = (
                "".join(lines[len(lines) - int(query["tailLines"]) :])
                if int(query["tailLines"])
                else ""
            )
        if query.get("limitBytes"):
            text = text.encode()[: int(query["limitBytes"])].decode(errors="ignore")
        if query.get("follow") not in ("true", "1"):
            return aiohttp.web.Response(text=text, content_type="text/plain")
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(raw)
        await response.write(text.encode())
        sent = len(self._log_text(namespace, name, container))
        while not self._closing:
            changed = self._changed
            current = self._log_text(namespace, name, container)
            if len(current) > sent:
                await response.write(current[sent:].encode())
                sent = len(current)
            pod = self._read(kind, namespace, name)
            if pod is None or (pod.get("status") or {}).get("phase") in _TERMINAL_PHASES:
                break
            await self._wait(changed, None)
        await response.write_eof()
        return response

    # --- the services/proxy subresource --------------------------------------------------------

    def set_service_backend(self, namespace: str, service: str, port: int, url: yarl.URL) -> None:
        self._backends.setdefault((namespace, service), {})[port] = url

    def clear_service_backend(self, namespace: str, service: str) -> None:
        self._backends.pop((namespace, service), None)

    async def _serve_service_proxy(
        self, raw: aiohttp.web.BaseRequest, namespace: str, service_id: str, rest: str
    ) -> aiohttp.web.StreamResponse:
        """A request to a Service's backend through the API server, as kubectl proxy or a
        client outside the cluster sends it: authorized as ``services/proxy`` with the verb of
        its method, forwarded with its query, body and headers, answered with the backend's."""
        kind = self._by_plural["services"]
        verb = _PROXY_VERBS.get(raw.method)
        query = dict(raw.query)
        split = _split_service_id(service_id)
        name = split[1] if split else service_id
        self._served.append(
            ServedRequest(verb or "", raw.path, query, "services/proxy", namespace, name)
        )
        try:
            if verb is None:
                raise _Failure(
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                )
            injected = self._injected(
                verb, kind, "services/proxy", name, namespace, query, shown_name=service_id
            )
            if injected is not None:
                raise injected
            target = self._service_location(namespace, service_id)
            path = _proxy_path(rest)
            if not path and raw.method in ("GET", "HEAD"):
                # The API server redirects a proxy URL without a path to the one ending in "/".
                location = raw.raw_path.split("?", 1)[0] + "/"
                if raw.query_string:
                    location += "?" + raw.raw_path.split("?", 1)[1]
                return aiohttp.web.Response(status=301, headers={"Location": location})
            return await self._forward(raw, target, path or "/")
        except _Failure as failure:
            return aiohttp.web.json_response(
                failure.body, status=failure.code, headers=failure.headers
            )

    def _service_location(self, namespace: str, service_id: str) -> yarl.URL:
        """Where a Service's proxy goes: the API server's ResourceLocation over the registered
        backends (a Service's endpoints, one per Service port)."""
        services = self._by_plural["services"]
        split = _split_service_id(service_id)
        if split is None:
            raise _bad_request(f'invalid service request "{service_id}"')
        scheme, name, port = split
        service = self._read(services, namespace, name)
        if re.fullmatch(r"[+-]?[0-9]+", port):
            # A port number stands for the Service port's name (the endpoints' ports have those).
            if service is None:
                raise _not_found(services, name)
            number = int(port)
            declared = next(
                (
                    p
                    for p in (service.get("spec") or {}).get("ports") or []
                    if p.get("port") == number
                ),
                None,
            )
            if declared is None:
                raise _Failure(
                    503,
                    "ServiceUnavailable",
                    f'no service port {number} found for service "{name}"',
                )
            port = declared.get("name") or ""
        elif service is None:
            # A real server reads the Service's Endpoints then, which go with the Service.
            endpoints = dataclasses.replace(services, plural="endpoints", kind="Endpoints")
            raise _not_found(endpoints, name)
        assert service is not None
        registered = self._backends.get((namespace, name), {})
        available = {
            p.get("name") or "": registered[p["port"]]
            for p in (service.get("spec") or {}).get("ports") or []
            if p.get("port") in registered
        }
        if not available:
            raise _Failure(
                503, "ServiceUnavailable", f'no endpoints available for service "{name}"'
            )
        if port not in available:
            raise _Failure(
                503, "ServiceUnavailable", f'no endpoints available for service "{service_id}"'
            )
        return available[port].with_scheme(scheme) if scheme else available[port]

    async def _forward(
        self, raw: aiohttp.web.BaseRequest, target: yarl.URL, path: str
    ) -> aiohttp.web.StreamResponse:
        """Send the request on to ``target`` and stream its answer back, as the API server's
        proxy (Go's ReverseProxy) does; a backend not reached is a 503."""
        headers = _forwarded_headers(
            raw.headers, ("Authorization", "Host", "Content-Length", "Expect")
        )
        forwarded_for = ", ".join([*raw.headers.getall("X-Forwarded-For", []), raw.remote or ""])
        headers["X-Forwarded-For"] = forwarded_for.strip(", ")
        body = await raw.read()
        url = yarl.URL.build(
            scheme=target.scheme,
            host=target.raw_host or "",
            port=target.explicit_port,
            # Go's escaping of a path (url.URL.EscapedPath); the query goes on as it came.
            path=urllib.parse.quote(path, safe="$&+,/:;=@"),
            query_string=raw.raw_path.split("?", 1)[1] if "?" in raw.raw_path else "",
            encoded=True,
        )
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True, ssl=False),
            timeout=aiohttp.ClientTimeout(total=_PROXY_TIMEOUT),
            auto_decompress=False,  # the body goes back as it came, with its Content-Encoding
            cookie_jar=aiohttp.DummyCookieJar(),
            # Only the client's headers: none of aiohttp's own.
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        ) as session:
            host = target.raw_host or ""
            hostport = f"[{host}]:{target.port}" if ":" in host else f"{host}:{target.port}"
            try:
                upstream = await session.request(
                    raw.method,
                    url,
                    headers=headers,
                    data=body if body or raw.method in ("POST", "PUT", "PATCH") else None,
                    allow_redirects=False,
                )
            except aiohttp.ClientConnectorError as e:
                if isinstance(e.os_error, socket.gaierror):
                    raise self._unreachable(f"dial tcp: lookup {host}: no such host") from None
                errno = getattr(e.os_error, "errno", None)
                reason = os.strerror(errno).lower() if errno else str(e.os_error)
                raise self._unreachable(f"dial tcp {hostport}: connect: {reason}") from None
            except aiohttp.ConnectionTimeoutError:
                raise self._unreachable(f"dial tcp {hostport}: i/o timeout") from None
            except TimeoutError:
                raise self._unreachable("net/http: timeout awaiting response headers") from None
            except aiohttp.ServerDisconnectedError:
                raise self._unreachable("EOF") from None
            except aiohttp.ClientError as e:
                raise self._unreachable(str(e) or type(e).__name__) from None
            async with upstream:
                response = aiohttp.web.StreamResponse(
                    status=upstream.status, headers=_forwarded_headers(upstream.headers, ())
                )
                await response.prepare(raw)
                try:
                    async for chunk in upstream.content.iter_any():
                        await response.write(chunk)
                except (aiohttp.ClientError, TimeoutError):
                    # The backend failed midway: the client sees the answer cut short.
                    if raw.transport is not None:
                        raw.transport.close()
                    return response
                await response.write_eof()
                return response

    @staticmethod
    def _unreachable(detail: str) -> _Failure:
        return _Failure(503, "ServiceUnavailable", f"error trying to reach service: {detail}")

    # --- writes ---------------------------------------------------------------------------------

    def _decode(self, kind: _Kind, body: Any, field_validation: str) -> tuple[dict, list[str]]:
        """The object of a request body, as the server's decoder makes it.

        400 for what cannot be decoded: not an object, another kind, unknown fields with
        fieldValidation=Strict, bad quantities, bad base64. Unknown fields are dropped otherwise
        (and warned about unless fieldValidation=Ignore). Schema errors are 422 Invalid.
        """
        cannot = f'{kind.kind} in version "{kind.version}" cannot be handled as a {kind.kind}'
        if not isinstance(body, dict):
            json_type = {list: "array", str: "string", bool: "bool"}.get(type(body), "number")
            raise _bad_request(f"{cannot}: json: cannot unmarshal {json_type} into Go value")
        obj = _strip_nulls(body)
        if obj.setdefault("apiVersion", kind.api_version) != kind.api_version:
            raise _bad_request(
                f"the API version in the data ({obj['apiVersion']}) does not match the expected API version ({kind.api_version})"
            )
        if obj.setdefault("kind", kind.kind) != kind.kind:
            raise _bad_request(
                f'{obj["kind"]} in version "{kind.version}" cannot be handled as a {kind.kind}: the object kind does not match the resource'
            )
        if kind.schema is not None:
            unknown, schema_errors = _structural_check(obj, kind.schema)
        else:
            unknown, schema_error = _schema_check(obj, self.version)
            schema_errors = [schema_error] if schema_error is not None else []
        if unknown and field_validation == "Strict":
            fields = ", ".join(f'unknown field "{field}"' for field in unknown)
            raise _bad_request(f"{cannot}: strict decoding error: {fields}")
        warnings = (
            [f'unknown field "{field}"' for field in unknown]
            if field_validation != "Ignore"
            else []
        )
        bad: list[tuple[str, str]] = []
        if kind.builtin:  # a custom resource's quantities are kept as sent (its schema checks them)
            _canonicalise_quantities(obj, "", bad)
        for section in ("data", "binaryData") if kind.plural in ("secrets", "configmaps") else ():
            for key, value in (obj.get(section) or {}).items():
                if kind.plural == "secrets" or section == "binaryData":
                    if (offset := _base64_error_offset(value)) is not None:
                        error = f"illegal base64 data at input byte {offset}"
                        bad.append((f"{section}[{key}]", error))
        if bad:
            causes = [
                {"reason": "FieldValueInvalid", "message": error, "field": field}
                for field, error in bad
            ]
            raise _bad_request(f"{cannot}: {bad[0][1]}", {"causes": causes})
        if schema_errors:
            raise self._invalid(kind, (obj.get("metadata") or {}).get("name", ""), schema_errors)
        return obj, warnings

    @staticmethod
    def _invalid(kind: _Kind, name: str, errors: list[_FieldError]) -> _Failure:
        details = {
            "name": name,
            **({"group": kind.group} if kind.group else {}),
            "kind": kind.kind,
            "causes": [e.cause() for e in errors],
        }
        message = (
            f'{kind.qualified_kind} "{name}" is invalid: {_aggregate([str(e) for e in errors])}'
        )
        return _Failure(422, "Invalid", message, details)

    def _check_namespace(self, kind: _Kind, namespace: str | None) -> None:
        """NamespaceLifecycle: no objects in a namespace that does not exist."""
        if not kind.namespaced or namespace is None:
            return
        if self._read(self._by_plural["namespaces"], None, namespace) is None:
            details = {"name": namespace, "kind": "namespaces"}
            raise _Failure(404, "NotFound", f'namespaces "{namespace}" not found', details)

    def _create(
        self,
        kind: _Kind,
        namespace: str | None,
        body: Any,
        field_validation: str = "Strict",
        *,
        dry_run: bool = False,
    ) -> tuple[dict, list[str]]:
        obj, warnings = self._decode(kind, body, field_validation)
        meta = obj.setdefault("metadata", {})
        if not kind.namespaced or not meta.get("namespace"):
            meta.pop("namespace", None)
        if kind.namespaced and meta.setdefault("namespace", namespace) != namespace:
            raise _bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        if meta.get("resourceVersion"):
            raise _Failure(
                500, "Unknown", "resourceVersion should not be set on objects to be created"
            )
        self._check_namespace(kind, namespace)
        _apply_defaults(kind, obj, self._version)
        # Admission errors name an object by its generateName: its name is not generated yet.
        shown_name = meta.get("name") or meta.get("generateName", "")
        if kind.plural == "pods":
            self._admit_pod(obj, shown_name)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"][:58] + _random_suffix()
        self._prepare_create(kind, obj)
        if errors := _validate(kind, obj, None, self._version):
            raise self._invalid(kind, meta.get("name", ""), errors)
        self._admit_quota(kind, obj, shown_name)
        if self._read(kind, namespace, meta["name"]) is not None:
            raise _Failure(
                409,
                "AlreadyExists",
                f'{kind.resource} "{meta["name"]}" already exists',
                _details(kind, meta["name"]),
            )
        if dry_run:
            return obj, warnings
        return self._store_new(kind, obj), warnings

    def _store_new(self, kind: _Kind, obj: dict) -> dict:
        """Store a validated new object, and what the controllers would add at once."""
        obj = self._record(kind, "ADDED", obj, None)
        meta = obj["metadata"]
        if kind.plural == "namespaces":  # the service account controller
            accounts = self._by_plural["serviceaccounts"]
            self._create(accounts, meta["name"], {"metadata": {"name": "default"}})
        self._refresh_quotas(kind, meta.get("namespace"))
        return obj

    def _prepare_create(self, kind: _Kind, obj: dict) -> None:
        """The server's own fields of a new object (BeforeCreate and PrepareForCreate)."""
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            meta.pop(key, None)
        if self._has_generation(kind):
            meta["generation"] = 1
        if kind.has_status and not kind.builtin:
            obj.pop("status", None)  # a custom resource's create cannot set its status
        elif kind.has_status:
            obj["status"] = {}
        if kind.plural == "namespaces":
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name", "")
            obj["spec"].setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
        elif kind.plural == "pods":
            obj["status"] = {"phase": "Pending", "qosClass": _qos_class(obj["spec"])}
        elif kind.plural == "persistentvolumeclaims":
            obj["status"] = {"phase": "Pending"}
        elif kind.plural == "horizontalpodautoscalers":
            obj["status"] = {"desiredReplicas": 0}  # not omitted when empty
        elif kind.plural == "jobs":
            self._generate_job_selector(obj)
        elif kind.plural == "services":
            self._allocate_addresses(obj["spec"], None)
            obj["status"] = {"loadBalancer": {}}
        elif kind.plural == "secrets" and "stringData" in obj:
            data = obj.setdefault("data", {})
            for key, value in obj.pop("stringData").items():
                data[key] = base64.b64encode(value.encode()).decode()

    def _has_generation(self, kind: _Kind) -> bool:
        return (
            not kind.builtin
            or kind.plural in _GENERATION_KINDS
            or (kind.plural == "pods" and self._version >= (1, 34))
        )

    @staticmethod
    def _generate_job_selector(job: dict) -> None:
        """The labels and selector the server gives a Job (unless it selects manually)."""
        meta, spec = job["metadata"], job["spec"]
        if spec.get("manualSelector") or not isinstance(spec.get("template"), dict):
            return
        labels = spec["template"].setdefault("metadata", {}).setdefault("labels", {})
        for key in ("batch.kubernetes.io/controller-uid", "controller-uid"):
            labels.setdefault(key, meta["uid"])
        for key in ("batch.kubernetes.io/job-name", "job-name"):
            labels.setdefault(key, meta.get("name", ""))
        selector = spec.setdefault("selector", {})
        selector.setdefault("matchLabels", {}).setdefault(
            "batch.kubernetes.io/controller-uid", meta["uid"]
        )
        if not meta.get("labels"):
            meta["labels"] = dict(labels)

    def _allocate_addresses(self, spec: dict, old: dict | None) -> None:
        """A Service's cluster IP and node ports: kept from before, or allocated."""
        old = old or {}
        if spec.get("type") == "ExternalName":
            return
        if not spec.get("clusterIP") and old.get("clusterIP"):
            spec["clusterIP"] = old["clusterIP"]
        if not spec.get("clusterIP"):
            self._addresses += 1
            spec["clusterIP"] = f"10.96.{self._addresses // 250}.{self._addresses % 250 + 2}"
        spec["clusterIPs"] = [spec["clusterIP"]]
        if spec["clusterIP"] != "None":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            old_ports = {p.get("port"): p.get("nodePort") for p in old.get("ports") or []}
            for port in spec.get("ports") or []:
                if "nodePort" not in port:
                    if old_ports.get(port.get("port")):
                        port["nodePort"] = old_ports[port.get("port")]
                    else:
                        self._addresses += 1
                        port["nodePort"] = 30000 + self._addresses % 2768

    def _admit_pod(self, pod: dict, shown_name: str) -> None:
        """ServiceAccount and LimitRanger admission for a new pod (in the server's order)."""
        kind, meta, spec = self._by_plural["pods"], pod["metadata"], pod["spec"]
        namespace = meta["namespace"]
        account = spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        spec["serviceAccount"] = account
        if self._read(self._by_plural["serviceaccounts"], namespace, account) is None:
            raise _forbidden(
                kind,
                shown_name,
                f'error looking up service account {namespace}/{account}: serviceaccount "{account}" not found',
            )
        limit_ranges = self._all(self._by_plural["limitranges"], namespace)
        _limit_range_defaults(pod, limit_ranges)
        if problems := _limit_range_problems(kind, pod, limit_ranges):
            raise _forbidden(kind, shown_name, _aggregate(problems))

    def _admit_quota(self, kind: _Kind, obj: dict, shown_name: str) -> None:
        """ResourceQuota admission (and LimitRanger's for claims): 403 when over a quota."""
        namespace = obj["metadata"].get("namespace")
        if not kind.namespaced:
            return
        if kind.plural == "persistentvolumeclaims":
            if problems := _limit_range_problems(
                kind, obj, self._all(self._by_plural["limitranges"], namespace)
            ):
                raise _forbidden(kind, shown_name, _aggregate(problems))
        requested = _usage(kind, obj)
        for quota in self._all(self._by_plural["resourcequotas"], namespace):
            hard = {
                name: _q(value)
                for name, value in ((quota.get("spec") or {}).get("hard") or {}).items()
            }
            if not _quota_applies(quota, kind, obj):
                continue
            if kind.plural == "pods" and (problem := _missing_compute(obj, hard)):
                raise _forbidden(
                    kind, shown_name, f"failed quota: {quota['metadata']['name']}: {problem}"
                )
            delta = {name: value for name, value in requested.items() if name in hard}
            if not delta:
                continue
            used = self._quota_used(quota, hard)
            exceeded = sorted(
                name for name, value in delta.items() if hard[name] < used[name] + value
            )
            if exceeded:
                raise _forbidden(
                    kind,
                    shown_name,
                    f"exceeded quota: {quota['metadata']['name']}, requested: {_pretty({n: delta[n] for n in exceeded})}, used: {_pretty({n: used[n] for n in exceeded})}, limited: {_pretty({n: hard[n] for n in exceeded})}",
                )

    def _quota_used(self, quota: dict, hard: dict[str, Quantity]) -> dict[str, Quantity]:
        namespace = quota["metadata"]["namespace"]
        used = dict.fromkeys(hard, _ZERO)
        for kind in self._by_plural.values():
            if not kind.namespaced:
                continue
            for obj in self._all(kind, namespace):
                if _quota_applies(quota, kind, obj):
                    for name, value in _usage(kind, obj).items():
                        if name in used:
                            used[name] = used[name] + value
        return used

    def _refresh_quotas(self, kind: _Kind, namespace: str | None) -> None:
        """The quota controller: keep the quotas' status.used up to date after writes."""
        if namespace is None:
            return
        for quota in self._all(self._by_plural["resourcequotas"], namespace):
            hard_text = (quota.get("spec") or {}).get("hard") or {}
            used = self._quota_used(quota, {n: _q(v) for n, v in hard_text.items()})
            status = {"hard": dict(hard_text), "used": {n: str(v) for n, v in used.items()}}
            if quota.get("status") != status:
                self._record(
                    self._by_plural["resourcequotas"],
                    "MODIFIED",
                    {**quota, "status": status},
                    quota,
                )

    def _update(
        self,
        kind: _Kind,
        namespace: str | None,
        name: str,
        subresource: str | None,
        body: Any,
        field_validation: str = "Strict",
        *,
        dry_run: bool = False,
        precondition: bool = True,
    ) -> tuple[dict, list[str]]:
        old = self._get(kind, namespace, name)
        new, warnings = self._decode(kind, body, field_validation)
        meta = new.setdefault("metadata", {})
        if meta.setdefault("name", name) != name:
            raise _bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        if kind.namespaced and meta.setdefault("namespace", namespace) != namespace:
            raise _bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        if precondition and meta.get("resourceVersion") not in (
            None,
            "",
            old["metadata"]["resourceVersion"],
        ):
            raise _conflict(kind, name)
        if subresource == "status":
            # A status update changes the status only; anything else is as it was.
            new = {**copy.deepcopy(old), "status": new.get("status", {})}
        else:
            for key in (
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ):
                if key in old["metadata"]:
                    meta[key] = old["metadata"][key]
                else:
                    meta.pop(key, None)
            if kind.has_status and (kind.builtin or "status" in old):
                new["status"] = copy.deepcopy(old.get("status", {}))
            elif kind.has_status:
                new.pop("status", None)
            _apply_defaults(kind, new, self._version)
            if kind.plural == "services":
                self._allocate_addresses(new["spec"], old.get("spec"))
            if kind.plural == "secrets" and "stringData" in new:
                data = new.setdefault("data", {})
                for key, value in new.pop("stringData").items():
                    data[key] = base64.b64encode(value.encode()).decode()
            if self._has_generation(kind) and self._spec_of(new) != self._spec_of(old):
                meta["generation"] = old["metadata"].get("generation", 0) + 1
        if errors := _validate(kind, new, old, self._version):
            raise self._invalid(kind, name, errors)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old or dry_run:  # a no-op update writes nothing
            return (new if dry_run else old), warnings
        stored = self._record(kind, "MODIFIED", new, old)
        meta = stored["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._record(kind, "DELETED", stored, None)  # its finalizers are done
            self._collect(self._dependents(kind, stored))  # the garbage collector
        self._refresh_quotas(kind, meta.get("namespace"))
        return stored, warnings

    @staticmethod
    def _spec_of(obj: dict) -> dict:
        return {k: v for k, v in obj.items() if k not in ("metadata", "status")}

    def _patch(
        self,
        kind: _Kind,
        namespace: str | None,
        name: str,
        subresource: str | None,
        patch: Any,
        content_type: str,
        field_validation: str = "Strict",
        *,
        dry_run: bool = False,
    ) -> tuple[dict, list[str]]:
        old = self._get(kind, namespace, name)
        if content_type == "application/json-patch+json":
            new = _json_patch(old, patch)
        elif content_type == "application/merge-patch+json":
            new = _merge_patch(old, patch)
        elif content_type == "application/strategic-merge-patch+json" and kind.builtin:
            new = _strategic_merge(old, patch)
        else:
            accepted = "application/json-patch+json, application/merge-patch+json" + (
                ", application/strategic-merge-patch+json" if kind.builtin else ""
            )
            raise _Failure(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types include: {accepted}",
            )
        # A patch checks the resourceVersion only when it sets one itself.
        patched_rv = (new.get("metadata") or {}).get("resourceVersion")
        if patched_rv != old["metadata"]["resourceVersion"]:
            raise _conflict(kind, name)
        return self._update(
            kind,
            namespace,
            name,
            subresource,
            new,
            field_validation,
            dry_run=dry_run,
            precondition=False,
        )

    def _delete(self, kind: _Kind, namespace: str | None, name: str, options: dict) -> dict:
        obj = self._get(kind, namespace, name)
        meta = obj["metadata"]
        preconditions = options.get("preconditions") or {}
        for key in ("uid", "resourceVersion"):
            if preconditions.get(key) and preconditions[key] != meta.get(key):
                raise _Failure(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on {kind.resource} "{name}": Precondition failed: {key.capitalize() if key == "uid" else "ResourceVersion"} in precondition: {preconditions[key]}, {key.capitalize() if key == "uid" else "ResourceVersion"} in object meta: {meta.get(key)}',
                    _details(kind, name),
                )
        if kind.plural == "namespaces" and name in ("default", "kube-system", "kube-public"):
            raise _forbidden(kind, name, "this namespace may not be deleted")
        if options.get("dryRun") in ("All", ["All"]):
            return obj
        # batch/v1 Jobs orphan their pods by default (for compatibility); the rest cascade.
        default_policy = "Orphan" if kind.plural == "jobs" else "Background"
        policy = options.get("propagationPolicy") or (
            "Orphan" if options.get("orphanDependents") else default_policy
        )
        if meta.get("finalizers"):  # wait for the finalizers: only mark the object
            if not meta.get("deletionTimestamp"):
                marked = copy.deepcopy(obj)
                marked["metadata"].update(deletionTimestamp=_now(), deletionGracePeriodSeconds=0)
                obj = self._record(kind, "MODIFIED", marked, obj)
            return obj
        if policy == "Foreground":
            marked = copy.deepcopy(obj)
            marked["metadata"].update(
                deletionTimestamp=_now(),
                deletionGracePeriodSeconds=0,
                finalizers=["foregroundDeletion"],
            )
            obj = self._record(kind, "MODIFIED", marked, obj)
        dependents = self._dependents(kind, obj)
        if policy == "Orphan":
            for dependent_kind, dependent in dependents:
                owners = dependent["metadata"].get("ownerReferences") or []
                kept = [ref for ref in owners if ref.get("uid") != meta["uid"]]
                if kept != owners:
                    orphan = copy.deepcopy(dependent)
                    orphan["metadata"]["ownerReferences"] = kept
                    if not kept:
                        del orphan["metadata"]["ownerReferences"]
                    self._record(dependent_kind, "MODIFIED", orphan, dependent)
        else:
            self._collect(dependents)
        if kind.plural == "namespaces":  # the namespace controller empties it first
            for content_kind in self._by_plural.values():
                if content_kind.namespaced:
                    for content in self._all(content_kind, name):
                        if self._read(content_kind, name, content["metadata"]["name"]) is not None:
                            options = {"propagationPolicy": "Background"}
                            self._delete(content_kind, name, content["metadata"]["name"], options)
        deleted = self._record(kind, "DELETED", obj, None)
        self._refresh_quotas(kind, meta.get("namespace"))
        if kind.plural in ("pods", "namespaces") or policy == "Foreground":
            return deleted
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": _details(kind, name, uid=meta["uid"]),
        }

    def _collect(self, dependents: list[tuple[_Kind, dict]]) -> None:
        """Delete an owner's dependents that are still there (in the background)."""
        for dependent_kind, dependent in dependents:
            namespace, name = dependent["metadata"].get("namespace"), dependent["metadata"]["name"]
            if self._read(dependent_kind, namespace, name) is not None:
                self._delete(dependent_kind, namespace, name, {"propagationPolicy": "Background"})

    def _dependents(self, kind: _Kind, owner: dict) -> list[tuple[_Kind, dict]]:
        """What the garbage collector deletes with an object (what it owns; a Job's pods)."""
        meta = owner["metadata"]
        namespace, uid = meta.get("namespace"), meta["uid"]
        found: list[tuple[_Kind, dict]] = []
        for dependent_kind in self._by_plural.values():
            if not dependent_kind.namespaced or namespace is None:
                continue
            for obj in self._all(dependent_kind, namespace):
                owners = obj["metadata"].get("ownerReferences") or []
                if any(ref.get("uid") == uid for ref in owners):
                    found.append((dependent_kind, obj))
                elif dependent_kind.plural == "pods" and kind.plural == "jobs":
                    labels = _labels_of(obj)
                    named = meta["name"] in (
                        labels.get("job-name"),
                        labels.get("batch.kubernetes.io/job-name"),
                    )
                    same = (
                        labels.get(
                            "batch.kubernetes.io/controller-uid", labels.get("controller-uid", uid)
                        )
                        == uid
                    )
                    if named and same:
                        found.append((dependent_kind, obj))
                elif dependent_kind.plural == "pods" and kind.plural == "deployments":
                    selector = (owner.get("spec") or {}).get("selector")
                    if selector and _selector_matches(selector, _labels_of(obj)):
                        found.append((dependent_kind, obj))
        return found

    # --- controllers ----------------------------------------------------------------------------

    def add_event(
        self,
        namespace: str,
        involved: dict,
        reason: str,
        message: str,
        event_type: str = "Warning",
        component: str | None = None,
    ) -> dict:
        """Record a core/v1 Event about an object (a full object or an object reference)."""
        if "metadata" in involved:
            meta = involved["metadata"]
            involved = {
                "kind": involved.get("kind", ""),
                "namespace": meta.get("namespace", namespace),
                "name": meta.get("name", ""),
                "uid": meta.get("uid", ""),
                "apiVersion": involved.get("apiVersion", ""),
                "resourceVersion": meta.get("resourceVersion", ""),
            }
        if component is None:  # who reports such events in a real cluster
            scheduler = reason in ("FailedScheduling", "Scheduled", "Preempted")
            controllers = {
                "Job": "job-controller",
                "CronJob": "cronjob-controller",
                "Deployment": "deployment-controller",
            }
            component = (
                "default-scheduler"
                if scheduler
                else controllers.get(involved.get("kind", ""), "kubelet")
            )
        now = _now()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{involved.get('name', 'event')}.{secrets.token_hex(8)}",
                "namespace": namespace,
            },
            "involvedObject": {k: v for k, v in involved.items() if v != ""},
            "reason": reason,
            "message": message,
            "type": event_type,
            "source": {"component": component},
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "reportingComponent": component,
            "reportingInstance": "",
        }
        return self._create(self._by_plural["events"], namespace, event)[0]

    def job_controller_step(self, namespace: str, name: str) -> dict | None:
        """Create a Job's next pod as the job controller does; None if admission refused it."""
        jobs, pods = self._by_plural["jobs"], self._by_plural["pods"]
        job = self._get(jobs, namespace, name)
        template = copy.deepcopy((job.get("spec") or {}).get("template") or {})
        template_meta = template.get("metadata") or {}
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "generateName": f"{name}-",
                "namespace": namespace,
                "labels": template_meta.get("labels") or {},
                "annotations": template_meta.get("annotations") or {},
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": name,
                        "uid": job["metadata"]["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": template.get("spec") or {},
        }
        try:
            created, _ = self._create(pods, namespace, pod)
        except _Failure as failure:
            if failure.code != 403:
                raise
            self.add_event(namespace, job, "FailedCreate", f"Error creating: {failure.message}")
            return None
        self.add_event(
            namespace,
            job,
            "SuccessfulCreate",
            f"Created pod: {created['metadata']['name']}",
            "Normal",
        )
        job = self._get(jobs, namespace, name)
        active = sum(
            1
            for p in self._all(pods, namespace)
            if any(
                ref.get("uid") == job["metadata"]["uid"]
                for ref in p["metadata"].get("ownerReferences") or []
            )
            and (p.get("status") or {}).get("phase") not in _TERMINAL_PHASES
        )
        status = {
            "active": active,
            **({} if (job.get("status") or {}).get("startTime") else {"startTime": _now()}),
        }
        self._patch(
            jobs, namespace, name, "status", {"status": status}, "application/merge-patch+json"
        )
        return created


# -------------------------------------------------------------------------------------------------
# The server in a thread, and synchronous helpers for tests


class KubeAPI:
    """The emulator on 127.0.0.1 (a free port), served from a thread with its own event loop.

    A context manager; ``close()`` stops it (idempotent). The helpers are synchronous and safe
    to call from any thread: they run on the server's loop, through the same validation and
    admission as API requests. Refusals raise :class:`StatusError`.
    """

    def __init__(self, *, version: str = "1.29", kserve: bool = False) -> None:
        if ".".join(version.split(".")[:2]) not in _SCHEMA_VERSIONS:
            raise ValueError(f"no schemas for Kubernetes {version}: {', '.join(_SCHEMA_VERSIONS)}")
        self.version = version
        self.kserve = kserve
        self._loop = asyncio.new_event_loop()
        self._emulator: KubeEmulator | None = None
        self._runner: aiohttp.web.ServerRunner | None = None
        self._port = 0
        self._closed = False
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name=f"kubeapi-{id(self):x}", daemon=True
        )
        self._thread.start()
        if not started.wait(_CALL_TIMEOUT) or self._runner is None:
            raise RuntimeError("the Kubernetes API emulator did not start")

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start())
        except BaseException:
            self._loop.close()
            raise
        finally:
            started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    async def _start(self) -> None:
        emulator = KubeEmulator(version=self.version, kserve=self.kserve)
        await emulator.__aenter__()
        # handler_cancellation: a watch or log stream ends when its client goes away.
        server = aiohttp.web.Server(emulator, handler_cancellation=True)
        runner = aiohttp.web.ServerRunner(server, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await aiohttp.web.SockSite(runner, sock).start()
        self._port = sock.getsockname()[1]
        self._emulator, self._runner = emulator, runner

    async def _stop(self) -> None:
        assert self._emulator is not None and self._runner is not None
        self._emulator.shutdown()
        await self._runner.cleanup()
        await self._emulator.__aexit__(None, None, None)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(_CALL_TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_CALL_TIMEOUT)

    def __enter__(self) -> KubeAPI:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- connection -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def emulator(self) -> KubeEmulator:
        """The kmock emulator (its ``objects`` store, ``resources``, DSL); use from tests only
        for assertions, the helpers below for changes."""
        assert self._emulator is not None
        return self._emulator

    def configuration(self) -> kubernetes.client.Configuration:
        return kubernetes.client.Configuration(host=self.url)

    def api_client(self) -> kubernetes.client.ApiClient:
        return kubernetes.client.ApiClient(self.configuration())

    @property
    def requests(self) -> list[ServedRequest]:
        """What was served so far, oldest first."""
        return self.emulator.served

    @property
    def resource_version(self) -> int:
        """The current (last written) resourceVersion."""
        return self._call(lambda: self.emulator.resource_version)

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run on the server's loop (writes must not interleave with requests' writes)."""
        if self._closed:
            raise RuntimeError("the Kubernetes API emulator is closed")

        async def run() -> Any:
            try:
                return fn()
            except _Failure as failure:
                raise StatusError(failure.body) from None

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(_CALL_TIMEOUT)

    # --- helpers for tests ----------------------------------------------------------------------

    def inject(
        self,
        status: int,
        *,
        verb: str | None = None,
        resource: str | None = None,
        name: str | None = None,
        namespace: str | None = None,
        times: int = 1,
        reason: str | None = None,
        message: str | None = None,
    ) -> None:
        """Fail the next ``times`` matching requests with this status.

        ``verb``: get, list, watch, create, update, patch, delete, deletecollection;
        ``resource``: a plural, with its subresource if any ("jobs", "pods/log",
        "services/proxy": ``name`` is then the Service's, without its port). The Status
        has the real server's reason and message for the code unless given. A 410 on a watch
        comes as an ERROR event in the stream, as from a real server.
        """
        injection = _Injection(status, verb, resource, name, namespace, times, reason, message)
        self._call(lambda: self.emulator.inject(injection))

    def clear_injections(self) -> None:
        """Forget the injected failures not served yet (the cluster answers again)."""
        self._call(self.emulator._injections.clear)

    def compact(self) -> int:
        """Compact the history at the current resourceVersion (returned): watches from an
        older version get 410 Expired."""
        return self._call(self.emulator.compact)

    def get(self, resource: str, namespace: str | None, name: str) -> dict | None:
        emulator = self.emulator
        obj = self._call(lambda: emulator._read(emulator.kind(resource), namespace, name))
        return copy.deepcopy(obj)

    def list(
        self, resource: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict]:
        emulator = self.emulator

        def select() -> list[dict]:
            kind = emulator.kind(resource)
            wanted = _Filter(labels=tuple(_parse_label_selector(label_selector)))
            return [obj for obj in emulator._all(kind, namespace) if wanted.matches(obj)]

        return copy.deepcopy(self._call(select))

    def create(self, resource: str, obj: dict, namespace: str | None = None) -> dict:
        """Create as through the API (validation and admission included)."""
        emulator = self.emulator
        body = copy.deepcopy(obj)
        namespace = namespace or (obj.get("metadata") or {}).get("namespace")
        if emulator.kind(resource).namespaced and not namespace:
            raise ValueError(f"{resource} are namespaced: which namespace?")
        created = self._call(lambda: emulator._create(emulator.kind(resource), namespace, body)[0])
        return copy.deepcopy(created)

    def patch(self, resource: str, namespace: str | None, name: str, changes: dict) -> dict:
        """Merge-patch an object as through the API."""
        emulator = self.emulator
        patch = copy.deepcopy(changes)
        patched = self._call(
            lambda: emulator._patch(
                emulator.kind(resource),
                namespace,
                name,
                None,
                patch,
                "application/merge-patch+json",
            )[0]
        )
        return copy.deepcopy(patched)

    def patch_status(self, resource: str, namespace: str | None, name: str, status: dict) -> dict:
        """Merge into an object's status (as the kubelet or a controller does)."""
        emulator = self.emulator
        patch = {"status": copy.deepcopy(status)}
        patched = self._call(
            lambda: emulator._patch(
                emulator.kind(resource),
                namespace,
                name,
                "status",
                patch,
                "application/merge-patch+json",
            )[0]
        )
        return copy.deepcopy(patched)

    def delete(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        propagation_policy: str = "Background",
    ) -> None:
        emulator = self.emulator
        options = {"propagationPolicy": propagation_policy}
        self._call(lambda: emulator._delete(emulator.kind(resource), namespace, name, options))

    def install_crd(self, crd: dict) -> None:
        """Serve a CustomResourceDefinition's resource from now on (see
        :meth:`KubeEmulator.install_crd`); before, discovery and requests for it answer 404 as
        on a cluster without it. ``kserve_crd()`` is KServe's InferenceService."""
        body = copy.deepcopy(crd)
        self._call(lambda: self.emulator.install_crd(body))

    def set_log(self, namespace: str, pod: str, text: str, container: str | None = None) -> None:
        """Set a pod's log (of one container, or of any). The log of a Pending pod cannot be
        read: as on a real cluster, make it Running (``patch_status``) first."""
        self._call(lambda: self.emulator.set_log(namespace, pod, text, container))

    def append_log(self, namespace: str, pod: str, text: str, container: str | None = None) -> None:
        """Add to a pod's log; a ``follow`` stream sends it at once."""
        self._call(lambda: self.emulator.set_log(namespace, pod, text, container, append=True))

    def set_service_backend(self, namespace: str, service: str, port: int, url: str) -> None:
        """Make ``url`` ("http://127.0.0.1:41234") the ready endpoint of a Service's ``port``
        (its spec.ports[].port number), as the endpoints controller and kubelet would: the
        services/proxy subresource forwards there. The Service may be created before or after;
        its port is matched when a request comes. Replaces that port's previous backend.

        Call the proxy as a real server's, with the port's number or name (or none, for a
        Service whose only port has no name), e.g. through the official client::

            core.connect_get_namespaced_service_proxy_with_path(
                "ep-churn:8080", "dataops", "v1/models/churn", _preload_content=False
            )

        or ``/api/v1/namespaces/dataops/services/http:ep-churn:8080/proxy/v1/models/churn``.
        Without a backend the proxy answers 503 "no endpoints available for service", with one
        nothing listens on 503 "error trying to reach service: dial tcp ...".
        """
        parsed = yarl.URL(url)
        if (
            parsed.scheme not in ("http", "https")
            or not parsed.host
            or parsed.path not in ("", "/")
            or parsed.query_string
            or parsed.fragment
        ):
            raise ValueError(f"not an endpoint's URL (http://HOST:PORT): {url}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"not a Service port number: {port!r}")
        self._call(lambda: self.emulator.set_service_backend(namespace, service, port, parsed))

    def clear_service_backend(self, namespace: str, service: str) -> None:
        """Forget a Service's backends (all its ports): it has no ready endpoints."""
        self._call(lambda: self.emulator.clear_service_backend(namespace, service))

    def add_event(
        self,
        namespace: str,
        involved_object: dict,
        reason: str,
        message: str,
        type: str = "Warning",
        *,
        component: str | None = None,
    ) -> dict:
        """Record a core/v1 Event about an object, e.g. a FailedScheduling for a pod."""
        emulator = self.emulator
        event = self._call(
            lambda: emulator.add_event(namespace, involved_object, reason, message, type, component)
        )
        return copy.deepcopy(event)

    def job_controller_step(self, namespace: str, name: str) -> dict | None:
        """Play the job controller once: create the Job's next pod from its template.

        Returns the pod; None if admission refused it (e.g. over a quota), in which case, as
        the real controller, a FailedCreate Event on the Job tells why.
        """
        return copy.deepcopy(self._call(lambda: self.emulator.job_controller_step(namespace, name)))
