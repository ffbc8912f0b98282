"""The policy's checks, pure: what a request resolves to, and every limit it breaks, each said
with the limit and by how much. Nothing here reads the store or the machine: the service hands
in what is held (:class:`Holding`) and what is free."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

from ..errors import InvalidInput, PolicyViolation
from .models import (
    OVERRIDABLE,
    FieldLimit,
    Policy,
    Profile,
    QuotaLimits,
    QuotaUse,
    Range,
    Resources,
    SandboxCreate,
)
from .quantities import format_cpus, format_memory, parse_cpus, parse_memory

#: Values no request may exceed whatever the policy says (absurd input, not a policy choice).
ABSURD_GPUS = 1024
ABSURD_SECONDS = 366 * 24 * 3600.0


@dataclasses.dataclass(frozen=True)
class Holding:
    """A sandbox that holds resources now (or held some today, for GPU-hours)."""

    id: str
    owner: str | None
    team: str | None
    gpus: int
    active: bool
    gpu_seconds_today: float


@dataclasses.dataclass(frozen=True)
class Resolved:
    resources: Resources
    idle_timeout: float
    max_lifetime: float


def _fmt(field: str, value: float | None) -> str:
    if value is None:
        return "-"
    if field == "memory_bytes":
        return format_memory(value)
    if field == "cpus":
        return format_cpus(value)
    if field in ("idle_timeout", "max_lifetime"):
        return f"{value:g} s"
    return f"{value:g}"


_LABEL = {
    "cpus": "cpus",
    "memory_bytes": "memory",
    "gpus": "gpus",
    "idle_timeout": "idle_timeout",
    "max_lifetime": "max_lifetime",
}


def range_problem(
    field: str, value: float, bounds: Range, *, zero_means_none: bool = False
) -> str | None:
    """``memory 64Gi is over the policy's maximum of 32Gi by 32Gi`` or None."""
    label = _LABEL.get(field, field)
    if bounds.max is not None and value > bounds.max:
        if zero_means_none and value == 0:
            return None
        return (
            f"{label} {_fmt(field, value)} is over the policy's maximum of "
            f"{_fmt(field, bounds.max)} by {_fmt(field, value - bounds.max)}"
        )
    if zero_means_none and value == 0 and bounds.max is not None:
        return f"{label} 0 (no limit) is over the policy's maximum of {_fmt(field, bounds.max)}"
    if bounds.min is not None and value < bounds.min:
        return (
            f"{label} {_fmt(field, value)} is under the policy's minimum of "
            f"{_fmt(field, bounds.min)} by {_fmt(field, bounds.min - value)}"
        )
    return None


def _bounds_problems(
    policy: Policy,
    *,
    cpus: float,
    memory_bytes: int,
    gpus: int,
    gpu_type: str | None,
    idle_timeout: float,
    max_lifetime: float,
) -> list[str]:
    """Every range or GPU type of the policy these values break."""
    problems = []
    for field, value in (
        ("cpus", cpus),
        ("memory_bytes", float(memory_bytes)),
        ("gpus", float(gpus)),
    ):
        found = range_problem(field, value, getattr(policy, field))
        if found:
            problems.append(found)
    for field, value in (("idle_timeout", idle_timeout), ("max_lifetime", max_lifetime)):
        found = range_problem(field, value, getattr(policy, field), zero_means_none=True)
        if found:
            problems.append(found)
    if gpus and policy.gpu_types is not None and gpu_type not in policy.gpu_types:
        problems.append(
            f"GPU type {gpu_type or '(any)'} is not allowed; the policy allows "
            f"{', '.join(policy.gpu_types) or 'none'}"
        )
    return problems


def profile_problems(profile: Profile, policy: Policy) -> list[str]:
    """What in an operator's profile itself breaks the policy (shown; it cannot start)."""
    return _bounds_problems(
        policy,
        cpus=profile.cpus,
        memory_bytes=profile.memory_bytes,
        gpus=profile.gpus,
        gpu_type=profile.gpu_type,
        idle_timeout=profile.idle_timeout,
        max_lifetime=profile.max_lifetime,
    )


def _overridable(policy: Policy) -> set[str]:
    return {f for f in policy.overridable if f in OVERRIDABLE}


def resolve(request: SandboxCreate, profile: Profile, policy: Policy) -> Resolved:
    """The resources a request asks for, or :class:`InvalidInput` / a list of policy problems
    (raised by :func:`check_request`). Values that are not values at all (``-1`` GPUs, ``32GB``)
    are input errors; values outside the policy are policy problems."""
    cpus = profile.cpus if request.cpus is None else parse_cpus(request.cpus)
    memory = profile.memory_bytes if request.memory is None else parse_memory(request.memory)
    gpus = profile.gpus if request.gpus is None else request.gpus
    if gpus < 0:
        raise InvalidInput(f"gpus {gpus} is negative.", hint="Ask for 0 or more GPUs.")
    if gpus > ABSURD_GPUS:
        raise InvalidInput(f"gpus {gpus} is absurd.", hint="Ask for the GPUs you need, e.g. 1.")
    gpu_type = request.gpu_type or profile.gpu_type
    times = {}
    for field in ("idle_timeout", "max_lifetime"):
        value = getattr(request, field)
        if value is None:
            value = getattr(profile, field)
        if not math.isfinite(value) or value < 0:
            raise InvalidInput(
                f"{field} {value} is not a number of seconds.", hint="Give 0 or more seconds."
            )
        if value > ABSURD_SECONDS:
            raise InvalidInput(
                f"{field} {value:g} s is more than a year.", hint="Give a shorter time."
            )
        times[field] = float(value)
    return Resolved(
        Resources(cpus=cpus, memory_bytes=memory, gpus=gpus, gpu_type=gpu_type if gpus else None),
        idle_timeout=times["idle_timeout"],
        max_lifetime=times["max_lifetime"],
    )


def request_problems(
    request: SandboxCreate, profile: Profile, policy: Policy, resolved: Resolved
) -> list[str]:
    """Every policy limit the request breaks (empty: allowed)."""
    problems = []
    allowed = _overridable(policy)
    asked = {
        "cpus": request.cpus,
        "memory": request.memory,
        "gpus": request.gpus,
        "gpu_type": request.gpu_type,
        "idle_timeout": request.idle_timeout,
        "max_lifetime": request.max_lifetime,
    }
    current = {
        "cpus": profile.cpus,
        "memory": profile.memory_bytes,
        "gpus": profile.gpus,
        "gpu_type": profile.gpu_type,
        "idle_timeout": profile.idle_timeout,
        "max_lifetime": profile.max_lifetime,
    }
    resolved_value = {
        "cpus": resolved.resources.cpus,
        "memory": resolved.resources.memory_bytes,
        "gpus": resolved.resources.gpus,
        "gpu_type": resolved.resources.gpu_type if resolved.resources.gpus else profile.gpu_type,
        "idle_timeout": resolved.idle_timeout,
        "max_lifetime": resolved.max_lifetime,
    }
    for field, value in asked.items():
        if value is not None and field not in allowed and resolved_value[field] != current[field]:
            was = current[field]
            shown = (
                "(none)"
                if was is None
                else str(was)
                if field == "gpu_type" or isinstance(was, str)
                else _fmt("memory_bytes" if field == "memory" else field, was)
            )
            problems.append(
                f"{field} may not be changed from the profile's {shown} "
                "(the policy does not let users override it)"
            )
    r = resolved.resources
    problems += _bounds_problems(
        policy,
        cpus=r.cpus,
        memory_bytes=r.memory_bytes,
        gpus=r.gpus,
        gpu_type=r.gpu_type,
        idle_timeout=resolved.idle_timeout,
        max_lifetime=resolved.max_lifetime,
    )
    return problems


def checked(request: SandboxCreate, profile: Profile, policy: Policy) -> Resolved:
    """The request resolved against the policy, or PolicyViolation naming every limit it
    breaks and by how much (what a sandbox start and a job sized by a profile both say)."""
    resolved = resolve(request, profile, policy)
    problems = request_problems(request, profile, policy, resolved)
    if problems:
        raise PolicyViolation(
            f"The sandbox request breaks the policy: {'; '.join(problems)}.",
            hint="Ask within the limits `dataops profiles list` shows, or ask an operator.",
            problems=problems,
        )
    return resolved


def _quota_problems(scope: str, limits: QuotaLimits, held: list[Holding], gpus: int) -> list[str]:
    problems = []
    active = [h for h in held if h.active]
    if limits.sandboxes is not None and len(active) + 1 > limits.sandboxes:
        names = ", ".join(h.id for h in active) or "none"
        problems.append(
            f"{scope}'s quota of {limits.sandboxes} sandbox(es) at once would be exceeded by "
            f"{len(active) + 1 - limits.sandboxes} ({len(active)} running: {names}); stop one first"
        )
    held_gpus = sum(h.gpus for h in active)
    if gpus and limits.gpus is not None and held_gpus + gpus > limits.gpus:
        problems.append(
            f"{scope}'s quota of {limits.gpus} GPU(s) would be exceeded by "
            f"{held_gpus + gpus - limits.gpus} ({held_gpus} held now, {gpus} asked)"
        )
    if gpus and limits.gpu_hours_per_day is not None:
        used = sum(h.gpu_seconds_today for h in held) / 3600.0
        if used >= limits.gpu_hours_per_day:
            problems.append(
                f"{scope}'s quota of {limits.gpu_hours_per_day:g} GPU-hours per day is used up "
                f"({used:.2f} used today, by {used - limits.gpu_hours_per_day:.2f} over); it "
                "renews at 00:00 UTC"
            )
    return problems


def quota_problems(
    policy: Policy, owner: str | None, team: str | None, holdings: Iterable[Holding], gpus: int
) -> list[str]:
    """What starting one more sandbox with ``gpus`` GPUs would exceed, for the owner and the team."""
    held = list(holdings)
    mine = [h for h in held if h.owner == owner]
    problems = _quota_problems(f"User {owner or '(anonymous)'}", policy.user_quota, mine, gpus)
    if team is not None and team in policy.team_quotas:
        theirs = [h for h in held if h.team == team]
        problems += _quota_problems(f"Team {team}", policy.team_quotas[team], theirs, gpus)
    return problems


def quota_use(
    policy: Policy, owner: str | None, team: str | None, holdings: Iterable[Holding]
) -> dict[str, QuotaUse]:
    """What the owner (and their team) holds against each quota, for the start form."""
    held = list(holdings)
    found: dict[str, QuotaUse] = {}
    scopes: list[tuple[str, QuotaLimits, list[Holding]]] = [
        ("user", policy.user_quota, [h for h in held if h.owner == owner])
    ]
    if team is not None and team in policy.team_quotas:
        scopes.append(
            (f"team {team}", policy.team_quotas[team], [h for h in held if h.team == team])
        )
    for scope, limits, mine in scopes:
        prefix = "" if scope == "user" else "team_"
        active = [h for h in mine if h.active]
        found[prefix + "sandboxes"] = QuotaUse(
            used=len(active), limit=limits.sandboxes, scope=scope
        )
        found[prefix + "gpus"] = QuotaUse(
            used=sum(h.gpus for h in active), limit=limits.gpus, scope=scope
        )
        found[prefix + "gpu_hours_today"] = QuotaUse(
            used=round(sum(h.gpu_seconds_today for h in mine) / 3600.0, 3),
            limit=limits.gpu_hours_per_day,
            scope=scope,
        )
    return found


def field_limits(profile: Profile, policy: Policy, gpu_types: list[str]) -> list[FieldLimit]:
    """What the start form shows and lets the user change, field by field."""
    allowed = _overridable(policy)
    not_allowed = "the policy does not let users change it"
    rows = []
    for field, attr, default in (
        ("cpus", "cpus", profile.cpus),
        ("memory", "memory_bytes", profile.memory_bytes),
        ("gpus", "gpus", profile.gpus),
        ("idle_timeout", "idle_timeout", profile.idle_timeout),
        ("max_lifetime", "max_lifetime", profile.max_lifetime),
    ):
        bounds: Range = getattr(policy, attr)
        reason = None if field in allowed else not_allowed
        if field == "gpus" and field in allowed and bounds.max == 0:
            reason = "the policy allows no GPUs"
        rows.append(
            FieldLimit(
                field=field,
                default=default,
                min=bounds.min,
                max=bounds.max,
                overridable=reason is None,
                reason=reason,
            )
        )
    choices = (
        sorted(set(gpu_types) & set(policy.gpu_types))
        if policy.gpu_types is not None
        else sorted(set(gpu_types))
    )
    type_reason = None if "gpu_type" in allowed else not_allowed
    if type_reason is None and not choices:
        type_reason = "there are no GPUs of an allowed type"
    rows.append(
        FieldLimit(
            field="gpu_type",
            default=profile.gpu_type,
            choices=choices,
            overridable=type_reason is None,
            reason=type_reason,
        )
    )
    return rows
