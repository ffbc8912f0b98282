"""What sandboxes need from where they run: prepare one (environment, packages, data, limits,
kernel spec), tell its kernels and what they use, stop it. Local processes now
(``backends.local.sandboxes``) or Kubernetes pods (``backends.kubernetes.sandboxes``). A provider never decides what should
run: the store does, and the sandbox service reconciles the provider with it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from traitlets.config import LoggingConfigurable

from .models import GpuDevice, KernelRecord, Limits, Profile, Resources


@dataclasses.dataclass(frozen=True)
class SandboxSpec:
    """Everything a provider needs to prepare one sandbox."""

    id: str
    profile: Profile
    resources: Resources
    devices: tuple[GpuDevice, ...]
    owner: str | None
    root_dir: str
    display_name: str


@dataclasses.dataclass(frozen=True)
class Provisioned:
    kernel_name: str
    workdir: str | None
    env: dict[str, str]
    limits: Limits


@dataclasses.dataclass(frozen=True)
class Sample:
    """What a sandbox's kernels use now, and how they ended."""

    kernels: list[KernelRecord]
    cpu_seconds: float = 0.0
    memory_bytes: int = 0
    peak_memory_bytes: int = 0
    #: When a kernel was last busy or talked to, as far as the provider knows.
    active_at: float | None = None


#: ``report(step, status, detail)``: one step of provisioning moved on.
Report = Callable[[str, str, "str | None"], None]


class SandboxProvider(LoggingConfigurable):
    """Base class of sandbox providers (``c.DataOps.sandbox_provider_class``). Construction is
    cheap; nothing starts until :meth:`provision`."""

    #: The name the sidebar shows ("local").
    name: ClassVar[str] = "base"
    #: The provisioning steps, in order, as the progress shows them.
    steps: ClassVar[tuple[str, ...]] = ()
    #: Where its sandboxes run: "local" (this machine) or "cluster".
    where: ClassVar[str] = "local"

    def __init__(self, *, dataops: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataops = dataops
        #: ``loader(root_dir, snapshot_id, into) -> files``: puts a snapshot's data in a folder
        #: (a profile's data may be a snapshot); set by the composition root.
        self.snapshot_loader: Callable[[str, str, Path], int] | None = None
        #: ``reader(root_dir, snapshot_id) -> Snapshot``: a snapshot's record (a provider that
        #: loads data elsewhere needs its hashes); set by the composition root.
        self.snapshot_reader: Callable[[str, str], Any] | None = None

    def config_objects(self) -> list[Any]:
        """Configurables the worker process needs besides the provider's own traits."""
        return []

    @classmethod
    def capacity(cls, dataops: Any) -> tuple[int, int, int] | None:
        """(CPUs, memory bytes, GPUs) of the largest sandbox it can place, which bounds the
        policy and the default profile; None: this machine's."""
        return None

    def cluster_gpu_types(self) -> list[str] | None:
        """The GPU types a cluster's scheduler places sandboxes on, or None when GPUs are this
        machine's devices (then the sandbox service allocates them from its inventory)."""
        return None

    def limits_method(self) -> Limits:
        """How this provider applies CPU and memory limits (the start form says it)."""
        raise NotImplementedError

    def unavailable(self, profile: Profile) -> str | None:
        """Why ``profile`` cannot start here (an image needs a cluster), or None."""
        return None

    def provision(self, spec: SandboxSpec, report: Report) -> Provisioned:
        """Prepare the sandbox, step by step (raises with a message for users on failure,
        leaving nothing behind)."""
        raise NotImplementedError

    def sample(self, sandbox_id: str) -> Sample:
        """Its kernels and what they use now."""
        raise NotImplementedError

    def exists(self, sandbox_id: str) -> bool:
        """Whether what :meth:`provision` made is still there (re-attach after a restart)."""
        raise NotImplementedError

    def stop(self, sandbox_id: str, *, timeout: float = 10.0) -> Sample:
        """Stop its kernels and take it out of the kernel picker; what they used last."""
        raise NotImplementedError

    def prune(self) -> list[str]:
        """Remove what ended sandboxes left behind (kernel specs whose sandbox is gone);
        what was removed, for the log."""
        return []

    def close(self) -> None:
        """Release what the provider holds (not the sandboxes: they outlive the server)."""
