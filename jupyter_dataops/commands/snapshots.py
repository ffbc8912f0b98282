"""The snapshot commands: ``snapshot`` (takes one), ``snapshots list|show|diff|restore|push|
status|init|load``, and ``lineage ID``."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..core.errors import InvalidInput
from ..core.snapshots.models import (
    Lineage,
    RestoreResult,
    Snapshot,
    SnapshotCreate,
    SnapshotDiff,
    SnapshotPage,
    SnapshotQuery,
    SnapshotRestore,
    SnapshotStatus,
    WorkspaceStatus,
)
from .base import Arg, CommandSpec, Group, Invocation, invalid_input_from
from .render import format_time, to_json

SNAPSHOT_ID = Arg(
    "snapshot_id", metavar="ID", help="snapshot id, or a unique prefix of at least 4 characters"
)
MARK = {"added": "+", "deleted": "-", "modified": "~"}


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _kernel_variables(inv: Invocation) -> Any:
    """The kernel's variables for ``--variables``/``--variable NAME`` (the magic only)."""
    from ..core.snapshots.variables import capture

    a = inv.args
    if not (a.variables or a.variable):
        return None
    namespace = inv.ui.namespace()
    if namespace is None:
        raise InvalidInput(
            "--variables saves a running kernel's variables; a terminal has none.",
            hint='Run `%dataops snapshot --variables -m "..."` in the notebook.',
        )
    limit = inv.client.snapshot_workspace().max_variable_bytes
    return capture(namespace, max_bytes=limit, names=a.variable or None)


def snapshot(inv: Invocation) -> tuple[Any, int]:
    a = inv.args
    variables = _kernel_variables(inv)
    try:
        request = SnapshotCreate(
            message=a.message or "",
            paths=list(a.paths) or None,
            kernel_name=a.kernel_name,
            init=bool(a.init),
            variables=variables,
        )
    except ValidationError as exc:
        raise invalid_input_from(exc, "snapshot") from None
    taken = inv.client.create_snapshot(request)
    inv.ui.out(to_json(taken) if inv.as_json else format_snapshot(taken, taken_now=True))
    return taken, 0


def list_snapshots(inv: Invocation) -> tuple[Any, int]:
    a = inv.args
    try:
        query = SnapshotQuery(
            status=[SnapshotStatus(s) for s in a.status] if a.status else None,
            kind=a.kind or None,
            limit=a.limit,
            cursor=a.cursor,
        )
    except ValidationError as exc:
        raise invalid_input_from(exc, "snapshot query") from None
    page = inv.client.list_snapshots(query)
    if inv.as_json:
        inv.ui.out(to_json(page))
    else:
        inv.ui.show(page, format_snapshot_table(page))
    return page, 0


def show(inv: Invocation) -> tuple[Any, int]:
    found = inv.client.get_snapshot(inv.args.snapshot_id)
    inv.ui.out(to_json(found) if inv.as_json else format_snapshot(found))
    return found, 0


def diff(inv: Invocation) -> tuple[Any, int]:
    found = inv.client.diff_snapshots(inv.args.a, inv.args.b)
    inv.ui.out(to_json(found) if inv.as_json else format_diff(found))
    return found, 0


def restore(inv: Invocation) -> tuple[Any, int]:
    try:
        request = SnapshotRestore(paths=list(inv.args.paths) or None)
    except ValidationError as exc:
        raise invalid_input_from(exc, "restore") from None
    done = inv.client.restore_snapshot(inv.args.snapshot_id, request)
    inv.ui.out(to_json(done) if inv.as_json else format_restore(done))
    return done, 0


def push(inv: Invocation) -> tuple[Any, int]:
    pushed = inv.client.push_snapshot(inv.args.snapshot_id)
    if inv.as_json:
        inv.ui.out(to_json(pushed))
    elif pushed.push_status.value == "pushed":
        inv.ui.out(f"Pushed the data of snapshot {pushed.id}.")
    else:
        inv.ui.out(f"Snapshot {pushed.id}: push {pushed.push_status.value}: {pushed.push_error}")
    return pushed, 0 if pushed.push_status.value in ("pushed", "none") else 1


def status(inv: Invocation) -> tuple[Any, int]:
    found = inv.client.snapshot_workspace()
    inv.ui.out(to_json(found) if inv.as_json else format_status(found))
    return found, 0


def init(inv: Invocation) -> tuple[Any, int]:
    found = inv.client.init_snapshot_workspace()
    inv.ui.out(to_json(found) if inv.as_json else format_status(found))
    return found, 0


def load(inv: Invocation) -> tuple[Any, int]:
    from ..core.snapshots.variables import restore as unpickle

    if inv.ui.namespace() is None:
        raise InvalidInput(
            "Variables load into a running kernel; a terminal has none.",
            hint="Run `%dataops snapshots load ID` in the notebook.",
        )
    found = inv.client.snapshot_variables(inv.args.snapshot_id)
    values, problems = unpickle(found.payload, list(inv.args.names) or None)
    inv.ui.load_variables(values)
    if inv.as_json:
        report = {
            "snapshot_id": inv.args.snapshot_id,
            "loaded": sorted(values),
            "not_loaded": [
                {"name": p.split(":", 1)[0], "reason": p.split(":", 1)[1].strip()} for p in problems
            ],
            "not_saved": [v.model_dump() for v in found.skipped] if not inv.args.names else [],
        }
        inv.ui.out(to_json(report))
        return sorted(values), 0 if not problems else 1
    lines = [
        f"Loaded {', '.join(sorted(values)) or 'no variables'} from snapshot {inv.args.snapshot_id}."
    ]
    lines += [f"  not loaded: {p}" for p in problems]
    if not inv.args.names:
        lines += [f"  not saved: {v.name} ({v.reason})" for v in found.skipped]
    inv.ui.out("\n".join(lines))
    return sorted(values), 0 if not problems else 1


def lineage(inv: Invocation) -> tuple[Any, int]:
    found = inv.client.lineage(inv.args.thing_id)
    inv.ui.out(to_json(found) if inv.as_json else format_lineage(found))
    return found, 0


# -- rendering ----------------------------------------------------------------------------------
COLUMNS = ("id", "created", "kind", "author", "data", "push", "message")


def snapshot_row(item: Any) -> dict[str, str]:
    status = "" if item.status.value == "ready" else f"[{item.status.value}] "
    return {
        "id": item.id,
        "created": format_time(item.created_at),
        "kind": item.kind,
        "author": item.author or "-",
        "data": f"{format_size(item.size)} / {item.nfiles} files",
        "push": item.push_status.value,
        "message": (
            status + (item.message or "") + ("" if item.changed else " (unchanged)")
        ).strip(),
    }


def format_snapshot_table(page: SnapshotPage) -> str:
    if not page.items:
        return "No snapshots yet: take one with `dataops snapshot -m MESSAGE`."
    rows = [snapshot_row(item) for item in page.items]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in COLUMNS}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in COLUMNS).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in COLUMNS).rstrip() for r in rows]
    if page.next_cursor:
        lines.append(f"({len(page.items)} of {page.total}; next page: --cursor {page.next_cursor})")
    return "\n".join(lines)


def format_snapshot(item: Snapshot, *, taken_now: bool = False) -> str:
    push = item.push_status.value
    if item.push_error and push != "pushed":
        push += f" ({item.push_error})"
    fields = [
        ("id", item.id),
        ("status", item.status.value + (f": {item.error}" if item.error else "")),
        ("message", item.message or "-"),
        ("kind", item.kind),
        ("author", item.author or "-"),
        ("created", format_time(item.created_at)),
        ("parent", item.parent_id or "-"),
        ("commit", f"{item.commit or '-'} ({item.ref})" if item.ref else "-"),
        ("changed", "yes" if item.changed else "no: the same as its parent"),
        ("push", push),
    ]
    for entry in item.data:
        fields.append(
            ("data", f"{entry.path}  {format_size(entry.size)}, {entry.nfiles} files  {entry.hash}")
        )
    for path, table in item.profiles.items():
        shape = table.error or f"{table.rows} rows x {len(table.columns)} columns"
        fields.append(("table", f"{path}  {shape}"))
    env = item.environment
    if env.error:
        fields.append(("environment", env.error))
    elif env.python:
        fields.append(
            (
                "environment",
                f"Python {env.python}, {len(env.packages)} packages ({env.kernel_name})",
            )
        )
    if item.jobs:
        fields.append(("jobs", ", ".join(item.jobs)))
    fields += [("warning", warning) for warning in item.warnings]
    if item.variables:
        saved = ", ".join(
            f"{v.name} ({v.type}, {format_size(v.bytes)})" for v in item.variables.saved
        )
        fields.append(("variables", saved or "none saved"))
        fields += [("not saved", f"{v.name}: {v.reason}") for v in item.variables.skipped]
    lines = [f"{k + ':':<13}{v}" for k, v in fields]
    if taken_now:
        lines.insert(0, f"Snapshot {item.id} taken.")
    return "\n".join(lines)


def format_diff(found: SnapshotDiff) -> str:
    lines = [f"From {found.a} to {found.b}:"]
    if found.files:
        lines.append("Files:")
        lines += [f"  {MARK[c.change]} {c.path}" for c in found.files]
    if found.data:
        lines.append("Data:")
        lines += [f"  {MARK[c.change]} {c.path}" for c in found.data]
    for table in found.tables:
        rows = f"rows {table.rows_before} -> {table.rows_after}"
        lines.append(f"Table {table.path}: {rows}")
        for column in table.columns:
            if column.change in ("added", "deleted"):
                lines.append(f"  {MARK[column.change]} column {column.name}")
            else:
                before, after = column.before or {}, column.after or {}
                moved = ", ".join(f"{k} {before.get(k)} -> {after.get(k)}" for k in after)
                lines.append(f"  ~ column {column.name}: {moved}")
    if found.python:
        lines.append(f"Python: {found.python[0]} -> {found.python[1]}")
    if found.packages:
        lines.append("Packages:")
        for p in found.packages:
            lines.append(f"  {p.name}: {p.before or '(none)'} -> {p.after or '(none)'}")
    if len(lines) == 1:
        lines.append("  nothing changed")
    return "\n".join(lines)


def format_restore(done: RestoreResult) -> str:
    lines = [
        f"Restored snapshot {done.snapshot_id}; verified {done.verified} data files.",
        f"The state before it is snapshot {done.safety_snapshot_id} "
        f"(`dataops snapshots restore {done.safety_snapshot_id}` undoes this).",
    ]
    lines += [f"  {MARK[c.change]} {c.path}" for c in (*done.files, *done.data)]
    return "\n".join(lines)


def format_status(found: WorkspaceStatus) -> str:
    if not found.ready:
        return (
            f"{found.root} is not yet a {' and '.join(found.missing)} repository.\n"
            "Set it up with `dataops snapshots init` (or `dataops snapshot --init`)."
        )
    changed = {None: "unknown", True: "yes", False: "no"}[found.changed]
    return "\n".join(
        [
            f"{'project:':<13}{found.root}",
            f"{'git:':<13}{found.git_root}",
            f"{'dvc:':<13}{found.dvc_root}",
            f"{'remote:':<13}{found.remote or '- (data stays in the local cache)'}",
            f"{'data paths:':<13}{', '.join(found.data_paths)}",
            f"{'latest:':<13}{found.latest_id or '-'}",
            f"{'changed:':<13}{changed}",
        ]
    )


def format_lineage(found: Lineage) -> str:
    def line(node: Any) -> str:
        return f"  {node.kind:<9}{node.id[:16]:<18}{node.label}"

    lines = [f"{found.root.kind} {found.root.id}: {found.root.label}"]
    if found.root.kind == "job" and found.root.detail.get("parameters"):
        lines.append(f"  parameters: {found.root.detail['parameters']}")
    lines.append("Made from:" if found.upstream else "Made from: (no snapshot recorded)")
    lines += [line(node) for node in found.upstream]
    if found.downstream:
        lines.append("Used by:")
        lines += [line(node) for node in found.downstream]
    return "\n".join(lines)


GROUPS = [
    Group(
        "snapshots",
        "list, compare and restore snapshots",
        "List, compare and restore snapshots of the project. `snapshots` alone, or followed by "
        "list options, is `snapshots list`.",
        default_verb="list",
    )
]

COMMANDS = [
    CommandSpec(
        ("snapshot",),
        "snapshot the project: data (DVC), code (git), environment",
        snapshot,
        description="Record the project: its data paths with DVC (pushed to the remote in the "
        "background), its code and notebooks as a git commit under refs/dataops/snapshots/ "
        "(your branch and index are left alone), the kernel's packages and table profiles.",
        returns_value=True,
        args=(
            Arg(
                "paths", nargs="*", metavar="PATH", help="data paths (default: the configured ones)"
            ),
            Arg("-m", "--message", metavar="MSG", help="what this snapshot is"),
            Arg("--kernel", dest="kernel_name", metavar="NAME", help="whose packages to record"),
            Arg(
                "--init",
                action="store_true",
                help="set the project up as a git and DVC repository if it is not one",
            ),
            Arg(
                "--variables",
                action="store_true",
                help="also save the kernel's variables (in a notebook)",
            ),
            Arg(
                "--variable",
                action="append",
                metavar="NAME",
                help="save only this kernel variable (repeatable; implies --variables)",
            ),
        ),
    ),
    CommandSpec(
        ("snapshots", "list"),
        "list snapshots, newest first",
        list_snapshots,
        args=(
            Arg(
                "--status",
                action="append",
                choices=[s.value for s in SnapshotStatus],
                help="only snapshots in this status (repeatable)",
            ),
            Arg(
                "--kind",
                action="append",
                choices=["manual", "safety", "job"],
                help="only snapshots of this kind (repeatable)",
            ),
            Arg("--limit", type=int, default=50),
            Arg("--cursor", metavar="CURSOR"),
        ),
    ),
    CommandSpec(("snapshots", "show"), "show one snapshot", show, args=(SNAPSHOT_ID,)),
    CommandSpec(
        ("snapshots", "diff"),
        "what changed between two snapshots (files, data, tables, packages)",
        diff,
        args=(
            Arg("a", metavar="A", help="the earlier snapshot"),
            Arg("b", nargs="?", metavar="B", help="the later one (default: the newest)"),
        ),
    ),
    CommandSpec(
        ("snapshots", "restore"),
        "restore a snapshot, or some paths of it (after a safety snapshot)",
        restore,
        returns_value=True,
        args=(
            SNAPSHOT_ID,
            Arg("paths", nargs="*", metavar="PATH", help="only these files or folders"),
        ),
    ),
    CommandSpec(
        ("snapshots", "push"),
        "push a snapshot's data to the DVC remote now",
        push,
        args=(SNAPSHOT_ID,),
    ),
    CommandSpec(
        ("snapshots", "status"),
        "whether the project is set up for snapshots and changed since the newest",
        status,
    ),
    CommandSpec(
        ("snapshots", "init"),
        "set the project up for snapshots (git and DVC where missing)",
        init,
    ),
    CommandSpec(
        ("snapshots", "load"),
        "load a snapshot's saved variables into this kernel (in a notebook)",
        load,
        returns_value=True,
        args=(
            SNAPSHOT_ID,
            Arg("names", nargs="*", metavar="NAME", help="only these variables"),
        ),
    ),
    CommandSpec(
        ("lineage",),
        "what produced a job or snapshot, and what used it",
        lineage,
        args=(Arg("thing_id", metavar="ID", help="a snapshot or job id"),),
    ),
]
