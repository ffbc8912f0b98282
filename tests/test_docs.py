"""The documentation's tables follow the code: every error kind, its HTTP status and CLI exit code
(docs/errors.md); every configuration trait (docs/operators.md), the Kubernetes ones included."""

from __future__ import annotations

import re
from pathlib import Path

from jupyter_dataops.core import errors
from jupyter_dataops.core.identity import InvalidToken

DOCS = Path(__file__).resolve().parent.parent / "docs"


def table_rows(text: str, header: str) -> list[list[str]]:
    lines = text[text.index(header) :].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_every_error_kind_is_documented_with_its_status_and_exit_code():
    rows = table_rows((DOCS / "errors.md").read_text(), "| kind | HTTP | CLI exit |")
    documented = {row[0].strip("`"): (row[1], row[2]) for row in rows}
    classes = [
        errors.InvalidInput,
        errors.NotFound,
        errors.Conflict,
        errors.Forbidden,
        errors.PolicyViolation,
        errors.QueueFull,
        errors.BackendUnavailable,
        InvalidToken,
    ]
    for cls in classes:
        assert documented[cls.reason] == (str(cls.http_status), str(cls.exit_code)), cls
    # And the two the REST layer adds by itself.
    assert documented["too_large"][0] == "413" and documented["internal_error"][0] == "500"
    subclasses = {c.reason for c in _all_subclasses(errors.DataOpsError)}
    assert subclasses <= set(documented), subclasses - set(documented)


def test_every_configuration_trait_is_documented():
    from jupyter_dataops.backends.kubernetes.settings import Kubernetes
    from jupyter_dataops.backends.local import LocalExecutor
    from jupyter_dataops.backends.local.sandboxes import LocalSandboxProvider
    from jupyter_dataops.backends.notify import NotificationSender
    from jupyter_dataops.core.config import DataOps
    from jupyter_dataops.server.app import DataOpsExtension
    from jupyter_dataops.worker.supervisor import Worker

    text = (DOCS / "operators.md").read_text()
    documented = set(re.findall(r"`c\.(\w+)\.(\w+)`", text))
    for cls in (
        DataOps,
        Worker,
        LocalExecutor,
        LocalSandboxProvider,
        NotificationSender,
        DataOpsExtension,
        Kubernetes,
    ):
        for name in cls.class_traits(config=True):
            if cls is DataOpsExtension and name not in cls.__dict__:
                continue  # inherited from ExtensionApp: jupyter_server documents those
            assert (cls.__name__, name) in documented, f"c.{cls.__name__}.{name} is not documented"


def _all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found.add(sub)
        found |= _all_subclasses(sub)
    return found
