"""The sandbox commands: ``profiles list`` and ``sandboxes start PROFILE [--gpus N] [--memory
SIZE] ...|list|show ID|stop ID``. Sizes are Kubernetes quantities (``16Gi``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from ..core.sandboxes.models import ProfileList, Sandbox, SandboxCreate, SandboxPage, SandboxStatus
from ..core.sandboxes.quantities import format_cpus, format_memory
from ..core.sandboxes.settings import describe
from .base import Arg, CommandSpec, Group, Invocation, invalid_input_from
from .render import format_time, to_json

ID = Arg("sandbox_id", metavar="ID", help="the sandbox's id (or a unique prefix of it)")
#: Seconds between two looks at a sandbox being provisioned.
POLL = 0.2


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    )


def _quota(use: Any) -> str:
    limit = "no limit" if use.limit is None else f"{use.limit:g}"
    return f"{use.used:g} of {limit}"


def format_profiles(found: ProfileList) -> str:
    several = any(len(view.providers) > 1 for view in found.items)
    rows: list[tuple[str, ...]] = [
        (
            "PROFILE",
            "RESOURCES",
            *(("RUNS ON",) if several else ()),
            "GPUS FREE",
            "AVAILABLE",
            "DESCRIPTION",
        )
    ]
    for view in found.items:
        p = view.profile
        elsewhere = [c.name for c in view.providers if c.available and c.name != view.provider]
        runs_on = view.provider + (f" (or {', '.join(elsewhere)})" if elsewhere else "")
        rows.append(
            (
                p.name,
                describe(p),
                *((runs_on,) if several else ()),
                str(view.gpus_free) if p.gpus else "-",
                "yes" if view.available else f"no: {view.reason}",
                p.description,
            )
        )
    lines = [_table(rows), "", f"Limits here: {found.limits_method}."]
    gpus = ", ".join(f"{d.index}:{d.type}" for d in found.gpu_inventory) or "none"
    lines.append(f"GPUs ({found.gpu_inventory_source}): {gpus}.")
    if found.items:
        quotas = found.items[0].quotas
        lines.append(
            "Your quotas: "
            + "; ".join(f"{name.replace('_', ' ')} {_quota(use)}" for name, use in quotas.items())
            + "."
        )
        first = found.items[0]
        changeable = [f.field for f in first.fields if f.overridable]
        lines.append(
            "You may change: "
            + (", ".join(changeable) or "nothing")
            + " (e.g. dataops sandboxes start PROFILE --gpus 1 --memory 16Gi)."
        )
    return "\n".join(lines)


def list_profiles(inv: Invocation) -> tuple[Any, int]:
    found = inv.client.list_profiles()
    if inv.as_json:
        inv.ui.out(to_json(found))
    else:
        inv.ui.show(found, format_profiles(found))
    return found, 0


def _holds(s: Sandbox) -> str:
    r = s.resources
    text = f"{format_cpus(r.cpus)} CPU, {format_memory(r.memory_bytes)}"
    if s.devices:
        text += ", GPU " + ", ".join(f"{d.index} ({d.type})" for d in s.devices)
    return text


def format_sandbox(s: Sandbox) -> str:
    lines = [f"Sandbox {s.id}: {s.status.value} ({s.profile}, {s.provider})"]
    if s.status == SandboxStatus.READY:
        lines.append(
            f"  kernel   {s.display_name}  [{s.kernel_name}]: pick it in the kernel picker"
        )
    lines.append(f"  holds    {_holds(s)}")
    if s.limits:
        lines.append(f"  limits   {s.limits.method}: {s.limits.detail}")
    if s.workdir:
        lines.append(f"  folder   {s.workdir}  ($DATAOPS_SANDBOX_DIR)")
    idle = (
        f"stops after {s.idle_timeout:g} s idle" if s.idle_timeout else "never stopped for idling"
    )
    if s.idle_stop_at:
        idle += f" (at {format_time(s.idle_stop_at)})"
    life = f", lifetime ends {format_time(s.expires_at)}" if s.expires_at else ""
    if s.status.active:
        lines.append(f"  idle     {idle}{life}")
    u = s.usage
    lines.append(
        f"  usage    CPU {u.cpu_seconds:.1f} s, GPU {u.gpu_seconds:.1f} s, peak memory "
        f"{format_memory(u.peak_memory_bytes) if u.peak_memory_bytes else '-'}, wall {u.wall_seconds:.1f} s"
    )
    lines.append(f"  owner    {s.owner or '-'}" + (f" (team {s.team})" if s.team else ""))
    lines.append(f"  created  {format_time(s.created_at)}")
    if s.stopped_at:
        lines.append(f"  ended    {format_time(s.stopped_at)}: {s.stop_reason or s.status.value}")
    if s.warning:
        lines.append(f"  warning  {s.warning}")
    if s.error:
        lines.append("  error    " + s.error.replace("\n", "\n           "))
    if s.status == SandboxStatus.PROVISIONING or s.status == SandboxStatus.FAILED:
        for step in s.steps:
            lines.append(
                f"  step     {step.name:<12} {step.status:<8} {step.detail or ''}".rstrip()
            )
    for k in s.kernels[-5:]:
        state = "running" if k.ended_at is None else (k.exit or "stopped")
        lines.append(f"  kernel   {k.id[:8]} pid {k.pid or '-'}: {state}")
    return "\n".join(lines)


def format_sandbox_table(page: SandboxPage) -> str:
    if not page.items:
        return (
            "No sandboxes. Start one: dataops sandboxes start PROFILE (see dataops profiles list)"
        )
    rows: list[tuple[str, ...]] = [("ID", "STATUS", "PROFILE", "HOLDS", "KERNEL", "CREATED")]
    for s in page.items:
        rows.append(
            (
                s.id,
                s.status.value,
                s.profile,
                _holds(s),
                s.kernel_name or "-",
                format_time(s.created_at),
            )
        )
    return _table(rows)


def start(inv: Invocation) -> tuple[Any, int]:
    a = inv.args
    try:
        request = SandboxCreate(
            profile=a.profile,
            cpus=a.cpus,
            memory=a.memory,
            gpus=a.gpus,
            gpu_type=a.gpu_type,
            idle_timeout=a.idle_timeout,
            max_lifetime=a.max_lifetime,
            provider=a.on,
            wait=False,
        )
    except ValidationError as exc:
        raise invalid_input_from(exc, "sandbox request") from None
    sandbox = inv.client.start_sandbox(request)
    if not a.no_wait:
        sandbox = _follow(inv, sandbox)
    inv.ui.out(to_json(sandbox) if inv.as_json else format_sandbox(sandbox))
    return sandbox, 0 if sandbox.status != SandboxStatus.FAILED else 1


def _follow(inv: Invocation, sandbox: Sandbox) -> Sandbox:
    """Show each provisioning step as it moves on, until the sandbox is ready or failed."""
    seen: dict[str, str] = {}

    def tell(s: Sandbox) -> None:
        for step in s.steps:
            if seen.get(step.name) != step.status and step.status != "pending":
                seen[step.name] = step.status
                detail = f": {step.detail}" if step.detail else ""
                inv.ui.err(f"dataops: {step.name} {step.status}{detail} [{s.progress:.0%}]")

    tell(sandbox)
    while sandbox.status == SandboxStatus.PROVISIONING:
        time.sleep(POLL)
        sandbox = inv.client.get_sandbox(sandbox.id)
        tell(sandbox)
    return sandbox


def list_sandboxes(inv: Invocation) -> tuple[Any, int]:
    page = inv.client.list_sandboxes()
    if inv.as_json:
        inv.ui.out(to_json(page))
    else:
        inv.ui.show(page, format_sandbox_table(page))
    return page, 0


def show(inv: Invocation) -> tuple[Any, int]:
    found = inv.client.get_sandbox(inv.args.sandbox_id)
    inv.ui.out(to_json(found) if inv.as_json else format_sandbox(found))
    return found, 0


def stop(inv: Invocation) -> tuple[Any, int]:
    found = inv.client.stop_sandbox(inv.args.sandbox_id)
    inv.ui.out(to_json(found) if inv.as_json else format_sandbox(found))
    return found, 0


GROUPS = [
    Group("profiles", "the sandbox profiles you may start", default_verb="list"),
    Group(
        "sandboxes",
        "start and stop sandboxes (kernels with their own resources)",
        default_verb="list",
    ),
]

COMMANDS = [
    CommandSpec(("profiles", "list"), "the profiles, their limits and your quotas", list_profiles),
    CommandSpec(
        ("sandboxes", "start"),
        "start a sandbox from a profile and wait until its kernel is in the picker",
        start,
        returns_value=True,
        description="Start a sandbox from PROFILE, changing what the policy lets you change. "
        "Sizes are Kubernetes quantities: 16Gi (2^30 bytes each) or 16G (10^9).",
        args=(
            Arg("profile", metavar="PROFILE", help="a profile's name (dataops profiles list)"),
            Arg("--gpus", type=int, metavar="N"),
            Arg("--gpu-type", metavar="TYPE"),
            Arg("--cpus", metavar="CPUS", help="e.g. 2, 1.5 or 500m"),
            Arg("--memory", metavar="SIZE", help="e.g. 16Gi"),
            Arg("--idle-timeout", type=float, metavar="SECONDS"),
            Arg("--max-lifetime", type=float, metavar="SECONDS"),
            Arg(
                "--on",
                metavar="PROVIDER",
                help="where to run it: local or kubernetes, when the server offers both "
                "(default: the profile's)",
            ),
            Arg("--no-wait", action="store_true", help="answer at once, while it provisions"),
        ),
    ),
    CommandSpec(("sandboxes", "list"), "the active and recently ended sandboxes", list_sandboxes),
    CommandSpec(
        ("sandboxes", "show"), "one sandbox: what it holds, uses and runs", show, args=(ID,)
    ),
    CommandSpec(
        ("sandboxes", "stop"),
        "stop a sandbox's kernels and free what it holds",
        stop,
        args=(ID,),
    ),
]
