"""The GPUs sandboxes are given: from NVIDIA's management library (``nvidia-ml-py``) where it
loads, or from the configuration (``c.DataOps.gpu_inventory``), which is also how machines
without a GPU (and tests) describe the devices to hand out.

>>> parse_inventory([{"index": 0, "type": "t4"}, {"index": 1, "type": "t4", "memory": "16Gi"}])
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ...core.errors import InvalidInput
from ...core.sandboxes.models import GpuDevice
from ...core.sandboxes.quantities import parse_memory

SETTING = "c.DataOps.gpu_inventory"


def parse_inventory(raw: list[Any]) -> list[GpuDevice]:
    devices = []
    for at, item in enumerate(raw):
        if not isinstance(item, dict) or "type" not in item:
            raise InvalidInput(
                f"{SETTING}[{at}] is not a GPU: {item!r}.",
                hint='Each is {"index": 0, "type": "a100", "memory": "40Gi"} (index optional).',
            )
        unknown = sorted(set(item) - {"index", "type", "uuid", "memory"})
        if unknown:
            raise InvalidInput(
                f"{SETTING}[{at}] has unknown field(s) {', '.join(unknown)}.",
                hint="A GPU has index, type, uuid and memory.",
            )
        memory = item.get("memory")
        devices.append(
            GpuDevice(
                index=int(item.get("index", at)),
                type=str(item["type"]),
                uuid=item.get("uuid"),
                memory_bytes=parse_memory(memory, field=f"{SETTING}[{at}].memory")
                if memory
                else None,
            )
        )
    indexes = [d.index for d in devices]
    if len(set(indexes)) != len(indexes):
        raise InvalidInput(
            f"{SETTING} names a GPU index twice: {indexes}.", hint="Give each its own index."
        )
    return devices


def short_type(name: str) -> str:
    """``NVIDIA A100-SXM4-40GB`` -> ``a100``, ``Tesla T4`` -> ``t4`` (what profiles name)."""
    words = [
        w
        for w in re.split(r"[^a-z0-9]+", name.lower())
        if w and w not in ("nvidia", "tesla", "geforce", "quadro")
    ]
    for word in words:
        if any(c.isdigit() for c in word):
            return word
    return words[0] if words else "gpu"


@functools.lru_cache(maxsize=1)
def nvml_devices() -> tuple[GpuDevice, ...] | None:
    """The machine's NVIDIA GPUs, or None when the library or its driver is not there."""
    try:
        import pynvml  # nvidia-ml-py
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:
        return None
    try:
        found = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            name = name.decode() if isinstance(name, bytes) else str(name)
            uuid = pynvml.nvmlDeviceGetUUID(handle)
            uuid = uuid.decode() if isinstance(uuid, bytes) else str(uuid)
            memory = int(pynvml.nvmlDeviceGetMemoryInfo(handle).total)
            found.append(
                GpuDevice(index=index, type=short_type(name), uuid=uuid, memory_bytes=memory)
            )
        return tuple(found)
    finally:
        pynvml.nvmlShutdown()


def inventory(setting: Any) -> tuple[list[GpuDevice], str]:
    """(devices, where they come from) for ``c.DataOps.gpu_inventory``: "auto" (NVIDIA's
    library where it loads, else none), "nvml", "none", or a list of GPUs."""
    if isinstance(setting, list | tuple):
        return parse_inventory(list(setting)), "configuration"
    if setting == "none":
        return [], "none"
    found = nvml_devices()
    if found is None:
        if setting == "nvml":
            raise InvalidInput(
                f"{SETTING} is 'nvml' but NVIDIA's management library does not load here.",
                hint="pip install nvidia-ml-py on a machine with the NVIDIA driver, or list the GPUs.",
            )
        return [], "none (no NVIDIA driver found)"
    return list(found), "nvml"
