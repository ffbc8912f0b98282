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

# The schedule tests use every-minute expressions, which the default minimum
# interval between runs refuses.
c.DataOps.min_schedule_interval = 0  # noqa: F821

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.allow_root = True
c.ServerApp.open_browser = False

# Uncomment to set server log level to debug level
# c.ServerApp.log_level = "DEBUG"
