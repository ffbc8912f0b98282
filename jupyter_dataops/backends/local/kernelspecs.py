"""The kernel specs Jupyter finds on this machine (cheap to import: no kernel client code)."""

from __future__ import annotations


def installed_kernels() -> dict[str, str | None]:
    """Kernel name -> the language it speaks (None when its spec does not say)."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().get_all_specs()
    return {name: (spec.get("spec") or {}).get("language") for name, spec in specs.items()}
