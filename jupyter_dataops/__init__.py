"""jupyter-dataops: run notebooks as parameterized jobs (and, soon, snapshot data, publish models and
provision sandboxes) from JupyterLab, a ``%dataops`` magic, the ``dataops`` CLI or a REST API.

Importing this package is cheap: heavy libraries are imported where they are used.
"""

from __future__ import annotations

from typing import Any

from .version import __version__ as __version__


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "../labextension", "dest": "jupyter-dataops"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import DataOpsExtension

    return [{"module": "jupyter_dataops", "app": DataOpsExtension}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_dataops`` registers the ``%dataops`` line and cell magics."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .magics import unload_ipython_extension as unload

    unload(ipython)
