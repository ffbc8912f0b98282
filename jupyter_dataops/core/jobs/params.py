"""Notebook parameters: find the ``parameters`` cell, infer each parameter's type and default, and
check a job's values against them before anything is stored.

Python parameter cells are read with :mod:`ast` (exact, fast, no papermill import); other languages
use papermill's translators, which is what papermill's own ``--help-notebook`` shows.
"""

from __future__ import annotations

import ast
import io
import json
import math
import tokenize
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from .models import NotebookParameters, ParameterSpec, ParameterType

PARAMETERS_TAG = "parameters"

_PY_TYPES: dict[type, ParameterType] = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    list: "list",
    tuple: "list",
    dict: "dict",
    type(None): "none",
}
_ANNOTATIONS: dict[str, ParameterType] = {
    "int": "int",
    "float": "float",
    "bool": "bool",
    "str": "str",
    "list": "list",
    "List": "list",
    "tuple": "list",
    "Tuple": "list",
    "dict": "dict",
    "Dict": "dict",
    "None": "none",
    "NoneType": "none",
}


def read_notebook(path: Path) -> dict[str, Any]:
    """Read a notebook as plain JSON (nbformat's import alone costs seconds here)."""
    try:
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"{path.name} is not a valid notebook: {exc}", hint="Open and re-save it in JupyterLab."
        ) from exc
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise InvalidInput(f"{path.name} is not a notebook: it has no cells list.")
    if nb.get("nbformat", 4) < 4:
        raise InvalidInput(
            f"{path.name} uses notebook format {nb.get('nbformat')}; papermill needs format 4.",
            hint="Open and re-save it in JupyterLab to upgrade it.",
        )
    return nb


def cell_source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def parameters_cell_index(nb: dict[str, Any]) -> int:
    for index, cell in enumerate(nb["cells"]):
        if PARAMETERS_TAG in (cell.get("metadata", {}).get("tags") or []):
            return index
    return -1


def notebook_kernel(nb: dict[str, Any]) -> tuple[str | None, str | None]:
    meta = nb.get("metadata", {})
    kernel = (meta.get("kernelspec") or {}).get("name")
    language = (meta.get("kernelspec") or {}).get("language") or (
        meta.get("language_info") or {}
    ).get("name")
    return kernel, language


def _comments_by_line(source: str) -> dict[int, str]:
    comments: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return comments


def _annotation_type(node: ast.expr | None) -> ParameterType | None:
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        name = node.value
    elif isinstance(node, ast.Subscript):
        return _annotation_type(node.value)
    elif isinstance(node, (ast.Name, ast.Attribute)):
        name = node.id if isinstance(node, ast.Name) else node.attr
    else:
        return "any"
    return _ANNOTATIONS.get(name.split("[")[0], "any")


def inspect_python_cell(source: str) -> list[ParameterSpec] | None:
    """Parameters of a Python cell, or None if it is not plain Python (e.g. has magics)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    comments = _comments_by_line(source)
    specs: list[ParameterSpec] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value, annotation = stmt.targets[0], stmt.value, None
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value, annotation = stmt.target, stmt.value, stmt.annotation
        else:
            continue
        if not isinstance(target, ast.Name):
            continue
        default_repr = ast.get_source_segment(source, value) or ""
        try:
            default = ast.literal_eval(value)
            inferred: ParameterType = _PY_TYPES.get(type(default), "any")
        except (ValueError, SyntaxError, TypeError):
            default, inferred = None, "any"
        if isinstance(default, tuple):
            default = list(default)
        if isinstance(default, float) and not math.isfinite(default):
            default = None  # JSON cannot carry nan/inf; default_repr still shows it
        comment = comments.get(stmt.end_lineno or stmt.lineno, "")
        type_: ParameterType = _annotation_type(annotation) or inferred
        if comment.startswith("type:"):
            declared, _, comment = comment[5:].strip().partition(" ")
            type_ = _ANNOTATIONS.get(declared, type_)
            comment = comment.strip()
        if type_ == "none":
            type_ = "any"  # `x = None` says nothing about what x will hold
        specs.append(
            ParameterSpec(
                name=target.id, type=type_, default=default, default_repr=default_repr, help=comment
            )
        )
    return specs


def _inspect_with_papermill(nb: dict[str, Any], index: int) -> list[ParameterSpec]:
    import nbformat
    from papermill.translators import papermill_translators

    kernel, language = notebook_kernel(nb)
    node = nbformat.from_dict(nb)
    translator = papermill_translators.find_translator(kernel or "", language or "")
    specs = []
    for p in translator.inspect(node.cells[index]):
        type_name = (p.inferred_type_name or "").strip()
        specs.append(
            ParameterSpec(
                name=p.name,
                type=_ANNOTATIONS.get(type_name, "any"),
                default=None,
                default_repr=p.default,
                help=p.help,
            )
        )
    return specs


def inspect_notebook(nb: dict[str, Any], display_path: str) -> NotebookParameters:
    index = parameters_cell_index(nb)
    kernel, language = notebook_kernel(nb)
    specs: list[ParameterSpec] = []
    if index >= 0:
        source = cell_source(nb["cells"][index])
        parsed = inspect_python_cell(source) if (language or "python") == "python" else None
        specs = parsed if parsed is not None else _inspect_with_papermill(nb, index)
    return NotebookParameters(
        path=display_path,
        has_parameters_cell=index >= 0,
        parameters=specs,
        kernel_name=kernel,
        cell_count=sum(1 for c in nb["cells"] if c.get("cell_type") == "code"),
    )


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _literal(text: str) -> Any:
    """Read a CLI string as papermill's ``-p`` does, plus JSON/Python literals for lists and dicts."""
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    return text


def coerce_value(spec: ParameterSpec, value: Any) -> Any:
    """Return ``value`` as the parameter's type, or raise InvalidInput naming the fix."""

    def bad() -> InvalidInput:
        return InvalidInput(
            f"Parameter {spec.name!r} expects {spec.type} (default {spec.default_repr or spec.default!r}), "
            f"got {value!r}.",
            hint=f"Give {spec.name} a value of type {spec.type}.",
            parameter=spec.name,
        )

    kind = spec.type
    if kind == "str":
        if isinstance(value, str):
            return value
        raise bad()
    if isinstance(value, str):
        stripped = value.strip()
        if kind == "bool":
            if stripped.lower() in _TRUE:
                return True
            if stripped.lower() in _FALSE:
                return False
            raise bad()
        value = _literal(stripped)
        if kind == "any":
            return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise bad()
    if kind == "int":
        if isinstance(value, bool):
            raise bad()
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise bad()
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad()
        return float(value)
    if kind == "list":
        if isinstance(value, (list, tuple)):
            return list(value)
        raise bad()
    if kind == "dict":
        if isinstance(value, dict):
            return value
        raise bad()
    return value  # any


def check_parameters(
    notebook: NotebookParameters, values: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Coerce ``values`` to the notebook's parameter types; returns them with warnings.

    A name the parameters cell does not define is passed through with a warning, as papermill does.
    """
    if not isinstance(values, dict):
        raise InvalidInput("parameters must be an object of name: value pairs.")
    if values and not notebook.has_parameters_cell:
        raise InvalidInput(
            f"{notebook.path} has no cell tagged 'parameters', so there is nothing to set "
            f"{', '.join(sorted(values))} in.",
            hint="Tag the cell that defines the defaults with 'parameters' (Property Inspector > "
            "Cell tags), or run without parameters.",
        )
    specs = {spec.name: spec for spec in notebook.parameters}
    result: dict[str, Any] = {}
    warnings: list[str] = []
    for name, value in values.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise InvalidInput(f"{name!r} is not a valid parameter name.", parameter=str(name))
        spec = specs.get(name)
        if spec is None:
            warnings.append(
                f"Parameter {name!r} is not defined in the parameters cell of {notebook.path}; "
                "it is passed anyway."
            )
            result[name] = _literal(value.strip()) if isinstance(value, str) else value
            if isinstance(value, str) and not isinstance(result[name], (int, float, bool)):
                result[name] = value  # keep strings as the user typed them
        else:
            result[name] = coerce_value(spec, value)
        _check_json(name, result[name])
    return result, warnings


def _check_json(name: str, value: Any) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"Parameter {name!r} cannot be stored: {exc}.", hint="Use JSON-compatible values."
        ) from exc
