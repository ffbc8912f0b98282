"""What a sandbox provider keeps on the server's disk, whatever runs the sandbox: its folder and
launch file under ``<data_dir>/sandboxes/<id>`` (mode 0600: it may hold a token), and its kernel
spec ``dataops-sandbox-<id>`` in a folder Jupyter searches, naming the provider's kernel
provisioner and the launch file. A stopped sandbox's launch file is gone first, so its kernel
spec starts nothing and is pruned."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, ClassVar

from ..core.sandboxes.provider import SandboxSpec

KERNEL_PREFIX = "dataops-sandbox-"


class SandboxFiles:
    """A mixin of sandbox providers with a ``kernels_dir`` setting and ``dataops``."""

    #: The kernel provisioner (entry point) its kernel specs name.
    provisioner: ClassVar[str] = ""
    kernels_dir: Any
    dataops: Any

    def folder(self, sandbox_id: str) -> Path:
        return Path(self.dataops.data_dir) / "sandboxes" / sandbox_id

    def launch_file(self, sandbox_id: str) -> Path:
        return self.folder(sandbox_id) / "launch.json"

    def kernel_dir(self) -> Path:
        if self.kernels_dir:
            return Path(self.kernels_dir)
        from jupyter_core.paths import jupyter_data_dir

        return Path(jupyter_data_dir()) / "kernels"

    def spec_dir(self, sandbox_id: str) -> Path:
        return self.kernel_dir() / f"{KERNEL_PREFIX}{sandbox_id}"

    def write_launch(self, sandbox_id: str, launch: dict[str, Any]) -> None:
        folder = self.folder(sandbox_id)
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        tmp = folder / "launch.json.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(launch, f)
        os.replace(tmp, self.launch_file(sandbox_id))

    def write_spec(
        self,
        spec: SandboxSpec,
        argv: list[str],
        *,
        interrupt_mode: str | None = None,
        **metadata: Any,
    ) -> str:
        """Put the sandbox in the kernel picker; its kernel spec's name."""
        kernel_name = f"{KERNEL_PREFIX}{spec.id}"
        target = self.spec_dir(spec.id)
        target.mkdir(parents=True, exist_ok=True)
        kernel: dict[str, Any] = {
            "argv": argv,
            "display_name": spec.display_name,
            "language": "python",
            "metadata": {
                "kernel_provisioner": {
                    "provisioner_name": self.provisioner,
                    "config": {"sandbox_file": str(self.launch_file(spec.id))},
                },
                "dataops": {"sandbox": spec.id, "profile": spec.profile.name},
                **metadata,
            },
        }
        if interrupt_mode:
            kernel["interrupt_mode"] = interrupt_mode
        tmp = target / "kernel.json.tmp"
        tmp.write_text(json.dumps(kernel, indent=1))
        os.replace(tmp, target / "kernel.json")
        return kernel_name

    def remove_files(self, sandbox_id: str) -> None:
        """Out of the picker, and no new kernel: the kernel spec and the launch file go."""
        shutil.rmtree(self.spec_dir(sandbox_id), ignore_errors=True)
        with contextlib.suppress(OSError):
            self.launch_file(sandbox_id).unlink()

    def prune(self) -> list[str]:
        """Kernel specs of this provider whose launch file is gone (their data dir was removed,
        or a stop was cut short) leave the picker: no kernel could start from them."""
        removed = []
        for path in self.kernel_dir().glob(f"{KERNEL_PREFIX}*/kernel.json"):
            try:
                provisioner = json.loads(path.read_text())["metadata"]["kernel_provisioner"]
                if provisioner["provisioner_name"] != self.provisioner:
                    continue
                launch = Path(provisioner["config"]["sandbox_file"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # not ours to judge
            if not launch.exists():
                shutil.rmtree(path.parent, ignore_errors=True)
                removed.append(path.parent.name)
        return removed
