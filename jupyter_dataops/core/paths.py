"""Resolve client-supplied paths inside a root directory; nothing may escape it."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import Forbidden, InvalidInput, NotFound


def resolve_inside(root_dir: str | os.PathLike[str], path: str) -> Path:
    """Return the real absolute path of ``path`` (relative to ``root_dir``, or absolute inside it).

    Symlinks are resolved before the check, so a link pointing out of the root is refused too.
    """
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput("The path is empty.", hint="Give a notebook path relative to the root.")
    if "\x00" in path:
        raise InvalidInput("The path contains a NUL byte.")
    root = Path(root_dir).resolve()
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        real = candidate.resolve()
    except RuntimeError:  # Python < 3.13 reports a symlink loop this way
        raise InvalidInput(
            f"The path {path!r} is a loop of symbolic links.", hint="Fix or remove the links."
        ) from None
    except OSError as exc:
        raise InvalidInput(
            f"The path {path!r} cannot be used: {exc.strerror or exc}.", path=path
        ) from None
    if real != root and root not in real.parents:
        raise Forbidden(
            f"The path {path!r} is outside the root directory {str(root)!r}.",
            hint="Use a path inside the root directory.",
            path=path,
        )
    return real


def resolve_notebook(root_dir: str | os.PathLike[str], path: str) -> Path:
    """Resolve a notebook path and check that it exists and is a notebook."""
    real = resolve_inside(root_dir, path)
    if real.suffix != ".ipynb":
        raise InvalidInput(
            f"{path!r} is not a notebook (.ipynb).", hint="Choose a .ipynb file.", path=path
        )
    try:
        exists = real.is_file()
    except OSError as exc:  # a name longer than the filesystem allows, a loop...
        raise InvalidInput(
            f"The notebook path {path!r} cannot be used: {exc.strerror or exc}.",
            hint="Use a shorter or simpler path.",
            path=path,
        ) from None
    if not exists:
        raise NotFound(
            f"The notebook {path!r} does not exist.",
            hint="Check the path: it is relative to the root directory.",
            path=path,
        )
    return real


def relative_to_root(root_dir: str | os.PathLike[str], path: str | os.PathLike[str]) -> str:
    """``path`` relative to the root, with forward slashes (the form the REST API uses)."""
    root = Path(root_dir).resolve()
    real = Path(path).resolve()
    try:
        return real.relative_to(root).as_posix()
    except ValueError:
        return str(real)
