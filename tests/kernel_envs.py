"""Helpers for tests about kernels from other Python environments: a second virtual environment,
a base interpreter with its own user site, kernel specs that name them, and code run in a kernel.

A virtual environment's ``bin/python`` is a symlink to its base interpreter, so these tests build
environments on the *same* base interpreter as the project's venv: the case where resolving the
executable cannot tell environments apart. Each environment pins a ``packaging`` version that
differs from the project's, so a kernel proves which environment it runs in.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: ``packaging`` in the second virtual environment and in the base interpreter's user site; the
#: project's venv has another version (checked in :func:`make_environments`).
OTHER_VENV_PACKAGING = "23.2"
USER_SITE_PACKAGING = "24.2"
#: Bound on each uv call (they take seconds from uv's cache; a download may take longer).
UV_TIMEOUT = 300.0

#: What a kernel tells about its environment (one JSON line on stdout).
ENV_PROBE = """
import json, sys, packaging
print(json.dumps({
    "prefix": sys.prefix, "base_prefix": sys.base_prefix, "executable": sys.executable,
    "packaging": packaging.__version__, "xoptions": sys._xoptions,
}))
"""


@dataclass(frozen=True)
class Environments:
    """The Pythons the tests name in kernel specs."""

    this_python: str  #: the project's venv python (sys.executable of the tests), unresolved
    base_python: str  #: the base interpreter it is a symlink to
    other_venv: Path  #: a second virtual environment on that same base interpreter
    home: Path  #: a HOME whose user site gives the base interpreter ipykernel

    @property
    def other_python(self) -> str:
        return str(self.other_venv / "bin" / "python")


def uv(*args: str) -> None:
    """Run uv, bounded in time; a missing uv or a failed call fails the test (never skips it)."""
    exe = shutil.which("uv")
    if exe is None:
        pytest.fail("uv is needed to build a second Python environment for these tests")
    try:
        subprocess.run([exe, *args], check=True, capture_output=True, text=True, timeout=UV_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"uv {' '.join(args)} took more than {UV_TIMEOUT:g} s")
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"uv {' '.join(args)} failed:\n{exc.stderr}")


def make_environments(root: Path) -> Environments:
    """Build, under ``root``, a second venv and a user site for the base interpreter."""
    import packaging

    assert packaging.__version__ not in (OTHER_VENV_PACKAGING, USER_SITE_PACKAGING)
    this_python = sys.executable
    base_python = os.path.realpath(this_python)
    assert base_python != this_python, "the tests must run in a virtual environment"
    other = root / "other-venv"
    # The base interpreter by path (not just "3.11"): the other venv must share it.
    uv("venv", "-q", str(other), "--python", base_python)
    assert os.path.realpath(other / "bin" / "python") == base_python
    # Byte-compiled: this environment sets PYTHONDONTWRITEBYTECODE, and kernels from an
    # uncompiled environment start twice as slowly.
    install = ["pip", "install", "-q", "--compile-bytecode"]
    uv(*install, "--python", str(other / "bin" / "python"), "ipykernel",
       f"packaging=={OTHER_VENV_PACKAGING}")  # fmt: skip
    # The base interpreter has no ipykernel, and the tests must not change it: it finds one in
    # the user site of the HOME the tests set (user site packages come before site-packages).
    home = root / "home"
    user_site = home / ".local" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    uv(*install, "--python", base_python, "--target", str(user_site / "site-packages"),
       "ipykernel", f"packaging=={USER_SITE_PACKAGING}")  # fmt: skip
    return Environments(this_python, base_python, other, home)


def write_kernel_spec(
    jupyter_path: Path, name: str, argv: list[str], env: dict[str, str] | None = None
) -> None:
    """Write ``JUPYTER_PATH/kernels/NAME/kernel.json`` as ``ipykernel install`` would."""
    spec = jupyter_path / "kernels" / name
    spec.mkdir(parents=True, exist_ok=True)
    body: dict[str, Any] = {"argv": argv, "display_name": name, "language": "python"}
    if env:
        body["env"] = env
    (spec / "kernel.json").write_text(json.dumps(body))


def launcher_argv(python: str, *options: str) -> list[str]:
    """The argv of a kernel spec for ``python`` (with interpreter ``options`` before ``-m``)."""
    return [python, *options, "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def run_in_kernel(km: Any, code: str, timeout: float = 30) -> dict[str, Any]:
    """Run ``code`` in the kernel; the JSON object it prints, or ``{"error": ename}``."""

    async def go() -> dict[str, Any]:
        kc = km.client()
        kc.start_channels()
        out: list[str] = []
        try:
            await kc.wait_for_ready(timeout=timeout)
            reply = await kc.execute_interactive(
                code,
                timeout=timeout,
                output_hook=lambda m: (
                    out.append(m["content"]["text"]) if m["msg_type"] == "stream" else None
                ),
            )
        finally:
            kc.stop_channels()
        if reply["content"]["status"] != "ok":
            return {"error": reply["content"].get("ename")}
        return json.loads("".join(out)) if out else {}

    return asyncio.run(go())


def same_path(a: str | Path, b: str | Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)
