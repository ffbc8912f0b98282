"""The init containers of a sandbox pod (``python -m jupyter_dataops.backends.kubernetes.sandbox_init``).

``data --plan FILE --into DIR`` loads the sandbox's data from the DVC remote by content hash,
the way DVC lays a remote out (``files/md5/ab/cdef...``; a directory is a ``.dir`` manifest
listing its files), each file checked against its md5 and put at its project path under DIR.
The remote's credentials come from the pod's environment (``c.Kubernetes.env_from_secrets``).

``environment --setup FILE --target DIR`` checks that the profile's programs are on PATH and
installs its missing packages into DIR (on the workspace volume, so the next sandbox of the same
packages finds them there); the kernel host puts DIR on its kernels' PYTHONPATH.

Both print one line per step (the pod's log, shown when a start fails) and exit non-zero with
the reason on a failure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import posixpath
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

CHUNK = 1 << 20


class LoadError(Exception):
    pass


def _join(remote: str, *parts: str) -> str:
    return "/".join([remote.rstrip("/"), *parts])


def _candidates(remote: str, md5: str) -> list[str]:
    """Where DVC 3 (``files/md5/``) and DVC 2 (the remote's top) keep an object."""
    return [_join(remote, "files", "md5", md5[:2], md5[2:]), _join(remote, md5[:2], md5[2:])]


def _open(remote: str, md5: str) -> Any:
    import fsspec

    tried = []
    for url in _candidates(remote, md5):
        fs, path = fsspec.core.url_to_fs(url)
        if fs.exists(path):
            return fs.open(path, "rb")
        tried.append(url)
    raise LoadError(
        f"{md5} is not on the DVC remote (looked at {', '.join(tried)}); push the snapshot "
        "from where it was taken (dataops snapshots push ID)"
    )


def _safe(into: Path, relative: str) -> Path:
    normal = posixpath.normpath(relative)
    if normal.startswith(("/", "../")) or normal in ("..", "."):
        raise LoadError(f"the data path {relative!r} leaves the sandbox's folder")
    return into / normal


def _files(remote: str, out: dict[str, Any]) -> list[tuple[str, str]]:
    """(project path, md5) of each file of one tracked output."""
    path, digest = str(out["path"]), str(out["hash"])
    if not digest.endswith(".dir"):
        return [(path, digest)]
    with _open(remote, digest) as f:
        manifest = json.load(f)
    return [(f"{path}/{entry['relpath']}", str(entry["md5"])) for entry in manifest]


def load_data(plan: dict[str, Any], into: Path, out: Any = sys.stdout) -> int:
    remote = str(plan["remote"])
    files = [item for entry in plan["outs"] for item in _files(remote, entry)]
    total = len(files)
    print(f"data: {total} file(s) from {remote}", file=out, flush=True)
    for done, (relative, md5) in enumerate(files, start=1):
        target = _safe(into, relative)
        if target.is_file() and _md5(target) == md5:
            print(f"data: {done}/{total} {relative} (present)", file=out, flush=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        digest = hashlib.md5(usedforsecurity=False)
        with _open(remote, md5) as source, open(partial, "wb") as sink:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                sink.write(chunk)
        if digest.hexdigest() != md5:
            partial.unlink()
            raise LoadError(f"{relative} on the remote does not match its md5 {md5} (damaged)")
        os.replace(partial, target)
        print(f"data: {done}/{total} {relative}", file=out, flush=True)
    return total


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _missing(packages: list[str], target: Path) -> list[str]:
    import importlib.metadata as md

    from packaging.requirements import Requirement

    paths = [str(target), *sys.path]
    missing = []
    for text in packages:
        req = Requirement(text)
        found = next(iter(md.distributions(name=req.name, path=paths)), None)
        if found is None or (req.specifier and found.version not in req.specifier):
            missing.append(text)
    return missing


def prepare_environment(setup: dict[str, Any], target: Path, out: Any = sys.stdout) -> None:
    absent = [tool for tool in setup.get("tools") or [] if shutil.which(tool) is None]
    if absent:
        raise LoadError(
            f"the profile needs {', '.join(absent)} on PATH, and the image has not: use an "
            "image that has them, or another profile"
        )
    if setup.get("tools"):
        print(f"environment: tools present: {', '.join(setup['tools'])}", file=out, flush=True)
    packages = list(setup.get("packages") or [])
    missing = _missing(packages, target) if packages else []
    if not missing:
        if packages:
            print(f"environment: all {len(packages)} package(s) present", file=out, flush=True)
        return
    print(f"environment: installing {', '.join(missing)}", file=out, flush=True)
    target.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--target",
            str(target),
            *missing,
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise LoadError(f"installing {', '.join(missing)} failed:\n{tail}")
    print(f"environment: installed {', '.join(missing)}", file=out, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {__name__}")
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data")
    data.add_argument("--plan", required=True)
    data.add_argument("--into", required=True)
    environment = commands.add_parser("environment")
    environment.add_argument("--setup", required=True)
    environment.add_argument("--target", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "data":
            load_data(json.loads(Path(args.plan).read_text()), Path(args.into))
        else:
            prepare_environment(json.loads(Path(args.setup).read_text()), Path(args.target))
    except (LoadError, OSError, ValueError, KeyError) as exc:
        print(f"error: {args.command}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
