"""The Python environment a kernel runs in: its version and installed packages, read by running
the kernel spec's interpreter (never by importing into this process, which may be another
environment). Cached per interpreter until one of its site-packages folders changes (installing
or removing a package changes the folder)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from .zygote import _program

_SCRIPT = r"""
import json, sys, site, importlib.metadata as md
packages = {}
for dist in md.distributions():
    name = dist.metadata["Name"]
    if name and name.lower() not in packages:
        packages[name.lower()] = dist.version
paths = [p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)]
print(json.dumps({"python": sys.version.split()[0], "executable": sys.executable,
                  "packages": dict(sorted(packages.items())), "paths": paths}))
"""

#: Names in a kernel spec's argv that jupyter_client replaces by its own interpreter.
_THIS_PYTHON = {
    "python",
    f"python{sys.version_info[0]}",
    "python{}.{}".format(*sys.version_info[:2]),
}
_cache: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
_lock = threading.Lock()


def _stamp(paths: list[str]) -> tuple[Any, ...]:
    stamp: list[tuple[str, int | None]] = []
    for path in paths:
        try:
            stamp.append((path, os.stat(path).st_mtime_ns))
        except OSError:
            stamp.append((path, None))
    return tuple(stamp)


def _from_disk(
    cache_file: Path | None, program: str
) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    if cache_file is None:
        return None
    try:
        entry = json.loads(cache_file.read_text())[program]
        return tuple(tuple(item) for item in entry["stamp"]), entry["found"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _to_disk(
    cache_file: Path | None, program: str, stamp: tuple[Any, ...], found: dict[str, Any]
) -> None:
    if cache_file is None:
        return
    try:
        entries = json.loads(cache_file.read_text())
        if not isinstance(entries, dict):
            entries = {}
    except (OSError, ValueError):
        entries = {}
    entries[program] = {"stamp": [list(item) for item in stamp], "found": found}
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache_file.with_name(f".{cache_file.name}.{os.getpid()}")
        temporary.write_text(json.dumps(entries))
        os.replace(temporary, cache_file)
    except OSError:
        pass  # a cache: the next call lists the packages again


def kernel_environment(kernel_name: str, cache_file: str | Path | None = None) -> dict[str, Any]:
    """{python, executable, kernel_name, packages} of the kernel ``kernel_name``; ``error`` says
    why not when it cannot be read (a kernel of another language, a missing interpreter).
    ``cache_file`` keeps what was read across processes (the CLI), until a site-packages folder
    of that interpreter changes."""
    cache_path = Path(cache_file) if cache_file else None
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        return {"kernel_name": kernel_name, "error": f"No kernel named {kernel_name!r}."}
    if (spec.language or "").lower() != "python":
        return {
            "kernel_name": kernel_name,
            "error": f"The kernel speaks {spec.language or 'an unknown language'}; only Python "
            "kernels' packages are recorded.",
        }
    env = dict(os.environ, **(spec.env or {}))
    argv0 = spec.argv[0] if spec.argv else None
    if argv0 in _THIS_PYTHON:
        argv0 = sys.executable  # as jupyter_client starts it: this interpreter
    program = _program(argv0, env) if argv0 else None
    if program is None:
        return {
            "kernel_name": kernel_name,
            "error": f"Its interpreter {spec.argv[:1]} is not found.",
        }
    with _lock:
        cached = _cache.get(program) or _from_disk(cache_path, program)
    if cached is not None and _stamp(cached[1]["paths"]) == cached[0]:
        with _lock:
            _cache[program] = cached
        return _public(cached[1], kernel_name)
    try:
        proc = subprocess.run(
            [program, "-c", _SCRIPT], capture_output=True, text=True, timeout=60, env=env, cwd="/"
        )
        found = json.loads(proc.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        return {"kernel_name": kernel_name, "error": f"Its packages could not be listed: {exc}"}
    stamp = _stamp(found["paths"])
    with _lock:
        _cache[program] = (stamp, found)
        _to_disk(cache_path, program, stamp, found)
    return _public(found, kernel_name)


def _public(found: dict[str, Any], kernel_name: str) -> dict[str, Any]:
    return {
        "python": found["python"],
        "executable": found["executable"],
        "packages": found["packages"],
        "kernel_name": kernel_name,
    }
