"""Profiles and policy from the operator's configuration (``c.DataOps.sandbox_profiles``,
``c.DataOps.sandbox_policy``), with quantities parsed, and the embedded defaults: one profile
for this machine (its CPUs and memory, no GPU) and a policy bounded by the machine.

Pure: the machine's facts come in as :class:`Machine`. A mistake in the configuration is an
:class:`InvalidInput` naming the setting, the profile and the field."""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import ValidationError

from ..errors import InvalidInput
from .models import OVERRIDABLE, DataSource, Policy, Profile, QuotaLimits, Range
from .quantities import format_cpus, format_memory, parse_cpus, parse_memory

PROFILES_SETTING = "c.DataOps.sandbox_profiles"
POLICY_SETTING = "c.DataOps.sandbox_policy"
_PROFILE_KEYS = {
    "name",
    "description",
    "cpus",
    "memory",
    "gpus",
    "gpu_type",
    "environment",
    "image",
    "provider",
    "node_selector",
    "tolerations",
    "affinity",
    "packages",
    "tools",
    "data",
    "env",
    "secrets",
    "idle_timeout",
    "max_lifetime",
}


@dataclasses.dataclass(frozen=True)
class Machine:
    cpus: int
    memory_bytes: int
    gpus: int


def _problem(setting: str, where: str, exc: Exception) -> InvalidInput:
    message = exc.message if isinstance(exc, InvalidInput) else str(exc)
    hint = exc.hint if isinstance(exc, InvalidInput) else None
    return InvalidInput(
        f"{setting}{where} is invalid: {message}",
        hint=hint or "Fix it in jupyter_server_config.py and restart the server.",
    )


def _errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
        for e in exc.errors()
    )


def load_profiles(raw: list[dict[str, Any]], machine: Machine) -> list[Profile]:
    if not raw:
        return [default_profile(machine)]
    found: list[Profile] = []
    for at, item in enumerate(raw):
        where = f"[{at}]" + (
            f" ({item.get('name')})" if isinstance(item, dict) and item.get("name") else ""
        )
        try:
            if not isinstance(item, dict):
                raise InvalidInput("a profile is a dict of settings")
            unknown = sorted(set(item) - _PROFILE_KEYS)
            if unknown:
                raise InvalidInput(
                    f"unknown field(s) {', '.join(unknown)}",
                    hint=f"Profiles take: {', '.join(sorted(_PROFILE_KEYS))}.",
                )
            fields = dict(item)
            if "cpus" not in fields or "memory" not in fields:
                raise InvalidInput(
                    "cpus and memory are required", hint='e.g. "cpus": "4", "memory": "16Gi"'
                )
            fields["cpus"] = parse_cpus(fields["cpus"])
            fields["memory_bytes"] = parse_memory(fields.pop("memory"))
            fields["data"] = [
                DataSource(source=d) if isinstance(d, str) else DataSource.model_validate(d)
                for d in fields.get("data") or []
            ]
            profile = Profile.model_validate(fields)
        except InvalidInput as exc:
            raise _problem(PROFILES_SETTING, where, exc) from None
        except ValidationError as exc:
            raise _problem(PROFILES_SETTING, where, ValueError(_errors(exc))) from None
        if any(p.name == profile.name for p in found):
            raise _problem(
                PROFILES_SETTING, where, ValueError(f"a second profile named {profile.name!r}")
            )
        for key in profile.secrets.values():
            if not key.startswith(("env:", "file:")):
                raise _problem(
                    PROFILES_SETTING,
                    where,
                    InvalidInput(
                        f"secret reference {key!r} is neither env:VARIABLE nor file:PATH",
                        hint='e.g. "secrets": {"HF_TOKEN": "env:HF_TOKEN"}',
                    ),
                )
        found.append(profile)
    return found


def default_profile(machine: Machine) -> Profile:
    return Profile(
        name="local",
        description=f"This machine: {machine.cpus} CPUs, {format_memory(machine.memory_bytes)} "
        "of memory, no GPU.",
        cpus=float(machine.cpus),
        memory_bytes=machine.memory_bytes,
        gpus=0,
        idle_timeout=3600.0,
    )


def _range(value: Any, parse: Any) -> Range:
    if not isinstance(value, dict) or set(value) - {"min", "max"}:
        raise InvalidInput('a range is {"min": ..., "max": ...}')
    return Range(
        min=None if value.get("min") is None else float(parse(value["min"])),
        max=None if value.get("max") is None else float(parse(value["max"])),
    )


def load_policy(raw: dict[str, Any], machine: Machine) -> Policy:
    """The operator's policy; bounds it leaves open are the machine's (no sandbox can have more
    CPUs, memory or GPUs than there are)."""
    known = {
        "cpus",
        "memory",
        "gpus",
        "idle_timeout",
        "max_lifetime",
        "gpu_types",
        "overridable",
        "user_quota",
        "team_quotas",
        "teams",
    }
    try:
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InvalidInput(
                f"unknown field(s) {', '.join(unknown)}",
                hint=f"The policy takes: {', '.join(sorted(known))}.",
            )
        seconds = float
        ranges = {
            "cpus": _range(raw.get("cpus", {}), parse_cpus),
            "memory_bytes": _range(raw.get("memory", {}), parse_memory),
            "gpus": _range(raw.get("gpus", {}), int),
            "idle_timeout": _range(raw.get("idle_timeout", {}), seconds),
            "max_lifetime": _range(raw.get("max_lifetime", {}), seconds),
        }
        for field, limit in (
            ("cpus", machine.cpus),
            ("memory_bytes", machine.memory_bytes),
            ("gpus", machine.gpus),
        ):
            bounds = ranges[field]
            if bounds.max is None or bounds.max > limit:
                ranges[field] = bounds.model_copy(update={"max": float(limit)})
        overridable = list(raw.get("overridable", ["cpus", "memory", "gpus", "idle_timeout"]))
        bad = sorted(set(overridable) - set(OVERRIDABLE))
        if bad:
            raise InvalidInput(
                f"overridable names unknown field(s) {', '.join(bad)}",
                hint=f"Users may be let to override: {', '.join(OVERRIDABLE)}.",
            )
        return Policy(
            **ranges,
            gpu_types=raw.get("gpu_types"),
            overridable=overridable,
            user_quota=QuotaLimits.model_validate(raw.get("user_quota", {})),
            team_quotas={
                k: QuotaLimits.model_validate(v) for k, v in raw.get("team_quotas", {}).items()
            },
            teams=raw.get("teams", {}),
        )
    except InvalidInput as exc:
        raise _problem(POLICY_SETTING, "", exc) from None
    except (ValidationError, ValueError, TypeError) as exc:
        text = _errors(exc) if isinstance(exc, ValidationError) else str(exc)
        raise _problem(POLICY_SETTING, "", ValueError(text)) from None


def describe(profile: Profile) -> str:
    """``4 CPUs, 16Gi, 1× t4`` for lists."""
    parts = [f"{format_cpus(profile.cpus)} CPU", format_memory(profile.memory_bytes)]
    if profile.gpus:
        parts.append(f"{profile.gpus}× {profile.gpu_type or 'GPU'}")
    return ", ".join(parts)
