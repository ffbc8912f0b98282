"""What pods must reach, checked before the Kubernetes backends run anything.

A pod runs on some node of the cluster: it cannot open the server's sqlite file, a folder on the
server's disk or a service bound to the server's loopback. The embedded defaults (a sqlite store,
a sqlite MLflow store, job files in the project folder, a folder as DVC remote) are all of that
kind, so a Kubernetes backend refuses them, naming each setting to change. The check is pure
(settings in, problems out) apart from reading the project's ``.dvc/config``.
"""

from __future__ import annotations

import configparser
import dataclasses
import ipaddress
import os
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ...core.errors import BackendUnavailable

if TYPE_CHECKING:
    from ...core.config import DataOps
    from .settings import Kubernetes

DOCS = "docs/kubernetes.md (section Reachability) shows a working set."


@dataclasses.dataclass(frozen=True)
class Problem:
    what: str  #: what pods cannot reach, and why
    fix: str  #: the setting to change, with an example


def _local_url(url: str) -> str | None:
    """Why ``url`` cannot be reached from a pod, or None when it can be."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme or scheme == "file" or len(scheme) == 1:  # a path (or a Windows drive)
        return "a folder on the server's disk"
    if scheme.startswith("sqlite"):
        return "a sqlite file on the server's disk"
    host = (parts.hostname or "").lower()
    if host in ("localhost", "") and scheme in ("http", "https"):
        return "the server's loopback"
    try:
        if ipaddress.ip_address(host).is_loopback:
            return "the server's loopback"
    except ValueError:
        pass
    return None


def _dvc_remote(root: Path) -> tuple[str, str] | None:
    """The project's default DVC remote: (name, url), or None when it has none."""
    parser = configparser.ConfigParser()
    files = [root / ".dvc" / "config", root / ".dvc" / "config.local"]
    try:
        parser.read([str(f) for f in files if f.is_file()], encoding="utf-8")
    except configparser.Error:
        return None
    name = parser.get("core", "remote", fallback="").strip()
    if not name:
        return None
    # DVC writes sections as ['remote "name"'] (configobj quoting).
    url = ""
    for section in (f"'remote \"{name}\"'", f'remote "{name}"'):
        url = url or parser.get(section, "url", fallback="").strip()
    if url and not urlsplit(url).scheme:
        url = str((root / ".dvc" / url).resolve()) if not os.path.isabs(url) else url
    return name, url


#: What each backend's pods use: job pods everything; model servers the MLflow registry.
ALL = ("files", "store", "mlflow", "dvc")


def problems(
    dataops: DataOps,
    cluster: Kubernetes,
    *,
    root_dir: str | None = None,
    needs: tuple[str, ...] = ALL,
) -> list[Problem]:
    """Everything pods could not reach with these settings (empty: all is reachable)."""
    found: list[Problem] = []
    files_url = dataops.job_files_url
    if "files" not in needs:
        pass
    elif not files_url:
        found.append(
            Problem(
                "job files are kept in the project folder (c.DataOps.job_files_url is empty)",
                'c.DataOps.job_files_url = "s3://bucket/dataops" (object storage), or a '
                'shared folder with c.Kubernetes.files_volume = "<claim>"',
            )
        )
    elif _local_url(files_url) and not cluster.files_volume:
        found.append(
            Problem(
                f"job files are kept in {files_url}, {_local_url(files_url)}",
                'c.DataOps.job_files_url = "s3://bucket/dataops", or mount that folder\'s '
                'PersistentVolumeClaim in pods: c.Kubernetes.files_volume = "<claim>"',
            )
        )
    store = dataops.store_url or "sqlite:///"
    if "store" in needs and store.startswith("sqlite") and not cluster.server_url:
        found.append(
            Problem(
                "the store is a sqlite file on the server's disk",
                'c.DataOps.store_url = "postgresql+psycopg://user@db/dataops", or let pods '
                'act through the server: c.Kubernetes.server_url = "http://jupyter.ns.svc:8888"',
            )
        )
    if "store" in needs and cluster.server_url and _local_url(cluster.server_url):
        found.append(
            Problem(
                f"c.Kubernetes.server_url = {cluster.server_url!r} is "
                f"{_local_url(cluster.server_url)}",
                'the URL of the server\'s Service: "http://jupyter.ns.svc:8888"',
            )
        )
    mlflow = dataops.mlflow_tracking_uri or os.environ.get("MLFLOW_TRACKING_URI", "")
    why = _local_url(mlflow) if mlflow else "a sqlite file on the server's disk (the default)"
    if "mlflow" in needs and why:
        found.append(
            Problem(
                f"the MLflow tracking store {mlflow or '(default)'} is {why}",
                'c.DataOps.mlflow_tracking_uri = "http://mlflow.ns.svc:5000"',
            )
        )
    artifacts = dataops.mlflow_artifact_location
    why = _local_url(artifacts) if artifacts else None
    if "mlflow" in needs and why:
        found.append(
            Problem(
                f"MLflow's artifact location {artifacts} is {why}",
                'c.DataOps.mlflow_artifact_location = "s3://bucket/mlflow" (or '
                '"mlflow-artifacts:/" when the MLflow server stores artifacts itself)',
            )
        )
    root = Path(root_dir or dataops.root_dir or ".")
    if "dvc" in needs and (root / ".dvc").is_dir():
        remote = _dvc_remote(root)
        url = remote[1] if remote else dataops.snapshot_remote or "<data_dir>/dvc-remote"
        why = _local_url(url)
        if why and not cluster.dvc_remote_volume:
            name = f"remote {remote[0]!r}" if remote else "remote (c.DataOps.snapshot_remote)"
            found.append(
                Problem(
                    f"the project's DVC {name} is {url}, {why}",
                    "dvc remote add -d storage s3://bucket/dvc (and its credentials in "
                    "c.Kubernetes.env_from_secrets), or mount that folder's "
                    'PersistentVolumeClaim in pods: c.Kubernetes.dvc_remote_volume = "<claim>"',
                )
            )
    return found


def require_reachable(
    dataops: DataOps,
    cluster: Kubernetes,
    *,
    backend: str,
    root_dir: str | None = None,
    needs: tuple[str, ...] = ALL,
) -> None:
    """Raise BackendUnavailable listing what pods could not reach."""
    found = problems(dataops, cluster, root_dir=root_dir, needs=needs)
    if not found:
        return
    lines = "".join(f"\n- {p.what}: set {p.fix}" for p in found)
    raise BackendUnavailable(
        f"The Kubernetes {backend} cannot run on these settings; pods cannot reach:{lines}",
        hint=DOCS,
        problems=[dataclasses.asdict(p) for p in found],
    )
