"""The composition root: build the core's services from configuration, with the store, file store,
executor and worker supervisor they use. The server, the CLI and the magic (outside a server) all
start here, so they run the same code with the same settings.

>>> services = Services.from_config(DataOps(root_dir="."))      # doctest: +SKIP
>>> services.jobs.list().total
"""

from __future__ import annotations

import functools
import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .backends.local.kernelspecs import installed_kernels
from .core.context import Context
from .core.errors import InvalidInput

if TYPE_CHECKING:
    from .core.config import DataOps
    from .core.endpoints.service import EndpointService
    from .core.jobs.service import JobService, KernelCatalog
    from .core.sandboxes.service import SandboxService
    from .core.schedules.service import ScheduleService
    from .core.snapshots.service import SnapshotService
    from .worker.supervisor import WorkerSupervisor


def os_user() -> str | None:
    """The operating-system user: who the CLI (and a single-user server) acts as."""
    try:
        return getpass.getuser()
    except Exception:  # no user name in a container without a passwd entry
        return None


class Services:
    """Every capability's core service, sharing one context (add one attribute per capability)."""

    def __init__(
        self,
        ctx: Context,
        jobs: JobService,
        schedules: ScheduleService,
        snapshots: SnapshotService,
        supervisor: WorkerSupervisor,
        endpoints: EndpointService,
        sandboxes: SandboxService,
    ) -> None:
        self.ctx = ctx
        self.jobs = jobs
        self.schedules = schedules
        self.snapshots = snapshots
        self.supervisor = supervisor
        self.endpoints = endpoints
        self.sandboxes = sandboxes

    @classmethod
    def from_config(
        cls,
        dataops: DataOps,
        *,
        kernels: KernelCatalog | None = None,
        actor: str | None = None,
    ) -> Services:
        from .backends.files import file_store_factory
        from .backends.local.environment import kernel_environment
        from .backends.local.workspace import workspace_factory
        from .backends.mlflow_registry import MlflowRegistry
        from .backends.sandboxes import sandbox_service
        from .core.config import other_executor_classes, other_target_classes
        from .core.endpoints.service import EndpointService
        from .core.jobs.service import JobService
        from .core.schedules.service import ScheduleService
        from .core.snapshots.service import SnapshotService
        from .store import Database
        from .worker.supervisor import WorkerSupervisor

        store = Database(dataops.store_url)
        try:
            ctx = Context(
                config=dataops, store=store, files=file_store_factory(dataops), actor=actor
            )
            executor = dataops.job_executor_class(parent=dataops, dataops=dataops)
            others = [
                cls(parent=dataops, dataops=dataops) for cls in other_executor_classes(dataops)
            ]
            supervisor = WorkerSupervisor(dataops, store)
            jobs = JobService(
                ctx,
                executor=executor,
                dispatcher=supervisor,
                kernels=kernels or installed_kernels,
                others=others,
            )
            backend = dataops.scheduler_class(parent=dataops, dataops=dataops)
            schedules = ScheduleService(ctx, jobs=jobs, backend=backend)
            snapshots = SnapshotService(
                ctx,
                workspace=workspace_factory(dataops),
                environment=functools.partial(
                    kernel_environment, cache_file=Path(dataops.data_dir) / "environments.json"
                ),
                dispatcher=supervisor,
            )
            jobs.before_run = snapshots.for_job
            endpoints = EndpointService(
                ctx,
                registry=lambda: MlflowRegistry(
                    dataops.mlflow_tracking_uri,
                    experiment=dataops.mlflow_experiment,
                    artifact_location=dataops.mlflow_artifact_location,
                    ui_url=dataops.mlflow_ui_url,
                ),
                target=dataops.endpoint_target_class(parent=dataops, dataops=dataops),
                others=[
                    cls(parent=dataops, dataops=dataops) for cls in other_target_classes(dataops)
                ],
            )
            sandboxes = sandbox_service(ctx, dataops, snapshots=snapshots)
            jobs.sandboxes = sandboxes
        except BaseException:
            store.close()
            raise
        return cls(ctx, jobs, schedules, snapshots, supervisor, endpoints, sandboxes)

    @property
    def root(self) -> Path:
        return self.ctx.root

    def close(self) -> None:
        self.sandboxes.close()
        self.jobs.close()
        self.ctx.store.close()


def services_from_environment(root_dir: str | Path | None = None, **kwargs: Any) -> Services:
    """The services configured as the server would be (Jupyter config files), rooted at
    ``root_dir`` (default: the current directory), acting as the OS user."""
    from traitlets import TraitError

    from .core.config import DataOps, load_config_files

    root = Path(root_dir).expanduser() if root_dir else Path.cwd()
    if not root.is_dir():
        raise InvalidInput(
            f"The root directory {str(root)!r} does not exist.",
            hint="Give an existing folder with --root-dir.",
        )
    try:
        dataops = DataOps(config=load_config_files(), root_dir=str(root.resolve()))
        kwargs.setdefault("actor", os_user())
        return Services.from_config(dataops, **kwargs)
    except TraitError as exc:
        raise InvalidInput(
            f"The jupyter-dataops configuration is invalid: {exc}",
            hint="Fix it in jupyter_server_config.py or jupyter_dataops_config.py.",
        ) from exc
