"""A kernel's variables in a snapshot: pickled one by one in the kernel (each can fail alone, with
its reason), within a size cap, and loaded back the same way. The server only stores the payload:
it never unpickles what a kernel sent."""

from __future__ import annotations

import base64
import pickle
import types
from typing import Any

from ..errors import InvalidInput
from .models import VariableInfo, VariablesUpload

#: Names IPython puts in every namespace: never saved.
IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open"})


def _skip_reason(name: str, value: Any) -> str | None:
    if isinstance(value, types.ModuleType):
        return "a module: import it again"
    if isinstance(value, (types.FunctionType, type)) and value.__module__ == "__main__":
        kind = "class" if isinstance(value, type) else "function"
        return f"a {kind} defined in the notebook: run the cell that defines it"
    return None


def capture(
    namespace: dict[str, Any], *, max_bytes: int, names: list[str] | None = None
) -> VariablesUpload:
    """The variables of ``namespace`` (only ``names`` if given), pickled one by one; those that
    cannot be pickled, or would take the total over ``max_bytes``, are reported with why."""
    if names:
        missing = [n for n in names if n not in namespace]
        if missing:
            raise InvalidInput(
                f"No variable named {', '.join(map(repr, missing))} in the kernel.",
                hint="Name variables that exist, or leave names out to save all of them.",
            )
    saved: list[VariableInfo] = []
    skipped: list[VariableInfo] = []
    blobs: dict[str, bytes] = {}
    total = 0
    for name in sorted(names or namespace):
        value = namespace[name]
        if not names and (name.startswith("_") or name in IPYTHON_NAMES):
            continue
        kind = f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins.")
        reason = _skip_reason(name, value)
        if reason is None:
            try:
                blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # any object's own pickling error, reported per variable
                reason = f"cannot be pickled: {type(exc).__name__}: {exc}"[:300]
            else:
                if total + len(blob) > max_bytes:
                    reason = (
                        f"{len(blob)} bytes: over the size limit of {max_bytes} bytes "
                        "(c.DataOps.snapshot_max_variable_bytes)"
                    )
                else:
                    total += len(blob)
                    blobs[name] = blob
                    saved.append(VariableInfo(name=name, type=kind, bytes=len(blob)))
                    continue
        skipped.append(VariableInfo(name=name, type=kind, reason=reason))
    payload = base64.b64encode(pickle.dumps(blobs, protocol=pickle.HIGHEST_PROTOCOL)).decode()
    return VariablesUpload(saved=saved, skipped=skipped, payload=payload)


def restore(payload: str, names: list[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The variables in ``payload`` (only ``names`` if given) and, for each that could not be
    loaded (a class this kernel lacks...), a line saying why. Runs in the user's kernel."""
    blobs: dict[str, bytes] = pickle.loads(base64.b64decode(payload))
    if names:
        missing = [n for n in names if n not in blobs]
        if missing:
            raise InvalidInput(
                f"The snapshot saved no variable named {', '.join(map(repr, missing))}.",
                hint="See which it saved with `%dataops snapshots show ID`.",
            )
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name in names or sorted(blobs):
        try:
            values[name] = pickle.loads(blobs[name])
        except Exception as exc:
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
    return values, problems
