"""JupyterLab started by Playwright for the jupyter-dataops UI tests.

Galata's settings (no token, a temporary root directory, so jobs and their
outputs land there too) plus what running as root in CI needs.
"""

import atexit
import shutil
from tempfile import mkdtemp

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821

# A store and worker of its own for each test server, so jobs left by other
# servers (or a developer's own) neither show up nor hold the worker's slots.
# The worker exits once its data dir is gone, so remove it when the server ends.
_data_dir = mkdtemp(prefix="dataops-ui-tests-")
c.DataOps.data_dir = _data_dir  # noqa: F821
atexit.register(shutil.rmtree, _data_dir, ignore_errors=True)


def _stop_endpoints() -> None:
    """Endpoints outlive the server by design; the test server's must not outlive the tests.
    Stop every one this data dir's store knows, and its launcher (before the rmtree above:
    atexit runs last-registered first)."""
    from pathlib import Path

    from jupyter_dataops.backends.local.serving import LocalProcessTarget
    from jupyter_dataops.core.config import DataOps
    from jupyter_dataops.core.endpoints.target import Handle
    from jupyter_dataops.store import Database

    dataops = DataOps(data_dir=_data_dir)
    if not (Path(_data_dir) / "dataops.db").exists():
        return
    store = Database(dataops.store_url)
    target = LocalProcessTarget(dataops=dataops)
    try:
        with store.unit_of_work(read_only=True) as uow:
            for endpoint in uow.endpoints.all():
                target.stop(Handle(endpoint.pid, endpoint.identity))
        target.stop_launcher()
    finally:
        store.close()


atexit.register(_stop_endpoints)


def _stop_sandboxes() -> None:
    """Sandboxes, too, outlive the server by design (their kernel specs are in the Jupyter
    data dir, not this data dir): stop the test server's."""
    from pathlib import Path

    from jupyter_dataops.core.config import DataOps
    from jupyter_dataops.services import Services

    if not (Path(_data_dir) / "dataops.db").exists():
        return
    from jupyter_dataops.core.sandboxes.models import ACTIVE_STATUSES

    services = Services.from_config(DataOps(data_dir=_data_dir))
    try:
        with services.ctx.store.unit_of_work(read_only=True) as uow:
            active = [row.id for row in uow.sandboxes.all(statuses=ACTIVE_STATUSES)]
        for sandbox_id in active:
            services.sandboxes.stop(sandbox_id, reason="the test server stopped")
    finally:
        services.close()


atexit.register(_stop_sandboxes)
# The launcher of model servers goes soon after the tests stop using it.
c.DataOps.endpoint_launcher_idle = 120  # noqa: F821

# The schedule tests use every-minute expressions, which the default minimum
# interval between runs refuses.
c.DataOps.min_schedule_interval = 0  # noqa: F821

# Jobs may ask for a Kubernetes cluster ("Run on"). There is none here, and the settings are
# the embedded defaults, so such a job is refused at submit, naming what to change: what the
# runOnCluster spec checks. Nothing contacts a cluster.
c.DataOps.job_executors = ["kubernetes"]  # noqa: F821
c.Kubernetes.job_image = "dataops-runner:ui-test"  # noqa: F821
# Sandboxes, too, may ask for the cluster ("Run on" in the start form): offered, and refused
# on these settings with what to change (the sandboxOnCluster spec).
c.DataOps.sandbox_providers = ["kubernetes"]  # noqa: F821
# Endpoints as well ("Serve on" in the publish dialog): offered, and refused on these settings
# (this machine's sqlite registry) with what to change, before anything is registered (the
# endpoints spec).
c.DataOps.endpoint_targets = ["kubernetes"]  # noqa: F821
c.Kubernetes.api_url = "http://127.0.0.1:9"  # noqa: F821

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.allow_root = True
c.ServerApp.open_browser = False

# Uncomment to set server log level to debug level
# c.ServerApp.log_level = "DEBUG"
