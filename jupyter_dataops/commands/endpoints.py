"""The publishing commands: ``publish MODEL --name NAME`` and ``endpoints list|show|start|stop|
restart|delete|promote|rollback|traffic|drift|invoke|token``, ``models list``.

``MODEL`` is any MLflow model URI; in a notebook (the magic) it may also be a kernel variable,
which is logged to MLflow in the kernel first, with ``--example`` as its input example.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pydantic import ValidationError

from ..core.endpoints.models import (
    DriftReport,
    Endpoint,
    EndpointPage,
    InvokeRequest,
    InvokeResult,
    ModelList,
    PromoteRequest,
    Publication,
    PublishRequest,
    TrafficRequest,
    slug,
)
from ..core.errors import InvalidInput
from ..core.identity import ENV_JOB
from .base import Arg, CommandSpec, Group, Invocation, invalid_input_from
from .render import format_time, to_json

NAME = Arg("name", metavar="NAME", help="the endpoint's name")


def _phase(inv: Invocation, text: str) -> None:
    """A step of a publish, on stderr: the "Publish model" dialog shows these as progress."""
    inv.ui.err(f"dataops: {text}")


def _kernel_model(
    inv: Invocation, namespace: dict[str, Any], metrics: dict[str, float]
) -> tuple[str, Any]:
    """Log the kernel variable ``MODEL`` to MLflow; its URI and the reference rows."""
    from .. import publishing
    from ..core.endpoints.examples import resolve

    a = inv.args
    value = namespace[a.model]
    example = resolve(a.example, namespace) if a.example else None
    reference_text = a.reference or (publishing.root_name(a.example) if a.example else None)
    reference = None
    if reference_text:
        reference = publishing.rows_of(
            resolve(reference_text, namespace), publishing.MAX_REFERENCE_ROWS
        )
    settings = inv.client.model_settings()
    _phase(inv, "logging the model to MLflow")
    uri = publishing.log_model(value, settings, example=example, name=a.name, metrics=metrics)
    return uri, reference


def _metrics(given: list[str] | None) -> dict[str, float]:
    """``--metric accuracy=0.93`` (repeatable) as {name: value}."""
    found: dict[str, float] = {}
    for item in given or []:
        name, sep, text = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            found[name.strip()] = float(text)
        except ValueError:
            raise InvalidInput(
                f"--metric {item!r} is not NAME=NUMBER.",
                hint="For example --metric accuracy=0.93 (in a notebook: --metric accuracy={acc}).",
            ) from None
    return found


def publish(inv: Invocation) -> tuple[Any, int]:
    a = inv.args
    namespace = inv.ui.namespace()
    from_kernel = namespace is not None and a.model.isidentifier() and a.model in namespace
    if not from_kernel:
        if a.example or a.reference or a.metric:
            raise InvalidInput(
                "--example, --reference and --metric go with a kernel variable; a terminal "
                "has none.",
                hint="Log the model with its input example first and publish its URI, or run "
                "%dataops publish in the notebook.",
            )
        if namespace is not None and a.model.isidentifier():
            raise InvalidInput(
                f"The kernel has no variable {a.model!r}, and it is not a model URI.",
                hint="Run the cell that trains it first, or give a URI such as runs:/ID/model.",
            )
        if not a.name:
            raise InvalidInput(
                "An endpoint name is needed to publish a model URI.", hint="Add --name NAME."
            )
    name = a.name or slug(a.model)
    metrics = _metrics(a.metric)
    try:  # every option is checked before anything is logged
        request = PublishRequest(
            model_uri=a.model,
            name=name,
            model_name=a.model_name,
            alias=a.alias,
            canary_percent=a.canary,
            host=a.host,
            port=a.port,
            target=a.target,
            description=a.description,
            job_id=os.environ.get(ENV_JOB) or None,
            drift_threshold=a.drift_threshold,
            only_if_better=a.only_if_better,
            lower_is_better=a.lower_is_better,
        )
    except ValidationError as exc:
        raise invalid_input_from(exc, "publish request") from None
    if from_kernel:
        assert namespace is not None
        a.name = name
        model_uri, reference = _kernel_model(inv, namespace, metrics)
        request = request.model_copy(update={"model_uri": model_uri, "reference": reference})
    _phase(inv, f"registering a new version of {request.model_name or name} and serving it")
    done = inv.client.publish(request)
    inv.ui.out(to_json(done) if inv.as_json else format_publication(done))
    return done, 0


def format_publication(done: Publication) -> str:
    e, v = done.endpoint, done.version
    if not done.published:
        return (
            f"Registered {v.name} version {v.version}, not served: {done.reason}.\n"
            f"Endpoint {e.name} still serves version {e.version} at {e.url}"
        )
    what = (
        f"as a canary for {e.canary_percent}% of requests"
        if e.canary_version == v.version
        else f"as {e.alias!r}"
    )
    lines = [
        f"Published {v.name} version {v.version} {what} in {done.seconds:.1f} s.",
        f"Endpoint {e.name}: {e.status.value} at {e.url}",
    ]
    if e.token_required:
        lines.append(f"It needs its token: dataops endpoints token {e.name}")
    lines.append(f"Try it: dataops endpoints invoke {e.name} --data '<MLflow JSON>'")
    return "\n".join(lines)


def format_endpoint(e: Endpoint) -> str:
    served = f"{e.model_name} v{e.version} ({e.alias})"
    if e.canary_version:
        served += f", canary v{e.canary_version} at {e.canary_percent}%"
    lines = [
        f"Endpoint {e.name}: {e.status.value} (should be {e.desired})",
        f"  serves   {served}",
        f"  url      {e.url}" + ("  (token required)" if e.token_required else ""),
        f"  target   {e.target}, pid {e.pid or '-'}, restarts {e.restarts}",
        f"  drift    {'-' if e.drift_score is None else f'{e.drift_score:.3f}'}"
        f" (threshold {e.drift_threshold})",
        f"  lineage  run {e.run_id or '-'}, job {e.job_id or '-'}, snapshot {e.snapshot_id or '-'}",
        f"  created  {format_time(e.created_at)} by {e.owner or '-'}",
    ]
    if e.error:
        lines.append("  error    " + e.error.replace("\n", "\n           "))
    if e.history:
        lines.append("  history")
        for h in e.history[-10:]:
            detail = f" ({h.detail})" if h.detail else ""
            lines.append(
                f"    {format_time(h.at)}  {h.action} v{h.version}{detail}"
                + (f" by {h.actor}" if h.actor else "")
            )
    return "\n".join(lines)


def format_endpoint_table(page: EndpointPage) -> str:
    if not page.items:
        return "No endpoints. Publish one: dataops publish MODEL_URI --name NAME"
    # Where each is served, once any is served elsewhere than on this machine.
    places = any(e.target != "local" for e in page.items)
    rows = [("NAME", "STATUS", "MODEL", "VERSION", *(("ON",) if places else ()), "URL", "DRIFT")]
    for e in page.items:
        version = str(e.version) + (
            f" +v{e.canary_version}@{e.canary_percent}%" if e.canary_version else ""
        )
        drift = "-" if e.drift_score is None else f"{e.drift_score:.2f}"
        on = (e.target,) if places else ()
        rows.append((e.name, e.status.value, e.model_name, version, *on, e.url or "-", drift))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
    )


def list_endpoints(inv: Invocation) -> tuple[Any, int]:
    page = inv.client.list_endpoints()
    if inv.as_json:
        inv.ui.out(to_json(page))
    else:
        inv.ui.show(page, format_endpoint_table(page))
    return page, 0


def show(inv: Invocation) -> tuple[Any, int]:
    found = inv.client.get_endpoint(inv.args.name)
    inv.ui.out(to_json(found) if inv.as_json else format_endpoint(found))
    return found, 0


def _action(action: str) -> Any:
    def run(inv: Invocation) -> tuple[Any, int]:
        found = inv.client.endpoint_action(inv.args.name, action)
        inv.ui.out(to_json(found) if inv.as_json else format_endpoint(found))
        return found, 0

    return run


def delete(inv: Invocation) -> tuple[Any, int]:
    inv.client.delete_endpoint(inv.args.name)
    if inv.as_json:
        inv.ui.out(json.dumps({"deleted": inv.args.name}))
    else:
        inv.ui.out(f"Deleted endpoint {inv.args.name} (its model versions stay registered).")
    return None, 0


def promote(inv: Invocation) -> tuple[Any, int]:
    try:
        request = PromoteRequest(version=inv.args.version)
    except ValidationError as exc:
        raise invalid_input_from(exc, "promote request") from None
    found = inv.client.promote_endpoint(inv.args.name, request)
    inv.ui.out(to_json(found) if inv.as_json else format_endpoint(found))
    return found, 0


def traffic(inv: Invocation) -> tuple[Any, int]:
    try:
        request = TrafficRequest(canary_version=inv.args.canary_version, percent=inv.args.percent)
    except ValidationError as exc:
        raise invalid_input_from(exc, "traffic split") from None
    found = inv.client.split_traffic(inv.args.name, request)
    inv.ui.out(to_json(found) if inv.as_json else format_endpoint(found))
    return found, 0


def format_drift(report: DriftReport) -> str:
    lines = [report.message]
    for c in report.columns:
        bar = "#" * min(40, int(c.score / max(report.threshold, 1e-9) * 10))
        lines.append(f"  {c.name:<30} {c.score:8.3f}  {bar}")
    lines.append(
        f"({report.sample_rows} request rows against {report.reference_rows} reference rows)"
    )
    return "\n".join(lines)


def drift_command(inv: Invocation) -> tuple[Any, int]:
    report = inv.client.endpoint_drift(inv.args.name)
    inv.ui.out(to_json(report) if inv.as_json else format_drift(report))
    return report, 0


def invoke(inv: Invocation) -> tuple[Any, int]:
    a = inv.args
    if a.data is None:
        payload = inv.client.endpoint_snippets(a.name).example
        if payload is None:
            raise InvalidInput(
                f"The endpoint {a.name!r} has no input example to send.",
                hint="Give the request with --data '{\"dataframe_records\": [...]}'.",
            )
    else:
        try:
            payload = json.loads(a.data)
        except ValueError as exc:
            raise InvalidInput(
                f"--data is not JSON: {exc}.",
                hint="Quote it for the shell: --data '{\"inputs\": [[1, 2]]}'.",
            ) from None
        if not isinstance(payload, dict):
            raise InvalidInput(
                "--data must be a JSON object.",
                hint='Use MLflow\'s shape: {"dataframe_split": ...}, {"inputs": ...}.',
            )
    result: InvokeResult = inv.client.invoke_endpoint(a.name, InvokeRequest(payload=payload))
    if inv.as_json:
        inv.ui.out(to_json(result))
    else:
        inv.ui.out(
            f"HTTP {result.status} from version {result.version or '-'} in "
            f"{result.seconds * 1000:.1f} ms\n{json.dumps(result.body, indent=2)}"
        )
    return result, 0 if result.status < 400 else 1


def token(inv: Invocation) -> tuple[Any, int]:
    found = inv.client.endpoint_token(inv.args.name)
    if inv.as_json:
        inv.ui.out(to_json(found))
    else:
        inv.ui.out(found.token or f"The endpoint {found.name} listens on loopback: no token.")
    return found, 0


def list_models(inv: Invocation) -> tuple[Any, int]:
    models: ModelList = inv.client.list_models()
    if inv.as_json:
        inv.ui.out(to_json(models))
        return models, 0
    if not models.items:
        inv.ui.out(f"No registered models in {models.tracking_uri}.")
        return models, 0
    lines = []
    for m in models.items:
        aliases = ", ".join(f"{k}=v{v}" for k, v in sorted(m.aliases.items())) or "no aliases"
        lines.append(f"{m.name}: {len(m.versions)} version(s), {aliases}")
        for v in m.versions[:5]:
            lines.append(
                f"  v{v.version}  {format_time(v.created_at)}  run {v.run_id or '-'}"
                + (f"  job {v.job_id}" if v.job_id else "")
            )
    inv.ui.out("\n".join(lines))
    return models, 0


GROUPS = [
    Group(
        "endpoints",
        "manage the endpoints that serve published models",
        default_verb="list",
    ),
    Group("models", "the registered models and their versions", default_verb="list"),
]

COMMANDS = [
    CommandSpec(
        ("publish",),
        "register a model as a new version and serve it as an HTTP endpoint",
        publish,
        returns_value=True,
        description="Register MODEL (an MLflow model URI; in a notebook also a variable) as a "
        "new version, point the alias at it and serve it on the endpoint NAME, keeping its port.",
        args=(
            Arg(
                "model",
                metavar="MODEL",
                help="runs:/ID/model, models:/NAME/N, a path; in a "
                "notebook also a variable holding a model",
            ),
            Arg("--name", help="the endpoint (default in a notebook: the variable's name)"),
            Arg("--model-name", help="the registered model (default: the endpoint's name)"),
            Arg(
                "--alias",
                default="production",
                help="the alias of the version served (default: production)",
            ),
            Arg(
                "--canary",
                type=int,
                metavar="PERCENT",
                help="serve it to PERCENT%% of "
                "requests next to the current version (promote it later)",
            ),
            Arg("--example", metavar="EXPR", help="input example, in a notebook: X_test[:5]"),
            Arg(
                "--reference",
                metavar="EXPR",
                help="training rows for the drift score, in a "
                "notebook (default: the example's variable)",
            ),
            Arg("--host", help="address to listen on (default: c.DataOps.endpoint_host)"),
            Arg("--port", type=int, help="port (default: a free one, kept across restarts)"),
            Arg(
                "--on",
                dest="target",
                metavar="TARGET",
                help="where to serve it: one of the server's deployment targets, e.g. "
                "kubernetes (c.DataOps.endpoint_targets); default where the endpoint is served "
                "now, for a new one the server's. Naming another moves the endpoint there",
            ),
            Arg("--description"),
            Arg("--drift-threshold", type=float, metavar="PSI"),
            Arg(
                "--metric",
                action="append",
                metavar="NAME=VALUE",
                help="a metric to log "
                "with the model, in a notebook (repeatable): --metric accuracy={acc}",
            ),
            Arg(
                "--only-if-better",
                metavar="METRIC",
                help="serve it only if this metric beats "
                "the served version's (scheduled retraining)",
            ),
            Arg("--lower-is-better", action="store_true", help="for --only-if-better: a loss"),
        ),
    ),
    CommandSpec(("endpoints", "list"), "list the project's endpoints", list_endpoints),
    CommandSpec(("endpoints", "show"), "show one endpoint", show, args=(NAME,)),
    CommandSpec(("endpoints", "start"), "start a stopped endpoint", _action("start"), args=(NAME,)),
    CommandSpec(
        ("endpoints", "stop"), "stop an endpoint (it stays stopped)", _action("stop"), args=(NAME,)
    ),
    CommandSpec(
        ("endpoints", "restart"),
        "start an endpoint's server again",
        _action("restart"),
        args=(NAME,),
    ),
    CommandSpec(
        ("endpoints", "rollback"),
        "serve the version served before the current one",
        _action("rollback"),
        args=(NAME,),
    ),
    CommandSpec(("endpoints", "delete"), "stop an endpoint and forget it", delete, args=(NAME,)),
    CommandSpec(
        ("endpoints", "promote"),
        "serve a version (default: the canary) to every request",
        promote,
        args=(NAME, Arg("--version", type=int, help="default: the canary's version")),
    ),
    CommandSpec(
        ("endpoints", "traffic"),
        "send a share of requests to a canary version (0 ends the split)",
        traffic,
        args=(
            NAME,
            Arg("--canary-version", type=int, metavar="N"),
            Arg("--percent", type=int, required=True, metavar="P"),
        ),
    ),
    CommandSpec(
        ("endpoints", "drift"), "the input drift score, per column", drift_command, args=(NAME,)
    ),
    CommandSpec(
        ("endpoints", "invoke"),
        "send a scoring request (default: the input example)",
        invoke,
        returns_value=True,
        args=(NAME, Arg("--data", metavar="JSON", help="MLflow's JSON body")),
    ),
    CommandSpec(
        ("endpoints", "token"), "the token an endpoint off loopback needs", token, args=(NAME,)
    ),
    CommandSpec(("models", "list"), "the registered models and their versions", list_models),
]
