"""Kubernetes names and label values derived from the core's records: valid (DNS-1123), bounded
in length and collision-free.

A value that is already a valid name is used as it is, so names stay readable (``dataops-alice``).
Anything else (upper case, dots, ``@``, too long), and anything that could be mistaken for such a
result, gets a readable part plus a hash of the original: two different values never give the
same name (up to a 40-bit hash collision).
"""

from __future__ import annotations

import hashlib
import re
import string

from ...core.errors import InvalidInput

#: DNS-1123 label: what namespaces, services and (by the job-name label) Jobs must be.
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
#: Label values may also have upper case, "_" and "." inside.
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
#: What a hashed name ends with; a plain value ending so is hashed too, to stay injective.
_HASHED = re.compile(r".*-[0-9a-f]{10}")
_HASH_LEN = 10
MAX_LABEL = 63


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:_HASH_LEN]


def dns_label(value: str, *, prefix: str = "", max_len: int = MAX_LABEL) -> str:
    """``prefix + value`` as a DNS-1123 label of at most ``max_len`` characters.

    >>> dns_label("alice", prefix="dataops-")
    'dataops-alice'
    >>> dns_label("Alice.Smith@example.com", prefix="dataops-")
    'dataops-alice-smith-example-com-98b600fd40'
    """
    whole = prefix + value
    if len(whole) <= max_len and _LABEL.fullmatch(whole) and not _HASHED.fullmatch(whole):
        return whole
    readable = re.sub(r"[^a-z0-9]+", "-", whole.lower()).strip("-")
    room = max_len - _HASH_LEN - 1
    readable = readable[:room].rstrip("-")
    if not readable or not readable[0].isalnum():
        readable = ("x" + readable)[:room].rstrip("-")
    return f"{readable}-{_digest(whole)}"


def label_value(value: str) -> str:
    """``value`` as a label value (at most 63 characters, alphanumerics at both ends); the
    original goes in an annotation beside it where it matters.

    >>> label_value("job-1a2b")
    'job-1a2b'
    >>> label_value("alice@example.com")
    'alice_example.com-ff8d9819fc'
    """
    if len(value) <= MAX_LABEL and _LABEL_VALUE.fullmatch(value) and not _HASHED.fullmatch(value):
        return value
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", value).strip("-_.")
    room = MAX_LABEL - _HASH_LEN - 1
    readable = readable[:room].rstrip("-_.")
    return f"{readable}-{_digest(value)}" if readable else _digest(value)


def execution_name(execution_id: str) -> str:
    """The Job of one attempt of a job: ``dataops-job-<job id>-<attempt>``."""
    return dns_label(execution_id, prefix="dataops-job-")


_PLACEHOLDERS = {"user", "team"}


def check_namespace_template(template: str) -> None:
    """Refuse a namespace setting that cannot give valid names."""
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    unknown = fields - _PLACEHOLDERS
    if unknown:
        raise InvalidInput(
            f"c.Kubernetes.namespace = {template!r} uses {sorted(unknown)}; only {{user}} and "
            "{team} can be used.",
            hint='Example: c.Kubernetes.namespace = "dataops-{user}"',
        )
    sample = template.format(user="u", team="t")
    if not _LABEL.fullmatch(sample) or len(sample) > MAX_LABEL:
        raise InvalidInput(
            f"c.Kubernetes.namespace = {template!r} is not a valid namespace name: lower-case "
            "letters, digits and '-', starting and ending with a letter or digit.",
            hint='Example: c.Kubernetes.namespace = "dataops" or "dataops-{user}"',
        )


def namespace_for(template: str, *, user: str, team: str | None = None) -> str:
    """The namespace of a user's objects, from ``c.Kubernetes.namespace``.

    >>> namespace_for("dataops-{user}", user="Bob")
    'dataops-bob-6a441d531b'
    """
    if "{" not in template:
        return template
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    if "team" in fields and not team:
        raise InvalidInput(
            f"c.Kubernetes.namespace = {template!r} needs the user's team, and {user!r} is in "
            "no team of c.DataOps.sandbox_policy.",
            hint="Add the user to a team, or use a namespace without {team}.",
        )
    prefix = template.partition("{")[0]
    whole = template.format(user=user, team=team or "")
    return dns_label(whole[len(prefix) :], prefix=prefix)
