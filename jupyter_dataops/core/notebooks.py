"""Reading notebooks: every capability (inspect, run, rerun) reads them through here.

A notebook is read the way papermill will read it later (``nbformat.reads(text, as_version=4)``:
v2/v3 converted, line lists joined, transient keys dropped) and anything papermill or nbclient would
crash on is refused up front, as :class:`InvalidInput` naming the notebook, the problem and the fix.

Normal v4 notebooks are read without importing nbformat: its import pulls in jsonschema, which costs
about a second here (two seconds in the papermill CLI). Only v2/v3 notebooks, which need nbformat's
converters, pay for it.
"""

from __future__ import annotations

import codecs
import errno
import json
import os
import stat
from pathlib import Path
from typing import Any

from .errors import InvalidInput, NotFound

PARAMETERS_TAG = "parameters"
#: Deepest JSON nesting accepted. Real notebooks nest under 20 levels (widget state, plotly);
#: nbformat's recursive code (from_dict, validation) fails with RecursionError from about 400.
MAX_JSON_DEPTH = 100

_REOPEN = "Open and re-save it in JupyterLab."
_FIX_BY_HAND = "Fix the file in a text editor, or restore a good copy from version control."
_TOO_DEEP = f"its JSON is nested more than {MAX_JSON_DEPTH} levels deep"
_FIX_DEPTH = (
    "If an output or the widget state is that deep, clear the outputs "
    "(Edit > Clear Outputs of All Cells) and save it."
)


def _shown(path: Path) -> str:
    """The notebook's name for messages, shortened if a client sent an absurdly long one."""
    name = path.name or str(path)
    return name if len(name) <= 80 else f"{name[:60]}…{name[-15:]}"


def _invalid(name: str, problem: str, hint: str = _FIX_BY_HAND) -> InvalidInput:
    return InvalidInput(f"{name} is not a valid notebook: {problem}.", hint=hint, notebook=name)


def _type_name(value: object) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def read_notebook(path: Path, *, max_bytes: int | None = None) -> dict[str, Any]:
    """Read and normalise a notebook to nbformat 4, or refuse it with the reason and the fix.

    ``max_bytes`` bounds what is read into memory (None: no bound). The result is what
    ``nbformat.reads(text, as_version=4)`` would give (joined sources and outputs), as a plain dict
    (an nbformat NotebookNode for a converted v2/v3 notebook), checked so that what papermill and
    nbclient touch has the types they expect. A missing file raises NotFound.
    """
    name = _shown(path)
    data = _read_bytes(path, name, max_bytes)
    if not data.strip():
        raise InvalidInput(
            f"{name} is empty.",
            hint="Open it in JupyterLab and save it, or choose another notebook.",
        )
    if data.startswith(codecs.BOM_UTF8):
        # Jupyter's reader and papermill's both fail on a BOM; refuse it here in one line.
        raise _invalid(
            name, "it starts with a UTF-8 byte-order mark", "Save it as UTF-8 without a BOM."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid(
            name,
            f"it is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            "Save it as UTF-8, as Jupyter does.",
        ) from None
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _invalid(
            name, f"it is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise _invalid(name, _TOO_DEEP, _FIX_DEPTH) from None
    except ValueError as exc:  # e.g. an integer longer than Python converts (4300 digits)
        raise _invalid(name, f"it is not valid JSON ({exc})") from None
    return normalize_notebook(nb, name)


def _read_bytes(path: Path, name: str, max_bytes: int | None) -> bytes:
    """The file's bytes, refusing non-files, unreadable paths and files over ``max_bytes``."""
    try:
        # O_NONBLOCK: opening a FIFO must not hang the server; it has no effect on regular files.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _open_error(path, name, exc) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise InvalidInput(f"{name} is {kind}.", hint="Choose a notebook file (.ipynb).")
        if max_bytes is not None and info.st_size > max_bytes:
            raise _too_big(name, info.st_size, max_bytes)
        chunks = []
        remaining = -1 if max_bytes is None else max_bytes + 1  # one past: it may have grown
        while remaining:
            chunk = os.read(fd, 1 << 20 if remaining < 0 else min(remaining, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            remaining = remaining - len(chunk) if remaining > 0 else remaining
        data = b"".join(chunks)
    except OSError as exc:
        raise _open_error(path, name, exc) from None
    finally:
        os.close(fd)
    if max_bytes is not None and len(data) > max_bytes:
        raise _too_big(name, len(data), max_bytes)
    return data


def _too_big(name: str, size: int, max_bytes: int) -> InvalidInput:
    return InvalidInput(
        f"{name} is {_size(size)}, more than the {_size(max_bytes)} this server reads.",
        hint="Clear its outputs (Edit > Clear Outputs of All Cells) and save it, or keep large "
        "data in files the notebook reads (an admin can raise c.DataOps.max_notebook_bytes).",
        notebook=name,
    )


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _open_error(path: Path, name: str, exc: OSError) -> Exception:
    if exc.errno == errno.ENOENT:
        return NotFound(f"{name} does not exist.", hint="Check the notebook's path.")
    reasons = {
        errno.ENAMETOOLONG: "its name is longer than the file system allows",
        errno.ELOOP: "its path is a symbolic link loop",
        errno.EACCES: "the server may not read it (permission denied)",
        errno.EISDIR: "it is a directory",
        errno.ENOTDIR: "a part of its path is not a folder",
    }
    reason = reasons.get(exc.errno or 0, exc.strerror or str(exc))
    return InvalidInput(
        f"Cannot read notebook {name}: {reason}.",
        hint="Choose a notebook file that exists and the server can read.",
        notebook=name,
    )


def normalize_notebook(nb: Any, name: str) -> dict[str, Any]:
    """Convert parsed notebook JSON to normalised nbformat 4, or refuse it (see read_notebook)."""
    if not isinstance(nb, dict):
        raise _invalid(name, f"its JSON is {_type_name(nb)}, not an object")
    if depth_exceeds(nb, MAX_JSON_DEPTH):
        raise _invalid(name, _TOO_DEEP, _FIX_DEPTH)
    major = nb.get("nbformat")
    if (major is None or major == 4) and "cells" in nb and not isinstance(nb["cells"], list):
        raise _invalid(name, "it has no cells list ('cells' is not a list)")
    if major is None:
        raise _invalid(name, "it has no 'nbformat' field, so its format is unknown", _REOPEN)
    if type(major) is not int:
        raise _invalid(
            name,
            f"its 'nbformat' field is {major!r} ({_type_name(major)}); it must be the number 4",
        )
    converted = major in (2, 3)
    if converted:
        nb = _convert_old(nb, major, name)
    elif major != 4:
        raise _invalid(
            name,
            f"it uses notebook format {major}, which papermill cannot read (it reads 2, 3 and 4)",
            _REOPEN,
        )
    minor = nb.get("nbformat_minor")
    if minor is None:
        # nbformat reads it, but papermill's upgrade step raises on a v4 notebook without it.
        raise _invalid(
            name,
            "it has no 'nbformat_minor' field, which papermill needs",
            'Add "nbformat_minor": 5 next to "nbformat": 4, or open and re-save it in JupyterLab.',
        )
    if type(minor) is not int or minor < 0:
        raise _invalid(name, f"its 'nbformat_minor' is {minor!r}; it must be a whole number")
    _check_v4(nb, name, converted=converted)
    return nb


def depth_exceeds(value: Any, limit: int) -> bool:
    """Whether JSON-like ``value`` nests deeper than ``limit`` (walked without recursion, so a
    value nested 100,000 deep is measured, not crashed on)."""
    if not isinstance(value, dict | list | tuple):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend(
            (child, depth + 1) for child in children if isinstance(child, dict | list | tuple)
        )
    return False


def _convert_old(nb: dict[str, Any], major: int, name: str) -> dict[str, Any]:
    """Convert a v2/v3 notebook with nbformat's own converters (the rare path that imports it)."""
    if major == 2 and _v2_cell_without_metadata(nb):
        # nbformat gives those cells plain-dict metadata, on which papermill fails (AttributeError).
        raise _invalid(
            name,
            "it uses notebook format 2 with cells that have no metadata, "
            "which papermill cannot run",
            "Open and re-save it in JupyterLab to upgrade it to format 4.",
        )
    import nbformat
    from nbformat.converter import convert

    try:
        old = nbformat.versions[major].to_notebook_json(nb, minor=nb.get("nbformat_minor", 0))
        converted = convert(old, 4)
    except Exception as exc:  # nbformat's converters raise anything on malformed input
        raise _invalid(
            name,
            f"it uses notebook format {major} and could not be converted to format 4 ({exc})",
            _REOPEN,
        ) from None
    if not isinstance(converted, dict):
        raise _invalid(name, f"its format {major} content could not be converted", _REOPEN)
    return converted


def _v2_cell_without_metadata(nb: dict[str, Any]) -> bool:
    worksheets = nb.get("worksheets")
    for worksheet in worksheets if isinstance(worksheets, list) else []:
        cells = worksheet.get("cells") if isinstance(worksheet, dict) else None
        for cell in cells if isinstance(cells, list) else []:
            if isinstance(cell, dict) and "metadata" not in cell:
                return True
    return False


def _check_v4(nb: dict[str, Any], name: str, *, converted: bool = False) -> None:
    """Check (in place) the parts of a v4 notebook that nbformat's reader, papermill and nbclient
    touch, join sources and outputs split into lines, and drop transient keys, as nbformat does
    (which keeps ``orig_nbformat`` on a notebook it has just converted)."""
    metadata = nb.get("metadata")
    if not isinstance(metadata, dict):
        # papermill reads nb.metadata first thing and crashes without it.
        what = "no metadata" if metadata is None else f"metadata that is {_type_name(metadata)}"
        raise _invalid(name, f"it has {what}; it must be an object")
    for key in ("kernelspec", "language_info", "papermill"):
        if key in metadata and not isinstance(metadata[key], dict):
            raise _invalid(
                name, f"its metadata '{key}' is {_type_name(metadata[key])}; it must be an object"
            )
    for section, field in (
        ("kernelspec", "name"),
        ("kernelspec", "language"),
        ("language_info", "name"),
    ):
        value = metadata.get(section, {}).get(field)
        if value is not None and not isinstance(value, str):
            raise _invalid(
                name, f"its metadata {section}.{field} is {_type_name(value)}; it must be a string"
            )
    for key in (
        ("signature",) if converted else ("signature", "orig_nbformat", "orig_nbformat_minor")
    ):
        metadata.pop(key, None)

    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise _invalid(name, "it has no cells list")
    for number, cell in enumerate(cells, start=1):
        _check_cell(cell, number, name)


def _check_cell(cell: Any, number: int, name: str) -> None:
    where = f"cell {number}"
    if not isinstance(cell, dict):
        raise _invalid(name, f"{where} is {_type_name(cell)}, not an object")
    cell_type = cell.get("cell_type")
    if not isinstance(cell_type, str):
        raise _invalid(name, f"{where} has no cell_type")
    meta = cell.get("metadata")
    if not isinstance(meta, dict):
        what = "no metadata" if meta is None else f"metadata that is {_type_name(meta)}"
        raise _invalid(name, f"{where} has {what}; it must be an object")
    tags = meta.get("tags", [])
    if not isinstance(tags, list):
        raise _invalid(name, f"the tags of {where} are {_type_name(tags)}; they must be a list")
    if "papermill" in meta and not isinstance(meta["papermill"], dict):
        raise _invalid(name, f"the papermill metadata of {where} is not an object")
    meta.pop("trusted", None)

    if "id" in cell and not isinstance(cell["id"], str):
        # nbformat's validator hashes ids to find duplicates: a list or object id crashes it.
        raise _invalid(name, f"the id of {where} is {_type_name(cell['id'])}; it must be a string")
    source = cell.get("source")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        cell["source"] = "".join(source)
    elif not isinstance(source, str):
        # papermill reads every cell's source (even markdown) for its description marker.
        what = "no source" if source is None else f"a source that is {_type_name(source)}"
        raise _invalid(name, f"{where} has {what}; it must be text or a list of lines")

    attachments = cell.get("attachments", {})
    if not isinstance(attachments, dict) or not all(
        isinstance(bundle, dict) for bundle in attachments.values()
    ):
        raise _invalid(name, f"the attachments of {where} are not objects of data")
    for bundle in attachments.values():
        _join_bundle(bundle)
    if cell_type == "code":
        _check_outputs(cell.get("outputs", []), where, name)


def _check_outputs(outputs: Any, where: str, name: str) -> None:
    if not isinstance(outputs, list):
        raise _invalid(
            name, f"the outputs of {where} are {_type_name(outputs)}; they must be a list"
        )
    for index, output in enumerate(outputs, start=1):
        if not isinstance(output, dict):
            raise _invalid(
                name, f"output {index} of {where} is {_type_name(output)}, not an object"
            )
        output_type = output.get("output_type", "")
        if not isinstance(output_type, str):
            raise _invalid(name, f"output {index} of {where} has an output_type that is not text")
        if output_type in ("execute_result", "display_data"):
            data = output.get("data", {})
            if not isinstance(data, dict):
                raise _invalid(name, f"the data of output {index} of {where} is not an object")
            _join_bundle(data)
        elif output_type:
            text = output.get("text", "")
            if isinstance(text, list):
                if not all(isinstance(line, str) for line in text):
                    raise _invalid(name, f"the text of output {index} of {where} is not text")
                output["text"] = "".join(text)


def _join_bundle(data: dict[str, Any]) -> None:
    """Join multi-line text in a mime bundle, leaving JSON mime types alone (as nbformat does)."""
    for mime, value in data.items():
        is_json = mime == "application/json" or (
            mime.startswith("application/") and mime.endswith("+json")
        )
        if not is_json and isinstance(value, list) and all(isinstance(v, str) for v in value):
            data[mime] = "".join(value)


def cell_source(cell: dict[str, Any]) -> str:
    """A cell's source as one string (read_notebook already joins line lists)."""
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(line for line in source if isinstance(line, str))
    return source if isinstance(source, str) else ""


def parameters_cell_index(nb: dict[str, Any]) -> int:
    """Index of the first cell tagged ``parameters`` (the one papermill uses), or -1."""
    for index, cell in enumerate(nb.get("cells") or []):
        tags = (cell.get("metadata") or {}).get("tags") if isinstance(cell, dict) else None
        if isinstance(tags, list) and PARAMETERS_TAG in tags:
            return index
    return -1


def notebook_kernel(nb: dict[str, Any]) -> tuple[str | None, str | None]:
    """The kernel name and language the notebook's metadata name (None where it does not).

    The language is looked up as papermill does: ``language_info.name``, then
    ``kernelspec.language``.
    """
    metadata = nb.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    kernelspec = metadata.get("kernelspec")
    kernelspec = kernelspec if isinstance(kernelspec, dict) else {}
    language_info = metadata.get("language_info")
    language_info = language_info if isinstance(language_info, dict) else {}

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) and value.strip() else None

    language = text(language_info.get("name")) or text(kernelspec.get("language"))
    return text(kernelspec.get("name")), language


def notebook_languages(nb: dict[str, Any]) -> list[str]:
    """Every language the metadata names (``language_info.name`` and ``kernelspec.language``)."""
    metadata = nb.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    found = []
    for section, field in (("language_info", "name"), ("kernelspec", "language")):
        part = metadata.get(section)
        value = part.get(field) if isinstance(part, dict) else None
        if isinstance(value, str) and value.strip():
            found.append(value.strip())
    return found
