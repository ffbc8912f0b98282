"""Sandboxes as configured (``c.DataOps.sandbox_*``, ``c.DataOps.gpu_inventory``): the
machine's facts that bound the embedded defaults, the profiles, the policy, and the sandbox
service built from them. The server, the CLI and the worker all build theirs here."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.config import DataOps
    from ..core.context import Context
    from ..core.sandboxes.models import GpuDevice, Policy, Profile
    from ..core.sandboxes.service import SandboxService
    from ..core.sandboxes.settings import Machine


def machine(dataops: DataOps) -> Machine:
    """This machine's CPUs, memory and GPUs, as the sandbox settings bound them."""
    import psutil

    from ..core.sandboxes.settings import Machine

    devices, _ = gpu_inventory(dataops)
    return Machine(
        cpus=len(os.sched_getaffinity(0)),
        memory_bytes=int(psutil.virtual_memory().total),
        gpus=len(devices),
    )


def gpu_inventory(dataops: DataOps) -> tuple[list[GpuDevice], str]:
    from .local.gpus import inventory

    return inventory(dataops.gpu_inventory)


def sandbox_profiles(dataops: DataOps) -> list[Profile]:
    from ..core.sandboxes.settings import load_profiles

    return load_profiles(list(dataops.sandbox_profiles), machine(dataops))


def sandbox_policy(dataops: DataOps) -> Policy:
    from ..core.sandboxes.settings import load_policy

    return load_policy(dict(dataops.sandbox_policy), machine(dataops))


def sandbox_service(ctx: Context, dataops: DataOps, *, snapshots: Any = None) -> SandboxService:
    """The sandbox service of ``dataops``'s provider; with ``snapshots`` (a SnapshotService), a
    profile's data may be a snapshot."""
    from ..core.sandboxes.service import SandboxService

    provider = dataops.sandbox_provider_class(parent=dataops, dataops=dataops)
    if snapshots is not None:
        provider.snapshot_loader = lambda root, snapshot_id, into: snapshots.for_root(
            root
        ).export_data(snapshot_id, into)
    return SandboxService(
        ctx,
        provider=provider,
        profiles=lambda: sandbox_profiles(dataops),
        policy=lambda: sandbox_policy(dataops),
        inventory=lambda: gpu_inventory(dataops),
        warn_before=dataops.sandbox_warn_before,
    )
