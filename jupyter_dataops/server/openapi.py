"""Keep ``server/openapi.yaml`` (the REST contract) in step with the code.

The paths in the YAML are written by hand; its ``components.schemas`` are generated from the pydantic
models that the handlers parse and render, so they cannot drift::

    python -m jupyter_dataops.server.openapi          # regenerate the schemas in openapi.yaml
    python -m jupyter_dataops.server.openapi --check  # exit 1 if they are out of date (CI, tests)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, models_json_schema
from pydantic_core import core_schema

from ..core.endpoints.models import (
    DriftReport,
    Endpoint,
    EndpointEvent,
    EndpointMetrics,
    EndpointPage,
    EndpointToken,
    InvokeRequest,
    InvokeResult,
    ModelList,
    ModelSettings,
    PromoteRequest,
    Publication,
    PublishRequest,
    RegisteredModel,
    Snippets,
    TrafficRequest,
)
from ..core.jobs.models import (
    Job,
    JobCreate,
    JobEvent,
    JobLogs,
    JobPage,
    JobQuery,
    JobRerun,
    NotebookParameters,
)
from ..core.sandboxes.models import (
    ProfileList,
    Sandbox,
    SandboxCreate,
    SandboxEvent,
    SandboxPage,
)
from ..core.schedules.models import (
    CronPreview,
    FiringList,
    Schedule,
    ScheduleCreate,
    SchedulePage,
    ScheduleQuery,
    ScheduleRunNow,
    ScheduleUpdate,
)
from ..core.snapshots.models import (
    Lineage,
    RestoreResult,
    Snapshot,
    SnapshotCreate,
    SnapshotDiff,
    SnapshotEvent,
    SnapshotPage,
    SnapshotQuery,
    SnapshotRestore,
    Variables,
    WorkspaceStatus,
)
from .schemas import (
    DeleteQuery,
    DiffQuery,
    ErrorBody,
    FiringQuery,
    LogQuery,
    PreviewQuery,
    ServerInfo,
    WorkerReport,
)

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
REF_TEMPLATE = "#/components/schemas/{model}"

Mode = Literal["validation", "serialization"]
#: Request bodies and query arguments are read ("validation"); responses are written.
MODELS: list[tuple[type[BaseModel], Mode]] = [
    (JobCreate, "validation"),
    (JobRerun, "validation"),
    (JobQuery, "validation"),
    (Job, "serialization"),
    (JobPage, "serialization"),
    (NotebookParameters, "serialization"),
    (JobLogs, "serialization"),
    (JobEvent, "validation"),  # fields are left out when they do not apply (deleted)
    (LogQuery, "validation"),
    (ServerInfo, "serialization"),
    (WorkerReport, "serialization"),
    (ErrorBody, "serialization"),
    (ScheduleCreate, "validation"),
    (ScheduleUpdate, "validation"),
    (ScheduleRunNow, "validation"),
    (ScheduleQuery, "validation"),
    (PreviewQuery, "validation"),
    (DeleteQuery, "validation"),
    (FiringQuery, "validation"),
    (Schedule, "serialization"),
    (SchedulePage, "serialization"),
    (FiringList, "serialization"),
    (CronPreview, "serialization"),
    (SnapshotCreate, "validation"),
    (SnapshotRestore, "validation"),
    (SnapshotQuery, "validation"),
    (DiffQuery, "validation"),
    (Snapshot, "serialization"),
    (SnapshotPage, "serialization"),
    (SnapshotDiff, "serialization"),
    (RestoreResult, "serialization"),
    (WorkspaceStatus, "serialization"),
    (Lineage, "serialization"),
    (Variables, "serialization"),
    (SnapshotEvent, "validation"),
    (PublishRequest, "validation"),
    (PromoteRequest, "validation"),
    (TrafficRequest, "validation"),
    (InvokeRequest, "validation"),
    (Publication, "serialization"),
    (Endpoint, "serialization"),
    (EndpointPage, "serialization"),
    (EndpointMetrics, "serialization"),
    (DriftReport, "serialization"),
    (Snippets, "serialization"),
    (EndpointToken, "serialization"),
    (InvokeResult, "serialization"),
    (ModelList, "serialization"),
    (ModelSettings, "serialization"),
    (RegisteredModel, "serialization"),
    (EndpointEvent, "validation"),
    (SandboxCreate, "validation"),
    (ProfileList, "serialization"),
    (Sandbox, "serialization"),
    (SandboxPage, "serialization"),
    (SandboxEvent, "validation"),
]


class _Generator(GenerateJsonSchema):
    """The server writes every field of a response, defaults included, so clients may rely on
    each one being present: in responses every field is required."""

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        return self.mode == "serialization" or super().field_is_required(field, total)


def model_schemas() -> dict[str, Any]:
    """JSON Schemas (2020-12, as OpenAPI 3.1 uses) of every model the API reads or writes."""
    _, top = models_json_schema(MODELS, ref_template=REF_TEMPLATE, schema_generator=_Generator)
    defs: dict[str, Any] = top["$defs"]
    return dict(sorted(defs.items()))


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    import yaml

    with open(path, encoding="utf-8") as f:
        spec: dict[str, Any] = yaml.safe_load(f)
    return spec


def dump_spec(spec: dict[str, Any]) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml.dump(spec, Dumper=Dumper, sort_keys=False, width=100, allow_unicode=True)


def regenerate(path: Path = SPEC_PATH) -> bool:
    """Rewrite the schemas of the spec at ``path``; returns whether anything changed."""
    spec = load_spec(path)
    components = spec.setdefault("components", {})
    if components.get("schemas") == model_schemas():
        return False
    components["schemas"] = model_schemas()
    path.write_text(dump_spec(spec), encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if out of date")
    parser.add_argument("--path", type=Path, default=SPEC_PATH)
    args = parser.parse_args(argv)
    if args.check:
        current = load_spec(args.path).get("components", {}).get("schemas")
        if current != model_schemas():
            print(
                f"{args.path}: components.schemas differ from the models; "
                "run: python -m jupyter_dataops.server.openapi",
                file=sys.stderr,
            )
            return 1
        return 0
    changed = regenerate(args.path)
    print(f"{args.path}: {'updated' if changed else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
