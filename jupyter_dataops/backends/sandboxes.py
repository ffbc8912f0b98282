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


def machine(dataops: DataOps, *, provider: type | None = None, largest: bool = False) -> Machine:
    """This machine's CPUs, memory and GPUs, as the sandbox settings bound them."""
    import psutil

    from ..core.config import other_provider_classes
    from ..core.sandboxes.settings import Machine

    sizes = []
    classes: list[Any] = [provider or dataops.sandbox_provider_class]
    if largest and provider is None:
        classes += other_provider_classes(dataops)
    for cls in classes:
        capacity = cls.capacity(dataops)
        if capacity is None:
            devices, _ = gpu_inventory(dataops)
            capacity = (
                len(os.sched_getaffinity(0)),
                int(psutil.virtual_memory().total),
                len(devices),
            )
        sizes.append(capacity)
    # The largest place a sandbox may run bounds the policy; each provider refuses what it
    # cannot hold (this machine's GPUs are allocated from its inventory).
    return Machine(
        cpus=max(s[0] for s in sizes),
        memory_bytes=max(s[1] for s in sizes),
        gpus=max(s[2] for s in sizes),
    )


def gpu_inventory(dataops: DataOps) -> tuple[list[GpuDevice], str]:
    from .local.gpus import inventory

    return inventory(dataops.gpu_inventory)


def sandbox_profiles(dataops: DataOps) -> list[Profile]:
    from ..core.sandboxes.settings import load_profiles

    return load_profiles(list(dataops.sandbox_profiles), machine(dataops))


def sandbox_policy(dataops: DataOps, provider: type | None = None) -> Policy:
    """The policy, its open bounds closed by the size of ``provider``'s largest sandbox (this
    machine's, a cluster's node), or of the largest place offered when None."""
    from ..core.sandboxes.settings import load_policy

    return load_policy(
        dict(dataops.sandbox_policy), machine(dataops, provider=provider, largest=True)
    )


def sandbox_service(ctx: Context, dataops: DataOps, *, snapshots: Any = None) -> SandboxService:
    """The sandbox service of ``dataops``'s provider; with ``snapshots`` (a SnapshotService), a
    profile's data may be a snapshot."""
    from ..core.config import other_provider_classes
    from ..core.sandboxes.service import SandboxService

    provider = dataops.sandbox_provider_class(parent=dataops, dataops=dataops)
    others = [cls(parent=dataops, dataops=dataops) for cls in other_provider_classes(dataops)]
    if snapshots is not None:
        for each in (provider, *others):
            each.snapshot_loader = lambda root, snapshot_id, into: snapshots.for_root(
                root
            ).export_data(snapshot_id, into)
            each.snapshot_reader = lambda root, snapshot_id: snapshots.for_root(root).get(
                snapshot_id
            )
    return SandboxService(
        ctx,
        provider=provider,
        others=others,
        profiles=lambda: sandbox_profiles(dataops),
        policy=lambda: sandbox_policy(dataops),
        policy_for=lambda where: sandbox_policy(dataops, type(where)),
        inventory=lambda: gpu_inventory(dataops),
        warn_before=dataops.sandbox_warn_before,
    )
