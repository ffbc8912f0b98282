"""Loading the extension keeps the server's start fast: heavy libraries are imported, and the store
opened, only when the first job request (or the start hook's background thread) needs them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("papermill", "nbconvert", "nbclient", "sqlalchemy", "alembic")


def test_importing_the_extension_imports_nothing_heavy():
    code = (
        "import sys, jupyter_dataops.server.app, jupyter_dataops; "
        "jupyter_dataops._jupyter_server_extension_points(); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""


def test_loading_the_extension_does_not_build_the_services(jp_serverapp):
    (app,) = jp_serverapp.extension_manager.extension_apps["jupyter_dataops"]
    assert app._services is None
    assert app.dataops.root_dir == jp_serverapp.root_dir
    assert (
        "https://events.jupyter-dataops.org/job/v2" in jp_serverapp.event_logger.schemas.schema_ids
    )
